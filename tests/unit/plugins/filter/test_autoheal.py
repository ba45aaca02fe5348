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
