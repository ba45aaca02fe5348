"""Unit tests for plugins/module_utils/_history.py (records from Docker's events, in test_docker_history.py, serve
as the captured records)."""

from __future__ import annotations

import copy
import itertools
import re
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_history import records_from_docker_events
from tests.unit.plugins.module_utils.test_docker_history import (
    ESCALATED_STOP,
    KILL,
    OOM,
    PAUSE_UNPAUSE,
    RESTART,
    RESTART_POLICY,
    _summary,
)

UTC = timezone.utc
NOW = datetime(2026, 11, 23, 17, 0, 0, tzinfo=UTC)


def _rec(rid, from_status, to_status, when, operation=None, duration_ms=None, **extra):
    """A hand-made record (REST-engine style when ``operation`` is None)."""
    metadata = dict(extra.pop("metadata", {}))
    if operation is not None:
        metadata["operation"] = operation
    return {
        "id": rid, "container_id": "c1", "from_status": from_status, "to_status": to_status,
        "transition_time": when, "duration_ms": duration_ms, "triggered_by": "api", "metadata": metadata,
        **extra,
    }  # fmt: skip

# ---------------------------------------------------------------------------------------------
# parse_time_bound


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-23T10:00:00Z", datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-23T10:00:00.123456Z", datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-23T12:00:00+02:00", datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-23T05:00:00-05:00", datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-23T10:00:00", datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-23", datetime(2026, 11, 23, 0, 0, 0, tzinfo=UTC)),
        ("90s", NOW - timedelta(seconds=90)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("1d", NOW - timedelta(days=1)),
        ("1w", NOW - timedelta(weeks=1)),
        ("1h30m", NOW - timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", NOW - timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("0s", NOW),
        (" 2h ", NOW - timedelta(hours=2)),
    ],
)
def test_parse_time_bound_accepts(value, expected):
    result = _history.parse_time_bound(value, NOW)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


def test_parse_time_bound_reads_naive_now_as_utc():
    assert _history.parse_time_bound("1h", NOW.replace(tzinfo=None)) == NOW - timedelta(hours=1)


@pytest.mark.parametrize(
    "value",
    ["", "   ", "yesterday", "2h30", "30x", "-2h", "1m1h", "2 h", "1.5h", "h", "1700000000",
     "2026-13-01", "2026-11-23T25:00:00Z", "23/11/2026",
     "20261123T100000Z", "2026-W47"],  # ISO basic/week forms: rejected on every Python version
)  # fmt: skip
def test_parse_time_bound_rejects(value):
    with pytest.raises(ValueError) as excinfo:
        _history.parse_time_bound(value, NOW)
    message = str(excinfo.value)
    assert repr(value) in message
    assert "ISO 8601" in message and "1h30m" in message


@pytest.mark.parametrize("value", [None, 12, "99999999999w"])
def test_parse_time_bound_rejects_non_strings_and_overflow(value):
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        _history.parse_time_bound(value, NOW)


# ---------------------------------------------------------------------------------------------
# select_records

PAUSE_RECORDS = records_from_docker_events(PAUSE_UNPAUSE)
# 17:05:00.715025 create, :01.017295 start, :01.344245 pause, :01.665901 resume, :02.110429 stop,
# :02.491083 delete


def _at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_select_without_filters_returns_everything():
    assert _history.select_records(PAUSE_RECORDS) == PAUSE_RECORDS


def test_select_time_bounds_are_inclusive():
    since, until = _at("2026-11-23T17:05:01.344245"), _at("2026-11-23T17:05:02.110429")
    selected = _history.select_records(PAUSE_RECORDS, since=since, until=until)
    assert [operation for *_, operation, _, _ in _summary(selected)] == ["pause", "resume", "stop"]
    just_after = _history.select_records(PAUSE_RECORDS, since=since + timedelta(microseconds=1))
    assert [r["metadata"]["operation"] for r in just_after] == ["resume", "stop", "delete"]
    assert _history.select_records(PAUSE_RECORDS, until=until - timedelta(microseconds=1))[-1]["metadata"][
        "operation"
    ] == "resume"


def test_select_time_bounds_with_other_offsets_and_naive():
    since = datetime(2026, 11, 23, 18, 5, 2, 110429, tzinfo=timezone(timedelta(hours=1)))
    assert [r["metadata"]["operation"] for r in _history.select_records(PAUSE_RECORDS, since=since)] == [
        "stop", "delete",
    ]  # fmt: skip
    naive = datetime(2026, 11, 23, 17, 5, 2, 110429)
    assert len(_history.select_records(PAUSE_RECORDS, since=naive)) == 2


def test_select_by_status_string_or_list():
    selected = _history.select_records(PAUSE_RECORDS, to_status="running")
    assert [r["metadata"]["operation"] for r in selected] == ["start", "resume"]
    selected = _history.select_records(PAUSE_RECORDS, from_status=["running", "paused"], to_status="stopped")
    assert [r["metadata"]["operation"] for r in selected] == ["stop"]
    assert _history.select_records(PAUSE_RECORDS, from_status=[None])[0]["metadata"]["operation"] == "create"
    assert _history.select_records(PAUSE_RECORDS, to_status=[]) == []
    assert _history.select_records(PAUSE_RECORDS, to_status="failed") == []


def test_select_drops_records_without_time_only_when_bounded():
    records = [_rec("x", "running", "stopped", None), _rec("y", "running", "stopped", "not a time")]
    assert _history.select_records(records, to_status="stopped") == records
    assert _history.select_records(records, since=NOW - timedelta(days=365)) == []


def test_select_rejects_since_after_until():
    with pytest.raises(ValueError, match="since"):
        _history.select_records(PAUSE_RECORDS, since=NOW, until=NOW - timedelta(seconds=1))


# ---------------------------------------------------------------------------------------------
# sort_records

SORTABLE = [
    _rec("b", "running", "stopped", "2026-11-23T10:00:00.000000Z"),
    _rec("a", "running", "stopped", "2026-11-23T10:00:00.000000Z"),
    _rec("c", None, "stopped", "2026-11-23T09:00:00.000000Z"),
    _rec("d", "stopped", "running", "2026-11-23T11:30:00+01:00"),  # 10:30Z
    _rec("e", "paused", "running", "2026-11-23T12:00:00.000000Z", created_at="2026-11-23T08:00:00.000000Z"),
]


def _ids(records):
    return [r["id"] for r in records]


def test_sort_default_is_newest_first_with_id_tie_break():
    assert _ids(_history.sort_records(SORTABLE)) == ["e", "d", "b", "a", "c"]
    assert _ids(_history.sort_records(SORTABLE, "transition_time", "asc")) == ["c", "a", "b", "d", "e"]


def test_sort_by_status_breaks_ties_by_time_then_id():
    assert _ids(_history.sort_records(SORTABLE, "to_status", "asc")) == ["d", "e", "c", "a", "b"]
    assert _ids(_history.sort_records(SORTABLE, "to_status", "desc")) == ["b", "a", "c", "e", "d"]


def test_sort_by_from_status_puts_none_first_in_asc():
    assert _ids(_history.sort_records(SORTABLE, "from_status", "asc")) == ["c", "e", "a", "b", "d"]
    assert _ids(_history.sort_records(SORTABLE, "from_status", "desc")) == ["d", "b", "a", "e", "c"]


def test_sort_by_created_at_falls_back_to_transition_time():
    assert _ids(_history.sort_records(SORTABLE, "created_at", "asc")) == ["e", "c", "a", "b", "d"]


def test_sort_is_deterministic_and_does_not_mutate_input():
    original = copy.deepcopy(SORTABLE)
    results = {
        tuple(_ids(_history.sort_records(list(perm), "to_status", "desc")))
        for perm in itertools.permutations(SORTABLE)
    }
    assert results == {("b", "a", "c", "e", "d")}
    assert original == SORTABLE


@pytest.mark.parametrize(
    ("sort_by", "sort_order"), [("name", "asc"), ("transition_time", "up"), ("id", "desc")]
)
def test_sort_rejects_unknown_keys(sort_by, sort_order):
    with pytest.raises(ValueError):
        _history.sort_records(SORTABLE, sort_by, sort_order)


# ---------------------------------------------------------------------------------------------
# paginate

ITEMS = [{"id": str(n)} for n in range(5)]


def _pages(total, page, limit, total_pages):
    return {"total": total, "page": page, "limit": limit, "total_pages": total_pages}


def test_paginate_pages():
    assert _history.paginate(ITEMS, page=1, limit=2) == (ITEMS[:2], _pages(5, 1, 2, 3))
    assert _history.paginate(ITEMS, page=2, limit=2) == (ITEMS[2:4], _pages(5, 2, 2, 3))
    assert _history.paginate(ITEMS, page=3, limit=2) == (ITEMS[4:], _pages(5, 3, 2, 3))


def test_paginate_defaults():
    assert _history.paginate(ITEMS) == (ITEMS, _pages(5, 1, 20, 1))


def test_paginate_page_past_the_end_is_empty():
    assert _history.paginate(ITEMS, page=4, limit=2) == ([], _pages(5, 4, 2, 3))
    assert _history.paginate(ITEMS, page=99, limit=5) == ([], _pages(5, 99, 5, 1))


def test_paginate_limit_one():
    for page in range(1, 6):
        assert _history.paginate(ITEMS, page=page, limit=1) == ([ITEMS[page - 1]], _pages(5, page, 1, 5))


def test_paginate_all_pages_returns_everything():
    assert _history.paginate(ITEMS, page=3, limit=2, all_pages=True) == (ITEMS, _pages(5, 1, 2, 3))


def test_paginate_no_records():
    assert _history.paginate([], page=1, limit=10) == ([], _pages(0, 1, 10, 0))
    assert _history.paginate([], all_pages=True) == ([], _pages(0, 1, 20, 0))


@pytest.mark.parametrize(("page", "limit"), [(0, 1), (1, 0), (-1, 5), (1, -5), ("1", 5), (1, 2.5), (True, 5)])
def test_paginate_rejects_bad_page_or_limit(page, limit):
    with pytest.raises(ValueError):
        _history.paginate(ITEMS, page=page, limit=limit)


# ---------------------------------------------------------------------------------------------
# operation_of and compute_stats


@pytest.mark.parametrize(
    ("record", "operation"),
    [
        (_rec("1", "running", "stopped", None, "force-stop"), "force-stop"),
        (_rec("2", "running", "stopped", None, metadata={"command": "kill"}), "force-stop"),
        (_rec("3", "paused", "running", None, metadata={"command": "unpause"}), "resume"),
        (_rec("4", "stopped", "copying", None, metadata={"command": "copy"}), "copy"),
        (_rec("5", "stopped", "running", None), "start"),
        (_rec("6", "running", "stopped", None), "stop"),
        (_rec("7", "running", "paused", None), "pause"),
        (_rec("8", "paused", "running", None), "resume"),
        (_rec("9", "running", "running", None), "restart"),
        (_rec("10", "stopped", "absent", None), "delete"),
        (_rec("11", "deleting", "deleted", None), "delete"),
        (_rec("12", None, "creating", None), "create"),
        (_rec("13", "creating", "failed", None), None),
        ({"from_status": "stopped", "to_status": "running", "metadata": None}, "start"),
    ],
)
def test_operation_of(record, operation):
    assert _history.operation_of(record) == operation


def test_compute_stats_over_captured_records():
    records = []
    for events in (ESCALATED_STOP, KILL, RESTART, RESTART_POLICY, OOM, PAUSE_UNPAUSE):
        records += records_from_docker_events(events)
    assert _history.compute_stats(records) == {
        "start": {"count": 7, "avg_duration_ms": None, "max_duration_ms": None},
        "stop": {"count": 3, "avg_duration_ms": 429.3, "max_duration_ms": 1049},
        "force-stop": {"count": 1, "avg_duration_ms": 31.0, "max_duration_ms": 31},
        "restart": {"count": 1, "avg_duration_ms": 443.0, "max_duration_ms": 443},
        "pause": {"count": 1, "avg_duration_ms": None, "max_duration_ms": None},
        "resume": {"count": 1, "avg_duration_ms": None, "max_duration_ms": None},
        "delete": {"count": 6, "avg_duration_ms": None, "max_duration_ms": None},
        "failures": 3,  # two exits with code 3 (restart policy) and one OOM kill
    }


def test_compute_stats_rest_records_and_failures():
    records = [
        _rec("1", "stopped", "running", "2026-11-23T10:00:00Z", duration_ms=200),
        _rec("2", "stopped", "running", "2026-11-23T10:01:00Z", None, 100, metadata={"command": "start"}),
        _rec("3", "stopped", "running", "2026-11-23T10:02:00Z"),
        _rec("4", "creating", "failed", "2026-11-23T10:03:00Z"),
        _rec("5", "running", "failed", "2026-11-23T10:04:00Z", "exit", metadata={"exit_code": 1}),
        _rec("6", "running", "stopped", "2026-11-23T10:05:00Z", "exit", metadata={"exit_code": 0}),
        _rec("7", "running", "stopped", "2026-11-23T10:06:00Z", "exit", metadata={"exit_code": "2"}),
        _rec("7b", "running", "stopped", "2026-11-23T10:06:30Z", "exit", metadata={"exit_code": "0"}),
        _rec("8", "running", "stopped", "2026-11-23T10:07:00Z", "oom"),
        _rec("9", "deleting", "deleted", "2026-11-23T10:08:00Z", duration_ms=0),
        _rec("10", "stopped", "absent", "2026-11-23T10:09:00Z", duration_ms=5),
    ]
    assert _history.compute_stats(records) == {
        "start": {"count": 3, "avg_duration_ms": 150.0, "max_duration_ms": 200},
        "delete": {"count": 2, "avg_duration_ms": 2.5, "max_duration_ms": 5},  # 0 ms is a duration
        "failures": 4,  # 4 (to failed), 5 (counted once), 7, 8
    }


def test_compute_stats_empty():
    assert _history.compute_stats([]) == {"failures": 0}
