# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_status_logs checks its paging and time options before the engine is asked, asks the engine for the
window only, and selects, sorts, pages and counts what came back (``_history``'s functions, tested there)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Optional

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, ContainerNotFound
from ansible_collections.containerops.lifecycle.plugins.modules import container_status_logs
from tests.unit.fake_backend import FakeBackend


def record(n: int, before: Optional[str], after: str, operation: str, duration_ms: int) -> dict[str, Any]:
    return {"id": f"r{n}", "container_id": "c1", "from_status": before, "to_status": after,
            "transition_time": f"2026-01-0{n}T00:00:00.000Z", "duration_ms": duration_ms, "triggered_by": None,
            "metadata": {"operation": operation}}  # fmt: skip


RECORDS = [
    record(1, None, "stopped", "create", 10),
    record(2, "stopped", "running", "start", 100),
    record(3, "running", "stopped", "stop", 300),
    record(4, "stopped", "running", "start", 200),
]


class Remembering(FakeBackend):
    """An engine whose history of ``web`` is ``RECORDS``; it records each window it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.windows: list[tuple[Optional[float], Optional[float]]] = []

    def status_history(self, ref, since, until):
        self.windows.append((since, until))
        return [dict(r) for r in RECORDS] if ref == "web" else []


def logs(engine: FakeBackend, name: str = "web", **given: Any) -> dict:
    params = {"name": name, "limit": 20, "page": 1, "all_pages": False, "sort_by": "transition_time",
              "sort_order": "desc", "since": None, "until": None, "from_status": None, "to_status": None,
              **given}  # fmt: skip
    return container_status_logs.run(SimpleNamespace(params=params, backend=engine))


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"limit": 0}, "limit must be between 1 and 100, got 0"),
        ({"limit": 101}, "limit must be between 1 and 100, got 101"),
        ({"page": 0}, "page must be 1 or more, got 0"),
        ({"since": "yesterday"}, "since: invalid time value 'yesterday'"),
        ({"until": "2026-13-01"}, "until: invalid time value '2026-13-01'"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "since (2026-02-01) is later than until (2026-01-01)"),
    ],
)
def test_bad_options_are_refused_before_the_engine_is_asked(given, said):
    engine = Remembering()
    with pytest.raises(BadInput) as refused:
        logs(engine, **given)
    assert said in str(refused.value) and engine.windows == []


def test_the_records_are_selected_sorted_paged_and_counted():
    engine = Remembering()
    result = logs(engine, to_status=["running"], sort_order="asc", limit=1, page=2)
    assert result["changed"] is False
    assert [entry["id"] for entry in result["logs"]] == ["r4"]
    assert result["pagination"] == {"total": 2, "page": 2, "limit": 1, "total_pages": 2}
    assert result["stats"]["start"] == {"count": 2, "avg_duration_ms": 150.0, "max_duration_ms": 200}
    assert "stop" not in result["stats"]  # counted over the selected records only


def test_the_engine_is_asked_for_the_window_the_task_gave():
    engine = Remembering()
    result = logs(engine, since="2026-01-02", until="2026-01-03T00:00:00Z")
    assert engine.windows == [(1767312000.0, 1767398400.0)]
    assert [entry["id"] for entry in result["logs"]] == ["r3", "r2"]


def test_a_window_in_the_future_asks_the_engine_nothing_and_finds_nothing():
    engine = Remembering()
    engine.container("web", "running")
    result = logs(engine, since="2999-01-01")
    assert engine.windows == [] and result["logs"] == [] and result["pagination"]["total"] == 0


def test_no_history_is_empty_for_a_container_and_an_error_for_a_name_nobody_has():
    engine = Remembering()
    engine.container("db", "running")
    assert logs(engine, name="db")["logs"] == []
    with pytest.raises(ContainerNotFound, match="'ghost' not found: no such container, and the engine has no history"):
        logs(engine, name="ghost")
