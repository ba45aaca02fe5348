# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Following Dockhand: the environment's activity log (Docker's events as Dockhand collected them), polled after the
last row's id and folded as Docker's own (``DockhandFeed``, the Dockhand backend's ``events``).

``docker_event`` turns an activity row into the Docker ``/events`` shape the fold reads; ``container_status_logs``
reads Dockhand's history through it too.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history, _position
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_events import DockerShapedFeed
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import label_filters
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import OperationFailed
from ansible_collections.containerops.lifecycle.plugins.module_utils._events import (
    LATE_S,
    PollingFeed,
    Transition,
    logger,
    passes,
    record_ns,
)

#: Activity rows read per request.
ACTIVITY_PAGE = 100
_FRACTION = re.compile(r"(\.\d{6})\d+")


def engine_time(value: Any) -> Optional[datetime]:
    """An engine timestamp (Docker's nanoseconds or Dockhand's milliseconds) as a UTC datetime, or None."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    try:
        return _history.parse_iso(_FRACTION.sub(r"\1", value))
    except ValueError:
        return None


def docker_event(row: dict[str, Any]) -> dict[str, Any]:
    """A Dockhand activity row in the Docker ``/events`` shape the fold reads."""
    moment = engine_time(row.get("timestamp"))
    if moment is None:
        raise OperationFailed(
            "Dockhand's answer to GET /api/activity is not a page of activity events (timestamp "
            f"{row.get('timestamp')!r}): is api_url a Dockhand server?"
        )
    time_ns = int(moment.timestamp()) * 10**9 + moment.microsecond * 1000
    attributes = dict(row.get("actorAttributes") or {}) if isinstance(row.get("actorAttributes"), dict) else {}
    attributes.setdefault("name", row.get("containerName"))
    return {
        "Type": "container",
        "Action": row.get("action"),
        "Actor": {"ID": row.get("containerId"), "Attributes": attributes},
        "time": int(moment.timestamp()),
        "timeNano": time_ns,
    }


def dockhand_time(seconds: float) -> str:
    """Dockhand's timestamp form (milliseconds, ``Z``), which its ``fromDate`` compares as text."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class DockhandFeed(DockerShapedFeed, PollingFeed):
    """The environment's activity log after the last row's id, folded as Docker's events are."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_id: Optional[int] = None
        self.newest: Optional[datetime] = None
        self.labels = label_filters(self.filters)

    def poll(self) -> tuple[list[Transition], bool]:
        rows = self._new_rows()
        transitions = []
        for row in rows:
            attributes: dict[str, str] = row["actorAttributes"] if isinstance(row.get("actorAttributes"), dict) else {}
            if self.labels and not passes({"label": self.labels}, None, None, attributes):
                continue
            # Named and labelled as each row leaves them: a container's last row (destroy) ends what the fold knows.
            transitions += self.settled(self.fold.feed(docker_event(row), self.timing.clock()))
        return transitions, bool(rows)

    def _new_rows(self) -> list[dict[str, Any]]:
        """Activity rows after the cursor, oldest first; the first round only sets the cursor, unless the feed
        resumes from a stored position: then it reads the rows from there on."""
        backend = self.backend
        environment = backend.environment_id
        if self.last_id is None and not self._resumed():
            rows, total = backend.activity_page({"environmentId": environment, "limit": 1, "offset": 0})
            if total == 0:
                logger.warning(
                    "containerops.lifecycle.container_events: Dockhand's activity log holds no event for "
                    "environment %s yet; nothing is emitted until Dockhand collects its engine's events "
                    "(activity collection on, collection-worker running)", environment,
                )  # fmt: skip
            self._advance(rows)
            if self.last_id is None:
                self.last_id = 0
            if self.newest is not None:  # what happened up to the newest row is not this feed's to tell
                self.emitted = _position.empty(record_ns({"transition_time": _history.format_time(self.newest)}) + 1)
            return []
        params: dict[str, Any] = {"environmentId": environment, "limit": ACTIVITY_PAGE}
        if self.newest is not None:
            params["fromDate"] = dockhand_time(self.newest.timestamp() - LATE_S)
        found: dict[int, dict[str, Any]] = {}
        last_id, offset = self.last_id or 0, 0
        while True:
            page, total = backend.activity_page(dict(params, offset=offset))
            offset += len(page)
            older = False
            for row in page:
                row_id = row.get("id")
                if not isinstance(row_id, int):
                    continue
                if row_id > last_id:
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
        start = self.take_stored(None)
        if start is None:
            return False
        self.last_id = 0
        self.newest = datetime.fromtimestamp(start / 1e9 + LATE_S, timezone.utc)  # fromDate: start
        return True

    def _advance(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if isinstance(row.get("id"), int) and (self.last_id is None or row["id"] > self.last_id):
                self.last_id = row["id"]
            moment = engine_time(row.get("timestamp"))
            if moment is not None and (self.newest is None or moment > self.newest):
                self.newest = moment
