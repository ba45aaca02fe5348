"""Unit tests for plugins/module_utils/_podman_history.py: libpod's events folded into status-log records, over
streams recorded from a real Podman 4.3.1 service (tests/unit/extensions/eda/plugins/event_source/fixtures/
podman_events.json, recorded by record_podman_events.py there), and PodmanBackend.status_history reading them."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman import PodmanBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman_history import (
    AFTERMATH_NS,
    KILL_DELIVERY_WINDOW_NS,
    REMOVAL_WINDOW_NS,
    Ending,
    classify,
    held,
    records_from_podman_events,
)
from tests.unit.plugins.module_utils.test_docker_events import STREAMS

with open(os.path.join(STREAMS, "podman_events.json")) as _handle:
    RECORDED: dict[str, list[dict[str, Any]]] = json.load(_handle)

CREATED, STARTED, REMOVED = (None, "stopped", "create", None), ("stopped", "running", "start", None), (
    "stopped", "absent", "delete", None)  # fmt: skip

# What container_status_logs says of each recorded scenario: (from, to, operation, exit_code).
EXPECTED = {
    "exit_3": [CREATED, STARTED, ("running", "stopped", "exit", 3), REMOVED],
    "crash": [CREATED, STARTED, ("running", "stopped", "exit", 137), REMOVED],
    "quit_then_crash": [CREATED, STARTED, ("running", "stopped", "exit", 137), REMOVED],
    "podman_stop": [CREATED, STARTED, ("running", "stopped", "stop", 0), REMOVED],
    "podman_stop_escalated": [CREATED, STARTED, ("running", "stopped", "stop", 137), REMOVED],
    "podman_kill": [CREATED, STARTED, ("running", "stopped", "force-stop", 137), REMOVED],
    "pause_resume": [CREATED, STARTED, ("running", "paused", "pause", None), ("paused", "running", "resume", None),
                     ("running", "stopped", "stop", 0), REMOVED],
    "podman_restart": [CREATED, STARTED, ("running", "running", "restart", 0), ("running", "stopped", "stop", 0),
                       REMOVED],
    "unhealthy": [CREATED, STARTED, ("running", "running", "restart", 0), ("running", "stopped", "stop", 0), REMOVED],
    "restart_policy": [CREATED, STARTED, ("running", "stopped", "exit", 3), STARTED, ("running", "stopped", "exit", 3),
                       REMOVED],
    "remove_force": [CREATED, STARTED, ("running", "stopped", "stop", 0), REMOVED],
}  # fmt: skip


def shape(records: list[dict[str, Any]]) -> list[tuple]:
    return [
        (r["from_status"], r["to_status"], _history.operation_of(r), (r.get("metadata") or {}).get("exit_code"))
        for r in records
    ]


def ending_of(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The first record of a process's end (a ``died``)."""
    return next(r for r in records if r["to_status"] == "stopped" and r["from_status"] == "running")


def test_every_scenario_was_recorded():
    assert sorted(RECORDED) == sorted(EXPECTED)


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_recorded_stream_folds_into_the_transitions_the_status_logs_report(scenario):
    assert shape(records_from_podman_events(RECORDED[scenario])) == EXPECTED[scenario]


def test_a_stop_is_told_from_a_crash_by_the_stops_own_cleanup_though_podman_writes_no_kill_or_stop():
    stop = ending_of(records_from_podman_events(RECORDED["podman_stop"]))
    assert stop["metadata"]["events"] == ["died", "cleanup", "cleanup"]
    assert (stop["triggered_by"], stop["metadata"]["escalated"], stop["duration_ms"]) == ("api", False, None)
    crash = ending_of(records_from_podman_events(RECORDED["crash"]))
    assert crash["metadata"]["events"] == ["died", "cleanup"]
    assert (crash["triggered_by"], crash["metadata"]["escalated"]) == ("engine", False)


def test_a_stop_that_needed_sigkill_is_a_stop_that_escalated_and_a_kill_9_of_the_process_is_an_exit():
    escalated = ending_of(records_from_podman_events(RECORDED["podman_stop_escalated"]))
    assert escalated["metadata"]["operation"] == "stop" and escalated["metadata"]["escalated"] is True
    crash = ending_of(records_from_podman_events(RECORDED["crash"]))
    assert crash["metadata"]["exit_code"] == escalated["metadata"]["exit_code"] == 137
    assert crash["metadata"]["operation"] == "exit"


def test_a_crash_long_after_a_handled_signal_is_an_exit_but_a_kill_soon_before_the_death_is_a_force_stop():
    events = RECORDED["quit_then_crash"]
    assert ending_of(records_from_podman_events(events))["metadata"]["operation"] == "exit"
    kill = next(e for e in events if e["Action"] == "kill")
    died = next(e for e in events if e["Action"] == "died")
    assert died["timeNano"] - kill["timeNano"] > KILL_DELIVERY_WINDOW_NS  # recorded 5 s apart
    # The same death right after the kill: the kill's.
    moved = [dict(e, timeNano=died["timeNano"] - 10**6) if e is kill else e for e in events]
    force = ending_of(records_from_podman_events(moved))
    assert (force["metadata"]["operation"], force["triggered_by"], force["duration_ms"]) == ("force-stop", "api", 1)
    kill_record = ending_of(records_from_podman_events(RECORDED["podman_kill"]))
    assert kill_record["duration_ms"] is not None and kill_record["duration_ms"] < 100


def test_a_requested_restart_is_one_record_timed_from_its_restart_event_to_the_start():
    events = RECORDED["podman_restart"]
    restart = next(r for r in records_from_podman_events(events) if r["metadata"]["operation"] == "restart")
    first, start = (next(e for e in events if e["Action"] == a) for a in ("restart", "start"))
    second_start = [e for e in events if e["Action"] == "start"][1]
    assert restart["metadata"]["events"] == ["restart", "died", "start"]
    assert restart["duration_ms"] == round((second_start["timeNano"] - first["timeNano"]) / 1e6)
    assert restart["triggered_by"] == "api" and start["timeNano"] < first["timeNano"]


def test_the_restart_policys_start_is_the_engines_after_an_exit():
    records = records_from_podman_events(RECORDED["restart_policy"])
    died, again = records[2], records[3]
    assert died["metadata"]["events"] == ["died", "restart"] and died["triggered_by"] == "engine"
    assert again["triggered_by"] == "engine" and again["metadata"]["auto_restart"] is True
    assert _history.compute_stats(records)["failures"] == 2
    # Started again a second after a crash, without the policy's restart event: someone asked for it.
    crash = [e for e in RECORDED["crash"] if e["Action"] != "remove"]
    start = dict(crash[-1], Action="start", status="start", timeNano=crash[-1]["timeNano"] + 10**9)
    started = records_from_podman_events([*crash, start])[-1]
    assert (started["triggered_by"], "auto_restart" in started["metadata"]) == ("api", False)


def test_a_restart_of_a_stopped_container_long_after_its_exit_is_requested_and_folds_nothing():
    crash = [e for e in RECORDED["crash"] if e["Action"] != "remove"]
    later = crash[-1]["timeNano"] + 60 * 10**9
    restart = dict(crash[-1], Action="restart", status="restart", timeNano=later)
    start = dict(crash[-1], Action="start", status="start", timeNano=later + 10**8)
    records = records_from_podman_events([*crash, restart, start])
    assert shape(records)[-2:] == [("running", "stopped", "exit", 137), ("stopped", "running", "restart", None)]
    assert records[-1]["duration_ms"] == 100


def test_health_checks_and_engine_bookkeeping_are_no_records():
    events = RECORDED["unhealthy"]
    assert {"health_status", "exec_died", "init"} <= {e["Action"] for e in events}
    kept = [e for e in events if e["Action"] not in ("health_status", "exec_died", "init", "sync")]
    assert records_from_podman_events(events) == records_from_podman_events(kept)


def test_records_carry_the_containers_name_and_image_and_come_once_per_event():
    events = RECORDED["podman_kill"]
    records = records_from_podman_events(events + events)  # a window read twice
    assert len(records) == 4
    assert {r["metadata"]["name"] for r in records} == {"pevents-rec-podman-kill"}
    assert records[0]["metadata"]["image"] == "localhost/containerops/busybox:test"


@pytest.mark.parametrize(
    ("ending", "expected"),
    [
        (Ending(10**10, 0), ("exit", "engine", None, False)),
        (Ending(10**10, 0, restart_ns=10**10 - 10**8), ("stop", "api", 10**10 - 10**8, False)),  # a restart's
        (Ending(10**10, 0, cleanups=2), ("stop", "api", None, False)),
        (Ending(10**10, 137, cleanups=2), ("stop", "api", None, True)),
        (Ending(10**10, 137, stop_ns=10**10 - 10**6), ("stop", "api", None, True)),
        (Ending(10**10, 0, kills=[10**10 - 3 * 10**9], cleanups=2), ("stop", "api", 10**10 - 3 * 10**9, False)),
        (Ending(10**11, 0, kills=[10**10], cleanups=2), ("stop", "api", None, False)),  # a kill 90 s before
        (Ending(10**10, 0, stop_ns=10**10 - AFTERMATH_NS - 1), ("exit", "engine", None, False)),  # an older stop
        (Ending(10**10, 0, removed_ns=10**10 + REMOVAL_WINDOW_NS), ("stop", "api", None, False)),
        (Ending(10**10, 0, removed_ns=10**10 + REMOVAL_WINDOW_NS + 1), ("exit", "engine", None, False)),
        (Ending(10**10, 137, kills=[10**10 - 10**7]), ("force-stop", "api", 10**10 - 10**7, False)),
        (Ending(10**10, 143, kills=[10**10 - 10**7]), ("stop", "api", 10**10 - 10**7, False)),  # kill -s TERM
        (Ending(10**10, 137, kills=[10**10 - KILL_DELIVERY_WINDOW_NS - 1]), ("exit", "engine", None, False)),
        (Ending(10**10, 0, kills=[10**10 - 5 * 10**9]), ("stop", "api", 10**10 - 5 * 10**9, False)),  # handled TERM
        (Ending(30 * 10**9, 0, kills=[5 * 10**9]), ("exit", "engine", None, False)),  # 25 s after the kill
    ],
)
def test_one_death_is_classified_by_what_the_events_say_around_it(ending, expected):
    assert classify(ending) == expected


def test_only_an_exit_still_waiting_for_its_cleanups_is_held():
    events = [e for e in RECORDED["podman_stop"] if e["Action"] not in ("init", "remove")]
    died = [e["Action"] for e in events].index("died")
    for upto, action, expected in [(died + 1, "died", 1), (died + 2, "cleanup", 1), (died + 3, "cleanup", 0)]:
        assert held(records_from_podman_events(events[:upto]), action) == expected
    crash = records_from_podman_events(RECORDED["restart_policy"][:6])
    assert crash[-1]["metadata"]["operation"] == "exit" and held(crash, "restart") == 0
    restarting = [e for e in RECORDED["podman_restart"] if e["Action"] != "init"]
    died = [e["Action"] for e in restarting].index("died")
    stop_part = records_from_podman_events(restarting[: died + 1])
    assert stop_part[-1]["metadata"]["operation"] == "stop" and held(stop_part, "died") == 1  # until its start


class Api:
    """The libpod client: an inspect, and the event log (everything since ``since``, as the file logger reads)."""

    def __init__(self, inspect: dict[str, Any], log: list[dict[str, Any]]) -> None:
        self.inspect, self.log, self.asked = inspect, log, []
        self.where, self.timeout = "the Podman service at unix:///test.sock", 30

    def call(self, method, path, params=None, body=None, timeout=None):
        assert (method, path) == ("GET", f"/containers/{self.inspect['Name']}/json")
        return self.inspect

    def stream(self, method, path, params=None, timeout=None):
        self.asked.append((method, path, params))
        since_ns = float(params.get("since", 0)) * 1e9
        return iter([e for e in self.log if e["timeNano"] >= since_ns])

    def close(self):
        pass


def inspect_of(events: list[dict[str, Any]], status: str = "exited") -> dict[str, Any]:
    return {"Id": events[0]["Actor"]["ID"], "Name": events[0]["Actor"]["Attributes"]["name"],
            "State": {"Status": status}, "Config": {}}  # fmt: skip


def test_status_history_reads_the_log_with_a_minute_of_context_and_cuts_the_window_itself():
    events = [e for e in RECORDED["podman_stop"] if e["Action"] != "remove"]
    other = [dict(e, Actor=dict(e["Actor"], ID="f" * 64)) for e in RECORDED["crash"]]
    api = Api(inspect_of(events), sorted(events + other, key=lambda e: e["timeNano"]))
    backend = PodmanBackend(api)
    died = next(e for e in events if e["Action"] == "died")["timeNano"]
    records = backend.status_history("pevents-rec-podman-stop", since=died / 1e9 - 1, until=died / 1e9)
    assert shape(records) == EXPECTED["podman_stop"][:3]  # the died's cleanups read past until: a stop
    method, path, params = api.asked[0]
    assert (method, path, params["stream"]) == ("GET", "/events", "false")
    assert float(params["since"]) == pytest.approx(died / 1e9 - 61)
    assert json.loads(params["filters"])["container"] == [events[0]["Actor"]["ID"]]
    assert "until" not in params  # libpod's file logger answers a past until with nothing
    assert len({e["Actor"]["ID"] for e in api.log}) == 2  # the log holds another container's events ...
    assert {r["container_id"] for r in records} == {events[0]["Actor"]["ID"]}  # ... left out
    everything = backend.status_history("pevents-rec-podman-stop", since=None, until=None)
    assert "since" not in api.asked[1][2] and shape(everything) == EXPECTED["podman_stop"][:3]
