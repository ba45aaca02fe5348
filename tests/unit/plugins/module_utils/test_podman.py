"""The Podman backend: its libpod client over tcp:// (``responses``), its decisions as pure functions, its connection,
and its edge over a fake libpod service (``test_docker.FakeEngine``, answering libpod's paths)."""

from __future__ import annotations

import json
import os
import urllib.parse
from typing import Optional

import pytest
import responses

from ansible_collections.containerops.lifecycle.plugins.module_utils import _backend, _podman
from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import Connection
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import STATUSES
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import CONNECTION_SPEC
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman import (
    LibpodClient,
    PodmanApiError,
    PodmanBackend,
    PodmanUnreachable,
)
from tests.unit.plugins.module_utils.test_docker import FakeEngine
from tests.unit.runtime_shape import assert_runtime_shape

HOST = "tcp://127.0.0.1:9"
API = "http://127.0.0.1:9/v4.0.0/libpod"


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)


# The client ----------------------------------------------------------------------------------------


@responses.activate
def test_call_returns_the_json_of_a_path_under_the_libpod_root():
    responses.get(
        f"{API}/containers/json",
        json=[{"Id": "a" * 64}],
        match=[responses.matchers.query_param_matcher({"all": "True"})],
    )
    assert LibpodClient(HOST, 5, 0).call("GET", "/containers/json", {"all": True}) == [{"Id": "a" * 64}]


@responses.activate
def test_an_empty_answer_is_none_and_a_plain_text_one_its_text():
    responses.post(f"{API}/containers/x/start", status=204)
    responses.get(f"{API}/_ping", body="OK", content_type="text/plain")
    client = LibpodClient(HOST, 5, 0)
    assert client.call("POST", "/containers/x/start") is None
    assert client.call("GET", "/_ping") == "OK"


@responses.activate
def test_an_error_answer_is_a_podman_api_error_with_libpods_message_made_safe():
    responses.post(
        f"{API}/containers/x/pause",
        status=500,
        json={
            "cause": "container state improper",
            "message": '\x1b[2J"x" is not running: container state improper',
            "response": 500,
        },
    )
    with pytest.raises(PodmanApiError) as caught:
        LibpodClient(HOST, 5, 3).call("POST", "/containers/x/pause")
    assert caught.value.status == 500
    assert caught.value.message == '\\x1b[2J"x" is not running: container state improper'
    assert len(responses.calls) == 1  # a request that changes something is never sent again


@responses.activate
def test_a_read_is_retried_on_a_transient_answer_and_a_change_is_not(no_sleep):
    responses.get(f"{API}/containers/json", status=503, json={"message": "busy"})
    responses.get(f"{API}/containers/json", json=[])
    responses.post(f"{API}/containers/x/stop", status=503, json={"message": "busy"})
    client = LibpodClient(HOST, 5, 2)
    assert client.call("GET", "/containers/json") == []
    with pytest.raises(PodmanApiError) as caught:
        client.call("POST", "/containers/x/stop")
    assert caught.value.status == 503 and len(responses.calls) == 3


@responses.activate
def test_a_malformed_answer_is_a_podman_api_error():
    responses.get(f"{API}/containers/x/json", body="{not json", content_type="application/json")
    with pytest.raises(PodmanApiError, match="the answer is not JSON"):
        LibpodClient(HOST, 5, 0).call("GET", "/containers/x/json")


@responses.activate
def test_stream_yields_each_json_line_and_skips_blank_ones():
    responses.get(f"{API}/events", body='{"Action": "start"}\n\n{"Action": "died"}\n', content_type="application/json")
    assert list(LibpodClient(HOST, 5, 0).stream("GET", "/events", {"stream": "true"})) == [
        {"Action": "start"},
        {"Action": "died"},
    ]


def test_a_missing_socket_is_unreachable_in_plain_words_and_nothing_was_in_flight(tmp_path):
    client = LibpodClient(f"unix://{tmp_path}/podman.sock", 2, 0)
    with pytest.raises(PodmanUnreachable) as caught:
        client.call("POST", "/containers/x/stop")
    assert str(caught.value) == f"cannot reach the Podman service at unix://{tmp_path}/podman.sock: no such socket file"
    assert not caught.value.in_flight and not caught.value.timed_out


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("http://h:1", "must be a unix:// or tcp:// URL"),
        ("ssh://me@h/run/podman/podman.sock", "ssh:// is not supported by backend podman"),
        ("unix://run/podman.sock", "absolute path"),
        ("tcp://h", "must be tcp://host:port"),
        ("tcp://h:port", "must be a unix:// or tcp:// URL"),
    ],
)
def test_a_host_the_client_cannot_use_is_refused_before_anything_is_sent(host, words):
    with pytest.raises(BadInput, match=words):
        _podman.check_host(host)


# Decisions as pure functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine_status", "status"),
    [
        ("configured", "stopped"),
        ("created", "stopped"),
        ("exited", "stopped"),
        ("stopped", "stopped"),
        ("stopping", "stopping"),
        ("removing", "removing"),
        ("restarting", "restarting"),
        ("paused", "paused"),
        ("running", "running"),
        ("unknown", "failed"),
    ],
)
def test_libpod_statuses_map_onto_the_vocabulary_from_inspect_and_from_a_listing(engine_status, status):
    assert set(_podman.STATUS_MAP.values()) <= set(STATUSES)
    inspected = _podman.state_from_inspect(inspect_body(engine_status))
    listed = _podman.state_from_summary(summary(engine_status))
    assert (
        (inspected.status, inspected.engine_status) == (listed.status, listed.engine_status) == (status, engine_status)
    )


def test_no_health_check_is_none_never_an_empty_string():
    assert _podman.state_from_inspect(inspect_body()).health is None
    assert _podman.state_from_inspect(inspect_body(health="unhealthy")).health == "unhealthy"
    assert _podman.state_from_summary(summary(health="")).health is None
    assert _podman.state_from_summary(summary(health="Up 2 minutes")).health is None
    assert _podman.state_from_summary(summary(health="healthy")).health == "healthy"


def test_processes_are_one_dict_per_process_with_a_field_per_column():
    top = {
        "Titles": ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"],
        "Processes": [["root", "1", "0", "0.000", "55.5s", "?", "0s", "sleep infinity"]],
    }
    assert _podman.processes_from_top(top) == [
        {
            "USER": "root",
            "PID": "1",
            "PPID": "0",
            "%CPU": "0.000",
            "ELAPSED": "55.5s",
            "TTY": "?",
            "TIME": "0s",
            "COMMAND": "sleep infinity",
        }
    ]
    assert _podman.processes_from_top(None) == [] and _podman.processes_from_top({"Titles": None}) == []


@pytest.mark.parametrize(
    ("exit_code", "stop_signal", "elapsed", "forced"),
    [
        (137, 15, 10.2, True),  # SIGTERM ignored: the engine waited out the grace period, then SIGKILL
        (137, 15, 0.3, False),  # killed within the grace period, not by the engine's escalation
        (137, 9, 0.1, True),  # SIGKILL is the container's own stop signal
        (137, "SIGKILL", 0.1, True),
        (143, 15, 0.1, False),  # ended by SIGTERM
        (0, 15, 10.5, False),  # ended of its own accord, late
        (None, 15, 10.5, False),  # not known
    ],
)
def test_forced_means_the_process_died_of_sigkill_from_the_engine(exit_code, stop_signal, elapsed, forced):
    assert _podman.stop_forced(exit_code, stop_signal, elapsed, grace=10) is forced


def test_the_default_host_is_roots_socket_or_the_users_rootless_one():
    assert _podman.default_host(0, {"XDG_RUNTIME_DIR": "/run/user/0"}) == "unix:///run/podman/podman.sock"
    assert _podman.default_host(1000, {"XDG_RUNTIME_DIR": "/run/user/1000"}) == (
        "unix:///run/user/1000/podman/podman.sock"
    )
    assert _podman.default_host(1000, {}) == "unix:///run/user/1000/podman/podman.sock"


# The connection ------------------------------------------------------------------------------------


def connection(environ: dict, **given) -> Connection:
    params = {option: spec.get("default") for option, spec in CONNECTION_SPEC.items()}
    return Connection.of(PodmanBackend, dict(params, backend="podman", **given), tuple(given), environ)


def test_podman_host_comes_from_the_task_then_container_host_then_the_default():
    given = connection({"CONTAINER_HOST": "tcp://10.0.0.5:8888"}, podman_host="unix:///tmp/p.sock")
    assert PodmanBackend.address(given) == ({"podman_host": "unix:///tmp/p.sock"}, "unix:///tmp/p.sock")
    from_env = connection({"CONTAINER_HOST": "tcp://10.0.0.5:8888"})
    assert PodmanBackend.address(from_env)[1] == "tcp://10.0.0.5:8888 (podman_host, from CONTAINER_HOST)"
    defaulted = connection({})
    host = _podman.default_host(os.geteuid(), {})
    assert PodmanBackend.address(defaulted) == ({"podman_host": host}, f"{host} (podman_host's default)")
    assert defaulted.where() == f"podman at {host} (podman_host's default)"


def test_tls_options_and_an_unusable_host_are_refused_naming_where_it_came_from():
    with pytest.raises(BadInput, match="validate_certs: backend podman takes no TLS options"):
        connection({}, validate_certs=True).check()
    with pytest.raises(BadInput, match=r"\(podman_host, from CONTAINER_HOST\): ssh:// is not supported"):
        connection({"CONTAINER_HOST": "ssh://core@h/run/podman/podman.sock"}).check()


def test_a_service_that_is_not_there_is_named_with_where_its_address_came_from(tmp_path):
    backend = connection({"CONTAINER_HOST": f"unix://{tmp_path}/podman.sock"}, retries=0).connect()
    with pytest.raises(errors.ConnectionFailed) as caught:
        backend.list({})
    assert str(caught.value) == (
        f"cannot reach the Podman service at unix://{tmp_path}/podman.sock (podman_host, from CONTAINER_HOST) while "
        "listing containers: no such socket file. Check that the Podman service runs (podman system service) and "
        "that podman_host names its socket."
    )


# The backend over a fake libpod service -------------------------------------------------------------

ROOT = "/v4.0.0/libpod"
CID = "c0ffee" + "0" * 58


def inspect_body(status: str = "running", name: str = "web", health: str = "", stop_timeout: int = 10) -> dict:
    return {
        "Id": CID,
        "Name": name,
        "State": {
            "Status": status,
            "Running": status == "running",
            "ExitCode": 0,
            "Health": {"Status": health},
            "StartedAt": "2026-01-01T00:00:00Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
        },
        "Config": {"Image": "busybox", "Labels": {}, "StopTimeout": stop_timeout, "StopSignal": 15},
        "HostConfig": {"RestartPolicy": {"Name": ""}},
        "NetworkSettings": {"Networks": {}, "Ports": {}},
    }


def summary(status: str = "running", name: str = "web", health: str = "", labels: Optional[dict] = None) -> dict:
    return {"Id": CID, "Names": [name], "State": status, "Status": health, "Labels": labels, "Image": "busybox"}


@pytest.fixture
def fake():
    engine = FakeEngine()
    yield engine
    engine.stop()


@pytest.fixture
def backend(fake):
    podman = PodmanBackend(LibpodClient(fake.host, timeout=1, retries=0))
    yield podman
    podman.close()


def sent(fake: FakeEngine, method: str, path: str) -> list[dict]:
    """The query of each request ``method path`` the fake service received."""
    return [
        urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        for verb, url in fake.requests
        if verb == method and urllib.parse.urlsplit(url).path == ROOT + path
    ]


def test_a_prefix_the_service_resolves_is_not_the_container_asked_for(fake, backend):
    fake.answer("GET", f"{ROOT}/containers/c0ffee/json", 200, inspect_body())
    fake.answer("GET", f"{ROOT}/containers/{CID[:12]}/json", 200, inspect_body())
    fake.answer("GET", f"{ROOT}/containers/missing/json", 404, {"message": "no such container"})
    assert backend.inspect("c0ffee").status == "absent"
    assert backend.inspect(CID[:12]).id == CID
    assert backend.inspect("missing").status == "absent"


def test_the_listing_selects_exactly_and_sends_label_filters_to_the_service(fake, backend):
    listing = [summary(name="web", labels={"tier": "web"}), dict(summary(name="web-1"), Id="f" * 64)]
    fake.answer("GET", f"{ROOT}/containers/json", 200, listing)
    assert [state.name for state in backend.list({"name": "web"})] == ["web"]
    assert [state.name for state in backend.list({"label": ["tier=web"]})] == ["web"]
    assert json.loads(sent(fake, "GET", "/containers/json")[-1]["filters"][0]) == {"label": ["tier=web"]}
    assert [state.id for state in backend.resolve(["web-1", "web", "f" * 6])] == ["f" * 64, CID, None]


@pytest.mark.parametrize("operation", ["stop", "restart"])
@pytest.mark.parametrize(("stop_timeout", "own", "sent_timeout"), [(None, 42, "42"), (0, 42, "0"), (5, 42, "5")])
def test_stop_and_restart_always_send_the_grace_period_as_timeout(
    fake, backend, operation, stop_timeout, own, sent_timeout
):
    fake.answer("GET", f"{ROOT}/containers/(web|{CID})/json", 200, inspect_body(stop_timeout=own))
    fake.answer("POST", f"{ROOT}/containers/{CID}/{operation}", 204)
    fake.answer("GET", f"{ROOT}/events", 200, raw=b"")
    state = backend.inspect("web")
    assert backend.perform(state, operation, stop_timeout) is False
    assert sent(fake, "POST", f"/containers/{CID}/{operation}") == [{"timeout": [sent_timeout]}]


def test_a_restart_that_needed_sigkill_is_forced_by_its_died_event(fake, backend):
    fake.answer("GET", f"{ROOT}/containers/(web|{CID})/json", 200, inspect_body())
    fake.answer("POST", f"{ROOT}/containers/{CID}/restart", 204)
    earlier = {"Action": "died", "timeNano": 1, "Actor": {"ID": CID, "Attributes": {"containerExitCode": "0"}}}
    died = {"Action": "died", "timeNano": 2**62, "Actor": {"ID": CID, "Attributes": {"containerExitCode": "137"}}}
    fake.answer("GET", f"{ROOT}/events", 200, raw=f"{json.dumps(earlier)}\n{json.dumps(died)}\n".encode())
    assert backend.perform(backend.inspect("web"), "restart", 0) is True
    (query,) = sent(fake, "GET", "/events")
    assert query["stream"] == ["false"] and json.loads(query["filters"][0])["event"] == ["died"]


def test_a_state_that_does_not_allow_the_operation_is_a_conflict_in_libpods_words(fake, backend):
    improper = {"cause": "container state improper", "message": '"web" is not paused, can\'t unpause: container '
                "state improper", "response": 500}  # fmt: skip
    fake.answer("GET", f"{ROOT}/containers/web/json", 200, inspect_body())
    fake.answer("POST", f"{ROOT}/containers/{CID}/unpause", 500, improper)
    with pytest.raises(errors.OperationConflict, match='resume refused by the engine: "web" is not paused'):
        backend.perform(backend.inspect("web"), "resume", None)


def test_a_container_that_cannot_be_paused_here_is_refused_saying_why(fake, backend):
    no_cgroup = {"message": "can not pause containers on rootless containers with cgroup V1: this container does "
                 "not have a cgroup", "response": 500}  # fmt: skip
    fake.answer("GET", f"{ROOT}/containers/web/json", 200, inspect_body())
    fake.answer("POST", f"{ROOT}/containers/{CID}/pause", 500, no_cgroup)
    with pytest.raises(errors.Unsupported, match="rootless Podman pauses only on cgroup v2"):
        backend.perform(backend.inspect("web"), "pause", None)


def test_a_container_gone_during_an_operation_is_not_found(fake, backend):
    fake.answer("GET", f"{ROOT}/containers/web/json", 200, inspect_body())
    fake.answer("POST", f"{ROOT}/containers/{CID}/start", 404, {"message": "no such container"})
    with pytest.raises(errors.ContainerNotFound, match="it disappeared during start"):
        backend.perform(backend.inspect("web"), "start", None)


def test_force_stop_kills_then_waits_until_it_is_down(fake, backend):
    fake.answer("GET", f"{ROOT}/containers/web/json", 200, inspect_body())
    fake.answer("POST", f"{ROOT}/containers/{CID}/kill", 204)
    fake.answer("POST", f"{ROOT}/containers/{CID}/wait", 200, 137)
    assert backend.perform(backend.inspect("web"), "force-stop", None) is True
    assert sent(fake, "POST", f"/containers/{CID}/kill") == [{"signal": ["SIGKILL"]}]
    assert sent(fake, "POST", f"/containers/{CID}/wait") == [{"condition": ["exited", "stopped"]}]


def test_a_delete_the_service_reports_failed_in_its_answer_fails(fake, backend):
    fake.answer("GET", f"{ROOT}/containers/web/json", 200, inspect_body("exited"))
    fake.answer("DELETE", f"{ROOT}/containers/{CID}", 200, [{"Id": CID, "Err": "\x1b[2Jbusy"}])
    with pytest.raises(errors.OperationFailed, match=r"delete failed: \\x1b\[2Jbusy"):
        backend.perform(backend.inspect("web"), "delete", None)


def test_a_stop_a_frozen_service_never_answers_is_engine_lost(fake, backend, monkeypatch):
    monkeypatch.setattr(_backend, "STOP_MARGIN", 0)
    fake.answer("GET", f"{ROOT}/containers/web/json", 200, inspect_body(stop_timeout=1))
    state = backend.inspect("web")
    fake.hang("POST", f"{ROOT}/containers/{CID}/stop")
    fake.hang("GET", f"{ROOT}/_ping")
    with pytest.raises(
        errors.EngineLost, match=r"engine lost during stop: .* did not answer it within 1s, nor a ping within 1s"
    ):
        backend.perform(state, "stop", None)


def test_a_hung_stop_on_a_service_that_still_answers_is_a_wait_timeout(fake, backend, monkeypatch):
    monkeypatch.setattr(_backend, "STOP_MARGIN", 0)
    fake.answer("GET", f"{ROOT}/containers/web/json", 200, inspect_body(stop_timeout=1))
    fake.answer("GET", f"{ROOT}/_ping", 200, raw=b"OK")
    fake.hang("POST", f"{ROOT}/containers/{CID}/stop")
    with pytest.raises(errors.WaitTimeout, match="graceful stop did not finish within 1s"):
        backend.perform(backend.inspect("web"), "stop", None)


def test_runtime_is_in_the_documented_shape(fake, backend):
    fake.answer("GET", f"{ROOT}/containers/web/json", 200, inspect_body())
    fake.answer("GET", f"{ROOT}/containers/{CID}/top", 200, {"Titles": ["PID", "COMMAND"], "Processes": [["1", "sh"]]})
    stats = {"memory_stats": {"usage": 5, "limit": 9}, "cpu_stats": {"cpu_usage": {"total_usage": 7}},
             "pids_stats": {"current": 1}}  # fmt: skip
    fake.answer("GET", f"{ROOT}/containers/{CID}/stats", 200, stats)
    info = backend.describe(backend.inspect("web"), runtime=True)
    assert_runtime_shape(info["runtime"])
    assert info["health"] is None and info["runtime"]["processes"] == [{"PID": "1", "COMMAND": "sh"}]
    assert info["runtime"]["resource_usage"]["memory_usage_bytes"] == 5


def test_a_wait_follows_libpods_events_of_the_container(fake, backend):
    looks = iter(["stopping", "stopping", "exited"])
    fake.route(
        "GET", f"{ROOT}/containers/(web|{CID})/json", lambda handler: handler.reply(200, inspect_body(next(looks)))
    )
    fake.answer("GET", f"{ROOT}/events", 200, raw=json.dumps({"Action": "died", "Actor": {"ID": CID}}).encode())
    state = backend.inspect("web")
    assert state.status == "stopping"
    assert backend.wait_for(state, ("stopped",), 5).status == "stopped"
    (query,) = sent(fake, "GET", "/events")
    assert query["stream"] == ["true"] and json.loads(query["filters"][0])["container"] == [CID]


def test_a_wait_on_a_quiet_stream_ends_at_its_timeout_saying_what_was_still_true(fake, backend):
    fake.answer("GET", f"{ROOT}/containers/(web|{CID})/json", 200, inspect_body("stopping"))
    fake.hang("GET", f"{ROOT}/events")
    state = backend.inspect("web")
    with pytest.raises(errors.WaitTimeout, match="waiting for stopped: still 'stopping' after 2s"):
        backend.wait_for(state, ("stopped",), 1.5)
