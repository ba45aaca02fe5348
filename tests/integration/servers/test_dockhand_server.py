"""The Dockhand test server (tests/servers/dockhand.py) against the real Docker engine.

Each test replays rows of the live transcript in the shared Dockhand contract (row numbers in the
docstrings) or checks a documented rule: exact status codes and bodies, real state transitions,
activity records, auth. Containers are ``ds-*`` busybox containers created with a 1 s StopTimeout,
so a graceful stop (busybox ignores SIGTERM) takes about a second instead of ten.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any, Callable, Iterator

import docker
import pytest
import requests
from docker.errors import NotFound

pytest.importorskip("flask", reason="the Dockhand test server needs Flask")
from tests.servers.dockhand import DockhandServer, local_socket, start_server

pytestmark = pytest.mark.docker

IMAGE = "containerops/busybox:test"
PASSWORD = "s3cret-passw0rd"
UNKNOWN = "doesnotexist123"
UNAUTHORIZED = {"error": "Unauthorized", "message": "Authentication required"}
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
COOKIE = re.compile(r"dockhand_session=([A-Za-z0-9_-]{43}); Max-Age=86400; Path=/; HttpOnly; SameSite=Lax")
REPO = Path(__file__).resolve().parents[3]

Make = Callable[..., Any]


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="module")
def server() -> Iterator[DockhandServer]:
    running = start_server()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def auth_server() -> Iterator[DockhandServer]:
    running = start_server(auth=True, username="admin", password=PASSWORD)
    yield running
    running.stop()


@pytest.fixture
def secured(auth_server: DockhandServer) -> DockhandServer:
    """The auth server with no sessions, no lockouts and an empty request log."""
    auth_server.reset()
    auth_server.expire_sessions()
    return auth_server


@pytest.fixture
def make(engine: docker.DockerClient) -> Iterator[Make]:
    """Create ``ds-*`` containers (started unless ``start=False``); all are removed afterwards."""
    created: list[str] = []

    def create(start: bool = True, stop_timeout: int = 1, **options: Any) -> Any:
        name = f"ds-{uuid.uuid4().hex[:12]}"
        container_id = engine.api.create_container(IMAGE, name=name, stop_timeout=stop_timeout, **options)["Id"]
        created.append(container_id)
        if start:
            engine.api.start(container_id)
        return engine.containers.get(container_id)

    yield create
    for container_id in created:
        with suppress(NotFound):
            engine.api.remove_container(container_id, force=True)


def call(server: DockhandServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, server.url + path, timeout=30, **kwargs)


def action(server: DockhandServer, ref: str, verb: str, query: str = "?env=1", **kwargs: Any) -> requests.Response:
    return call(server, "POST", f"/api/containers/{ref}/{verb}{query}", **kwargs)


def settle_pause() -> None:
    """Time for Docker to apply containerd's own event for the pause or unpause just done.

    Docker 20.10 applies it late, in a queue of its own: an unpause sent a few milliseconds after a pause may
    find the container "not paused", or record the pause again after it. Only back-to-back toggles need this.
    """
    time.sleep(0.5)


def timed(fn: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = fn()
    return response, time.monotonic() - started


def state(engine: docker.DockerClient, container: Any) -> dict[str, Any]:
    return engine.api.inspect_container(container.id)["State"]


def listed(server: DockhandServer, container: Any, query: str = "?env=1") -> dict[str, Any] | None:
    response = call(server, "GET", f"/api/containers{query}")
    assert response.status_code == 200
    return next((entry for entry in response.json() if entry["id"] == container.id), None)


def events(server: DockhandServer, query: str) -> dict[str, Any]:
    response = call(server, "GET", f"/api/activity?{query}")
    assert response.status_code == 200
    return response.json()


def actions_until(server: DockhandServer, container: Any, last: str, count: int = 1) -> list[str]:
    """The container's recorded actions, oldest first, once ``last`` has been recorded ``count`` times."""
    deadline = time.monotonic() + 20
    while True:
        found = [e["action"] for e in reversed(events(server, f"containerId={container.id}")["events"])]
        if found.count(last) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def login(server: DockhandServer, password: str = PASSWORD) -> requests.Session:
    session = requests.Session()
    response = session.post(server.url + "/api/auth/login", json={"username": "admin", "password": password})
    assert response.status_code == 200, response.text
    return session


# --------------------------------------------------------------------------- environments


def test_fresh_install_registers_environments_and_tests_them(engine: docker.DockerClient, make: Make) -> None:
    """Rows 1, 30: no environment until one is registered (200, id 1); a dead socket lists [] and fails actions."""
    fresh = start_server(local_environment=False)
    try:
        assert call(fresh, "GET", "/api/environments").json() == []
        assert call(fresh, "GET", "/api/containers?env=1").json() == []
        created = call(fresh, "POST", "/api/environments",
                       json={"name": "local", "connectionType": "socket", "socketPath": local_socket()})
        assert created.status_code == 200
        env = created.json()
        assert (env["id"], env["name"], env["connectionType"], env["socketPath"]) == (1, "local", "socket",
                                                                                       local_socket())
        assert env["collectActivity"] is env["collectMetrics"] is True
        assert env["icon"] == "globe" and env["labels"] == []
        assert call(fresh, "GET", "/api/environments/1").json() == env
        assert [e["id"] for e in call(fresh, "GET", "/api/environments").json()] == [1]
        assert call(fresh, "GET", "/api/environments/99").json() == {"error": "Environment not found"}
        assert call(fresh, "GET", "/api/environments/99").status_code == 404

        duplicate = call(fresh, "POST", "/api/environments", json={"name": "local"})
        assert duplicate.status_code == 409
        assert duplicate.json() == {"error": "An environment with this name already exists"}
        bad_type = call(fresh, "POST", "/api/environments", json={"name": "x", "connectionType": "carrier-pigeon"})
        assert (bad_type.status_code, bad_type.json()) == (400, {"error": "Invalid connection type: carrier-pigeon"})
        no_host = call(fresh, "POST", "/api/environments", json={"name": "x", "connectionType": "direct"})
        assert (no_host.status_code, no_host.json()) == (400, {"error": "Host is required for this connection type"})

        tested = call(fresh, "POST", "/api/environments/1/test").json()
        assert tested["success"] is True and tested["hawser"] is None
        assert tested["info"]["serverVersion"] == engine.version()["Version"]
        assert tested["info"]["engine"] == "docker"

        container = make()
        assert listed(fresh, container)["state"] == "running"
        assert "create" in actions_until(fresh, container, "start")

        dead = call(fresh, "POST", "/api/environments",
                    json={"name": "dead", "socketPath": "/nonexistent/docker.sock", "labels": ["lab"]}).json()
        assert dead["id"] == 2
        dead_list = call(fresh, "GET", "/api/containers?env=2")
        assert (dead_list.status_code, dead_list.json()) == (200, [])
        assert action(fresh, container.name, "start", "?env=2").json() == {"error": "Failed to start container"}
        assert action(fresh, container.name, "stop", "?env=2").json() == {"error": "Failed to stop container"}
        assert call(fresh, "POST", "/api/environments/2/test").json() == {"success": False, "error": "Connection error"}
        assert events(fresh, "labels=lab")["total"] == 0
        assert events(fresh, "labels=nothing") == {"events": [], "total": 0, "limit": 100, "offset": 0}
        assert state(engine, container)["Running"] is True
        assert call(fresh, "DELETE", "/api/activity").json() == {"success": True}
        assert events(fresh, f"containerId={container.id}")["total"] == 0
    finally:
        fresh.stop()


# --------------------------------------------------------------------------- reading state


def test_list_has_the_contract_shape(engine: docker.DockerClient, server: DockhandServer, make: Make) -> None:
    """Row 2 and the list element spec: keys, state/status strings, exitCode only when exited."""
    running, stopped, created = make(), make(), make(start=False)
    stopped.kill()
    hidden = make(labels={"dockhand.hidden": "true"})

    entry = listed(server, running)
    assert list(entry) == ["id", "name", "image", "state", "status", "created", "ports", "networks", "restartCount",
                           "mounts", "labels", "command", "systemContainer"]
    assert re.fullmatch(r"[0-9a-f]{64}", entry["id"]) and entry["name"] == running.name
    assert (entry["image"], entry["state"], entry["command"]) == (IMAGE, "running", "sleep infinity")
    assert entry["status"].startswith("Up ") and isinstance(entry["created"], int)
    address = engine.api.inspect_container(running.id)["NetworkSettings"]["IPAddress"]
    assert entry["networks"] == {"bridge": {"ipAddress": address}}
    assert (entry["ports"], entry["mounts"], entry["restartCount"], entry["systemContainer"]) == ([], [], 0, None)

    exited = listed(server, stopped)
    assert (exited["state"], exited["exitCode"]) == ("exited", 137)
    assert exited["status"].startswith("Exited (137)")
    fresh = listed(server, created)
    assert (fresh["state"], fresh["status"]) == ("created", "Created") and "exitCode" not in fresh
    assert listed(server, hidden) is None
    assert listed(server, stopped, "?env=1&all=false") is None
    assert listed(server, running, "?env=1&all=false") is not None


def test_list_env_selection(server: DockhandServer, make: Make) -> None:
    """Rows 3, 4, 23: no or non-numeric env gives 200 [], an unknown env 404, ``1abc`` means 1."""
    container = make()
    for query in ("", "?env=abc", "?env=0", "?env="):
        response = call(server, "GET", f"/api/containers{query}")
        assert (response.status_code, response.json()) == (200, [])
    unknown = call(server, "GET", "/api/containers?env=99")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Environment not found"})
    assert listed(server, container, "?env=1abc") is not None


def test_inspect_routes(server: DockhandServer, make: Make) -> None:
    """Rows 20, 26: raw inspect JSON (also by short id); 404 vs 500 for an unknown container."""
    container = make()
    raw = call(server, "GET", f"/api/containers/{container.id[:12]}?env=1")
    assert raw.status_code == 200
    body = raw.json()
    assert (body["Id"], body["Name"], body["State"]["Status"]) == (container.id, f"/{container.name}", "running")
    assert {"Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode"} <= set(body["State"])
    detailed = call(server, "GET", f"/api/containers/{container.name}/inspect?env=1").json()
    assert detailed["Id"] == container.id and detailed["divergence"] == {"env": [], "labels": []}

    unknown = call(server, "GET", f"/api/containers/{UNKNOWN}?env=1")
    assert (unknown.status_code, unknown.json()) == (404, {"error": f"No such container: {UNKNOWN}"})
    unknown_inspect = call(server, "GET", f"/api/containers/{UNKNOWN}/inspect?env=1")
    assert (unknown_inspect.status_code, unknown_inspect.json()) == (500, {"error": "Failed to inspect container"})
    for query in ("", "?env=99"):
        failed = call(server, "GET", f"/api/containers/{container.name}{query}")
        assert (failed.status_code, failed.json()) == (500, {"error": "Failed to inspect container"})


def test_hidden_containers_are_read_by_name_but_never_listed(engine: docker.DockerClient, server: DockhandServer,
                                                            make: Make) -> None:
    """Section (e) 15: ``dockhand.hidden=true`` leaves a container out of the listing; it is still read and run."""
    hidden = make(start=False, labels={"dockhand.hidden": "true"})
    assert listed(server, hidden) is None
    read = call(server, "GET", f"/api/containers/{hidden.name}?env=1")
    assert (read.status_code, read.json()["Id"]) == (200, hidden.id)
    assert action(server, hidden.name, "start").json() == {"success": True}
    assert state(engine, hidden)["Running"] is True and listed(server, hidden) is None


def test_large_responses_are_gzipped(server: DockhandServer, make: Make) -> None:
    """Responses over 1 KB are gzipped when the client accepts gzip; small ones never are."""
    container = make()
    path = f"/api/containers/{container.id}?env=1"
    zipped = call(server, "GET", path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.json()["Id"] == container.id
    plain = call(server, "GET", path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    small = action(server, container.id, "start", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers


# --------------------------------------------------------------------------- lifecycle


def test_start_and_stop_are_idempotent_and_stop_blocks(engine: docker.DockerClient, server: DockhandServer,
                                                       make: Make) -> None:
    """Rows 5, 6, 7, 10: start of running and stop of stopped are 200; a stop waits for the StopTimeout."""
    container = make()
    assert (action(server, container.name, "start").json()) == {"success": True}
    stopped, took = timed(lambda: action(server, container.name, "stop"))
    assert (stopped.status_code, stopped.json()) == (200, {"success": True})
    assert 0.8 < took < 8
    assert (state(engine, container)["Status"], state(engine, container)["ExitCode"]) == ("exited", 137)
    again, took = timed(lambda: action(server, container.name, "stop"))
    assert (again.status_code, again.json()) == (200, {"success": True}) and took < 0.8
    started = action(server, container.name, "start")
    assert (started.status_code, started.json()) == (200, {"success": True})
    assert state(engine, container)["Running"] is True


def test_pause_and_unpause_need_the_right_state(engine: docker.DockerClient, server: DockhandServer,
                                                make: Make) -> None:
    """Rows 8, 9: pause of a stopped container, unpause of a stopped or running one: 500."""
    container = make(start=False)
    for verb in ("pause", "unpause"):
        response = action(server, container.id, verb)
        assert (response.status_code, response.json()) == (500, {"error": f"Failed to {verb} container"})
    engine.api.start(container.id)
    response = action(server, container.id, "unpause")
    assert (response.status_code, response.json()) == (500, {"error": "Failed to unpause container"})
    assert state(engine, container)["Running"] is True


def test_paused_container(engine: docker.DockerClient, server: DockhandServer, make: Make) -> None:
    """Rows 11-16: pause; pause again 500; start paused 500; restart paused runs; unpause; stop paused is 137."""
    container = make()
    assert action(server, container.name, "pause").json() == {"success": True}
    entry = listed(server, container)
    assert entry["state"] == "paused" and entry["status"].endswith("(Paused)")
    assert action(server, container.name, "pause").json() == {"error": "Failed to pause container"}
    assert action(server, container.name, "start").status_code == 500
    assert action(server, container.name, "start").json() == {"error": "Failed to start container"}

    restarted, took = timed(lambda: action(server, container.name, "restart"))
    assert restarted.json() == {"success": True} and took > 0.8
    assert (state(engine, container)["Running"], state(engine, container)["Paused"]) == (True, False)

    assert action(server, container.name, "pause").json() == {"success": True}
    settle_pause()
    assert action(server, container.name, "unpause").json() == {"success": True}
    assert state(engine, container)["Paused"] is False
    settle_pause()
    assert action(server, container.name, "pause").json() == {"success": True}
    assert action(server, container.name, "stop").json() == {"success": True}
    assert (state(engine, container)["Status"], state(engine, container)["ExitCode"]) == ("exited", 137)


def test_restart_stopped_and_running(engine: docker.DockerClient, server: DockhandServer, make: Make) -> None:
    """Row 17: restart always restarts: a stopped container just starts, a running one is stopped first."""
    container = make(start=False)
    assert action(server, container.id, "restart").json() == {"success": True}
    assert state(engine, container)["Running"] is True
    assert actions_until(server, container, "restart") == ["create", "start", "restart"]
    first_start = state(engine, container)["StartedAt"]
    slow, took = timed(lambda: action(server, container.id, "restart"))
    assert slow.json() == {"success": True} and took > 0.8
    assert state(engine, container)["Running"] is True and state(engine, container)["StartedAt"] != first_start
    assert actions_until(server, container, "restart", count=2)[3:] == [
        "kill", "kill", "die", "stop", "start", "restart"]


def test_unknown_container(server: DockhandServer) -> None:
    """Rows 18, 19: 500 for every action on an unknown container except stop, which is 404."""
    for verb in ("start", "restart", "pause", "unpause"):
        response = action(server, UNKNOWN, verb)
        assert (response.status_code, response.json()) == (500, {"error": f"Failed to {verb} container"})
    stopped = action(server, UNKNOWN, "stop")
    assert (stopped.status_code, stopped.json()) == (404, {"error": f"No such container: {UNKNOWN}"})


@pytest.mark.parametrize("query", ["", "?env=99", "?env=0", "?env=abc"])
def test_actions_without_a_usable_env_fail(engine: docker.DockerClient, server: DockhandServer, make: Make,
                                           query: str) -> None:
    """Rows 21, 22: a missing, zero, non-numeric or unknown env is 500 for every action; nothing changes."""
    container = make()
    for verb in ("start", "stop", "restart", "pause", "unpause"):
        response = action(server, container.name, verb, query)
        assert (response.status_code, response.json()) == (500, {"error": f"Failed to {verb} container"})
    assert (state(engine, container)["Running"], state(engine, container)["Paused"]) == (True, False)


def test_env_prefix_and_short_id(engine: docker.DockerClient, server: DockhandServer, make: Make) -> None:
    """Rows 23, 26: ``env=1abc`` is env 1; a 12-character id prefix works for actions."""
    container = make()
    assert action(server, container.id[:12], "pause", "?env=1abc").json() == {"success": True}
    assert state(engine, container)["Paused"] is True


@pytest.mark.parametrize("ref", ["a..b", "a%25b", "a%5Cb", "a%00b", "a/b"])
def test_invalid_container_ids(server: DockhandServer, ref: str) -> None:
    """Row 24: ids with ``..``, ``%``, backslash, NUL or a slash are 400."""
    response = action(server, ref, "start")
    assert (response.status_code, response.json()) == (400, {"error": "Invalid container ID"})
    if "/" not in ref:
        assert call(server, "GET", f"/api/containers/{ref}?env=1").json() == {"error": "Invalid container ID"}


def test_get_on_an_action_route_is_405(server: DockhandServer) -> None:
    """Row 25: the action routes only export POST; anything else is a plain-text 405."""
    for verb in ("start", "stop", "restart", "pause", "unpause"):
        response = call(server, "GET", f"/api/containers/{UNKNOWN}/{verb}?env=1")
        assert (response.status_code, response.text) == (405, "GET method not allowed")
        assert response.headers["Content-Type"].startswith("text/plain")
    assert call(server, "DELETE", f"/api/containers/{UNKNOWN}/stop").text == "DELETE method not allowed"


def test_stop_ignores_t_and_waits_for_the_containers_stop_timeout(engine: docker.DockerClient,
                                                                  server: DockhandServer, make: Make) -> None:
    """Rows 27, 28: ``?t=0`` and a body ``{"t":0}`` are ignored; the container's StopTimeout (2 s) applies."""
    container = make(stop_timeout=2)
    response, took = timed(lambda: action(server, container.name, "stop", "?env=1&t=0", json={"t": 0}))
    assert response.json() == {"success": True}
    assert 1.8 < took < 8
    assert state(engine, container)["ExitCode"] == 137


def test_stop_of_a_never_started_container(engine: docker.DockerClient, server: DockhandServer,
                                           make: Make) -> None:
    """Row 29: stop of a created container is 200 and records no event."""
    container = make(start=False)
    assert action(server, container.id, "stop").json() == {"success": True}
    engine.api.start(container.id)
    assert actions_until(server, container, "start") == ["create", "start"]


def test_remove_container(engine: docker.DockerClient, server: DockhandServer, make: Make) -> None:
    """``DELETE /api/containers/{id}`` (source, not the contract): 409 from Docker is 500; force removes."""
    container = make()
    refused = call(server, "DELETE", f"/api/containers/{container.name}?env=1")
    assert (refused.status_code, refused.json()) == (500, {"error": "Failed to remove container"})
    removed = call(server, "DELETE", f"/api/containers/{container.name}?env=1&force=true")
    assert (removed.status_code, removed.json()) == (200, {"success": True})
    with pytest.raises(NotFound):
        engine.api.inspect_container(container.id)
    assert call(server, "DELETE", f"/api/containers/{UNKNOWN}?env=1").json() == {"success": True}
    assert call(server, "DELETE", f"/api/containers/{UNKNOWN}").json() == {"error": "Failed to remove container"}


def test_update_runtime_changes_restart_policy_and_limits_in_place(engine: docker.DockerClient,
                                                                   server: DockhandServer, make: Make) -> None:
    """Section (e) 18: Docker's update fields pass, others are dropped; the container keeps running."""
    container = make()
    started_at = state(engine, container)["StartedAt"]
    body = {"RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0}, "Memory": 64 * 2**20,
            "MemorySwap": 128 * 2**20, "NanoCpus": 500_000_000, "Env": ["DROPPED=1"], "Image": "other"}
    response = call(server, "POST", f"/api/containers/{container.name}/update-runtime?env=1", json=body)
    assert (response.status_code, response.json()) == (200, {"success": True, "warnings": []})
    details = engine.api.inspect_container(container.id)
    host = details["HostConfig"]
    assert (host["RestartPolicy"]["Name"], host["Memory"], host["MemorySwap"], host["NanoCpus"]) == (
        "unless-stopped", 64 * 2**20, 128 * 2**20, 500_000_000)
    assert "DROPPED=1" not in (details["Config"]["Env"] or []) and details["Config"]["Image"] == IMAGE
    assert (details["State"]["Running"], details["State"]["StartedAt"]) == (True, started_at)

    path = f"/api/containers/{container.id}/update-runtime?env=1"
    not_json = call(server, "POST", path, data="{", headers={"Content-Type": "application/json"})
    assert (not_json.status_code, not_json.json()) == (400, {"error": "Invalid JSON body"})
    nothing = call(server, "POST", path, json={"Env": ["A=1"]})
    assert nothing.status_code == 400 and nothing.json()["error"] == "No supported fields provided"
    assert "RestartPolicy" in nothing.json()["supportedFields"] and "Env" not in nothing.json()["supportedFields"]
    unknown = call(server, "POST", f"/api/containers/{UNKNOWN}/update-runtime?env=1", json={"Memory": 2**26})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Container not found"})
    refused = call(server, "POST", path, json={"Memory": 1024})
    assert refused.status_code == 500 and "memory" in refused.json()["error"].lower()
    assert call(server, "POST", f"/api/containers/{container.id}/update-runtime", json={"Memory": 2**26}
                ).status_code == 500
    assert call(server, "POST", "/api/containers/a..b/update-runtime?env=1", json={"Memory": 2**26}).json() == {
        "error": "Invalid container ID"}


# --------------------------------------------------------------------------- batch


def test_batch_in_json_mode_only_counts(engine: docker.DockerClient, server: DockhandServer, make: Make) -> None:
    """Row 43: ``Accept: application/json`` runs the batch synchronously and returns only the summary."""
    running, stopped = make(), make(start=False)
    items = [{"id": running.id, "name": running.name}, {"id": stopped.id, "name": stopped.name},
             {"id": UNKNOWN, "name": UNKNOWN}]
    response = call(server, "POST", "/api/batch?env=1", headers={"Accept": "application/json"},
                    json={"operation": "pause", "entityType": "containers", "items": items})
    assert response.status_code == 200
    assert response.json() == {"type": "complete", "summary": {"total": 3, "success": 1, "failed": 2}}
    assert state(engine, running)["Paused"] is True


def test_batch_job_reports_dockers_errors(server: DockhandServer, make: Make) -> None:
    """Row 44: without JSON Accept the batch is a job; its progress lines carry Docker's messages."""
    running = make()
    response = call(server, "POST", "/api/batch?env=1",
                    json={"operation": "unpause", "entityType": "containers",
                          "items": [{"id": running.id, "name": running.name}]})
    job_id = response.json()["jobId"]
    assert re.fullmatch(r"[0-9a-f-]{36}", job_id)
    deadline = time.monotonic() + 10
    while (job := call(server, "GET", f"/api/jobs/{job_id}").json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lines = [line["data"] for line in job["lines"]]
    assert lines[0] == {"type": "start", "total": 1}
    assert {"type": "progress", "id": running.id, "name": running.name, "status": "error",
            "error": f"Container {running.id} is not paused", "current": 1, "total": 1} in lines
    assert lines[-1] == job["result"] == {"type": "complete", "summary": {"total": 1, "success": 0, "failed": 1}}


def test_batch_remove_and_validation(engine: docker.DockerClient, server: DockhandServer, make: Make) -> None:
    """Batch ``remove`` forces by default; bad bodies are 400 with Dockhand's messages."""
    container = make()
    json_mode = {"Accept": "application/json"}
    removed = call(server, "POST", "/api/batch?env=1", headers=json_mode,
                   json={"operation": "remove", "entityType": "containers", "items": [{"id": container.id}]})
    assert removed.json()["summary"] == {"total": 1, "success": 1, "failed": 0}
    with pytest.raises(NotFound):
        engine.api.inspect_container(container.id)
    bad = {
        "not json": {"error": "Invalid JSON body"},
        json.dumps({"entityType": "images", "operation": "remove", "items": [{"id": "x"}]}):
            {"error": "Invalid entity type: images. Supported: containers"},
        json.dumps({"entityType": "containers", "operation": "explode", "items": [{"id": "x"}]}):
            {"error": "Invalid operation 'explode' for containers. Supported: start, stop, restart, pause, unpause, "
                      "remove"},
        json.dumps({"entityType": "containers", "operation": "start", "items": []}):
            {"error": "items array is required and must not be empty"},
    }
    for body, expected in bad.items():
        response = call(server, "POST", "/api/batch?env=1", data=body, headers=json_mode)
        assert (response.status_code, response.json()) == (400, expected)


# --------------------------------------------------------------------------- activity


def test_activity_records_a_stop_like_dockhand(server: DockhandServer, make: Make) -> None:
    """One API stop of busybox: kill 15, kill 9, die 137, stop, in that order, in the contract's record shape."""
    container = make()
    action(server, container.id, "stop")
    assert actions_until(server, container, "stop") == ["create", "start", "kill", "kill", "die", "stop"]
    records = list(reversed(events(server, f"containerId={container.id}")["events"]))
    record = records[-1]
    assert list(record) == ["id", "environmentId", "containerId", "containerName", "image", "action",
                            "actorAttributes", "timestamp", "createdAt", "environmentName", "environmentIcon"]
    assert (record["environmentId"], record["containerId"], record["containerName"], record["image"]) == (
        1, container.id, container.name, IMAGE)
    assert (record["environmentName"], record["environmentIcon"]) == ("local", "globe")
    assert ISO_MS.fullmatch(record["timestamp"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", record["createdAt"])
    assert record["actorAttributes"]["name"] == container.name and record["actorAttributes"]["image"] == IMAGE
    assert [r["actorAttributes"].get("signal") for r in records[2:4]] == ["15", "9"]
    assert records[4]["actorAttributes"]["exitCode"] == "137"


def test_activity_skips_no_ops_and_failures_but_sees_outside_changes(engine: docker.DockerClient,
                                                                     server: DockhandServer, make: Make) -> None:
    """No rows for start-when-running, a failed unpause or stop-when-stopped; docker CLI changes appear."""
    container = make()
    action(server, container.id, "start")
    action(server, container.id, "unpause")
    engine.api.pause(container.id)
    assert actions_until(server, container, "pause") == ["create", "start", "pause"]
    engine.api.unpause(container.id)
    action(server, container.id, "restart")
    found = actions_until(server, container, "restart")
    assert found[3:] == ["unpause", "kill", "kill", "die", "stop", "start", "restart"]


def test_health_in_the_list_and_in_activity(server: DockhandServer, make: Make) -> None:
    """``health`` comes from Docker's status string; a health change is one ``health_status`` row."""
    container = make(healthcheck={"test": ["CMD-SHELL", "exit 0"], "interval": 200_000_000})
    assert actions_until(server, container, "health_status") == ["create", "start", "health_status"]
    record = events(server, f"containerId={container.id}&actions=health_status")["events"][0]
    assert record["actorAttributes"]["healthStatus"] == "healthy"
    entry = listed(server, container)
    assert entry["health"] == "healthy" and list(entry)[8:10] == ["health", "restartCount"]


def test_activity_filters_and_paging(server: DockhandServer, make: Make) -> None:
    """containerId exact, containerName substring, actions list, date range, limit/offset, newest first.

    The history is one stop (its StopTimeout of 1 s ends in SIGKILL): Docker records its kill, kill, die, stop
    before it answers. Pause and unpause would not do: Docker 20.10 applies containerd's pause events late,
    so a quick pause, unpause, pause may record an extra unpause, refuse the next unpause as "not paused" and
    record a pause after it (seen in CI under load).
    """
    container, other = make(), make()
    assert action(server, container.id, "stop").status_code == 200
    assert actions_until(server, container, "stop") == ["create", "start", "kill", "kill", "die", "stop"]
    mine = events(server, f"containerId={container.id}")
    assert mine["total"] == 6 and (mine["limit"], mine["offset"]) == (100, 0)
    keys = [(e["timestamp"], e["id"]) for e in mine["events"]]
    assert keys == sorted(keys, reverse=True)
    assert events(server, f"containerId={container.id[:12]}")["total"] == 0

    by_name = events(server, f"containerName={container.name[3:9]}&environmentId=1")
    assert {e["containerId"] for e in by_name["events"]} == {container.id}
    assert events(server, f"containerName={container.name}&environmentId=99")["total"] == 0
    ended = events(server, f"containerId={container.id}&actions=kill,stop")
    assert ended["total"] == 3 and [e["action"] for e in ended["events"]] == ["stop", "kill", "kill"]

    page = events(server, f"containerId={container.id}&limit=2&offset=2")
    assert (page["total"], page["limit"], page["offset"]) == (6, 2, 2)
    assert [e["id"] for e in page["events"]] == [e["id"] for e in mine["events"][2:4]]
    started, first_kill = mine["events"][4]["timestamp"], mine["events"][3]["timestamp"]  # 1 s before the SIGKILL
    window = events(server, f"containerId={container.id}&fromDate={started}&toDate={first_kill}")
    assert [e["action"] for e in window["events"]] == ["kill", "start"]

    names = call(server, "GET", "/api/activity/containers?environment_id=1").json()
    assert names == sorted(names) and {container.name, other.name} <= set(names)
    stats = call(server, "GET", "/api/activity/stats?environment_id=1").json()
    total = events(server, "environmentId=1")["total"]
    later = call(server, "GET", "/api/activity/stats?environment_id=1").json()
    assert 8 <= stats["total"] <= total <= later["total"]
    assert stats["today"] == stats["total"] and stats["byAction"]["kill"] >= 2
    assert sum(stats["byAction"].values()) == stats["total"]


def test_without_a_collector_the_activity_log_stays_empty(engine: docker.DockerClient, make: Make) -> None:
    """Contract (d) 10: without Dockhand's collection-worker everything works but no event is ever recorded."""
    quiet = start_server(collector=False)
    try:
        container = make(start=False)
        assert action(quiet, container.id, "start").json() == {"success": True}
        assert state(engine, container)["Running"] is True
        assert call(quiet, "GET", "/api/environments/1").json()["collectActivity"] is True
        time.sleep(0.3)  # what a collector would have recorded by now
        assert events(quiet, "environmentId=1") == {"events": [], "total": 0, "limit": 100, "offset": 0}
    finally:
        quiet.stop()


# --------------------------------------------------------------------------- auth


def test_auth_is_off_by_default(server: DockhandServer) -> None:
    """Row 32 and the auth-off rules: session says so, login and token creation are 400, audit is 403."""
    assert call(server, "GET", "/api/auth/session").json() == {"authenticated": False, "authEnabled": False}
    refused = call(server, "POST", "/api/auth/login", json={"username": "admin", "password": PASSWORD})
    assert (refused.status_code, refused.json()) == (400, {"error": "Authentication is not enabled"})
    tokens = call(server, "POST", "/api/auth/tokens", json={"name": "ci", "password": PASSWORD})
    assert (tokens.status_code, tokens.json()) == (400, {"error": "Authentication is not enabled"})
    audit = call(server, "GET", "/api/audit")
    assert (audit.status_code, audit.json()) == (403, {"error": "Enterprise license required", "status": 403})


def test_everything_needs_credentials_when_auth_is_on(secured: DockhandServer, make: Make) -> None:
    """Row 34: no credentials, a bogus cookie, a bogus ``dh_`` token or a non-``dh_`` token: 401."""
    container = make()
    credentials: list[dict[str, str]] = [{}, {"Cookie": "dockhand_session=bogus"},
                                         {"Authorization": "Bearer dh_" + "x" * 43},
                                         {"Authorization": "Bearer not-a-dockhand-token"}]
    for headers in credentials:
        for method, path in (("POST", f"/api/containers/{container.id}/start?env=1"), ("GET", "/api/containers?env=1"),
                             ("GET", "/api/activity"), ("GET", f"/api/containers/{UNKNOWN}/start")):
            response = call(secured, method, path, headers=headers)
            assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert call(secured, "GET", "/api/auth/session").json() == {"authenticated": False, "authEnabled": True}


def test_cookie_login_session_and_logout(secured: DockhandServer, make: Make) -> None:
    """Rows 35-37, 41: login errors, the session cookie, working with it, and logout killing it."""
    wrong = call(secured, "POST", "/api/auth/login", json={"username": "admin", "password": "nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "Invalid username or password"})
    missing = call(secured, "POST", "/api/auth/login", json={"username": "admin"})
    assert (missing.status_code, missing.json()) == (400, {"error": "Username and password are required"})

    response = call(secured, "POST", "/api/auth/login", json={"username": "admin", "password": PASSWORD})
    assert response.json() == {"success": True, "user": {"id": 1, "username": "admin", "email": None,
                                                         "displayName": None, "isAdmin": True}}
    cookie = COOKIE.fullmatch(response.headers["Set-Cookie"])
    assert cookie is not None
    jar = {"Cookie": f"dockhand_session={cookie[1]}"}
    session = call(secured, "GET", "/api/auth/session", headers=jar).json()
    assert session["authenticated"] is True and session["user"]["username"] == "admin"
    assert session["user"]["permissions"]["containers"][:3] == ["view", "create", "start"]
    container = make(start=False)
    assert action(secured, container.id, "start", headers=jar).json() == {"success": True}

    out = call(secured, "POST", "/api/auth/logout", headers=jar)
    assert out.json() == {"success": True} and out.headers["Set-Cookie"].startswith("dockhand_session=; Max-Age=0")
    assert call(secured, "GET", "/api/containers?env=1", headers=jar).status_code == 401


def test_api_tokens(engine: docker.DockerClient, secured: DockhandServer, make: Make) -> None:
    """Rows 38-40: a token needs a cookie session and the password; Bearer works everywhere but cannot mint."""
    session = login(secured)
    url = secured.url + "/api/auth/tokens"
    no_password = session.post(url, json={"name": "ci"})
    assert (no_password.status_code, no_password.json()) == (
        400, {"error": "Password is required to create an API token"})
    wrong = session.post(url, json={"name": "ci", "password": "nope"})
    assert (wrong.status_code, wrong.json()) == (403, {"error": "Invalid password"})
    created = session.post(url, json={"name": "ci", "password": PASSWORD})
    assert created.status_code == 201 and list(created.json()) == ["id", "token", "tokenPrefix"]
    token = created.json()["token"]
    assert re.fullmatch(r"dh_[A-Za-z0-9_-]{43}", token) and created.json()["tokenPrefix"] == token[3:11]

    bearer = {"Authorization": f"Bearer {token}"}
    container = make()
    assert action(secured, container.id, "stop", headers=bearer).json() == {"success": True}
    assert action(secured, container.id, "start", headers=bearer).json() == {"success": True}
    assert state(engine, container)["Running"] is True
    minted = call(secured, "POST", "/api/auth/tokens", headers=bearer, json={"name": "x", "password": PASSWORD})
    assert (minted.status_code, minted.json()) == (
        403, {"error": "Token creation requires a session login, not a Bearer token"})
    assert call(secured, "GET", "/api/auth/session", headers=bearer).json()["authenticated"] is False


def test_each_login_is_a_session_until_logout(secured: DockhandServer) -> None:
    """Section (e) 19: every login adds a live session; logout ends it (``/__admin/sessions`` counts them)."""
    first, second = login(secured), login(secured)
    assert secured.sessions() == 2
    assert requests.get(secured.url + "/__admin/sessions", timeout=10).json() == {"sessions": 2}
    assert first.post(secured.url + "/api/auth/logout").json() == {"success": True}
    assert secured.sessions() == 1
    assert second.get(secured.url + "/api/containers?env=1").status_code == 200
    assert first.get(secured.url + "/api/containers?env=1").status_code == 401


def test_expired_sessions_force_a_new_login(secured: DockhandServer) -> None:
    """Sessions can be expired by the test helper or over HTTP; logging in again works."""
    session = login(secured)
    assert session.get(secured.url + "/api/containers?env=1").status_code == 200
    assert secured.expire_sessions() == 1
    assert session.get(secured.url + "/api/containers?env=1").json() == UNAUTHORIZED
    session = login(secured)
    assert requests.post(secured.url + "/__admin/expire-sessions", timeout=10).json() == {"expired": 1}
    assert session.get(secured.url + "/api/environments").status_code == 401


def test_login_lockout_after_five_failures(secured: DockhandServer) -> None:
    """Five failures per IP and username lock that pair out (429), even for the right password."""
    for _ in range(5):
        assert call(secured, "POST", "/api/auth/login", json={"username": "admin", "password": "x"}).status_code == 401
    locked = call(secured, "POST", "/api/auth/login", json={"username": "admin", "password": PASSWORD})
    assert locked.status_code == 429
    assert re.fullmatch(r"Too many login attempts\. Please try again in (8\d\d|900) seconds\.", locked.json()["error"])
    other = call(secured, "POST", "/api/auth/login", json={"username": "root", "password": "x"})
    assert other.status_code == 401
    secured.reset()
    login(secured)


def test_bearer_cooldown_after_fifteen_failures(secured: DockhandServer) -> None:
    """The 15th bad Bearer token in a minute starts a 5-minute cooldown (429, Retry-After 300); cookies still work."""
    session = login(secured)
    token = session.post(secured.url + "/api/auth/tokens", json={"name": "ci", "password": PASSWORD}).json()["token"]
    bogus = {"Authorization": "Bearer dh_" + "y" * 43}
    for _ in range(15):
        assert call(secured, "GET", "/api/environments", headers=bogus).status_code == 401
    for headers in (bogus, {"Authorization": f"Bearer {token}"}):
        blocked = call(secured, "GET", "/api/environments", headers=headers)
        assert (blocked.status_code, blocked.json()) == (429, {"error": "Too many failed authentication attempts"})
        assert blocked.headers["Retry-After"] == "300"
    assert session.get(secured.url + "/api/environments").status_code == 200
    assert session.get(secured.url + "/api/environments", headers=bogus).status_code == 200
    secured.reset()
    assert call(secured, "GET", "/api/environments", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_request_log_shows_what_was_sent_without_secrets(secured: DockhandServer) -> None:
    """``/__admin/requests``: method, path, query, auth outcome, status; never passwords, tokens or cookies."""
    session = login(secured)
    token = session.post(secured.url + "/api/auth/tokens", json={"name": "ci", "password": PASSWORD}).json()["token"]
    session.get(secured.url + "/api/containers", params={"env": "1", "all": "false"})
    call(secured, "GET", "/api/environments", headers={"Authorization": f"Bearer {token}"})
    call(secured, "GET", "/api/environments", headers={"Authorization": "Bearer nope"})
    call(secured, "GET", "/api/environments")
    log = requests.get(secured.url + "/__admin/requests", timeout=10).json()
    assert log == secured.requests()
    assert [(e["method"], e["path"], e["auth"], e["status"]) for e in log] == [
        ("POST", "/api/auth/login", "none", 200),
        ("POST", "/api/auth/tokens", "cookie", 201),
        ("GET", "/api/containers", "cookie", 200),
        ("GET", "/api/environments", "bearer", 200),
        ("GET", "/api/environments", "invalid", 401),
        ("GET", "/api/environments", "none", 401),
    ]
    assert log[2]["query"] == {"env": "1", "all": "false"}
    dumped = json.dumps(log)
    assert PASSWORD not in dumped and token not in dumped
    assert session.cookies["dockhand_session"] not in dumped
    assert requests.post(secured.url + "/__admin/reset", timeout=10).json() == {"success": True}
    assert secured.requests() == []


# --------------------------------------------------------------------------- command line


def test_command_line_serves_until_killed() -> None:
    """``python tests/servers/dockhand.py --port 0 --auth ...`` prints LISTENING and serves until terminated."""
    process = subprocess.Popen(
        [sys.executable, "tests/servers/dockhand.py", "--host", "127.0.0.1", "--port", "0", "--auth",
         "--username", "ops", "--password", PASSWORD],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        match = re.fullmatch(r"LISTENING (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        url = match[1]
        assert requests.get(url + "/api/environments", timeout=10).status_code == 401
        logged_in = requests.post(url + "/api/auth/login", json={"username": "ops", "password": PASSWORD}, timeout=10)
        assert logged_in.json()["user"]["username"] == "ops"
        assert requests.get(url + "/api/environments", cookies=logged_in.cookies, timeout=10).json()[0]["id"] == 1
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0
