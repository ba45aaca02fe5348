"""Unit tests for plugins/module_utils/_events.py: the event every engine's transitions become, the filters applied
to it, and what every feed shares (the polling rhythm, closing, the connection)."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _events
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker import DockerBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._dockhand import DockhandBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody import HoodyBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import BACKEND_CLASSES
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman import PodmanBackend
from tests.unit.fake_backend import FakeBackend

RECORD = {
    "id": "ab12-1", "container_id": "ab12", "from_status": "running", "to_status": "stopped",
    "transition_time": "2026-12-01T10:00:00.250000Z", "duration_ms": 12, "triggered_by": "engine",
    "metadata": {"operation": "exit", "exit_code": 137, "name": "from-record"},
}  # fmt: skip


def test_an_event_has_one_shape_whatever_the_engine():
    event = _events.event_of(_events.Transition(RECORD, "web-1", {"tier": "web"}), "acme", {"backend": "acme"})
    assert event == {"containerops": {
        "engine": "acme", "id": "ab12", "name": "web-1", "from_status": "running", "to_status": "stopped",
        "operation": "exit", "transition_time": "2026-12-01T10:00:00.250000Z", "duration_ms": 12, "exit_code": 137,
        "health": None, "triggered_by": "engine", "record_id": "ab12-1", "labels": {"tier": "web"},
        "connection": {"backend": "acme"}}}  # fmt: skip
    unnamed = _events.event_of(_events.Transition(dict(RECORD, metadata={"exit_code": True}), None, {}), "acme", {})
    assert unnamed["containerops"]["name"] == "ab12" and unnamed["containerops"]["exit_code"] is None
    assert unnamed["containerops"]["operation"] == "stop"  # from the statuses when the record names none


@pytest.mark.parametrize(
    ("filters", "name", "status", "expected"),
    [
        ({"name": "web-*"}, "web-1", "stopped", True),
        ({"name": "web-*"}, "db-1", "stopped", False),
        ({"status": ["stopped"]}, "web-1", "running", False),
        ({"name": "web-*", "status": ["stopped", "failed"]}, "web-1", "failed", True),
        ({"label": ["a=b"]}, "web-1", "running", True),  # labels are the engine's to apply
    ],
)
def test_an_event_is_wanted_by_name_and_status(filters, name, status, expected):
    event = {"containerops": {"name": name, "to_status": status}}
    assert _events.wanted(event, filters) is expected


@pytest.mark.parametrize(
    ("wanted", "expected"), [(["tier"], True), (["tier=web"], True), (["tier=db"], False), (["tier", "x"], False)]
)
def test_labels_pass_by_the_listings_rule(wanted, expected):
    assert _events.passes({"label": wanted}, None, None, {"tier": "web"}) is expected


def test_a_records_time_is_read_to_the_microsecond():
    assert _events.record_ns(RECORD) == 1796119200250000000
    assert _events.record_ns({"transition_time": "soon"}) == 0
    assert _events.iso(1796119200250000000) == "2026-12-01T10:00:00.250000Z"


def test_idle_polls_back_off_to_eight_times_the_interval_and_at_most_a_minute():
    assert _events.Timing(poll_interval=2.0).longest_idle == 16.0
    assert _events.Timing(poll_interval=30.0).longest_idle == 60.0
    assert _events.Timing(poll_interval=60.0).longest_idle == 60.0


class Connection:
    closed = False

    def close(self):
        self.closed = True


class Counter(_events.PollingFeed):
    """Polls a script of answers: (transitions, found) per round."""

    def __init__(self, answers, **timing):
        super().__init__(Connection, {}, None, _events.Timing(**timing))
        self.answers = list(answers)
        self.polls = 0

    def poll(self):
        self.polls += 1
        return self.answers.pop(0)

    def position(self):
        return {}


def test_a_polling_feed_polls_at_once_then_less_often_while_nothing_comes_and_again_at_once_after_a_reconnect():
    now = [100.0]  # the feed's clock, moved by the test alone (a loaded machine cannot make a poll due early)
    feed = Counter([([], False), ([], False), ([], True), ([], False)], poll_interval=0.01, clock=lambda: now[0])
    assert feed.open() == "polling" and isinstance(feed.backend, Connection)
    feed.read()
    assert (feed.polls, feed.interval) == (1, pytest.approx(0.015))
    now[0] += 0.014
    assert feed.read() == [] and feed.polls == 1  # waited instead: not due yet
    now[0] += 0.001
    feed.read()
    assert (feed.polls, feed.interval) == (2, pytest.approx(0.0225))
    now[0] += 0.0225
    feed.read()
    assert (feed.polls, feed.interval) == (3, 0.01)  # something came: back to poll_interval
    first = feed.backend
    feed.open()
    assert feed.backend is not first and first.closed  # the old connection is dropped
    feed.read()
    assert feed.polls == 4  # connected again: polled at once


def test_closing_a_feed_wakes_a_blocked_wait():
    feed = Counter([])
    feed.open()
    threading.Timer(0.05, feed.close).start()
    started = time.monotonic()
    assert feed.wait(30) == []
    assert time.monotonic() - started < 5 and feed.backend is None  # and the connection is dropped


@pytest.mark.parametrize("backend", [DockerBackend, HoodyBackend, DockhandBackend, PodmanBackend])
def test_each_engine_names_its_feed_and_an_engine_without_one_has_none(backend):
    assert issubclass(backend.events, _events.EventFeed)
    assert FakeBackend.events is None
    assert set(BACKEND_CLASSES.values()) == {DockerBackend, HoodyBackend, DockhandBackend, PodmanBackend}


# ------------------------------------------------------------------------------------------ engine restarts

S = 10**9
LOST = 1000 * S  # the last event read before the engine went away
BACK = 1100 * S  # the engine's time once the source is back


@pytest.mark.parametrize(
    ("known", "found", "expected"),
    [
        # Known running, found down while away: how it ended decides.
        (_events.LastKnown("running", 900 * S), _events.Found("stopped", 143, False, 1010 * S), "engine-stop"),
        (_events.LastKnown("running", 900 * S), _events.Found("stopped", 137, False, 1010 * S), "engine-stop"),
        (_events.LastKnown("running", 900 * S), _events.Found("stopped", 1, False, 1010 * S), "exit"),
        (_events.LastKnown("running", 900 * S), _events.Found("stopped", 0, False, 1010 * S), "exit"),
        (_events.LastKnown("running", 900 * S), _events.Found("stopped", 137, True, 1010 * S), "oom"),
        (_events.LastKnown("running", 900 * S), _events.Found("failed", 255, False, 1010 * S), "exit"),
        # Ended after the source was back: its events tell it.
        (_events.LastKnown("running", 900 * S), _events.Found("stopped", 137, False, 1101 * S), None),
        # Still or again running; an end before the run the source knew.
        (_events.LastKnown("running", 900 * S), _events.Found("running"), None),
        (_events.LastKnown("running", 900 * S), _events.Found("stopped", 137, False, 899 * S), None),
        # The engine's shutdown: a requested stop within the window before the loss, still down.
        (_events.LastKnown("stopped", 999 * S, 990 * S), _events.Found("stopped", 0, False, 998 * S), "engine-stop"),
        (
            _events.LastKnown("stopped", LOST, LOST - _events.SHUTDOWN_WINDOW_NS),
            _events.Found("stopped", 137, False, LOST),
            "engine-stop",
        ),
        # A user's stop before the window: left alone, as is a container the source never knew or saw stopped.
        (_events.LastKnown("stopped", 900 * S, 899 * S), _events.Found("stopped", 0, False, 900 * S), None),
        (
            _events.LastKnown("stopped", LOST, LOST - _events.SHUTDOWN_WINDOW_NS - 1),
            _events.Found("stopped", 0, False, LOST),
            None,
        ),
        (_events.LastKnown("stopped", 900 * S), _events.Found("stopped", 0, False, 900 * S), None),
        (None, _events.Found("stopped", 137, False, 1010 * S), None),
        # Started again and stopped again since the shutdown's stop: not the shutdown's.
        (_events.LastKnown("stopped", 999 * S, 990 * S), _events.Found("stopped", 0, False, 980 * S), None),
        # The engine does not say when it ended.
        (_events.LastKnown("running", 900 * S), _events.Found("stopped", 137, False, None), None),
    ],
)
def test_after_an_engine_restart_what_went_down_while_away_is_told_by_the_rule(known, found, expected):
    assert _events.missed_operation(known, found, LOST, BACK) == expected


def test_without_an_event_read_before_the_loss_no_stop_is_taken_for_the_shutdown():
    known = _events.LastKnown("stopped", 999 * S, 990 * S)
    assert _events.missed_operation(known, _events.Found("stopped", 0, False, 998 * S), None, BACK) is None


def test_what_a_transition_leaves_known():
    assert _events.last_known(RECORD) == _events.LastKnown("stopped", 1796119200250000000, None)
    stop = dict(RECORD, metadata={"operation": "stop"}, duration_ms=1500)
    assert _events.last_known(stop) == _events.LastKnown("stopped", 1796119200250000000, 1796119198750000000)
    unknown_duration = dict(stop, duration_ms=None)
    assert _events.last_known(unknown_duration).stop_requested_ns == 1796119200250000000
    assert _events.last_known(dict(RECORD, to_status="absent")) is None


def test_a_missed_transition_is_a_record_of_the_engine_marked_reconciled():
    record = _events.missed_record("ab12cd34ef56aa", "web-1", "engine-stop",
                                   _events.Found("stopped", 143, False, 1796119200250000999))  # fmt: skip
    assert record == {
        "id": "ab12cd34ef56-1796119200250000999-reconciled", "container_id": "ab12cd34ef56aa",
        "from_status": "running", "to_status": "stopped", "transition_time": "2026-12-01T10:00:00.250000Z",
        "duration_ms": None, "triggered_by": "engine",
        "metadata": {"operation": "engine-stop", "exit_code": 143, "name": "web-1", "reconciled": True, "events": []},
    }  # fmt: skip
    event = _events.event_of(_events.Transition(record, "web-1", {}), "docker", {})["containerops"]
    assert event["operation"] == "engine-stop" and event["exit_code"] == 143
