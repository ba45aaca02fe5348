# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event source ``containerops.lifecycle.container_events``: one event per lifecycle transition.

Docker: the engine's event stream, read by the Docker SDK in a thread. Hoody: each container's status logs,
polled. Dockhand: the environment's activity log (the engine's events as Dockhand collected them), polled.
Docker's and Dockhand's events are folded into transitions by the same rules as ``container_status_logs``
(``module_utils/_history.py``), so an event names the operation that caused the transition:

- ``stop``: the engine was asked to stop it (``docker stop``, the modules, Dockhand's stop: a SIGTERM
  through the engine, then die and stop); ``force-stop``: the engine was asked to SIGKILL it (``docker kill``,
  ``force: true``); ``restart``: ``docker restart`` (stop and start folded into one running -> running event).
- ``exit``: the process ended and nobody asked the engine for it (a crash, ``kill -9`` of the process from the
  host, ``exit 0`` of its own); ``exit_code`` says how. ``oom``: the kernel's OOM killer ended it.
- ``start``, ``pause``, ``resume``, ``create``, ``delete`` as the engine reports them.
- ``health``: a health check's verdict changed (``health``: ``healthy`` or ``unhealthy``); Docker's
  ``health_status`` events, Dockhand's ``health_status`` activity rows. Hoody reports no health.

A stop or a start is emitted once the engine's report of it is complete: a ``restart`` may still fold it,
so it waits up to ``SETTLE`` seconds for one. An ``exit`` or ``oom`` is complete when it comes and is emitted
at once, so a rule can act on a crash without delay.

Every event's id and time are its cursor: after a reconnect the stream resumes from the last one seen
(Docker: ``since`` its ``timeNano``; Dockhand: activity rows after its id; Hoody: log records after its
time, by id) and nothing is emitted twice.

With ``cursor_file`` the position survives the source itself (``module_utils/_position.py``): it is written
after every emission, and a source started again reads the engine's history from there (Docker's event buffer
with ``since``, Dockhand's activity log with ``fromDate``, each Hoody container's status logs), emitting what
happened while it was away, once: what it had emitted before is recognised by id and left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import http.client
import json
import logging
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Callable, Optional

DOCUMENTATION = r"""
---
short_description: Lifecycle transitions of Docker, Hoody or Dockhand containers as events.
description:
  - One event per transition, C({"containerops": {engine, id, name, from_status, to_status, operation,
    transition_time, duration_ms, exit_code, health, triggered_by, record_id, labels, connection}}), with the
    collection's canonical statuses and operation names.
  - A health check's change is an event too (Docker, Dockhand): C(operation=health), C(health=healthy) or
    C(health=unhealthy), running to running.
  - Docker follows the engine's event stream; Hoody polls each container's status logs and Dockhand polls
    the environment's activity log, every O(poll_interval) seconds, less often while nothing happens.
  - When the engine goes away it reconnects with exponential backoff and resumes from the last event seen,
    without duplicates.
options:
  backend:
    description: C(docker), C(hoody) or C(dockhand); and every other connection option of the modules
      (C(docker_host), C(tls), C(api_url), C(api_token), ...), with the same environment fallbacks.
    default: docker
  filters:
    description:
      - The modules' target filters; without them, every container of the engine.
      - C(label) (Docker, Dockhand), C(project), C(name) (a glob) select containers; C(status) keeps the
        transitions whose C(to_status) is one of the statuses given.
    type: dict
  poll_interval:
    description: Hoody and Dockhand, seconds between polls while transitions come; up to 8 times as long
      (at most 60 s) while none do.
    type: float
    default: 2.0
  cursor_file:
    description:
      - A file where the source keeps its position in the engine's history (written after every emission,
        atomically; its directory is created). Started again, the source resumes from it and emits what happened
        while it was away, once (Docker as far back as the engine's event buffer reaches).
      - Without it the source starts from the present. A file kept for another engine, or unreadable, is warned
        about and the source starts from the present (and keeps its position there from then on).
    type: path
"""

EXAMPLES = r"""
- name: Crashed containers
  hosts: all
  sources:
    - containerops.lifecycle.container_events:
        filters:
          label: [containerops.autoheal=true]
  rules:
    - name: A container crashed
      condition: event.containerops.operation in ["exit", "oom"]
      action:
        print_event:
"""


def _put_collection_on_path() -> None:
    """ansible-rulebook runs this file with ``runpy`` from an installed collection, outside any package:
    put that collection tree first on ``sys.path`` so ``module_utils`` come from the same copy as this file."""
    tree = os.path.abspath(__file__)
    for _ in range(7):  # event_source, plugins, eda, extensions, lifecycle, containerops, ansible_collections
        tree = os.path.dirname(tree)
    if os.path.basename(tree) == "ansible_collections":
        root = os.path.dirname(tree)
        if root not in sys.path:
            sys.path.insert(0, root)


_put_collection_on_path()

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402

from ansible_collections.containerops.lifecycle.plugins.module_utils import (  # noqa: E402
    _dockhand,
    _history,
    _module,
    _position,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import (  # noqa: E402
    Connection,
    check_bounds,
    mask,
    secrets_in,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (  # noqa: E402
    BadInput,
    ContainerNotFound,
    ContainerOpsError,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (  # noqa: E402
    FAILED,
    STOPPED,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import backoff_delay  # noqa: E402
from ansible_collections.containerops.lifecycle.plugins.module_utils._text import safe_text  # noqa: E402
from ansible_collections.containerops.lifecycle.plugins.module_utils._unreachable import why_unreachable  # noqa: E402

try:
    import requests
    import urllib3
    from docker.errors import DockerException
except ImportError:  # pragma: no cover - missing_library() names what to install
    requests = urllib3 = None  # type: ignore[assignment]
    DockerException = OSError  # type: ignore[assignment,misc]

logger = logging.getLogger("containerops.lifecycle.container_events")

#: Seconds a stop or start waits for the rest of the engine's report (a ``restart`` folds both).
SETTLE = 2.0
#: Docker: how far before the source's start the first subscription reads, for the context of a stop in
#: flight (its SIGTERM); transitions before the start are not emitted.
WARM_UP_S = 60
#: Docker: how far behind the newest event a reconnect reads again (events seen are dropped by key).
REPLAY_NS = 2 * 10**9
#: Docker: events kept per container for folding.
WINDOW = 64
#: Docker: a stream silent this long is checked with a ping (capped by ``timeout``).
HEARTBEAT_S = 30.0
#: First and longest wait before reconnecting.
RECONNECT_BASE_S = 0.5
RECONNECT_MAX_S = 30.0
#: REST: how far behind the cursor a poll reads again, for records written late; seen ones are dropped by id.
LATE_S = 5.0
#: REST: idle polls back off up to this many times ``poll_interval`` (and at most 60 s).
IDLE_FACTOR = 8
LATE_NS = int(LATE_S * 10**9)

SOURCE_SPEC: dict[str, dict[str, Any]] = dict(
    _module.CONNECTION_SPEC,
    filters={"type": "dict"},
    poll_interval={"type": "float", "default": 2.0},
    cursor_file={"type": "path"},
)
# Arguments ansible-rulebook itself adds to every source's.
RULEBOOK_ARGS = ("eda_feedback_queue",)
# Docker event attributes that are not container labels.
EVENT_ATTRIBUTES = ("name", "image", "exitCode", "signal", "execDuration")
# Operations that end a container's processes without anyone asking the engine for it.
UNASKED = ("exit", "oom")

Record = dict[str, Any]
Event = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# options


class Options:
    """The source's arguments, checked: its ``link`` to the engine (``_connection.Connection``: its secrets, its
    public view, how messages name it), ``filters``, ``poll_interval``, ``cursor_file``; ``params`` as given."""

    def __init__(self, link: Connection, params: dict[str, Any], filters: dict[str, Any]) -> None:
        self.link = link
        self.params = params
        self.filters = filters
        self.secrets = link.secrets
        self.backend = link.backend
        self.poll_interval: float = params["poll_interval"]
        self.cursor_file: Optional[str] = params.get("cursor_file") or None

    def secret_found(self, value: str) -> None:
        """``connect`` reports each secret it reads from the environment here."""
        if value:
            self.secrets.add(value)

    def mask(self, text: Any) -> str:
        """``text`` with every known secret replaced."""
        return self.link.mask(text)

    def connection(self) -> dict[str, Any]:
        """The connection without secrets (``Connection.public``): what a playbook needs to reach the engine."""
        return self.link.public()

    def engine_key(self) -> str:
        """Which engine this is, as a cursor file records it: its address, not its timeouts."""
        return json.dumps(self.link.identity(), sort_keys=True)

    def where(self) -> str:
        """The engine, for log messages."""
        return self.link.where()


def parse_options(args: dict[str, Any]) -> Options:
    """Check the source's arguments as the modules check theirs; ``BadInput`` names what is wrong."""
    given = {key: value for key, value in (args or {}).items() if key not in RULEBOOK_ARGS}
    result = ArgumentSpecValidator(SOURCE_SPEC).validate(given)
    if result.error_messages:  # the secrets given are masked: the messages may echo the arguments
        secrets = secrets_in(given, SOURCE_SPEC)
        raise BadInput(mask("container_events: " + "; ".join(result.error_messages), secrets))
    params = result.validated_parameters
    try:
        link = _module.connection_of(params, given)
        link.check()
        check_bounds(params, {"poll_interval": _module.BOUNDS["poll_interval"]})
        filters = params["filters"]
        if filters is not None:
            filters = _module.validated_filters(filters, link.backend_class)
    except BadInput as exc:
        raise BadInput(f"container_events: {exc}") from None
    missing = _module.missing_library(link.backend)
    if missing:
        raise BadInput(f"container_events: backend {link.backend} needs the Python library {missing[0]}: "
                       f"{missing[1]}")  # fmt: skip
    return Options(link, params, filters or {})


# ---------------------------------------------------------------------------------------------
# records -> events


def _labels_match(labels: dict[str, Any], wanted: list[str]) -> bool:
    """Every ``key`` or ``key=value`` of ``wanted`` holds in ``labels``."""
    for entry in wanted:
        key, sep, value = entry.partition("=")
        if key not in labels or (sep and str(labels[key]) != value):
            return False
    return True


def label_filters(filters: dict[str, Any]) -> list[str]:
    """The label conditions of ``filters``: ``label`` plus the Compose project label for ``project``."""
    labels = list(filters.get("label") or [])
    if filters.get("project"):
        labels.append(f"com.docker.compose.project={filters['project']}")
    return labels


def docker_event_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The Docker ``/events`` filters that select the container events the fold reads, by label on the engine."""
    selected: dict[str, Any] = {
        "type": ["container"],
        "event": [*_history.DOCKER_EVENT_ACTIONS, _history.HEALTH_ACTION],  # matches "health_status: <verdict>"
    }
    labels = label_filters(filters)
    if labels:
        selected["label"] = labels
    return selected


def labels_of(attributes: dict[str, Any]) -> dict[str, str]:
    """A Docker event's container labels: its attributes less the engine's own."""
    return {key: str(value) for key, value in attributes.items() if key not in EVENT_ATTRIBUTES}


def wanted(event: Event, filters: dict[str, Any]) -> bool:
    """Whether an event passes the filters the engine could not apply: ``name`` (glob) and ``status`` (to_status)."""
    fields = event["containerops"]
    if filters.get("name") and not fnmatch.fnmatchcase(fields.get("name") or "", filters["name"]):
        return False
    return not (filters.get("status") and fields.get("to_status") not in filters["status"])


def event_of(
    record: Record,
    engine: str,
    name: Optional[str] = None,
    labels: Optional[dict[str, str]] = None,
    connection: Optional[dict[str, Any]] = None,
) -> Event:
    """The event for one transition record (``_history`` shape)."""
    metadata = record.get("metadata") or {}
    exit_code = metadata.get("exit_code")
    return {
        "containerops": {
            "engine": engine,
            "id": record.get("container_id"),
            "name": name or metadata.get("name") or record.get("container_id"),
            "from_status": record.get("from_status"),
            "to_status": record.get("to_status"),
            "operation": _history.operation_of(record),
            "transition_time": record.get("transition_time"),
            "duration_ms": record.get("duration_ms"),
            "exit_code": exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None,
            "health": metadata.get("health"),
            "triggered_by": record.get("triggered_by"),
            "record_id": record.get("id"),
            "labels": dict(labels or {}),
            "connection": dict(connection or {}),
        }
    }


def _iso(ns: int) -> str:
    """Epoch nanoseconds as an ISO 8601 UTC time, for log messages."""
    return _history.format_time(datetime.fromtimestamp(ns / 1e9, timezone.utc))


def _record_ns(record: Record) -> int:
    """A record's transition time in nanoseconds since the epoch (microsecond precision); 0 when unreadable."""
    try:
        moment = _history.parse_iso(str(record.get("transition_time")))
    except (ValueError, IndexError):
        return 0
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


# ---------------------------------------------------------------------------------------------
# Docker events -> settled records


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

    def resume_ns(self) -> Optional[int]:
        """Where a new subscription starts: a little before the newest event seen."""
        return None if self.newest is None else self.newest - self.replay_ns


def _since(ns: int) -> str:
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
    """Docker container events in, in order and each once; settled transition records out."""

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
        health = _history.health_record(event)
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

    def _settle(self, container_id: str, force: bool) -> list[Record]:
        events = self._events[container_id]
        records = _history.records_from_docker_events(events)
        emitted = self._emitted.setdefault(container_id, OrderedDict())
        fresh = [record for record in records if record["id"] not in emitted]
        last_action = str(events[-1].get("Action") or events[-1].get("status") or "").split(":", 1)[0]
        held = 0 if force else _held(fresh, last_action)
        ready = fresh[: len(fresh) - held]
        for record in ready:
            emitted[record["id"]] = None
        while len(emitted) > 4 * self.window:
            emitted.popitem(last=False)
        self._held[container_id] = held
        if not held:
            ready = _history.sort_records(ready + self._health.pop(container_id, []), "transition_time", "asc")
        if not held and last_action == "destroy":
            self._forget(container_id)
        return self._from_start(ready)

    def _from_start(self, records: list[Record]) -> list[Record]:
        """The records at or after ``emit_from_ns`` (record times have microseconds: compared at that precision)."""
        return [record for record in records if _record_ns(record) >= self.emit_from_ns // 1000 * 1000]

    def _forget(self, container_id: str) -> None:
        for table in (self._events, self._emitted, self._arrival, self._held, self._health, self.attributes):
            table.pop(container_id, None)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# the source


def folded_events(records: list[Record], fold: DockerFold, engine: str, connection: dict[str, Any]) -> list[Event]:
    """The events of records folded from Docker-shaped events, named and labelled as the fold last saw them."""
    events = []
    for record in records:
        attributes = fold.attributes.get(record["container_id"], {})
        events.append(event_of(record, engine, attributes.get("name"), labels_of(attributes), connection))
    return events


def said(exc: BaseException) -> str:
    """Why following the engine stopped: our own message for a translated error, else why the engine could not
    be reached (``why_unreachable``), never a library's raw text."""
    return str(exc) if isinstance(exc, ContainerOpsError) else why_unreachable(exc)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What a broken conversation with an engine raises, whichever layer notices."""
    errors: list[type[BaseException]] = [ContainerOpsError, OSError, http.client.HTTPException, ValueError]
    if requests is not None:
        errors += [requests.exceptions.RequestException, urllib3.exceptions.HTTPError, DockerException]
    return tuple(errors)


class Follower:
    """What every backend's follower shares: the queue, filters, reconnect backoff, log messages."""

    def __init__(
        self,
        options: Options,
        queue: Any,
        connect: Callable[..., Any] = _module.connect,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        reconnect_base: float = RECONNECT_BASE_S,
    ) -> None:
        self.options = options
        self.queue = queue
        self._connect_backend = connect
        self.clock = clock
        self.wall = wall
        self.reconnect_base = reconnect_base
        self.failures = 0
        self.announced = False
        self.connection = options.connection()
        self._cursor_problem = ""

    def connect(self) -> Any:
        """A connected backend (blocking: call it in a thread)."""
        return self._connect_backend(self.options.params, self.options.secret_found)

    async def emit(self, events: list[Event]) -> None:
        for event in events:
            if wanted(event, self.options.filters):
                await self.queue.put(event)

    def lost(self, reason: Any) -> float:
        """Log why the engine was lost and return how long to wait before trying again."""
        self.failures += 1
        delay = min(backoff_delay(self.failures, self.reconnect_base), RECONNECT_MAX_S)
        logger.warning(
            "containerops.lifecycle.container_events: %s: %s; trying again in %.1fs (attempt %d)",
            safe_text(self.options.where()), safe_text(self.options.mask(reason)), delay, self.failures,
        )  # fmt: skip
        return delay

    def connected(self, what: str) -> None:
        """Log the first connection and every recovery, once each."""
        if self.failures:
            logger.warning(
                "containerops.lifecycle.container_events: %s again, %s", what, safe_text(self.options.where())
            )
        elif not self.announced:
            logger.info("containerops.lifecycle.container_events: %s, %s", what, safe_text(self.options.where()))
        self.announced = True
        self.failures = 0

    def stored_position(self, well_formed: Callable[[Any], bool]) -> Optional[dict[str, Any]]:
        """The position ``cursor_file`` keeps for this engine; None without one (a file that cannot be used is
        warned about: the source starts from the present and writes its own position there)."""
        path = self.options.cursor_file
        if not path or not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                position, why = _position.decode(handle.read(), self.options.engine_key(), well_formed)
        except (OSError, UnicodeDecodeError) as exc:
            position, why = None, f"it cannot be read ({exc.strerror or exc})"
        if position is None:
            logger.warning(
                "containerops.lifecycle.container_events: cursor_file %s cannot be used: %s; starting from the "
                "present", safe_text(path), safe_text(self.options.mask(why)),
            )  # fmt: skip
        return position

    def keep_position(self, position: dict[str, Any]) -> None:
        """Write ``position`` to ``cursor_file`` (atomically); a failure is warned about once, never fatal."""
        path = self.options.cursor_file
        if not path:
            return
        temporary = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.write(_position.encode(self.options.engine_key(), position))
            os.replace(temporary, path)
            self._cursor_problem = ""
        except OSError as exc:
            problem = f"cursor_file {path} cannot be written ({exc.strerror or exc})"
            if problem != self._cursor_problem:
                logger.warning("containerops.lifecycle.container_events: %s; a restarted source would not resume "
                               "from here", safe_text(problem))  # fmt: skip
            self._cursor_problem = problem

    @staticmethod
    def close(backend: Any) -> None:
        if backend is None:
            return
        try:
            backend.close()
        except Exception as exc:  # closing must never stop the source
            logger.debug("closing the backend failed: %s", safe_text(said(exc)))


_EVENT, _END = "event", "end"


class HoldsRecords:
    """For followers that fold Docker-shaped events (``self.fold``), which may hold a record back a moment.

    ``position`` (``_position``) is what they have emitted: a resumed follower leaves out what it holds.
    """

    fold: DockerFold
    #: The ``engine`` of the events emitted.
    engine_name = ""
    position: dict[str, Any]

    def resume(self, from_ns: Optional[int]) -> Optional[int]:
        """Take the stored position, if any: where to read the engine's history from (engine time, ns). Without
        one, the source emits what happens from ``from_ns`` on, and its position says so."""
        self.position = _position.empty(from_ns)
        stored = self.stored_position(_position.well_formed)
        since = None if stored is None else _position.resume_from_ns(stored)
        if since is None:
            return None
        self.position = stored
        self.fold.emit_from_ns = 0  # the position decides what is new
        logger.info("containerops.lifecycle.container_events: resuming from %s: what happened since %s",
                    safe_text(self.options.cursor_file), _iso(stored["newest_ns"]))  # fmt: skip
        return since

    async def _emit_records(self, records: list[Record]) -> None:
        records = _position.unseen(self.position, records, _record_ns)
        if not records:
            return
        await self.emit(folded_events(records, self.fold, self.engine_name, self.connection))
        self.position = _position.handled(self.position, records, _record_ns)
        self.keep_position(self.position)

    async def wait_releasing(self, seconds: float) -> None:
        """Wait ``seconds``, letting held records out as they fall due."""
        until = self.clock() + seconds
        while True:
            now = self.clock()
            await self._emit_records(self.fold.flush(now))
            if now >= until:
                return
            deadline = self.fold.next_deadline()
            await asyncio.sleep(max(min(until, deadline if deadline is not None else until) - now, 0.01))


class DockerFollower(HoldsRecords, Follower):
    """The Docker engine's event stream, read by the SDK in a thread, folded into transitions."""

    engine_name = "docker"

    def __init__(
        self, options: Options, queue: Any, heartbeat: float = HEARTBEAT_S, settle: float = SETTLE, **kwargs: Any
    ) -> None:
        super().__init__(options, queue, **kwargs)
        self.heartbeat = min(heartbeat, max(float(options.params["timeout"]), 1.0))
        self.started_ns: Optional[int] = None
        self.resumed_ns: Optional[int] = None
        self.fold = DockerFold(settle=settle)
        self.position = _position.empty()
        self.cursor = EventCursor()
        self.engine_filters = docker_event_filters(options.filters)

    async def run(self) -> None:
        while True:
            reason = await self._follow()
            await self._pause(self.lost(reason))

    async def _pause(self, delay: float) -> None:
        """Wait before reconnecting; held records still come out when due."""
        await self.wait_releasing(delay)

    async def _follow(self) -> str:
        """Subscribe and read until the stream breaks; why it ended."""
        backend = stream = None
        try:
            backend = await asyncio.to_thread(self.connect)
            if self.started_ns is None:
                self.started_ns = await asyncio.to_thread(self._engine_now, backend.api)
                self.fold.emit_from_ns = self.started_ns
                self.resumed_ns = self.resume(self.started_ns // 1000 * 1000)  # records have microseconds
            since = self.cursor.resume_ns()
            if since is None:
                since = self.resumed_ns if self.resumed_ns is not None else self.started_ns - WARM_UP_S * 10**9
            stream = await asyncio.to_thread(
                backend.api.events, since=_since(since), filters=self.engine_filters, decode=True
            )
            self.connected("following the event stream")
            return await self._pump(backend.api, stream)
        except BadInput:
            raise
        except _transport_errors() as exc:
            return said(exc)
        finally:
            if stream is not None:
                try:
                    stream.close()
                except Exception as exc:  # the stream may be broken already
                    logger.debug("closing the event stream failed: %s", safe_text(said(exc)))
            self.close(backend)

    def _engine_now(self, api: Any) -> int:
        """The engine's clock (``SystemTime``), which its events' times follow; else ours."""
        return _engine_ns(api.info().get("SystemTime")) or int(self.wall() * 10**9)

    async def _pump(self, api: Any, stream: Any) -> str:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue = asyncio.Queue()

        def hand_over(kind: str, item: Any) -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop: the source has ended
                loop.call_soon_threadsafe(inbox.put_nowait, (kind, item))

        def read() -> None:
            try:
                for event in stream:
                    hand_over(_EVENT, event)
                hand_over(_END, "the engine ended the event stream")
            except Exception as exc:
                hand_over(_END, f"the event stream broke ({type(exc).__name__}: {exc})")

        threading.Thread(target=read, name="container_events-docker", daemon=True).start()
        heard = self.clock()
        while True:
            now = self.clock()
            deadline = self.fold.next_deadline()
            wake = min(heard + self.heartbeat, deadline if deadline is not None else float("inf"))
            try:
                kind, item = await asyncio.wait_for(inbox.get(), timeout=max(wake - now, 0.0))
            except asyncio.TimeoutError:
                now = self.clock()
                await self._emit_records(self.fold.flush(now))
                if now - heard >= self.heartbeat:
                    if not await asyncio.to_thread(_pings, api):
                        return f"no event for {self.heartbeat:.0f}s and no answer to a ping"
                    heard = now
                continue
            if kind == _END:
                return item
            heard = self.clock()
            if isinstance(item, dict) and self.cursor.accept(item):
                await self._emit_records(self.fold.feed(item, heard))



def _engine_ns(value: Any) -> Optional[int]:
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


def _pings(api: Any) -> bool:
    try:
        return api.ping() is True
    except Exception:  # any failure to answer is the answer
        return False


class Poller(Follower):
    """A REST follower: poll, emit what is new, wait (longer while nothing happens, with backoff on errors)."""

    def __init__(self, options: Options, queue: Any, **kwargs: Any) -> None:
        super().__init__(options, queue, **kwargs)
        self.backend: Any = None
        self.longest_idle = min(options.poll_interval * IDLE_FACTOR, max(options.poll_interval, 60.0))

    async def run(self) -> None:
        interval = self.options.poll_interval
        try:
            while True:
                try:
                    found = await self.poll()
                except BadInput:
                    raise
                except _transport_errors() as exc:
                    self.close(self.backend)
                    self.backend = None
                    await self.idle(self.lost(said(exc)))
                    continue
                interval = self.options.poll_interval if found else min(interval * 1.5, self.longest_idle)
                await self.idle(interval)
        finally:
            self.close(self.backend)

    async def idle(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def poll(self) -> bool:
        """One round; whether anything new came."""
        raise NotImplementedError

    async def ensure_backend(self) -> Any:
        if self.backend is None:
            self.backend = await asyncio.to_thread(self.connect)
            self.connected("polling")
        return self.backend


class HoodyPoller(Poller):
    """Each listed container's status logs, newest first, until its position (``_position``, ``LATE_S`` of
    overlap); new records by id. With ``cursor_file`` the positions survive the source: a container it does not
    know yet (created while it was away) is read from the last poll on."""

    def __init__(self, options: Options, queue: Any, **kwargs: Any) -> None:
        super().__init__(options, queue, **kwargs)
        self.list_filters = {key: value for key, value in options.filters.items() if key != "status"}
        self.positions: dict[str, dict[str, Any]] = {}  # per container
        self.names: dict[str, str] = {}
        self.first_round = True
        # Where a container without a position is read from: everything (None), or the last poll of a resumed run.
        self.unknown_from_ns: Optional[int] = None

    async def poll(self) -> bool:
        # A fresh connection per round: the backend lists the containers once per connection.
        self.close(self.backend)
        self.backend = None
        backend = await self.ensure_backend()
        if self.first_round:
            await asyncio.to_thread(self._resume)
        polled_ns = int(self.wall() * 10**9)
        records = await asyncio.to_thread(self._round, backend)
        await self.emit([event_of(r, "hoody", self.names.get(r["container_id"]), None, self.connection)
                         for r in records])  # fmt: skip
        self.keep_position({"containers": self.positions, "polled_ns": polled_ns})
        return bool(records)

    def _resume(self) -> None:
        stored = self.stored_position(_position.well_formed_per_container)
        if stored is None:
            return
        self.positions = dict(stored["containers"])
        self.unknown_from_ns = stored["polled_ns"]
        self.first_round = False
        logger.info("containerops.lifecycle.container_events: resuming from %s: what happened since %s",
                    safe_text(self.options.cursor_file), _iso(stored["polled_ns"]))  # fmt: skip

    def _round(self, backend: Any) -> list[Record]:
        listed = {state.id: state for state in backend.list(self.list_filters) if state.id}
        for container_id, state in listed.items():
            self.names[container_id] = state.name
        gone = [cid for cid in self.positions if cid not in listed]
        new: list[Record] = []
        for container_id in [*listed, *gone]:
            for record in self._container(backend, container_id, baseline=self.first_round):
                record["metadata"].setdefault("name", self.names.get(container_id))
                new.append(record)
        for container_id in gone:  # its last records (a delete) were read above
            self.positions.pop(container_id, None)
            self.names.pop(container_id, None)
        self.first_round = False
        return _history.sort_records(new, "transition_time", "asc")

    def _container(self, backend: Any, container_id: str, baseline: bool) -> list[Record]:
        position = self.positions.get(container_id) or {"newest_ns": self.unknown_from_ns, "recent": {}}
        start = _position.resume_from_ns(position, LATE_NS)
        since = time.time() if baseline else (start / 1e9 if start is not None else None)
        try:
            records = backend.status_history(container_id, since, None)
        except ContainerNotFound:
            return []
        fresh = _position.unseen(position, records, _record_ns, LATE_NS)
        self.positions[container_id] = _position.handled(position, fresh, _record_ns, LATE_NS)
        return [] if baseline else [hoody_record(record) for record in fresh]


def hoody_record(record: Record) -> Record:
    """A Hoody record, its operation read the collection's way: a transition to stopped or failed that no
    command caused and no user triggered is the container ending by itself (``exit``)."""
    metadata = dict(record.get("metadata") or {})
    if (
        "command" not in metadata
        and record.get("to_status") in (STOPPED, FAILED)
        and record.get("from_status") not in (None, STOPPED, FAILED)
        and record.get("triggered_by") not in ("user", "api")
    ):
        metadata["operation"] = "exit"
    return dict(record, metadata=metadata)


class DockhandPoller(HoldsRecords, Poller):
    """The environment's activity log (Docker's events as Dockhand collected them), after the last row's id."""

    engine_name = "dockhand"

    def __init__(self, options: Options, queue: Any, settle: float = SETTLE, **kwargs: Any) -> None:
        super().__init__(options, queue, **kwargs)
        self.fold = DockerFold(settle=settle)
        self.position = _position.empty()
        self.last_id: Optional[int] = None
        self.newest: Optional[datetime] = None
        self.labels = label_filters(options.filters)

    async def idle(self, seconds: float) -> None:
        """Wait, letting held records out when due."""
        await self.wait_releasing(seconds)

    async def poll(self) -> bool:
        backend = await self.ensure_backend()
        rows = await asyncio.to_thread(self._new_rows, backend)
        records: list[Record] = []
        for row in rows:
            attributes = row.get("actorAttributes") if isinstance(row.get("actorAttributes"), dict) else {}
            if self.labels and not _labels_match(attributes, self.labels):
                continue
            records.extend(self.fold.feed(dockhand_event(row), self.clock()))
        await self._emit_records(records)
        return bool(rows)

    def _new_rows(self, backend: Any) -> list[dict[str, Any]]:
        """Activity rows after the cursor, oldest first; the first round only sets the cursor, unless the source
        resumes from ``cursor_file``: then it reads the rows from there on."""
        environment = backend.environment_id
        if self.last_id is None and not self._resumed():
            rows, total = backend._activity_page({"environmentId": environment, "limit": 1, "offset": 0})
            if total == 0:
                logger.warning(
                    "containerops.lifecycle.container_events: Dockhand's activity log holds no event for "
                    "environment %s yet; nothing is emitted until Dockhand collects its engine's events "
                    "(activity collection on, collection-worker running)", environment,
                )  # fmt: skip
            self._advance(rows)
            if self.last_id is None:
                self.last_id = 0
            if self.newest is not None:  # what happened up to the newest row is not this source's to tell
                self.position = _position.empty(_record_ns({"transition_time": _history.format_time(self.newest)}) + 1)
            return []
        params: dict[str, Any] = {"environmentId": environment, "limit": _dockhand.ACTIVITY_PAGE}
        if self.newest is not None:
            params["fromDate"] = _dockhand_time(self.newest.timestamp() - LATE_S)
        found: dict[int, dict[str, Any]] = {}
        offset = 0
        while True:
            page, total = backend._activity_page(dict(params, offset=offset))
            offset += len(page)
            older = False
            for row in page:
                row_id = row.get("id")
                if not isinstance(row_id, int):
                    continue
                if row_id > self.last_id:
                    found[row_id] = row
                else:
                    older = True
            if not page or older or offset >= total:
                break
        rows = [found[key] for key in sorted(found)]
        self._advance(rows)
        return rows

    def _resumed(self) -> bool:
        """Whether a stored position says where to read from; if so, read every row from there on."""
        since = self.resume(None)
        if since is None:
            return False
        self.last_id = 0
        self.newest = datetime.fromtimestamp(since / 1e9 + LATE_S, timezone.utc)  # fromDate: since
        return True

    def _advance(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if isinstance(row.get("id"), int) and (self.last_id is None or row["id"] > self.last_id):
                self.last_id = row["id"]
            moment = _dockhand_moment(row.get("timestamp"))
            if moment is not None and (self.newest is None or moment > self.newest):
                self.newest = moment



def _dockhand_moment(value: Any) -> Optional[datetime]:
    if not isinstance(value, str):
        return None
    try:
        return _history.parse_iso(value)
    except (ValueError, IndexError):
        return None


def _dockhand_time(seconds: float) -> str:
    """Dockhand's timestamp form (milliseconds, ``Z``), which its ``fromDate`` compares as text."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def dockhand_event(row: dict[str, Any]) -> dict[str, Any]:
    """A Dockhand activity row in the Docker ``/events`` shape the fold reads."""
    return _dockhand._as_docker_event(row)


FOLLOWERS: dict[str, type[Follower]] = {
    "docker": DockerFollower,
    "hoody": HoodyPoller,
    "dockhand": DockhandPoller,
}


async def main(queue: Any, args: dict[str, Any]) -> None:
    """ansible-rulebook's entry point: emit events into ``queue`` until cancelled."""
    options = parse_options(args)
    follower = FOLLOWERS[options.backend](options, queue)
    await follower.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    # A quick look without ansible-rulebook: print the events of the local engine (or DOCKER_HOST) until ^C.

    class _Printer:
        async def put(self, event: Event) -> None:
            print(event, flush=True)

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_Printer(), {}))
