"""The container_events source: its arguments, and the plumbing around an engine's feed (reconnecting, logging,
the cursor file), on Docker event streams recorded from a real engine (``fixtures/docker_events.json``, recorded by
``record_docker_events.py``) and on the REST engines' test doubles of tests/unit/plugins/module_utils. What each
engine's feed reads is tested with it there (test_docker_events.py, test_hoody_events.py, test_dockhand_events.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from datetime import datetime, timezone
from typing import Any, Optional

import pytest
import requests
import responses

from ansible_collections.containerops.lifecycle.extensions.eda.plugins.event_source import container_events as ce
from ansible_collections.containerops.lifecycle.plugins.module_utils import _position
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_events import REPLAY_NS, WARM_UP_S, since
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, Unsupported
from ansible_collections.containerops.lifecycle.plugins.module_utils._events import record_ns
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import BACKEND_CLASSES
from tests.unit.plugins.module_utils.test_docker_events import EXPECTED, RECORDED, Stream
from tests.unit.plugins.module_utils.test_dockhand_events import DOCKHAND, DockhandServer, dockhand_rows
from tests.unit.plugins.module_utils.test_hoody_events import CID, HOODY, OTHER, HoodyServer, hoody_log

SECRET = "hdy_very_secret_token_0123"


def options(**args: Any) -> ce.Options:
    return ce.parse_options(args)


# ------------------------------------------------------------------------------------------ options


def test_options_take_env_fallbacks_and_keep_secrets_out_of_the_connection(monkeypatch):
    monkeypatch.setenv("HOODY_TOKEN", SECRET)
    monkeypatch.setenv("CONTAINEROPS_BACKEND", "hoody")
    opts = options(api_url="https://ops:pw-in-url@hoody.test:8443", filters={"name": "web-*"},
                   eda_feedback_queue=None)  # fmt: skip
    assert opts.backend == "hoody" and opts.poll_interval == 2.0
    connection = opts.connection()
    # The port stays: an event's connection sends a playbook to the same engine (it was dropped once).
    assert connection["api_url"] == "https://ops@hoody.test:8443" and "api_token" not in connection
    assert SECRET not in json.dumps(connection)
    assert opts.mask(f"401 for {SECRET} at pw-in-url") == "401 for ******** at ********"  # read from HOODY_TOKEN
    assert json.loads(opts.engine_key()) == {"backend": "hoody", "api_url": "https://ops@hoody.test:8443"}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ({"filters": {}}, "filters is empty"),
        ({"filters": {"label": []}}, "filters.label is empty"),
        ({"filters": {"status": ["crashed"]}}, "unknown status(es) crashed"),
        ({"backend": "hoody", "api_token": "t", "filters": {"label": ["a=b"]}}, "hoody cannot apply filters.label"),
        ({"poll_interval": 0}, "poll_interval must be between 0.05 and 60"),
        ({"docker_host": "/var/run/docker.sock"}, "docker_host must be a unix://, tcp://"),
        ({"docker_hots": "unix:///x"}, "docker_hots. Supported parameters include"),
        ({"client_cert": "/c.pem"}, "client_cert and client_key go together"),
        ({"backend": "hoody", "api_token": f"{SECRET}\n"}, "api_token is empty or holds spaces or control characters"),
        ({"backend": "dockhand", "api_url": ""}, "api_url is empty"),
    ],
)
def test_bad_arguments_are_refused_by_name(args, said):
    with pytest.raises(BadInput) as caught:
        options(**args)
    assert said in str(caught.value)


def test_a_refused_argument_never_shows_a_secret():
    with pytest.raises(BadInput) as caught:
        options(backend="hoody", api_token=SECRET, bogus=SECRET)
    assert SECRET not in str(caught.value)
    with pytest.raises(BadInput) as caught:
        options(backend="hoody", api_url=f"https://ops:{SECRET}@hoody.test", bogus=SECRET)
    assert SECRET not in str(caught.value)


def test_the_filters_no_engine_applies_are_applied_to_events():
    opts = options(filters={"label": ["containerops.autoheal=true"], "project": "shop", "name": "web-*",
                            "status": ["stopped"]})  # fmt: skip
    assert ce.wanted({"containerops": {"name": "web-1", "to_status": "stopped"}}, opts.filters)
    assert not ce.wanted({"containerops": {"name": "db-1", "to_status": "stopped"}}, opts.filters)
    assert not ce.wanted({"containerops": {"name": "web-1", "to_status": "running"}}, opts.filters)


def test_an_engine_without_a_feed_is_refused_before_anything_is_read(monkeypatch):
    monkeypatch.setattr(BACKEND_CLASSES["hoody"], "events", None)
    with pytest.raises(Unsupported) as caught:
        ce.Source(options(backend="hoody", api_token=SECRET), asyncio.Queue(), connect=lambda p, s: pytest.fail())
    assert str(caught.value) == (
        "container_events: backend hoody cannot follow its containers' events: it has no feed of them; nothing was "
        "changed"
    )


# ------------------------------------------------------------------------------------------ Docker follower


class FakeApi:
    """The part of docker.APIClient the follower uses, answering from recorded streams."""

    def __init__(self, streams: list[Stream], system_time: str, pings: bool = True,
                 history: Optional[list[dict[str, Any]]] = None) -> None:  # fmt: skip
        self.streams = streams
        self.history = [e for stream in streams for e in stream.events] if history is None else history
        self.system_time = system_time
        self.since: list[str] = []
        self.filters: list[dict[str, Any]] = []
        self.pings = pings

    def info(self) -> dict[str, Any]:
        return {"SystemTime": self.system_time}

    def events(self, since: str, filters: dict[str, Any], decode: bool, until: Optional[str] = None) -> Any:
        if until is not None:  # what the engine still holds: a finite list
            return [e for e in self.history if engine_ns(since) <= e["timeNano"] <= engine_ns(until)]
        self.since.append(since)
        self.filters.append(filters)
        return self.streams.pop(0)

    def ping(self) -> bool:
        if not self.pings:
            raise requests.exceptions.ConnectionError("no answer")
        return True


class FakeBackend:
    def __init__(self, api: FakeApi, listed: Optional[list[ContainerState]] = None) -> None:
        self.api = api
        self.closed = False
        self.listed = listed or []

    def list(self, filters: dict[str, Any]) -> list[ContainerState]:
        return self.listed

    def look_up(self, ref: str) -> ContainerState:
        return next((state for state in self.listed if state.id == ref), ContainerState.absent(ref))

    def close(self) -> None:
        self.closed = True


def engine_ns(since: str) -> int:
    """Docker's ``since`` (``seconds.nanoseconds``) as epoch nanoseconds."""
    seconds, _dot, nanos = since.partition(".")
    return int(seconds) * 10**9 + int(nanos or 0)


def rfc3339(ns: int) -> str:
    moment = datetime.fromtimestamp(ns // 10**9, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns % 10**9:09d}Z"


async def collect(follower: ce.Source, queue: asyncio.Queue, count: int, timeout: float = 10) -> list[dict]:
    task = asyncio.create_task(follower.run())
    try:
        return [await asyncio.wait_for(queue.get(), timeout) for _ in range(count)]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_docker_follower_reconnects_after_the_engine_goes_away_and_emits_nothing_twice(caplog):
    events = RECORDED["crash"] + RECORDED["docker_restart"]  # recorded in this order
    # The engine goes away in the middle of the restart (after its stop, before its start); the next subscription
    # reads the last events again.
    cut = len(RECORDED["crash"]) + 5
    broken = Stream(events[:cut], requests.exceptions.ConnectionError(f"Connection aborted {SECRET}"))
    api = FakeApi([broken, Stream(events[cut - 3 :])], rfc3339(events[0]["timeNano"] - 10**9))
    backends: list[FakeBackend] = []

    def connect(params, secret_found):
        backends.append(FakeBackend(api))
        return backends[-1]

    queue: asyncio.Queue = asyncio.Queue()
    opts = options(filters={"label": ["containerops.autoheal=true"]}, api_token=SECRET)
    follower = ce.Source(opts, queue, connect=connect, reconnect_base=0.01, settle=0.5)
    expected = EXPECTED["crash"] + EXPECTED["docker_restart"]
    with caplog.at_level(logging.INFO, logger="containerops.lifecycle.container_events"):
        got = asyncio.run(collect(follower, queue, len(expected)))
    assert [(e["containerops"]["from_status"], e["containerops"]["to_status"], e["containerops"]["operation"],
             e["containerops"]["exit_code"]) for e in got] == expected  # fmt: skip
    assert len({e["containerops"]["record_id"] for e in got}) == len(got)
    # The second subscription starts a little before the newest event seen, as Docker's since.
    resumed = events[cut - 1]["timeNano"] - REPLAY_NS
    assert api.since[1] == f"{resumed // 10**9}.{resumed % 10**9:09d}"
    assert api.filters[0]["label"] == ["containerops.autoheal=true"]
    assert all(b.closed for b in backends)
    crash = got[2]["containerops"]
    assert crash["name"] == "eda-rec-crash" and crash["engine"] == "docker" and crash["exit_code"] == 137
    assert crash["labels"]["containerops.autoheal"] == "true" and "exitCode" not in crash["labels"]
    assert crash["connection"]["docker_host"] == "unix:///var/run/docker.sock"
    assert "api_token" not in crash["connection"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("Connection aborted ********" in w and "trying again in" in w for w in warnings)
    assert any("following the event stream again" in w for w in warnings)
    assert SECRET not in caplog.text


def docker_event(container_id: str, action: str, ns: int, **attributes: str) -> dict[str, Any]:
    labels = {"name": container_id, "containerops.autoheal": "true", **attributes}
    return {"Type": "container", "Action": action, "Actor": {"ID": container_id, "Attributes": labels},
            "time": ns // 10**9, "timeNano": ns}  # fmt: skip


def inspected(container_id: str, status: str, exit_code: int, finished_ns: int) -> ContainerState:
    return ContainerState(
        container_id, container_id, status, "exited",
        details={"State": {"ExitCode": exit_code, "OOMKilled": False, "FinishedAt": rfc3339(finished_ns)},
                 "Config": {"Labels": {"containerops.autoheal": "true"}}},
    )  # fmt: skip


def test_docker_follower_reconciles_after_an_engine_restart_and_leaves_a_users_stop_alone(caplog):
    s = 10**9
    t0 = 1796190000 * s
    # Running when the source starts: "killed" (the engine's restart takes it down), "shutdown" (stopped by the
    # engine's shutdown, which reports kill, die and stop as a user's), "user" (a user's stop long before),
    # "again" (running again after the restart).
    before = [
        docker_event("user", "kill", t0 + 1 * s, signal="15"), docker_event("user", "die", t0 + 2 * s, exitCode="0"),
        docker_event("user", "stop", t0 + 2 * s + 1000),
        docker_event("shutdown", "kill", t0 + 60 * s, signal="15"),
        docker_event("shutdown", "die", t0 + 61 * s, exitCode="0"),
        docker_event("shutdown", "stop", t0 + 61 * s + 1000),
    ]  # fmt: skip
    down = [inspected("killed", "stopped", 143, t0 + 61 * s + 5000), inspected("shutdown", "stopped", 0, t0 + 61 * s),
            inspected("user", "stopped", 0, t0 + 2 * s)]  # fmt: skip
    running = [ContainerState(cid, cid, "running", "running") for cid in ("killed", "shutdown", "user", "again")]
    first = FakeApi([Stream(before, requests.exceptions.ConnectionError("engine gone"))], rfc3339(t0))
    # Back at once (the loss is noticed in the engine's time t0 + 62 s), restarted: it holds no event of before.
    again = FakeApi([Stream([])], rfc3339(t0 + 62 * s), history=[])
    backends = iter([FakeBackend(first, running), FakeBackend(again, [*down, ContainerState("again", "again",
                     "running", "running")])])  # fmt: skip
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.Source(options(filters={"label": ["containerops.autoheal=true"]}), queue,
                         connect=lambda p, sf: next(backends), reconnect_base=0.01, settle=0.05)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="containerops.lifecycle.container_events"):
        got = [e["containerops"] for e in asyncio.run(collect(follower, queue, 4))]
    assert [(e["name"], e["operation"], e["triggered_by"], e["exit_code"]) for e in got] == [
        ("user", "stop", "api", 0),
        ("shutdown", "stop", "api", 0),  # as the engine reported it, before it went away
        ("shutdown", "engine-stop", "engine", 0),  # what it was, once the engine is back restarted
        ("killed", "engine-stop", "engine", 143),
    ]
    assert got[3]["labels"] == {"containerops.autoheal": "true"} and got[3]["from_status"] == "running"
    assert again.since == [since(t0 + 62 * s)]  # the lost events are not asked for again
    assert "the engine restarted while the source was away" in caplog.text and "2 container(s)" in caplog.text


def test_docker_follower_pings_a_silent_engine_and_reconnects_when_it_does_not_answer(caplog):
    api = FakeApi([Stream([]), Stream(RECORDED["crash"])], rfc3339(RECORDED["crash"][0]["timeNano"] - 10**9),
                  pings=False)  # fmt: skip
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.Source(options(timeout=1), queue, connect=lambda p, s: FakeBackend(api),
                                 reconnect_base=0.01, heartbeat=0.1, settle=0.05)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="containerops.lifecycle.container_events"):
        got = asyncio.run(collect(follower, queue, 4))
    assert [e["containerops"]["operation"] for e in got] == ["create", "start", "exit", "delete"]
    assert "no event for 0s and no answer to a ping" in caplog.text


def test_docker_follower_skips_what_happened_before_it_started():
    events = RECORDED["crash"]
    start = events[2]["timeNano"]  # the engine's clock when the source starts: after the crash's start
    api = FakeApi([Stream(events)], rfc3339(start))
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.Source(options(), queue, connect=lambda p, s: FakeBackend(api), settle=0.05)
    got = asyncio.run(collect(follower, queue, 2))
    assert [e["containerops"]["operation"] for e in got] == ["exit", "delete"]
    assert api.since[0] == since(start - WARM_UP_S * 10**9)


# ------------------------------------------------------------------------------------------ resuming from cursor_file


def operations(events: list[dict[str, Any]]) -> list[tuple]:
    return [(e["containerops"]["name"], e["containerops"]["operation"]) for e in events]


async def run_until_quiet(follower: ce.Source, queue: asyncio.Queue, quiet: float = 0.5) -> list[dict]:
    """Run the follower until nothing has come for ``quiet`` seconds (it is waiting on its stream), then stop it."""
    return await drain(asyncio.create_task(follower.run()), queue, quiet)


async def drain(task: asyncio.Task, queue: asyncio.Queue, quiet: float) -> list[dict]:
    """What ``task`` puts in ``queue`` until nothing has come for ``quiet`` seconds; then ``task`` is cancelled."""
    got = []
    try:
        while True:
            try:
                got.append(await asyncio.wait_for(queue.get(), quiet))
            except asyncio.TimeoutError:
                return got
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_docker_resumes_from_its_cursor_file_emitting_what_came_while_away_once(tmp_path):
    cursor = str(tmp_path / "state" / "cursor.json")  # its directory is made
    # Recorded one after the other, in this order.
    crash, exit_3, stop, kill = RECORDED["crash"], RECORDED["exit_3"], RECORDED["docker_stop"], RECORDED["docker_kill"]
    cut = [e["Action"] for e in stop].index("die") + 1  # the source stops after the stop's die, before its stop event
    first = FakeApi([Stream(crash + exit_3 + stop[:cut])], rfc3339(crash[0]["timeNano"] - 10**9))
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.Source(options(cursor_file=cursor), queue, connect=lambda p, s: FakeBackend(first), settle=60)
    before = asyncio.run(run_until_quiet(follower, queue))
    queue = asyncio.Queue()
    assert operations(before) == [
        ("eda-rec-crash", "create"),
        ("eda-rec-crash", "start"),
        ("eda-rec-crash", "exit"),
        ("eda-rec-crash", "delete"),
        ("eda-rec-exit-3", "create"),
        ("eda-rec-exit-3", "start"),
        ("eda-rec-exit-3", "exit"),
        ("eda-rec-exit-3", "delete"),
        ("eda-rec-docker-stop", "create"),
        ("eda-rec-docker-stop", "start"),
    ]  # the stop was held for its report
    # Started again after docker_kill's whole life: the engine replays its buffer since the cursor's overlap.
    replayed = crash + exit_3 + stop + kill
    second = FakeApi([Stream(replayed)], rfc3339(kill[-1]["timeNano"] + 10**9))
    follower = ce.Source(options(cursor_file=cursor), queue, connect=lambda p, s: FakeBackend(second),
                                 settle=0.05)  # fmt: skip
    after = asyncio.run(run_until_quiet(follower, queue))
    queue = asyncio.Queue()
    assert operations(after) == [
        ("eda-rec-docker-stop", "stop"), ("eda-rec-docker-stop", "delete"), ("eda-rec-docker-kill", "create"),
        ("eda-rec-docker-kill", "start"), ("eda-rec-docker-kill", "force-stop"),
        ("eda-rec-docker-kill", "delete")]  # fmt: skip
    newest = record_ns(before[-1]["containerops"])
    assert second.since == [since(newest - _position.OVERLAP_NS)]
    ids = [e["containerops"]["record_id"] for e in before + after]
    assert len(ids) == len(set(ids))
    # A third start with nothing new emits nothing.
    third = FakeApi([Stream(replayed)], rfc3339(kill[-1]["timeNano"] + 2 * 10**9))
    follower = ce.Source(options(cursor_file=cursor), queue, connect=lambda p, s: FakeBackend(third),
                                 settle=0.05)  # fmt: skip
    assert asyncio.run(run_until_quiet(follower, queue)) == []


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (lambda: _position.encode('{"backend": "hoody"}', _position.empty()), "it was kept for another engine"),
        (lambda: "garbage", "it is not JSON"),
    ],
)
def test_a_cursor_file_that_cannot_be_used_is_warned_about_and_the_source_starts_from_the_present(
    tmp_path, caplog, content, said
):
    cursor = tmp_path / "cursor.json"
    cursor.write_text(content())
    events = RECORDED["crash"]
    start = events[2]["timeNano"]
    api = FakeApi([Stream(events)], rfc3339(start))
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.Source(options(cursor_file=str(cursor)), queue, connect=lambda p, s: FakeBackend(api),
                                 settle=0.05)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="containerops.lifecycle.container_events"):
        got = asyncio.run(run_until_quiet(follower, queue))
    assert operations(got) == [("eda-rec-crash", "exit"), ("eda-rec-crash", "delete")]
    assert api.since == [since(start - WARM_UP_S * 10**9)]
    assert f"cursor_file {cursor} cannot be used: {said}" in caplog.text and "starting from the present" in caplog.text
    assert _position.decode(cursor.read_text(), options().engine_key())[0]["newest_ns"] is not None  # its own now


def test_a_cursor_file_that_cannot_be_written_is_warned_about_once_and_events_still_come(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    events = RECORDED["crash"]
    api = FakeApi([Stream(events)], rfc3339(events[0]["timeNano"] - 10**9))
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.Source(options(cursor_file=str(blocker / "cursor.json")), queue,
                                 connect=lambda p, s: FakeBackend(api), settle=0.05)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="containerops.lifecycle.container_events"):
        got = asyncio.run(run_until_quiet(follower, queue))
    assert len(got) == 4
    assert caplog.text.count(f"cursor_file {blocker / 'cursor.json'} cannot be written") == 1


def test_cursor_file_is_a_path_and_names_the_engine_it_belongs_to(monkeypatch):
    monkeypatch.setenv("HOME", "/home/oncall")
    opts = options(cursor_file="~/state/autoheal.json", docker_host="tcp://10.0.0.5:2376", timeout=5)
    assert opts.cursor_file == "/home/oncall/state/autoheal.json"
    assert opts.engine_key() == options(docker_host="tcp://10.0.0.5:2376", timeout=60).engine_key()
    assert opts.engine_key() != options(docker_host="tcp://10.0.0.6:2376").engine_key()
    assert options().cursor_file is None


async def run_changing(opts: ce.Options, change: Any, quiet: float = 0.6, **timing: Any) -> list[dict]:
    """Run a source; once it has polled, ``change()`` what the engine holds; what came until it was quiet."""
    queue: asyncio.Queue = asyncio.Queue()
    asked = len(responses.calls)
    task = asyncio.create_task(ce.Source(opts, queue, **timing).run())
    # A loaded machine may take long to start the source: wait until it has polled (its first poll, the baseline,
    # is over once it has asked for more), not for a fixed time.
    deadline = time.monotonic() + 10
    while len(responses.calls) < asked + 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    change()
    return await drain(task, queue, quiet)


@responses.activate
def test_dockhand_resumes_from_its_cursor_file(tmp_path, caplog):
    cursor = str(tmp_path / "cursor.json")
    server = DockhandServer()
    server.rows = dockhand_rows(RECORDED["crash"][:2], 1)
    server.install()
    opts = options(backend="dockhand", api_url=DOCKHAND, api_token="dh_" + SECRET, api_environment=1,
                   cursor_file=cursor, poll_interval=0.05)  # fmt: skip

    def crash() -> None:
        server.rows += dockhand_rows(RECORDED["crash"][2:], 3)

    def exit_3() -> None:  # while away: exit_3's whole life
        server.rows += dockhand_rows(RECORDED["exit_3"], 100)

    before = asyncio.run(run_changing(opts, crash, settle=0.0))
    assert operations(before) == [("eda-rec-crash", "exit"), ("eda-rec-crash", "delete")]
    with caplog.at_level(logging.INFO, logger="containerops.lifecycle.container_events"):
        after = asyncio.run(run_changing(opts, lambda: None, quiet=0.3, settle=0.0))
        assert after == []  # the first round of a resumed source reads from the cursor on: nothing new
        exit_3()
        after = asyncio.run(run_changing(opts, lambda: None, settle=0.0))
    assert operations(after) == [("eda-rec-exit-3", "create"), ("eda-rec-exit-3", "start"), ("eda-rec-exit-3", "exit"),
                                 ("eda-rec-exit-3", "delete")]  # fmt: skip
    kept = _position.decode((tmp_path / "cursor.json").read_text(), opts.engine_key())[0]
    assert f"resuming from {cursor}: what happened since" in caplog.text
    assert kept["newest_ns"] == record_ns(after[-1]["containerops"])


@responses.activate
def test_hoody_resumes_from_its_cursor_file(tmp_path):
    cursor = str(tmp_path / "cursor.json")
    server = HoodyServer()
    server.logs[CID] = [hoody_log(1, CID, "2026-12-01T10:00:00.000Z", None, "stopped", "create")]
    server.install()
    opts = options(backend="hoody", api_url=HOODY, api_token=SECRET, retries=0, cursor_file=cursor, poll_interval=0.05)
    moment = datetime(2026, 12, 1, 10, 1, 30, tzinfo=timezone.utc).timestamp()

    def start() -> None:
        server.logs[CID].append(hoody_log(2, CID, "2026-12-01T10:01:00.000Z", "stopped", "running", "start"))

    first = asyncio.run(run_changing(opts, start, wall=lambda: moment))
    assert [e["containerops"]["operation"] for e in first] == ["start"]
    # While away: web-1 stops, web-2 crashes.
    server.logs[CID].append(hoody_log(3, CID, "2026-12-01T10:03:00.000Z", "running", "stopped", "stop"))
    server.logs[OTHER].append(hoody_log(4, OTHER, "2026-12-01T10:03:01.000Z", "running", "stopped", None,
                                        triggered_by="system"))  # fmt: skip
    second = asyncio.run(run_changing(opts, lambda: None, wall=lambda: moment + 120))
    assert operations(second) == [("web-1", "stop"), ("web-2", "exit")]


# What the event source logs when its engine cannot be reached, or answers with escape sequences (real connections
# on 127.0.0.1 and a Unix socket path that does not exist; the escape sequences come from a ``responses`` answer).


TOKEN = "hdy_event_source_secret"
EVIL = "boom \x1b]0;pwned\x07 \x1b[2J \u202egnp.exe"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_loss(follower: ce.Source, caplog) -> str:
    """Run ``follower`` until it first waits to try again; the warning it logged."""

    async def stop(seconds: float) -> None:
        raise asyncio.CancelledError

    follower._pause = stop  # type: ignore[method-assign]
    with (
        caplog.at_level(logging.WARNING, logger="containerops.lifecycle.container_events"),
        pytest.raises(asyncio.CancelledError),
    ):
        asyncio.run(follower.run())
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    return warnings[0]


def test_a_hoody_api_from_the_environment_that_refuses_is_named_with_its_variable(monkeypatch, caplog):
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HOODY_API_URL", url)
    options = ce.parse_options({"backend": "hoody", "api_token": TOKEN, "retries": 0})
    said = first_loss(ce.Source(options, asyncio.Queue()), caplog)
    assert f"cannot reach the Hoody API at {url} (api_url, from HOODY_API_URL): connection refused" in said
    assert "Max retries" not in said and TOKEN not in said


def test_a_docker_socket_that_is_not_there_is_said_plainly(tmp_path, caplog):
    host = f"unix://{tmp_path}/docker.sock"
    options = ce.parse_options({"docker_host": host, "retries": 0})
    said = first_loss(ce.Source(options, asyncio.Queue()), caplog)
    assert f"cannot reach the Docker engine at {host} (docker_host): no such socket file" in said
    assert "FileNotFoundError" not in said


@responses.activate
def test_an_engine_answering_escape_sequences_is_logged_escaped(caplog):
    api = "http://hoody.test"
    responses.get(f"{api}/api/v1/containers/", status=400,
                  json={"statusCode": 400, "error": "Bad Request", "message": EVIL})  # fmt: skip
    options = ce.parse_options({"backend": "hoody", "api_url": api, "api_token": TOKEN, "retries": 0})
    said = first_loss(ce.Source(options, asyncio.Queue()), caplog)
    assert "boom \\x1b]0;pwned\\x07 \\x1b[2J \\u202egnp.exe" in said
    assert not [ch for ch in said if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch == "\u202e"]


def test_said_is_our_message_or_why_unreachable_never_a_library_text():
    assert ce.said(ce.ContainerOpsError("cannot reach X: connection refused")) == "cannot reach X: connection refused"
    try:
        requests.get(f"http://127.0.0.1:{closed_port()}/", timeout=5)
    except requests.exceptions.ConnectionError as exc:
        assert ce.said(exc) == "connection refused"


def test_the_documentation_is_yaml_and_names_every_backend():
    import yaml

    documentation = yaml.safe_load(ce.DOCUMENTATION)
    assert yaml.safe_load(ce.EXAMPLES)
    assert set(documentation["options"]) >= {"backend", "filters", "poll_interval", "cursor_file"}
    backend_doc = documentation["options"]["backend"]["description"]
    assert all(f"C({name})" in backend_doc for name in BACKEND_CLASSES), backend_doc
    assert all(isinstance(line, str) for line in documentation["description"])
