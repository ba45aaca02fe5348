"""The container_events source on recorded event streams: Docker's (``fixtures/docker_events.json``, recorded
from a real engine by ``record_docker_events.py``), Dockhand activity rows made from them as Dockhand's
collector stores them, and Hoody status-log pages as the contract describes them (HTTP faked with ``responses``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from ansible_collections.containerops.lifecycle.extensions.eda.plugins.event_source import container_events as ce
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "docker_events.json")) as _handle:
    RECORDED: dict[str, list[dict[str, Any]]] = json.load(_handle)

# What container_status_logs would say of each recorded scenario: (from, to, operation, exit_code).
EXPECTED = {
    "crash": [(None, "stopped", "create", None), ("stopped", "running", "start", None),
              ("running", "stopped", "exit", 137), ("stopped", "absent", "delete", None)],
    "exit_3": [(None, "stopped", "create", None), ("stopped", "running", "start", None),
               ("running", "stopped", "exit", 3), ("stopped", "absent", "delete", None)],
    "docker_stop": [(None, "stopped", "create", None), ("stopped", "running", "start", None),
                    ("running", "stopped", "stop", 0), ("stopped", "absent", "delete", None)],
    "docker_stop_escalated": [(None, "stopped", "create", None), ("stopped", "running", "start", None),
                              ("running", "stopped", "stop", 137), ("stopped", "absent", "delete", None)],
    "docker_kill": [(None, "stopped", "create", None), ("stopped", "running", "start", None),
                    ("running", "stopped", "force-stop", 137), ("stopped", "absent", "delete", None)],
    "docker_restart": [(None, "stopped", "create", None), ("stopped", "running", "start", None),
                       ("running", "running", "restart", 0), ("running", "stopped", "force-stop", 137),
                       ("stopped", "absent", "delete", None)],
    "pause_resume": [(None, "stopped", "create", None), ("stopped", "running", "start", None),
                     ("running", "paused", "pause", None), ("paused", "running", "resume", None),
                     ("running", "stopped", "force-stop", 137), ("stopped", "absent", "delete", None)],
    "oom": [(None, "stopped", "create", None), ("stopped", "running", "start", None),
            ("running", "stopped", "oom", 137), ("stopped", "absent", "delete", None)],
    "remove_force": [(None, "stopped", "create", None), ("stopped", "running", "start", None),
                     ("running", "stopped", "force-stop", 137), ("stopped", "absent", "delete", None)],
}  # fmt: skip

SECRET = "hdy_very_secret_token_0123"


def seconds(event: dict[str, Any]) -> float:
    return event["timeNano"] / 1e9


def shape(records: list[dict[str, Any]]) -> list[tuple]:
    return [
        (r["from_status"], r["to_status"], ce.event_of(r, "docker")["containerops"]["operation"],
         (r.get("metadata") or {}).get("exit_code"))
        for r in records
    ]  # fmt: skip


def replay(fold: ce.DockerFold, events: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
    """Feed events at their recorded times; (when each record came out, record)."""
    out: list[tuple[float, dict[str, Any]]] = []
    for event in events:
        now = seconds(event)
        out.extend((now, r) for r in fold.flush(now))
        out.extend((now, r) for r in fold.feed(event, now))
    last = seconds(events[-1]) + 60
    out.extend((last, r) for r in fold.flush(last))
    return out


def options(**args: Any) -> ce.Options:
    return ce.parse_options(args)


# ------------------------------------------------------------------------------------------ the fold


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_recorded_stream_folds_into_the_transitions_the_status_logs_report(scenario):
    out = replay(ce.DockerFold(), RECORDED[scenario])
    assert shape([record for _when, record in out]) == EXPECTED[scenario]


@pytest.mark.parametrize(("scenario", "operation"), [("crash", "exit"), ("exit_3", "exit"), ("oom", "oom")])
def test_a_crash_comes_out_with_its_die_event_at_once(scenario, operation):
    fold = ce.DockerFold()
    for event in RECORDED[scenario]:
        records = fold.feed(event, seconds(event))
        if event["Action"] == "die":
            assert [r["metadata"]["operation"] for r in records][-1] == operation
            assert fold.next_deadline() is None  # nothing held back
            return
    pytest.fail("no die event")


def test_an_operator_stop_waits_for_the_rest_of_its_report_then_comes_out():
    events = RECORDED["docker_stop"]
    fold = ce.DockerFold(settle=2.0)
    out = []
    for event in events[:5]:  # create, start, kill 15, die, stop
        out.extend(fold.feed(event, seconds(event)))
        out.extend(fold.flush(seconds(event)))
    assert shape(out)[-1][2] == "start"  # the stop is held: a restart could still fold it
    stop_at = seconds(events[4])
    assert fold.next_deadline() == pytest.approx(stop_at + 2.0)
    assert fold.flush(stop_at + 1.9) == []
    assert shape(fold.flush(stop_at + 2.0)) == [("running", "stopped", "stop", 0)]


def test_a_restart_is_one_event_not_a_stop_and_a_start():
    out = replay(ce.DockerFold(settle=2.0), RECORDED["docker_restart"])
    operations = [r["metadata"]["operation"] for _when, r in out]
    assert operations.count("restart") == 1 and operations.count("stop") == 0
    assert operations.count("start") == 1  # the first start only


def test_a_slow_restart_is_still_told_truthfully_as_a_stop_then_a_restart():
    """With a settle shorter than the restart's start (1.09 s recorded), the stop comes out before the restart."""
    out = replay(ce.DockerFold(settle=0.5), RECORDED["docker_restart"])
    assert [r["metadata"]["operation"] for _when, r in out][2:4] == ["stop", "restart"]


def test_nothing_before_the_source_started_is_emitted_but_it_is_context():
    events = RECORDED["docker_stop"]
    start_ns = events[2]["timeNano"] + 1  # the source starts between the SIGTERM and the die
    fold = ce.DockerFold(emit_from_ns=start_ns)
    out = replay(fold, events)
    assert shape([r for _w, r in out]) == [("running", "stopped", "stop", 0), ("stopped", "absent", "delete", None)]


def test_replayed_events_are_not_folded_twice():
    cursor = ce.EventCursor()
    events = RECORDED["docker_restart"]
    first = [e for e in events[:6] if cursor.accept(e)]
    assert len(first) == 6
    assert cursor.resume_ns() == events[5]["timeNano"] - ce.REPLAY_NS
    # A reconnect reads from resume_ns: everything after it comes again, plus what is new.
    again = [e for e in events if e["timeNano"] >= cursor.resume_ns()]
    second = [e for e in again if cursor.accept(e)]
    assert second == events[6:]


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


def test_docker_filters_go_to_the_engine_and_the_rest_is_applied_to_events():
    opts = options(filters={"label": ["containerops.autoheal=true"], "project": "shop", "name": "web-*",
                            "status": ["stopped"]})  # fmt: skip
    selected = ce.docker_event_filters(opts.filters)
    assert selected["label"] == ["containerops.autoheal=true", "com.docker.compose.project=shop"]
    assert selected["type"] == ["container"] and "die" in selected["event"]
    event = {"containerops": {"name": "web-1", "to_status": "stopped"}}
    assert ce.wanted(event, opts.filters)
    assert not ce.wanted({"containerops": {"name": "db-1", "to_status": "stopped"}}, opts.filters)
    assert not ce.wanted({"containerops": {"name": "web-1", "to_status": "running"}}, opts.filters)


# ------------------------------------------------------------------------------------------ Docker follower


class FakeStream:
    """The SDK's CancellableStream over recorded events: then breaks (``error``), or blocks until closed."""

    def __init__(self, events: list[dict[str, Any]], error: Optional[Exception] = None) -> None:
        self.events = events
        self.error = error
        self.closed = threading.Event()

    def __iter__(self):
        yield from self.events
        if self.error is not None:
            raise self.error
        self.closed.wait(10)

    def close(self) -> None:
        self.closed.set()


class FakeApi:
    """The part of docker.APIClient the follower uses, answering from recorded streams."""

    def __init__(self, streams: list[FakeStream], system_time: str, pings: bool = True) -> None:
        self.streams = streams
        self.system_time = system_time
        self.since: list[str] = []
        self.filters: list[dict[str, Any]] = []
        self.pings = pings

    def info(self) -> dict[str, Any]:
        return {"SystemTime": self.system_time}

    def events(self, since: str, filters: dict[str, Any], decode: bool) -> FakeStream:
        self.since.append(since)
        self.filters.append(filters)
        return self.streams.pop(0)

    def ping(self) -> bool:
        if not self.pings:
            raise requests.exceptions.ConnectionError("no answer")
        return True


class FakeBackend:
    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.closed = False

    def close(self) -> None:
        self.closed = True


def rfc3339(ns: int) -> str:
    moment = datetime.fromtimestamp(ns // 10**9, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns % 10**9:09d}Z"


async def collect(follower: ce.Follower, queue: asyncio.Queue, count: int, timeout: float = 10) -> list[dict]:
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
    broken = FakeStream(events[:cut], requests.exceptions.ConnectionError(f"Connection aborted {SECRET}"))
    api = FakeApi([broken, FakeStream(events[cut - 3 :])], rfc3339(events[0]["timeNano"] - 10**9))
    backends: list[FakeBackend] = []

    def connect(params, secret_found):
        backends.append(FakeBackend(api))
        return backends[-1]

    queue: asyncio.Queue = asyncio.Queue()
    opts = options(filters={"label": ["containerops.autoheal=true"]}, api_token=SECRET)
    follower = ce.DockerFollower(opts, queue, connect=connect, reconnect_base=0.01, settle=0.5)
    expected = EXPECTED["crash"] + EXPECTED["docker_restart"]
    with caplog.at_level(logging.INFO, logger="containerops.lifecycle.container_events"):
        got = asyncio.run(collect(follower, queue, len(expected)))
    assert [(e["containerops"]["from_status"], e["containerops"]["to_status"], e["containerops"]["operation"],
             e["containerops"]["exit_code"]) for e in got] == expected  # fmt: skip
    assert len({e["containerops"]["record_id"] for e in got}) == len(got)
    # The second subscription starts a little before the newest event seen, as Docker's since.
    resumed = events[cut - 1]["timeNano"] - ce.REPLAY_NS
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


def test_docker_follower_pings_a_silent_engine_and_reconnects_when_it_does_not_answer(caplog):
    api = FakeApi([FakeStream([]), FakeStream(RECORDED["crash"])], rfc3339(RECORDED["crash"][0]["timeNano"] - 10**9),
                  pings=False)  # fmt: skip
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.DockerFollower(options(timeout=1), queue, connect=lambda p, s: FakeBackend(api),
                                 reconnect_base=0.01, heartbeat=0.1, settle=0.05)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="containerops.lifecycle.container_events"):
        got = asyncio.run(collect(follower, queue, 4))
    assert [e["containerops"]["operation"] for e in got] == ["create", "start", "exit", "delete"]
    assert "no event for 0s and no answer to a ping" in caplog.text


def test_docker_follower_skips_what_happened_before_it_started():
    events = RECORDED["crash"]
    start = events[2]["timeNano"]  # the engine's clock when the source starts: after the crash's start
    api = FakeApi([FakeStream(events)], rfc3339(start))
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.DockerFollower(options(), queue, connect=lambda p, s: FakeBackend(api), settle=0.05)
    got = asyncio.run(collect(follower, queue, 2))
    assert [e["containerops"]["operation"] for e in got] == ["exit", "delete"]
    assert api.since[0] == ce._since(start - ce.WARM_UP_S * 10**9)


# ------------------------------------------------------------------------------------------ Hoody


HOODY = "https://hoody.test"
CID, OTHER = "0123456789abcdef01234567", "fedcba9876543210fedcba98"


def envelope(data):
    return {"statusCode": 200, "message": "ok", "data": data}


def hoody_log(
    n: int,
    container: str,
    when: str,
    before: Optional[str],
    after: str,
    command: Optional[str] = "start",
    triggered_by: str = "user",
) -> dict[str, Any]:
    return {"id": f"{n:024x}", "container_id": container, "from_status": before, "to_status": after,
            "transition_time": when, "duration_ms": 40, "triggered_by": triggered_by,
            "metadata": {"command": command} if command else None}  # fmt: skip


class HoodyServer:
    """Hoody's listing and status-log endpoints over in-memory logs, newest first, paged as the API does."""

    def __init__(self) -> None:
        self.containers = {CID: "web-1", OTHER: "web-2"}
        self.logs: dict[str, list[dict[str, Any]]] = {CID: [], OTHER: []}
        self.limit = 2

    def listing(self, request):
        items = [{"id": cid, "name": name, "status": "running"} for cid, name in self.containers.items()]
        return 200, {}, json.dumps(envelope({"containers": items, "pagination": {"total": len(items), "page": 1}}))

    def status_logs(self, request):
        cid = urlsplit(request.url).path.split("/")[4]
        query = parse_qs(urlsplit(request.url).query)
        page = int(query["page"][0])
        logs = sorted(self.logs[cid], key=lambda log: log["transition_time"], reverse=True)
        total_pages = -(-len(logs) // self.limit)
        chunk = logs[(page - 1) * self.limit : page * self.limit]
        return (
            200,
            {},
            json.dumps(
                envelope(
                    {
                        "logs": chunk,
                        "pagination": {
                            "total": len(logs),
                            "page": page,
                            "limit": self.limit,
                            "totalPages": total_pages,
                        },
                    }
                )
            ),
        )

    def install(self) -> None:
        responses.add_callback(responses.GET, f"{HOODY}/api/v1/containers/", callback=self.listing)
        for cid in (CID, OTHER):
            responses.add_callback(responses.GET, f"{HOODY}/api/v1/containers/{cid}/status-logs",
                                   callback=self.status_logs)  # fmt: skip


def ops(events: list[dict[str, Any]]) -> list[tuple]:
    return [(e["containerops"]["name"], e["containerops"]["from_status"], e["containerops"]["to_status"],
             e["containerops"]["operation"]) for e in events]  # fmt: skip


def drain(queue: asyncio.Queue) -> list[dict[str, Any]]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


@responses.activate
def test_hoody_polls_status_logs_page_by_page_and_emits_each_record_once():
    server = HoodyServer()
    server.logs[CID] = [hoody_log(1, CID, "2026-12-01T10:00:00.000Z", None, "stopped", "create"),
                        hoody_log(2, CID, "2026-12-01T10:00:05.000Z", "stopped", "running")]  # fmt: skip
    server.install()
    queue: asyncio.Queue = asyncio.Queue()
    poller = ce.HoodyPoller(options(backend="hoody", api_url=HOODY, api_token=SECRET, retries=0), queue)

    async def rounds() -> list[list[dict[str, Any]]]:
        seen = []
        assert await poller.poll() is False  # the first round only notes where each container's history is
        seen.append(drain(queue))
        # Three new records on CID (two pages' worth: the poller pages until it reaches what it saw) and a crash
        # on OTHER: stopped by itself, no command, not triggered by a user.
        server.logs[CID] += [hoody_log(3, CID, "2026-12-01T10:01:00.000Z", "running", "stopped", "stop"),
                             hoody_log(4, CID, "2026-12-01T10:01:01.000Z", "stopped", "running", "start"),
                             hoody_log(5, CID, "2026-12-01T10:01:02.000Z", "running", "paused", "pause")]  # fmt: skip
        server.logs[OTHER] += [hoody_log(6, OTHER, "2026-12-01T10:01:03.000Z", "running", "stopped", None,
                                         triggered_by="system")]  # fmt: skip
        assert await poller.poll() is True
        seen.append(drain(queue))
        assert await poller.poll() is False  # nothing new: nothing again
        seen.append(drain(queue))
        # OTHER is deleted: it leaves the listing, its last record (kept by Hoody) still comes out.
        server.logs[OTHER].append(hoody_log(7, OTHER, "2026-12-01T10:02:00.000Z", "stopped", "deleted", "delete"))
        del server.containers[OTHER]
        assert await poller.poll() is True
        seen.append(drain(queue))
        return seen

    first, second, third, fourth = asyncio.run(rounds())
    assert first == [] and third == []
    assert ops(second) == [
        ("web-1", "running", "stopped", "stop"), ("web-1", "stopped", "running", "start"),
        ("web-1", "running", "paused", "pause"), ("web-2", "running", "stopped", "exit"),
    ]  # fmt: skip
    assert second[0]["containerops"]["engine"] == "hoody" and second[0]["containerops"]["id"] == CID
    assert ops(fourth) == [("web-2", "stopped", "absent", "delete")]
    assert SECRET not in json.dumps([second, fourth])
    assert poller.positions.keys() == {CID}


def test_hoody_operations_read_the_collections_way():
    crash = hoody_log(1, CID, "2026-12-01T10:00:00.000Z", "running", "failed", None, triggered_by="system")
    asked = hoody_log(2, CID, "2026-12-01T10:00:00.000Z", "running", "stopped", "stop")
    by_user = hoody_log(3, CID, "2026-12-01T10:00:00.000Z", "running", "stopped", None)
    records = [ce.hoody_record(dict(log, metadata=dict(log["metadata"] or {}))) for log in (crash, asked, by_user)]
    assert [ce.event_of(r, "hoody")["containerops"]["operation"] for r in records] == ["exit", "stop", "stop"]


@responses.activate
def test_hoody_errors_back_off_and_the_cursor_survives_them(caplog):
    server = HoodyServer()
    server.logs[CID] = [hoody_log(1, CID, "2026-12-01T10:00:00.000Z", "stopped", "running")]
    server.install()
    queue: asyncio.Queue = asyncio.Queue()
    poller = ce.HoodyPoller(options(backend="hoody", api_url=HOODY, api_token=SECRET, retries=0, poll_interval=0.05),
                            queue, reconnect_base=0.01)  # fmt: skip
    waits: list[float] = []

    async def idle(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:  # the API goes away for a round
            responses.replace(responses.GET, f"{HOODY}/api/v1/containers/", status=503)
        if len(waits) == 3:  # ... and comes back, with one new record
            responses.replace(responses.GET, f"{HOODY}/api/v1/containers/", body=server.listing(None)[2])
            server.logs[CID].append(hoody_log(2, CID, "2026-12-01T10:05:00.000Z", "running", "stopped", "stop"))
        if len(waits) == 5:
            raise asyncio.CancelledError

    poller.idle = idle  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING), pytest.raises(asyncio.CancelledError):
        asyncio.run(poller.run())
    assert ops(drain(queue)) == [("web-1", "running", "stopped", "stop")]
    assert waits[0] > 0.05 and waits[1] > waits[0]  # idle rounds wait longer each time
    assert "503" in caplog.text and "trying again in" in caplog.text and SECRET not in caplog.text
    assert waits[3] == 0.05  # something came: back to poll_interval


# ------------------------------------------------------------------------------------------ Dockhand


DOCKHAND = "https://dockhand.test"


def dockhand_rows(events: list[dict[str, Any]], first_id: int) -> list[dict[str, Any]]:
    """Docker events as Dockhand's collector stores them in its activity log (contract: event record)."""
    rows = []
    for offset, event in enumerate(events):
        attributes = dict(event["Actor"]["Attributes"])
        moment = datetime.fromtimestamp(event["timeNano"] / 1e9, timezone.utc)
        rows.append({
            "id": first_id + offset, "environmentId": 1, "containerId": event["Actor"]["ID"],
            "containerName": attributes.get("name"), "image": attributes.get("image"), "action": event["Action"],
            "actorAttributes": attributes,
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "createdAt": moment.strftime("%Y-%m-%d %H:%M:%S"), "environmentName": "local",
        })  # fmt: skip
    return rows


class DockhandServer:
    """``GET /api/activity`` over in-memory rows: newest first, ``fromDate`` compared as text, offset paging."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.queries: list[dict[str, list[str]]] = []

    def activity(self, request):
        query = parse_qs(urlsplit(request.url).query)
        self.queries.append(query)
        rows = sorted(self.rows, key=lambda row: (row["timestamp"], row["id"]), reverse=True)
        if "fromDate" in query:
            rows = [row for row in rows if row["timestamp"] >= query["fromDate"][0]]
        offset, limit = int(query.get("offset", ["0"])[0]), int(query["limit"][0])
        page = rows[offset : offset + limit]
        return 200, {}, json.dumps({"events": page, "total": len(rows), "limit": limit, "offset": offset})

    def install(self) -> None:
        responses.get(f"{DOCKHAND}/api/environments/1", json={"id": 1, "name": "local", "collectActivity": True})
        responses.add_callback(responses.GET, f"{DOCKHAND}/api/activity", callback=self.activity)


@responses.activate
def test_dockhand_follows_the_activity_log_after_the_last_row_id():
    server = DockhandServer()
    unlabelled = [dict(e, Actor=dict(e["Actor"], Attributes={k: v for k, v in e["Actor"]["Attributes"].items()
                                                           if k != "containerops.autoheal"}))
                  for e in RECORDED["exit_3"]]  # fmt: skip
    server.rows = dockhand_rows(RECORDED["crash"][:2], 1)  # before the source starts: create, start
    server.install()
    queue: asyncio.Queue = asyncio.Queue()
    opts = options(backend="dockhand", api_url=DOCKHAND, api_token="dh_" + SECRET, api_environment=1,
                   filters={"label": ["containerops.autoheal=true"]})  # fmt: skip
    poller = ce.DockhandPoller(opts, queue, settle=0.0)

    async def rounds() -> list[dict[str, Any]]:
        assert await poller.poll() is False  # the first round notes the newest row
        assert poller.last_id == 2
        # Then, in the order they were recorded: the crash, an unlabelled container's exit, an operator's stop.
        server.rows += dockhand_rows(RECORDED["crash"][2:] + unlabelled + RECORDED["docker_stop"], 3)
        assert await poller.poll() is True
        await poller.idle(0.02)  # held records (the stop) come out while it waits
        assert await poller.poll() is False
        return drain(queue)

    got = asyncio.run(rounds())
    assert [(e["containerops"]["name"], e["containerops"]["operation"], e["containerops"]["exit_code"])
            for e in got] == [
        ("eda-rec-crash", "exit", 137), ("eda-rec-crash", "delete", None),
        ("eda-rec-docker-stop", "create", None), ("eda-rec-docker-stop", "start", None),
        ("eda-rec-docker-stop", "stop", 0), ("eda-rec-docker-stop", "delete", None),
    ]  # fmt: skip
    assert got[0]["containerops"]["engine"] == "dockhand"
    assert server.queries[0]["limit"] == ["1"] and server.queries[0]["environmentId"] == ["1"]
    # Later rounds page (limit 100) and bound the read by the newest timestamp seen, less a margin.
    assert "fromDate" in server.queries[-1] and server.queries[-1]["limit"] == ["100"]
    assert SECRET not in json.dumps(got)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-02T05:40:12.123456789Z", 1796190012123456789),
        ("2026-12-02T06:40:12.5+01:00", 1796190012500000000),
        ("2026-12-02T05:40:12Z", 1796190012000000000),
        ("yesterday", None),
        (None, None),
    ],
)
def test_the_engines_clock_is_read_to_the_nanosecond(text, expected):
    assert ce._engine_ns(text) == expected


# ------------------------------------------------------------------------------------------ health checks

with open(os.path.join(FIXTURES, "docker_health_events.json")) as _handle:
    HEALTH: list[dict[str, Any]] = json.load(_handle)["unhealthy"]  # healthy, unhealthy, restart, healthy, rm -f
# What the engine sends the source (docker_event_filters): the health checks' exec_* events are not subscribed.
SUBSCRIBED = [e for e in HEALTH if not e["Action"].startswith("exec_")]


def replay_events(fold: ce.DockerFold, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Feed events at their recorded times; the source's events, named and labelled as they come out."""
    out: list[dict[str, Any]] = []
    for event in events:
        now = seconds(event)
        out += ce.folded_events(fold.flush(now), fold, "docker", {"backend": "docker"})
        out += ce.folded_events(fold.feed(event, now), fold, "docker", {"backend": "docker"})
    out += ce.folded_events(fold.flush(seconds(events[-1]) + 60), fold, "docker", {"backend": "docker"})
    return out


def health_shape(events: list[dict[str, Any]]) -> list[tuple]:
    return [(e["containerops"]["operation"], e["containerops"]["to_status"], e["containerops"]["health"])
            for e in events]  # fmt: skip


def test_a_health_change_is_an_event_of_its_own_and_never_a_status_log_record():
    from ansible_collections.containerops.lifecycle.plugins.module_utils import _history

    # container_status_logs reads the same stream as if the health check were not there.
    assert shape(_history.records_from_docker_events(HEALTH)) == [
        (None, "stopped", "create", None), ("stopped", "running", "start", None),
        ("running", "running", "restart", 0), ("running", "stopped", "force-stop", 137),
        ("stopped", "absent", "delete", None)]  # fmt: skip
    events = replay_events(ce.DockerFold(), SUBSCRIBED)
    assert health_shape(events) == [
        ("create", "stopped", None), ("start", "running", None), ("health", "running", "healthy"),
        ("health", "running", "unhealthy"), ("restart", "running", None), ("health", "running", "healthy"),
        ("force-stop", "stopped", None), ("delete", "absent", None)]  # fmt: skip
    unhealthy = events[3]["containerops"]
    assert unhealthy["name"] == "eda-rec-unhealthy" and unhealthy["from_status"] == "running"
    assert unhealthy["labels"]["containerops.autoheal"] == "true" and unhealthy["exit_code"] is None
    assert unhealthy["triggered_by"] == "engine" and unhealthy["record_id"].endswith("-health")
    assert len({e["containerops"]["record_id"] for e in events}) == len(events)


def test_a_health_change_comes_out_at_once_unless_it_follows_a_held_record_of_its_container():
    unhealthy = next(e for e in HEALTH if e["Action"] == "health_status: unhealthy")
    fold = ce.DockerFold(settle=60)
    assert fold.feed(unhealthy, seconds(unhealthy))[0]["metadata"]["health"] == "unhealthy"
    assert fold.next_deadline() is None  # nothing held for it
    # Right after a start (which a restart may still fold), a verdict waits for that start and comes out after it.
    create, start, healthy = SUBSCRIBED[0], SUBSCRIBED[1], SUBSCRIBED[2]
    fold = ce.DockerFold(settle=2)
    assert [r["metadata"]["operation"] for r in fold.feed(create, 0.0)] == ["create"]
    assert fold.feed(start, 0.1) == [] and fold.feed(healthy, 0.5) == []
    assert [r["metadata"]["operation"] for r in fold.flush(2.1)] == ["start", "health"]


def test_a_health_change_before_the_source_started_is_not_emitted():
    unhealthy = next(e for e in HEALTH if e["Action"] == "health_status: unhealthy")
    assert ce.DockerFold(emit_from_ns=unhealthy["timeNano"] + 1000).feed(unhealthy, 0.0) == []
    assert len(ce.DockerFold(emit_from_ns=unhealthy["timeNano"]).feed(unhealthy, 0.0)) == 1


@pytest.mark.parametrize(
    ("action", "attributes", "verdict"),
    [
        ("health_status: unhealthy", {}, "unhealthy"),  # Docker's /events
        ("health_status: healthy", {}, "healthy"),
        ("health_status", {"healthStatus": "unhealthy"}, "unhealthy"),  # an activity log keeping the base action
        ("health_status: starting", {}, None),  # not a verdict
        ("health_status", {}, None),  # no verdict at all
        ("exec_die", {"exitCode": "1"}, None),
        ("die", {"exitCode": "1"}, None),
    ],
)
def test_a_health_record_is_made_only_of_a_verdict(action, attributes, verdict):
    from ansible_collections.containerops.lifecycle.plugins.module_utils import _history

    event = {"Type": "container", "Action": action, "timeNano": 1796190012123456789,
             "Actor": {"ID": "ab" * 32, "Attributes": dict(attributes, name="web-1")}}  # fmt: skip
    record = _history.health_record(event)
    if verdict is None:
        assert record is None
        return
    assert record["metadata"]["health"] == verdict and record["metadata"]["name"] == "web-1"
    assert (record["from_status"], record["to_status"], _history.operation_of(record)) == ("running", "running",
                                                                                          "health")  # fmt: skip
    assert record["transition_time"] == "2026-12-02T05:40:12.123456Z"
    assert _history.health_record(dict(event, Type="network")) is None


def test_docker_subscribes_to_health_changes_besides_the_status_logs_actions():
    from ansible_collections.containerops.lifecycle.plugins.module_utils import _history

    selected = ce.docker_event_filters({})
    assert selected["event"] == [*_history.DOCKER_EVENT_ACTIONS, "health_status"]
    assert "health_status" not in _history.DOCKER_EVENT_ACTIONS  # container_status_logs reads what it read


@responses.activate
def test_dockhand_health_rows_are_health_events():
    server = DockhandServer()
    server.rows = dockhand_rows(SUBSCRIBED[:2], 1)
    server.install()
    queue: asyncio.Queue = asyncio.Queue()
    opts = options(backend="dockhand", api_url=DOCKHAND, api_token="dh_" + SECRET, api_environment=1,
                   filters={"label": ["containerops.autoheal=true"]})  # fmt: skip
    poller = ce.DockhandPoller(opts, queue, settle=0.0)
    # As Dockhand's collector keeps them: the base action, the verdict in the attributes (tests/servers/dockhand.py).
    rows = dockhand_rows(SUBSCRIBED[2:], 3)
    for row in rows:
        if row["action"].startswith("health_status"):
            row["actorAttributes"]["healthStatus"] = row["action"].partition(":")[2].strip()
            row["action"] = "health_status"

    async def rounds() -> list[dict[str, Any]]:
        await poller.poll()
        server.rows += rows
        await poller.poll()
        await poller.idle(0.02)
        return drain(queue)

    got = asyncio.run(rounds())
    assert health_shape(got) == [
        ("health", "running", "healthy"), ("health", "running", "unhealthy"), ("restart", "running", None),
        ("health", "running", "healthy"), ("force-stop", "stopped", None), ("delete", "absent", None)]  # fmt: skip
    assert all(e["containerops"]["engine"] == "dockhand" for e in got)


# ------------------------------------------------------------------------------------------ resuming from cursor_file


def operations(events: list[dict[str, Any]]) -> list[tuple]:
    return [(e["containerops"]["name"], e["containerops"]["operation"]) for e in events]


async def run_until_quiet(follower: ce.Follower, queue: asyncio.Queue, quiet: float = 0.5) -> list[dict]:
    """Run the follower until nothing has come for ``quiet`` seconds (it is waiting on its stream), then stop it."""
    task = asyncio.create_task(follower.run())
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
    first = FakeApi([FakeStream(crash + exit_3 + stop[:cut])], rfc3339(crash[0]["timeNano"] - 10**9))
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.DockerFollower(options(cursor_file=cursor), queue, connect=lambda p, s: FakeBackend(first), settle=60)
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
    second = FakeApi([FakeStream(replayed)], rfc3339(kill[-1]["timeNano"] + 10**9))
    follower = ce.DockerFollower(options(cursor_file=cursor), queue, connect=lambda p, s: FakeBackend(second),
                                 settle=0.05)  # fmt: skip
    after = asyncio.run(run_until_quiet(follower, queue))
    queue = asyncio.Queue()
    assert operations(after) == [
        ("eda-rec-docker-stop", "stop"), ("eda-rec-docker-stop", "delete"), ("eda-rec-docker-kill", "create"),
        ("eda-rec-docker-kill", "start"), ("eda-rec-docker-kill", "force-stop"),
        ("eda-rec-docker-kill", "delete")]  # fmt: skip
    newest = ce._record_ns(before[-1]["containerops"])
    assert second.since == [ce._since(newest - _position().OVERLAP_NS)]
    ids = [e["containerops"]["record_id"] for e in before + after]
    assert len(ids) == len(set(ids))
    # A third start with nothing new emits nothing.
    third = FakeApi([FakeStream(replayed)], rfc3339(kill[-1]["timeNano"] + 2 * 10**9))
    follower = ce.DockerFollower(options(cursor_file=cursor), queue, connect=lambda p, s: FakeBackend(third),
                                 settle=0.05)  # fmt: skip
    assert asyncio.run(run_until_quiet(follower, queue)) == []


def _position():
    from ansible_collections.containerops.lifecycle.plugins.module_utils import _position

    return _position


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (lambda: _position().encode('{"backend": "hoody"}', _position().empty()), "it was kept for another engine"),
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
    api = FakeApi([FakeStream(events)], rfc3339(start))
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.DockerFollower(options(cursor_file=str(cursor)), queue, connect=lambda p, s: FakeBackend(api),
                                 settle=0.05)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="containerops.lifecycle.container_events"):
        got = asyncio.run(run_until_quiet(follower, queue))
    assert operations(got) == [("eda-rec-crash", "exit"), ("eda-rec-crash", "delete")]
    assert api.since == [ce._since(start - ce.WARM_UP_S * 10**9)]
    assert f"cursor_file {cursor} cannot be used: {said}" in caplog.text and "starting from the present" in caplog.text
    assert _position().decode(cursor.read_text(), options().engine_key())[0]["newest_ns"] is not None  # its own now


def test_a_cursor_file_that_cannot_be_written_is_warned_about_once_and_events_still_come(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    events = RECORDED["crash"]
    api = FakeApi([FakeStream(events)], rfc3339(events[0]["timeNano"] - 10**9))
    queue: asyncio.Queue = asyncio.Queue()
    follower = ce.DockerFollower(options(cursor_file=str(blocker / "cursor.json")), queue,
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


@responses.activate
def test_dockhand_resumes_from_its_cursor_file(tmp_path):
    cursor = str(tmp_path / "cursor.json")
    server = DockhandServer()
    server.rows = dockhand_rows(RECORDED["crash"][:2], 1)
    server.install()
    queue: asyncio.Queue = asyncio.Queue()
    opts = options(backend="dockhand", api_url=DOCKHAND, api_token="dh_" + SECRET, api_environment=1,
                   cursor_file=cursor)  # fmt: skip

    async def rounds(poller: ce.DockhandPoller, new_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        await poller.poll()
        server.rows += new_rows
        await poller.poll()
        await poller.idle(0.02)
        return drain(queue)

    before = asyncio.run(rounds(ce.DockhandPoller(opts, queue, settle=0.0), dockhand_rows(RECORDED["crash"][2:], 3)))
    assert operations(before) == [("eda-rec-crash", "exit"), ("eda-rec-crash", "delete")]
    # While away: exit_3's whole life. Started again, the first round reads from the cursor's overlap on.
    server.rows += dockhand_rows(RECORDED["exit_3"], 100)
    after = asyncio.run(rounds(ce.DockhandPoller(opts, queue, settle=0.0), []))
    assert operations(after) == [("eda-rec-exit-3", "create"), ("eda-rec-exit-3", "start"), ("eda-rec-exit-3", "exit"),
                                 ("eda-rec-exit-3", "delete")]  # fmt: skip
    resumed = [q for q in server.queries if "fromDate" in q][-2]["fromDate"][0]
    newest = ce._record_ns(before[-1]["containerops"])
    assert resumed == ce._dockhand_time((newest - _position().OVERLAP_NS) / 1e9)


@responses.activate
def test_hoody_resumes_from_its_cursor_file_and_reads_a_new_container_from_the_last_poll(tmp_path):
    cursor = str(tmp_path / "cursor.json")
    server = HoodyServer()
    server.logs[CID] = [hoody_log(1, CID, "2026-12-01T10:00:00.000Z", None, "stopped", "create")]
    server.install()
    queue: asyncio.Queue = asyncio.Queue()
    opts = options(backend="hoody", api_url=HOODY, api_token=SECRET, retries=0, cursor_file=cursor)
    moment = datetime(2026, 12, 1, 10, 1, 30, tzinfo=timezone.utc).timestamp()

    async def poll(poller: ce.HoodyPoller) -> list[dict[str, Any]]:
        await poller.poll()
        return drain(queue)

    first = ce.HoodyPoller(opts, queue, wall=lambda: moment)
    assert asyncio.run(poll(first)) == []  # the first round only notes where each container's history is
    server.logs[CID].append(hoody_log(2, CID, "2026-12-01T10:01:00.000Z", "stopped", "running", "start"))
    assert ops(asyncio.run(poll(first))) == [("web-1", "stopped", "running", "start")]
    # While away: web-1 stops; web-2 (known, no records yet) crashes; web-3 is created with an old record (before
    # the last poll: not told) and a new one.
    server.logs[CID].append(hoody_log(3, CID, "2026-12-01T10:03:00.000Z", "running", "stopped", "stop"))
    server.logs[OTHER].append(hoody_log(4, OTHER, "2026-12-01T10:03:01.000Z", "running", "stopped", None,
                                        triggered_by="system"))  # fmt: skip
    third = "abcdefabcdefabcdefabcdef"
    server.containers[third] = "web-3"
    server.logs[third] = [hoody_log(5, third, "2026-12-01T10:00:10.000Z", None, "stopped", "create"),
                          hoody_log(6, third, "2026-12-01T10:03:02.000Z", "stopped", "running", "start")]  # fmt: skip
    responses.add_callback(responses.GET, f"{HOODY}/api/v1/containers/{third}/status-logs", callback=server.status_logs)
    second = ce.HoodyPoller(opts, queue, wall=lambda: moment + 120)
    assert ops(asyncio.run(poll(second))) == [
        ("web-1", "running", "stopped", "stop"), ("web-2", "running", "stopped", "exit"),
        ("web-3", "stopped", "running", "start")]  # fmt: skip
    assert asyncio.run(poll(second)) == []


# What the event source logs when its engine cannot be reached, or answers with escape sequences (real connections).


TOKEN = "hdy_event_source_secret"
EVIL = "boom \x1b]0;pwned\x07 \x1b[2J \u202egnp.exe"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_loss(follower: ce.Follower, caplog) -> str:
    """Run ``follower`` until it first waits to try again; the warning it logged."""

    async def stop(seconds: float) -> None:
        raise asyncio.CancelledError

    follower.idle = stop  # type: ignore[method-assign]
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
    said = first_loss(ce.HoodyPoller(options, asyncio.Queue()), caplog)
    assert f"cannot reach the Hoody API at {url} (api_url, from HOODY_API_URL): connection refused" in said
    assert "Max retries" not in said and TOKEN not in said


def test_a_docker_socket_that_is_not_there_is_said_plainly(tmp_path, caplog):
    host = f"unix://{tmp_path}/docker.sock"
    options = ce.parse_options({"docker_host": host, "retries": 0})
    said = first_loss(ce.DockerFollower(options, asyncio.Queue()), caplog)
    assert f"cannot reach the Docker engine at {host} (docker_host): no such socket file" in said
    assert "FileNotFoundError" not in said


@responses.activate
def test_an_engine_answering_escape_sequences_is_logged_escaped(caplog):
    api = "http://hoody.test"
    responses.get(f"{api}/api/v1/containers/", status=400,
                  json={"statusCode": 400, "error": "Bad Request", "message": EVIL})  # fmt: skip
    options = ce.parse_options({"backend": "hoody", "api_url": api, "api_token": TOKEN, "retries": 0})
    said = first_loss(ce.HoodyPoller(options, asyncio.Queue()), caplog)
    assert "boom \\x1b]0;pwned\\x07 \\x1b[2J \\u202egnp.exe" in said
    assert not [ch for ch in said if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch == "\u202e"]


def test_said_is_our_message_or_why_unreachable_never_a_library_text():
    assert ce.said(ce.ContainerOpsError("cannot reach X: connection refused")) == "cannot reach X: connection refused"
    try:
        requests.get(f"http://127.0.0.1:{closed_port()}/", timeout=5)
    except requests.exceptions.ConnectionError as exc:
        assert ce.said(exc) == "connection refused"
