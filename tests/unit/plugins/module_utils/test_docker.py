"""Engine faults a real Docker engine cannot produce on demand, and what the Docker backend makes of them.

A tiny HTTP server on 127.0.0.1 plays the engine (the SDK talks to ``tcp://`` engines over plain HTTP):
it answers 5xx, malformed or empty bodies, hangs like a frozen dockerd or drops the connection like a
killed one. Every fault must leave ``DockerBackend`` as a ``ContainerOpsError`` saying what happened.
The real engine's side of these faults is in ``tests/integration/test_engine_faults.py``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Callable, Optional

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _backend
from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker import DockerBackend
from ansible_collections.containerops.lifecycle.plugins.modules import container_info

CID = "c0ffee" + "0" * 58
RAW_FAULTS = ("Traceback", "JSONDecodeError", "KeyError", "UnixHTTPConnectionPool", "HTTPConnectionPool")


def inspect_body(status: str = "running", name: str = "web") -> dict:
    return {
        "Id": CID,
        "Name": f"/{name}",
        "State": {
            "Status": status,
            "Running": status == "running",
            "ExitCode": 0,
            "StartedAt": "2026-01-01T00:00:00Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
        },
        "Config": {"Image": "busybox", "Labels": {}, "Env": []},
        "HostConfig": {"RestartPolicy": {"Name": "no"}},
        "NetworkSettings": {"Networks": {}, "Ports": {}},
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _route(self) -> None:
        engine: FakeEngine = self.server.engine  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        engine.requests.append((self.command, self.path))
        path = re.sub(r"^/v1\.\d+", "", self.path.split("?")[0])
        for method, pattern, answer in reversed(engine.routes):
            if method == self.command and re.fullmatch(pattern, path):
                answer(self)
                return
        self.reply(404, {"message": f"no route for {self.command} {path}"})

    do_GET = do_POST = do_DELETE = _route

    def reply(self, status: int, body=None, raw: Optional[bytes] = None) -> None:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeEngine:
    """An HTTP server answering like a Docker engine, one route at a time; later routes win."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.release = threading.Event()
        self.routes: list[tuple[str, str, Callable[[Handler], None]]] = []
        self.answer("GET", "/version", 200, {"ApiVersion": "1.41", "Version": "20.10.24"})
        self.answer("GET", "/_ping", 200, raw=b"OK")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.engine = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.host = f"tcp://127.0.0.1:{self.server.server_address[1]}"

    def route(self, method: str, pattern: str, answer: Callable[[Handler], None]) -> None:
        self.routes.append((method, pattern, answer))

    def answer(self, method: str, pattern: str, status: int, body=None, raw: Optional[bytes] = None) -> None:
        self.route(method, pattern, lambda handler: handler.reply(status, body, raw))

    def hang(self, method: str, pattern: str) -> None:
        """Never answer, like a frozen dockerd (until the test ends)."""
        self.route(method, pattern, lambda handler: self.release.wait(30))

    def drop(self, method: str, pattern: str) -> None:
        """Close the connection without an answer, like a dockerd killed mid-request."""

        def close(handler: Handler) -> None:
            handler.close_connection = True
            handler.connection.shutdown(2)

        self.route(method, pattern, close)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    engine = FakeEngine()
    yield engine
    engine.stop()


@pytest.fixture
def backend(fake):
    docker_backend = DockerBackend(fake.host, timeout=1, retries=0, pool_size=2)
    yield docker_backend
    docker_backend.close()


def clean(message: str) -> str:
    """The message, checked to carry none of the raw fault's own text."""
    assert not any(raw in message for raw in RAW_FAULTS), message
    return message


# Reads ---------------------------------------------------------------------------------------------


def test_a_5xx_on_inspect_names_what_was_read(fake, backend):
    fake.answer("GET", "/containers/web/json", 500, {"message": "layer store is broken"})
    with pytest.raises(errors.OperationFailed) as caught:
        backend.inspect("web")
    assert clean(str(caught.value)) == (
        f"the Docker engine at {fake.host} answered 500 while inspecting container 'web': layer store is broken"
    )


def test_a_5xx_on_the_listing_names_it(fake, backend):
    fake.answer("GET", "/containers/json", 500, {"message": "boom"})
    with pytest.raises(errors.OperationFailed, match="answered 500 while listing containers: boom"):
        backend.list({})


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b"", "an empty body"),
        (b"<html>proxy error</html>", "not JSON (Expecting value at character 0)"),
        (b'{"Id": "abc", "Name": "/web"}', "it has no 'State'"),
    ],
)
def test_a_malformed_inspect_answer_is_named_not_a_crash(fake, backend, raw, said):
    fake.answer("GET", "/containers/web/json", 200, raw=raw)
    with pytest.raises(errors.OperationFailed) as caught:
        backend.inspect("web")
    assert clean(str(caught.value)) == (
        f"the Docker engine at {fake.host} sent a malformed answer while inspecting container 'web': {said}"
    )


def test_an_engine_error_with_escape_sequences_is_quoted_escaped(fake, backend):
    fake.answer("GET", "/containers/web/json", 400, {"message": "no \x1b]0;pwned\x07\x1b[2J \u202eweb\nsecond line"})
    with pytest.raises(errors.OperationFailed) as caught:
        backend.inspect("web")
    assert str(caught.value) == (
        f"the Docker engine at {fake.host} answered 400 while inspecting container 'web': "
        "no \\x1b]0;pwned\\x07\\x1b[2J \\u202eweb second line"
    )


def test_a_listing_of_the_wrong_shape_is_malformed(fake, backend):
    fake.answer("GET", "/containers/json", 200, [{"Names": ["/web"], "State": "running"}])  # no Id
    with pytest.raises(errors.OperationFailed, match="malformed answer while listing containers: it has no 'Id'"):
        backend.list({})


def test_a_frozen_engine_is_a_connection_failure_naming_the_host_and_the_timeout(fake, backend):
    fake.hang("GET", "/containers/web/json")
    began = time.monotonic()
    with pytest.raises(errors.ConnectionFailed) as caught:
        backend.inspect("web")
    assert time.monotonic() - began < 3
    assert not isinstance(caught.value, errors.EngineLost)  # a read: nothing was in flight
    assert clean(str(caught.value)) == (
        f"the Docker engine at {fake.host} (docker_host) did not answer within 1s (timeout) while inspecting "
        "container 'web'"
    )


def test_an_engine_frozen_before_the_first_request_is_named(fake):
    fake.hang("GET", "/version")
    with pytest.raises(errors.ConnectionFailed) as caught:
        DockerBackend(fake.host, timeout=1, retries=0, pool_size=1)
    assert clean(str(caught.value)).startswith(
        f"the Docker engine at {fake.host} (docker_host) did not answer within 1s (timeout)"
    )


def test_a_connection_dropped_during_a_read_is_retried_then_named(fake):
    fake.drop("GET", "/containers/web/json")
    backend = DockerBackend(fake.host, timeout=1, retries=1, pool_size=1)
    with pytest.raises(errors.ConnectionFailed) as caught:
        backend.inspect("web")
    assert clean(str(caught.value)) == (
        f"cannot reach the Docker engine at {fake.host} (docker_host) while inspecting container 'web': "
        "the connection was closed without an answer"
    )
    assert fake.requests.count(("GET", "/v1.41/containers/web/json")) == 2


def answers_in_turn(*answers: tuple[int, Optional[dict]]) -> Callable[[Handler], None]:
    """A route answering with each (status, body) in turn, then the last one again."""
    queue = list(answers)

    def answer(handler: Handler) -> None:
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        handler.reply(status, body)

    return answer


def test_a_container_read_dead_just_after_its_removal_is_absent(fake, backend):
    # Docker answers 'dead' to a read that waited on the container while it was being removed.
    fake.route("GET", "/containers/web/json", answers_in_turn((200, inspect_body("dead")), (404, {"message": "gone"})))
    assert backend.inspect("web").status == "absent"


def test_a_container_that_stays_dead_is_failed(fake, backend):
    fake.answer("GET", "/containers/web/json", 200, inspect_body("dead"))
    assert backend.inspect("web").status == "failed"
    assert fake.requests.count(("GET", "/v1.41/containers/web/json")) == 2


# Operations ----------------------------------------------------------------------------------------


def running(name: str = "web") -> ContainerState:
    return ContainerState(CID, name, "running", "running", details=inspect_body("running", name))


def test_an_operation_whose_connection_drops_is_engine_lost(fake, backend):
    fake.drop("POST", f"/containers/{CID}/start")
    with pytest.raises(errors.EngineLost) as caught:
        backend.perform(running(), "start", None)
    assert isinstance(caught.value, errors.ConnectionFailed)
    assert clean(str(caught.value)) == (
        f"engine lost during start: cannot reach the Docker engine at {fake.host} (docker_host): the connection "
        "was closed without an answer; whether the start took effect is unknown"
    )
    assert fake.requests.count(("POST", f"/v1.41/containers/{CID}/start")) == 1  # never resent blindly


def test_an_operation_a_frozen_engine_never_answers_is_engine_lost(fake, backend):
    fake.hang("POST", f"/containers/{CID}/pause")
    fake.hang("GET", "/_ping")
    with pytest.raises(errors.EngineLost) as caught:
        backend.perform(running(), "pause", None)
    assert clean(str(caught.value)).startswith(
        f"engine lost during pause: the Docker engine at {fake.host} (docker_host) did not answer it within 1s, "
        "nor a ping within 1s (timeout)"
    )


def test_a_slow_operation_on_an_engine_that_still_answers_is_read_again(fake, backend):
    fake.hang("POST", f"/containers/{CID}/pause")
    with pytest.raises(errors.OperationFailed) as caught:
        backend.perform(running(), "pause", None)
    assert not isinstance(caught.value, errors.EngineLost)
    assert "pause got no answer within 1s (timeout), although the engine still answers" in str(caught.value)


@pytest.fixture
def no_stop_margin(monkeypatch):
    """A graceful stop counts as hung right after its stop_timeout, so these tests take a second."""
    monkeypatch.setattr(_backend, "STOP_MARGIN", 0)


def test_a_hung_graceful_stop_on_a_live_engine_is_a_wait_timeout(fake, backend, no_stop_margin):
    fake.hang("POST", f"/containers/{CID}/stop")
    with pytest.raises(errors.WaitTimeout, match="graceful stop did not finish within 1s"):
        backend.perform(running(), "stop", 1)


def test_a_stop_a_frozen_engine_never_answers_is_engine_lost(fake, backend, no_stop_margin):
    fake.hang("POST", f"/containers/{CID}/stop")
    fake.hang("GET", "/_ping")
    with pytest.raises(errors.EngineLost) as caught:
        backend.perform(running(), "stop", 1)
    assert str(caught.value).startswith(
        f"engine lost during stop: the Docker engine at {fake.host} (docker_host) did not answer"
    )


def test_a_5xx_on_an_operation_fails_it_and_a_409_is_a_conflict(fake, backend):
    fake.answer("POST", f"/containers/{CID}/start", 500, {"message": "OCI runtime create failed"})
    with pytest.raises(errors.OperationFailed, match="start failed: OCI runtime create failed"):
        backend.perform(running(), "start", None)
    fake.answer("DELETE", f"/containers/{CID}", 409, {"message": "removal of container is already in progress"})
    with pytest.raises(errors.OperationConflict, match="delete refused by the engine: removal of container"):
        backend.perform(running(), "delete", None)


def test_a_kill_refused_during_a_restart_loop_becomes_a_stop_without_grace(fake, backend):
    fake.answer(
        "POST",
        f"/containers/{CID}/kill",
        409,
        {"message": f"Container {CID} is restarting, wait until the container is running"},
    )
    fake.answer("POST", f"/containers/{CID}/stop", 204)
    fake.answer("POST", f"/containers/{CID}/wait", 200, {"StatusCode": 3, "Error": None})
    crash_loop = ContainerState(CID, "loop", "restarting", "restarting", details=inspect_body("restarting", "loop"))
    assert backend.perform(crash_loop, "force-stop", None) is True
    posts = [path for method, path in fake.requests if method == "POST"]
    assert posts == [
        f"/v1.41/containers/{CID}/kill",
        f"/v1.41/containers/{CID}/stop?t=0",
        f"/v1.41/containers/{CID}/wait?condition=not-running",
    ]


def test_an_update_that_loses_the_engine_is_engine_lost(fake, backend):
    fake.drop("POST", f"/containers/{CID}/update")
    with pytest.raises(errors.EngineLost, match=r"^engine lost during update: cannot reach"):
        backend.settings.update(running(), {"autostart": True})


def test_configuration_of_a_container_removed_meanwhile_is_not_found(fake, backend):
    fake.answer("GET", f"/containers/{CID}/json", 404, {"message": "No such container"})
    with pytest.raises(errors.ContainerNotFound, match="container 'web' not found: it was removed before"):
        backend.settings.read(ContainerState(CID, "web", "running", "running"))  # listed: read by its id
    fake.answer("POST", f"/containers/{CID}/update", 404, {"message": "No such container"})
    with pytest.raises(errors.ContainerNotFound, match="it disappeared during the update"):
        backend.settings.update(running(), {"autostart": True})


# Waits ---------------------------------------------------------------------------------------------


def silent_stream(fake: FakeEngine):
    """An event stream that starts and then says nothing, past its ``until``: a frozen engine."""

    def answer(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.flush()
        fake.release.wait(30)

    return answer


def test_a_wait_on_an_engine_that_froze_mid_stream_ends_and_says_how_long_it_really_took(fake, backend):
    fake.answer("GET", f"/containers/{CID}/json", 200, inspect_body("restarting"))
    fake.route("GET", "/events", silent_stream(fake))
    began = time.monotonic()
    with pytest.raises(errors.WaitTimeout) as caught:
        backend.wait_for(running(), ("stopped",), 1)
    took = time.monotonic() - began
    # The stream's read times out shortly after its window: the wait ends, and says the time it took.
    assert 2.5 < took < 5
    assert str(caught.value) == f"waiting for stopped: still 'restarting' after {took:.0f}s"


def test_an_event_stream_broken_mid_history_is_a_connection_failure(fake, backend):
    fake.answer("GET", "/containers/web/json", 200, inspect_body())

    def broken(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        event = json.dumps({"Type": "container", "Action": "start", "id": CID, "time": 1}).encode()
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        handler.wfile.write(b'40\r\n{"Type": "cont')  # then the engine dies mid-chunk
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(2)

    fake.route("GET", "/events", broken)
    with pytest.raises(errors.ConnectionFailed) as caught:
        backend.status_history("web", None, None)
    assert clean(str(caught.value)) == (
        f"cannot reach the Docker engine at {fake.host} (docker_host) while reading the engine's events for 'web': "
        "the answer was cut off"
    )


# Reports -------------------------------------------------------------------------------------------


def test_describe_of_a_container_removed_since_it_was_listed_is_not_found(fake, backend):
    fake.answer("GET", f"/containers/{CID}/json", 404, {"message": "No such container"})
    listed = ContainerState(CID, "web", "running", "running")
    with pytest.raises(errors.ContainerNotFound) as caught:
        backend.describe(listed, runtime=False)
    assert str(caught.value) == "container 'web' not found: it was removed before it could be read"


def test_container_info_reports_a_container_removed_since_listing_as_absent(fake, backend):
    fake.answer("GET", f"/containers/{CID}/json", 404, {"message": "No such container"})
    other = "b" + "1" * 63
    fake.answer("GET", f"/containers/{other}/json", 200, {**inspect_body("exited", "db"), "Id": other})
    lifecycle = SimpleNamespace(
        backend=backend,
        params={"runtime": False, "parallel": 2},
        select_targets=lambda: [
            ContainerState(CID, "web", "running", "running"),
            ContainerState(other, "db", "stopped", "exited"),
        ],
    )
    result = container_info.run(lifecycle)
    assert result["containers"][0] == {"name": "web", "exists": False}
    assert result["containers"][1]["exists"] is True and result["containers"][1]["status"] == "stopped"


def test_an_empty_stats_answer_is_reported_in_runtime_not_a_crash(fake, backend):
    fake.answer("GET", f"/containers/{CID}/json", 200, inspect_body())
    fake.answer("GET", f"/containers/{CID}/top", 200, {"Titles": ["PID", "CMD"], "Processes": [["1", "sh"]]})
    fake.answer("GET", f"/containers/{CID}/stats", 200, raw=b"")
    info = backend.describe(ContainerState(CID, "web", "running", "running"), runtime=True)
    assert info["exists"] is True and info["status"] == "running"
    assert clean(info["runtime"]["error"]) == (
        f"the Docker engine at {fake.host} sent a malformed answer while reading the runtime details of 'web': "
        "an empty body"
    )
    assert info["runtime"]["resource_usage"] is None


def test_a_container_stopped_while_its_runtime_is_read_keeps_its_entry(fake, backend):
    fake.answer("GET", f"/containers/{CID}/json", 200, inspect_body())
    fake.answer("GET", f"/containers/{CID}/top", 409, {"message": f"Container {CID} is not running"})
    info = backend.describe(ContainerState(CID, "web", "running", "running"), runtime=True)
    assert info["runtime"]["error"].endswith(
        f"answered 409 while reading the runtime details of 'web': Container {CID} is not running"
    )


def test_a_container_removed_while_its_runtime_is_read_is_not_found(fake, backend):
    fake.answer("GET", f"/containers/{CID}/json", 200, inspect_body())
    fake.answer("GET", f"/containers/{CID}/top", 404, {"message": "No such container"})
    with pytest.raises(errors.ContainerNotFound, match="it was removed while it was being read"):
        backend.describe(ContainerState(CID, "web", "running", "running"), runtime=True)


# Podman behind docker_host -------------------------------------------------------------------------


def test_podmans_compatible_socket_warns_once_to_use_backend_podman(fake):
    podman = {"ApiVersion": "1.41", "Components": [{"Name": "Podman Engine", "Version": "4.3.1"}]}
    fake.answer("GET", "/version", 200, podman)
    docker_backend = DockerBackend(fake.host, timeout=1, retries=0, pool_size=1)
    try:
        (warning,) = docker_backend.warnings
    finally:
        docker_backend.close()
    assert "is Podman's Docker-compatible API" in warning
    assert f"use backend: podman (podman_host: {fake.host})" in warning


def test_a_docker_engine_is_not_taken_for_podman(backend):
    assert backend.warnings == []
