# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Following an engine's container events: the interface an engine implements to be followed (``EventFeed``, the
class a backend names as its ``events``), and what every engine's events share: the event emitted, the filters
applied to it, the windows.

The event source (``extensions/eda``) runs a feed's blocking calls in a thread: ``open()`` connects (again after
the engine was lost), ``read()`` returns the next transitions, ``wait()`` passes time while the engine is away,
``position()`` is what the source keeps in its cursor file, ``close()`` ends it. A feed raises one of its ``lost``
errors when the engine goes away; its state (what it has emitted, what it holds back) survives the next
``open()``. A stream engine (Docker) subscribes in ``start()`` and reads in ``read()``; a polling engine (Hoody,
Dockhand) polls in ``poll()``, every ``poll_interval`` while transitions come and less often while none do.
"""

from __future__ import annotations

import abc
import contextlib
import http.client
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, NamedTuple, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history, _position
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState, matching
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import ContainerOpsError
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import FAILED, RUNNING, STOPPED
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import StatusLogRecord

try:
    import requests
    import urllib3

    _LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
        requests.exceptions.RequestException,
        urllib3.exceptions.HTTPError,
    )
except ImportError:  # pragma: no cover - the backends say what to install
    _LIBRARY_ERRORS = ()

#: The log every feed and the event source write to.
logger = logging.getLogger("containerops.lifecycle.container_events")

#: Seconds a stop or start waits for the rest of the engine's report (a ``restart`` folds both).
SETTLE = 2.0
#: A stream silent this long is checked with a ping (capped by the ``timeout`` option).
HEARTBEAT_S = 30.0
#: Polling: how far behind the newest record a poll reads again, for records written late; seen ones are dropped.
LATE_S = 5.0
LATE_NS = int(LATE_S * 10**9)
#: Polling: idle polls back off up to this many times ``poll_interval`` (and at most ``IDLE_MAX_S``).
IDLE_FACTOR = 8
IDLE_MAX_S = 60.0

#: Reconciling after an engine restart: the exit codes of the signals an engine stops its containers with, SIGTERM
#: (143) and SIGKILL (137).
ENGINE_STOP_EXIT_CODES = (143, 137)
#: Reconciling after an engine restart: a requested stop whose first signal came at most this long before the source
#: noticed the engine was gone is taken for the engine's own shutdown (a daemon stopping, as Docker's does, signals
#: every running container, reports kill, die and stop for each, then ends its event stream; Docker's default
#: shutdown timeout is 15 s).
SHUTDOWN_WINDOW_NS = 15 * 10**9

Record = StatusLogRecord
Event = dict[str, Any]
Position = dict[str, Any]


class Transition(NamedTuple):
    """A transition record (``_history`` shape) and the container's name and labels as the feed knows them."""

    record: Record
    name: Optional[str]
    labels: dict[str, str]


@dataclass(frozen=True)
class Timing:
    """How often a feed asks, how long it holds a record back, how long a stream may stay silent; the clocks."""

    poll_interval: float = 2.0
    settle: float = SETTLE
    heartbeat: float = HEARTBEAT_S
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time

    @property
    def longest_idle(self) -> float:
        """The longest wait between two polls while nothing happens."""
        return min(self.poll_interval * IDLE_FACTOR, max(self.poll_interval, IDLE_MAX_S))


def event_of(transition: Transition, engine: str, connection: dict[str, Any]) -> Event:
    """The event the source emits for one transition: the same shape on every engine."""
    record = transition.record
    metadata = record.get("metadata") or {}
    exit_code = metadata.get("exit_code")
    return {
        "containerops": {
            "engine": engine,
            "id": record.get("container_id"),
            "name": transition.name or metadata.get("name") or record.get("container_id"),
            "from_status": record.get("from_status"),
            "to_status": record.get("to_status"),
            "operation": _history.operation_of(record),
            "transition_time": record.get("transition_time"),
            "duration_ms": record.get("duration_ms"),
            "exit_code": exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None,
            "health": metadata.get("health"),
            "triggered_by": record.get("triggered_by"),
            "record_id": record.get("id"),
            "labels": dict(transition.labels),
            "connection": dict(connection),
        }
    }


class LastKnown(NamedTuple):
    """What the source last knew of a container: its status since when (engine time, ns), and for a requested stop
    when its first signal came."""

    status: str
    since_ns: int
    stop_requested_ns: Optional[int] = None


class Found(NamedTuple):
    """A container as a listing finds it once the source is back: its status, and for one that is down how it ended
    (exit code, the OOM killer) and when (ns; None when the engine does not say)."""

    status: str
    exit_code: Optional[int] = None
    oom_killed: bool = False
    finished_ns: Optional[int] = None


def last_known(record: Record) -> Optional[LastKnown]:
    """What a transition leaves the source knowing of its container; None once it is deleted."""
    status = record.get("to_status")
    if not isinstance(status, str) or status in ("absent", "deleted"):
        return None
    when = record_ns(record)
    requested = None
    if _history.operation_of(record) in ("stop", "force-stop"):
        duration = record.get("duration_ms")
        requested = when - int(duration) * 10**6 if isinstance(duration, int) else when
    return LastKnown(status, when, requested)


def missed_operation(known: Optional[LastKnown], found: Found, lost_ns: Optional[int], back_ns: int) -> Optional[str]:
    """The rule for a container after the engine restarted while the source was away (its event history is gone):
    the operation of the transition the source missed, or None when it missed none.

    ``known`` is what the source last knew of it, ``found`` what the engine says now, ``lost_ns`` when the source
    noticed the engine was gone (None: it cannot tell), ``back_ns`` the engine's time when the source was back
    (what ended later comes in the events from then on).

    A container it knew running and finds down, ended before ``back_ns``: ``oom`` when the engine says the OOM
    killer ended it; ``engine-stop`` when its exit code is a SIGTERM's or SIGKILL's (``ENGINE_STOP_EXIT_CODES``:
    the engine stopped it as it shut down, or, coming back without live-restore, stopped what it found running);
    else ``exit`` (it crashed or ended by itself meanwhile). A container whose last event was a requested stop
    that began within ``SHUTDOWN_WINDOW_NS`` before ``lost_ns`` and that is still down: ``engine-stop`` (the
    engine's shutdown, which reports its stops as a user's). Any other container (one a user stopped earlier, one
    running again, one the source never knew): None.
    """
    if known is None or found.status not in (STOPPED, FAILED) or found.finished_ns is None:
        return None
    if found.finished_ns > back_ns:
        return None
    if known.status == RUNNING and found.finished_ns >= known.since_ns:
        if found.oom_killed:
            return "oom"
        return "engine-stop" if found.exit_code in ENGINE_STOP_EXIT_CODES else "exit"
    requested = known.stop_requested_ns
    if (
        known.status == STOPPED
        and requested is not None
        and lost_ns is not None
        and requested >= lost_ns - SHUTDOWN_WINDOW_NS
        and found.finished_ns >= requested
    ):
        return "engine-stop"
    return None


def missed_record(container_id: str, name: Optional[str], operation: str, found: Found) -> Record:
    """The transition record of what ``missed_operation`` found: running to ``found.status`` when the container
    ended, by the engine, marked ``reconciled``."""
    ended = found.finished_ns or 0
    return {
        "id": f"{container_id[:12]}-{ended}-reconciled",
        "container_id": container_id,
        "from_status": RUNNING,
        "to_status": found.status,
        "transition_time": iso(ended),
        "duration_ms": None,
        "triggered_by": "engine",
        "metadata": {"operation": operation, "exit_code": found.exit_code, "name": name, "reconciled": True,
                     "events": []},
    }  # fmt: skip


def passes(filters: dict[str, Any], name: Optional[str], status: Optional[str], labels: dict[str, str]) -> bool:
    """Whether a container of this name, status and labels passes ``filters`` (``name`` glob, ``status``,
    ``label``), by the listing's own rules (``_backend.matching``)."""
    state = ContainerState(None, name or "", status or "", None)
    return bool(matching([state], filters, lambda _state: labels))


def wanted(event: Event, filters: dict[str, Any]) -> bool:
    """Whether an event passes the filters no engine applies to its history: ``name`` (glob) and ``status``
    (``to_status``)."""
    fields = event["containerops"]
    selected = {"name": filters.get("name"), "status": filters.get("status")}
    return passes(selected, fields.get("name"), fields.get("to_status"), {})


def record_ns(record: Mapping[str, Any]) -> int:
    """A record's transition time in nanoseconds since the epoch (microsecond precision); 0 when unreadable."""
    try:
        moment = _history.parse_iso(str(record.get("transition_time")))
    except (ValueError, IndexError):
        return 0
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


def iso(ns: int) -> str:
    """Epoch nanoseconds as an ISO 8601 UTC time (microseconds, truncated): a record's time, a log message's."""
    return _history.format_time(
        datetime.fromtimestamp(ns // 10**9, timezone.utc) + timedelta(microseconds=ns % 10**9 // 1000)
    )


class EventFeed(abc.ABC):
    """One engine's container events, read forward from where the source left off (blocking calls).

    ``connect()`` gives a connected backend; ``stored`` is the position the cursor file kept, if any (of the kind
    ``well_formed`` accepts); ``resumed_ns`` says, once the feed took it, since when it reads the engine's history.
    """

    #: Whether a position read from a cursor file is of the kind this feed keeps.
    well_formed: Callable[[Any], bool] = staticmethod(_position.well_formed)
    #: What a broken conversation with the engine raises, whichever layer notices.
    lost: tuple[type[BaseException], ...] = (
        ContainerOpsError,
        OSError,
        http.client.HTTPException,
        ValueError,
        *_LIBRARY_ERRORS,
    )

    def __init__(
        self,
        connect: Callable[[], Any],
        filters: dict[str, Any],
        stored: Optional[Position] = None,
        timing: Timing = Timing(),
    ) -> None:
        self.connect = connect
        self.filters = filters
        self.stored = stored
        self.timing = timing
        self.resumed_ns: Optional[int] = None
        self.backend: Any = None
        self._closed = threading.Event()

    def open(self) -> str:
        """Connect (again, dropping the previous connection) and start reading; what the feed does, for the log."""
        self.release()
        self.backend = self.connect()
        return self.start()

    @abc.abstractmethod
    def start(self) -> str:
        """Start reading from ``self.backend``, just connected; what the feed does (``following ...``)."""

    @abc.abstractmethod
    def read(self) -> list[Transition]:
        """The next transitions, oldest first; blocks a few seconds at most, and may return none."""

    @abc.abstractmethod
    def position(self) -> Position:
        """Where the feed is, for the cursor file (of the kind ``well_formed`` accepts)."""

    def wait(self, seconds: float) -> list[Transition]:
        """Let up to ``seconds`` pass (the engine may be away): the transitions that fall due meanwhile."""
        self.sleep(seconds)
        return []

    def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds``; False, at once, when the feed is closed."""
        return not self._closed.wait(max(seconds, 0.0))

    def release(self) -> None:
        """Drop the connection; closing must never stop the source."""
        backend, self.backend = self.backend, None
        if backend is not None:
            with contextlib.suppress(Exception):
                backend.close()

    def close(self) -> None:
        """End the feed: a blocked call returns soon."""
        self._closed.set()
        self.release()


class PollingFeed(EventFeed):
    """A feed that asks the engine what is new: every ``poll_interval`` while transitions come, up to
    ``Timing.longest_idle`` while none do."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interval = self.timing.poll_interval
        self.next_poll: Optional[float] = None

    @abc.abstractmethod
    def poll(self) -> tuple[list[Transition], bool]:
        """One round: the transitions to emit, and whether anything new came."""

    def start(self) -> str:
        self.next_poll = None  # connected again: poll at once
        return "polling"

    def read(self) -> list[Transition]:
        now = self.timing.clock()
        if self.next_poll is not None and now < self.next_poll:
            return self.wait(self.next_poll - now)
        transitions, found = self.poll()
        self.interval = self.timing.poll_interval if found else min(self.interval * 1.5, self.timing.longest_idle)
        self.next_poll = self.timing.clock() + self.interval
        return transitions
