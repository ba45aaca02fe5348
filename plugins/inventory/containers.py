# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Like the modules, the plugin puts DOCUMENTATION and EXAMPLES before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
name: containers
short_description: Containers of one or more engines (Docker, Hoody, Dockhand, Podman) as inventory hosts
version_added: 0.1.0
description:
  - Lists the containers of every engine in O(engines) — any backend, several at once, read in parallel — and
    makes each container an inventory host, so plays can target containers by status, engine, label or project.
  - The configuration file's name must end in C(containers.yml) or C(containers.yaml).
  - "Host name: with one engine in O(engines), the container's name (C(web-1)); with several, always
    C(<name>@<engine>) (C(web-1@edge-1)), whether or not another engine holds the same name. A container whose
    name its engine holds more than once (Hoody allows that) is C(<id>@<engine>) instead, and so is one whose
    name would read as such a host name. The rule depends on the configuration and on each engine's own
    containers only, never on which engines answered: a pattern written today matches the same container
    tomorrow, and an engine that does not answer only takes its own hosts away."
  - "Groups: C(status_<status>) (the canonical statuses: C(running), C(stopped), C(paused), C(failed), and the
    transitional ones), C(engine_<name>), C(label_<key>_<value>) for the label keys in O(group_by_labels), and
    C(project_<id>) (the Hoody project, or the Docker Compose project label C(com.docker.compose.project) on
    V(docker) and V(dockhand)). Characters a group name cannot hold become C(_) (C(label_app_kubernetes_io_name_web))."
  - "Host variables, all prefixed C(containerops_): C(id), C(name), C(status), C(engine_status), C(health), C(labels),
    C(image), C(project), C(engine) (the engine's name) and C(connection): that engine's connection options
    without its secrets (O(engines[].api_token), O(engines[].api_password) and a password written into
    O(engines[].api_url) are left out), so a play can hand each host's engine to the modules with
    C(module_defaults). The modules then take the secrets from the environment or from the play (vault)."
  - Secrets never appear in host variables, in C(ansible-inventory --list), in the inventory cache or in messages.
  - Everything comes from one listing call per engine (one paginated listing on Hoody); nothing is read per
    container. Docker's listing gives the health of a container with a health check through its status text.
  - An engine that cannot be read is a warning naming it; its containers are left out and the others are listed.
    With O(strict=true) it is an error. A configuration mistake (an unknown option, a missing O(engines[].api_url)
    for Dockhand, a label filter on Hoody) is always an error.
  - With the inventory cache on, the cache is only written when every engine was read, so an engine that did not
    answer is tried again on the next run instead of being cached as empty.
author:
  - containerops engineers (@containerops)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
requirements:
  - Docker SDK for Python >= 7.0 (C(docker)) on the controller, for engines with O(engines[].backend=docker) or
    O(engines[].backend=podman)
  - requests, for engines with O(engines[].backend=hoody), O(engines[].backend=dockhand) or
    O(engines[].backend=podman)
options:
  plugin:
    description: The name of this plugin; makes the file an inventory source of this plugin.
    required: true
    type: str
    choices: [containerops.lifecycle.containers]
  engines:
    description:
      - The engines whose containers are listed, read in parallel.
      - Each takes the connection options of the modules (M(containerops.lifecycle.container_state)), with the same
        names, defaults and environment fallbacks, read on the controller, plus O(engines[].name) and
        O(engines[].filters).
      - String values are templated, so a secret can come from a lookup or a vault.
      - The environment is the controller's and every engine's fallback; a E(DOCKHAND_PASSWORD) applies to every
        Dockhand engine that does not set O(engines[].api_password).
      - The default is one Docker engine named C(local), with the connection options' defaults and environment
        (E(DOCKER_HOST), E(CONTAINEROPS_BACKEND) and the others).
    type: list
    elements: dict
    default: [{name: local}]
    suboptions:
      name:
        description:
          - The engine's name, used in C(engine_<name>) groups, C(<name>@<engine>) host names and
            C(containerops_engine). Unique; letters, digits, C(_), C(.) and C(-), starting with a letter or digit.
        type: str
        required: true
      filters:
        description:
          - This engine's target filters, used instead of O(filters) (for example without a label filter on a
            Hoody engine, which has no labels).
        type: dict
      backend:
        description: V(docker), V(hoody), V(dockhand) or V(podman). If not set, E(CONTAINEROPS_BACKEND), then V(docker).
        type: str
        choices: [docker, hoody, dockhand, podman]
      docker_host:
        description:
          - V(docker), the daemon URL (C(unix://), C(tcp://), C(ssh://)). If not set, E(DOCKER_HOST), then the
            Docker CLI's current context, then C(unix:///var/run/docker.sock).
        type: str
      docker_context:
        description:
          - V(docker), a context of the Docker CLI's store (C(~/.docker/contexts), or under E(DOCKER_CONFIG)); its
            endpoint and TLS files are used. Not together with O(engines[].docker_host). If not set,
            E(DOCKER_CONTEXT), unless E(DOCKER_HOST) is set.
        type: str
      podman_host:
        description:
          - V(podman), the service's URL (C(unix://), C(tcp://)). If not set, E(CONTAINER_HOST), then
            C(unix:///run/podman/podman.sock) for root, else C(unix://$XDG_RUNTIME_DIR/podman/podman.sock).
        type: str
      tls:
        description: V(docker), connect with TLS. If not set, E(DOCKER_TLS) (any non-empty value means yes).
        type: bool
      validate_certs:
        description:
          - Verify the server's certificate. V(docker), if not set, E(DOCKER_TLS_VERIFY) (any non-empty value
            means yes, as for the docker CLI); REST backends verify unless this is V(false).
        type: bool
        aliases: [tls_verify]
      ca_path:
        description: CA certificate. V(docker), defaults to C(ca.pem) in E(DOCKER_CERT_PATH) (else C(~/.docker)).
        type: path
      client_cert:
        description: Client certificate. V(docker), defaults to C(cert.pem) in E(DOCKER_CERT_PATH).
        type: path
      client_key:
        description: Key of O(engines[].client_cert). V(docker), defaults to C(key.pem) in E(DOCKER_CERT_PATH).
        type: path
      api_url:
        description:
          - REST base URL. V(hoody), if not set, E(HOODY_API_URL) or E(HOODY_BASE_URL), then
            C(https://api.hoody.icu); V(dockhand), required, if not set E(DOCKHAND_URL).
          - A password written into it is left out of C(containerops_connection).
        type: str
      api_token:
        description:
          - V(hoody), the Bearer token (if not set, E(HOODY_TOKEN) or E(HOODY_API_TOKEN)); V(dockhand), a C(dh_)
            API token (if not set, E(DOCKHAND_TOKEN)). Never in host variables, the cache or messages.
        type: str
      api_realm:
        description: V(hoody), realm id for realm-scoped tokens. If not set, E(HOODY_REALM) or E(HOODY_REALM_ID).
        type: str
      api_username:
        description: V(dockhand), user to log in as. If not set, E(DOCKHAND_USERNAME).
        type: str
      api_password:
        description:
          - V(dockhand), password of O(engines[].api_username). If not set, E(DOCKHAND_PASSWORD). Never in host
            variables, the cache or messages.
        type: str
      api_environment:
        description: V(dockhand), the environment id. Required for V(dockhand); if not set, E(DOCKHAND_ENV).
        type: int
      timeout:
        description:
          - Seconds to wait for one engine request, from 1 to 3600. If not set, E(CONTAINEROPS_TIMEOUT), then 60.
          - An engine that does not answer holds the inventory up to this long (times O(engines[].retries) + 1).
        type: int
      retries:
        description: How often a read that failed for a transient reason is tried again, from 0 to 10 (default 3).
        type: int
  filters:
    description:
      - Which containers to list, on every engine without its own O(engines[].filters); the target filters of
        the modules (O(containerops.lifecycle.container_state#module:filters)), with the same rules.
      - C(name) (glob), C(label) (list of C(k) or C(k=v)), C(status) (list of canonical statuses), C(project).
      - Not set, every container of the engine is listed.
    type: dict
  group_by_labels:
    description:
      - Label keys that make groups C(label_<key>_<value>); a container with label C(tier=web) goes into
        C(label_tier_web) when C(tier) is listed here.
    type: list
    elements: str
    default: []
notes:
  - Hoody containers have no labels; Docker and Dockhand labels are read from the listing.
  - The hosts are containers, not machines Ansible can log in to; a play that runs modules for them runs them
    on the controller with C(connection=local) (see
    R(Fleets across engines,ansible_collections.containerops.lifecycle.docsite.guide_fleets) and the
    R(fleet playbook,ansible_collections.containerops.lifecycle.docsite.playbook_fleet)).
seealso:
  - module: containerops.lifecycle.container_state
"""

EXAMPLES = r"""
# fleet.containers.yml: the shop's containers on two Docker hosts and a Hoody account, grouped by status, engine
# and tier. The Docker hosts list only the containers labelled com.example.fleet=shop (the shop's own label), so
# the shop's tier=batch containers are the only ones a play on label_tier_batch can act on; Hoody has no labels,
# so it has filters of its own (its containers named shop-*).
plugin: containerops.lifecycle.containers
engines:
  - name: edge-1
    docker_host: tcp://10.0.0.5:2376
    tls: true
    validate_certs: true
  - name: edge-2
    docker_host: ssh://ops@10.0.0.6
  - name: hoody
    backend: hoody
    api_token: "{{ lookup('ansible.builtin.env', 'HOODY_TOKEN') }}"
    filters: {name: "shop-*", status: [running, paused]}
filters:
  label: [com.example.fleet=shop, tier]
  status: [running, paused]
group_by_labels: [tier]

# Three engines, so every host is <container>@<engine>: shop-batch-1@edge-1, shop-batch-1@edge-2, shop-job@hoody.
# ansible-inventory -i fleet.containers.yml --graph
#
# Stop the shop's running batch containers, one container_state task per engine (playbooks/fleet.yml):
# ansible-playbook -i fleet.containers.yml containerops.lifecycle.fleet \
#   -e containerops_hosts='status_running:&label_tier_batch' -e fleet_state=stopped

---
# A Dockhand environment, with the constructed options and a cache of five minutes.
plugin: containerops.lifecycle.containers
engines:
  - name: dockhand-prod
    backend: dockhand
    api_url: https://dockhand.example.com
    api_username: ops                         # the password comes from DOCKHAND_PASSWORD
    api_environment: 2
compose:
  restart_me: containerops_health == 'unhealthy'
groups:
  web: "'web' in containerops_name"
keyed_groups:
  - key: containerops_image | regex_replace(':.*$', '')
    prefix: image
strict: true                                  # an engine that cannot be read fails the inventory
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/containerops-inventory
cache_timeout: 300
"""

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import ansible.template
from ansible.errors import AnsibleParserError
from ansible.inventory.group import to_safe_group_name
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

# ansible-core 2.19 and later never template what a plugin sets unless it is marked as trusted; before, the
# engines' values (names, labels) must be marked unsafe.
TEMPLATES_NEED_TRUST = hasattr(ansible.template, "trust_as_template")

from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import Connection, mask, secrets_in
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, ContainerOpsError
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import (
    CONNECTION_SPEC,
    connection_of,
    missing_library,
    validated_filters,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._text import engine_text, safe_text

ENGINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_READERS = 32


def engine_connection(engine: dict[str, Any]) -> Connection:
    """The connection of one engine entry, checked: the modules' options, defaults and environment fallbacks.

    Raises ``BadInput`` naming what is wrong; ``name`` and ``filters`` are not connection options.
    """
    options = {key: value for key, value in engine.items() if key not in ("name", "filters")}
    result = ArgumentSpecValidator(CONNECTION_SPEC).validate(options)
    if result.error_messages:
        raise BadInput("; ".join(result.error_messages))
    connection = connection_of({key: result.validated_parameters.get(key) for key in CONNECTION_SPEC}, options)
    connection.check()
    return connection


def host_names(engine: dict[str, Any], several_engines: bool) -> list[str]:
    """The host names of one engine's containers, in order, as documented.

    ``several_engines``: whether the configuration names more than one engine. Nothing else outside this
    engine counts, so a host's name never depends on which other engines answered.
    """
    containers = engine["containers"]
    by_id = [f"{c['id']}@{engine['name']}" for c in containers]
    taken_by_id = set(by_id)
    held = Counter(c["name"] for c in containers)
    names = []
    for container, id_name in zip(containers, by_id):
        name = f"{container['name']}@{engine['name']}" if several_engines else container["name"]
        unique = held[container["name"]] == 1 and (name not in taken_by_id or name == id_name)
        names.append(name if unique else id_name)
    return names


def untrusted(value: Any) -> Any:
    """A value read from an engine, which no template in it can ever run from (a label ``{{ lookup(...) }}``)."""
    return value if TEMPLATES_NEED_TRUST else wrap_var(value)


class EngineFailure(Exception):
    """An engine that could not be read: ``where`` names it, ``reason`` says why (no secret in either, and no
    control character an engine may have sent: ``safe_text``)."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = safe_text(where)
        self.reason = safe_text(reason)
        super().__init__(f"{self.where} cannot be read: {self.reason}")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Containers of one or more engines as inventory hosts."""

    NAME = "containerops.lifecycle.containers"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("containers.yml", "containers.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        engines: Optional[list[dict[str, Any]]] = None
        if use_cache:
            try:
                engines = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if engines is None:
            engines, complete = self._read_engines()
            if update_cache and complete:
                self._cache[cache_key] = engines
        self._populate(engines)

    # Reading the engines ---------------------------------------------------------------------------

    def _engine_configs(self) -> list[tuple[str, Connection, Optional[dict[str, Any]]]]:
        """(name, connection, filters) of every engine; a configuration mistake is an error."""
        engines = self.templar.template(self.get_option("engines") or [{"name": "local"}])
        default_filters = self.get_option("filters")
        configs = []
        seen: set[str] = set()
        for index, engine in enumerate(engines):
            if not isinstance(engine, dict):
                raise AnsibleParserError(f"engines[{index}] must be a dict of connection options, got {engine!r}")
            name = engine.get("name")
            if not isinstance(name, str) or not ENGINE_NAME.fullmatch(name):
                raise AnsibleParserError(
                    f"engines[{index}].name must be letters, digits, _, . or - (starting with a letter or digit), "
                    f"got {name!r}"
                )
            if name in seen:
                raise AnsibleParserError(f"engines: the name {name!r} is given twice; engine names are unique")
            seen.add(name)
            filters = engine.get("filters", default_filters)
            try:
                connection = engine_connection(engine)
                filters = validated_filters(filters, connection.backend_class) if filters is not None else None
            except BadInput as exc:
                secrets = secrets_in(engine, CONNECTION_SPEC)
                raise AnsibleParserError(safe_text(f"engine {name!r}: {mask(exc, secrets)}")) from None
            configs.append((name, connection, filters))
        return configs

    def _read_engines(self) -> tuple[list[dict[str, Any]], bool]:
        """Every engine's containers, read in parallel; whether every engine could be read."""
        configs = self._engine_configs()
        with ThreadPoolExecutor(max_workers=min(len(configs), MAX_READERS)) as pool:
            futures = [pool.submit(self._read_engine, *config) for config in configs]
        engines, failures = [], []
        for future in futures:
            try:
                engine, notes = future.result()
            except BadInput as exc:
                raise AnsibleParserError(safe_text(str(exc))) from None
            except EngineFailure as exc:
                failures.append(exc)
                continue
            engines.append(engine)
            for note in notes:
                self.display.vv(safe_text(note))
        if failures and self.get_option("strict"):
            raise AnsibleParserError("; ".join(map(str, failures)))
        for failure in failures:
            self.display.warning(
                f"{failure.where} cannot be read, so its containers are left out of the inventory: {failure.reason}"
            )
        return engines, not failures

    @staticmethod
    def _read_engine(
        name: str, connection: Connection, filters: Optional[dict[str, Any]]
    ) -> tuple[dict[str, Any], list[str]]:
        """One engine's containers as the facts of their host variables, and notes for ``-vv``.

        Runs in a worker thread, so it says nothing itself; ``EngineFailure`` when the engine cannot be read.
        """
        where = f"engine {name!r} ({connection.where()})"
        missing = missing_library(connection.backend)
        if missing:
            raise EngineFailure(where, f"the Python library {missing[0]} is missing ({missing[1]})")
        started = time.monotonic()
        notes = []
        client = None
        try:
            client = connection.connect()
            states = client.list(filters or {})
        except BadInput as exc:
            raise BadInput(f"{where}: {connection.mask(exc)}") from None
        except ContainerOpsError as exc:
            raise EngineFailure(where, connection.mask(exc)) from None
        except Exception as exc:  # an engine fault the backend did not translate: still a named engine
            raise EngineFailure(where, f"{type(exc).__name__}: {engine_text(connection.mask(exc))}") from None
        finally:
            if client is not None:
                try:
                    client.close()
                except Exception as exc:  # closing must not lose what was read
                    notes.append(f"{where}: closing the connection failed: {connection.mask(exc)}")
        notes.append(f"{where}: {len(states)} container(s) listed in {time.monotonic() - started:.2f}s")
        containers = [
            {"id": state.id, "name": safe_text(state.name), "status": state.status,
             "engine_status": state.engine_status,
             **connection.backend_class.listed_facts(state)}
            for state in states
        ]  # fmt: skip
        return {"name": name, "connection": connection.public(), "containers": containers}, notes

    # Hosts and groups ------------------------------------------------------------------------------

    def _group(self, name: str, host: str) -> None:
        group = self.inventory.add_group(to_safe_group_name(name, force=True, silent=True))
        self.inventory.add_child(group, host)

    def _populate(self, engines: list[dict[str, Any]]) -> None:
        strict = self.get_option("strict")
        by_labels = self.get_option("group_by_labels") or []
        several_engines = len(self.get_option("engines") or [{"name": "local"}]) > 1
        for engine in engines:
            for container, host in zip(engine["containers"], host_names(engine, several_engines)):
                host = safe_text(host)  # a name with control characters or escape sequences, shown escaped
                self.inventory.add_host(host)
                facts = dict(container, engine=engine["name"], connection=engine["connection"])
                for key, value in facts.items():
                    self.inventory.set_variable(host, f"containerops_{key}", untrusted(value))
                self._group(f"status_{container['status']}", host)
                self._group(f"engine_{engine['name']}", host)
                for key in by_labels:
                    if key in container["labels"]:
                        self._group(f"label_{key}_{container['labels'][key]}", host)
                if container.get("project"):
                    self._group(f"project_{container['project']}", host)
                variables = self.inventory.get_host(host).get_vars()
                self._set_composite_vars(self.get_option("compose"), variables, host, strict)
                self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict)
                self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict)
