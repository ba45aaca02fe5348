# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The autoheal playbook's decisions: which containers of the engine it heals in one run, which the rate limit holds
back, and what it reports; plain data and pure functions for its filters (``plugins/filter/__autoheal.py``).

One run heals every container that needs it, not only the one whose event started the run: the rulebook runs the
playbook once for a burst (``throttle: once_after``), and the run reads what the event source last knew of each
container from the source's cursor file (its ``containers``: the last event of each, kept by the source). A
container needs a heal when its last event is a stop nobody asked for (``exit``, ``oom``, ``engine-stop``: start it
again) or a health check turning ``unhealthy`` (restart it). The rate limit is per container: one heal per
``WINDOW_S``, counted in the heals file (``{"run": ..., "heals": {id: epoch seconds}}``); a need older than the
container's last heal was healed already. The heals file belongs to one run of the source (the cursor file's
``run``): a rulebook started again starts its rate limit afresh.

The I/O is at the bottom (``read_json``, ``write_json``): a missing or unreadable file reads as empty, a write is
atomic (a temporary file in the same directory, renamed).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from datetime import datetime, timezone
from typing import Any, Iterator, Optional

#: One heal per container per this many seconds (10 minutes: at most 6 an hour).
WINDOW_S = 600
#: The operations of a stop nobody asked for: the container is started again.
UNEXPECTED_STOPS = ("exit", "oom", "engine-stop")

Need = dict[str, Any]


def need_of(last: dict[str, Any]) -> Optional[str]:
    """What a container's last event asks for: ``start`` (it stopped unexpectedly), ``restart`` (it turned
    unhealthy), or None."""
    if last.get("operation") in UNEXPECTED_STOPS and last.get("to_status") in ("stopped", "failed"):
        return "start"
    if last.get("operation") == "health" and last.get("health") == "unhealthy":
        return "restart"
    return None


def seconds(text: Any) -> float:
    """An ISO 8601 UTC time (``2026-12-02T05:50:24.885607Z``) as epoch seconds; 0 when unreadable."""
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        try:
            return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            return 0.0


def latest(known: dict[str, dict[str, Any]], event: Optional[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``known`` (container id: its last event) with ``event`` in it, unless ``known`` holds a later one of its
    container (the cursor file may be written a moment after the event that started the run)."""
    merged = dict(known)
    if event and event.get("id"):
        kept = merged.get(event["id"])
        if kept is None or seconds(kept.get("transition_time")) <= seconds(event.get("transition_time")):
            merged[event["id"]] = event
    return merged


def heals_of(stored: Any, run: Any) -> dict[str, float]:
    """The heals the heals file holds for this run of the source; none for another run (or an unreadable file)."""
    if not isinstance(stored, dict) or stored.get("run") != run or not isinstance(stored.get("heals"), dict):
        return {}
    return {key: float(value) for key, value in stored["heals"].items() if isinstance(value, (int, float))}


def plan(known: dict[str, dict[str, Any]], heals: dict[str, float], now: float, window: float = WINDOW_S) -> dict:
    """What one run does: ``start`` and ``restart`` (the needs to heal now), ``held`` (needs the rate limit holds
    back: the container was healed less than ``window`` seconds ago), oldest first. A need that came before the
    container's last heal was met by that heal."""
    result: dict[str, list[Need]] = {"start": [], "restart": [], "held": []}
    for container_id, last in sorted(known.items(), key=lambda item: seconds(item[1].get("transition_time"))):
        need = need_of(last)
        if need is None:
            continue
        healed = heals.get(container_id)
        if healed is not None and healed >= seconds(last.get("transition_time")):
            continue
        entry = dict(last, id=container_id)
        result["held" if healed is not None and now - healed < window else need].append(entry)
    return result


def heals_after(heals: dict[str, float], planned: dict, now: float, window: float = WINDOW_S) -> dict[str, float]:
    """The heals once ``planned`` is carried out: its heals at ``now``, those older than ``window`` forgotten."""
    kept = {key: value for key, value in heals.items() if now - value < window}
    kept.update({need["id"]: now for need in planned["start"] + planned["restart"]})
    return kept


def _who(need: Need) -> str:
    return f"{need.get('name') or need['id']} ({str(need['id'])[:12]})"


def _stopped(need: Need) -> str:
    return (f"{_who(need)} stopped unexpectedly at {need.get('transition_time')} ({need.get('operation')}, exit code "
            f"{need.get('exit_code')})")  # fmt: skip


def report(need: Need, outcome: Optional[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The report on one need: ``kind`` is ``start`` or ``restart`` (``outcome``: the container's entry in
    ``container_state``'s result, with ``error`` when the heal failed) or ``given_up``."""
    unhealthy = need.get("operation") == "health"
    outcome = outcome or {}
    failure = outcome.get("error")
    if kind == "given_up":
        state = "given_up"
        again = "turned unhealthy" if unhealthy else "stopped unexpectedly"
        message = (
            f"autoheal: GIVING UP on {_who(need)}: it {again} again at {need.get('transition_time')}, within 10 "
            f"minutes of the last heal; it is left {'running unhealthy' if unhealthy else 'stopped'} for an operator"
        )
    elif failure is not None:
        state = "heal_failed"
        message = (f"autoheal: {_who(need)} turned unhealthy at {need.get('transition_time')}; restarted, but not "
                   f"healthy again: {failure}" if unhealthy
                   else f"autoheal: {_stopped(need)}; not started again: {failure}")  # fmt: skip
    else:
        state = "healed"
        message = (f"autoheal: {_who(need)} turned unhealthy at {need.get('transition_time')}; restarted: "
                   f"{outcome.get('status')} and {outcome.get('health')} after {outcome.get('duration_ms')} ms"
                   if unhealthy else
                   f"autoheal: {_stopped(need)}; {'started' if outcome.get('changed') else 'already running'} again"
                   f": {outcome.get('status')} after {outcome.get('duration_ms')} ms")  # fmt: skip
    return {
        "report": state,
        "name": need.get("name"),
        "id": need.get("id"),
        "engine": need.get("engine"),
        "operation": need.get("operation"),
        "exit_code": need.get("exit_code"),
        "health": need.get("health"),
        "transition_time": need.get("transition_time"),
        "status": None if kind == "given_up" else outcome.get("status"),
        "duration_ms": None if kind == "given_up" else outcome.get("duration_ms"),
        "message": message,
    }


def reports(planned: dict, started: Optional[dict], restarted: Optional[dict]) -> list[dict[str, Any]]:
    """The reports of one run, from ``container_state``'s results (``containers``, by id) for its two heals."""
    outcomes: dict[str, dict[str, Any]] = {}
    for result in (started, restarted):
        for entry in (result or {}).get("containers") or []:
            if entry.get("id"):
                outcomes[entry["id"]] = entry
    missing = {"error": "container_state did not report on it"}
    return [report(need, outcomes.get(need["id"], missing), kind) for kind in ("start", "restart")
            for need in planned[kind]]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# the files


def read_json(path: Optional[str]) -> Any:
    """A JSON file's content; None when there is no path or the file is missing or unreadable."""
    if not path:
        return None
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def locked(path: Optional[str]) -> Iterator[None]:
    """``path`` held for this process alone (an exclusive lock on ``path.lock``, its directory made): two runs of
    the playbook at once read and write the heals file one after the other, so neither plans what the other heals,
    nor loses the other's heals. Nothing to hold without a path."""
    if not path:
        yield
        return
    path = os.path.expanduser(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    with open(path + ".lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_json(path: str, data: Any) -> None:
    """Write ``data`` to ``path`` atomically (its directory made, private)."""
    path = os.path.expanduser(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".autoheal-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
