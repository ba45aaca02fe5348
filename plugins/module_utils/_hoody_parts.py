# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Hoody backend's parts (``_parts``): settings, snapshots and proxy aliases, through its ``HoodyBackend``'s
requests, every answer checked where it is read (``_hoody._Answer``). Hoody containers have no health checks."""

from __future__ import annotations

import time
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState, Wait
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    OperationConflict,
    OperationFailed,
    OutcomeUnknown,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody import (
    ALIAS,
    NULL,
    SNAPSHOT,
    HoodyBackend,
    _Answer,
    _q,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiError
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import is_transitional
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import Aliases, Settings, Snapshots
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import SnapshotRecord


def _alias_fields(source: dict[str, Any]) -> dict[str, Any]:
    """The proxy-alias settings compared and sent: ``program``, ``index``, ``target_path`` (given ones)."""
    fields = {key: source.get(key) for key in ("program", "index", "target_path") if source.get(key) is not None}
    target_path = fields.get("target_path")
    if target_path and not target_path.startswith("/"):
        fields["target_path"] = "/" + target_path
    return fields


class HoodySettings(Settings):
    """Hoody writes the environment at once, but running processes keep the old one until restarted."""

    backend: HoodyBackend

    settable = ("autostart", "environment_vars")
    needing_restart = ("environment_vars",)

    def why_not_settable(self, setting: str) -> str:
        if setting.startswith("resources."):
            return f"backend hoody has no API for resource limits ({setting})"
        return super().why_not_settable(setting)

    def read(self, container: ContainerState) -> dict[str, Any]:
        data = self.backend._get_container(container.ref) or container.details
        _answer, env = self.backend._read(
            "GET", f"/api/v1/containers/{_q(container.id)}/env", {"environment_vars": (dict, NULL)}
        )
        return {
            "autostart": data.get("autostart"),
            "environment_vars": dict(env.get("environment_vars") or {}),
            "resources.memory": None,
            "resources.cpus": None,
        }

    def update(self, container: ContainerState, changes: dict[str, Any]) -> None:
        if "autostart" in changes:
            self.backend._change(
                "PUT", f"/api/v1/containers/{_q(container.id)}", f"update {container.name!r}",
                json={"autostart": changes["autostart"]},
            )  # fmt: skip
        env = changes.get("environment_vars") or {}
        values = {key: value for key, value in env.items() if value is not None}
        if values:
            self.backend._change(
                "PUT", f"/api/v1/containers/{_q(container.id)}/env", f"set the environment of {container.name!r}",
                json=values,
            )  # fmt: skip
        for key in sorted(key for key, value in env.items() if value is None):
            self.backend._change(
                "DELETE", f"/api/v1/containers/{_q(container.id)}/env/{_q(key)}",
                f"remove {key} from the environment of {container.name!r}",
            )  # fmt: skip


class HoodySnapshots(Snapshots):
    """Hoody's snapshots of a container (``/api/v1/containers/{id}/snapshots``)."""

    backend: HoodyBackend

    @staticmethod
    def _snapshot_entry(container: ContainerState, item: dict[str, Any]) -> SnapshotRecord:
        return {
            "name": item["name"],
            "alias": item.get("alias"),
            "created_at": item.get("created_at"),
            "stateful": bool(item.get("stateful")),
            "size": item.get("size"),
            "container": container.name,
        }

    def of(self, container: ContainerState) -> list[SnapshotRecord]:
        answer, data = self.backend._read(
            "GET", f"/api/v1/containers/{_q(container.id)}/snapshots", {"snapshots": list}
        )
        return [self._snapshot_entry(container, item)
                for item in answer.objects(data["snapshots"], "data.snapshots", SNAPSHOT)]  # fmt: skip

    def take(self, container: ContainerState, alias: str) -> SnapshotRecord:
        what = f"snapshot {container.name!r}"
        path = f"/api/v1/containers/{_q(container.id)}/snapshots"
        try:
            data = self.backend._change("POST", path, what, json={"alias": alias})
            answer = _Answer("POST", path, OutcomeUnknown)  # unreadable: as good as lost
            snapshot = answer.object(
                answer.object(data, "data", {"snapshot": dict})["snapshot"], "data.snapshot", SNAPSHOT
            )
        except OutcomeUnknown as exc:
            # The answer was lost: the snapshot list says whether the platform took it.
            found = [snap for snap in self.of(container) if snap["alias"] == alias]
            if not found:
                raise OperationFailed(f"could not {what}: {exc}") from None
            return found[0]
        return self._snapshot_entry(container, snapshot)

    def delete(self, container: ContainerState, snapshot: dict[str, Any]) -> None:
        try:
            self.backend._call("DELETE", f"/api/v1/containers/{_q(container.id)}/snapshots/{_q(snapshot['name'])}")
        except ApiError as exc:
            if exc.status != 404:
                raise OperationFailed(f"could not delete snapshot {snapshot['name']!r}: {exc}") from None

    def is_restored_from(self, container: ContainerState, snapshot: SnapshotRecord) -> bool:
        return container.details.get("last_used_snapshot") == snapshot["name"]

    def restore(
        self, container: ContainerState, snapshot: dict[str, Any], stop_timeout: Optional[int], wait_timeout: float
    ) -> ContainerState:
        """PUT the restore, then poll until the container settles as restored from that snapshot."""
        name = snapshot["name"]
        self.backend._change(
            "PUT", f"/api/v1/containers/{_q(container.id)}/snapshots/{_q(name)}", f"restore {container.name!r}"
        )

        def settled(state: ContainerState) -> bool:
            return state.details.get("last_used_snapshot") == name and not is_transitional(state.status)

        return self.backend.watch(container, Wait(
            settled,
            lambda state: f"waiting for the restore of {container.name!r} from {name!r}: still {state.status!r}",
            wait_timeout,
        ))  # fmt: skip


class HoodyAliases(Aliases):
    """Proxy aliases (``/api/v1/proxy/aliases``): a host name the platform's proxy sends to one container."""

    backend: HoodyBackend

    def holders(self, alias: str, options: dict[str, Any]) -> list[dict[str, Any]]:
        answer, data = self.backend._read("GET", "/api/v1/proxy/aliases", {"aliases": list})
        holders = []
        for record in answer.objects(data["aliases"], "data.aliases", ALIAS):
            if record.get("alias") != alias:
                continue
            owner = self.backend._get_container(record["container_id"]) or {}
            holders.append(
                {
                    "name": owner.get("name") or record["container_id"],
                    "id": record["container_id"],
                    "in_sync": _alias_fields(options).items() <= _alias_fields(record).items(),
                    "url": record.get("url"),
                    "private": record,
                }
            )
        return holders

    def point(
        self,
        alias: str,
        target: Optional[ContainerState],
        holders: list[dict[str, Any]],
        options: dict[str, Any],
    ) -> dict[str, Any]:
        """Proxy aliases cannot be repointed: delete the old record(s), then create one on the target."""
        mine = [holder for holder in holders if target is not None and holder["id"] == target.id]
        if mine and len(holders) == 1:
            record = mine[0]["private"]
            self.backend._change(
                "PATCH", f"/api/v1/proxy/aliases/{_q(record['id'])}", f"update alias {alias!r}",
                json=_alias_fields(options),
            )  # fmt: skip
            return {"window_ms": None, "url": record.get("url")}
        freed_at = None
        for holder in holders:
            self.backend._change(
                "DELETE", f"/api/v1/proxy/aliases/{_q(holder['private']['id'])}", f"free alias {alias!r}"
            )
            freed_at = freed_at or time.monotonic()
        if target is None:
            return {"window_ms": None, "url": None}
        body = dict(_alias_fields(options), container_id=target.id, alias=alias)
        if options.get("port"):
            body["port"] = options["port"]
        try:
            record = self.backend._change(
                "POST", "/api/v1/proxy/aliases", f"give alias {alias!r} to {target.name!r}", json=body
            )
            record = _Answer("POST", "/api/v1/proxy/aliases", OutcomeUnknown).object(record, "data", ALIAS)
        except (OperationFailed, OperationConflict, OutcomeUnknown) as exc:
            found = [h for h in self.holders(alias, options) if h["id"] == target.id]
            if not found:
                raise OperationFailed(f"{exc}; {self._alias_restored(alias, holders)}") from None
            record = found[0]["private"]
        window = round((time.monotonic() - freed_at) * 1000) if freed_at is not None else None
        return {"window_ms": window, "url": record.get("url")}

    def _alias_restored(self, alias: str, holders: list[dict[str, Any]]) -> str:
        """After a failed move, give the alias back to its first previous holder; say who has it."""
        if not holders:
            return f"alias {alias!r} is held by no container"
        previous = holders[0]["private"]
        body = {key: previous.get(key) for key in ("alias", "program", "index", "target_path", "container_id")}
        try:
            self.backend._call("POST", "/api/v1/proxy/aliases", json=body)
        except (ApiError, OutcomeUnknown) as exc:
            return f"giving alias {alias!r} back to {holders[0]['name']!r} failed too ({exc}): no container holds it"
        return f"alias {alias!r} was given back to {holders[0]['name']!r}"
