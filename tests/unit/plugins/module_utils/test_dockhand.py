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

from ansible_collections.containerops.lifecycle.plugins.module_utils import _driver
from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState, Evidence
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import declared
from ansible_collections.containerops.lifecycle.plugins.module_utils._dockhand import DockhandBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._driver import Converger, StateRequest, took_effect
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
    responses.get(
        f"{API}/api/v1/containers/{CID}",
        status=401,
        json={"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"},
    )
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
    responses.post(
        f"{API}/api/v1/containers/{CID}/stop",
        status=status,
        json={"statusCode": status, "error": "Bad Request", "message": "Invalid operation"},
    )
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
def test_a_lost_post_without_effect_is_sent_again_only_after_the_status_shows_none(hoody, monkeypatch):
    monkeypatch.setattr(_driver, "LOST_ANSWER_WINDOW", 0.5)  # how long a pause may take to show
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
    assert methods[first + 1 : second].count("GET") >= 2  # evidence was looked for before the resend


@responses.activate
def test_a_lost_restart_is_confirmed_from_the_status_log(hoody):
    logs = f"{API}/api/v1/containers/{CID}/status-logs"
    # Before the POST the newest record is a start; afterwards a newer restart record proves it happened.
    responses.get(
        logs,
        json=envelope(
            {
                "logs": [
                    {
                        "id": "0" * 24,
                        "container_id": CID,
                        "from_status": "stopped",
                        "to_status": "running",
                        "transition_time": "2026-01-01T00:00:00Z",
                        "metadata": {"command": "start"},
                    }
                ],
                "pagination": {"total": 1, "page": 1, "limit": 1, "totalPages": 1},
            }
        ),
    )
    responses.get(
        logs,
        json=envelope(
            {
                "logs": [
                    {
                        "id": "1" * 24,
                        "container_id": CID,
                        "from_status": "running",
                        "to_status": "running",
                        "transition_time": "2026-01-01T00:01:00.000Z",
                        "metadata": {"command": "restart"},
                    }
                ],
                "pagination": {"total": 1, "page": 1, "limit": 1, "totalPages": 1},
            }
        ),
    )
    state = hoody._state(container()["data"])
    mark = hoody.evidence_mark(state, "restart")
    assert mark == Evidence("restart", "0" * 24)
    assert took_effect(hoody, state, mark)


@responses.activate
def test_names_resolve_through_the_paginated_list(hoody):
    responses.get(
        f"{API}/api/v1/containers/",
        match=[
            responses.matchers.query_param_matcher(
                {"limit": "100", "sort_by": "created_at", "sort_order": "desc", "page": "1"}
            )
        ],
        json=envelope(
            {
                "containers": [{"id": "a" * 24, "name": "other", "status": "stopped"}],
                "pagination": {"total": 2, "page": 1, "limit": 1, "totalPages": 2},
            }
        ),
    )
    responses.get(
        f"{API}/api/v1/containers/",
        match=[
            responses.matchers.query_param_matcher(
                {"limit": "100", "sort_by": "created_at", "sort_order": "desc", "page": "2"}
            )
        ],
        json=envelope(
            {
                "containers": [{"id": CID, "name": "web", "status": "stopped"}],
                "pagination": {"total": 2, "page": 2, "limit": 1, "totalPages": 2},
            }
        ),
    )
    responses.get(f"{API}/api/v1/containers/{CID}", json=container("paused"))
    assert hoody.inspect("web").status == "paused"
    assert hoody.inspect("nope").status == "absent"


@responses.activate
def test_wait_fails_fast_on_failed(hoody):
    responses.get(f"{API}/api/v1/containers/{CID}", json=container("failed"))
    state = hoody.wait_for(hoody._state(container()["data"]), ("running",), timeout=30)
    assert state.status == "failed"


def test_hoody_needs_a_token():
    with pytest.raises(errors.BadInput, match="api_token is required"):
        HoodyBackend(ApiClient(API, timeout=5, retries=0), None, None, 0.5)


DH = "http://dockhand.test"


def inspect_json(status="running", paused=False):
    return {
        "Id": "b" * 64,
        "Name": "/web",
        "State": {"Status": status, "Paused": paused, "ExitCode": 0},
        "Config": {"StopTimeout": 1, "Image": "busybox"},
    }


@pytest.fixture
def dockhand_login():
    responses.post(
        f"{DH}/api/auth/login",
        json={"success": True},
        headers={"Set-Cookie": "dockhand_session=first; Path=/; HttpOnly"},
    )
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


@responses.activate
def test_dockhand_environment_id_leaves_the_variables_it_reads_alone(dockhand_login):
    backend = DockhandBackend(ApiClient(DH, timeout=5, retries=0), 1, None, "admin", "pw", 0.01)
    assert backend.environment_id == 1
    assert declared(DockhandBackend)["api_url"].env == ("DOCKHAND_URL",) and not hasattr(backend, "environment")


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
        body = envelope(
            {
                "containers": [item(n) for n in range(len(ids))],
                "pagination": {"total": len(ids), "page": 1, "limit": 100},
            }
        )
        engine["status"] = "running"  # the fleet has started by the next round
        return 200, {}, json.dumps(body)

    def read_one(request, n):
        direct.append(n)
        return 200, {}, json.dumps(envelope(item(n)))

    responses.add_callback(responses.GET, f"{API}/api/v1/containers/", callback=listing)
    for n, cid in enumerate(ids):
        responses.add_callback(
            responses.GET, f"{API}/api/v1/containers/{cid}", callback=lambda request, n=n: read_one(request, n)
        )
    waiting = [ContainerState(cid, f"c{n}", "stopped", "stopped") for n, cid in enumerate(ids)]
    with ThreadPoolExecutor(len(ids)) as pool:
        states = list(pool.map(lambda state: backend.wait_for(state, ("running",), 10), waiting))
    assert [state.status for state in states] == ["running"] * len(ids)
    assert 1 <= len(listings) <= 3, "one listing per round serves every waiter"
    assert all("include_deleting=true" in url for url in listings)
    # Waiters read their container alone only while fewer than four wait (how many do depends on how fast the
    # threads start: on a quiet machine three, twice); alone, eight waiters would make at least sixteen reads.
    assert len(direct) < 2 * len(ids), direct


# Dockhand as the real 1.0.36 behaves (contract section (e)), and answers it must not trust blindly.

DH_ID = "b" * 64


def dockhand(token=None, user="admin", password="pw", retries=0):
    return DockhandBackend(
        ApiClient(DH, timeout=5, retries=retries), 1, token, None if token else user, None if token else password, 0.01
    )


def dockhand_env(**fields):
    responses.get(f"{DH}/api/environments/1", json={"id": 1, "name": "local", "collectActivity": True, **fields})


def running_inspect(exit_code=0, status="running", started="2026-12-02T05:00:00.123456789Z"):
    data = inspect_json(status)
    data["State"].update(ExitCode=exit_code, StartedAt=started)
    data["HostConfig"] = {"RestartPolicy": {"Name": "no"}, "Memory": 0, "MemorySwap": 0}
    return data


@responses.activate
def test_dockhand_quotes_every_container_reference():
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    responses.get(f"{DH}/api/containers/a%2F..%2Fb", status=404, json={"error": "No such container"})
    responses.post(f"{DH}/api/containers/we%20b/start", json={"success": True})
    assert backend.inspect("a/../b").status == "absent"
    backend.perform(ContainerState("we b", "we b", "stopped", "exited"), "start", None)
    assert [call.request.path_url.split("?")[0] for call in responses.calls[1:]] == [
        "/api/containers/a%2F..%2Fb",
        "/api/containers/we%20b/start",
    ]


@pytest.mark.parametrize(
    ("route", "answer", "named"),
    [
        ("list", {"json": {"containers": []}}, "GET /api/containers is not a list of containers"),
        ("list", {"json": [{"name": "web"}]}, "an entry has no id or name"),
        ("list", {"body": "<html>login</html>", "content_type": "text/html"}, "GET /api/containers is not JSON"),
        ("inspect", {"json": {"Id": DH_ID, "Name": "/web"}}, f"GET /api/containers/{DH_ID} is not a container"),
        ("inspect", {"json": ["x"]}, "inspect data (Id, Name, State)"),
        ("history", {"json": {"events": "none"}}, "GET /api/activity is not a page of activity events"),
        ("history", {"json": {"events": [{"action": "start"}], "total": 1}}, "each with a timestamp"),
    ],
)
@responses.activate
def test_dockhand_answers_of_the_wrong_shape_are_named_errors(route, answer, named):
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    if route == "list":
        responses.get(f"{DH}/api/containers", **answer)
        call = lambda: backend.list({})  # noqa: E731
    elif route == "inspect":
        responses.get(f"{DH}/api/containers/{DH_ID}", **answer)
        call = lambda: backend.inspect(DH_ID)  # noqa: E731
    else:
        responses.get(f"{DH}/api/containers/{DH_ID}", json=running_inspect())
        responses.get(f"{DH}/api/activity", **answer)
        call = lambda: backend.status_history(DH_ID, None, None)  # noqa: E731
    with pytest.raises(errors.OperationFailed) as caught:
        call()
    assert named in str(caught.value)


@pytest.mark.parametrize(
    ("token", "said"),
    [("dh_" + "x" * 43, "it is unknown, revoked or expired"), ("not-a-dockhand-token", "start with dh_")],
)
@responses.activate
def test_dockhand_says_the_token_was_rejected(token, said):
    responses.get(f"{DH}/api/environments/1", status=401, json={"error": "Unauthorized"})
    with pytest.raises(errors.ConnectionFailed) as caught:
        dockhand(token=token)
    message = str(caught.value)
    assert "Dockhand rejected api_token (401)" in message and said in message
    assert "set api_token, or" not in message and token not in message


@responses.activate
def test_dockhand_without_credentials_is_told_to_set_them():
    responses.get(f"{DH}/api/environments/1", status=401, json={"error": "Unauthorized"})
    with pytest.raises(errors.ConnectionFailed, match="set api_token, or api_username and api_password"):
        DockhandBackend(ApiClient(DH, timeout=5, retries=0), 1, None, None, None, 0.01)


@responses.activate
def test_dockhand_bearer_lockout_is_a_clear_connection_failure():
    token = "dh_" + "v" * 43
    responses.get(
        f"{DH}/api/environments/1",
        status=429,
        headers={"Retry-After": "300"},
        json={"error": "Too many failed authentication attempts"},
    )
    with pytest.raises(errors.ConnectionFailed) as caught:
        dockhand(token=token)
    message = str(caught.value)
    assert "refuses requests from this address for now" in message and "429" in message
    assert "for 5 minutes" in message and token not in message


@responses.activate
def test_dockhand_empty_listing_of_a_dead_engine_is_an_error_asked_once():
    dockhand_env(name="edge")
    backend = dockhand(token="dh_" + "t" * 43)
    responses.get(f"{DH}/api/containers", json=[])
    probe = responses.post(f"{DH}/api/environments/1/test", json={"success": False, "error": "Connection error"})
    for _ in range(2):
        with pytest.raises(errors.ConnectionFailed) as caught:
            backend.list({"name": "web-*"})
        assert (
            "Dockhand environment 1 (edge) cannot reach its Docker engine: Connection error "
            "(POST /api/environments/1/test)"
        ) in str(caught.value)
    assert probe.call_count == 1


@responses.activate
def test_dockhand_empty_listing_of_a_live_engine_is_empty():
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    responses.get(f"{DH}/api/containers", json=[])
    responses.post(f"{DH}/api/environments/1/test", json={"success": True, "info": {"containers": 0}})
    assert backend.list({}) == [] and backend.list({}) == []
    assert [c.request.method for c in responses.calls].count("POST") == 1


@responses.activate
def test_dockhand_read_failing_in_a_dead_environment_says_so():
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    responses.get(f"{DH}/api/containers/web", status=500, json={"error": "Failed to inspect container"})
    responses.post(f"{DH}/api/environments/1/test", json={"success": False, "error": "Docker socket not accessible"})
    with pytest.raises(errors.ConnectionFailed, match="cannot reach its Docker engine: Docker socket not accessible"):
        backend.inspect("web")


@pytest.mark.parametrize(("exit_code", "forced"), [(137, True), (0, False), (143, False)])
@responses.activate
def test_dockhand_stop_reports_forced_from_the_exit_code(exit_code, forced):
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    url = f"{DH}/api/containers/{DH_ID}"
    responses.get(url, json=running_inspect())
    responses.post(f"{url}/stop", json={"success": True})
    responses.get(url, json=running_inspect(exit_code, "exited"))
    before = backend.inspect(DH_ID)
    assert backend.perform(before, "stop", None) is forced


@pytest.mark.parametrize(
    ("kills", "forced"),
    [
        ([("2026-12-02T05:01:00.500Z", "9"), ("2026-12-02T05:00:59.500Z", "15")], True),
        ([("2026-12-02T05:00:59.500Z", "15")], False),
        ([("2026-12-02T04:59:00.000Z", "9")], False),  # a kill of an earlier run
    ],
)
@responses.activate
def test_dockhand_restart_reports_forced_from_the_activity_log(kills, forced):
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    url = f"{DH}/api/containers/{DH_ID}"
    responses.get(url, json=running_inspect())
    responses.post(f"{url}/restart", json={"success": True})
    responses.get(url, json=running_inspect(started="2026-12-02T05:01:00.600000001Z"))
    rows = [
        {"id": n, "containerId": DH_ID, "action": "kill", "timestamp": moment, "actorAttributes": {"signal": signal}}
        for n, (moment, signal) in enumerate(kills)
    ]
    activity = responses.get(f"{DH}/api/activity", json={"events": rows, "total": len(rows)})
    assert backend.perform(backend.inspect(DH_ID), "restart", None) is forced
    assert f"containerId={DH_ID}" in activity.calls[0].request.url and "actions=kill" in activity.calls[0].request.url


@responses.activate
def test_dockhand_lost_answer_to_a_lifecycle_post_propagates_unchanged():
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    responses.post(f"{DH}/api/containers/{DH_ID}/pause", body=requests.exceptions.ConnectionError("reset"))
    with pytest.raises(errors.OutcomeUnknown):
        backend.perform(ContainerState(DH_ID, "web", "running", "running"), "pause", None)
    assert [c.request.method for c in responses.calls].count("POST") == 1


@responses.activate
def test_dockhand_status_logs_warn_when_activity_is_off_or_never_collected():
    dockhand_env(collectActivity=False)
    backend = dockhand(token="dh_" + "t" * 43)
    responses.get(f"{DH}/api/containers/{DH_ID}", json=running_inspect())
    responses.get(f"{DH}/api/activity", json={"events": [], "total": 0, "limit": 100, "offset": 0})
    assert backend.status_history(DH_ID, None, None) == []
    assert len(backend.warnings) == 2
    assert "Dockhand environment 1 (local) has activity collection off (collectActivity: false)" in backend.warnings[0]
    assert "activity log has never recorded an event for Dockhand environment 1" in backend.warnings[1]


@responses.activate
def test_dockhand_status_logs_with_collected_activity_do_not_warn():
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    responses.get(f"{DH}/api/containers/{DH_ID}", json=running_inspect())
    responses.get(f"{DH}/api/activity", json={"events": [], "total": 0})  # none for this container
    responses.get(
        f"{DH}/api/activity", json={"events": [{"id": 1, "timestamp": "2026-12-02T05:00:00.000Z"}], "total": 40}
    )
    assert backend.status_history(DH_ID, None, None) == [] and backend.warnings == []


@responses.activate
def test_dockhand_logs_out_on_close_only_after_a_password_login():
    responses.post(
        f"{DH}/api/auth/login",
        json={"success": True},
        headers={"Set-Cookie": "dockhand_session=s3ssion; Path=/; HttpOnly"},
    )
    dockhand_env()
    logout = responses.post(f"{DH}/api/auth/logout", json={"success": True})
    dockhand().close()
    assert logout.call_count == 1 and "dockhand_session=s3ssion" in logout.calls[0].request.headers["Cookie"]
    dockhand(token="dh_" + "t" * 43).close()
    assert logout.call_count == 1


@pytest.mark.parametrize("failure", [{"status": 500}, {"body": requests.exceptions.ConnectionError("gone")}])
@responses.activate
def test_dockhand_close_survives_a_failed_logout(failure):
    responses.post(
        f"{DH}/api/auth/login",
        json={"success": True},
        headers={"Set-Cookie": "dockhand_session=s3ssion; Path=/; HttpOnly"},
    )
    dockhand_env()
    logout = responses.post(f"{DH}/api/auth/logout", **failure)
    dockhand().close()  # does not raise
    assert logout.call_count == 1


@responses.activate
def test_dockhand_update_runtime_sends_dockers_update_fields():
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    url = f"{DH}/api/containers/{DH_ID}"
    responses.get(url, json=running_inspect())
    update = responses.post(f"{url}/update-runtime", json={"success": True, "warnings": ["swap limit ignored"]})
    container = backend.inspect(DH_ID)
    assert backend.settings.read(container)["autostart"] is False
    backend.settings.update(container, {"autostart": True, "resources.memory": 64 * 2**20, "resources.cpus": 0.5})
    assert json.loads(update.calls[0].request.body) == {
        "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
        "Memory": 64 * 2**20,
        "MemorySwap": 128 * 2**20,
        "NanoCpus": 500_000_000,
    }
    assert "env=1" in update.calls[0].request.url
    assert backend.warnings == ["the engine warned about the update of 'web': swap limit ignored"]


@responses.activate
def test_dockhand_without_update_runtime_says_which_version_has_it():
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    url = f"{DH}/api/containers/{DH_ID}"
    responses.get(url, json=running_inspect())
    responses.post(f"{url}/update-runtime", status=404, body="Not Found", content_type="text/plain")
    with pytest.raises(errors.Unsupported, match=r"needs Dockhand 1\.0\.33 or later"):
        backend.settings.update(backend.inspect(DH_ID), {"autostart": True})
    assert "environment of an existing container" in backend.settings.why_not_settable("environment_vars")


@pytest.mark.parametrize(
    ("started_after", "done"), [("2026-12-02T05:01:00.600000001Z", True), ("2026-12-02T05:00:00.123456789Z", False)]
)
@responses.activate
def test_dockhand_lost_restart_counts_when_the_container_runs_a_new_run(started_after, done):
    dockhand_env()
    backend = dockhand(token="dh_" + "t" * 43)
    url = f"{DH}/api/containers/{DH_ID}"
    responses.get(url, json=running_inspect())
    before = backend.inspect(DH_ID)
    mark = backend.evidence_mark(before, "restart")
    assert mark == Evidence("restart", "2026-12-02T05:00:00.123456789Z")
    responses.replace(responses.GET, url, json=running_inspect(started=started_after))
    backend.stop_deadline = lambda container, stop_timeout: 0.05  # the container's whole stop window, shortened
    assert took_effect(backend, before, mark) is done
    assert backend.evidence_mark(before, "pause") == Evidence("pause")
