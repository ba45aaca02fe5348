"""Hoody answers the backend cannot use: each is a clear error naming the endpoint, never "absent" or a KeyError.

HTTP is faked with ``responses``; the integration tests (tests/integration/test_rest_faults.py) drive the same
faults through the Hoody test server and real ansible-playbook.
"""

from __future__ import annotations

import json
import re

import pytest
import responses

from ansible_collections.containerops.lifecycle.plugins.module_utils import _driver
from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState, Evidence
from ansible_collections.containerops.lifecycle.plugins.module_utils._driver import Converger, StateRequest, took_effect
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody import (
    HoodyBackend,
    hoody_networks,
    hoody_ports,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiClient
from tests.unit.runtime_shape import KEYS, assert_runtime_shape

API = "https://hoody.test"
CID = "0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba98"
TOKEN = "hdy_secret_token_value"
URL = f"{API}/api/v1/containers/{CID}"
LIST = f"{API}/api/v1/containers/"


def envelope(data, status=200):
    return {"statusCode": status, "message": "ok", "data": data}


def item(cid=CID, name="web", status="running"):
    return {"id": cid, "name": name, "status": status, "project_id": "f" * 24}


def page(items, total=None, page_no=1):
    return envelope(
        {
            "containers": items,
            "pagination": {"total": len(items) if total is None else total, "page": page_no, "limit": 100},
        }
    )


def log(n, command="start", time="2026-01-01T00:00:00.000Z"):
    return {
        "id": f"{n:024x}",
        "container_id": CID,
        "from_status": "stopped",
        "to_status": "running",
        "transition_time": time,
        "duration_ms": 5,
        "triggered_by": "user",
        "metadata": {"command": command},
    }


def logs(entries, total_pages=1):
    return envelope(
        {"logs": entries, "pagination": {"total": len(entries), "page": 1, "limit": 100, "totalPages": total_pages}}
    )


@pytest.fixture
def hoody():
    backend = HoodyBackend(ApiClient(API, timeout=5, retries=0), TOKEN, realm=None, poll_interval=0.01)
    yield backend
    backend.close()


def running() -> ContainerState:
    return ContainerState(CID, "web", "running", "running", details=item())


def answer(url: str, body, method=responses.GET, content_type="application/json") -> None:
    """Register a 200 answer: ``body`` as JSON, or as-is when it is bytes."""
    if isinstance(body, bytes):
        responses.add(method, url, body=body, status=200, content_type=content_type)
    else:
        responses.add(method, url, json=body, status=200)


# ------------------------------------------------------------------ one container's GET


@pytest.mark.parametrize(
    ("body", "got"),
    [
        (b"", "got an empty body"),
        (b"   ", "got an empty body"),
        (b"<html>Bad gateway</html>", "got text that is not JSON"),
        ("just a string", "expected an object with data.id, data.status, got a string"),
        (envelope(None), "expected an object with data.id, data.status, got null"),
        (envelope([item()]), "got a list"),
        (envelope({"name": "web", "status": "running"}), "got an object without data.id"),
        (envelope({"id": CID, "name": "web"}), "got an object without data.status"),
        (envelope(dict(item(), status=3)), "expected data.status to be a string, got a number"),
        (envelope(dict(item(), name=["web"])), "expected data.name to be a string (or null), got a list"),
        (envelope(item(cid=OTHER)), f"expected data.id to be {CID}, got another container's id ({OTHER})"),
    ],
    ids=[
        "empty",
        "blank",
        "html",
        "string",
        "null data",
        "list",
        "no id",
        "no status",
        "status number",
        "name list",
        "another id",
    ],
)
@responses.activate
def test_an_unusable_container_answer_is_an_error_never_absent(hoody, body, got):
    answer(URL, body)
    with pytest.raises(errors.ConnectionFailed) as caught:
        hoody.inspect(CID)
    message = str(caught.value)
    assert message.startswith(f"Hoody answered GET /api/v1/containers/{CID} with an unexpected body: expected ")
    assert got in message and TOKEN not in message


@responses.activate
def test_an_empty_answer_fails_the_look_up_before_anything_is_deleted(hoody):
    answer(URL, b"")
    responses.delete(URL, json=envelope(None))
    with pytest.raises(errors.ConnectionFailed, match="got an empty body"):
        hoody.resolve([CID])  # how container_state (state: absent too) finds its one named target
    assert [c.request.method for c in responses.calls] == ["GET"]


@responses.activate
def test_only_a_404_or_deleted_means_absent(hoody):
    responses.get(URL, status=404, json={"statusCode": 404, "error": "Not Found", "message": "Container not found"})
    assert hoody.inspect(CID).status == "absent"
    responses.replace(responses.GET, URL, json=envelope(item(status="deleted")))
    assert hoody.inspect(CID).status == "absent"


# ------------------------------------------------------------------ listings and pagination


@pytest.mark.parametrize(
    ("body", "got"),
    [
        ("a string", "expected an object with data.containers, got a string"),
        (envelope({"containers": "web"}), "expected data.containers to be a list, got a string"),
        (
            envelope({"containers": [item(), "web"]}),
            "expected an object with data.containers[1].id, data.containers[1].status, got a string",
        ),
        (
            envelope({"containers": [{"name": "web", "status": "running"}]}),
            "got an object without data.containers[0].id",
        ),
        (
            envelope({"containers": [item()], "pagination": "1 of 1"}),
            "expected data.pagination to be an object (or null), got a string",
        ),
        (
            envelope({"containers": [item()], "pagination": {"total": "1"}}),
            "expected data.pagination.total to be a number (or null), got a string",
        ),
    ],
    ids=["string", "containers string", "item string", "item without id", "pagination string", "total string"],
)
@responses.activate
def test_an_unusable_listing_is_an_error_naming_the_page(hoody, body, got):
    answer(LIST, body)
    with pytest.raises(errors.ConnectionFailed) as caught:
        hoody.inspect("web")
    assert "Hoody answered GET /api/v1/containers/ with an unexpected body" in str(caught.value)
    assert got in str(caught.value)


@pytest.fixture
def no_pause(monkeypatch):
    """No backoff between two reads of a listing."""
    monkeypatch.setattr(
        "ansible_collections.containerops.lifecycle.plugins.module_utils._hoody.backoff_delay", lambda attempt: 0
    )


@responses.activate
def test_a_listing_that_repeats_its_first_page_is_an_error_not_a_thousand_pages(hoody, no_pause):
    responses.get(
        LIST,
        json=envelope(
            {"containers": [item(cid=OTHER, name="other")], "pagination": {"total": 5, "page": 1, "limit": 1}}
        ),
    )
    with pytest.raises(errors.ConnectionFailed) as caught:
        hoody.inspect("web")
    assert str(caught.value) == (
        "Hoody's container listing (GET /api/v1/containers/) kept changing while it was read (3 times), so it could"
        " not be read whole: pages 1 to 2 served 1 entry more than once while the total did not grow"
    )
    assert len(responses.calls) == 6  # three reads of two pages


def listing_page(ids, total, number):
    return envelope(
        {
            "containers": [item(cid=cid, name=f"c-{cid[-4:]}", status="stopped") for cid in ids],
            "pagination": {"total": total, "page": number, "limit": 2},
        }
    )


@responses.activate
def test_a_container_removed_between_two_pages_is_read_again_never_a_gap(hoody, no_pause):
    a, b, c, d = (f"{n:024x}" for n in (4, 3, 2, 1))  # newest first
    # First read: page 1 is a, b; then a is deleted, so page 2 starts at d and c would be skipped.
    responses.get(LIST, json=listing_page([a, b], 4, 1))
    responses.get(LIST, json=listing_page([d], 3, 2))
    # Second read: b, c / d.
    responses.get(LIST, json=listing_page([b, c], 3, 1))
    responses.get(LIST, json=listing_page([d], 3, 2))
    assert [state.id for state in hoody.list({"name": "*"})] == [d, c, b]  # oldest first
    assert [call.request.params["page"] for call in responses.calls] == ["1", "2", "1", "2"]
    assert {call.request.params["sort_order"] for call in responses.calls} == {"desc"}


@responses.activate
def test_a_listing_that_keeps_losing_entries_is_an_error_saying_so(hoody, no_pause):
    a, b, c = (f"{n:024x}" for n in (3, 2, 1))
    for total in (9, 8, 7):
        responses.get(LIST, json=listing_page([a, b], total, 1))
        responses.get(LIST, json=listing_page([c], total - 1, 2))
    with pytest.raises(errors.ConnectionFailed) as caught:
        hoody.list({"name": "*"})
    assert str(caught.value) == (
        "Hoody's container listing (GET /api/v1/containers/) kept changing while it was read (3 times), so it could"
        " not be read whole: the total went from 7 to 6 between page 1 and page 2: entries were removed while the"
        " pages were read"
    )


@responses.activate
def test_without_a_total_a_full_page_is_followed_by_the_next(hoody, monkeypatch):
    monkeypatch.setattr("ansible_collections.containerops.lifecycle.plugins.module_utils._hoody.PAGE_LIMIT", 1)
    responses.get(LIST, json=envelope({"containers": [item(cid=OTHER, name="other")]}))
    responses.get(LIST, json=envelope({"containers": [item()]}))
    responses.get(LIST, json=envelope({"containers": []}))
    responses.get(URL, json=envelope(item(status="paused")))
    assert hoody.inspect("web").status == "paused"


# ------------------------------------------------------------------ status logs


@pytest.mark.parametrize(
    ("body", "got"),
    [
        (b"", "got an empty body"),
        (envelope({"logs": {"0": log(0)}}), "expected data.logs to be a list, got an object"),
        (
            envelope({"logs": [dict(log(0), transition_time=None)]}),
            "got an object without data.logs[0].transition_time",
        ),
        (
            envelope({"logs": [dict(log(0), metadata="start")]}),
            "expected data.logs[0].metadata to be an object (or null), got a string",
        ),
        (
            envelope({"logs": [log(0, time="yesterday")]}),
            "expected data.logs[0].transition_time to be an ISO 8601 time, got a string that is not one",
        ),
        (
            envelope({"logs": [log(0)], "pagination": {"totalPages": "many"}}),
            "expected data.pagination.totalPages to be a number (or null), got a string",
        ),
    ],
    ids=["empty", "logs object", "no time", "metadata string", "bad time", "totalPages string"],
)
@responses.activate
def test_unusable_status_logs_are_an_error_naming_the_endpoint(hoody, body, got):
    answer(f"{URL}/status-logs", body)
    with pytest.raises(errors.OperationFailed) as caught:
        hoody.status_history(CID, None, None)
    assert f"Hoody answered GET /api/v1/containers/{CID}/status-logs with an unexpected body" in str(caught.value)
    assert got in str(caught.value)


def logs_page(numbers, total, number):
    return envelope(
        {
            "logs": [log(n) for n in numbers],
            "pagination": {"total": total, "page": number, "limit": 2, "totalPages": -(-total // 2)},
        }
    )


@responses.activate
def test_status_logs_that_repeat_a_page_are_an_error(hoody, no_pause):
    responses.get(f"{URL}/status-logs", json=logs_page([1, 0], 6, 1))
    with pytest.raises(errors.OperationFailed) as caught:
        hoody.status_history(CID, None, None)
    assert str(caught.value) == (
        f"the status logs of '{CID}' (GET /api/v1/containers/{CID}/status-logs) kept changing while it was read"
        " (3 times), so it could not be read whole: pages 1 to 2 served 2 entries more than once while the total"
        " did not grow"
    )


@responses.activate
def test_status_logs_growing_during_the_read_give_every_record_once(hoody):
    # Records 0..3, newest first; after page 1 a restart storm adds 4 and 5 at the front.
    responses.get(f"{URL}/status-logs", json=logs_page([3, 2], 4, 1))
    responses.get(f"{URL}/status-logs", json=logs_page([3, 2], 6, 2))
    responses.get(f"{URL}/status-logs", json=logs_page([1, 0], 6, 3))
    records = hoody.status_history(CID, None, None)
    assert [record["id"] for record in records] == [f"{n:024x}" for n in (3, 2, 1, 0)]
    assert len(responses.calls) == 3


@responses.activate
def test_restart_evidence_that_cannot_be_read_is_a_connection_failure(hoody):
    answer(f"{URL}/status-logs", envelope({"logs": "none"}))
    with pytest.raises(errors.ConnectionFailed, match=r"expected data\.logs to be a list"):
        hoody.evidence_mark(running(), "restart")


# ------------------------------------------------------------------ lifecycle POST answers


@pytest.mark.parametrize(
    "body",
    [b"", b"OK", "accepted", envelope(["stop"]), envelope({"error": "yes"})],
    ids=["empty", "text", "string", "list", "error string"],
)
@responses.activate
def test_an_unreadable_post_answer_counts_only_once_the_effect_shows(hoody, body):
    answer(f"{URL}/stop", body, method=responses.POST)
    responses.get(URL, json=envelope(item(status="stopped")))
    result = Converger(hoody, StateRequest("stopped")).converge(running())
    assert "error" not in result and result["status"] == "stopped" and result["changed"]
    assert [a["operation"] for a in result["actions"]] == ["stop"]
    assert [c.request.method for c in responses.calls].count("POST") == 1
    assert any(
        f"Hoody answered POST /api/v1/containers/{CID}/stop with an unexpected body" in warning
        for warning in hoody.warnings
    )


@responses.activate
def test_an_unreadable_post_answer_without_effect_fails_with_what_came(hoody, monkeypatch):
    monkeypatch.setattr(hoody, "stop_deadline", lambda container, stop_timeout: 0.2)  # how long a stop may take
    answer(f"{URL}/stop", b"<html>proxy error</html>", method=responses.POST)
    responses.get(URL, json=envelope(item(status="running")))
    request = StateRequest("stopped", wait_timeout=1)
    with pytest.raises(errors.OperationFailed) as caught:
        Converger(hoody, request)._perform(running(), Evidence("stop"))
    assert "got text that is not JSON" in str(caught.value) and "shows no effect" in str(caught.value)


# ------------------------------------------------------------------ env, snapshots, aliases, runtime


@responses.activate
def test_env_answers_are_checked(hoody):
    responses.get(URL, json=envelope(item()))
    answer(f"{URL}/env", envelope({"environment_vars": ["A=1"]}))
    with pytest.raises(
        errors.OperationFailed,
        match=re.escape(
            f"Hoody answered GET /api/v1/containers/{CID}/env with an unexpected body: expected "
            "data.environment_vars to be an object (or null), got a list"
        ),
    ):
        hoody.settings.read(running())


@pytest.mark.parametrize(
    ("body", "got"),
    [
        (envelope({"snapshots": "snap-1"}), "expected data.snapshots to be a list, got a string"),
        (envelope({"snapshots": [{"alias": "x"}]}), "got an object without data.snapshots[0].name"),
        (b"", "got an empty body"),
    ],
)
@responses.activate
def test_snapshot_lists_are_checked(hoody, body, got):
    answer(f"{URL}/snapshots", body)
    with pytest.raises(errors.OperationFailed) as caught:
        hoody.snapshots.of(running())
    assert f"GET /api/v1/containers/{CID}/snapshots with an unexpected body" in str(caught.value)
    assert got in str(caught.value)


@responses.activate
def test_an_unreadable_snapshot_answer_is_resolved_from_the_list(hoody):
    answer(f"{URL}/snapshots", envelope({"snapshot": "snap-1"}), method=responses.POST)
    snapshot = {"name": "snap-0123456789ab", "alias": "before", "created_at": "2026-01-01T00:00:00.000Z"}
    responses.get(f"{URL}/snapshots", json=envelope({"container_id": CID, "snapshots": [snapshot]}))
    assert hoody.snapshots.take(running(), "before")["name"] == "snap-0123456789ab"
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]


@responses.activate
def test_alias_records_are_checked(hoody):
    answer(f"{API}/api/v1/proxy/aliases", envelope({"aliases": [{"id": "a" * 24, "alias": "shop"}]}))
    with pytest.raises(
        errors.OperationFailed,
        match=re.escape(
            "Hoody answered GET /api/v1/proxy/aliases with an unexpected body: expected an object with "
            "data.aliases[0].container_id, got an object without data.aliases[0].container_id"
        ),
    ):
        hoody.aliases.holders("shop", {"program": "http"})


@responses.activate
def test_an_unreadable_alias_create_answer_is_resolved_from_the_records(hoody):
    record = {
        "id": "a" * 24,
        "alias": "shop",
        "container_id": CID,
        "program": "http",
        "index": 1,
        "target_path": None,
        "url": "https://shop.example/",
    }
    answer(f"{API}/api/v1/proxy/aliases", b"Created", method=responses.POST)
    responses.get(f"{API}/api/v1/proxy/aliases", json=envelope({"aliases": [record]}))
    responses.get(URL, json=envelope(item()))
    done = hoody.aliases.point("shop", running(), [], {"program": "http"})
    assert done["url"] == "https://shop.example/"
    assert [c.request.method for c in responses.calls].count("POST") == 1


@responses.activate
def test_unusable_stats_are_reported_in_runtime_and_the_rest_kept(hoody):
    responses.get(URL, json=envelope(dict(item(), runtime_info={"services": [{"name": "sshd"}]})))
    answer(f"{URL}/stats", envelope({"memory": "lots", "network": []}))
    runtime = hoody.describe(running(), runtime=True)["runtime"]
    assert runtime["processes"] == [{"name": "sshd"}] and runtime["resource_usage"] is None
    assert runtime["error"] == (
        f"Hoody answered GET /api/v1/containers/{CID}/stats with an unexpected body: "
        "expected data.memory to be an object (or null), got a string"
    )


@responses.activate
def test_unusable_runtime_details_are_an_error(hoody):
    responses.get(URL, json=envelope(dict(item(), runtime_info={"services": "sshd"})))
    with pytest.raises(errors.OperationFailed, match=r"expected data\.runtime_info\.services to be a list"):
        hoody.describe(running(), runtime=True)


JUNK = [
    b"",
    b"nope",
    "x",
    0,
    True,
    [],
    {},
    envelope(None),
    envelope("x"),
    envelope([1]),
    envelope({}),
    envelope({"containers": [None]}),
    envelope({"logs": [None]}),
    envelope({"snapshots": [1]}),
    envelope({"aliases": [[]]}),
    envelope({"containers": [], "pagination": []}),
]


@pytest.mark.parametrize("body", JUNK, ids=[json.dumps(b.decode() if isinstance(b, bytes) else b)[:40] for b in JUNK])
@responses.activate
def test_no_answer_ever_escapes_as_a_python_error(hoody, body):
    """Whatever a 200 holds, every read ends in data or a ContainerOpsError, never a KeyError or TypeError."""
    for method in (responses.GET, responses.POST):
        if isinstance(body, bytes):
            responses.add(method, re.compile(f"{re.escape(API)}/.*"), body=body, content_type="application/json")
        else:
            responses.add(method, re.compile(f"{re.escape(API)}/.*"), json=body)
    reads = [
        lambda: hoody.inspect(CID),
        lambda: hoody.inspect("web"),
        lambda: hoody.list({}),
        lambda: hoody.list({"project": "p"}),
        lambda: hoody.status_history(CID, None, None),
        lambda: hoody.evidence_mark(running(), "restart"),
        lambda: hoody.settings.read(running()),
        lambda: hoody.snapshots.of(running()),
        lambda: hoody.snapshots.take(running(), "a"),
        lambda: hoody.aliases.holders("shop", {}),
        lambda: hoody.describe(running(), runtime=True),
        lambda: hoody.perform(running(), "stop", None),
    ]
    for read in reads:
        hoody._directory = None
        try:
            read()
        except errors.ContainerOpsError as exc:
            assert "Hoody answered" in str(exc) or "HTTP" in str(exc), exc


# ------------------------------------------------------------------ quoting


@responses.activate
def test_every_path_segment_from_user_or_server_data_is_quoted(hoody):
    odd = ContainerState("a/../b", "odd", "running", "running")
    quoted = "/api/v1/containers/a%2F..%2Fb"
    responses.get(f"{API}/api/v1/projects/..%2Fp%3Fx%3D1/containers", json=envelope({"containers": []}))
    responses.delete(f"{API}{quoted}/snapshots/snap%2F..%2Fx", json=envelope(None))
    responses.delete(f"{API}{quoted}/env/A%2FB", json=envelope({"environment_vars": {}}))
    responses.put(f"{API}{quoted}/snapshots/s%231", json=envelope({"success": True}))
    responses.get(LIST, json=page([]))  # the restore's polls: the odd id is no container here
    responses.delete(f"{API}/api/v1/proxy/aliases/r%2F1", json=envelope(None))
    responses.post(f"{API}{quoted}/stop", json=envelope({"status": "running"}))
    hoody.list({"project": "../p?x=1"})
    hoody.snapshots.delete(odd, {"name": "snap/../x"})
    hoody.settings.update(odd, {"environment_vars": {"A/B": None}})
    with pytest.raises(errors.WaitTimeout):
        hoody.snapshots.restore(odd, {"name": "s#1"}, None, 0.01)
    hoody.aliases.point("shop", None, [{"private": {"id": "r/1"}, "name": "x", "id": "c"}], {})
    hoody.perform(odd, "stop", None)
    assert all("/../" not in call.request.path_url for call in responses.calls)
    assert not [call for call in responses.calls if isinstance(call.response, Exception)]


@pytest.mark.parametrize(("operation", "window"), [("stop", 20), ("restart", 20), ("pause", 5.0), ("start", 5.0)])
def test_a_lost_answer_is_watched_for_as_long_as_the_operation_may_take(hoody, monkeypatch, operation, window):
    """A stop gets its grace period and margin (Hoody's default: 10 + 10 s), the others the lost-answer window:
    watching less would resend an operation the platform is still carrying out (and have it refused, 409)."""
    watched = []
    monkeypatch.setattr(_driver, "poll", lambda read, done, timeout, first_delay, **_: watched.append(timeout) or True)
    assert took_effect(hoody, running(), Evidence(operation))
    assert watched == [window]


# container_info's runtime from runtime_info and the stats, in the documented shape (null when unknown)


def test_hoody_listening_sockets_become_unpublished_ports():
    sockets = [
        {"protocol": "tcp", "port": 22},
        {"protocol": "tcp6", "port": "22"},
        {"protocol": "UDP", "port": 53},
        {"protocol": None, "port": 8080},
        {"protocol": "tcp", "port": None},
        {"protocol": "tcp", "port": "x"},
    ]
    assert hoody_ports(sockets) == {"22/tcp": None, "53/udp": None, "8080/tcp": None}
    assert list(hoody_ports(sockets)) == ["22/tcp", "53/udp", "8080/tcp"]


def test_hoody_interfaces_become_networks_without_what_hoody_does_not_say():
    interfaces = [
        {"interface": "lo", "addresses": ["127.0.0.1/8"], "type": "loopback"},
        {"interface": "eth0", "addresses": ["fd00::5/64", "10.0.0.5/24"], "type": "ethernet"},
        {"interface": "eth1", "addresses": [{"address": "192.168.1.9", "family": "inet"}]},
        {"interface": "wg0", "addresses": None},
        {"interface": None, "addresses": ["10.9.9.9"]},
    ]
    networks = hoody_networks(interfaces)
    assert networks == {
        "eth0": {"ip_address": "10.0.0.5", "gateway": None, "mac_address": None, "aliases": []},
        "eth1": {"ip_address": "192.168.1.9", "gateway": None, "mac_address": None, "aliases": []},
        "wg0": {"ip_address": None, "gateway": None, "mac_address": None, "aliases": []},
    }
    assert_runtime_shape({"processes": None, "ports": None, "networks": networks, "resource_usage": None})


STATS = {"processes": 3, "cpu": {"usage": 123456, "allocated_time": None, "usage_percent": 1.5},
         "memory": {"usage": 1048576.0, "total": 536870912}, "network": [
             {"interface": "lo", "addresses": ["127.0.0.1/8"], "type": "loopback"},
             {"interface": "eth0", "addresses": ["10.0.0.5/24"], "type": "ethernet"}]}  # fmt: skip


@responses.activate
def test_hoody_runtime_of_a_running_container_in_the_documented_shape(hoody):
    services = [{"name": "sshd", "status": "running", "pid": 12}]
    sockets = [{"protocol": "tcp", "port": 22, "ip": "0.0.0.0", "pid": 12, "program": "sshd"}]
    responses.get(URL, json=envelope(dict(item(), runtime_info={"services": services, "network_services": sockets})))
    responses.get(f"{URL}/stats", json=envelope(STATS))
    state = ContainerState(CID, "web", "running", "running", details=item())
    runtime = hoody.describe(state, runtime=True)["runtime"]
    assert_runtime_shape(runtime)
    assert runtime == {
        "processes": services,
        "ports": {"22/tcp": None},
        "networks": {"eth0": {"ip_address": "10.0.0.5", "gateway": None, "mac_address": None, "aliases": []}},
        "resource_usage": {"memory_usage_bytes": 1048576, "memory_limit_bytes": 536870912,
                           "cpu_total_usage_ns": None, "cpu_usage_percent": 1.5, "pids": 3},
    }  # fmt: skip
    assert isinstance(runtime["resource_usage"]["memory_usage_bytes"], int)
    assert responses.calls[0].request.params == {"runtime": "true"}


@pytest.mark.parametrize(("status", "processes", "ports"), [("stopped", [], {}), ("running", None, None),
                                                            ("paused", None, None)])  # fmt: skip
@responses.activate
def test_hoody_runtime_when_nothing_was_measured(hoody, status, processes, ports):
    responses.get(URL, json=envelope(dict(item(status=status), runtime_info=None)))
    responses.get(f"{URL}/stats", json=envelope({"processes": None, "cpu": None, "memory": None, "network": []}))
    state = ContainerState(CID, "web", status, status, details=item(status=status))
    runtime = hoody.describe(state, runtime=True)["runtime"]
    assert_runtime_shape(runtime)
    assert runtime["processes"] == processes and runtime["ports"] == ports
    if status == "running":  # the stats say nothing: every figure is null, not zero
        assert runtime["networks"] == {}
        assert runtime["resource_usage"] == dict.fromkeys(KEYS["resource_usage"])
    else:  # stats are read for a running container only
        assert runtime["networks"] is None and runtime["resource_usage"] is None
        assert [call.request.url.split("?")[0] for call in responses.calls] == [URL]


@responses.activate
def test_hoody_unreadable_stats_leave_networks_and_usage_null(hoody):
    responses.get(URL, json=envelope(dict(item(), runtime_info={"services": [], "network_services": []})))
    responses.get(f"{URL}/stats", status=404, json={"statusCode": 404, "message": "Not found"})
    runtime = hoody.describe(ContainerState(CID, "web", "running", "running", details=item()), runtime=True)["runtime"]
    assert_runtime_shape(runtime)
    assert runtime["processes"] == [] and runtime["ports"] == {}
    assert runtime["networks"] is None and runtime["resource_usage"] is None and runtime["error"]
