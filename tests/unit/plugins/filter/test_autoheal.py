"""The autoheal playbook's internal filters (``__autoheal``): exposed under their names; ``autoheal_plan`` reads the
source's cursor file and the heals file, counts this run's heals there, and starts afresh for another run of the
source (their logic is tested in tests/unit/plugins/plugin_utils/test_autoheal.py)."""

from __future__ import annotations

import importlib
import json
import time

autoheal = importlib.import_module("ansible_collections.containerops.lifecycle.plugins.filter.__autoheal")
FILTERS = autoheal.FilterModule().filters()


def crash(container_id: str, at: str = "2026-12-06T10:00:00.000000Z") -> dict:
    return {"id": container_id, "name": container_id, "engine": "docker", "to_status": "stopped", "operation": "exit",
            "health": None, "exit_code": 137, "transition_time": at}  # fmt: skip


def test_every_filter_is_exposed_under_its_name():
    assert sorted(FILTERS) == ["autoheal_given_up", "autoheal_plan", "autoheal_reports"]


def test_a_run_heals_what_the_cursor_file_knows_and_counts_it_in_the_heals_file(tmp_path):
    cursor, heals = tmp_path / "cursor.json", tmp_path / "state" / "heals.json"
    cursor.write_text(json.dumps({"run": 5, "containers": {"c1": crash("c1"), "c2": crash("c2")}}))
    planned = FILTERS["autoheal_plan"](crash("c3"), str(cursor), str(heals))
    assert planned["start_ids"] == ["c1", "c2", "c3"] and planned["restart_ids"] == []
    written = json.loads(heals.read_text())
    assert written["run"] == 5 and sorted(written["heals"]) == ["c1", "c2", "c3"]
    assert abs(written["heals"]["c1"] - time.time()) < 60
    again = FILTERS["autoheal_plan"](crash("c3"), str(cursor), str(heals))
    assert again["start_ids"] == [] and again["held"] == []  # met by the first run's heals
    cursor.write_text(json.dumps({"run": 6, "containers": {"c1": crash("c1")}}))  # the source started again
    assert FILTERS["autoheal_plan"](None, str(cursor), str(heals))["start_ids"] == ["c1"]


def test_without_a_cursor_file_the_event_alone_is_healed_and_nothing_is_written(tmp_path):
    planned = FILTERS["autoheal_plan"](crash("c1"), str(tmp_path / "none.json"), "")
    assert planned["start_ids"] == ["c1"] and list(tmp_path.iterdir()) == []


def test_runs_at_once_plan_each_container_once(tmp_path):
    """Overlapping runs (a burst) take the heals file in turn: what one plans, the others see healed."""
    import multiprocessing

    cursor, heals = tmp_path / "cursor.json", tmp_path / "heals.json"
    ids = [f"c{n}" for n in range(30)]
    cursor.write_text(json.dumps({"run": 1, "containers": {i: crash(i) for i in ids}}))
    with multiprocessing.get_context("fork").Pool(6) as pool:
        plans = pool.starmap(_plan_ids, [(str(cursor), str(heals))] * 12)
    planned = [container for plan in plans for container in plan]
    assert sorted(planned) == sorted(ids), planned  # each once, by exactly one run
    assert sorted(json.loads(heals.read_text())["heals"]) == sorted(ids)


def _plan_ids(cursor: str, heals: str) -> list[str]:
    return FILTERS["autoheal_plan"](None, cursor, heals)["start_ids"]
