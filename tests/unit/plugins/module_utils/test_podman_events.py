"""Unit tests for plugins/module_utils/_podman_events.py: libpod's events settled as they stream (``PodmanFold``) and
followed (``PodmanFeed``), over streams recorded from a real Podman 4.3.1 service (test_podman_history's
``RECORDED``), health checks' verdicts read from the container after each check."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Optional

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history, _position
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_events import WARM_UP_S, engine_ns, since
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import EngineLost
from ansible_collections.containerops.lifecycle.plugins.module_utils._events import Timing, event_of, record_ns
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman_events import (
    CHECK_WAIT_S,
    HEALTH_READ_S,
    PodmanFeed,
    PodmanFold,
    labels_of,
    podman_event_filters,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman_history import records_from_podman_events
from tests.unit.plugins.module_utils.test_docker_events import Stream
from tests.unit.plugins.module_utils.test_podman_history import EXPECTED, RECORDED, shape

SUBSCRIBED = set(podman_event_filters()["event"])


def streamed(scenario: str) -> list[dict[str, Any]]:
    """The scenario's events as the feed's subscription gets them (no init, sync, exec, ...)."""
    return [e for e in RECORDED[scenario] if e["Action"] in SUBSCRIBED]


def seconds(event: dict[str, Any]) -> float:
    return event["timeNano"] / 1e9


def replay(fold: PodmanFold, events: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
    """Feed events at their recorded times; (when each record came out, record)."""
    out: list[tuple[float, dict[str, Any]]] = []
    for event in events:
        now = seconds(event)
        out += [(now, r) for r in fold.flush(now)]
        out += [(now, r) for r in fold.feed(event, now)]
    last = seconds(events[-1]) + 60
    return out + [(last, r) for r in fold.flush(last)]


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_the_source_emits_what_the_status_logs_report_one_classification(scenario):
    events = [e for e in streamed(scenario) if e["Action"] not in ("health_status", "exec_died")]
    out = [record for _when, record in replay(PodmanFold(), events)]
    assert told(out) == told(records_from_podman_events(RECORDED[scenario]))
    assert shape(out) == EXPECTED[scenario]


def told(records: list[dict[str, Any]]) -> list[tuple]:
    """What a record tells (its ``events`` may lack a cleanup that came after it was settled)."""
    keys = ("id", "from_status", "to_status", "duration_ms", "triggered_by")
    return [(*(r[k] for k in keys), _history.operation_of(r), r["metadata"].get("escalated")) for r in records]


def test_a_crash_waits_for_its_cleanups_and_a_stop_comes_out_with_its_second_cleanup():
    crash = streamed("crash")
    fold, cleanup = PodmanFold(settle=2.0), [e["Action"] for e in crash].index("cleanup")
    out = [r for e in crash[: cleanup + 1] for r in fold.feed(e, seconds(e))]
    assert shape(out) == EXPECTED["crash"][:2]  # the died is held: a stop's second cleanup may follow
    due = seconds(crash[cleanup]) + 2.0
    assert fold.next_deadline() == pytest.approx(due)
    assert fold.flush(due - 0.01) == [] and shape(fold.flush(due)) == [EXPECTED["crash"][2]]
    stop = streamed("podman_stop")
    second = [i for i, e in enumerate(stop) if e["Action"] == "cleanup"][1]
    fold = PodmanFold(settle=2.0)
    out = [r for e in stop[:second] for r in fold.feed(e, seconds(e))]
    assert shape(fold.feed(stop[second], seconds(stop[second]))) == [EXPECTED["podman_stop"][2]]
    assert fold.next_deadline() is None


def test_labels_are_the_attributes_less_libpods_own():
    attributes = streamed("crash")[0]["Actor"]["Attributes"]
    assert {"name", "image", "containerExitCode", "podId"} <= set(attributes)
    assert labels_of(attributes) == {
        "containerops.autoheal": "true",
        "containerops.busybox_sha": attributes["containerops.busybox_sha"],
        "org.opencontainers.image.title": "containerops-busybox-test",
    }


class State:
    def __init__(self, status: str, health: Optional[str], checked: str = "2099-01-01T00:00:00Z") -> None:
        """A container's look-up; ``checked``: when the newest check in its health log ended."""
        self.status, self.health = status, health
        self.details = {"State": {"Health": {"Status": health, "Log": [{"ExitCode": 0, "End": checked}]}}}


class Api:
    def __init__(self, stream: Any) -> None:
        self.stream_answer, self.asked, self.pinged = stream, [], 0

    def stream(self, method, path, params=None, timeout=None):
        self.asked.append((method, path, params))
        return iter(self.stream_answer)

    def call(self, method, path, params=None, body=None, timeout=None):
        assert (method, path) == ("GET", "/_ping")
        self.pinged += 1
        return "OK"


class Backend:
    """A connected Podman backend: its client, and the health each look-up finds, in turn."""

    def __init__(self, api: Any = None, healths: tuple = ()) -> None:
        self.api, self.healths, self.looked_up = api, list(healths), []

    def look_up(self, container_id: str) -> State:
        self.looked_up.append(container_id)
        health = self.healths.pop(0)
        return health if isinstance(health, State) else State("running", health)

    def close(self) -> None:
        pass


def follow(feed: PodmanFeed, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Take events at their recorded times as the feed's read does; the source's events."""
    transitions = []
    for event in events:
        now = seconds(event)
        transitions += feed.settled(feed.fold.flush(now)) + feed.read_health(now)
        transitions += feed.take(event, now)
    last = seconds(events[-1]) + 60
    transitions += feed.settled(feed.fold.flush(last)) + feed.read_health(last)
    return [event_of(t, "podman", {"backend": "podman"})["containerops"] for t in transitions]


def health_shape(events: list[dict[str, Any]]) -> list[tuple]:
    return [(e["operation"], e["to_status"], e["health"]) for e in events]


def test_a_health_change_is_read_from_the_container_after_its_check_not_from_the_stale_event():
    events = streamed("unhealthy")
    # Podman 4.3 writes the status before the check: starting, healthy (the check that failed), starting.
    assert [e["HealthStatus"] for e in events if e["Action"] == "health_status"] == ["starting", "healthy", "starting"]
    backend = Backend(healths=("healthy", "unhealthy", "healthy"))
    feed = PodmanFeed(lambda: backend, {}, None, Timing(settle=2.0))
    feed.backend = backend
    out = follow(feed, events)
    assert health_shape(out) == [
        ("create", "stopped", None), ("start", "running", None), ("health", "running", "healthy"),
        ("health", "running", "unhealthy"), ("restart", "running", None), ("health", "running", "healthy"),
        ("stop", "stopped", None), ("delete", "absent", None)]  # fmt: skip
    unhealthy = out[3]
    checks = [e for e in events if e["Action"] == "health_status"]
    assert unhealthy["transition_time"] == _history.format_time(_history.parse_iso(out[3]["transition_time"]))
    assert record_ns({"transition_time": unhealthy["transition_time"]}) == checks[1]["timeNano"] // 1000 * 1000
    assert unhealthy["labels"]["containerops.autoheal"] == "true" and unhealthy["triggered_by"] == "engine"
    assert unhealthy["name"] == "pevents-rec-unhealthy" and backend.looked_up == [checks[0]["Actor"]["ID"]] * 3


def test_a_check_is_read_soon_after_its_exec_ends_or_after_the_checks_timeout_and_only_a_change_is_emitted():
    check, ended = (next(e for e in streamed("unhealthy") if e["Action"] == a) for a in ("health_status", "exec_died"))
    backend = Backend(healths=("healthy", "healthy", "starting"))
    feed = PodmanFeed(lambda: backend, {}, None)
    feed.backend = backend
    assert feed.take(check, 100.0) == [] and feed.read_health(100.0 + CHECK_WAIT_S - 0.01) == []
    assert [t.record["metadata"]["health"] for t in feed.read_health(100.0 + CHECK_WAIT_S)] == ["healthy"]
    feed.take(dict(check, timeNano=check["timeNano"] + 10**11), 200.0)  # the next check
    feed.take(ended, 200.1)
    assert feed.read_health(200.1 + HEALTH_READ_S) == [] and len(backend.looked_up) == 2  # healthy again: no change
    feed.take(dict(check, timeNano=check["timeNano"] + 2 * 10**11), 300.0)
    assert feed.read_health(400.0) == [] and feed.health[check["Actor"]["ID"]] == "starting"


def test_the_label_filter_is_applied_to_every_event_of_the_feed():
    events = streamed("crash")
    backend = Backend()
    kept = PodmanFeed(lambda: backend, {"label": ["containerops.autoheal=true"]}, None)
    kept.backend = backend
    assert [e["operation"] for e in follow(kept, events)] == ["create", "start", "exit", "delete"]
    other = PodmanFeed(lambda: backend, {"label": ["containerops.autoheal=false"]}, None)
    other.backend = backend
    assert follow(other, events) == []


WALL = 1796552000.0  # the feed's start, after the recorded streams


def test_a_feed_subscribes_with_a_minute_of_context_reads_until_the_stream_breaks_then_says_why():
    events = streamed("crash")
    api = Api(Stream(events, ConnectionResetError("reset by peer")))
    feed = PodmanFeed(lambda: Backend(api), {}, None, Timing(settle=0.05, wall=lambda: WALL))
    feed.fold.emit_from_ns = 0
    assert feed.open() == "following libpod's event stream"
    method, path, params = api.asked[0]
    assert (method, path, params["stream"]) == ("GET", "/events", "true")
    assert params["since"] == since(int(WALL * 10**9) - WARM_UP_S * 10**9)
    assert set(json.loads(params["filters"])["event"]) >= {"died", "cleanup", "health_status", "exec_died"}
    # What happened before the feed started is context, not emitted.
    with pytest.raises(EngineLost, match=r"the event stream broke \(ConnectionResetError: reset by peer\)"):
        while True:
            assert feed.read() == []


def test_a_feed_resumed_from_its_position_reads_from_there_and_emits_what_it_missed_once():
    events = streamed("crash")
    api = Api(Stream(events, ConnectionResetError("reset by peer")))
    start = events[1]  # the source stopped after the start: the crash happened while it was away
    stored = _position.handled(_position.empty(events[0]["timeNano"]), records_from_podman_events(events[:2]),
                               record_ns)  # fmt: skip
    feed = PodmanFeed(lambda: Backend(api), {}, stored, Timing(settle=0.05, wall=lambda: WALL))
    feed.open()
    assert api.asked[0][2]["since"] == since(stored["newest_ns"] - _position.OVERLAP_NS)
    assert feed.resumed_ns == record_ns(records_from_podman_events([start])[0])
    out = []
    with pytest.raises(EngineLost):
        while True:
            out += feed.read()
    assert [_history.operation_of(t.record) for t in out] == ["exit", "delete"]
    assert feed.position()["newest_ns"] == record_ns(out[-1].record)


def test_a_silent_stream_is_pinged_and_closing_the_feed_wakes_a_waiting_read():
    api = Api(Stream([]))
    feed = PodmanFeed(lambda: Backend(api), {}, None, Timing(heartbeat=0.05))
    feed.open()
    assert feed.read() == [] and api.pinged == 1
    threading.Timer(0.05, feed.close).start()
    started = time.monotonic()
    with pytest.raises(EngineLost, match="closed"):
        while True:
            feed.read()
    assert time.monotonic() - started < 5


def test_a_check_is_read_again_until_the_containers_health_log_holds_it():
    check, ended = (next(e for e in streamed("unhealthy") if e["Action"] == a) for a in ("health_status", "exec_died"))
    before = "2026-12-06T10:00:00.000000000Z"  # an earlier check: this one's result is not written yet
    assert engine_ns(before) < check["timeNano"]
    backend = Backend(healths=(State("running", "healthy", before), State("running", "unhealthy")))
    feed = PodmanFeed(lambda: backend, {}, None)
    feed.backend = backend
    feed.take(check, 10.0)
    feed.take(ended, 10.1)
    assert feed.read_health(10.1 + HEALTH_READ_S) == []  # not yet in the log: read again soon
    assert feed.checks and feed.health == {}
    out = feed.read_health(10.1 + 3 * HEALTH_READ_S)
    assert [t.record["metadata"]["health"] for t in out] == ["unhealthy"] and not feed.checks
    backend.healths = [State("running", "healthy", before)]
    feed.take(dict(check, timeNano=check["timeNano"] + 10**9), 100.0)
    assert feed.read_health(100.0 + 2 * CHECK_WAIT_S) == [] and not feed.checks  # never written: given up


@pytest.mark.parametrize(("delay_s", "told_as"), [(0.0, ["restart"]), (3.0, ["stop", "restart"])])
def test_a_restarts_stop_part_waits_for_its_start_and_a_slow_one_is_a_stop_then_a_restart_never_an_exit(
    delay_s, told_as
):
    events = streamed("podman_restart")
    second = [i for i, e in enumerate(events) if e["Action"] == "start"][1]
    moved = events[:second] + [dict(e, timeNano=e["timeNano"] + int(delay_s * 10**9)) for e in events[second:]]
    operations = [_history.operation_of(r) for _when, r in replay(PodmanFold(settle=2.0), moved)]
    assert operations[2:-2] == told_as and "exit" not in operations
