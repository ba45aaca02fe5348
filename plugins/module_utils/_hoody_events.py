# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Following Hoody: each listed container's status logs, polled (``HoodyFeed``, the Hoody backend's ``events``).

Each round reads a container's logs newest first until its position (``_position``, ``LATE_S`` of overlap) and
emits the new records by id. The positions are the feed's position: a container it does not know yet (created
while the source was away) is read from the last poll on.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history, _position
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import ContainerNotFound
from ansible_collections.containerops.lifecycle.plugins.module_utils._events import (
    LATE_NS,
    PollingFeed,
    Transition,
    record_ns,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import FAILED, STOPPED

Record = _history.Record


def hoody_record(record: Record) -> Record:
    """A Hoody record, its operation read the collection's way: a transition to stopped or failed that no
    command caused and no user triggered is the container ending by itself (``exit``)."""
    metadata = dict(record.get("metadata") or {})
    read = record.copy()
    read["metadata"] = metadata
    if (
        "command" not in metadata
        and record.get("to_status") in (STOPPED, FAILED)
        and record.get("from_status") not in (None, STOPPED, FAILED)
        and record.get("triggered_by") not in ("user", "api")
    ):
        metadata["operation"] = "exit"
    return read


class HoodyFeed(PollingFeed):
    """Hoody's status logs, polled container by container, each record once."""

    well_formed = staticmethod(_position.well_formed_per_container)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.list_filters = {key: value for key, value in self.filters.items() if key != "status"}
        self.positions: dict[str, dict[str, Any]] = {}  # per container
        self.names: dict[str, str] = {}
        self.first_round = True
        self.polled_ns: Optional[int] = None
        # Where a container without a position is read from: everything (None), or the last poll of a resumed run.
        self.unknown_from_ns: Optional[int] = None
        self.connected_now = False

    def start(self) -> str:
        self.connected_now = True
        return super().start()

    def position(self) -> dict[str, Any]:
        return {"containers": self.positions, "polled_ns": self.polled_ns}

    def poll(self) -> tuple[list[Transition], bool]:
        if not self.connected_now:  # a fresh connection per round: the backend lists the containers once per connection
            self.release()
            self.backend = self.connect()
        self.connected_now = False
        if self.first_round:
            self._resume()
        polled_ns = int(self.timing.wall() * 10**9)
        records = self._round(self.backend)
        self.polled_ns = polled_ns
        return [Transition(record, self.names.get(record["container_id"]), {}) for record in records], bool(records)

    def _resume(self) -> None:
        stored = self.stored
        if stored is None:
            return
        self.positions = dict(stored["containers"])
        self.unknown_from_ns = stored["polled_ns"]
        self.first_round = False
        self.resumed_ns = stored["polled_ns"]

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
        fresh = _position.unseen(position, records, record_ns, LATE_NS)
        self.positions[container_id] = _position.handled(position, fresh, record_ns, LATE_NS)
        return [] if baseline else [hoody_record(record) for record in fresh]
