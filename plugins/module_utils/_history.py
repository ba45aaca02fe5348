# Copyright: contributors to containerops.lifecycle
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Select, order, page and count the records of a container's state-transition history.

Pure functions: no engine calls, no Ansible imports, standard library only. Docker's events become records in
``_docker_events.py``; Hoody's status logs are records already.

A record describes one state transition::

    {id, container_id, from_status, to_status, transition_time, duration_ms, triggered_by, metadata}

``transition_time`` is an ISO 8601 UTC string with microseconds and ``Z``; ``triggered_by`` is
``api`` (someone asked the engine) or ``engine`` (it happened by itself); ``metadata['operation']``
is always set for records built here.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import OPERATIONS
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import StatusLogRecord

__all__ = [
    "SORT_KEYS",
    "compute_stats",
    "format_time",
    "operation_of",
    "paginate",
    "parse_iso",
    "parse_time_bound",
    "select_records",
    "sort_records",
]

_OPERATION_ALIASES = {
    "unpause": "resume",
    "kill": "force-stop",
    "remove": "delete",
    "rm": "delete",
    "destroy": "delete",
}

SORT_KEYS = ("transition_time", "created_at", "to_status", "from_status")
_SORT_ORDERS = ("asc", "desc")

_DURATION_RE = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_DURATION_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
_TIME_FORMS = (
    "an ISO 8601 timestamp (2026-11-23T10:00:00Z, 2026-11-23T12:00:00+02:00, 2026-11-23) or a "
    "duration back from now as <int><unit> with units s, m, h, d, w (90s, 30m, 2h, 1d, 1w, 1h30m)"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

Record = StatusLogRecord  # a ``logs[]`` entry of container_status_logs
StatusFilter = Optional[Union[str, Sequence[Optional[str]]]]


# ---------------------------------------------------------------------------------------------
# time helpers


def format_time(value: datetime) -> str:
    """Format an aware (or naive = UTC) datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 string to an aware UTC datetime (naive means UTC); raise ValueError."""
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _aware(value: datetime) -> datetime:
    """Return ``value`` in UTC, reading a naive datetime as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _record_time(record: Record, key: str = "transition_time") -> Optional[datetime]:
    """The record's ``key`` time as an aware datetime, or None if missing or unparseable."""
    value = record.get(key)
    if isinstance(value, datetime):
        return _aware(value)
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def parse_time_bound(value: str, now: datetime) -> datetime:
    """Parse an ISO 8601 time or a relative duration back from ``now`` into an aware UTC datetime.

    Accepted: ``2026-11-23T10:00:00Z``, ``2026-11-23T10:00:00+02:00``, ``2026-11-23`` (midnight
    UTC; a time without offset is UTC), or ``<int><unit>`` groups in the order w, d, h, m, s
    (``90s``, ``30m``, ``2h``, ``1d``, ``1w``, ``1h30m``). Raises ValueError otherwise.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"invalid time value {value!r}: expected {_TIME_FORMS}")
    text = value.strip()
    match = _DURATION_RE.match(text)
    if match and any(match.groups()):
        amounts = {unit: int(num) for unit, num in zip(_DURATION_UNITS, match.groups()) if num}
        try:
            return _aware(now) - timedelta(**amounts)
        except OverflowError:
            raise ValueError(f"invalid time value {value!r}: duration is out of range") from None
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        try:
            return parse_iso(text)
        except ValueError as exc:
            raise ValueError(f"invalid time value {value!r}: {exc}; expected {_TIME_FORMS}") from None
    raise ValueError(f"invalid time value {value!r}: expected {_TIME_FORMS}")


def _to_int(raw: Any) -> Optional[int]:
    """``int(raw)`` or None."""
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# selection, ordering, paging, stats


def _as_set(value: StatusFilter) -> Optional[set]:
    """A status filter as a set (None = no filter)."""
    if value is None:
        return None
    if isinstance(value, str):
        return {value}
    return set(value)


def select_records(
    records: Iterable[Record],
    since: Optional[datetime] = None,
    until: Optional[datetime] = None,
    from_status: StatusFilter = None,
    to_status: StatusFilter = None,
) -> list[Record]:
    """Records with ``since <= transition_time <= until`` and matching statuses (str or list).

    Naive datetimes are read as UTC. With a time bound, records without a readable
    ``transition_time`` are dropped. Raises ValueError when ``since`` is after ``until``.
    """
    lower = _aware(since) if since is not None else None
    upper = _aware(until) if until is not None else None
    if lower is not None and upper is not None and lower > upper:
        raise ValueError(f"since ({format_time(lower)}) is after until ({format_time(upper)})")
    froms, tos = _as_set(from_status), _as_set(to_status)
    selected = []
    for record in records:
        if froms is not None and record.get("from_status") not in froms:
            continue
        if tos is not None and record.get("to_status") not in tos:
            continue
        if lower is not None or upper is not None:
            when = _record_time(record)
            if when is None or (lower is not None and when < lower) or (upper is not None and when > upper):
                continue
        selected.append(record)
    return selected


def _opt_key(value: Any) -> tuple[int, Any]:
    """Sort key putting None (and missing) first."""
    return (0, "") if value is None else (1, value)


def _time_key(record: Record, key: str = "transition_time") -> tuple[int, datetime]:
    """Sort key for a time field; unreadable times sort first."""
    when = _record_time(record, key)
    return (0, _EPOCH) if when is None else (1, when)


def sort_records(
    records: Iterable[Record], sort_by: str = "transition_time", sort_order: str = "desc"
) -> list[Record]:
    """Sort by ``sort_by`` (transition_time, created_at, to_status, from_status), asc or desc.

    Ties are broken by transition_time, then id; the whole key is reversed for ``desc``. None
    statuses sort first in ``asc``. ``created_at`` falls back to ``transition_time``.
    """
    if sort_by not in SORT_KEYS:
        raise ValueError(f"invalid sort_by {sort_by!r}: expected one of {', '.join(SORT_KEYS)}")
    if sort_order not in _SORT_ORDERS:
        raise ValueError(f"invalid sort_order {sort_order!r}: expected one of {', '.join(_SORT_ORDERS)}")

    def key(record: Record) -> tuple:
        if sort_by == "created_at":
            primary = _time_key(record, "created_at" if record.get("created_at") else "transition_time")
        elif sort_by == "transition_time":
            primary = _time_key(record)
        else:
            primary = _opt_key(record.get(sort_by))
        return (primary, _time_key(record), str(record.get("id", "")))

    return sorted(records, key=key, reverse=sort_order == "desc")


def paginate(
    records: Sequence[Record], page: int = 1, limit: int = 20, all_pages: bool = False
) -> tuple[list, dict]:
    """One page of ``records`` plus ``{total, page, limit, total_pages}``.

    ``total_pages`` is ``ceil(total / limit)``, so 0 when there are no records. A page past the end
    is an empty list. ``all_pages`` returns every record and reports page 1. ``page`` and ``limit``
    must be >= 1 (ValueError otherwise).
    """
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValueError(f"invalid page {page!r}: expected an integer >= 1")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"invalid limit {limit!r}: expected an integer >= 1")
    items = list(records)
    total = len(items)
    pagination = {"total": total, "page": page, "limit": limit, "total_pages": math.ceil(total / limit)}
    if all_pages:
        pagination["page"] = 1
        return items, pagination
    start = (page - 1) * limit
    return items[start:start + limit], pagination


def operation_of(record: Mapping[str, Any]) -> Optional[str]:
    """The record's operation: metadata.operation, else metadata.command, else from its statuses.

    Status derivation: None->*: create, stopped->running: start, running->stopped: stop,
    running->running: restart, running->paused: pause, paused->running: resume, *->absent/deleted:
    delete. A few engine verbs are normalised (unpause->resume, kill->force-stop, remove->delete).
    """
    metadata = record.get("metadata") or {}
    for key in ("operation", "command"):
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return _OPERATION_ALIASES.get(value, value)
    before, after = record.get("from_status"), record.get("to_status")
    if after in ("absent", "deleted"):
        return "delete"
    if before is None and after is not None:
        return "create"
    by_transition: dict[tuple[Any, Any], str] = {
        ("stopped", "running"): "start",
        ("running", "stopped"): "stop",
        ("running", "running"): "restart",
        ("running", "paused"): "pause",
        ("paused", "running"): "resume",
    }
    return by_transition.get((before, after))


def compute_stats(records: Iterable[Record]) -> dict[str, Any]:
    """Per-operation ``{count, avg_duration_ms, max_duration_ms}`` plus ``failures``.

    Only operations in :data:`_lifecycle.OPERATIONS` present in ``records`` get a key. Averages are
    over records with a duration, rounded to 0.1 ms; None when no record has one. ``failures``
    counts each record at most once: to_status ``failed``, operation ``oom``, or ``exit`` with a
    non-zero exit code.
    """
    durations: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    failures = 0
    for record in records:
        operation = operation_of(record)
        metadata = record.get("metadata") or {}
        exit_code = _to_int(metadata.get("exit_code"))
        if (
            record.get("to_status") == "failed"
            or operation == "oom"
            or (operation == "exit" and exit_code not in (None, 0))
        ):
            failures += 1
        if operation not in OPERATIONS:
            continue
        counts[operation] = counts.get(operation, 0) + 1
        duration = record.get("duration_ms")
        if isinstance(duration, (int, float)) and not isinstance(duration, bool):
            durations.setdefault(operation, []).append(duration)
    stats: dict[str, Any] = {}
    for operation in OPERATIONS:
        if operation not in counts:
            continue
        values = durations.get(operation, [])
        stats[operation] = {
            "count": counts[operation],
            "avg_duration_ms": round(sum(values) / len(values), 1) if values else None,
            "max_duration_ms": max(values) if values else None,
        }
    stats["failures"] = failures
    return stats
