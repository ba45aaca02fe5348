#!/usr/bin/python
# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_info
short_description: Read the lifecycle status of containers
version_added: 0.1.0
description:
  - Reports each selected container's canonical status, the engine's own status, health, restart
    behaviour, image, labels and timestamps; with O(runtime=true) also processes, ports, networks and
    resource usage.
  - Read-only. A name that does not exist is reported with RV(containers[].exists=false), not as an error.
author:
  - containerops engineers (@containerops)
extends_documentation_fragment:
  - containerops.lifecycle.connection
  - containerops.lifecycle.connection.docker
  - containerops.lifecycle.connection.podman
  - containerops.lifecycle.connection.rest
  - containerops.lifecycle.targets
  - containerops.lifecycle.attributes
attributes:
  check_mode:
    support: full
    details: Read-only; runs normally in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  runtime:
    description:
      - Also return the engine's runtime details of running containers (RV(containers[].runtime)).
      - Costs a few extra engine calls per container.
    type: bool
    default: false
seealso:
  - module: containerops.lifecycle.container_state
"""

EXAMPLES = r"""
- name: Is the database running and healthy?
  containerops.lifecycle.container_info:
    name: db
  register: db

- name: Fail unless it is
  ansible.builtin.assert:
    that:
      - db.container.exists
      - db.container.status == 'running'
      - db.container.health in [none, 'healthy']

- name: The containers of the Compose project "shop" paused right now, with processes and ports
  containerops.lifecycle.container_info:
    filters:
      project: shop
      status: [paused]
    runtime: true
  register: paused
"""

RETURN = r"""
containers:
  description: One entry per selected container.
  returned: always
  type: list
  elements: dict
  contains:
    exists:
      description: Whether the container exists. A missing name has only RV(containers[].name) besides this.
      type: bool
    id:
      description: Container id.
      type: str
    name:
      description: Container name.
      type: str
    status:
      description: >-
        Canonical status: V(running), V(stopped), V(paused), V(restarting), V(removing), V(failed)
        (Docker C(dead)); the full vocabulary is in
        R(Statuses and operations,ansible_collections.containerops.lifecycle.docsite.guide_backends).
      type: str
    engine_status:
      description: >-
        The engine's own state name (Docker C(created), C(running), C(paused), C(restarting),
        C(removing), C(exited), C(dead); Podman also C(configured), C(stopped), C(stopping)).
      type: str
    health:
      description: Health check status (V(starting), V(healthy), V(unhealthy)), or null without a health check.
      type: str
    autostart:
      description: >-
        Whether the engine starts the container by itself when the engine starts (Docker restart
        policy C(always) or C(unless-stopped)).
      type: bool
    image:
      description: Image the container was created from.
      type: str
    labels:
      description: Container labels.
      type: dict
    started_at:
      description: When it last started (ISO 8601), or null if never.
      type: str
    finished_at:
      description: When it last stopped (ISO 8601), or null if never.
      type: str
    exit_code:
      description: Exit code of its last run.
      type: int
    runtime:
      description:
        - With O(runtime=true) only. The same keys with every backend; a value the engine cannot tell is null,
          never guessed.
        - V(docker) fills every key but C(resource_usage.cpu_usage_percent); so does V(podman), from libpod's
          C(/top) and C(/stats).
        - V(dockhand) gives no processes and no resource usage for one container, so
          RV(containers[].runtime.processes) is null for a running or paused container and
          RV(containers[].runtime.resource_usage) is always null.
        - V(hoody) gives its service units as processes and the ports they listen on (published on no host, so
          each is null); its networks are its interfaces, without gateway, MAC address or aliases; it gives no
          CPU time. Networks and resource usage are read for a running container only (null otherwise).
      type: dict
      contains:
        processes:
          description:
            - The engine's own rows. V(docker), the columns of C(ps) (C(UID), C(PID), C(PPID), C(C), C(STIME),
              C(TTY), C(TIME), C(CMD)); V(podman), libpod's (C(USER), C(PID), C(PPID), C(%CPU), C(ELAPSED), C(TTY),
              C(TIME), C(COMMAND)); V(hoody), its service units (C(name), C(status), C(pid), ...).
            - Empty for a container that is neither running nor paused (it has no processes); null when they were
              not read (V(docker) does not read them for a paused container) or the engine does not say.
          type: list
          elements: dict
          sample: [{UID: root, PID: "4242", PPID: "4221", C: "0", STIME: "10:02", TTY: "?", TIME: "00:00:00",
                    CMD: sleep 300}]
        ports:
          description:
            - Ports the container offers, keyed C(<port>/<protocol>) (V(tcp) or V(udp)).
            - Each value is the list of host bindings C({HostIp, HostPort}) (C(HostPort) a string), or null for a
              port not published on the host.
          type: dict
          sample: {"8080/tcp": [{HostIp: 127.0.0.1, HostPort: "32768"}], "9000/tcp": null}
        networks:
          description:
            - One entry per network (V(hoody), per network interface, loopback left out), each with
              C(ip_address), C(gateway), C(mac_address) (strings or null) and C(aliases) (a list of strings).
            - Null when the engine was not asked or could not answer (see RV(containers[].runtime.error)).
          type: dict
          sample: {bridge: {ip_address: 172.17.0.2, gateway: 172.17.0.1, mac_address: "02:42:ac:11:00:02", aliases: []}}
        resource_usage:
          description:
            - Of a running container; null otherwise, or when the engine does not give it.
            - C(memory_usage_bytes), C(memory_limit_bytes), C(cpu_total_usage_ns) (CPU time used since the
              start, in nanoseconds), C(cpu_usage_percent) (V(hoody) only) and C(pids) (number of processes);
              each is null when the engine does not give it.
          type: dict
          sample: {memory_usage_bytes: 712704, memory_limit_bytes: 2147483648, cpu_total_usage_ns: 18728843,
                   cpu_usage_percent: null, pids: 1}
        error:
          description: >-
            Why part of the runtime details could not be read (for instance the container stopped meanwhile);
            the parts not read are null.
          returned: when part of the runtime details could not be read
          type: str
elapsed:
  description: Seconds the module spent, from its start to its answer.
  returned: success
  type: float
  sample: 0.412
container:
  description: The single entry of RV(containers), when exactly one container was selected.
  returned: when exactly one container was selected
  type: dict
"""

from ansible_collections.containerops.lifecycle.plugins.module_utils._driver import run_parallel
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import ContainerNotFound
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import ABSENT
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import LifecycleModule
from ansible_collections.containerops.lifecycle.plugins.module_utils._results import missing_container

ARGUMENT_SPEC = {
    "runtime": {"type": "bool", "default": False},
}


def run(lifecycle: LifecycleModule) -> dict:
    backend = lifecycle.backend
    runtime = lifecycle.params["runtime"]

    def describe(container):
        if container.status == ABSENT:
            return missing_container(container.name)
        try:
            return backend.describe(container, runtime)
        except ContainerNotFound:  # removed since it was listed: it does not exist any more
            return missing_container(container.name)

    targets = lifecycle.select_targets()
    entries = run_parallel(targets, describe, lifecycle.params["parallel"])
    result = {"changed": False, "containers": entries}
    if len(entries) == 1:
        result["container"] = entries[0]
    return result


def main() -> None:
    LifecycleModule(ARGUMENT_SPEC, with_targets=True).run(run)


if __name__ == "__main__":
    main()
