"""The Hoody test server (tests/servers/hoody.py) against the real Docker engine.

Containers are named ``hs-*``, carry a ``hoody.project`` label unique to this run, and are removed
by the fixtures. Operations are asynchronous, so every check of their effect polls.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import docker
import pytest
import requests
from docker.errors import NotFound

from tests.servers.hoody import HoodyServer, start_server

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[3]
IMAGE = "containerops/busybox:test"
LABEL = "hoody.project"
PROJECT = secrets.token_hex(12)
ADMIN = f"admin-{secrets.token_hex(8)}"
READONLY = f"ro-{secrets.token_hex(8)}"
ACCEPT_DELAY = 0.3
STOP_TIMEOUT = 2  # seconds; the image ignores SIGTERM, so a graceful stop takes exactly this long
MISSING_ID = "0" * 24
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@dataclass
class Box:
    """A test container: Docker id, Hoody id, name."""

    docker_id: str
    id: str
    name: str


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hoody") / "status-logs.sqlite"


@pytest.fixture(scope="module")
def server(db_path: Path) -> Iterator[HoodyServer]:
    srv = start_server(token=ADMIN, readonly_token=READONLY, db=str(db_path), accept_delay=ACCEPT_DELAY)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _clean_server(server: HoodyServer) -> None:
    server.admin("reset", {})


@pytest.fixture
def make(engine: docker.DockerClient) -> Iterator[Callable[..., Box]]:
    """Create ``hs-*`` containers (running, paused or created=stopped); removed afterwards."""
    made: list[str] = []

    def create(
        state: str = "running",
        name: Optional[str] = None,
        env: Optional[dict[str, str]] = None,
        restart_policy: Optional[dict[str, Any]] = None,
    ) -> Box:
        name = name or f"hs-{secrets.token_hex(4)}"
        host_config = engine.api.create_host_config(restart_policy=restart_policy) if restart_policy else None
        info = engine.api.create_container(
            IMAGE,
            name=name,
            labels={LABEL: PROJECT},
            environment=env,
            stop_timeout=STOP_TIMEOUT,
            host_config=host_config,
        )
        made.append(info["Id"])
        if state in ("running", "paused"):
            engine.api.start(info["Id"])
        if state == "paused":
            engine.api.pause(info["Id"])
        return Box(info["Id"], info["Id"][:24], name)

    yield create
    for docker_id in made:
        with contextlib.suppress(NotFound):
            engine.api.remove_container(docker_id, force=True)


def call(server: HoodyServer, method: str, path: str, token: Optional[str] = ADMIN, **kwargs: Any) -> requests.Response:
    """One API request with a bearer token (``token=None``: no Authorization header)."""
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    return requests.request(method, f"{server.url}/api/v1{path}", headers=headers, timeout=30, **kwargs)


def status_of(server: HoodyServer, cid: str) -> str:
    return call(server, "GET", f"/containers/{cid}").json()["data"]["status"]


def wait_until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def wait_status(server: HoodyServer, cid: str, status: str) -> None:
    wait_until(lambda: status_of(server, cid) == status)


def logs(server: HoodyServer, cid: str, **params: Any) -> dict[str, Any]:
    response = call(server, "GET", f"/containers/{cid}/status-logs", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def docker_state(engine: docker.DockerClient, box: Box) -> dict[str, Any]:
    return engine.api.inspect_container(box.docker_id)["State"]


def assert_error(response: requests.Response, status: int, code: Optional[str] = None) -> dict[str, Any]:
    """The error envelope: statusCode, error (reason phrase), message and, when given, code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    assert "data" not in body or isinstance(body["data"], list)
    if code is not None:
        assert body["code"] == code
    return body


# ---------------------------------------------------------------- auth and ids


def test_auth_missing_malformed_invalid_and_readonly(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make()
    path = f"/containers/{box.id}"
    assert_error(call(server, "GET", path, token=None), 401, "MISSING_TOKEN")
    assert_error(call(server, "GET", path, token="wrong"), 401, "INVALID_TOKEN")
    for header in (f"bearer {ADMIN}", f"Bearer  {ADMIN}", ADMIN, f"Token {ADMIN}"):
        assert_error(call(server, "GET", path, headers={"Authorization": header}), 401)
    assert call(server, "GET", path, token=READONLY).status_code == 200
    assert call(server, "GET", "/containers/", token=READONLY).status_code == 200
    assert_error(call(server, "POST", f"{path}/stop", token=READONLY), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(call(server, "DELETE", path, token=READONLY), 403, "INSUFFICIENT_PERMISSIONS")
    time.sleep(ACCEPT_DELAY * 3)
    assert docker_state(engine, box)["Running"]
    assert logs(server, box.id)["pagination"]["total"] == 0


@pytest.mark.parametrize("bad", ["xyz", "0" * 23, "0" * 25, "A" * 24, "g" * 24])
def test_malformed_id_is_400_invalid_id_format(server: HoodyServer, bad: str) -> None:
    for method, path in (
        ("GET", f"/containers/{bad}"),
        ("DELETE", f"/containers/{bad}"),
        ("POST", f"/containers/{bad}/start"),
        ("GET", f"/containers/{bad}/status-logs"),
        ("GET", f"/projects/{bad}/containers"),
    ):
        assert_error(call(server, method, path), 400, "INVALID_ID_FORMAT")


def test_unknown_container_is_404(server: HoodyServer, make: Callable[..., Box]) -> None:
    existing = make().id
    for method, path in (
        ("GET", f"/containers/{MISSING_ID}"),
        ("DELETE", f"/containers/{MISSING_ID}"),
        ("POST", f"/containers/{MISSING_ID}/start"),
        ("GET", f"/containers/{MISSING_ID}/status-logs"),
    ):
        assert_error(call(server, method, path), 404)
    assert call(server, "GET", f"/containers/{existing}").status_code == 200


def test_container_without_project_label_is_invisible(server: HoodyServer, engine: docker.DockerClient) -> None:
    info = engine.api.create_container(IMAGE, name=f"hs-{secrets.token_hex(4)}", labels={LABEL: "not-hex"})
    try:
        assert_error(call(server, "GET", f"/containers/{info['Id'][:24]}"), 404)
    finally:
        engine.api.remove_container(info["Id"], force=True)


# ---------------------------------------------------------------- get and list


def test_get_maps_docker_fields_without_caching(server: HoodyServer, make: Callable[..., Box]) -> None:
    box = make("stopped", env={"FOO": "bar", "EMPTY": ""}, restart_policy={"Name": "unless-stopped"})
    response = call(server, "GET", f"/containers/{box.id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"statusCode", "message", "data"} and body["statusCode"] == 200
    data = body["data"]
    assert data["id"] == box.id and data["name"] == box.name and data["project_id"] == PROJECT
    assert data["status"] == "stopped" and data["autostart"] is True
    assert data["container_image"] == IMAGE
    assert data["environment_vars"] == {"PATH": "/bin", "FOO": "bar", "EMPTY": ""}
    assert ISO_MS.fullmatch(data["created_at"]) and ISO_MS.fullmatch(data["updated_at"])
    assert data["updated_at"] >= data["created_at"]
    running = call(server, "GET", f"/containers/{make().id}").json()["data"]
    assert running["status"] == "running" and running["autostart"] is False


def test_list_trailing_slash_pagination_and_sorting(server: HoodyServer, make: Callable[..., Box]) -> None:
    prefix = f"hs-{secrets.token_hex(3)}"
    boxes = [make(name=f"{prefix}-{letter}") for letter in "abc"]
    assert_error(call(server, "GET", "/containers"), 404)
    assert_error(call(server, "GET", f"/projects/{PROJECT}/containers/"), 404)

    seen: list[str] = []
    page = 1
    while True:
        data = call(server, "GET", "/containers/", params={"limit": 100, "page": page}).json()["data"]
        seen += [item["id"] for item in data["containers"]]
        if page >= data["pagination"]["totalPages"]:
            break
        page += 1
    assert {box.id for box in boxes} <= set(seen)

    project = f"/projects/{PROJECT}/containers"
    first = call(server, "GET", project, params={"limit": 2, "sort_by": "name", "sort_order": "asc"}).json()["data"]
    assert [item["name"] for item in first["containers"]] == [f"{prefix}-a", f"{prefix}-b"]
    assert first["pagination"] == {"total": 3, "page": 1, "limit": 2, "totalPages": 2}
    second = call(
        server, "GET", project, params={"limit": 2, "page": 2, "sort_by": "name", "sort_order": "asc"}
    ).json()["data"]
    assert [item["name"] for item in second["containers"]] == [f"{prefix}-c"]
    newest_first = call(server, "GET", project).json()["data"]  # default: created_at desc, limit 50
    assert [item["id"] for item in newest_first["containers"]] == [box.id for box in reversed(boxes)]
    assert newest_first["pagination"]["limit"] == 50
    by_id = call(server, "GET", project, params={"sort_by": "id", "sort_order": "asc"}).json()["data"]
    assert [item["id"] for item in by_id["containers"]] == sorted(box.id for box in boxes)
    beyond = call(server, "GET", project, params={"page": 9}).json()["data"]
    assert beyond["containers"] == [] and beyond["pagination"]["total"] == 3
    empty = call(server, "GET", f"/projects/{MISSING_ID}/containers").json()["data"]
    assert empty == {"containers": [], "pagination": {"total": 0, "page": 1, "limit": 50, "totalPages": 0}}


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": "x"},
        {"limit": 0},
        {"limit": 101},
        {"limit": "1.5"},
        {"sort_by": "size"},
        {"sort_order": "up"},
        {"include_deleting": "yes"},
    ],
)
def test_list_rejects_bad_query_values(server: HoodyServer, params: dict[str, Any]) -> None:
    assert_error(call(server, "GET", "/containers/", params=params), 400)
    assert_error(call(server, "GET", f"/projects/{PROJECT}/containers", params=params), 400)


# ---------------------------------------------------------------- operations


def started_at(engine: docker.DockerClient, box: Box) -> str:
    return docker_state(engine, box)["StartedAt"]


@pytest.mark.parametrize(
    ("initial", "operation", "final"),
    [
        ("stopped", "start", "running"),
        ("running", "stop", "stopped"),
        ("running", "force-stop", "stopped"),
        ("running", "restart", "running"),
        ("running", "pause", "paused"),
        ("paused", "resume", "running"),
    ],
)
def test_operation_is_async_and_really_changes_docker(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient, initial: str, operation: str, final: str
) -> None:
    box = make(initial)
    before = started_at(engine, box)
    response = call(server, "POST", f"/containers/{box.id}/{operation}")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["operation"] == operation and data["container_id"] == box.id and data["project_id"] == PROJECT
    assert data["status"] == initial and data["message"]
    assert "error" not in data
    assert status_of(server, box.id) == initial  # accepted, not done yet: clients must poll

    newest = wait_until(lambda: logs(server, box.id)["logs"])[0]  # the row is written as the status changes
    assert status_of(server, box.id) == final
    state = docker_state(engine, box)
    assert (newest["from_status"], newest["to_status"]) == (initial, final)
    assert newest["metadata"] == {"command": operation} and newest["triggered_by"] == "user"
    if operation in ("start", "resume"):
        assert state["Status"] == "running" and not state["Paused"]
    elif operation == "stop":  # no ``t`` sent: Docker waits the container's StopTimeout, then kills
        assert state["Status"] == "exited" and state["ExitCode"] == 137
        assert STOP_TIMEOUT * 1000 <= newest["duration_ms"] < STOP_TIMEOUT * 4000
    elif operation == "force-stop":
        assert state["Status"] == "exited" and state["ExitCode"] == 137
        assert newest["duration_ms"] < STOP_TIMEOUT * 1000
    elif operation == "restart":
        assert state["Status"] == "running" and state["StartedAt"] != before
        assert newest["duration_ms"] >= STOP_TIMEOUT * 1000
    else:
        assert state["Status"] == "paused"


@pytest.mark.parametrize(
    ("initial", "operation"),
    [
        ("stopped", "stop"),
        ("stopped", "force-stop"),
        ("stopped", "pause"),
        ("stopped", "resume"),
        ("running", "start"),
        ("running", "resume"),
        ("paused", "stop"),
        ("paused", "start"),
        ("paused", "pause"),
    ],
)
def test_disallowed_operation_is_409_and_changes_nothing(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient, initial: str, operation: str
) -> None:
    box = make(initial)
    state = docker_state(engine, box)["Status"]
    assert_error(call(server, "POST", f"/containers/{box.id}/{operation}"), 409)
    time.sleep(ACCEPT_DELAY * 2)
    assert docker_state(engine, box)["Status"] == state
    assert logs(server, box.id)["pagination"]["total"] == 0


def test_invalid_state_variants_400_and_data_error(server: HoodyServer, make: Callable[..., Box]) -> None:
    box = make("stopped")
    server.admin("faults", {"invalid_state": 400})
    assert_error(call(server, "POST", f"/containers/{box.id}/stop"), 400)
    server.admin("faults", {"invalid_state": "data_error"})
    response = call(server, "POST", f"/containers/{box.id}/stop")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["error"] is True and data["operation"] == "stop" and data["status"] == "stopped"
    assert data["container_id"] == box.id and data["message"]
    assert status_of(server, box.id) == "stopped"


def test_unknown_operation_is_400(server: HoodyServer, make: Callable[..., Box]) -> None:
    box = make()
    assert_error(call(server, "POST", f"/containers/{box.id}/explode"), 400)
    assert_error(call(server, "POST", f"/containers/{box.id}/status-logs"), 400)


def test_docker_call_waits_for_the_acceptance_delay(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make()
    server.admin("faults", {"accept_delay": 1.0})
    accepted = time.monotonic()
    assert call(server, "POST", f"/containers/{box.id}/pause").status_code == 200
    time.sleep(0.6)
    assert docker_state(engine, box)["Status"] == "running"
    assert status_of(server, box.id) == "running"
    wait_status(server, box.id, "paused")
    assert time.monotonic() - accepted >= 1.0
    assert docker_state(engine, box)["Status"] == "paused"


def test_second_operation_while_one_is_pending_is_rejected(server: HoodyServer, make: Callable[..., Box]) -> None:
    box = make()
    assert call(server, "POST", f"/containers/{box.id}/stop").status_code == 200
    assert_error(call(server, "POST", f"/containers/{box.id}/stop"), 409)
    assert_error(call(server, "POST", f"/containers/{box.id}/pause"), 409)
    wait_status(server, box.id, "stopped")
    assert logs(server, box.id)["pagination"]["total"] == 1


def test_failing_docker_call_leaves_container_failed(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make()
    server.admin("faults", {"accept_delay": 1.0})
    assert call(server, "POST", f"/containers/{box.id}/pause").status_code == 200
    engine.api.kill(box.docker_id)  # before the server pauses it: Docker refuses to pause a stopped container
    assert status_of(server, box.id) == "running"  # held while the operation is pending
    wait_status(server, box.id, "failed")
    newest = logs(server, box.id, limit=1)["logs"][0]
    assert (newest["from_status"], newest["to_status"], newest["triggered_by"]) == ("running", "failed", "user")
    assert newest["metadata"]["command"] == "pause" and newest["metadata"]["error"]
    for operation in ("start", "stop", "resume"):
        assert_error(call(server, "POST", f"/containers/{box.id}/{operation}"), 409)


# ---------------------------------------------------------------- status logs


def test_status_logs_are_recorded_paged_and_sorted(
    server: HoodyServer, make: Callable[..., Box], db_path: Path
) -> None:
    box = make("stopped")
    for operation, status in (("start", "running"), ("pause", "paused"), ("resume", "running")):
        assert call(server, "POST", f"/containers/{box.id}/{operation}").status_code == 200
        wait_status(server, box.id, status)

    data = logs(server, box.id)
    assert data["pagination"] == {"total": 3, "page": 1, "limit": 10, "totalPages": 1}
    assert [log["metadata"]["command"] for log in data["logs"]] == ["resume", "pause", "start"]
    for log in data["logs"]:
        assert set(log) == {
            "id",
            "container_id",
            "from_status",
            "to_status",
            "transition_time",
            "duration_ms",
            "triggered_by",
            "metadata",
        }
        assert re.fullmatch(r"[0-9a-f]{24}", log["id"]) and log["container_id"] == box.id
        assert ISO_MS.fullmatch(log["transition_time"]) and log["triggered_by"] == "user"
        assert isinstance(log["duration_ms"], int) and 0 <= log["duration_ms"] < 5000
    assert len({log["id"] for log in data["logs"]}) == 3

    second = logs(server, box.id, limit=1, page=2)
    assert [log["metadata"]["command"] for log in second["logs"]] == ["pause"]
    assert second["pagination"] == {"total": 3, "page": 2, "limit": 1, "totalPages": 3}
    oldest_first = logs(server, box.id, sort_order="asc")["logs"]
    assert [log["metadata"]["command"] for log in oldest_first] == ["start", "pause", "resume"]
    by_to = logs(server, box.id, sort_by="to_status", sort_order="asc")["logs"]
    assert [log["to_status"] for log in by_to] == ["paused", "running", "running"]
    by_from = logs(server, box.id, sort_by="from_status", sort_order="desc")["logs"]
    assert [log["from_status"] for log in by_from] == ["stopped", "running", "paused"]
    by_created = logs(server, box.id, sort_by="created_at", sort_order="asc")["logs"]
    assert by_created == oldest_first

    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT to_status FROM status_logs WHERE container_id = ? ORDER BY seq", (box.id,))
        assert [row[0] for row in rows] == ["running", "paused", "running"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"page": 0},
        {"sort_by": "duration_ms"},
        {"sort_order": "newest"},
    ],
)
def test_status_logs_reject_bad_query_values(server: HoodyServer, params: dict[str, Any]) -> None:
    assert_error(call(server, "GET", f"/containers/{MISSING_ID}/status-logs", params=params), 400)  # before 404


# ---------------------------------------------------------------- delete


def test_delete_goes_through_deleting_to_404(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make("stopped")
    response = call(server, "DELETE", f"/containers/{box.id}")
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert status_of(server, box.id) == "deleting"
    project = f"/projects/{PROJECT}/containers"
    assert box.id not in [item["id"] for item in call(server, "GET", project).json()["data"]["containers"]]
    listed = call(server, "GET", project, params={"include_deleting": "true"}).json()["data"]["containers"]
    assert [item["status"] for item in listed if item["id"] == box.id] == ["deleting"]
    assert_error(call(server, "POST", f"/containers/{box.id}/start"), 409)

    wait_until(lambda: call(server, "GET", f"/containers/{box.id}").status_code == 404)
    with pytest.raises(NotFound):
        engine.api.inspect_container(box.docker_id)
    newest = logs(server, box.id, limit=1)["logs"][0]
    assert (newest["from_status"], newest["to_status"]) == ("stopped", "deleted")
    assert newest["metadata"] == {"command": "delete"}


def test_delete_of_running_container_is_refused(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make()
    assert_error(call(server, "DELETE", f"/containers/{box.id}"), 409)
    time.sleep(ACCEPT_DELAY * 2)
    assert docker_state(engine, box)["Running"]


# ---------------------------------------------------------------- faults


def test_503_burst_then_recovery(server: HoodyServer, make: Callable[..., Box]) -> None:
    box = make()
    server.admin("faults", {"status_503": 2})
    assert_error(call(server, "GET", f"/containers/{box.id}"), 503)
    assert_error(call(server, "GET", f"/containers/{box.id}", token=None), 503)  # faults come before auth
    assert call(server, "GET", f"/containers/{box.id}").status_code == 200


def test_faults_restricted_to_post_leave_get_alone(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make("stopped")
    server.admin("faults", {"status_503": 1, "only_methods": ["post"]})
    assert call(server, "GET", f"/containers/{box.id}").status_code == 200
    assert_error(call(server, "POST", f"/containers/{box.id}/start"), 503)
    time.sleep(ACCEPT_DELAY * 2)
    assert docker_state(engine, box)["Status"] == "created"
    posts = [entry for entry in server.requests_log() if entry["method"] == "POST"]
    assert [(entry["fault"], entry["status"]) for entry in posts] == [("status_503", 503)]


def test_429_with_retry_after(server: HoodyServer, make: Callable[..., Box]) -> None:
    box = make()
    server.admin("faults", {"status_429": 1, "retry_after": 7})
    response = call(server, "GET", f"/containers/{box.id}")
    assert_error(response, 429)
    assert response.headers["Retry-After"] == "7"
    assert call(server, "GET", f"/containers/{box.id}").status_code == 200


def test_delay_slows_every_request(server: HoodyServer, make: Callable[..., Box]) -> None:
    box = make()
    server.admin("faults", {"delay_ms": 400})
    for _ in range(2):
        started = time.monotonic()
        assert call(server, "GET", f"/containers/{box.id}").status_code == 200
        assert time.monotonic() - started >= 0.4
    server.admin("faults", {"delay_ms": 0})
    started = time.monotonic()
    call(server, "GET", f"/containers/{box.id}")
    assert time.monotonic() - started < 0.4


def test_dropped_connection_is_a_connection_error(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make("stopped")
    server.admin("faults", {"drop": 1})
    with pytest.raises(requests.ConnectionError) as caught:
        call(server, "GET", f"/containers/{box.id}")
    assert not isinstance(caught.value, requests.Timeout)
    assert call(server, "GET", f"/containers/{box.id}").status_code == 200

    server.admin("faults", {"drop": 1, "only_methods": ["POST"]})
    with requests.Session() as session:  # a kept-alive connection is dropped too
        session.headers["Authorization"] = f"Bearer {ADMIN}"
        assert session.get(f"{server.url}/api/v1/containers/{box.id}", timeout=10).status_code == 200
        with pytest.raises(requests.ConnectionError):
            session.post(f"{server.url}/api/v1/containers/{box.id}/start", timeout=10)
    time.sleep(ACCEPT_DELAY * 2)
    assert docker_state(engine, box)["Status"] == "created"  # dropped before it was processed
    entries = [(entry["method"], entry["fault"], entry["status"]) for entry in server.requests_log()]
    assert entries == [("GET", "drop", None), ("GET", None, 200), ("GET", None, 200), ("POST", "drop", None)]


def test_forced_failed(server: HoodyServer, make: Callable[..., Box]) -> None:
    box = make()
    forced = server.admin(f"fail/{box.id}")
    assert forced["status"] == "failed"
    assert status_of(server, box.id) == "failed"
    newest = logs(server, box.id, limit=1)["logs"][0]
    assert (newest["from_status"], newest["to_status"], newest["triggered_by"]) == ("running", "failed", "system")
    assert newest["duration_ms"] is None
    for operation in ("start", "stop", "force-stop", "restart", "pause", "resume"):
        assert_error(call(server, "POST", f"/containers/{box.id}/{operation}"), 409)
    assert call(server, "DELETE", f"/containers/{box.id}").status_code == 200
    wait_until(lambda: call(server, "GET", f"/containers/{box.id}").status_code == 404)


def test_admin_api_validates_and_resets(server: HoodyServer) -> None:
    for bad in (
        {"bogus": 1},
        {"status_503": -1},
        {"invalid_state": 500},
        {"only_methods": "GET"},
        {"accept_delay": "soon"},
    ):
        assert requests.post(f"{server.url}/__admin/faults", json=bad, timeout=10).status_code == 400
    assert server.admin("faults", {"status_503": 3})["status_503"] == 3
    assert server.admin("reset", {})["status_503"] == 0
    assert requests.post(f"{server.url}/__admin/fail/{MISSING_ID}", timeout=10).status_code == 404


def test_request_log_redacts_authorization(server: HoodyServer, make: Callable[..., Box]) -> None:
    box = make()
    path = f"/containers/{box.id}"
    call(server, "GET", path, params={"runtime": "true"})
    call(server, "GET", path, token=READONLY)
    call(server, "GET", path, token="nope")
    call(server, "GET", path, headers={"Authorization": f"Basic {ADMIN}"})
    call(server, "GET", path, token=None)
    log = server.requests_log()
    assert [entry["auth"] for entry in log] == ["admin", "readonly", "invalid", "malformed", "missing"]
    assert [entry["status"] for entry in log] == [200, 200, 401, 401, 401]
    assert log[0]["path"] == f"/api/v1{path}" and log[0]["query"] == {"runtime": "true"}
    dumped = json.dumps(log)
    assert ADMIN not in dumped and READONLY not in dumped and "nope" not in dumped


# ---------------------------------------------------------------- command line


def test_command_line_server(tmp_path: Path, make: Callable[..., Box]) -> None:
    box = make()
    db = tmp_path / "cli.sqlite"
    process = subprocess.Popen(
        [
            sys.executable,
            "tests/servers/hoody.py",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--token",
            "T",
            "--readonly-token",
            "R",
            "--db",
            str(db),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        match = re.fullmatch(r"LISTENING (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        url = match.group(1)
        response = requests.get(f"{url}/api/v1/containers/{box.id}", headers={"Authorization": "Bearer R"}, timeout=10)
        assert response.json()["data"]["id"] == box.id
        denied = requests.post(
            f"{url}/api/v1/containers/{box.id}/stop", headers={"Authorization": "Bearer R"}, timeout=10
        )
        assert denied.status_code == 403
        assert db.exists()
    finally:
        process.terminate()
        process.wait(timeout=10)
