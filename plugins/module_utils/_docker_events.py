# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Following Docker's container events: settled as they stream in, and read from the engine.

- ``DockerFold``: ``_docker_history``'s fold over a stream, each record out once it is complete (a stop waits
  ``SETTLE`` seconds for the restart that may fold it), health checks' verdicts as records of their own.
- ``DockerFeed``: the Docker backend's ``events`` (``_events.EventFeed``), the engine's event stream read in a
  thread; ``DockerShapedFeed``: what it shares with Dockhand's feed, whose activity log holds the same events.
  Back after losing the engine, ``DockerFeed`` asks the engine whether it still holds the last event read: Docker
  keeps its events in memory, so one that restarted has forgotten them. Then it reconciles instead of replaying:
  it lists the containers and emits, by ``_events.missed_operation``, those that went down while it was away.

The feed reaches the engine through the backend's ``api`` (the Docker SDK's low-level client).
"""

from __future__ import annotations

import queue
import re
import threading
from collections import OrderedDict
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history, _position
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_history import (
    DOCKER_EVENT_ACTIONS,
    HEALTH_ACTION,
    health_record,
    records_from_docker_events,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import label_filters
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import EngineLost
from ansible_collections.containerops.lifecycle.plugins.module_utils._events import (
    SETTLE,
    EventFeed,
    Found,
    LastKnown,
    Transition,
    iso,
    last_known,
    logger,
    missed_operation,
    missed_record,
    record_ns,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import RUNNING

try:
    from docker.errors import DockerException

    _SDK_ERRORS: tuple[type[BaseException], ...] = (DockerException,)
except ImportError:  # pragma: no cover - the Docker backend says what to install
    _SDK_ERRORS = ()

Record = _history.Record

#: How far before the source's start the first subscription reads, for the context of a stop in flight (its
#: SIGTERM); transitions before the start are not emitted.
WARM_UP_S = 60
#: How far behind the newest event a reconnect reads again (events seen are dropped by key).
REPLAY_NS = 2 * 10**9
#: Events kept per container for folding.
WINDOW = 64
#: Docker event attributes that are not container labels.
EVENT_ATTRIBUTES = ("name", "image", "exitCode", "signal", "execDuration")


# ---------------------------------------------------------------------------------------------
# a stream of Docker events -> settled records


def labels_of(attributes: dict[str, Any]) -> dict[str, str]:
    """A Docker event's container labels: its attributes less the engine's own."""
    return {key: str(value) for key, value in attributes.items() if key not in EVENT_ATTRIBUTES}


def docker_event_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The Docker ``/events`` filters that select the container events the fold reads, by label on the engine."""
    selected: dict[str, Any] = {
        "type": ["container"],
        "event": [*DOCKER_EVENT_ACTIONS, HEALTH_ACTION],  # matches "health_status: <verdict>"
    }
    labels = label_filters(filters)
    if labels:
        selected["label"] = labels
    return selected


def _event_key(event: dict[str, Any]) -> tuple:
    """What makes a Docker event itself: container, action, time and the attributes that vary."""
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    return (
        actor.get("ID") or event.get("id"),
        event.get("Action") or event.get("status"),
        event.get("timeNano") or event.get("time"),
        attributes.get("signal"),
        attributes.get("exitCode"),
    )


def _event_ns(event: dict[str, Any]) -> Optional[int]:
    if event.get("timeNano") is not None:
        return int(event["timeNano"])
    if event.get("time") is not None:
        return int(event["time"]) * 10**9
    return None


class EventCursor:
    """The newest engine time seen, and the events seen shortly before it: a replay after a reconnect is dropped."""

    def __init__(self, replay_ns: int = REPLAY_NS) -> None:
        self.replay_ns = replay_ns
        self.newest: Optional[int] = None
        self._seen: dict[tuple, int] = {}

    def accept(self, event: dict[str, Any]) -> bool:
        """True the first time an event comes; False for one seen already (or too old to tell)."""
        when = _event_ns(event)
        if when is None:
            return False
        key = _event_key(event)
        if key in self._seen or (self.newest is not None and when < self.newest - self.replay_ns):
            return False
        self._seen[key] = when
        if self.newest is None or when > self.newest:
            self.newest = when
            horizon = when - self.replay_ns
            self._seen = {k: t for k, t in self._seen.items() if t >= horizon}
        return True

    def holds(self, event: dict[str, Any]) -> bool:
        """Whether ``event`` is one seen already (within the replay window before the newest)."""
        return _event_key(event) in self._seen

    def resume_ns(self) -> Optional[int]:
        """Where a new subscription starts: a little before the newest event seen."""
        return None if self.newest is None else self.newest - self.replay_ns


def since(ns: int) -> str:
    """Nanoseconds since the epoch as Docker's ``since`` (``seconds.nanoseconds``)."""
    return f"{ns // 10**9}.{ns % 10**9:09d}"


def _held(records: list[Record], last_action: str) -> int:
    """How many of the trailing ``records`` the engine's next events may still change.

    A start right after which nothing came may become a ``restart`` (the engine reports ``restart`` just
    after the start); a requested stop may gain its ``stop`` event or be folded into a restart. A crash
    (``exit``, ``oom``) is complete when it comes.
    """
    held, index = 0, len(records) - 1
    if index >= 0 and _history.operation_of(records[index]) == "start" and last_action == "start":
        held, index = 1, index - 1
    if index >= 0 and _history.operation_of(records[index]) in ("stop", "force-stop"):
        held += 1
    return held


class DockerFold:
    """Docker container events in, in order and each once; settled transition records out.

    An engine whose events are shaped as Docker's but read otherwise (Podman's) names its own fold of a container's
    events (``records_of``), how many of its trailing records are held (``held_of``) and its removal action.
    """

    records_of = staticmethod(records_from_docker_events)
    held_of = staticmethod(_held)
    removal = "destroy"

    def __init__(self, settle: float = SETTLE, emit_from_ns: int = 0, window: int = WINDOW) -> None:
        self.settle = settle
        self.emit_from_ns = emit_from_ns
        self.window = window
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._emitted: dict[str, OrderedDict[str, None]] = {}
        self._arrival: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._health: dict[str, list[Record]] = {}  # health changes waiting behind a held record
        self.attributes: dict[str, dict[str, Any]] = {}

    def feed(self, event: dict[str, Any], now: float) -> list[Record]:
        """Add one event; the records it settles (oldest first).

        A health check's change is a record of its own, out at once unless a record of the same container is held
        (a start that may become a restart): then it follows that record, so a container's events stay in order.
        """
        actor = event.get("Actor") or {}
        container_id = actor.get("ID") or event.get("id")
        if not container_id or _event_ns(event) is None:
            return []
        health = health_record(event)
        if health is not None:
            self.attributes.setdefault(container_id, {}).update(actor.get("Attributes") or {})
            if self._held.get(container_id):
                self._health.setdefault(container_id, []).append(health)
                return []
            return self._from_start([health])
        events = self._events.setdefault(container_id, [])
        events.append(event)
        del events[: -self.window]
        self._arrival[container_id] = now
        self.attributes.setdefault(container_id, {}).update(actor.get("Attributes") or {})
        return self._settle(container_id, force=False)

    def flush(self, now: float) -> list[Record]:
        """The held records of containers that have been quiet for ``settle`` seconds."""
        records: list[Record] = []
        for container_id, arrived in list(self._arrival.items()):
            if self._held.get(container_id) and now - arrived >= self.settle:
                records.extend(self._settle(container_id, force=True))
        return _history.sort_records(records, "transition_time", "asc")

    def next_deadline(self) -> Optional[float]:
        """When the next held record is due (``now`` clock), or None."""
        due = [self._arrival[cid] + self.settle for cid, held in self._held.items() if held]
        return min(due) if due else None

    def transition(self, record: Record) -> Transition:
        """A settled record with the container's name and labels as its events last said them."""
        attributes = self.attributes.get(record["container_id"], {})
        return Transition(record, attributes.get("name"), labels_of(attributes))

    def _settle(self, container_id: str, force: bool) -> list[Record]:
        events = self._events[container_id]
        records = self.records_of(events)
        emitted = self._emitted.setdefault(container_id, OrderedDict())
        fresh = [record for record in records if record["id"] not in emitted]
        last_action = str(events[-1].get("Action") or events[-1].get("status") or "").split(":", 1)[0]
        held = 0 if force else self.held_of(fresh, last_action)
        ready = fresh[: len(fresh) - held]
        for record in ready:
            emitted[record["id"]] = None
        while len(emitted) > 4 * self.window:
            emitted.popitem(last=False)
        self._held[container_id] = held
        if not held:
            ready = _history.sort_records(ready + self._health.pop(container_id, []), "transition_time", "asc")
        if not held and last_action == self.removal:
            self._forget(container_id)
        return self._from_start(ready)

    def _from_start(self, records: list[Record]) -> list[Record]:
        """The records at or after ``emit_from_ns`` (record times have microseconds: compared at that precision)."""
        return [record for record in records if record_ns(record) >= self.emit_from_ns // 1000 * 1000]

    def _forget(self, container_id: str) -> None:
        for table in (self._events, self._emitted, self._arrival, self._held, self._health, self.attributes):
            table.pop(container_id, None)


def engine_ns(value: Any) -> Optional[int]:
    """Docker's RFC 3339 time with nanoseconds (``2026-12-02T05:40:12.123456789Z``) as epoch nanoseconds."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value.strip())
    if not match:
        return None
    try:
        moment = _history.parse_iso(match.group(1) + (match.group(3) or "Z"))
    except ValueError:
        return None
    nanos = int((match.group(2) or "0").ljust(9, "0")[:9])
    return int(moment.timestamp()) * 10**9 + nanos


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$")


# ---------------------------------------------------------------------------------------------
# following


class DockerShapedFeed(EventFeed):
    """A feed of Docker-shaped events (``self.fold``), which may hold a record back a moment.

    Its position (``_position``) is what it has emitted: resumed, it leaves out what it emitted before.
    """

    lost = (*EventFeed.lost, *_SDK_ERRORS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fold = DockerFold(settle=self.timing.settle)
        self.emitted = _position.empty()

    def position(self) -> dict[str, Any]:
        return self.emitted

    def take_stored(self, from_ns: Optional[int]) -> Optional[int]:
        """Take the stored position, if any: where to read the engine's history from (engine time, ns). Without
        one, the feed emits what happens from ``from_ns`` on, and its position says so."""
        self.emitted = _position.empty(from_ns)
        stored = self.stored
        start = None if stored is None else _position.resume_from_ns(stored)
        if stored is None or start is None:
            return None
        self.emitted = stored
        self.fold.emit_from_ns = 0  # the position decides what is new
        self.resumed_ns = stored["newest_ns"]
        return start

    def settled(self, records: list[Record]) -> list[Transition]:
        """The transitions of records not emitted before; from now on they are."""
        records = _position.unseen(self.emitted, records, record_ns)
        self.emitted = _position.handled(self.emitted, records, record_ns)
        return [self.fold.transition(record) for record in records]

    def wait(self, seconds: float) -> list[Transition]:
        """Wait up to ``seconds``; held records that fall due meanwhile end the wait."""
        clock = self.timing.clock
        until = clock() + seconds
        while True:
            now = clock()
            due = self.settled(self.fold.flush(now))
            if due or now >= until:
                return due
            deadline = self.fold.next_deadline()
            if not self.sleep(max(min(until, deadline if deadline is not None else until) - now, 0.01)):
                return []


_EVENT, _END = "event", "end"


class DockerFeed(DockerShapedFeed):
    """The Docker engine's event stream, read by the SDK in a thread, folded into transitions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started_ns: Optional[int] = None
        self.stored_from_ns: Optional[int] = None
        self.cursor = EventCursor()
        self.engine_filters = docker_event_filters(self.filters)
        self.stream: Any = None
        self.inbox: queue.Queue = queue.Queue()
        self.heard = 0.0
        self.known: dict[str, LastKnown] = {}  # what the source last knew of each container it follows
        self.missed: list[Transition] = []  # reconciled after a restart of the engine, emitted by the next read
        self.lost_at: Optional[float] = None  # when the feed noticed the engine was gone (``timing.clock``)

    def start(self) -> str:
        api = self.backend.api
        now_ns = engine_ns(api.info().get("SystemTime")) or int(self.timing.wall() * 10**9)
        reconnected = self.started_ns is not None
        if self.started_ns is None:
            self.started_ns = now_ns
            self.fold.emit_from_ns = self.started_ns
            self.stored_from_ns = self.take_stored(self.started_ns // 1000 * 1000)  # records have microseconds
            self.known = {cid: found_known for cid, (_name, _found, found_known) in self._listing(now_ns).items()}
        start = self.cursor.resume_ns()
        if reconnected and not self._history_kept(api, now_ns):
            lost_ns = None if self.lost_at is None else now_ns - int((self.timing.clock() - self.lost_at) * 10**9)
            self.missed = self._reconcile(lost_ns, now_ns)
            start = now_ns
        elif start is None:
            start = self.stored_from_ns if self.stored_from_ns is not None else self.started_ns - WARM_UP_S * 10**9
        self.stream = api.events(since=since(start), filters=self.engine_filters, decode=True)
        self.inbox = queue.Queue()
        reader = threading.Thread(target=_pump, args=(self.stream, self.inbox), name="container_events-docker")
        reader.daemon = True
        reader.start()
        self.heard = self.timing.clock()
        return "following the event stream"

    def _history_kept(self, api: Any, now_ns: int) -> bool:
        """Whether the engine still reports the newest event read (one that restarted has lost its events); not when
        none was read (nothing tells)."""
        newest = self.cursor.newest
        if newest is None:
            return False
        replay = api.events(
            since=since(newest), until=since(max(now_ns, newest)), filters=self.engine_filters, decode=True
        )
        try:
            return any(self.cursor.holds(event) for event in replay if isinstance(event, dict))
        finally:
            close = getattr(replay, "close", None)
            if close is not None:
                close()

    def _listing(self, now_ns: int) -> dict[str, tuple[str, Found, LastKnown]]:
        """The containers the filters select, each with its name, how it is found and what that tells."""
        listed = {}
        for state in self.backend.list({key: value for key, value in self.filters.items() if key != "status"}):
            if state.id:
                found = Found(state.status)
                listed[state.id] = (state.name, found, LastKnown(state.status, now_ns))
        return listed

    def _reconcile(self, lost_ns: Optional[int], back_ns: int) -> list[Transition]:
        """The engine restarted while the source was away: the transitions its lost events held, read from a
        listing by ``missed_operation``; what the source knows from now on is that listing. ``lost_ns``: when the
        feed noticed the engine was gone, in the engine's time."""
        held = self.settled(self.fold.flush(float("inf")))  # complete: the engine will say no more of them
        missed: list[Record] = []
        known: dict[str, LastKnown] = {}
        for container_id, (name, found, found_known) in self._listing(back_ns).items():
            known[container_id] = found_known
            if found.status == RUNNING or container_id not in self.known:
                continue
            inspected = self.backend.look_up(container_id)
            if not inspected.id:
                continue
            state = inspected.details.get("State") or {}
            found = Found(inspected.status, state.get("ExitCode"), bool(state.get("OOMKilled")),
                          engine_ns(state.get("FinishedAt")))  # fmt: skip
            operation = missed_operation(self.known[container_id], found, lost_ns, back_ns)
            if operation is not None:
                missed.append(missed_record(container_id, name, operation, found))
                self.fold.attributes.setdefault(container_id, {}).update(
                    {"name": name, **((inspected.details.get("Config") or {}).get("Labels") or {})}
                )
        self.known = known
        if missed:
            logger.warning(
                "containerops.lifecycle.container_events: the engine restarted while the source was away (its "
                "events since %s are gone): %d container(s) went down meanwhile",
                iso(self.cursor.newest or back_ns), len(missed),
            )  # fmt: skip
        return held + self.settled(_history.sort_records(missed, "transition_time", "asc"))

    def settled(self, records: list[Record]) -> list[Transition]:
        transitions = super().settled(records)
        for transition in transitions:
            record = transition.record
            known = last_known(record)
            if known is None:
                self.known.pop(record["container_id"], None)
            else:
                self.known[record["container_id"]] = known
        return transitions

    def read(self) -> list[Transition]:
        if self.missed:
            missed, self.missed = self.missed, []
            return missed
        clock, heartbeat = self.timing.clock, self.timing.heartbeat
        deadline = self.fold.next_deadline()
        wake = min(self.heard + heartbeat, deadline if deadline is not None else float("inf"))
        try:
            kind, item = self.inbox.get(timeout=max(wake - clock(), 0.0))
        except queue.Empty:
            now = clock()
            due = self.settled(self.fold.flush(now))
            if now - self.heard >= heartbeat:
                if not _pings(self.backend.api):
                    self.lost_at = now
                    raise EngineLost(f"no event for {heartbeat:.0f}s and no answer to a ping") from None
                self.heard = now
            return due
        if kind == _END:
            self.lost_at = clock()
            raise EngineLost(item)
        self.heard = clock()
        if not isinstance(item, dict) or not self.cursor.accept(item):
            return []
        return self.settled(self.fold.feed(item, self.heard))

    def release(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception as exc:  # the stream may be broken already
                logger.debug("closing the event stream failed: %s", type(exc).__name__)
            self.inbox.put((_END, "the event stream was closed"))
        super().release()


def _pump(stream: Any, inbox: queue.Queue) -> None:
    """Hand each event of ``stream`` to ``inbox``, then why it ended."""
    try:
        for event in stream:
            inbox.put((_EVENT, event))
        inbox.put((_END, "the engine ended the event stream"))
    except Exception as exc:
        inbox.put((_END, f"the event stream broke ({type(exc).__name__}: {exc})"))


def _pings(api: Any) -> bool:
    try:
        return api.ping() is True
    except Exception:  # any failure to answer is the answer
        return False
