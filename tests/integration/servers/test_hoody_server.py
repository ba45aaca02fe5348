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
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import docker
import pytest
import requests
from docker.errors import NotFound

from tests.integration.conftest import web_command
from tests.servers.hoody import HEX24, HoodyServer, start_server

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
def _clean_server(server: HoodyServer) -> Iterator[None]:
    server.admin("reset", {})
    yield
    server.admin("reset", {})  # after the containers are gone: removes the snapshot images too


@pytest.fixture
def make(engine: docker.DockerClient) -> Iterator[Callable[..., Box]]:
    """Create ``hs-*`` containers (running, paused or created=stopped); removed afterwards (by Docker id, by
    name, which survives a snapshot restore, and by ``hoody.id`` label, which survives a rename too)."""
    made: list[Box] = []

    def create(
        state: str = "running",
        name: Optional[str] = None,
        env: Optional[dict[str, str]] = None,
        restart_policy: Optional[dict[str, Any]] = None,
        labels: Optional[dict[str, str]] = None,
        command: Optional[list[str]] = None,
    ) -> Box:
        name = name or f"hs-{secrets.token_hex(4)}"
        host_config = engine.api.create_host_config(restart_policy=restart_policy) if restart_policy else None
        info = engine.api.create_container(
            IMAGE,
            command,
            name=name,
            labels={**(labels or {}), LABEL: PROJECT},
            environment=env,
            stop_timeout=STOP_TIMEOUT,
            host_config=host_config,
        )
        made.append(Box(info["Id"], info["Id"][:24], name))
        if state in ("running", "paused"):
            engine.api.start(info["Id"])
        if state == "paused":
            engine.api.pause(info["Id"])
        return Box(info["Id"], info["Id"][:24], name)

    yield create
    for box in made:
        relabelled = engine.api.containers(all=True, filters={"label": f"hoody.id={box.id}"})
        for ref in (box.docker_id, box.name, *(summary["Id"] for summary in relabelled)):
            with contextlib.suppress(NotFound):
                engine.api.remove_container(ref, force=True)


@pytest.fixture
def make4(make: Callable[..., Box]) -> Callable[..., Box]:
    """Like ``make`` but named ``hs4-*`` (the containers of the update, env, snapshot and alias tests)."""
    return lambda state="running", **kwargs: make(state, name=f"hs4-{secrets.token_hex(4)}", **kwargs)


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
    assert data["environment_vars"] == {"FOO": "bar", "EMPTY": ""}  # the Hoody env: Docker's without PATH
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


def test_page_knobs_cap_pages_and_change_the_collection_once_after_a_page(
    server: HoodyServer, make: Callable[..., Box]
) -> None:
    for bad in ({"max_page_size": 0}, {"delete_after_page": {"page": 1}}, {"delete_after_page": {"page": 0, "ids": []}},
                {"log_after_page": {"page": 1, "count": 0}}, {"log_after_page": {"page": 1, "ids": []}}):
        assert requests.post(f"{server.url}/__admin/faults", json=bad, timeout=10).status_code == 400, bad
    boxes = [make("stopped") for _ in range(4)]
    project = f"/projects/{PROJECT}/containers"
    server.admin("faults", {"max_page_size": 2, "delete_after_page": {"page": 1, "ids": [boxes[3].id, boxes[0].id]}})
    first = call(server, "GET", project, params={"limit": 100}).json()["data"]
    assert [item["id"] for item in first["containers"]] == [boxes[3].id, boxes[2].id]  # newest first
    assert first["pagination"] == {"total": 4, "page": 1, "limit": 2, "totalPages": 2}
    # Of the ids, only the one served on page 1 was deleted; boxes[1] moved up onto page 1, so page 2 skips it.
    second = call(server, "GET", project, params={"limit": 100, "page": 2}).json()["data"]
    assert [item["id"] for item in second["containers"]] == [boxes[0].id]
    assert second["pagination"] == {"total": 3, "page": 2, "limit": 2, "totalPages": 2}
    assert call(server, "GET", project, params={"limit": 100}).json()["data"]["pagination"]["total"] == 3  # once
    assert server.admin("faults", method="GET")["delete_after_page"] is None

    box = boxes[1]
    assert call(server, "POST", f"/containers/{box.id}/start").status_code == 200
    wait_status(server, box.id, "running")
    server.admin("faults", {"log_after_page": {"page": 1, "count": 3}})
    assert logs(server, box.id, limit=100)["pagination"] == {"total": 1, "page": 1, "limit": 2, "totalPages": 1}
    grown = logs(server, box.id, limit=100)
    assert grown["pagination"]["total"] == 4 and logs(server, box.id)["pagination"]["total"] == 4  # once
    assert [(log["from_status"], log["to_status"], log["metadata"]) for log in grown["logs"]] == [
        ("running", "running", {"command": "restart"})] * 2


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


def hf_box(make: Callable[..., Box], state: str = "running") -> Box:
    """A container of the fault tests below (named ``hf-*``)."""
    return make(state, name=f"hf-{secrets.token_hex(4)}")


@pytest.mark.parametrize("value", ["soon", "nan", "Wed, 21 Oct 2015 07:28:00 GMT", 300])
def test_retry_after_may_be_any_text(server: HoodyServer, make: Callable[..., Box], value: Any) -> None:
    box = hf_box(make)
    server.admin("faults", {"status_429": 1, "retry_after": value})
    response = call(server, "GET", f"/containers/{box.id}")
    assert_error(response, 429)
    assert response.headers["Retry-After"] == str(value)


def test_empty_body_only_on_reads_of_one_container(server: HoodyServer, make: Callable[..., Box]) -> None:
    box = hf_box(make)
    server.admin("faults", {"empty_body": 1})
    assert call(server, "GET", "/containers/", params={"limit": 1}).json()["data"]["containers"]
    assert call(server, "GET", f"/containers/{box.id}/status-logs").json()["data"]["logs"] == []
    response = call(server, "GET", f"/containers/{box.id}")
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["Content-Type"] == "application/json"
    assert call(server, "GET", f"/containers/{box.id}").json()["data"]["id"] == box.id
    faults = [(entry["path"], entry["fault"], entry["status"]) for entry in server.requests_log()]
    assert faults[2:] == [(f"/api/v1/containers/{box.id}", "empty_body", 200),
                          (f"/api/v1/containers/{box.id}", None, 200)]


def test_bad_body_answers_after_acting_on_matching_requests(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = hf_box(make, "stopped")
    server.admin("faults", {"bad_body": 1, "bad_body_text": "<html>oops</html>", "only_methods": ["POST"],
                            "only_path": "/start"})
    assert call(server, "GET", f"/containers/{box.id}").json()["data"]["status"] == "stopped"
    response = call(server, "POST", f"/containers/{box.id}/start")
    assert (response.status_code, response.text) == (200, "<html>oops</html>")
    assert response.headers["Content-Type"].startswith("text/plain")
    wait_status(server, box.id, "running")  # the start was processed all the same
    assert docker_state(engine, box)["Running"]

    server.admin("faults", {"bad_body": 2, "bad_body_json": "a string", "bad_body_text": None, "only_methods": ["GET"],
                            "only_path": None})
    for _ in range(2):
        response = call(server, "GET", "/containers/")
        assert (response.status_code, response.json()) == (200, "a string")
    assert isinstance(call(server, "GET", "/containers/").json()["data"], dict)
    entries = [(entry["method"], entry["fault"]) for entry in server.requests_log()]
    assert entries.count(("POST", "bad_body")) == 1 and entries.count(("GET", "bad_body")) == 2


def test_drop_after_acts_then_drops_the_answer(
    server: HoodyServer, make: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = hf_box(make, "stopped")
    server.admin("faults", {"drop_after": 1, "only_methods": ["POST"]})
    with pytest.raises(requests.ConnectionError):
        call(server, "POST", f"/containers/{box.id}/start")
    wait_status(server, box.id, "running")  # processed before the connection was dropped
    assert docker_state(engine, box)["Running"]
    newest = logs(server, box.id, limit=1)["logs"][0]
    assert newest["metadata"] == {"command": "start"} and logs(server, box.id)["pagination"]["total"] == 1
    posts = [(entry["fault"], entry["status"]) for entry in server.requests_log() if entry["method"] == "POST"]
    assert posts == [("drop_after", None)]


def test_admin_api_validates_the_answer_faults(server: HoodyServer) -> None:
    for bad in ({"retry_after": -1}, {"retry_after": [1]}, {"empty_body": "1"}, {"bad_body": -2},
                {"drop_after": 1.5}, {"bad_body_text": 3}, {"only_path": ["/x"]}):
        assert requests.post(f"{server.url}/__admin/faults", json=bad, timeout=10).status_code == 400, bad
    faults = server.admin("faults", {"retry_after": "soon", "bad_body_json": {"data": [1]}, "only_path": "/x"})
    assert (faults["retry_after"], faults["bad_body_json"], faults["only_path"]) == ("soon", {"data": [1]}, "/x")
    reset = server.admin("reset", {})
    assert (reset["retry_after"], reset["bad_body_json"], reset["only_path"], reset["empty_body"]) == (1, None, None, 0)


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


# ---------------------------------------------------------------- update (PUT /containers/{id})

SNAPSHOT_NAME = re.compile(r"snap-[0-9a-f]{12}")


def docker_exec(box_name: str, script: str) -> subprocess.CompletedProcess:
    """``docker exec <name> sh -c <script>``."""
    return subprocess.run(["docker", "exec", box_name, "sh", "-c", script], capture_output=True, text=True, timeout=60)


def restart_policy(engine: docker.DockerClient, name: str) -> str:
    return engine.api.inspect_container(name)["HostConfig"]["RestartPolicy"]["Name"]


def test_update_applies_autostart_name_env_and_comment(
    server: HoodyServer, make4: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make4("stopped", env={"A": "1"})
    new_name = f"hs4-renamed-{secrets.token_hex(3)}"
    body = {"autostart": True, "environment_vars": {"B": "2"}, "comment": "blue", "name": new_name, "color": "abc"}
    response = call(server, "PUT", f"/containers/{box.id}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["message"] and response.json()["statusCode"] == 200
    data = response.json()["data"]
    assert data["id"] == box.id and data["name"] == new_name and data["autostart"] is True
    assert data["environment_vars"] == {"A": "1", "B": "2"} and data["comment"] == "blue" and data["color"] == "#ABC"
    assert data["status"] == "stopped" and data["snapshot_count"] == 0 and data["last_used_snapshot"] is None
    assert restart_policy(engine, box.docker_id) == "unless-stopped"
    assert engine.api.inspect_container(box.docker_id)["Name"] == f"/{new_name}"

    data = call(server, "PUT", f"/containers/{box.id}", json={"autostart": False, "comment": None}).json()["data"]
    assert data["autostart"] is False and data["comment"] is None and data["name"] == new_name
    assert restart_policy(engine, box.docker_id) == "no"
    assert call(server, "GET", f"/containers/{box.id}").json()["data"]["environment_vars"] == {"A": "1", "B": "2"}
    engine.api.update_container(box.docker_id, restart_policy={"Name": "always"})
    assert call(server, "GET", f"/containers/{box.id}").json()["data"]["autostart"] is True  # from Docker

    assert_error(call(server, "PUT", f"/containers/{box.id}", json={"autostart": True}, token=None), 401)
    assert_error(call(server, "PUT", f"/containers/{box.id}", json={"autostart": True}, token=READONLY), 403)
    assert_error(call(server, "PUT", f"/containers/{MISSING_ID}", json={"autostart": True}), 404)
    assert_error(call(server, "PUT", "/containers/xyz", json={"autostart": True}), 400, "INVALID_ID_FORMAT")


@pytest.mark.parametrize(
    "body",
    [
        {"autostart": "yes"},
        {"name": 5},
        {"name": ""},
        {"name": "bad name"},
        {"environment_vars": {"A": 1}},
        {"environment_vars": ["A=1"]},
        {"environment_vars": {"HOODY_TOKEN": "x"}},
        {"environment_vars": {"1BAD": "x"}},
        {"comment": 3},
        {"color": "blue"},
        {"ramdisk_scope": "world"},
        {"bogus": 1},
        ["autostart"],
    ],
)
def test_update_validation_is_400_and_changes_nothing(
    server: HoodyServer, make4: Callable[..., Box], engine: docker.DockerClient, body: Any
) -> None:
    box = make4("stopped", env={"A": "1"})
    assert_error(call(server, "PUT", f"/containers/{box.id}", json=body), 400)
    data = call(server, "GET", f"/containers/{box.id}").json()["data"]
    assert data["environment_vars"] == {"A": "1"} and data["name"] == box.name and data["comment"] is None
    assert restart_policy(engine, box.docker_id) in ("", "no")


def test_update_name_in_use_is_409(server: HoodyServer, make4: Callable[..., Box]) -> None:
    first, second = make4("stopped"), make4("stopped")
    body = {"name": second.name, "autostart": True, "comment": "not applied"}
    assert_error(call(server, "PUT", f"/containers/{first.id}", json=body), 409)
    data = call(server, "GET", f"/containers/{first.id}").json()["data"]
    assert data["name"] == first.name and data["autostart"] is False and data["comment"] is None
    assert call(server, "PUT", f"/containers/{first.id}", json={"name": first.name}).status_code == 200  # no-op


# ---------------------------------------------------------------- env


def test_env_endpoints_read_merge_set_and_delete(server: HoodyServer, make4: Callable[..., Box]) -> None:
    box = make4(env={"A": "1", "B": "2"})
    path = f"/containers/{box.id}/env"
    response = call(server, "GET", path)
    assert response.status_code == 200
    assert response.json()["data"] == {"environment_vars": {"A": "1", "B": "2"}}  # seeded from Docker, no PATH

    merged = call(server, "PUT", path, json={"B": "two", "C": "3"}).json()["data"]
    assert merged == {"environment_vars": {"A": "1", "B": "two", "C": "3"}, "synced": True}
    one = call(server, "PUT", f"{path}/D", json={"value": "x" * 32768}).json()["data"]
    assert one["environment_vars"]["D"] == "x" * 32768 and one["synced"] is True
    for _ in range(2):  # idempotent
        gone = call(server, "DELETE", f"{path}/A")
        assert gone.status_code == 200
        assert gone.json()["data"] == {"environment_vars": {"B": "two", "C": "3", "D": "x" * 32768}, "synced": True}
    assert call(server, "DELETE", f"{path}/NEVER_SET").status_code == 200
    assert call(server, "GET", path).json()["data"]["environment_vars"] == {"B": "two", "C": "3", "D": "x" * 32768}
    assert call(server, "GET", f"/containers/{box.id}").json()["data"]["environment_vars"]["C"] == "3"


def test_env_endpoint_errors(server: HoodyServer, make4: Callable[..., Box]) -> None:
    box = make4(env={"A": "1"})
    path = f"/containers/{box.id}/env"
    for method, url, body in (
        ("PUT", path, {"HOODY_TOKEN": "x"}),
        ("PUT", path, {"hoody_lower": "x"}),
        ("PUT", path, {"A": 1}),
        ("PUT", path, {"BAD-NAME": "x"}),
        ("PUT", path, ["A"]),
        ("PUT", f"{path}/HOODY_X", {"value": "x"}),
        ("PUT", f"{path}/A", {"value": 1}),
        ("PUT", f"{path}/A", {}),
        ("PUT", f"{path}/A", {"value": "x" * 32769}),
        ("DELETE", f"{path}/HOODY_X", None),
    ):
        assert_error(call(server, method, url, json=body), 400)
    assert_error(call(server, "PUT", path, data="{not json", headers={"Content-Type": "application/json"}), 400)
    assert call(server, "GET", path).json()["data"]["environment_vars"] == {"A": "1"}
    assert_error(call(server, "GET", path, token=None), 401, "MISSING_TOKEN")
    assert_error(call(server, "PUT", path, json={"B": "2"}, token="wrong"), 401, "INVALID_TOKEN")
    assert_error(call(server, "PUT", path, json={"B": "2"}, token=READONLY), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(call(server, "DELETE", f"{path}/A", token=READONLY), 403)
    assert call(server, "GET", path, token=READONLY).status_code == 200
    for method in ("GET", "PUT"):
        assert_error(call(server, method, f"/containers/{MISSING_ID}/env", json={"B": "2"}), 404)
    assert_error(call(server, "DELETE", f"/containers/{MISSING_ID}/env/A"), 404)
    assert_error(call(server, "GET", "/containers/xyz/env"), 400, "INVALID_ID_FORMAT")


def test_faults_apply_to_the_new_routes(server: HoodyServer, make4: Callable[..., Box]) -> None:
    box = make4()
    server.admin("faults", {"status_503": 1, "only_methods": ["PUT"]})
    assert call(server, "GET", f"/containers/{box.id}/env").status_code == 200
    assert_error(call(server, "PUT", f"/containers/{box.id}/env", json={"B": "2"}), 503)
    assert call(server, "GET", f"/containers/{box.id}/env").json()["data"]["environment_vars"] == {}
    server.admin("faults", {"status_429": 1, "retry_after": 3, "only_methods": None})
    response = call(server, "GET", "/proxy/aliases")
    assert_error(response, 429)
    assert response.headers["Retry-After"] == "3"
    assert call(server, "GET", f"/containers/{box.id}/snapshots").status_code == 200
    log = [(entry["method"], entry["path"], entry["status"]) for entry in server.requests_log()]
    assert log[-2:] == [("GET", "/api/v1/proxy/aliases", 429), ("GET", f"/api/v1/containers/{box.id}/snapshots", 200)]


# ---------------------------------------------------------------- snapshots


def snapshot_images(engine: docker.DockerClient, cid: str) -> list[str]:
    return [tag for image in engine.api.images(name=f"hoody-snapshots/{cid}") for tag in image["RepoTags"] or []]


def test_snapshot_create_list_alias_and_delete(
    server: HoodyServer, make4: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make4()
    path = f"/containers/{box.id}/snapshots"
    empty = call(server, "GET", path).json()["data"]
    assert empty == {
        "container_id": box.id,
        "project_id": PROJECT,
        "snapshot_count": 0,
        "max_snapshots": None,
        "snapshots": [],
    }
    response = call(server, "POST", path, json={"alias": "before upgrade", "expiry": 7})
    assert response.status_code == 200, response.text
    created = response.json()["data"]
    assert created["container_id"] == box.id and created["project_id"] == PROJECT
    first = created["snapshot"]
    assert set(first) == {"name", "alias", "created_at", "last_used_at", "expires_at", "stateful", "size"}
    assert SNAPSHOT_NAME.fullmatch(first["name"]) and first["alias"] == "before upgrade"
    assert first["stateful"] is True and isinstance(first["size"], int) and first["size"] >= 0
    assert ISO_MS.fullmatch(first["created_at"]) and first["last_used_at"] == first["created_at"]
    assert ISO_MS.fullmatch(first["expires_at"]) and first["expires_at"] > first["created_at"]
    image = engine.api.inspect_image(f"hoody-snapshots/{box.id}:{first['name']}")
    labels = image["Config"]["Labels"]
    assert labels["hoody.snapshot.container"] == box.id and labels["hoody.snapshot.name"] == first["name"]

    engine.api.stop(box.docker_id, timeout=0)
    second = call(server, "POST", path).json()["data"]["snapshot"]  # no body at all
    assert second["stateful"] is False and second["alias"] is None and second["expires_at"] is None
    listed = call(server, "GET", path).json()["data"]
    assert listed["snapshot_count"] == 2 and [s["name"] for s in listed["snapshots"]] == [first["name"], second["name"]]
    assert call(server, "GET", f"/containers/{box.id}").json()["data"]["snapshot_count"] == 2

    aliased = call(server, "PUT", f"{path}/{second['name']}/alias", json={"alias": "nightly"}).json()["data"]
    assert aliased["container_id"] == box.id and aliased["snapshot"] == {**second, "alias": "nightly"}
    cleared = call(server, "PUT", f"{path}/{second['name']}/alias", json={"alias": None}).json()["data"]
    assert cleared["snapshot"]["alias"] is None

    deleted = call(server, "DELETE", f"{path}/{first['name']}")
    assert deleted.status_code == 200
    assert deleted.json()["data"] == {"container_id": box.id, "project_id": PROJECT, "snapshot_name": first["name"]}
    assert snapshot_images(engine, box.id) == [f"hoody-snapshots/{box.id}:{second['name']}"]
    assert [s["name"] for s in call(server, "GET", path).json()["data"]["snapshots"]] == [second["name"]]
    assert_error(call(server, "DELETE", f"{path}/{first['name']}"), 404)


def test_snapshot_errors(server: HoodyServer, make4: Callable[..., Box]) -> None:
    box = make4()
    path = f"/containers/{box.id}/snapshots"
    name = call(server, "POST", path).json()["data"]["snapshot"]["name"]
    for body in ({"expiry": 0}, {"expiry": 3651}, {"expiry": "7"}, {"alias": "x" * 101}, {"alias": 5}, {"size": 1}):
        assert_error(call(server, "POST", path, json=body), 400)
    assert_error(call(server, "PUT", f"{path}/{name}/alias", json={}), 400)
    assert_error(call(server, "PUT", f"{path}/{name}/alias", json={"alias": "y" * 101}), 400)
    assert_error(call(server, "PUT", f"{path}/bad.name"), 400)
    for method, url in (("PUT", f"{path}/snap-000000000000"), ("DELETE", f"{path}/snap-000000000000")):
        assert_error(call(server, method, url), 404)
    assert_error(call(server, "PUT", f"{path}/snap-000000000000/alias", json={"alias": "x"}), 404)
    assert_error(call(server, "PUT", f"{path}/before", json=None), 404)  # aliases do not resolve as names
    for method in ("GET", "POST"):
        assert_error(call(server, method, f"/containers/{MISSING_ID}/snapshots"), 404)
        assert_error(call(server, method, "/containers/xyz/snapshots"), 400, "INVALID_ID_FORMAT")
    assert_error(call(server, "GET", path, token=None), 401, "MISSING_TOKEN")
    for method, url in (("POST", path), ("PUT", f"{path}/{name}"), ("DELETE", f"{path}/{name}")):
        assert_error(call(server, method, url, token=READONLY), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(call(server, "PUT", f"{path}/{name}/alias", json={"alias": "x"}, token=READONLY), 403)
    assert call(server, "GET", path, token=READONLY).json()["data"]["snapshot_count"] == 1

    server.admin("faults", {"max_snapshots": 1})
    limited = call(server, "POST", path)
    assert limited.status_code == 409 and limited.json()["code"] == "CONTAINER_SNAPSHOT_LIMIT"
    assert limited.json()["data"] == {"container_id": box.id, "snapshot_count": 1, "max_snapshots": 1}
    assert call(server, "GET", path).json()["data"]["max_snapshots"] == 1


def test_snapshot_conflicts_409(server: HoodyServer, make4: Callable[..., Box], engine: docker.DockerClient) -> None:
    paused = make4("paused")
    assert_error(call(server, "POST", f"/containers/{paused.id}/snapshots"), 409)
    assert docker_state(engine, paused)["Status"] == "paused"

    box = make4()
    path = f"/containers/{box.id}/snapshots"
    name = call(server, "POST", path).json()["data"]["snapshot"]["name"]
    server.admin("faults", {"snapshot_delay": 1.5})
    results: list[requests.Response] = []
    worker = threading.Thread(target=lambda: results.append(call(server, "POST", path)))
    worker.start()
    time.sleep(0.5)
    assert_error(call(server, "POST", path), 409)
    assert_error(call(server, "PUT", f"{path}/{name}"), 409)
    assert_error(call(server, "DELETE", f"{path}/{name}"), 409)
    assert_error(call(server, "POST", f"/containers/{box.id}/stop"), 409)  # the status is held meanwhile
    assert call(server, "PUT", f"{path}/{name}/alias", json={"alias": "meanwhile"}).status_code == 200
    assert call(server, "GET", path).status_code == 200
    worker.join()
    assert results[0].status_code == 200, results[0].text
    server.admin("faults", {"snapshot_delay": 0})
    assert call(server, "GET", path).json()["data"]["snapshot_count"] == 2

    assert call(server, "POST", f"/containers/{box.id}/stop").status_code == 200
    assert_error(call(server, "POST", path), 409)  # a lifecycle operation is pending
    wait_status(server, box.id, "stopped")


def test_snapshot_restore_rewinds_files_and_keeps_id_env_and_labels(
    server: HoodyServer, make4: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make4(env={"A": "1"}, labels={"team": "blue"}, restart_policy={"Name": "unless-stopped"})
    assert docker_exec(box.name, "echo before > /data.txt").returncode == 0
    path = f"/containers/{box.id}/snapshots"
    snapshot = call(server, "POST", path).json()["data"]["snapshot"]
    assert snapshot["stateful"] is True
    assert docker_exec(box.name, "echo after > /data.txt && echo new > /after.txt").returncode == 0
    call(server, "PUT", f"/containers/{box.id}/env", json={"B": "2"})

    response = call(server, "PUT", f"{path}/{snapshot['name']}")  # synchronous
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["success"] is True and data["message"] and data["snapshot"]["name"] == snapshot["name"]
    assert data["snapshot"]["last_used_at"] > snapshot["last_used_at"]

    item = call(server, "GET", f"/containers/{box.id}").json()["data"]
    assert item["id"] == box.id and item["name"] == box.name and item["status"] == "running"
    assert item["last_used_snapshot"] == snapshot["name"] and item["snapshot_count"] == 1
    assert item["environment_vars"] == {"A": "1", "B": "2"} and item["autostart"] is True
    assert item["container_image"] == IMAGE
    attrs = engine.api.inspect_container(box.name)
    assert attrs["Id"] != box.docker_id and attrs["State"]["Running"]
    assert attrs["Config"]["Labels"]["team"] == "blue" and attrs["Config"]["Labels"][LABEL] == PROJECT
    assert attrs["Config"]["Labels"]["hoody.id"] == box.id
    assert {"A=1", "B=2"} <= set(attrs["Config"]["Env"])
    assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    with pytest.raises(NotFound):
        engine.api.inspect_container(box.docker_id)
    assert docker_exec(box.name, "cat /data.txt").stdout == "before\n"
    assert docker_exec(box.name, "test -e /after.txt").returncode == 1

    rows = logs(server, box.id, sort_order="asc")["logs"]
    assert [(row["from_status"], row["to_status"]) for row in rows] == [("running", "stopped"), ("stopped", "running")]
    assert all(row["metadata"] == {"command": "restore", "snapshot": snapshot["name"]} for row in rows)
    listed = call(server, "GET", f"/projects/{PROJECT}/containers").json()["data"]["containers"]
    assert [entry["id"] for entry in listed].count(box.id) == 1

    assert call(server, "POST", f"/containers/{box.id}/force-stop").status_code == 200  # found by its label
    wait_status(server, box.id, "stopped")
    assert not engine.api.inspect_container(box.name)["State"]["Running"]
    again = call(server, "PUT", f"{path}/{snapshot['name']}")  # from stopped: starts it, logs one row
    assert again.status_code == 200, again.text
    assert status_of(server, box.id) == "running"
    newest = logs(server, box.id, limit=1)["logs"][0]
    assert (newest["from_status"], newest["to_status"]) == ("stopped", "running")
    assert engine.api.inspect_container(box.name)["Config"]["Labels"]["hoody.id"] == box.id

    assert call(server, "DELETE", f"{path}/{snapshot['name']}").status_code == 200  # while running from it
    assert call(server, "GET", path).json()["data"]["snapshots"] == []
    assert call(server, "GET", f"/containers/{box.id}").json()["data"]["last_used_snapshot"] == snapshot["name"]


def test_deleting_a_container_deletes_its_snapshots(
    server: HoodyServer, make4: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make4("stopped")
    call(server, "POST", f"/containers/{box.id}/snapshots")
    assert len(snapshot_images(engine, box.id)) == 1
    assert call(server, "DELETE", f"/containers/{box.id}").status_code == 200
    wait_until(lambda: call(server, "GET", f"/containers/{box.id}").status_code == 404)
    wait_until(lambda: not snapshot_images(engine, box.id))


# ---------------------------------------------------------------- proxy aliases


def alias_name() -> str:
    return f"hs4-{secrets.token_hex(4)}"


def test_proxy_alias_create_get_list_update_state_delete(server: HoodyServer, make4: Callable[..., Box]) -> None:
    box, other = make4(), make4("stopped")
    name = alias_name()
    response = call(server, "POST", "/proxy/aliases", json={"container_id": box.id, "alias": name, "program": "http"})
    assert response.status_code == 201 and response.json()["statusCode"] == 201, response.text
    record = response.json()["data"]
    assert set(record) == {
        "id", "user_id", "project_id", "container_id", "alias", "program", "index", "target_path",
        "allow_path_override", "expires_at", "enabled", "created_at", "updated_at", "server_id", "server_name",
        "subserver_name", "url",
    }  # fmt: skip
    assert HEX24.fullmatch(record["id"]) and record["container_id"] == box.id and record["project_id"] == PROJECT
    assert (record["alias"], record["program"], record["index"], record["target_path"]) == (name, "http", 1, None)
    assert record["allow_path_override"] is True and record["enabled"] is True and record["expires_at"] is None
    assert record["url"] == f"{server.url}/__proxy/{name}/"
    generated = call(
        server, "POST", "/proxy/aliases", json={"container_id": other.id, "alias": None, "program": "terminal",
                                                 "target_path": "x", "expires_at": "2020-01-01T00:00:00Z"},
    ).json()["data"]  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{48}", generated["alias"]) and generated["target_path"] == "/x"
    assert generated["expires_at"] == "2020-01-01T00:00:00.000Z"

    got = call(server, "GET", f"/proxy/aliases/{record['id']}").json()["data"]
    assert got["project"] == {"id": PROJECT, "alias": None} and got["container"] == {"id": box.id, "name": box.name}
    assert {key: got[key] for key in record} == record

    def listed(**params: str) -> list[str]:
        data = call(server, "GET", "/proxy/aliases", params=params).json()["data"]
        assert data["count"] == len(data["aliases"])
        return [entry["id"] for entry in data["aliases"]]

    assert listed() == [record["id"], generated["id"]]
    assert listed(container_id=box.id) == [record["id"]]
    assert listed(project_id=PROJECT) == [record["id"], generated["id"]] and listed(project_id=MISSING_ID) == []
    assert listed(expired="true") == [generated["id"]] and listed(expired="false") == [record["id"]]

    patched = call(server, "PATCH", f"/proxy/aliases/{record['id']}", json={"target_path": "/app", "index": 2})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["target_path"] == "/app" and patched.json()["data"]["index"] == 2
    assert patched.json()["data"]["alias"] == name and patched.json()["data"]["updated_at"] >= record["updated_at"]
    state = call(server, "PATCH", f"/proxy/aliases/{record['id']}/state", json={"enabled": False})
    assert state.status_code == 200 and state.json()["data"]["enabled"] is False
    assert listed(enabled="false") == [record["id"]] and listed(enabled="true") == [generated["id"]]
    assert call(server, "GET", f"/containers/{box.id}").json()["data"]["proxy_domains_count"] == 1
    domains = call(server, "GET", f"/containers/{box.id}", params={"include_proxy_domains": "true"}).json()["data"]
    assert [domain["alias"] for domain in domains["proxy_domains"]] == [name]

    deleted = call(server, "DELETE", f"/proxy/aliases/{record['id']}")
    assert deleted.status_code == 200 and deleted.json()["data"] is None
    assert_error(call(server, "GET", f"/proxy/aliases/{record['id']}"), 404)
    assert_error(call(server, "DELETE", f"/proxy/aliases/{record['id']}"), 404)
    assert listed() == [generated["id"]]


@pytest.mark.parametrize(
    "changes",
    [
        {"alias": "ab"},
        {"alias": "-abc"},
        {"alias": "abc-"},
        {"alias": "Upper"},
        {"alias": "a" * 62},
        {"alias": "containers"},
        {"alias": "proxy"},
        {"alias": "workspaces-x"},
        {"alias": "proxy-x"},
        {"program": "web"},
        {"program": None},
        {"port": 8080, "program": "terminal"},
        {"port": 0},
        {"index": 0},
        {"enabled": "yes"},
        {"expires_at": "soon"},
        {"expires_at": 1700000000},
        {"container_id": "xyz"},
        {"unknown": 1},
    ],
)
def test_proxy_alias_create_validation_is_400(
    server: HoodyServer, make4: Callable[..., Box], changes: dict[str, Any]
) -> None:
    box = make4("stopped")
    body = {"container_id": box.id, "alias": alias_name(), "program": "http", **changes}
    assert_error(call(server, "POST", "/proxy/aliases", json=body), 400)
    assert call(server, "GET", "/proxy/aliases").json()["data"]["count"] == 0


def test_proxy_alias_errors(server: HoodyServer, make4: Callable[..., Box]) -> None:
    box = make4("stopped")
    name = alias_name()
    body = {"container_id": box.id, "alias": name, "program": "https", "port": 8443}
    record = call(server, "POST", "/proxy/aliases", json=body).json()["data"]
    assert "port" not in record
    assert_error(call(server, "POST", "/proxy/aliases", json={"container_id": box.id, "alias": name}), 400)
    assert_error(call(server, "POST", "/proxy/aliases", json={"alias": name, "program": "http"}), 400)
    assert_error(call(server, "POST", "/proxy/aliases", json={**body, "container_id": MISSING_ID}), 404)
    assert_error(call(server, "POST", "/proxy/aliases", json=body), 409)  # name taken
    second = call(server, "POST", "/proxy/aliases", json={**body, "alias": alias_name()}).json()["data"]
    assert_error(call(server, "PATCH", f"/proxy/aliases/{second['id']}", json={"alias": name}), 409)
    assert_error(call(server, "PATCH", f"/proxy/aliases/{second['id']}", json={"container_id": box.id}), 400)
    assert_error(call(server, "PATCH", f"/proxy/aliases/{second['id']}", json={"program": "terminal"}), 400)  # port
    millis = call(server, "PATCH", f"/proxy/aliases/{second['id']}", json={"expires_at": 1700000000000})
    assert millis.json()["data"]["expires_at"] == "2023-11-14T22:13:20.000Z"  # update also takes Unix milliseconds
    assert_error(call(server, "PATCH", f"/proxy/aliases/{second['id']}/state", json={}), 400)
    assert_error(call(server, "PATCH", f"/proxy/aliases/{second['id']}/state", json={"enabled": "no"}), 400)
    for method, url in (
        ("GET", f"/proxy/aliases/{MISSING_ID}"),
        ("PATCH", f"/proxy/aliases/{MISSING_ID}"),
        ("PATCH", f"/proxy/aliases/{MISSING_ID}/state"),
        ("DELETE", f"/proxy/aliases/{MISSING_ID}"),
    ):
        assert_error(call(server, method, url, json={"enabled": True}), 404)
        assert_error(call(server, method, url.replace(MISSING_ID, "xyz"), json={"enabled": True}), 400)
    for params in ({"enabled": "yes"}, {"expired": "1"}, {"container_id": "xyz"}, {"project_id": "1"}):
        assert_error(call(server, "GET", "/proxy/aliases", params=params), 400)
    assert_error(call(server, "GET", "/proxy/aliases", token=None), 401, "MISSING_TOKEN")
    assert_error(call(server, "POST", "/proxy/aliases", json=body, token="wrong"), 401, "INVALID_TOKEN")
    for method, url, payload in (
        ("POST", "/proxy/aliases", {**body, "alias": alias_name()}),
        ("PATCH", f"/proxy/aliases/{record['id']}", {"enabled": False}),
        ("PATCH", f"/proxy/aliases/{record['id']}/state", {"enabled": False}),
        ("DELETE", f"/proxy/aliases/{record['id']}", None),
    ):
        assert_error(call(server, method, url, json=payload, token=READONLY), 403, "INSUFFICIENT_PERMISSIONS")
    assert call(server, "GET", f"/proxy/aliases/{record['id']}", token=READONLY).status_code == 200


def test_proxy_route_reaches_the_aliased_container(
    server: HoodyServer, make_containers: Callable[..., list[str]], engine: docker.DockerClient
) -> None:
    tag = secrets.token_hex(3)
    blue, green = f"hs4-blue-{tag}", f"hs4-green-{tag}"
    make_containers(blue, command=web_command("blue"))
    make_containers(green, command=web_command("green"))
    ids = {}
    for name in (blue, green):
        engine.api.start(name)
        ids[name] = engine.api.inspect_container(name)["Id"][:24]
    alias = alias_name()

    def fetch(path: str = "") -> requests.Response:
        return requests.get(f"{server.url}/__proxy/{alias}/{path}", timeout=30)

    assert_error(fetch(), 404)  # no such alias yet
    record = call(server, "POST", "/proxy/aliases", json={"container_id": ids[blue], "alias": alias,
                                                           "program": "http"}).json()["data"]  # fmt: skip
    wait_until(lambda: fetch().status_code == 200)  # httpd may still be starting
    assert fetch().text == "blue\n" and fetch("index.html").text == "blue\n"
    assert fetch("missing.html").status_code == 404  # the upstream's own 404
    assert requests.get(record["url"], timeout=30).text == "blue\n"

    call(server, "PATCH", f"/proxy/aliases/{record['id']}/state", json={"enabled": False})
    assert_error(fetch(), 404)
    call(server, "PATCH", f"/proxy/aliases/{record['id']}/state", json={"enabled": True})
    assert fetch().text == "blue\n"

    call(server, "DELETE", f"/proxy/aliases/{record['id']}")  # the blue-green swap: two calls
    assert_error(fetch(), 404)
    swapped = call(server, "POST", "/proxy/aliases", json={"container_id": ids[green], "alias": alias,
                                                            "program": "http"})  # fmt: skip
    assert swapped.status_code == 201
    assert fetch().text == "green\n"
    assert all(entry["path"].startswith("/api/") for entry in server.requests_log())  # the proxy is not logged

    call(server, "PATCH", f"/proxy/aliases/{swapped.json()['data']['id']}", json={"port": 81})
    assert_error(fetch(), 502)  # nothing listens on 81
    call(server, "PATCH", f"/proxy/aliases/{swapped.json()['data']['id']}", json={"port": None})
    assert fetch().text == "green\n"
    engine.api.kill(green)
    assert_error(fetch(), 502)  # no address any more


def test_reset_forgets_snapshots_env_and_aliases(
    server: HoodyServer, make4: Callable[..., Box], engine: docker.DockerClient
) -> None:
    box = make4(env={"A": "1"})
    call(server, "POST", f"/containers/{box.id}/snapshots")
    call(server, "PUT", f"/containers/{box.id}/env", json={"B": "2"})
    call(server, "PUT", f"/containers/{box.id}", json={"comment": "kept?"})
    call(server, "POST", "/proxy/aliases", json={"container_id": box.id, "alias": alias_name(), "program": "http"})
    assert snapshot_images(engine, box.id)
    server.admin("reset", {})
    assert not snapshot_images(engine, box.id)
    assert call(server, "GET", f"/containers/{box.id}/snapshots").json()["data"]["snapshots"] == []
    assert call(server, "GET", "/proxy/aliases").json()["data"]["count"] == 0
    item = call(server, "GET", f"/containers/{box.id}").json()["data"]
    assert item["environment_vars"] == {"A": "1"} and item["comment"] is None and item["snapshot_count"] == 0
