# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Following Podman's container events: libpod's event stream (``GET /events?stream=true``), folded by
``_podman_history`` as they come (``PodmanFold``, a ``DockerFold`` of libpod's events) and read in a thread
(``PodmanFeed``, the Podman backend's ``events``).

libpod's events log (a file shared by every client, or journald) outlives the service: a feed resumed from its
cursor reads what happened while it was away. A health check's ``health_status`` event says the status *before*
the check (Podman 4.3 writes it first): the verdict is read from the container once the check's ``exec_died`` came,
and a change is emitted as Docker's ``health_status`` verdicts are.

The feed reaches the engine through the backend's ``api`` (``LibpodClient``) and ``look_up``.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Any, NamedTuple, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_events import (
    WARM_UP_S,
    DockerFold,
    DockerShapedFeed,
    EventCursor,
    _pump,
    engine_ns,
    since,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_history import (
    HEALTH_VERDICTS,
    _event_fields,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import label_filters
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import EngineLost
from ansible_collections.containerops.lifecycle.plugins.module_utils._events import Transition, passes
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import ABSENT
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman_history import (
    EXEC_DIED,
    HEALTH_ACTION,
    PODMAN_EVENT_ACTIONS,
    held,
    records_from_podman_events,
)

Record = _history.Record

#: libpod event attributes that are not container labels.
EVENT_ATTRIBUTES = ("name", "image", "containerExitCode", "podId")
#: After a health check's ``exec_died``, the status is read this much later, and again every ``HEALTH_READ_S``
#: until the container's health log holds the check (it is written just after the ``exec_died``).
HEALTH_READ_S = 0.05
#: A check whose ``exec_died`` does not come (a slow or lost one) is read this long after its ``health_status``
#: (Podman's default check timeout, 30 s, and a second); a check the log does not hold by then is not read.
CHECK_WAIT_S = 31.0
#: A silent event stream is not ended by a read timeout; the heartbeat's ping tells a service that is gone.
STREAM_READ_TIMEOUT_S = 24 * 3600.0


def labels_of(attributes: dict[str, Any]) -> dict[str, str]:
    """A libpod event's container labels: its attributes less the engine's own."""
    return {key: str(value) for key, value in attributes.items() if key not in EVENT_ATTRIBUTES}


def podman_event_filters() -> dict[str, list[str]]:
    """The libpod ``/events`` filters for the events the feed reads (labels are matched by the feed: libpod ORs
    the values of one filter)."""
    return {"type": ["container"], "event": [*PODMAN_EVENT_ACTIONS, HEALTH_ACTION, EXEC_DIED]}


def health_event(check: dict[str, Any], verdict: str) -> dict[str, Any]:
    """A health check's event (libpod's ``health_status``) with the verdict read after it, in Docker's shape
    (``health_status: unhealthy``), which ``DockerFold`` takes as a health change."""
    return dict(check, Action=f"{HEALTH_ACTION}: {verdict}", status=f"{HEALTH_ACTION}: {verdict}")


class PodmanFold(DockerFold):
    """libpod's container events in, in order and each once; settled transition records out."""

    records_of = staticmethod(records_from_podman_events)
    held_of = staticmethod(held)
    removal = "remove"

    def transition(self, record: Record) -> Transition:
        attributes = self.attributes.get(record["container_id"], {})
        return Transition(record, attributes.get("name"), labels_of(attributes))


class Check(NamedTuple):
    """A health check that ran: its ``health_status`` event, when its verdict is read and when it no longer is
    (``clock`` time)."""

    event: dict[str, Any]
    due: float
    until: float


def checked_ns(state: Any) -> Optional[int]:
    """When the newest check in a container's health log ended (engine time, ns), if it holds one."""
    health = (state.details.get("State") or {}).get("Health") or {}
    ends = [engine_ns(entry.get("End")) for entry in health.get("Log") or [] if isinstance(entry, dict)]
    return max((end for end in ends if end is not None), default=None)


_EVENT, _END = "event", "end"


class PodmanFeed(DockerShapedFeed):
    """The Podman service's event stream, read in a thread, folded into transitions; health checks' verdicts read
    from the containers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fold = PodmanFold(settle=self.timing.settle)
        self.started_ns: Optional[int] = None
        self.stored_from_ns: Optional[int] = None
        self.cursor = EventCursor()
        self.labels = label_filters(self.filters)
        self.inbox: queue.Queue = queue.Queue()
        self.heard = 0.0
        self.checks: dict[str, Check] = {}
        self.health: dict[str, Optional[str]] = {}  # the last health read of each container

    def start(self) -> str:
        if self.started_ns is None:
            self.started_ns = int(self.timing.wall() * 10**9)
            self.fold.emit_from_ns = self.started_ns
            self.stored_from_ns = self.take_stored(self.started_ns // 1000 * 1000)  # records have microseconds
        start = self.cursor.resume_ns()
        if start is None:
            start = self.stored_from_ns if self.stored_from_ns is not None else self.started_ns - WARM_UP_S * 10**9
        params = {"stream": "true", "since": since(start), "filters": json.dumps(podman_event_filters())}
        stream = self.backend.api.stream("GET", "/events", params, timeout=STREAM_READ_TIMEOUT_S)
        self.inbox = queue.Queue()
        reader = threading.Thread(target=_pump, args=(stream, self.inbox), name="container_events-podman")
        reader.daemon = True  # a stream left behind by a reconnect ends with its connection
        reader.start()
        self.heard = self.timing.clock()
        return "following libpod's event stream"

    def read(self) -> list[Transition]:
        clock, heartbeat = self.timing.clock, self.timing.heartbeat
        wake = min(
            [self.heard + heartbeat]
            + [deadline for deadline in (self.fold.next_deadline(),) if deadline is not None]
            + [check.due for check in self.checks.values()]
        )
        try:
            kind, item = self.inbox.get(timeout=max(wake - clock(), 0.0))
        except queue.Empty:
            now = clock()
            due = self.settled(self.fold.flush(now)) + self.read_health(now)
            if now - self.heard >= heartbeat:
                if not _pings(self.backend):
                    raise EngineLost(f"no event for {heartbeat:.0f}s and no answer to a ping") from None
                self.heard = now
            return due
        if kind == _END:
            raise EngineLost(item)
        self.heard = clock()
        if not isinstance(item, dict) or not self.cursor.accept(item):
            return []
        return self.take(item, self.heard)

    def release(self) -> None:
        self.inbox.put((_END, "the event stream was closed"))  # a read waiting on the stream returns
        super().release()

    def take(self, event: dict[str, Any], now: float) -> list[Transition]:
        """One libpod event: into the fold, or, for a health check, the read of its verdict scheduled."""
        fields = _event_fields(event)
        if fields is None:
            return []
        container_id, action, _time_ns, attributes = fields
        if self.labels and not passes({"label": self.labels}, None, None, labels_of(attributes)):
            return []
        if action == HEALTH_ACTION:
            self.checks[container_id] = Check(event, now + CHECK_WAIT_S, now + CHECK_WAIT_S)
            return []
        if action == EXEC_DIED:
            check = self.checks.get(container_id)
            if check is not None:
                self.checks[container_id] = check._replace(due=min(check.due, now + HEALTH_READ_S))
            return []
        if action == self.fold.removal:
            self.checks.pop(container_id, None)
            self.health.pop(container_id, None)
        return self.settled(self.fold.feed(event, now))

    def read_health(self, now: float) -> list[Transition]:
        """The health changes of the checks whose verdicts are due: each container's health once its log holds the
        check, emitted when it became ``healthy`` or ``unhealthy`` since the last read. (A restart within
        ``HEALTH_READ_S`` of a check's end resets the status first: that check's verdict is not seen.)"""
        transitions: list[Transition] = []
        for container_id, check in sorted(self.checks.items(), key=lambda item: item[1].due):
            if check.due > now:
                continue
            del self.checks[container_id]
            state = self.backend.look_up(container_id)
            if state.status == ABSENT:
                continue
            if (checked_ns(state) or 0) < int(check.event.get("timeNano") or 0):  # the log does not hold it yet
                if now < check.until:
                    self.checks[container_id] = check._replace(due=now + HEALTH_READ_S)
                continue
            verdict, before = state.health, self.health.get(container_id)
            self.health[container_id] = verdict
            if verdict in HEALTH_VERDICTS and verdict != before:
                transitions += self.settled(self.fold.feed(health_event(check.event, verdict), now))
        return transitions


def _pings(backend: Any) -> bool:
    try:
        return backend.api.call("GET", "/_ping") == "OK"
    except Exception:  # any failure to answer is the answer
        return False
