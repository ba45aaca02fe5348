"""Fixtures for pytest-driven integration tests: real engine, real HTTP servers, real ansible-playbook."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tempfile
from typing import Any, Callable, Iterator, Optional

import docker
import pytest
from docker.models.containers import _create_container_args

from tests.integration.lookalikes import LookAlikes
from tests.servers import dockhand, hoody

IMAGE = "containerops/busybox:test"
GRACEFUL = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
PROJECT = "5e1ec7ab1e5e1ec7ab1e5e1e"
PLAYBOOKS = os.path.join(os.path.dirname(__file__), "playbooks")
HOODY_TOKEN = "hdy_integration_token_0123456789"
DOCKHAND_USER, DOCKHAND_PASSWORD = "admin", "dockhand-integration-pw"
# The podman cases of the backend-parametrised tests carry the mark ``podman`` (``make test`` runs them in one lane,
# beside the suite's Podman service: see the Makefile's ``suite``).
PODMAN = pytest.param("podman", marks=pytest.mark.podman)
BACKENDS = ("docker", "hoody", "dockhand", PODMAN)


# An inline play under the group ``module_defaults`` of ``connection``; its ``{tasks}`` set ``out``, which
# is written to ``result_file`` (see ``task_results``).
CONNECTED_PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/containerops.lifecycle.lifecycle: "{{{{ connection }}}}"
  tasks:
{tasks}
    - ansible.builtin.copy:
        content: "{{{{ out | to_json }}}}"
        dest: "{{{{ result_file }}}}"
        mode: "0600"
"""


def task(module: str, args: str, register: str = "out", indent: str = "    ", **keywords: Any) -> str:
    """One task of ``module`` with ``args`` (YAML) registered into ``register``; its failure does not stop the play.

    ``keywords`` are task keywords (``check_mode="true"``, ``name=...``); ``indent`` places it among the
    ``{tasks}`` of ``CONNECTED_PLAY``, or (``""``) in a task file of its own.
    """
    body = "".join(f"{indent}    {line}\n" for line in args.strip().splitlines())
    extra = "".join(f"{indent}  {keyword}: {value}\n" for keyword, value in keywords.items())
    return (f"{indent}- containerops.lifecycle.{module}:\n{body}"
            f"{indent}  register: {register}\n{indent}  ignore_errors: true\n{extra}")  # fmt: skip


def tasks_registering(*steps: tuple[Any, ...]) -> str:
    """One ``task`` per (module, YAML args[, task keywords as a dict]), each registered into ``out['<index>']``."""
    return "".join(
        task(module, args, "step", **(keywords[0] if keywords else {}))
        + "    - ansible.builtin.set_fact:\n"
        + f"        out: \"{{{{ out | default({{}}) | combine({{'{index}': step}}) }}}}\"\n"
        for index, (module, args, *keywords) in enumerate(steps)
    )


def recap(process: subprocess.CompletedProcess) -> dict[str, dict[str, int]]:
    """The PLAY RECAP counters per host, e.g. ``{'localhost': {'ok': 3, 'changed': 1, ...}}``."""
    lines = process.stdout.rsplit("PLAY RECAP", 1)[-1].splitlines()
    found = {line.split()[0]: {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}
             for line in lines if "ok=" in line}  # fmt: skip
    assert found, process.stdout[-4000:] + process.stderr[-2000:]
    return found


# Runs ``playbook``, then writes its fact ``fact`` to ``result_file`` (``.format(playbook=..., fact=...)``).
PLAYBOOK_THEN_FACT = """
- ansible.builtin.import_playbook: {playbook}
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        content: "{{{{ {fact} | to_json }}}}"
        dest: "{{{{ result_file }}}}"
        mode: "0600"
      check_mode: false
      changed_when: false
"""


def hoody_connection(server, token: str = HOODY_TOKEN) -> dict:
    """The connection options of the modules for the Hoody test server ``server``."""
    return {"backend": "hoody", "api_url": server.url, "api_token": token}


def podman_connection(service) -> dict:
    """The connection options of the modules for the suite's Podman service ``service``."""
    return {"backend": "podman", "podman_host": service.host}


@pytest.fixture
def hoody_server():
    """The Hoody API v1 test server on 127.0.0.1, on the real engine."""
    server = hoody.start_server(token=HOODY_TOKEN, accept_delay=0.2)
    yield server
    server.stop()


@pytest.fixture
def dockhand_server():
    """The Dockhand test server on 127.0.0.1 with authentication on, on the real engine."""
    server = dockhand.start_server(auth=True, username=DOCKHAND_USER, password=DOCKHAND_PASSWORD)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def engine():
    client = docker.from_env()
    yield client
    client.close()


def named(client, name: str) -> Optional[Any]:
    """The container named exactly ``name``, or None. Never ``containers.get(name)`` for a name that may not exist:
    Docker and Podman also read it as an id prefix, and a short hex name like ``db`` then finds another container."""
    return next((c for c in client.containers.list(all=True, filters={"name": name}) if c.name == name), None)


def remove(container: Optional[Any]) -> None:
    """Remove ``container``, if any and still there."""
    if container is not None:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def _container_maker(client, stop_timeout: Optional[int] = None) -> Iterator[Callable[..., list[str]]]:
    """A factory of stopped test containers (labelled for the Hoody server's project; with ``stop_timeout``, their
    own, which ``containers.create`` cannot give) on ``client``'s engine, removed when the generator is closed."""
    created = []

    def make(*names: str, labels: Optional[dict[str, str]] = None, command: Optional[list[str]] = None,
             **kwargs: Any) -> list[str]:
        for name in names:
            remove(named(client, name))
            args = dict(kwargs, image=IMAGE, command=command or GRACEFUL, name=name, version=client.api._version,
                        labels={"hoody.project": PROJECT, **(labels or {})})
            client.api.create_container(**_create_container_args(args), stop_timeout=stop_timeout)
            created.append(name)
        return list(names)

    yield make
    for name in created:  # by name: a restored container has a new id
        remove(named(client, name))


@pytest.fixture
def make_containers(engine):
    """Create stopped test containers (labelled for the Hoody server's project); removed afterwards."""
    yield from _container_maker(engine)


@pytest.fixture(scope="session")
def podman_service(engine):
    """The suite's own Podman service (``podman_service.py``), with the test image: the lane's when ``make test``
    started one, else one for this session. Its ``client`` reads its containers through the Docker-compatible API."""
    from tests.integration.podman_service import podman_service as service  # it imports this module

    with service(engine) as running:
        yield running


@pytest.fixture
def make_podman_containers(podman_service):
    """``make_containers`` on the suite's Podman service, with Podman's own default stop timeout."""
    from tests.integration.podman_service import STOP_TIMEOUT

    yield from _container_maker(podman_service.client, stop_timeout=STOP_TIMEOUT)


def web_command(colour: str) -> list[str]:
    """A web server (busybox httpd on port 80) whose page says ``colour``: the blue/green tests' containers."""
    return ["sh", "-c", f"mkdir -p /www && echo {colour} > /www/index.html && exec httpd -f -p 80 -h /www"]


def podman_answer(podman_service, client: str, url: str) -> str:
    """What ``url`` answers from inside ``client`` (busybox wget; "" when it does not resolve or answer). No ``-T``:
    busybox-static's wget crashes with it here."""
    return podman_service.podman("exec", client, "wget", "-qO-", url, check=False).stdout.strip()


def on_engine_of(backend: str, request) -> tuple[docker.DockerClient, Callable[..., list[str]]]:
    """Where ``backend``'s test containers live and the factory that makes them there: the Docker engine for docker,
    hoody and dockhand (the REST servers sit on it), the suite's Podman service for podman."""
    if backend == "podman":
        return request.getfixturevalue("podman_service").client, request.getfixturevalue("make_podman_containers")
    return request.getfixturevalue("engine"), request.getfixturevalue("make_containers")


@pytest.fixture(scope="module")
def look_alikes(engine):
    """Containers like a user's own, labelled as the examples select (``tier=web``, ``tier=batch``, ``app=api``),
    running, paused and never started, for a test to check it left them exactly as they were (``states()`` before
    and after); created once per test file, removed afterwards."""
    created = LookAlikes(engine, IMAGE, GRACEFUL)
    created.create()
    yield created
    created.remove()


def run_playbook(playbook: str, extra_vars: dict[str, Any], *args: str) -> subprocess.CompletedProcess:
    """Run ``ansible-playbook`` on localhost with ``extra_vars`` (passed as a JSON file)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(extra_vars, handle)
    try:
        path = playbook if os.path.isabs(playbook) else os.path.join(PLAYBOOKS, playbook)
        return subprocess.run(
            ["ansible-playbook", "-i", "localhost,", "-c", "local", path, "-e", f"@{handle.name}", *args],
            capture_output=True, text=True, timeout=600,
        )
    finally:
        os.unlink(handle.name)


def task_results(tmp_path, playbook_text: str, extra_vars: dict[str, Any], *args: str):
    """Run an inline playbook whose tasks ``register`` into ``out``; return (process, out as dict)."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(playbook_text)
    result_file = tmp_path / "out.json"
    process = run_playbook(str(playbook), dict(extra_vars, result_file=str(result_file)), *args)
    out = json.loads(result_file.read_text()) if result_file.exists() else None
    return process, out
