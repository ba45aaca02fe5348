"""Unit tests for plugins/module_utils/_docker_events.py: Docker's events settled as they stream (``DockerFold``,
``EventCursor``) over streams recorded from a real engine (tests/unit/extensions/eda/plugins/event_source/fixtures,
recorded by record_docker_events.py there), and the health checks' verdicts among them."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_events import (
    REPLAY_NS,
    WARM_UP_S,
    DockerFeed,
    DockerFold,
    EventCursor,
    docker_event_filters,
    engine_ns,
    since,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_history import (
    DOCKER_EVENT_ACTIONS,
    health_record,
    records_from_docker_events,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import EngineLost
from ansible_collections.containerops.lifecycle.plugins.module_utils._events import Timing, event_of, record_ns

STREAMS = os.path.join(
    os.path.dirname(__file__), "..", "..", "extensions", "eda", "plugins", "event_source", "fixtures"
)
with open(os.path.join(STREAMS, "docker_events.json")) as _handle:
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


def seconds(event: dict[str, Any]) -> float:
    return event["timeNano"] / 1e9


def shape(records: list[dict[str, Any]]) -> list[tuple]:
    return [
        (r["from_status"], r["to_status"], _history.operation_of(r), (r.get("metadata") or {}).get("exit_code"))
        for r in records
    ]


def replay(fold: DockerFold, events: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
    """Feed events at their recorded times; (when each record came out, record)."""
    out: list[tuple[float, dict[str, Any]]] = []
    for event in events:
        now = seconds(event)
        out.extend((now, r) for r in fold.flush(now))
        out.extend((now, r) for r in fold.feed(event, now))
    last = seconds(events[-1]) + 60
    out.extend((last, r) for r in fold.flush(last))
    return out


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_recorded_stream_folds_into_the_transitions_the_status_logs_report(scenario):
    out = replay(DockerFold(), RECORDED[scenario])
    assert shape([record for _when, record in out]) == EXPECTED[scenario]


@pytest.mark.parametrize(("scenario", "operation"), [("crash", "exit"), ("exit_3", "exit"), ("oom", "oom")])
def test_a_crash_comes_out_with_its_die_event_at_once(scenario, operation):
    fold = DockerFold()
    for event in RECORDED[scenario]:
        records = fold.feed(event, seconds(event))
        if event["Action"] == "die":
            assert [r["metadata"]["operation"] for r in records][-1] == operation
            assert fold.next_deadline() is None  # nothing held back
            return
    pytest.fail("no die event")


def test_an_operator_stop_waits_for_the_rest_of_its_report_then_comes_out():
    events = RECORDED["docker_stop"]
    fold = DockerFold(settle=2.0)
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
    out = replay(DockerFold(settle=2.0), RECORDED["docker_restart"])
    operations = [r["metadata"]["operation"] for _when, r in out]
    assert operations.count("restart") == 1 and operations.count("stop") == 0
    assert operations.count("start") == 1  # the first start only


def test_a_slow_restart_is_still_told_truthfully_as_a_stop_then_a_restart():
    """With a settle shorter than the restart's start (1.09 s recorded), the stop comes out before the restart."""
    out = replay(DockerFold(settle=0.5), RECORDED["docker_restart"])
    assert [r["metadata"]["operation"] for _when, r in out][2:4] == ["stop", "restart"]


def test_nothing_before_the_source_started_is_emitted_but_it_is_context():
    events = RECORDED["docker_stop"]
    start_ns = events[2]["timeNano"] + 1  # the source starts between the SIGTERM and the die
    fold = DockerFold(emit_from_ns=start_ns)
    out = replay(fold, events)
    assert shape([r for _w, r in out]) == [("running", "stopped", "stop", 0), ("stopped", "absent", "delete", None)]


def test_replayed_events_are_not_folded_twice():
    cursor = EventCursor()
    events = RECORDED["docker_restart"]
    first = [e for e in events[:6] if cursor.accept(e)]
    assert len(first) == 6
    assert cursor.resume_ns() == events[5]["timeNano"] - REPLAY_NS
    # A reconnect reads from resume_ns: everything after it comes again, plus what is new.
    again = [e for e in events if e["timeNano"] >= cursor.resume_ns()]
    second = [e for e in again if cursor.accept(e)]
    assert second == events[6:]


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
    assert engine_ns(text) == expected


with open(os.path.join(STREAMS, "docker_health_events.json")) as _handle:
    HEALTH: list[dict[str, Any]] = json.load(_handle)["unhealthy"]  # healthy, unhealthy, restart, healthy, rm -f
# What the engine sends the source (docker_event_filters): the health checks' exec_* events are not subscribed.
SUBSCRIBED = [e for e in HEALTH if not e["Action"].startswith("exec_")]


def replay_events(fold: DockerFold, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Feed events at their recorded times; the source's events, named and labelled as they come out."""
    out: list[dict[str, Any]] = []
    for event in events:
        now = seconds(event)
        out += folded(fold, fold.flush(now))
        out += folded(fold, fold.feed(event, now))
    out += folded(fold, fold.flush(seconds(events[-1]) + 60))
    return out


def folded(fold: DockerFold, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The source's events of settled records, named and labelled as the fold last saw them."""
    return [event_of(fold.transition(record), "docker", {"backend": "docker"}) for record in records]


def health_shape(events: list[dict[str, Any]]) -> list[tuple]:
    return [(e["containerops"]["operation"], e["containerops"]["to_status"], e["containerops"]["health"])
            for e in events]  # fmt: skip


def test_a_health_change_is_an_event_of_its_own_and_never_a_status_log_record():
    # container_status_logs reads the same stream as if the health check were not there.
    assert shape(records_from_docker_events(HEALTH)) == [
        (None, "stopped", "create", None), ("stopped", "running", "start", None),
        ("running", "running", "restart", 0), ("running", "stopped", "force-stop", 137),
        ("stopped", "absent", "delete", None)]  # fmt: skip
    events = replay_events(DockerFold(), SUBSCRIBED)
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
    fold = DockerFold(settle=60)
    assert fold.feed(unhealthy, seconds(unhealthy))[0]["metadata"]["health"] == "unhealthy"
    assert fold.next_deadline() is None  # nothing held for it
    # Right after a start (which a restart may still fold), a verdict waits for that start and comes out after it.
    create, start, healthy = SUBSCRIBED[0], SUBSCRIBED[1], SUBSCRIBED[2]
    fold = DockerFold(settle=2)
    assert [r["metadata"]["operation"] for r in fold.feed(create, 0.0)] == ["create"]
    assert fold.feed(start, 0.1) == [] and fold.feed(healthy, 0.5) == []
    assert [r["metadata"]["operation"] for r in fold.flush(2.1)] == ["start", "health"]


def test_a_health_change_before_the_source_started_is_not_emitted():
    unhealthy = next(e for e in HEALTH if e["Action"] == "health_status: unhealthy")
    assert DockerFold(emit_from_ns=unhealthy["timeNano"] + 1000).feed(unhealthy, 0.0) == []
    assert len(DockerFold(emit_from_ns=unhealthy["timeNano"]).feed(unhealthy, 0.0)) == 1


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
    event = {"Type": "container", "Action": action, "timeNano": 1796190012123456789,
             "Actor": {"ID": "ab" * 32, "Attributes": dict(attributes, name="web-1")}}  # fmt: skip
    record = health_record(event)
    if verdict is None:
        assert record is None
        return
    assert record["metadata"]["health"] == verdict and record["metadata"]["name"] == "web-1"
    assert (record["from_status"], record["to_status"], _history.operation_of(record)) == ("running", "running",
                                                                                          "health")  # fmt: skip
    assert record["transition_time"] == "2026-12-02T05:40:12.123456Z"
    assert health_record(dict(event, Type="network")) is None


def test_docker_subscribes_to_health_changes_besides_the_status_logs_actions():
    selected = docker_event_filters({})
    assert selected["event"] == [*DOCKER_EVENT_ACTIONS, "health_status"]
    assert "health_status" not in DOCKER_EVENT_ACTIONS  # container_status_logs reads what it read


def test_docker_filters_select_by_label_and_compose_project_on_the_engine():
    selected = docker_event_filters({"label": ["containerops.autoheal=true"], "project": "shop", "name": "web-*",
                                     "status": ["stopped"]})  # fmt: skip
    assert selected["label"] == ["containerops.autoheal=true", "com.docker.compose.project=shop"]
    assert selected["type"] == ["container"] and "die" in selected["event"]
    assert "label" not in docker_event_filters({"name": "web-*"})


class Stream:
    """The SDK's event stream: ``events``, then ``error`` (or blocking until closed)."""

    def __init__(self, events, error=None):
        self.events, self.error = events, error
        self.closed = threading.Event()

    def __iter__(self):
        yield from self.events
        if self.error is not None:
            raise self.error
        self.closed.wait(10)

    def close(self):
        self.closed.set()


class Api:
    def __init__(self, stream):
        self.stream = stream
        self.since = []

    def info(self):
        return {"SystemTime": "2026-12-02T05:40:12.000000001Z"}

    def events(self, since, filters, decode, until=None):
        self.since.append(since)
        return self.stream


class Backend:
    def __init__(self, api):
        self.api = api

    def list(self, filters):
        return []

    def close(self):
        pass


def test_a_feed_reads_the_stream_until_it_breaks_then_says_why():
    crash = RECORDED["crash"]
    api = Api(Stream(crash, ConnectionResetError("reset by peer")))
    feed = DockerFeed(lambda: Backend(api), {}, None, Timing(settle=0.05))
    assert feed.open() == "following the event stream"
    assert api.since == [since(1796190012000000001 - WARM_UP_S * 10**9)]  # a minute of context before the start
    out = []
    with pytest.raises(EngineLost, match=r"the event stream broke \(ConnectionResetError: reset by peer\)"):
        while True:
            out += feed.read()
    assert [(event_of(t, "docker", {})["containerops"]["name"], _history.operation_of(t.record)) for t in out] == [
        ("eda-rec-crash", "create"),
        ("eda-rec-crash", "start"),
        ("eda-rec-crash", "exit"),
        ("eda-rec-crash", "delete"),
    ]
    assert out[2].labels["containerops.autoheal"] == "true"
    assert feed.position()["newest_ns"] == record_ns(out[-1].record)


def test_closing_a_feed_wakes_a_read_waiting_on_a_silent_stream():
    feed = DockerFeed(lambda: Backend(Api(Stream([]))), {}, None, Timing(heartbeat=30))
    feed.open()
    threading.Timer(0.05, feed.close).start()
    started = time.monotonic()
    with pytest.raises(EngineLost):
        feed.read()
    assert time.monotonic() - started < 5
