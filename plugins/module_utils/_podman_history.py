# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Podman's container events (libpod ``/events``) folded into status-log records (``_history``'s record shape, as
Docker's in ``_docker_history``): what ``container_status_logs`` reports on Podman and what the event source emits,
one classification for both: a stop is a stop only when the events show it was requested close to the exit.

What Podman 4.3 writes (recorded in tests/unit/extensions/eda/plugins/event_source/fixtures/podman_events.json):

- a process that ends writes ``died`` (``containerExitCode``), then the exit command's ``cleanup``;
- a requested stop (``podman stop``, the API's stop) writes no ``kill``, and its ``stop`` event mostly not at all
  (measured: after 6 of 22 stops that needed SIGKILL, none of 23 graceful ones); but the stop cleans the container
  up itself, so its ``died`` is followed by *two* ``cleanup`` events (45 of 45), a process that ended by itself
  (a crash, an exit, ``podman kill``) by one (70 of 70); a removal's ``died`` is followed by ``remove``;
- ``podman kill`` writes ``kill`` without the signal: a ``died`` by a signal soon after it is the kill's, a ``died``
  long after it (a handled SIGQUIT, then a crash) is not;
- a requested restart writes ``restart`` first (``restart``, ``died``, ``init``, ``start``); the restart policy
  writes it after the ``died`` it answers (``died``, ``restart``, ``init``, ``start``);
- a stop that needed SIGKILL and a ``kill -9`` of the process both end in ``died`` 137: the cleanups tell them
  apart; an OOM kill writes no event of its own (it is an ``exit``).

Pure functions: no engine calls, standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_history import (
    REQUESTED_EXIT_WINDOW_NS,
    ContainerFold,
    _ms,
    fatal_signal,
    replay,
)

Record = _history.Record

#: libpod container event actions that become records or tell how a process ended; pass as the ``event`` filter.
PODMAN_EVENT_ACTIONS: tuple[str, ...] = (
    "create",
    "start",
    "kill",
    "stop",
    "died",
    "cleanup",
    "pause",
    "unpause",
    "restart",
    "remove",
)

#: A health check ran (``HealthStatus`` says the status *before* it: Podman 4.3 writes the event first).
HEALTH_ACTION = "health_status"
#: An exec session ended: a health check's own ends right after its ``health_status``.
EXEC_DIED = "exec_died"

#: A process killed by a signal this soon after ``podman kill`` was killed by it (recorded: 18 to 41 ms); a
#: ``died`` later than that after a kill was not the kill's (a handled signal, then a crash).
KILL_DELIVERY_WINDOW_NS = 2 * 10**9
#: A ``remove`` this soon after the ``died`` is the removal that stopped the container (recorded: 132 to 232 ms);
#: a container removed this soon after it crashed is told as stopped by the removal.
REMOVAL_WINDOW_NS = 10**9
#: ``cleanup`` events after a ``died`` that show a requested stop: the stop's own and the exit command's (recorded:
#: 100 to 400 ms after the ``died``, under a millisecond apart); a ``cleanup`` later than ``AFTERMATH_NS`` after the
#: ``died`` (or a ``stop`` event further from it) belongs to something else.
STOP_CLEANUPS = 2
AFTERMATH_NS = 10 * 10**9
#: The restart policy's ``restart`` comes this soon after the ``died`` it answers, with no ``cleanup`` between
#: (recorded: 3 ms); a later one, or one after a cleanup, is a requested restart of the stopped container.
POLICY_RESTART_WINDOW_NS = 2 * 10**9


@dataclass
class Ending:
    """What the events say of one ``died``: the kills before it, and what came after it."""

    died_ns: int
    exit_code: Optional[int]
    kills: list[int] = field(default_factory=list)  # ``kill`` events since the last start (no signal is told)
    stop_ns: Optional[int] = None  # a ``stop`` event since the last start, before or after the ``died``
    cleanups: int = 0
    removed_ns: Optional[int] = None
    restarted_by_engine: bool = False  # a ``restart`` after the ``died``: the restart policy answered it
    restart_ns: Optional[int] = None  # a requested restart in progress (its ``restart`` came before the ``died``)


def classify(ending: Ending) -> tuple[str, str, Optional[int], bool]:
    """(operation, triggered_by, when the request began in ns or None, escalated) of one ``died``.

    A stop (``stop``, ``api``): a requested restart in progress (its stop part, timed from the ``restart`` event),
    a ``stop`` event, the stop's own second ``cleanup``, or a removal right after; it
    escalated when the process died of SIGKILL (its stop timeout ran out); it is timed from a ``kill`` within
    ``REQUESTED_EXIT_WINDOW_NS`` before, if any (libpod writes none for a stop). A kill (``force-stop`` for
    SIGKILL, else ``stop``): a process killed by a signal within ``KILL_DELIVERY_WINDOW_NS`` of ``podman kill``, or
    one that exited by itself within ``REQUESTED_EXIT_WINDOW_NS`` of it. Anything else ended by itself: ``exit``,
    ``engine`` (a crash, a ``kill -9`` from the host, an OOM kill, an exit of its own, however many kills came long
    before).
    """
    fatal = fatal_signal(ending.exit_code)
    if ending.restart_ns is not None:  # the stop part of a requested restart
        return "stop", "api", ending.restart_ns, fatal == "SIGKILL"
    removed = ending.removed_ns is not None and ending.removed_ns - ending.died_ns <= REMOVAL_WINDOW_NS
    stopped = ending.stop_ns is not None and abs(ending.died_ns - ending.stop_ns) <= AFTERMATH_NS
    if stopped or ending.cleanups >= STOP_CLEANUPS or removed:
        asked = [kill_ns for kill_ns in ending.kills if ending.died_ns - kill_ns <= REQUESTED_EXIT_WINDOW_NS]
        return "stop", "api", asked[0] if asked else None, fatal == "SIGKILL"
    window = KILL_DELIVERY_WINDOW_NS if fatal is not None else REQUESTED_EXIT_WINDOW_NS
    recent = [kill_ns for kill_ns in ending.kills if 0 <= ending.died_ns - kill_ns <= window]
    if recent:
        return ("force-stop" if fatal == "SIGKILL" else "stop"), "api", recent[-1], False
    return "exit", "engine", None, False


class _Container(ContainerFold):
    """Podman's fold state for one container."""

    def __init__(self, container_id: str) -> None:
        super().__init__(container_id)
        self.kills: list[int] = []
        self.stop_ns: Optional[int] = None
        self.restart_ns: Optional[int] = None  # a requested restart in progress
        self.ending: Optional[tuple[Record, Ending]] = None  # the last died and what has been seen since

    def settle_ending(self) -> None:
        """Write what the last ``died`` now says into its record."""
        if self.ending is None:
            return
        record, ending = self.ending
        operation, triggered_by, opening_ns, escalated = classify(ending)
        record["metadata"]["operation"] = operation
        record["metadata"]["escalated"] = escalated
        record["triggered_by"] = triggered_by
        record["duration_ms"] = _ms(ending.died_ns - opening_ns) if opening_ns is not None else None

    def on_died(self, time_ns: int, attrs: dict[str, Any]) -> None:
        exit_code = _history._to_int(attrs.get("containerExitCode"))
        ending = Ending(time_ns, exit_code, list(self.kills), self.stop_ns, restart_ns=self.restart_ns)
        events = (["restart"] if self.restart_ns is not None else []) + ["kill"] * len(self.kills)
        events += (["stop"] if self.stop_ns is not None else []) + ["died"]
        record = self.add(
            time_ns, self.status or "running", "stopped", "exit", events=events, exit_code=ending.exit_code
        )
        self.ending = (record, ending)
        self.settle_ending()

    def after_died(self, action: str, time_ns: int) -> bool:
        """Add an event that tells how the last process ended; whether that was all it is (a ``remove`` makes its own
        record too; an event past the last end's aftermath, or with no end pending, is not about it)."""
        if self.ending is None or self.restart_ns is not None:
            return False
        record, ending = self.ending
        since_died = time_ns - ending.died_ns
        if action == "cleanup" and since_died <= AFTERMATH_NS:
            ending.cleanups += 1
        elif action == "stop" and since_died <= AFTERMATH_NS:
            ending.stop_ns = time_ns
        elif action == "restart" and ending.cleanups == 0 and since_died <= POLICY_RESTART_WINDOW_NS:
            ending.restarted_by_engine = True
        elif action == "remove" and since_died <= REMOVAL_WINDOW_NS:
            ending.removed_ns = time_ns
        else:
            return False
        record["metadata"]["events"].append(action)
        self.settle_ending()
        return action != "remove"

    def on_start(self, time_ns: int) -> None:
        if self.restart_ns is not None:
            self.on_restarted(time_ns)
            return
        triggered_by, details = "api", {}
        if self.ending is not None and self.records[-1] is self.ending[0]:
            record, ending = self.ending
            # Podman's restart policy says so (a ``restart`` right after the ``died``): a start soon after an exit
            # is not the engine's by its timing alone, as it is on Docker.
            if record["metadata"]["operation"] == "exit" and ending.restarted_by_engine:
                triggered_by, details = "engine", {"auto_restart": True}
        self.add(time_ns, self.status or "stopped", "running", "start", triggered_by, events=["start"], **details)
        self.forget_run()

    def on_restarted(self, time_ns: int) -> None:
        """A requested restart's start: its stop part (if the container was running) and start in one record."""
        restart_ns = self.restart_ns or time_ns
        if self.ending is not None and self.records[-1] is self.ending[0] and self.ending[1].died_ns >= restart_ns:
            record, ending = self.records.pop(), self.ending[1]
            self.add(
                time_ns, record["from_status"], "running", "restart",
                events=[*record["metadata"]["events"], "start"], duration_ms=_ms(time_ns - restart_ns),
                exit_code=ending.exit_code, escalated=fatal_signal(ending.exit_code) == "SIGKILL",
            )  # fmt: skip
        else:  # the container was not running: the restart only started it
            self.add(time_ns, self.status or "stopped", "running", "restart", events=["restart", "start"],
                     duration_ms=_ms(time_ns - restart_ns))  # fmt: skip
        self.forget_run()

    def forget_run(self) -> None:
        """A new run began: what the last one's events said no longer applies."""
        self.kills, self.stop_ns, self.restart_ns, self.ending = [], None, None, None

    def feed(self, action: str, time_ns: int, attrs: dict[str, Any]) -> None:
        """Apply one event."""
        self.attrs.update({k: v for k, v in attrs.items() if k in ("name", "image") and v})
        if action in ("cleanup", "stop", "restart", "remove") and self.after_died(action, time_ns):
            return
        if action == "create":
            self.add(time_ns, None, "stopped", "create", events=["create"])
        elif action == "start":
            self.on_start(time_ns)
        elif action == "kill":
            self.kills.append(time_ns)
        elif action == "stop":
            self.stop_ns = time_ns
        elif action == "restart":
            self.restart_ns = time_ns
        elif action == "died":
            self.on_died(time_ns, attrs)
        elif action == "pause":
            self.add(time_ns, self.status or "running", "paused", "pause", events=["pause"])
        elif action == "unpause":
            self.add(time_ns, self.status or "paused", "running", "resume", events=["unpause"])
        elif action == "remove":
            self.add(time_ns, self.status or "stopped", "absent", "delete", events=["remove"])
            self.forget_run()


def records_from_podman_events(events: list[dict[str, Any]]) -> list[Record]:
    """Build transition records from decoded libpod ``container`` events of one or more containers.

    Events are replayed per container in ``timeNano`` order (exact duplicates dropped); the result is in
    chronological order. Actions outside :data:`PODMAN_EVENT_ACTIONS` (init, sync, exec, health_status, ...) are
    ignored.
    """
    return replay(events, PODMAN_EVENT_ACTIONS, _Container)


def held(records: list[Record], last_action: str) -> int:
    """How many of a container's trailing ``records`` (not emitted yet) its next events may still change: a requested
    restart's stop part until its start folds it, and a process's end told as an ``exit`` while the stop's second
    ``cleanup`` or a removal may still come (a crash is told from a stop only by what follows it)."""
    if not records or records[-1]["to_status"] != "stopped" or "died" not in records[-1]["metadata"]["events"]:
        return 0
    last = records[-1]["metadata"]
    restarting = last["events"][0] == "restart"
    return int(restarting or (last["operation"] == "exit" and last_action in ("died", "cleanup")))
