"""The shared in-memory engine of the unit tests: a real ``Backend`` whose containers are plain data.

Every lifecycle operation moves a container's status as ``_lifecycle.RESULT_OF`` says and is refused, as an
engine does, where ``_lifecycle.ALLOWED_OPERATIONS`` does not allow it. Its ``look_up`` answers a unique id
prefix the way Docker's inspect does, so exact naming is left to the real ``Backend.inspect`` and
``Backend.resolve``. A test scripts faults per operation (``faults``) and reads what was asked (``calls``).

It has every part (``_parts``), held as data too: settings, snapshots, aliases and health checks; what its parts
were asked is in ``asked``. A test of an engine without one sets that attribute to None.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Optional, Union

from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    Backend,
    ContainerState,
    matching,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import Connection
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    ABSENT,
    ALLOWED_OPERATIONS,
    RESULT_OF,
    RUNNING,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import (
    Aliases,
    Health,
    Settings,
    Snapshots,
)

#: A scripted fault: the exception to raise, or a function called at that moment that returns it.
Fault = Union[Exception, Callable[[], Exception]]


def full_id(name: str) -> str:
    """A 64-hex container id that stays the same for a name, as a test can compute it."""
    return hashlib.sha256(name.encode()).hexdigest()


class FakeBackend(Backend):
    """Containers held as data; ``container(name, status)`` adds one."""

    name = "fake"
    poll_interval = 0.001

    def __init__(self, *containers: ContainerState) -> None:
        self.containers: list[ContainerState] = list(containers)
        #: The lifecycle operations asked for, in order (a faulted one included).
        self.calls: list[str] = []
        #: Per operation (or ``look_up``, ``list``): faults raised by its next calls, one per call.
        self.faults: dict[str, list[Fault]] = {}
        #: Per operation: the status it leaves instead of the one it leads to (a start that exits at once).
        self.side_effects: dict[str, str] = {}
        self.listings = 0
        #: What the parts were asked, in order: (their method, what it was given).
        self.asked: list[tuple[str, Any]] = []
        self.settings: Optional[FakeSettings] = FakeSettings(self)
        self.snapshots: Optional[FakeSnapshots] = FakeSnapshots(self)
        self.aliases: Optional[FakeAliases] = FakeAliases(self)
        self.health: Optional[FakeHealth] = FakeHealth(self)

    @classmethod
    def from_options(cls, connection: Connection) -> FakeBackend:
        return cls()

    def container(
        self,
        name: str,
        status: str,
        labels: Optional[dict[str, str]] = None,
        health: Optional[str] = None,
        id: Optional[str] = None,
    ) -> ContainerState:
        """Add a container, by default with a 64-hex id derived from its name; returns it."""
        state = ContainerState(
            id or full_id(name), name, status, "engine-" + status, health, {"labels": dict(labels or {})}
        )
        self.containers.append(state)
        return state

    def status_of(self, ref: str) -> str:
        return self.inspect(ref).status

    def set_status(self, ref: str, status: str) -> None:
        """What another client of the engine does to a container meanwhile; ``absent`` removes it."""
        state = self.inspect(ref)
        self.containers.remove(state)
        if status != ABSENT:
            self.containers.append(
                ContainerState(state.id, state.name, status, "engine-" + status, state.health, state.details)
            )

    def _fault(self, operation: str) -> None:
        queued = self.faults.get(operation)
        if queued:
            fault = queued.pop(0)
            raise fault if isinstance(fault, BaseException) else fault()

    def look_up(self, ref: str) -> ContainerState:
        self._fault("look_up")
        for rank in (lambda s: s.name == ref, lambda s: s.id == ref, lambda s: (s.id or "").startswith(ref)):
            found = [state for state in self.containers if rank(state)]
            if len(found) == 1:
                return found[0]
        return ContainerState.absent(ref)

    @classmethod
    def listed_facts(cls, state: ContainerState) -> dict[str, Any]:
        return dict(super().listed_facts(state), labels=state.details.get("labels", {}))

    def list(self, filters: dict[str, Any]) -> list[ContainerState]:
        self._fault("list")
        self.listings += 1
        return matching(list(self.containers), filters, lambda state: state.details.get("labels", {}))

    def perform(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> bool:
        self.calls.append(operation)
        self._fault(operation)
        state = self.inspect(container.ref)
        if state.status == ABSENT:
            raise errors.ContainerNotFound(container.name, f"it disappeared before {operation}")
        if operation not in ALLOWED_OPERATIONS[state.status]:
            raise errors.OperationConflict(f"{operation} refused: container is {state.status}")
        self.set_status(state.ref, self.side_effects.get(operation, RESULT_OF[operation]))
        return operation == "force-stop"

    def describe(self, container: ContainerState, runtime: bool) -> dict[str, Any]:
        return {"id": container.id, "name": container.name, "status": container.status}

    def status_history(self, ref: str, since: Optional[float], until: Optional[float]) -> list[dict[str, Any]]:
        return []

    def close(self) -> None:
        pass


class FakeSettings(Settings):
    """Every container's settings are ``config``; ``settable`` and ``needing_restart`` are a test's to set."""

    backend: FakeBackend

    def __init__(self, backend: FakeBackend) -> None:
        super().__init__(backend)
        self.settable = ("autostart", "environment_vars")
        self.needing_restart = ("environment_vars",)
        self.config: dict[str, Any] = {"autostart": False, "environment_vars": {}}

    def read(self, container: ContainerState) -> dict[str, Any]:
        self.backend.asked.append(("read", None))
        return dict(self.config)

    def update(self, container: ContainerState, changes: dict[str, Any]) -> None:
        self.backend.asked.append(("update", changes))
        for setting, value in changes.items():
            if setting == "environment_vars":
                merged = {**self.config["environment_vars"], **value}
                self.config[setting] = {key: val for key, val in merged.items() if val is not None}
            else:
                self.config[setting] = value


class FakeSnapshots(Snapshots):
    """Snapshots held in ``stored``; they outlive their container, and a restore recreates it running."""

    backend: FakeBackend

    def __init__(self, backend: FakeBackend) -> None:
        super().__init__(backend)
        self.outlive_container = True
        self.stored: list[dict[str, Any]] = []
        self.restored_from: Optional[str] = None

    def of(self, container: ContainerState) -> list[dict[str, Any]]:
        return list(self.stored)

    def take(self, container: ContainerState, alias: str) -> dict[str, Any]:
        self.backend.asked.append(("take", alias))
        new = {"name": f"snap/{alias}:new", "alias": alias, "container": container.name,
               "private": {"image_id": "sha256:new"}}  # fmt: skip
        self.stored.append(new)
        return new

    def delete(self, container: ContainerState, snapshot: dict[str, Any]) -> None:
        self.backend.asked.append(("delete", snapshot["name"]))
        self.stored.remove(snapshot)

    def is_restored_from(self, container: ContainerState, snapshot: dict[str, Any]) -> bool:
        return snapshot["name"] == self.restored_from

    def restore(
        self, container: ContainerState, snapshot: dict[str, Any], stop_timeout: Optional[int], wait_timeout: float
    ) -> ContainerState:
        """The container recreated from the snapshot, running, under a new id."""
        self.backend.asked.append(("restore", (snapshot["name"], stop_timeout, wait_timeout)))
        self.restored_from = snapshot["name"]
        old = self.backend.inspect(container.ref)
        if old.status != ABSENT:
            self.backend.containers.remove(old)
        return self.backend.container(container.name, RUNNING, id=full_id(f"{container.name}@{snapshot['name']}"))


class FakeAliases(Aliases):
    """Who holds the alias is ``held`` (``{name, id, in_sync}`` each), whatever the alias and options."""

    backend: FakeBackend

    def __init__(self, backend: FakeBackend) -> None:
        super().__init__(backend)
        self.held: list[dict[str, Any]] = []

    def holders(self, alias: str, options: dict[str, Any]) -> list[dict[str, Any]]:
        self.backend.asked.append(("holders", alias))
        return [dict(holder) for holder in self.held]

    def point(
        self, alias: str, target: Optional[ContainerState], holders: list[dict[str, Any]], options: dict[str, Any]
    ) -> dict[str, Any]:
        self.backend.asked.append(("point", (target.name if target else None, [h["name"] for h in holders])))
        self.held = [{"name": target.name, "id": target.id, "in_sync": True}] if target else []
        return {"window_ms": 7, "url": None}


class FakeHealth(Health):
    """A container has a health check when it was added with a ``health``."""

    backend: FakeBackend

    def has_check(self, container: ContainerState) -> Optional[bool]:
        return self.backend.inspect(container.ref).health is not None

    def check(self, state: ContainerState) -> ContainerState:
        if state.health == "unhealthy":
            raise errors.Unhealthy("its health check reports unhealthy")
        return state
