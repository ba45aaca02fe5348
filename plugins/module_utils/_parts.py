# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The optional parts of a backend: capabilities an engine has or lacks.

A backend reaches each as an attribute (``backend.settings``, ``backend.snapshots``, ``backend.aliases``,
``backend.health``) that is None on an engine without it; ``Backend.part(Snapshots)`` returns the part or
refuses in the one refusal's words (``_backend.refusal``), before anything is changed. An engine's parts are
built with the backend they serve, whose client and waits they use.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState, Wait
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import SnapshotRecord

if TYPE_CHECKING:
    from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import Backend


class Part:
    """A capability of one engine, reached as its backend's attribute ``attribute``."""

    #: The backend attribute this part is reached as (None there: the engine lacks it).
    attribute = ""
    #: What an engine without it cannot do and why, as ``_backend.refusal`` says it.
    lacking = ("", "")

    def __init__(self, backend: Backend) -> None:
        self.backend = backend


class Settings(Part, abc.ABC):
    """Reading and changing a container's settings (``container_config``), flat as ``_config`` names them."""

    attribute = "settings"
    lacking = ("change container settings", "it has no API for that")

    #: The settings ``read`` and ``update`` handle.
    settable: tuple[str, ...] = ()
    #: Of those, the ones a running container only takes up after a restart.
    needing_restart: tuple[str, ...] = ()

    def why_not_settable(self, setting: str) -> str:
        """Why ``setting`` is not in ``settable``, for the error message."""
        return f"backend {self.backend.name} cannot change {setting}"

    @abc.abstractmethod
    def read(self, container: ContainerState) -> dict[str, Any]:
        """The container's settings, flat: ``autostart``, ``environment_vars``, ``resources.memory``…"""

    @abc.abstractmethod
    def update(self, container: ContainerState, changes: dict[str, Any]) -> None:
        """Apply flat settings (only those that differ); ``environment_vars`` holds the keys to set."""


class Snapshots(Part, abc.ABC):
    """Taking, listing, removing and restoring a container's snapshots (``container_snapshot``)."""

    attribute = "snapshots"
    lacking = ("take, list or restore snapshots", "it has no API for that")

    #: Whether a snapshot lives on after its container is deleted (and can restore it).
    outlive_container = False

    @abc.abstractmethod
    def of(self, container: ContainerState) -> list[SnapshotRecord]:
        """The container's snapshots, each ``{name, alias, container, created_at, stateful, size}``."""

    @abc.abstractmethod
    def take(self, container: ContainerState, alias: str) -> SnapshotRecord:
        """A new snapshot of the container under ``alias``."""

    @abc.abstractmethod
    def delete(self, container: ContainerState, snapshot: dict[str, Any]) -> None:
        """Remove one snapshot; one already gone counts as removed."""

    @abc.abstractmethod
    def is_restored_from(self, container: ContainerState, snapshot: SnapshotRecord) -> bool:
        """Whether the container is the snapshot's restore, untouched by a later restore."""

    @abc.abstractmethod
    def restore(
        self, container: ContainerState, snapshot: dict[str, Any], stop_timeout: Optional[int], wait_timeout: float
    ) -> ContainerState:
        """Put the container back to the snapshot and return its settled state."""


class Aliases(Part, abc.ABC):
    """Moving a name between containers (``container_alias``): a network alias, a proxy alias."""

    attribute = "aliases"
    lacking = ("manage aliases", "it has no API for that")

    @abc.abstractmethod
    def holders(self, alias: str, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Who holds the alias now: ``{name, id}`` per container, plus engine details."""

    @abc.abstractmethod
    def point(
        self, alias: str, target: Optional[ContainerState], holders: list[dict[str, Any]], options: dict[str, Any]
    ) -> dict[str, Any]:
        """Make ``target`` (None: nobody) the only holder; returns ``{window_ms, url}``."""


class NetworkAliases(Aliases):
    """An alias on one of the engine's networks (``options['network']``), kept in each container's endpoint there;
    moved by reconnecting containers with a new list (neither Docker nor Podman 4 edits an endpoint's aliases)."""

    @abc.abstractmethod
    def _alias_network(self, options: dict[str, Any]) -> str:
        """The network's name, once it is known to hold aliases (``BadInput`` when not)."""

    @abc.abstractmethod
    def _members(self, network: str) -> list[str]:
        """The ids of the containers on ``network``."""

    @abc.abstractmethod
    def _set_alias(self, ref: str, network: str, alias: str, present: bool) -> None:
        """Give the container ``ref`` the alias on ``network`` (``present``), or take it away."""

    def holders(self, alias: str, options: dict[str, Any]) -> list[dict[str, Any]]:
        network = self._alias_network(options)
        holders = []
        for container_id in self._members(network):
            state = self.backend.inspect(container_id)
            endpoint = ((state.details.get("NetworkSettings") or {}).get("Networks") or {}).get(network) or {}
            if alias in (endpoint.get("Aliases") or []):
                holders.append({"name": state.name, "id": state.id, "in_sync": True})
        return sorted(holders, key=lambda holder: holder["name"])

    def point(
        self, alias: str, target: Optional[ContainerState], holders: list[dict[str, Any]], options: dict[str, Any]
    ) -> dict[str, Any]:
        # The target gains the alias before anyone loses it, so the name always resolves.
        network = self._alias_network(options)
        if target is not None:
            self._set_alias(target.ref, network, alias, True)
        for holder in holders:
            if target is None or holder["id"] != target.id:
                self._set_alias(holder["id"], network, alias, False)
        return {"window_ms": 0 if target is not None else None, "url": None}


class Health(Part, abc.ABC):
    """Health checks (``healthy: true``): whether a container has one, and waiting for it to pass."""

    attribute = "health"
    lacking = ("wait for a health check", "its containers have none")

    @abc.abstractmethod
    def has_check(self, container: ContainerState) -> Optional[bool]:
        """Whether the container defines a health check; None when the engine cannot tell."""

    @abc.abstractmethod
    def check(self, state: ContainerState) -> ContainerState:
        """``state`` while a passing health check may still come; raise ``Unhealthy`` or ``BadInput`` when not."""

    def wait_healthy(self, container: ContainerState, timeout: float) -> ContainerState:
        """Wait until the health check passes; ``check`` ends it early when it cannot."""
        return self.backend.watch(
            container,
            Wait(
                lambda state: self.check(state).health == "healthy",
                lambda state: f"waiting for a passing health check: still {state.health!r}",
                timeout,
                health=True,
            ),
        )


#: Every kind of part, for checks that go through them all.
PARTS: tuple[type[Part], ...] = (Settings, Snapshots, Aliases, Health)
