# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's container events folded into status-log records (``_history``'s record shape): what
``container_status_logs`` reports on Docker and Dockhand, and what the event source emits, one classification for
both: a stop is a stop only when the engine was asked for it close to the exit; a health check's verdict is a record
of its own (``health_record``), never a status-log record.

Pure functions: no engine calls, standard library only.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history

Record = _history.Record

#: Docker container event actions that become records; pass as the ``event`` filter.
DOCKER_EVENT_ACTIONS: tuple[str, ...] = (
    "create",
    "start",
    "kill",
    "die",
    "oom",
    "stop",
    "pause",
    "unpause",
    "restart",
    "destroy",
)

#: Docker's health check event (``health_status: healthy``): reported only when the check's verdict changes.
#: Not a lifecycle transition, so never a status-log record; the event source emits it (``health_record``).
HEALTH_ACTION = "health_status"

#: The verdicts a health event carries (``starting`` is where a check begins, never an event).
HEALTH_VERDICTS = ("healthy", "unhealthy")

#: A start this soon after a process ended on its own is attributed to the restart policy (engine).
#: Docker's restart back-off doubles from 100 ms and is capped at 1 minute; 5 s of slack covers
#: the time the start itself takes.
ENGINE_RESTART_WINDOW_NS = 65 * 10**9

#: ``docker restart`` emits kill…, die, stop, start, restart back to back. A stop whose die is
#: followed by the restart's start within this window is folded into the restart record; a longer
#: gap means the container was already stopped and the restart only started it.
RESTART_FOLD_WINDOW_NS = 2 * 10**9

#: A process that exits by itself (not by a signal) this soon after the engine sent it a requested signal
#: was stopped on request: the default stop timeout plus the margin a graceful stop is given.
REQUESTED_EXIT_WINDOW_NS = 20 * 10**9

#: The signals of one stop (SIGTERM, then the escalation's SIGKILL after the stop timeout) lie at most
#: this far apart; an older requested signal belongs to an earlier, handled request.
STOP_CHAIN_WINDOW_NS = 10 * 60 * 10**9

# Linux signal numbers (Docker reports the number the engine sent; the controller's OS may differ).
_LINUX_SIGNALS = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
    8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
    14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
    20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
    26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}  # fmt: skip

# Signals conventionally used to poke a running process (reload, log rotation); they are listed
# in ``signals`` but do not by themselves turn a later die into a requested stop.
_NOTIFY_SIGNALS = frozenset({"SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT"})

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _ns_to_iso(ns: int) -> str:
    """Format nanoseconds since the epoch (truncated to microseconds)."""
    return _history.format_time(_EPOCH + timedelta(microseconds=ns // 1000))


def _signal_name(raw: Any) -> str:
    """Map Docker's signal attribute ("15", "SIGTERM", "TERM") to a name like ``SIGTERM``."""
    text = str(raw).strip().upper()
    if text.isdigit():
        return _LINUX_SIGNALS.get(int(text), f"SIG{int(text)}")
    return text if text.startswith("SIG") else f"SIG{text}"


def _to_int(raw: Any) -> Optional[int]:
    """``int(raw)`` or None."""
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _ms(delta_ns: int) -> int:
    """Nanoseconds to whole milliseconds, rounded half up."""
    return (delta_ns + 500_000) // 1_000_000


def _event_fields(event: dict[str, Any]) -> Optional[tuple[str, str, int, dict[str, Any]]]:
    """(container_id, action, time_ns, attributes) of a container event, or None to skip it."""
    if event.get("Type", "container") != "container":
        return None
    actor = event.get("Actor") or {}
    container_id = actor.get("ID") or event.get("id")
    action = event.get("Action") or event.get("status")
    if not container_id or not action:
        return None
    if event.get("timeNano") is not None:
        time_ns = int(event["timeNano"])
    elif event.get("time") is not None:
        time_ns = int(event["time"]) * 10**9
    else:
        return None
    # "exec_start: sh -c ...", "health_status: healthy" -> base action
    base = str(action).split(":", 1)[0].strip()
    return str(container_id), base, time_ns, dict(actor.get("Attributes") or {})


def fatal_signal(exit_code: Optional[int]) -> Optional[str]:
    """The signal that killed a container's process, from its exit code (128 + the signal's number)."""
    if exit_code is None or not 128 < exit_code <= 128 + max(_LINUX_SIGNALS):
        return None
    return _LINUX_SIGNALS[exit_code - 128]


def requested_stop_opening(
    kills: list[tuple[int, str]], die_ns: int, exit_code: Optional[int]
) -> Optional[tuple[int, str]]:
    """The kill that opened a requested stop ending in this die, or None when the process ended by itself.

    ``kills`` are the engine's kill events since the last start, as (time_ns, signal name). A process killed by
    a signal (exit code 128 + N) was stopped on request only when the engine sent that signal: a SIGKILL
    from anywhere else (the kernel, a user's ``kill -9`` on the host, a crash) is an exit, however many
    signals the engine delivered before. A process that exited by itself after a requested signal was
    stopped on request only when the signal came within ``REQUESTED_EXIT_WINDOW_NS``: an application that
    handled a SIGQUIT and crashed an hour later was not stopped. Notify signals (SIGHUP, SIGUSR1, ...)
    never open a stop. The opening is the first requested signal of the stop (SIGTERM before an
    escalation's SIGKILL) within ``STOP_CHAIN_WINDOW_NS`` of the one that ended it.
    """
    requested = [(time_ns, name) for time_ns, name in kills if name not in _NOTIFY_SIGNALS]
    fatal = fatal_signal(exit_code)
    if fatal is not None:
        closing = [time_ns for time_ns, name in requested if name == fatal]
        if not closing:
            return None
        last = closing[-1]
    else:
        recent = [time_ns for time_ns, _name in requested if die_ns - time_ns <= REQUESTED_EXIT_WINDOW_NS]
        if not recent:
            return None
        last = recent[-1]
    return next((time_ns, name) for time_ns, name in requested if last - time_ns <= STOP_CHAIN_WINDOW_NS)


class ContainerFold:
    """What every engine's fold keeps for one container while its events are replayed: its records so far, its
    current status and its last known attributes (name, image); ``add`` appends a record."""

    def __init__(self, container_id: str) -> None:
        self.id = container_id
        self.records: list[Record] = []
        self.status: Optional[str] = None
        self.attrs: dict[str, Any] = {}

    def add(
        self,
        time_ns: int,
        from_status: Optional[str],
        to_status: str,
        operation: str,
        triggered_by: str = "api",
        duration_ms: Optional[int] = None,
        events: Optional[list[str]] = None,
        **details: Any,
    ) -> Record:
        """Append a record and move the current status."""
        metadata: dict[str, Any] = {"operation": operation, **details, "events": list(events or [])}
        for key in ("name", "image"):
            if self.attrs.get(key):
                metadata[key] = self.attrs[key]
        record: Record = {
            "id": f"{self.id[:12]}-{time_ns}",
            "container_id": self.id,
            "from_status": from_status,
            "to_status": to_status,
            "transition_time": _ns_to_iso(time_ns),
            "duration_ms": duration_ms,
            "triggered_by": triggered_by,
            "metadata": metadata,
        }
        self.records.append(record)
        self.status = to_status
        return record

    def feed(self, action: str, time_ns: int, attrs: dict[str, Any]) -> None:
        """Fold in one of the container's events (each engine's fold says how)."""
        raise NotImplementedError


class _Container(ContainerFold):
    """Docker's fold state for one container."""

    def __init__(self, container_id: str) -> None:
        super().__init__(container_id)
        self.kills: list[tuple[int, str]] = []  # (time_ns, signal name) since the last start
        self.oom = False
        self.folded: list[str] = []  # actions folded into the pending stop (kill, oom, unpause)
        self.last_die: Optional[tuple[Record, int, Optional[int], bool]] = None  # rec, die_ns, kill_ns, stop
        self.last_start: Optional[tuple[Record, int]] = None

    def reset_pending(self) -> None:
        """Forget kills/oom seen since the last start."""
        self.kills, self.oom, self.folded = [], False, []

    def on_die(self, time_ns: int, attrs: dict[str, Any]) -> None:
        """The process ended: a requested stop, a kill, an OOM kill or an exit of its own."""
        signals = [name for _kill_ns, name in self.kills]
        exit_code = _to_int(attrs.get("exitCode"))
        opening = requested_stop_opening(self.kills, time_ns, exit_code)
        escalated = False
        if self.oom:
            operation, triggered_by = "oom", "engine"
        elif opening is None:
            operation, triggered_by = "exit", "engine"
        elif opening[1] == "SIGKILL":
            operation, triggered_by = "force-stop", "api"
        else:
            operation, triggered_by = "stop", "api"
            escalated = "SIGKILL" in signals[signals.index(opening[1]) :]
        kill_ns = opening[0] if opening else None
        record = self.add(
            time_ns, self.status or "running", "stopped", operation, triggered_by,
            duration_ms=_ms(time_ns - kill_ns) if kill_ns is not None else None,
            events=[*self.folded, "die"], exit_code=exit_code,
            signals=signals, escalated=escalated,
        )  # fmt: skip
        self.last_die = (record, time_ns, kill_ns, False)
        self.reset_pending()

    def on_stop(self) -> None:
        """``docker stop`` finished: complete the die record it belongs to."""
        if not self.last_die or not self.records or self.records[-1] is not self.last_die[0]:
            return
        record, die_ns, kill_ns, _stopped = self.last_die
        record["metadata"]["events"].append("stop")
        if record["metadata"]["operation"] == "exit":
            # The kill happened before the events window; the stop event proves it was requested.
            record["metadata"]["operation"] = "stop"
            record["triggered_by"] = "api"
        self.last_die = (record, die_ns, kill_ns, True)

    def on_start(self, time_ns: int) -> None:
        """The container started; after an exit/OOM shortly before, the restart policy did it."""
        triggered_by, details = "api", {}
        if self.last_die and self.records and self.records[-1] is self.last_die[0]:
            record, die_ns = self.last_die[0], self.last_die[1]
            auto = record["metadata"]["operation"] in ("exit", "oom")
            if auto and time_ns - die_ns <= ENGINE_RESTART_WINDOW_NS:
                triggered_by, details = "engine", {"auto_restart": True}
        record = self.add(
            time_ns, self.status or "stopped", "running", "start", triggered_by, events=["start"], **details
        )
        self.last_start = (record, time_ns)
        self.reset_pending()

    def on_restart(self, time_ns: int) -> None:
        """``docker restart`` finished: fold its stop part and start part into one record."""
        start = self.last_start
        if not start or not self.records or self.records[-1] is not start[0]:
            self.add(time_ns, self.status or "running", "running", "restart", events=["restart"])
            return
        start_record, start_ns = start
        self.records.pop()
        die = self.last_die
        kill_ns = die[2] if die is not None else None
        if (
            die is not None
            and self.records
            and self.records[-1] is die[0]
            and die[3]  # the stop part ended with a stop event
            and kill_ns is not None  # ... and began with a kill
            and start_ns - die[1] <= RESTART_FOLD_WINDOW_NS
        ):
            stop_record = die[0]
            self.records.pop()
            meta = stop_record["metadata"]
            self.status = stop_record["from_status"]
            self.add(
                time_ns, stop_record["from_status"], "running", "restart",
                duration_ms=_ms(time_ns - kill_ns),
                events=[*meta["events"], *start_record["metadata"]["events"], "restart"],
                exit_code=meta.get("exit_code"), signals=meta.get("signals", []),
                escalated=meta.get("escalated", False),
            )  # fmt: skip
        else:
            # Restart of a container that was not running: Docker only started it.
            self.status = start_record["from_status"]
            self.add(
                time_ns,
                start_record["from_status"],
                "running",
                "restart",
                events=[*start_record["metadata"]["events"], "restart"],
            )
        self.last_start = None
        self.last_die = None

    def feed(self, action: str, time_ns: int, attrs: dict[str, Any]) -> None:
        """Apply one event."""
        self.attrs.update({k: v for k, v in attrs.items() if k in ("name", "image") and v})
        if action == "create":
            self.add(time_ns, None, "stopped", "create", events=["create"])
        elif action == "start":
            self.on_start(time_ns)
        elif action == "kill":
            self.kills.append((time_ns, _signal_name(attrs.get("signal", "SIGKILL"))))
            self.folded.append("kill")
        elif action == "oom":
            self.oom = True
            self.folded.append("oom")
        elif action == "die":
            self.on_die(time_ns, attrs)
        elif action == "stop":
            self.on_stop()
        elif action == "pause":
            self.add(time_ns, self.status or "running", "paused", "pause", events=["pause"])
        elif action == "unpause":
            if self.kills and self.status == "paused":
                # docker stop/kill of a paused container unpauses it internally: part of the stop.
                self.folded.append("unpause")
            else:
                self.add(time_ns, self.status or "paused", "running", "resume", events=["unpause"])
        elif action == "restart":
            self.on_restart(time_ns)
        elif action == "destroy":
            self.add(time_ns, self.status or "stopped", "absent", "delete", events=["destroy"])
            self.reset_pending()


def health_record(event: dict[str, Any]) -> Optional[Record]:
    """A health check's change (``health_status: unhealthy``) as a record of operation ``health``, else None.

    The verdict comes from the action's suffix (Docker's ``/events``) or from the ``healthStatus`` attribute (an
    activity log that keeps the base action). The container keeps running through it: running -> running.
    """
    fields = _event_fields(event)
    if fields is None or fields[1] != HEALTH_ACTION:
        return None
    container_id, _action, time_ns, attrs = fields
    suffix = str(event.get("Action") or event.get("status") or "").partition(":")[2]
    verdict = (suffix.strip() or str(attrs.get("healthStatus") or "")).lower()
    if verdict not in HEALTH_VERDICTS:
        return None
    metadata: dict[str, Any] = {"operation": "health", "health": verdict, "events": [HEALTH_ACTION]}
    for key in ("name", "image"):
        if attrs.get(key):
            metadata[key] = attrs[key]
    return {
        "id": f"{container_id[:12]}-{time_ns}-health",
        "container_id": container_id,
        "from_status": "running",
        "to_status": "running",
        "transition_time": _ns_to_iso(time_ns),
        "duration_ms": None,
        "triggered_by": "engine",
        "metadata": metadata,
    }


def records_from_docker_events(events: list[dict[str, Any]]) -> list[Record]:
    """Build transition records from decoded Docker ``container`` events of one or more containers.

    Events are replayed per container in ``timeNano`` order (exact duplicates dropped); the result
    is in chronological order (ties by id). Actions outside :data:`DOCKER_EVENT_ACTIONS` (exec_*,
    health_status, attach, rename, ...) are ignored.
    """
    return replay(events, DOCKER_EVENT_ACTIONS, _Container, lambda action, attrs: f"{action}:{attrs.get('signal', '')}")


def replay(
    events: list[dict[str, Any]],
    actions: Iterable[str],
    fold: Callable[[str], ContainerFold],
    distinct: Callable[[str, dict[str, Any]], str] = lambda action, _attrs: action,
) -> list[Record]:
    """The records of ``events`` (Docker's or libpod's: the same ``Actor`` shape) folded per container by ``fold``
    (a ``ContainerFold`` with ``feed``): only ``actions``, in ``timeNano`` order (ties in the order given), an event
    dropped when one of the same container, time and ``distinct`` key came before; in chronological order."""
    wanted = set(actions)
    per_container: dict[str, list[tuple[int, int, str, dict[str, Any]]]] = {}
    seen: set[tuple[str, str, int]] = set()
    for index, event in enumerate(events):
        fields = _event_fields(event)
        if fields is None:
            continue
        container_id, action, time_ns, attrs = fields
        key = (container_id, distinct(action, attrs), time_ns)
        if action not in wanted or key in seen:
            continue
        seen.add(key)
        per_container.setdefault(container_id, []).append((time_ns, index, action, attrs))
    records: list[Record] = []
    for container_id, items in per_container.items():
        state = fold(container_id)
        for time_ns, _index, action, attrs in sorted(items, key=lambda item: (item[0], item[1])):
            state.feed(action, time_ns, attrs)
        records.extend(state.records)
    return _history.sort_records(records, "transition_time", "asc")
