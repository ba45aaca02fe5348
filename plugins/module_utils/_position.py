# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the event source is in an engine's history, and what it emits when it resumes from there.

Pure functions over plain data, standard library only. A *position* is what the source keeps in its cursor file
between runs: ``{"newest_ns": <transition time of the newest record handled, ns>, "recent": {record id: ns},
"from_ns": <when the source first started, ns>}``, ``recent`` holding the records handled in the ``OVERLAP_NS``
before ``newest_ns``; what happened before ``from_ns`` is never emitted, however far back a resume reads.

On resume the source reads the engine's history again from ``resume_from_ns()`` (``OVERLAP_NS`` of context before
``newest_ns``: a stop's SIGTERM before its die) and emits what ``unseen()`` keeps: a record handled already never
comes twice, a record held back when the source stopped (a stop waiting for its restart) comes once, and nothing
older than the overlap is emitted again.

Hoody keeps one such position per container (``{"containers": {id: position}, "polled_ns": ...}``): a container
the cursor does not know yet (created while the source was away) is read from the last poll on.

A cursor file is ``{"version": 1, "engine": <engine key>, "position": {...}}``; the engine key (backend and
address) makes a file kept for another engine start from the present instead of from someone else's position. The
event source keeps more there for the autoheal playbook (``containers``: each container's last event; ``run``: which
run of the source wrote it).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional, TypeVar

#: How far before the newest record handled a resumed source reads again: context for folding the engine's events
#: (a stop's SIGTERM comes before its die; a held stop waits up to a few seconds for a restart) and the window in
#: which handled records are remembered by id.
OVERLAP_NS = 60 * 10**9
#: Records remembered by id at most (per position): a burst larger than that within the overlap keeps the newest.
RECENT_MAX = 4096
VERSION = 1

Position = dict[str, Any]
Record = Mapping[str, Any]
R = TypeVar("R", bound=Mapping[str, Any])


def empty(from_ns: Optional[int] = None) -> Position:
    """A position that has handled nothing, for a source that emits what happens from ``from_ns`` on (None: all)."""
    return {"newest_ns": None, "recent": {}, "from_ns": from_ns}


def _is_ns(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def well_formed(position: Any) -> bool:
    """Whether ``position`` (read from a file) has the shape ``empty()`` has."""
    return (
        isinstance(position, dict)
        and all(position.get(key) is None or _is_ns(position[key]) for key in ("newest_ns", "from_ns"))
        and isinstance(position.get("recent"), dict)
        and all(_is_ns(value) for value in position["recent"].values())
    )


def resume_from_ns(position: Position, overlap_ns: int = OVERLAP_NS) -> Optional[int]:
    """Where a resumed source reads from (engine time, ns): the overlap before the newest record handled; None
    when the position holds nothing (read everything, or start from the present)."""
    newest = position.get("newest_ns")
    return None if newest is None else newest - overlap_ns


def unseen(position: Position, records: Iterable[R], time_ns: Any, overlap_ns: int = OVERLAP_NS) -> list[R]:
    """The ``records`` to emit: not handled already (by id), not older than the overlap before the newest record
    handled, nor than ``from_ns``. ``time_ns(record)`` is a record's transition time in ns."""
    recent = position.get("recent") or {}
    floors = [floor for floor in (resume_from_ns(position, overlap_ns), position.get("from_ns")) if floor is not None]
    floor = max(floors) if floors else None
    return [
        record for record in records if record.get("id") not in recent and (floor is None or time_ns(record) >= floor)
    ]


def handled(position: Position, records: Iterable[Record], time_ns: Any, overlap_ns: int = OVERLAP_NS) -> Position:
    """The position once ``records`` are emitted (or dropped by a filter): a new dict, ``position`` unchanged."""
    recent = dict(position.get("recent") or {})
    newest = position.get("newest_ns")
    for record in records:
        when = time_ns(record)
        recent[str(record.get("id"))] = when
        if newest is None or when > newest:
            newest = when
    if newest is not None:
        kept = sorted((when, key) for key, when in recent.items() if when >= newest - overlap_ns)[-RECENT_MAX:]
        recent = {key: when for when, key in kept}
    return {"newest_ns": newest, "recent": recent, "from_ns": position.get("from_ns")}


def encode(engine: str, position: dict[str, Any], **besides: Any) -> str:
    """A cursor file's text; ``besides``: more of what the source keeps there (read by others, never by ``decode``)."""
    return json.dumps({"version": VERSION, "engine": engine, "position": position, **besides}, sort_keys=True)


def decode(text: str, engine: str, shape: Any = well_formed) -> tuple[Optional[dict[str, Any]], str]:
    """The position a cursor file's ``text`` holds for ``engine``, or None and why it cannot be used;
    ``shape(position)`` says whether it is the kind of position the caller keeps."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, f"it is not JSON ({exc})"
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("position"), dict):
        return None, f"it is not a cursor of version {VERSION}"
    if data.get("engine") != engine:
        return None, f"it was kept for another engine ({data.get('engine')!r})"
    if not shape(data["position"]):
        return None, "its position is not the kind this engine's source keeps"
    return data["position"], ""


def well_formed_per_container(position: Any) -> bool:
    """Whether ``position`` is ``{"containers": {id: position}, "polled_ns": ns}`` (Hoody's)."""
    return (
        isinstance(position, dict)
        and _is_ns(position.get("polled_ns"))
        and isinstance(position.get("containers"), dict)
        and all(well_formed(value) for value in position["containers"].values())
    )
