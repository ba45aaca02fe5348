"""The Docker fault matrix, on real engines: what the user sees, what is left on the engine, and that a
rerun converges.

Engines frozen (SIGSTOP) or killed (SIGKILL) mid-task are a private dockerd (``private_engine.py``),
never the main one. A removal "during" a module is timed by the engine itself: by its own kill event
(a stop under way), or by ``Relay``, which relays the modules' requests to the private engine
and removes a container right after the engine answered a chosen request, before the module reads
that answer. Crash loops and racing playbooks run on the main engine.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

import docker
import pytest

from tests.integration.conftest import CONNECTED_PLAY, GRACEFUL, IMAGE, task_results, tasks_registering
from tests.integration.private_engine import (  # noqa: F401 - the fixtures, found here by pytest
    PrivateEngine,
    private_engine_fixture,
    private_fixture,
)

# A process that ignores SIGTERM (PID 1 without a handler): a graceful stop takes its whole stop_timeout.
DEAF = ["sleep", "1000"]
# What a fault that escaped the backend looks like. (ansible-core 2.19 prints every failed task as "Module
# failed: <msg>", so that text is looked for in the results only, where a raw exception would show it.)
RAW_FAILURES = ("Traceback", "MODULE FAILURE", "please report it", "JSONDecodeError", "HTTPConnectionPool",
                "Read timed out", "KeyError")


def run(tmp_path, connection: dict[str, Any], *tasks: tuple[str, str]) -> dict[str, Any]:
    """Run the tasks in one ansible-playbook; their registered results, checked for raw failures."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    play = CONNECTED_PLAY.format(tasks=tasks_registering(*tasks))
    process, out = task_results(tmp_path, play, {"connection": connection})
    output = process.stdout + process.stderr
    assert out, output[-4000:]
    assert not [raw for raw in RAW_FAILURES if raw in output], output[-4000:]
    assert not [raw for raw in (*RAW_FAILURES, "Module failed") if raw in json.dumps(out)], out
    return out


def entry(result: dict[str, Any]) -> dict[str, Any]:
    """The one container entry of a container_state result."""
    assert len(result["containers"]) == 1, result
    return result["containers"][0]


@contextlib.contextmanager
def on_event(client: docker.APIClient, name: str, action: str, then: Callable[[], None],
             signal: Optional[str] = None) -> Iterator[threading.Event]:
    """Call ``then`` as soon as the engine reports ``action`` (with ``signal``, for a kill) of container ``name``."""
    done = threading.Event()
    events = client.events(filters={"container": name, "event": action}, decode=True)

    def watch() -> None:
        with contextlib.suppress(Exception):  # the stream breaks when ``then`` kills the engine
            for event in events:
                if signal is None or event.get("Actor", {}).get("Attributes", {}).get("signal") == signal:
                    then()
                    done.set()
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield done
    finally:
        with contextlib.suppress(Exception):
            events.close()
        watcher.join(timeout=10)


def on_stop_signal(client: docker.APIClient, name: str, then: Callable[[], None]):
    """Call ``then`` as soon as the engine sends ``name`` its SIGTERM: a graceful stop has begun."""
    return on_event(client, name, "kill", then, signal="15")


def make(client: docker.APIClient, name: str, command: list[str], start: bool = True,
         healthcheck: Optional[dict[str, Any]] = None) -> str:
    """A container on the private engine, without network, started unless told otherwise."""
    with contextlib.suppress(docker.errors.NotFound):
        client.remove_container(name, force=True)
    created = client.create_container(
        IMAGE, command, name=name, host_config=client.create_host_config(network_mode="none"),
        healthcheck=healthcheck,
        stop_timeout=1,  # what a restarted dockerd grants it when it stops leftover containers
    )
    if start:
        client.start(created["Id"])
    return created["Id"]


def engine_status(client: docker.APIClient, name: str) -> Optional[str]:
    try:
        return client.inspect_container(name)["State"]["Status"]
    except docker.errors.NotFound:
        return None


def looping(client: docker.APIClient, name: str, within: float = 30) -> bool:
    """Whether the container is seen in a crash loop whose pauses have grown to seconds (4 restarts)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        state = client.inspect_container(name)
        if state["RestartCount"] >= 4 and state["State"]["Status"] == "restarting":
            return True
        time.sleep(0.1)
    return False


def settles_at(client: docker.APIClient, name: str, status: Optional[str], within: float = 15) -> bool:
    deadline = time.monotonic() + within
    while engine_status(client, name) != status:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


# A relay in front of the private engine, to time a fault to one request -----------------------------


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=120)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a module that gave up on a frozen engine closes its side: nothing to report


class _Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _relay(self) -> None:
        proxy: Relay = self.server.proxy  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = _UnixConnection(proxy.socket_path)
        try:
            upstream.request(self.command, self.path, body=body or None,
                             headers={k: v for k, v in self.headers.items() if k.lower() != "connection"})
            answer = upstream.getresponse()
            headers = [(k, v) for k, v in answer.getheaders()
                       if k.lower() not in ("connection", "content-length", "transfer-encoding")]
            if not self.path.split("?")[0].endswith("/events"):  # read whole, chunked or not
                data = answer.read()
                proxy.answered(self.command, self.path)  # the engine has answered; the module has not read it
                self.send_response_only(answer.status, answer.reason)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response_only(answer.status, answer.reason)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            proxy.answered(self.command, self.path)  # a stream: the module is subscribed
            while True:
                data = answer.read1(65536)
                if not data:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay


class Relay:
    """Relays HTTP to the private engine's socket, and acts right after the engine answered a chosen request
    (for an event stream: once it is subscribed), before the module reads that answer."""

    def __init__(self, engine: PrivateEngine) -> None:
        self.engine = engine
        self.socket_path = engine.socket
        self.triggers: list[tuple[str, str, str, Callable[[], None]]] = []
        self.fired: list[str] = []
        self.server = _QuietServer(("127.0.0.1", 0), _Relay)
        self.server.proxy = self  # type: ignore[attr-defined]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.host = f"tcp://127.0.0.1:{self.server.server_address[1]}"

    def after(self, method: str, path: str, label: str, action: Callable[[], None]) -> None:
        """Once: after the engine answered ``method path`` (a regex, API version left out), run ``action``."""
        self.triggers.append((method, path, label, action))

    def remove_after(self, method: str, path: str, name: str) -> None:
        self.after(method, path, name, lambda: self.engine.client.remove_container(name, force=True))

    def answered(self, method: str, path: str) -> None:
        path = re.sub(r"^/v1\.\d+", "", path.split("?")[0])
        for trigger in list(self.triggers):
            if trigger[0] == method and re.fullmatch(trigger[1], path):
                self.triggers.remove(trigger)
                trigger[3]()
                self.fired.append(trigger[2])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(private) -> Iterator[Relay]:
    relay = Relay(private)
    yield relay
    relay.close()


# Engine frozen or killed ------------------------------------------------------------------------------


def test_an_engine_frozen_before_the_task_is_named_and_nothing_changes(private, tmp_path):
    make(private.client, "ef-fz", GRACEFUL)
    connection = {"docker_host": private.host, "timeout": 3}
    began = time.monotonic()
    with private.frozen_engine():
        out = run(tmp_path / "frozen", connection,
                  ("container_state", "name: ef-fz\nstate: stopped"),
                  ("container_info", "name: ef-fz"),
                  ("container_status_logs", "name: ef-fz"),
                  ("container_config", "name: ef-fz\nautostart: true"))
    assert time.monotonic() - began < 60  # seconds per module, not wait_timeout
    for result in out.values():
        assert result["failed"] and not result.get("changed")
        where = f"the Docker engine at {private.host} (docker_host)"
        assert result["msg"].startswith(f"{where} did not answer within 3s (timeout)")
    assert engine_status(private.client, "ef-fz") == "running"

    again = run(tmp_path / "again", connection, ("container_state", "name: ef-fz\nstate: stopped"))
    assert not again["0"]["failed"] and again["0"]["changed"] and entry(again["0"])["status"] == "stopped"
    assert engine_status(private.client, "ef-fz") == "exited"


def test_an_engine_frozen_mid_stop_leaves_the_status_unknown_and_a_rerun_converges(private, tmp_path):
    make(private.client, "ef-fm", DEAF)
    connection = {"docker_host": private.host, "timeout": 3}
    try:
        with on_stop_signal(private.client, "ef-fm", private.freeze) as froze:
            out = run(tmp_path / "frozen", connection,
                      ("container_state", "name: ef-fm\nstate: stopped\nstop_timeout: 1"))
        assert froze.is_set()
    finally:
        private.thaw()
    result, container = out["0"], entry(out["0"])
    assert result["failed"]
    assert container["error"].startswith(
        f"engine lost during stop: the Docker engine at {private.host} (docker_host) did not answer it within 11s, "
        "nor a ping within 3s (timeout); whether the stop took effect is unknown"
    )
    assert container["status"].startswith("unknown"), container  # not the stale 'running'
    assert [action["operation"] for action in container["actions"]] == ["stop"]
    assert "ef-fm" in result["msg"]
    # Thawed, the engine finishes the stop it had begun (its grace period is long over: SIGKILL).
    assert settles_at(private.client, "ef-fm", "exited")

    again = run(tmp_path / "again", connection, ("container_state", "name: ef-fm\nstate: stopped"))
    assert not again["0"]["failed"] and not again["0"]["changed"]
    assert entry(again["0"])["status"] == "stopped"


def test_an_engine_frozen_during_a_wait_ends_the_wait_and_a_rerun_converges(private, proxy, tmp_path):
    # Its health check stays 'starting' for a minute: the task waits on the engine's event stream.
    cid = make(private.client, "ef-fw", GRACEFUL, start=False,
               healthcheck={"test": ["CMD", "true"], "interval": 60 * 10**9, "start_period": 60 * 10**9})
    # Subscribed, the wait reads the container once more, then listens: that is when the engine freezes.
    proxy.after("GET", "/events", "subscribed",
                lambda: proxy.after("GET", f"/containers/{cid}/json", "frozen", private.freeze))
    connection = {"docker_host": proxy.host, "timeout": 3}
    began = time.monotonic()
    try:
        out = run(tmp_path / "frozen", connection,
                  ("container_state", "name: ef-fw\nstate: started\nhealthy: true\nwait_timeout: 15"))
    finally:
        private.thaw()
    assert proxy.fired == ["subscribed", "frozen"]
    result, container = out["0"], entry(out["0"])
    assert time.monotonic() - began < 60  # the frozen stream did not hold the wait
    assert result["failed"]
    # The stream went quiet past its window (3 s, the timeout, plus 2); subscribing again got no answer.
    assert container["error"] == (f"the Docker engine at {proxy.host} (docker_host) did not answer within 3s "
                                  "(timeout) while following the events of 'ef-fw'"), container
    assert container["status"].startswith("unknown"), container
    assert [action["operation"] for action in container["actions"]] == ["start"]
    assert engine_status(private.client, "ef-fw") == "running"

    again = run(tmp_path / "again", connection, ("container_state", "name: ef-fw\nstate: started"))
    assert not again["0"]["failed"] and not again["0"]["changed"]


def test_an_engine_killed_mid_stop_is_engine_lost_and_a_rerun_after_its_restart_converges(private, tmp_path):
    make(private.client, "ef-km", DEAF)
    connection = {"docker_host": private.host, "timeout": 3}
    with on_stop_signal(private.client, "ef-km", private.kill) as killed:
        out = run(tmp_path / "killed", connection,
                  ("container_state", "name: ef-km\nstate: stopped\nstop_timeout: 30"),
                  ("container_info", "name: ef-km"))
    assert killed.is_set()
    result, container = out["0"], entry(out["0"])
    assert result["failed"]
    assert container["error"] == (
        f"engine lost during stop: cannot reach the Docker engine at {private.host} (docker_host): the connection "
        "was closed without an answer; whether the stop took effect is unknown"
    )
    assert container["status"].startswith("unknown"), container
    # The next module finds no engine at all, and says so.
    assert out["1"]["failed"]
    assert out["1"]["msg"].startswith(
        f"cannot reach the Docker engine at {private.host} (docker_host): connection refused. Check that dockerd"
    )

    private.start()  # a dockerd without live-restore stops the containers it finds still running
    assert settles_at(private.client, "ef-km", "exited")
    again = run(tmp_path / "again", connection, ("container_state", "name: ef-km\nstate: stopped"))
    assert not again["0"]["failed"] and not again["0"]["changed"]
    assert entry(again["0"])["status"] == "stopped"


# Removals during every module -------------------------------------------------------------------------


def test_container_info_reports_containers_removed_after_the_listing_as_absent(private, proxy, tmp_path):
    make(private.client, "ef-ri-1", GRACEFUL)
    make(private.client, "ef-ri-2", GRACEFUL)
    third = make(private.client, "ef-ri-3", GRACEFUL)
    make(private.client, "ef-ri-4", GRACEFUL, start=False)
    proxy.remove_after("GET", "/containers/json", "ef-ri-2")  # between the listing and its inspect
    proxy.remove_after("GET", f"/containers/{third}/top", "ef-ri-3")  # while its runtime details are read
    connection = {"docker_host": proxy.host, "timeout": 10}
    out = run(tmp_path / "info", connection,
              ("container_info", "filters:\n  name: ef-ri-*\nruntime: true\nparallel: 1"))
    assert proxy.fired == ["ef-ri-2", "ef-ri-3"]
    result = out["0"]
    assert not result.get("failed"), result
    by_name = {container["name"]: container for container in result["containers"]}
    assert by_name["ef-ri-2"] == {"name": "ef-ri-2", "exists": False}
    assert by_name["ef-ri-3"] == {"name": "ef-ri-3", "exists": False}
    assert by_name["ef-ri-1"]["exists"] and by_name["ef-ri-1"]["status"] == "running"
    assert by_name["ef-ri-1"]["runtime"]["processes"] and "error" not in by_name["ef-ri-1"]["runtime"]
    assert by_name["ef-ri-4"]["exists"] and by_name["ef-ri-4"]["status"] == "stopped"
    assert engine_status(private.client, "ef-ri-2") is None and engine_status(private.client, "ef-ri-3") is None

    again = run(tmp_path / "again", connection, ("container_info", "filters:\n  name: ef-ri-*\nruntime: true"))
    assert sorted(c["name"] for c in again["0"]["containers"]) == ["ef-ri-1", "ef-ri-4"]


def test_container_status_logs_of_a_container_removed_while_it_is_read(private, proxy, tmp_path):
    make(private.client, "ef-rl", GRACEFUL)
    proxy.remove_after("GET", "/containers/ef-rl/json", "ef-rl")  # after the inspect, before the events
    connection = {"docker_host": proxy.host, "timeout": 10}
    tasks = ("container_status_logs", "name: ef-rl\nsort_order: asc")
    out = run(tmp_path / "logs", connection, tasks)
    assert proxy.fired == ["ef-rl"]
    result = out["0"]
    assert not result.get("failed"), result
    assert [log["to_status"] for log in result["logs"]][-1] == "absent"  # its removal is part of the history
    assert engine_status(private.client, "ef-rl") is None

    again = run(tmp_path / "again", connection, tasks)
    assert not again["0"].get("failed")
    assert [(log["to_status"], log["transition_time"]) for log in again["0"]["logs"]] == [
        (log["to_status"], log["transition_time"]) for log in result["logs"]
    ]


def test_container_config_of_a_container_removed_before_its_update(private, proxy, tmp_path):
    first = make(private.client, "ef-rc-1", GRACEFUL, start=False)
    make(private.client, "ef-rc-2", GRACEFUL, start=False)
    proxy.remove_after("GET", f"/containers/{first}/json", "ef-rc-1")  # read, then gone before the update
    connection = {"docker_host": proxy.host, "timeout": 10}
    tasks = ("container_config", "name: [ef-rc-1, ef-rc-2]\nautostart: true")
    out = run(tmp_path / "config", connection, tasks)
    assert proxy.fired == ["ef-rc-1"]
    result = out["0"]
    assert result["failed"] and "ef-rc-1" in result["msg"]
    gone, kept = result["containers"]
    assert re.fullmatch("container 'ef-rc-1' not found: it (was removed before it could be updated|disappeared "
                        "during the update)", gone["error"]), gone
    assert not gone["changed"]
    assert kept["changed"] and "error" not in kept and kept["config"]["autostart"] is True
    assert engine_status(private.client, "ef-rc-1") is None
    assert private.client.inspect_container("ef-rc-2")["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"

    again = run(tmp_path / "again", connection, tasks)
    gone, kept = again["0"]["containers"]
    assert gone["error"] == "container 'ef-rc-1' not found" and not kept["changed"]  # the same answer, stable


def test_container_state_of_containers_removed_during_their_stop(engine, make_containers, tmp_path):
    make_containers("ef-rs-1", "ef-rs-2", command=DEAF, network_mode="none")
    for name in ("ef-rs-1", "ef-rs-2"):
        engine.api.start(name)
    connection = {"timeout": 10}

    def remove_both() -> None:
        for name in ("ef-rs-1", "ef-rs-2"):
            engine.api.remove_container(name, force=True)

    with on_stop_signal(engine.api, "ef-rs-1", remove_both) as removed:
        out = run(tmp_path / "state", connection,
                  ("container_state", "name: [ef-rs-1, ef-rs-2]\nstate: stopped\nstop_timeout: 5"))
    assert removed.is_set()
    result = out["0"]
    assert result["failed"] and "ef-rs-1" in result["msg"]
    for container in result["containers"]:
        assert container["status"] == "absent", container
        assert re.fullmatch(rf"container '{container['name']}' not found: it was removed (during|while attempting) "
                            "stop", container["error"]), container
    assert engine_status(engine.api, "ef-rs-1") is None and engine_status(engine.api, "ef-rs-2") is None

    absent = run(tmp_path / "absent", connection, ("container_state", "name: [ef-rs-1, ef-rs-2]\nstate: absent"))
    assert not absent["0"].get("failed") and not absent["0"]["changed"]


# Crash loops and racing playbooks (main engine) ---------------------------------------------------------


def test_crash_looping_containers_stop_and_go_at_once(engine, make_containers, tmp_path):
    names = make_containers("ef-cl-1", "ef-cl-2", "ef-cl-3", "ef-cl-4", command=["sh", "-c", "exit 3"],
                            restart_policy={"Name": "always"}, network_mode="none")
    for name in names:
        engine.api.start(name)
    assert all(looping(engine.api, name) for name in names)
    tasks = (
        ("container_state", "name: ef-cl-1\nstate: stopped\nwait_timeout: 60"),
        ("container_state", "name: ef-cl-2\nstate: stopped\nforce: true\nwait_timeout: 60"),
        ("container_state", "name: ef-cl-3\nstate: absent\nwait_timeout: 60"),
        ("container_info", "name: ef-cl-4"),
    )
    out = run(tmp_path / "loops", {}, *tasks)
    stopped, killed, removed, info = (out[str(i)] for i in range(4))
    for result, operations in ((stopped, ["stop"]), (killed, ["force-stop"]), (removed, ["stop", "delete"])):
        container = entry(result)
        assert not result.get("failed") and result["changed"], result
        assert [action["operation"] for action in container["actions"]] == operations
        assert container["duration_ms"] < 30000  # acted at once, did not wait the loop out (wait_timeout: 60)
    # Read between two runs of their loops (a run lasts milliseconds, the pause between two seconds).
    assert {entry(result)["status_before"] for result in (stopped, killed, removed)} <= {"restarting", "running"}
    assert "restarting" in {entry(result)["status_before"] for result in (stopped, killed, removed)}
    assert entry(stopped)["status"] == entry(killed)["status"] == "stopped"
    assert entry(removed)["status"] == "absent"
    assert info["container"]["status"] in ("restarting", "running") and info["container"]["autostart"]
    time.sleep(2)  # the restart policy no longer applies: they stay stopped
    assert engine_status(engine.api, "ef-cl-1") == engine_status(engine.api, "ef-cl-2") == "exited"
    assert engine_status(engine.api, "ef-cl-3") is None

    again = run(tmp_path / "again", {}, *tasks[:3])
    assert [again[str(i)]["changed"] for i in range(3)] == [False, False, False]
    assert not any(again[str(i)].get("failed") for i in range(3))


def race(engine, tmp_path, first: tuple[str, str], second: tuple[str, str]) -> tuple[dict, dict]:
    """Two ansible-playbook processes on the same containers: the second starts once the first one's
    graceful stops are under way (the engine has sent SIGTERM), so their requests interleave."""
    outcomes: dict[str, Any] = {}

    def play(key: str, task: tuple[str, str]) -> None:
        try:
            outcomes[key] = run(tmp_path / key, {}, task)["0"]
        except BaseException as exc:  # re-raised in the test's own thread
            outcomes[key] = exc

    threads = {key: threading.Thread(target=play, args=(key, task)) for key, task in (("a", first), ("b", second))}
    with on_stop_signal(engine.api, RACERS[0], threads["b"].start) as second_started:
        threads["a"].start()
        threads["a"].join(timeout=300)
    assert second_started.is_set(), "the first playbook never began its stops"
    threads["b"].join(timeout=300)
    for outcome in outcomes.values():
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes["a"], outcomes["b"]


RACERS = [f"ef-race-{i}" for i in range(1, 7)]


@pytest.mark.parametrize(
    ("state", "left"),
    [("absent", None), ("stopped", "exited")],
    ids=["absent", "stopped"],
)
def test_racing_playbooks_on_the_same_containers_both_end_well(engine, make_containers, tmp_path, state, left):
    # The first stops gracefully and would wait 30 s (SIGTERM is ignored); the second forces its way.
    make_containers(*RACERS, command=DEAF, network_mode="none")
    for name in RACERS:
        engine.api.start(name)
    names = f"name: [{', '.join(RACERS)}]\nstate: {state}\n"
    a, b = race(engine, tmp_path, ("container_state", names + "stop_timeout: 30"),
                ("container_state", names + "force: true"))
    for result in (a, b):
        assert not result.get("failed"), result.get("msg")
        assert [c["status"] for c in result["containers"]] == [state if left is None else "stopped"] * 6
    # The second one's kills ended the first one's graceful stops: they really overlapped.
    for container in a["containers"]:
        stops = [action for action in container["actions"] if action["operation"] == "stop"]
        assert stops and stops[0]["duration_ms"] < 29000, container
    assert [engine_status(engine.api, name) for name in RACERS] == [left] * 6

    again = run(tmp_path / "again", {}, ("container_state", names))
    assert not again["0"].get("failed") and not again["0"]["changed"]
