"""REST backend edge cases a test server cannot produce on demand, with HTTP faked by ``responses``.

The integration tests drive both backends against real servers on top of the real engine; these
cover the contract's variants and the client's safety rules one by one.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import responses

from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._dockhand import DockhandBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._driver import Converger, StateRequest
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody import HoodyBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiClient

API = "https://hoody.test"
CID = "0123456789abcdef01234567"
TOKEN = "hdy_secret_token_value"


def envelope(data, status=200):
    return {"statusCode": status, "message": "ok", "data": data}


def container(status="running", name="web"):
    return envelope({"id": CID, "name": name, "status": status, "project_id": "f" * 24})


@pytest.fixture
def hoody():
    client = ApiClient(API, timeout=5, retries=2)
    backend = HoodyBackend(client, TOKEN, realm=None, poll_interval=0.01)
    yield backend
    backend.close()


@responses.activate
def test_token_goes_only_to_the_api_origin_and_redirects_are_not_followed(hoody):
    responses.get(f"{API}/api/v1/containers/{CID}", status=302, headers={"Location": "https://evil.test/x"})
    responses.get("https://evil.test/x", json=container())
    with pytest.raises(errors.ContainerOpsError) as caught:
        hoody.inspect(CID)
    assert "redirect" in str(caught.value) and TOKEN not in str(caught.value)
    assert len(responses.calls) == 1
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


@responses.activate
def test_401_says_check_the_token_without_echoing_it(hoody):
    responses.get(f"{API}/api/v1/containers/{CID}", status=401,
                  json={"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"})
    with pytest.raises(errors.ConnectionFailed) as caught:
        hoody.inspect(CID)
    assert "check api_token" in str(caught.value) and TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 409, "json": {"statusCode": 409, "error": "Conflict", "message": "Container is paused"}},
        {"status": 200, "json": envelope({"error": True, "message": "Container is paused"})},
    ],
    ids=["409", "data.error in a 200"],
)
@responses.activate
def test_every_invalid_state_variant_is_a_conflict(hoody, answer):
    responses.post(f"{API}/api/v1/containers/{CID}/stop", **answer)
    with pytest.raises(errors.OperationConflict, match="Hoody refused stop"):
        hoody.perform(hoody._state(container()["data"]), "stop", None)


@pytest.mark.parametrize("status", [400, 403, 422])
@responses.activate
def test_a_4xx_is_final_and_sent_once(hoody, status):
    responses.post(f"{API}/api/v1/containers/{CID}/stop", status=status,
                   json={"statusCode": status, "error": "Bad Request", "message": "Invalid operation"})
    responses.get(f"{API}/api/v1/containers/{CID}", json=container("running"))
    result = Converger(hoody, StateRequest("stopped")).converge(hoody._state(container()["data"]))
    assert "Hoody rejected stop" in result["error"] or "denied" in result["error"]
    assert [c.request.method for c in responses.calls].count("POST") == 1


@responses.activate
def test_reads_retry_transient_faults_and_honour_retry_after(hoody, monkeypatch):
    sleeps = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    url = f"{API}/api/v1/containers/{CID}"
    responses.get(url, status=503)
    responses.get(url, status=429, headers={"Retry-After": "2"})
    responses.get(url, json=container("stopped"))
    assert hoody.inspect(CID).status == "stopped"
    assert len(responses.calls) == 3 and sleeps[-1] == 2.0


@responses.activate
def test_a_lost_post_is_not_resent_when_the_status_shows_it_took_effect(hoody):
    responses.post(f"{API}/api/v1/containers/{CID}/pause", body=requests.exceptions.ConnectionError("reset"))
    responses.get(f"{API}/api/v1/containers/{CID}", json=container("paused"))
    result = Converger(hoody, StateRequest("paused")).converge(hoody._state(container()["data"]))
    assert "error" not in result and result["status"] == "paused"
    assert [a["operation"] for a in result["actions"]] == ["pause"]
    assert [c.request.method for c in responses.calls].count("POST") == 1


@responses.activate
def test_a_lost_post_without_effect_is_sent_again_only_after_the_status_shows_none(hoody):
    url = f"{API}/api/v1/containers/{CID}"
    responses.post(f"{url}/pause", status=503)
    responses.post(f"{url}/pause", json=envelope({"id": CID, "status": "running"}))
    seen = []

    def status(request):
        # Running while the first POST's effect is looked for; paused once the second POST went out.
        seen.append([c.request.method for c in responses.calls].count("POST"))
        return 200, {}, json.dumps(container("paused" if seen[-1] >= 2 else "running"))

    responses.add_callback(responses.GET, url, callback=status)
    result = Converger(hoody, StateRequest("paused")).converge(hoody._state(container()["data"]))
    assert "error" not in result and result["status"] == "paused"
    methods = [c.request.method for c in responses.calls]
    assert methods.count("POST") == 2
    first, second = [i for i, m in enumerate(methods) if m == "POST"]
    assert methods[first + 1:second].count("GET") >= 2  # evidence was looked for before the resend


@responses.activate
def test_a_lost_restart_is_confirmed_from_the_status_log(hoody):
    logs = f"{API}/api/v1/containers/{CID}/status-logs"
    # Before the POST the newest record is a start; afterwards a newer restart record proves it happened.
    responses.get(logs, json=envelope({"logs": [{"id": "0" * 24, "container_id": CID, "from_status": "stopped",
                                                 "to_status": "running", "transition_time": "2026-01-01T00:00:00Z",
                                                 "metadata": {"command": "start"}}],
                                       "pagination": {"total": 1, "page": 1, "limit": 1, "totalPages": 1}}))
    responses.get(
        logs,
        json=envelope({"logs": [{"id": "1" * 24, "container_id": CID, "from_status": "running",
                                 "to_status": "running", "transition_time": "2026-01-01T00:01:00.000Z",
                                 "metadata": {"command": "restart"}}],
                       "pagination": {"total": 1, "page": 1, "limit": 1, "totalPages": 1}}),
    )
    state = hoody._state(container()["data"])
    mark = hoody.evidence_mark(state, "restart")
    assert mark == "0" * 24
    assert hoody.took_effect(state, "restart", mark)


@responses.activate
def test_names_resolve_through_the_paginated_list(hoody):
    responses.get(f"{API}/api/v1/containers/", match=[responses.matchers.query_param_matcher(
        {"limit": "100", "sort_by": "created_at", "sort_order": "asc", "page": "1"})],
        json=envelope({"containers": [{"id": "a" * 24, "name": "other", "status": "stopped"}],
                       "pagination": {"total": 2, "page": 1, "limit": 100, "totalPages": 2}}))
    responses.get(f"{API}/api/v1/containers/", match=[responses.matchers.query_param_matcher(
        {"limit": "100", "sort_by": "created_at", "sort_order": "asc", "page": "2"})],
        json=envelope({"containers": [{"id": CID, "name": "web", "status": "stopped"}],
                       "pagination": {"total": 2, "page": 2, "limit": 100, "totalPages": 2}}))
    responses.get(f"{API}/api/v1/containers/{CID}", json=container("paused"))
    assert hoody.inspect("web").status == "paused"
    assert hoody.inspect("nope").status == "absent"


@responses.activate
def test_wait_fails_fast_on_failed(hoody):
    responses.get(f"{API}/api/v1/containers/{CID}", json=container("failed"))
    state = hoody.wait_for(hoody._state(container()["data"]), ("running",), timeout=30)
    assert state.status == "failed"


def test_label_filters_are_refused_clearly(hoody):
    with pytest.raises(errors.BadInput, match=r"filters\.label is not supported by backend hoody"):
        hoody.list({"label": ["a=b"]})


def test_hoody_needs_a_token():
    with pytest.raises(errors.BadInput, match="api_token is required"):
        HoodyBackend(ApiClient(API, timeout=5, retries=0), None, None, 0.5)


DH = "http://dockhand.test"


def inspect_json(status="running", paused=False):
    return {"Id": "b" * 64, "Name": "/web", "State": {"Status": status, "Paused": paused, "ExitCode": 0},
            "Config": {"StopTimeout": 1, "Image": "busybox"}}


@pytest.fixture
def dockhand_login():
    responses.post(f"{DH}/api/auth/login", json={"success": True},
                   headers={"Set-Cookie": "dockhand_session=first; Path=/; HttpOnly"})
    responses.get(f"{DH}/api/environments/1", json={"id": 1, "name": "local"})


@responses.activate
def test_dockhand_logs_in_again_once_when_the_session_expires(dockhand_login):
    backend = DockhandBackend(ApiClient(DH, timeout=5, retries=0), 1, None, "admin", "pw", 0.01)
    url = f"{DH}/api/containers/web"
    responses.get(url, status=401, json={"error": "Unauthorized", "message": "Authentication required"})
    responses.get(url, json=inspect_json())
    assert backend.inspect("web").status == "running"
    logins = [c for c in responses.calls if c.request.url.endswith("/api/auth/login")]
    assert len(logins) == 2
    assert "pw" not in " ".join(str(c.request.headers) for c in responses.calls)


@responses.activate
def test_dockhand_generic_500_is_explained_from_the_container_state(dockhand_login):
    backend = DockhandBackend(ApiClient(DH, timeout=5, retries=0), 1, None, "admin", "pw", 0.01)
    responses.post(f"{DH}/api/containers/{'b' * 64}/pause", status=500, json={"error": "Failed to pause container"})
    responses.get(f"{DH}/api/containers/{'b' * 64}", json=inspect_json("paused", True))
    state = backend.inspect("b" * 64)
    with pytest.raises(errors.OperationConflict, match="the container is 'paused'"):
        backend.perform(state, "pause", None)


@responses.activate
def test_dockhand_declares_that_it_cannot_force_stop(dockhand_login):
    backend = DockhandBackend(ApiClient(DH, timeout=5, retries=0), 1, None, "admin", "pw", 0.01)
    assert "no kill endpoint" in backend.missing_operations["force-stop"]


@responses.activate
def test_dockhand_unknown_environment():
    responses.get(f"{DH}/api/environments/7", status=404, json={"error": "Environment not found"})
    with pytest.raises(errors.BadInput, match="Dockhand has no environment 7"):
        DockhandBackend(ApiClient(DH, timeout=5, retries=0), 7, None, None, None, 0.01)


def test_dockhand_needs_an_environment():
    with pytest.raises(errors.BadInput, match="api_environment is required"):
        DockhandBackend(ApiClient(DH, timeout=5, retries=0), None, None, None, None, 0.01)


@responses.activate
def test_many_waiters_share_one_listing_per_poll_round():
    backend = HoodyBackend(ApiClient(API, timeout=5, retries=0), TOKEN, realm=None, poll_interval=0.2)
    ids = [f"{n:024x}" for n in range(8)]
    engine = {"status": "stopped"}
    listings, direct = [], []

    def item(n):
        return {"id": ids[n], "name": f"c{n}", "status": engine["status"]}

    def listing(request):
        listings.append(request.url)
        body = envelope({"containers": [item(n) for n in range(len(ids))],
                         "pagination": {"total": len(ids), "page": 1, "limit": 100}})
        engine["status"] = "running"  # the fleet has started by the next round
        return 200, {}, json.dumps(body)

    def read_one(request, n):
        direct.append(n)
        return 200, {}, json.dumps(envelope(item(n)))

    responses.add_callback(responses.GET, f"{API}/api/v1/containers/", callback=listing)
    for n, cid in enumerate(ids):
        responses.add_callback(responses.GET, f"{API}/api/v1/containers/{cid}",
                               callback=lambda request, n=n: read_one(request, n))
    waiting = [ContainerState(cid, f"c{n}", "stopped", "stopped") for n, cid in enumerate(ids)]
    with ThreadPoolExecutor(len(ids)) as pool:
        states = list(pool.map(lambda state: backend.wait_for(state, ("running",), 10), waiting))
    assert [state.status for state in states] == ["running"] * len(ids)
    assert 1 <= len(listings) <= 3, "one listing per round serves every waiter"
    assert all("include_deleting=true" in url for url in listings)
    # Only the first three waiters read their container alone, in the first round and again once the
    # others are done and fewer than four wait; alone, eight waiters would make at least sixteen reads.
    assert len(direct) <= 6, direct
