"""The autoheal playbook's decisions: what a container's last event asks for, what one run heals and what the rate
limit holds back, the heals it counts, its reports (the messages the console, the webhook and the log file show),
and its files."""

from __future__ import annotations

import json

import pytest

from ansible_collections.containerops.lifecycle.plugins.plugin_utils import _healing as a

T = "2026-12-06T10:00:00.000000Z"
T_S = 1796551200.0


def last(operation: str, to_status: str = "stopped", health=None, at: str = T, **more) -> dict:
    return {"name": "web", "engine": "docker", "to_status": to_status, "operation": operation, "health": health,
            "exit_code": 137 if to_status == "stopped" else None, "transition_time": at, **more}  # fmt: skip


@pytest.mark.parametrize(
    ("event", "need"),
    [
        (last("exit"), "start"),
        (last("oom"), "start"),
        (last("engine-stop"), "start"),
        (last("exit", "failed"), "start"),
        (last("health", "running", "unhealthy"), "restart"),
        (last("health", "running", "healthy"), None),
        (last("stop"), None),  # a user's stop
        (last("force-stop"), None),
        (last("start", "running"), None),  # healed, or started by someone
        (last("restart", "running"), None),
        (last("create"), None),
    ],
)
def test_what_a_containers_last_event_asks_for(event, need):
    assert a.need_of(event) == need


def test_one_run_heals_every_need_oldest_first_and_the_rate_limit_holds_back_a_second_within_the_window():
    known = {
        "sick": last("health", "running", "unhealthy"),
        "c2": last("exit", at="2026-12-06T10:00:02.000000Z"),
        "c1": last("oom", at="2026-12-06T10:00:01.000000Z"),
        "user": last("stop"),
        "again": last("exit", at="2026-12-06T10:00:05.000000Z"),  # healed 60 s before it stopped again
        "met": last("exit"),  # healed after this need: that heal met it (its start event is still to come)
        "old": last("exit"),  # last healed more than 10 minutes before
    }
    heals = {"again": T_S - 55, "met": T_S + 1, "old": T_S - a.WINDOW_S - 1}
    planned = a.plan(known, heals, T_S + 10)
    assert [n["id"] for n in planned["start"]] == ["old", "c1", "c2"]
    assert [n["id"] for n in planned["restart"]] == ["sick"]
    assert [n["id"] for n in planned["held"]] == ["again"]
    assert planned["start"][1] == dict(known["c1"], id="c1")
    later = a.plan(known, heals, T_S - 55 + a.WINDOW_S)  # the window since its heal is over
    assert "again" in [n["id"] for n in later["start"]] and later["held"] == []


def test_the_heals_file_counts_this_runs_heals_and_forgets_those_older_than_the_window():
    planned = {"start": [{"id": "c1"}], "restart": [{"id": "sick"}], "held": [{"id": "again"}]}
    heals = {"again": 1000.0, "stale": 1000.0 - a.WINDOW_S}
    assert a.heals_after(heals, planned, 1000.0 + 10) == {"again": 1000.0, "c1": 1010.0, "sick": 1010.0}


def test_the_heals_of_another_run_of_the_source_do_not_count():
    stored = {"run": 7, "heals": {"c1": 1000.0, "bad": "x"}}
    assert a.heals_of(stored, 7) == {"c1": 1000.0}
    assert a.heals_of(stored, 8) == {}
    assert a.heals_of(None, 7) == {} and a.heals_of({"run": 7, "heals": []}, 7) == {}


def test_the_event_that_started_the_run_counts_unless_the_cursor_file_knows_a_later_one():
    crash = dict(last("exit"), id="c1")
    started = last("start", "running", at="2026-12-06T10:00:09.000000Z")
    assert a.latest({}, crash) == {"c1": crash}
    assert a.latest({"c1": started}, crash) == {"c1": started}
    assert a.latest({"c1": last("start", "running", at="2026-12-06T09:59:00.000000Z")}, crash) == {"c1": crash}
    assert a.latest({"c1": started}, None) == {"c1": started}


def test_times_are_read_with_or_without_fractions():
    assert a.seconds(T) == T_S and a.seconds("2026-12-06T10:00:00Z") == T_S and a.seconds(None) == 0.0


NEED = {"id": "360ae53fdee89b5c", "name": "api-1", "engine": "docker", "operation": "exit", "exit_code": 137,
        "health": None, "transition_time": "2026-12-02T05:50:24.885607Z", "to_status": "stopped"}  # fmt: skip
SICK = dict(NEED, operation="health", health="unhealthy", exit_code=None, to_status="running")


@pytest.mark.parametrize(
    ("need", "outcome", "kind", "state", "message"),
    [
        (NEED, {"status": "running", "changed": True, "duration_ms": 350}, "start", "healed",
         "autoheal: api-1 (360ae53fdee8) stopped unexpectedly at 2026-12-02T05:50:24.885607Z (exit, exit code 137); "
         "started again: running after 350 ms"),
        (NEED, {"status": "running", "changed": False, "duration_ms": 3}, "start", "healed",
         "autoheal: api-1 (360ae53fdee8) stopped unexpectedly at 2026-12-02T05:50:24.885607Z (exit, exit code 137); "
         "already running again: running after 3 ms"),
        (NEED, {"error": "start failed: no such image"}, "start", "heal_failed",
         "autoheal: api-1 (360ae53fdee8) stopped unexpectedly at 2026-12-02T05:50:24.885607Z (exit, exit code 137); "
         "not started again: start failed: no such image"),
        (SICK, {"status": "running", "health": "healthy", "duration_ms": 2100}, "restart", "healed",
         "autoheal: api-1 (360ae53fdee8) turned unhealthy at 2026-12-02T05:50:24.885607Z; restarted: running and "
         "healthy after 2100 ms"),
        (SICK, {"error": "its health check reports unhealthy"}, "restart", "heal_failed",
         "autoheal: api-1 (360ae53fdee8) turned unhealthy at 2026-12-02T05:50:24.885607Z; restarted, but not healthy "
         "again: its health check reports unhealthy"),
        (NEED, None, "given_up", "given_up",
         "autoheal: GIVING UP on api-1 (360ae53fdee8): it stopped unexpectedly again at 2026-12-02T05:50:24.885607Z, "
         "within 10 minutes of the last heal; it is left stopped for an operator"),
        (SICK, None, "given_up", "given_up",
         "autoheal: GIVING UP on api-1 (360ae53fdee8): it turned unhealthy again at 2026-12-02T05:50:24.885607Z, "
         "within 10 minutes of the last heal; it is left running unhealthy for an operator"),
    ],
)  # fmt: skip
def test_each_report_says_what_happened(need, outcome, kind, state, message):
    report = a.report(need, outcome, kind)
    assert report["report"] == state and report["message"] == message
    assert {k: report[k] for k in ("name", "id", "engine", "operation", "exit_code", "health", "transition_time")} == {
        k: need[k] for k in ("name", "id", "engine", "operation", "exit_code", "health", "transition_time")
    }
    if kind == "given_up":
        assert report["status"] is None and report["duration_ms"] is None


def test_a_runs_reports_follow_its_plan_and_a_container_the_module_left_out_is_a_failed_heal():
    planned = {"start": [NEED, dict(NEED, id="ffff00001111", name="api-2")], "restart": [SICK], "held": []}
    started = {"containers": [{"id": NEED["id"], "status": "running", "changed": True, "duration_ms": 5}]}
    restarted = {"containers": [{"id": SICK["id"], "status": "running", "health": "healthy", "duration_ms": 9}]}
    got = a.reports(planned, started, restarted)
    assert [(r["name"], r["report"]) for r in got] == [("api-1", "healed"), ("api-2", "heal_failed"),
                                                      ("api-1", "healed")]  # fmt: skip
    assert got[1]["message"].endswith("not started again: container_state did not report on it")


def test_the_files_read_as_empty_when_missing_and_are_written_whole(tmp_path):
    path = tmp_path / "state" / "heals.json"
    assert a.read_json(str(path)) is None and a.read_json(None) is None
    a.write_json(str(path), {"run": 1, "heals": {"c1": 2.0}})
    assert json.loads(path.read_text()) == {"run": 1, "heals": {"c1": 2.0}}
    assert a.read_json(str(path)) == {"run": 1, "heals": {"c1": 2.0}}
    path.write_text("{not json")
    assert a.read_json(str(path)) is None
    assert [p.name for p in path.parent.iterdir()] == ["heals.json"]  # no temporary file left
