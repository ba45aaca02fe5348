"""The same playbook through every backend, each against real parts.

Docker: the real engine. Hoody and Dockhand: the test servers in ``tests/servers/``, which serve their
REST contracts on 127.0.0.1 on top of the same real engine. Podman: the suite's own Podman service.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import (
    BACKENDS,
    CONNECTED_PLAY,
    DOCKHAND_PASSWORD,
    DOCKHAND_USER,
    HOODY_TOKEN,
    on_engine_of,
    podman_connection,
    run_playbook,
    task_results,
)


def connection(backend: str, request) -> dict:
    if backend == "docker":
        return {"backend": "docker"}
    if backend == "podman":
        return podman_connection(request.getfixturevalue("podman_service"))
    if backend == "hoody":
        server = request.getfixturevalue("hoody_server")
        return {"backend": "hoody", "api_url": server.url, "api_token": HOODY_TOKEN}
    server = request.getfixturevalue("dockhand_server")
    return {"backend": "dockhand", "api_url": server.url, "api_username": DOCKHAND_USER,
            "api_password": DOCKHAND_PASSWORD, "api_environment": 1}


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_playbook_on_every_backend(backend, request):
    _engine, make_containers = on_engine_of(backend, request)
    names = make_containers(f"bk-{backend}-1", f"bk-{backend}-2")
    process = run_playbook("lifecycle.yml", {"connection": connection(backend, request), "names": names})
    assert process.returncode == 0, process.stdout[-6000:] + process.stderr[-3000:]
    assert "failed=0" in process.stdout, process.stdout[-6000:]


# container_info's runtime: the documented keys and types from every backend (nulls where the engine cannot tell).
RUNTIME_PLAY = CONNECTED_PLAY.format(tasks="""
    - containerops.lifecycle.container_info:
        name: "{{ names }}"
        runtime: true
      register: info
    - ansible.builtin.set_fact:
        out: "{{ info }}"
""")
RUNTIME_KEYS = ("processes", "ports", "networks", "resource_usage")
NETWORK_KEYS = ("ip_address", "gateway", "mac_address", "aliases")
USAGE_KEYS = ("memory_usage_bytes", "memory_limit_bytes", "cpu_total_usage_ns", "cpu_usage_percent", "pids")


def runtime_types(runtime: dict) -> dict:
    """What each documented key holds, as type names (``None`` for null), checking the parts' own shapes."""
    assert tuple(runtime) == RUNTIME_KEYS, runtime  # no ``error``: everything could be read
    for port, bindings in (runtime["ports"] or {}).items():
        assert port.split("/")[0].isdigit() and port.split("/")[1] in ("tcp", "udp"), port
        assert bindings is None or all(tuple(binding) == ("HostIp", "HostPort") for binding in bindings), bindings
    for network in (runtime["networks"] or {}).values():
        assert tuple(network) == NETWORK_KEYS, network
        assert isinstance(network["aliases"], list)
        assert all(isinstance(network[key], (str, type(None))) for key in NETWORK_KEYS[:3]), network
    if runtime["resource_usage"] is not None:
        assert tuple(runtime["resource_usage"]) == USAGE_KEYS, runtime["resource_usage"]
        assert all(isinstance(value, (int, float, type(None))) for value in runtime["resource_usage"].values())
    return {key: type(value).__name__ if value is not None else None for key, value in runtime.items()}


def runtime_of(backend: str, request, tmp_path) -> tuple[dict, dict]:
    """container_info's runtime of a running and a stopped container (port 8080 published) through ``backend``,
    checked for what every backend says alike; their kinds (``runtime_types``)."""
    engine, make_containers = on_engine_of(backend, request)
    running, stopped = make_containers(f"rt-{backend}-run", f"rt-{backend}-stop",
                                       ports={"8080/tcp": ("127.0.0.1", None)})
    engine.containers.get(running).start()
    (tmp_path / backend).mkdir()
    process, out = task_results(tmp_path / backend, RUNTIME_PLAY,
                                {"connection": connection(backend, request), "names": [running, stopped]})
    assert out and not out.get("failed"), process.stdout[-6000:] + process.stderr[-3000:]
    run, stop = (entry["runtime"] for entry in out["containers"])
    # A stopped container has no processes and uses nothing, whoever says so.
    assert stop["processes"] == [] and stop["resource_usage"] is None, (backend, stop)
    assert "8080/tcp" in run["ports"], (backend, run)
    networks = list(run["networks"].values())
    assert networks and all(network["ip_address"] for network in networks), (backend, run)
    if backend != "dockhand":  # Dockhand gives no processes or usage for one container
        usage = run["resource_usage"]
        assert run["processes"] and usage["memory_usage_bytes"] > 0 and usage["pids"] >= 1, (backend, run)
    return runtime_types(run), runtime_types(stop)


#: The kinds of a running container's runtime on Docker, every key known.
EVERY_KIND = {"processes": "list", "ports": "dict", "networks": "dict", "resource_usage": "dict"}


def test_container_info_runtime_has_one_shape_on_every_backend(request, tmp_path):
    seen = {backend: runtime_of(backend, request, tmp_path) for backend in ("docker", "hoody", "dockhand")}
    dict_or_null = {"dict", None}
    for key in RUNTIME_KEYS:  # the same type on every backend, or null where that engine cannot tell
        for index in (0, 1):
            kinds = {seen[backend][index][key] for backend in seen}
            assert kinds <= ({"list", None} if key == "processes" else dict_or_null), (key, index, seen)
    assert seen["docker"][0] == EVERY_KIND
    assert seen["hoody"][0] == seen["docker"][0]
    assert seen["dockhand"][0] == dict(seen["docker"][0], processes=None, resource_usage=None)
    assert seen["hoody"][1] == {"processes": "list", "ports": "dict", "networks": None, "resource_usage": None}


@pytest.mark.podman
def test_container_info_runtime_on_podman_has_dockers_shape(request, tmp_path):
    """Podman knows what Docker knows of a running container, every key of the same kind; of a stopped one, no
    processes and no usage, its ports and networks a dict or null."""
    running, stopped = runtime_of("podman", request, tmp_path)
    assert running == EVERY_KIND
    assert stopped["processes"] == "list" and stopped["resource_usage"] is None, stopped
    assert {stopped["ports"], stopped["networks"]} <= {"dict", None}, stopped
