# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Hoody API v1 backend.

Lifecycle calls (``POST /api/v1/containers/{id}/{operation}``) are asynchronous: the API accepts them
and the container moves later, so every wait polls ``GET /api/v1/containers/{id}`` with backoff. A
POST that fails in flight is never resent blindly: the backend re-reads the container for evidence
that the operation took effect and only then lets the driver plan again.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
from typing import Any, Optional
from urllib.parse import quote

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import Backend, ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ConnectionFailed,
    ContainerNotFound,
    OperationConflict,
    OperationFailed,
    OperationRejected,
    OutcomeUnknown,
    WaitTimeout,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiClient, ApiError, poll
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    ABSENT,
    FAILED,
    PAUSED,
    RESULT_OF,
    RUNNING,
    STOPPED,
    is_transitional,
)

# Hoody's nine statuses onto the canonical vocabulary.
STATUS_MAP = {
    "running": RUNNING,
    "stopped": STOPPED,
    "paused": PAUSED,
    "failed": FAILED,
    "creating": "creating",
    "copying": "copying",
    "claiming": "claiming",
    "deleting": "deleting",
    "deleted": ABSENT,
}

PAGE_LIMIT = 100
# From this many containers waited on at once, polls share one listing per round.
SHARED_POLL_WAITERS = 4
MAX_PAGES = 1000
_ID = re.compile(r"^[0-9a-f]{24}$")


def _data(body: Any) -> Any:
    """The payload of Hoody's ``{statusCode, message, data}`` envelope (or the body itself)."""
    if isinstance(body, dict) and "data" in body and isinstance(body.get("statusCode"), int):
        return body["data"]
    return body


def _alias_fields(source: dict[str, Any]) -> dict[str, Any]:
    """The proxy-alias settings compared and sent: ``program``, ``index``, ``target_path`` (given ones)."""
    fields = {key: source.get(key) for key in ("program", "index", "target_path") if source.get(key) is not None}
    if fields.get("target_path") and not fields["target_path"].startswith("/"):
        fields["target_path"] = "/" + fields["target_path"]
    return fields


def _status(raw: Optional[str]) -> Optional[str]:
    return None if raw is None else STATUS_MAP.get(raw, FAILED)


class HoodyBackend(Backend):
    name = "hoody"

    def __init__(self, client: ApiClient, token: Optional[str], realm: Optional[str], poll_interval: float) -> None:
        if not token:
            raise BadInput("api_token is required for backend hoody (or set HOODY_TOKEN / HOODY_API_TOKEN)")
        self.client = client
        self.realm = realm
        self.poll_interval = poll_interval
        client.set_bearer(token)
        self._directory: Optional[list[dict[str, Any]]] = None
        self._restart_marks: dict[str, Optional[str]] = {}
        self._marks_lock = threading.Lock()
        self._waiters = 0
        self._snapshot_lock = threading.Lock()
        self._snapshot: tuple[float, dict[str, dict[str, Any]]] = (float("-inf"), {})
        self._directory_lock = threading.Lock()

    # Requests ------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return _data(self.client.json(method, path, **kwargs))
        except ApiError as exc:
            if exc.status == 401:
                raise ConnectionFailed(
                    f"Hoody rejected the credentials (401: {exc.message}); check api_token"
                ) from None
            if exc.status == 403:
                raise ConnectionFailed(
                    f"Hoody denied {method} {path} (403: {exc.message}); check the token's permissions and api_realm"
                ) from None
            raise

    def _get_container(self, container_id: str) -> Optional[dict[str, Any]]:
        try:
            return self._call("GET", f"/api/v1/containers/{container_id}")
        except ApiError as exc:
            if exc.status in (400, 404):
                return None
            raise OperationFailed(f"cannot read container {container_id}: {exc}") from None

    def _list_pages(self, path: str, **extra: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": PAGE_LIMIT, "sort_by": "created_at", "sort_order": "asc", **extra}
        if self.realm and path == "/api/v1/containers/":
            params["realm_id"] = self.realm
        for page in range(1, MAX_PAGES + 1):
            data = self._call("GET", path, params=dict(params, page=page)) or {}
            items = data.get("containers") or []
            found.extend(items)
            total = (data.get("pagination") or {}).get("total", len(found))
            if not items or len(found) >= total:
                break
        return found

    def _all_containers(self) -> list[dict[str, Any]]:
        """Every container, listed once per task (names resolve against it; statuses are re-read)."""
        with self._directory_lock:
            if self._directory is None:
                self._directory = self._list_pages("/api/v1/containers/")
            return self._directory

    @staticmethod
    def _state(data: dict[str, Any]) -> ContainerState:
        return ContainerState(
            id=data["id"],
            name=data.get("name") or data["id"],
            status=_status(data.get("status")) or FAILED,
            engine_status=data.get("status"),
            details=data,
        )

    # Reads -----------------------------------------------------------------------------------------

    def _resolve(self, ref: str) -> Optional[str]:
        if _ID.match(ref):
            return ref
        matches = [item["id"] for item in self._all_containers() if item.get("name") == ref]
        if len(matches) > 1:
            raise BadInput(f"name {ref!r} matches {len(matches)} Hoody containers ({', '.join(matches)}); use the id")
        return matches[0] if matches else None

    def inspect(self, ref: str) -> ContainerState:
        container_id = self._resolve(ref)
        data = self._get_container(container_id) if container_id else None
        if data is None or data.get("status") == "deleted":
            return ContainerState.absent(ref)
        return self._state(data)

    def list(self, filters: dict[str, Any]) -> list[ContainerState]:
        if filters.get("label"):
            raise BadInput("filters.label is not supported by backend hoody (Hoody containers have no labels)")
        if filters.get("project"):
            items = self._list_pages(f"/api/v1/projects/{filters['project']}/containers")
        else:
            items = self._all_containers()
        states = [self._state(item) for item in items if item.get("status") != "deleted"]
        if filters.get("name"):
            states = [s for s in states if fnmatch.fnmatchcase(s.name, filters["name"])]
        if filters.get("status"):
            states = [s for s in states if s.status in filters["status"]]
        return states

    # Operations ------------------------------------------------------------------------------------

    def perform(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> bool:
        if stop_timeout is not None and operation in ("stop", "restart"):
            self.warn(
                "backend hoody has no stop timeout: the platform's own grace period applies; "
                "stop_timeout only bounds how long force_on_timeout waits"
            )
        path = f"/api/v1/containers/{quote(container.id or '', safe='')}"
        try:
            if operation == "delete":
                self._call("DELETE", path)
                return False
            data = self._call("POST", f"{path}/{operation}")
        except ApiError as exc:
            if exc.status == 404:
                raise ContainerNotFound(container.name, f"it disappeared during {operation}") from None
            if exc.status == 409:
                raise OperationConflict(f"Hoody refused {operation}: {exc.message}") from None
            if exc.status in (408, 502, 503, 504):
                raise OutcomeUnknown(f"POST {operation} answered HTTP {exc.status}") from None
            if 400 <= exc.status < 500:
                raise OperationRejected(f"Hoody rejected {operation} ({exc.status}: {exc.message})") from None
            raise OperationFailed(f"{operation} failed: {exc}") from None
        if isinstance(data, dict) and data.get("error"):
            raise OperationConflict(f"Hoody refused {operation}: {data.get('message') or 'data.error is true'}")
        return operation == "force-stop"

    def evidence_mark(self, container: ContainerState, operation: str) -> Any:
        """Before a restart, the newest status-log record: the restart's own record will be newer."""
        if operation != "restart":
            return None
        mark = self._newest_log_id(container)
        with self._marks_lock:
            self._restart_marks[container.id] = mark
        return mark

    def took_effect(self, container: ContainerState, operation: str, mark: Any) -> bool:
        expected = RESULT_OF[operation]
        window = max(self.poll_interval * 4, 1.0)
        try:
            if operation == "restart":
                poll(lambda: self._restarted(container, mark), bool, window, self.poll_interval)
            else:
                poll(lambda: self.inspect(container.ref).status, lambda s: s == expected, window, self.poll_interval)
        except TimeoutError:
            return False
        return True

    def _newest_log(self, container: ContainerState) -> Optional[dict[str, Any]]:
        data = (
            self._call(
                "GET",
                f"/api/v1/containers/{container.id}/status-logs",
                params={"limit": 1, "page": 1, "sort_by": "transition_time", "sort_order": "desc"},
            )
            or {}
        )
        return (data.get("logs") or [None])[0]

    def _newest_log_id(self, container: ContainerState) -> Optional[str]:
        newest = self._newest_log(container)
        return newest.get("id") if newest else None

    def _restarted(self, container: ContainerState, mark: Optional[str]) -> bool:
        """Whether a restart record newer than ``mark`` (the newest record before the POST) exists."""
        newest = self._newest_log(container)
        return bool(newest) and newest.get("id") != mark and _history.operation_of(newest) == "restart"

    # Waits -----------------------------------------------------------------------------------------

    def wait_for(self, container: ContainerState, statuses: tuple[str, ...], timeout: float) -> ContainerState:
        """Poll until one of ``statuses``; stop early on ``failed``, ``absent`` or ``deleting`` if unwanted.

        After a restart, 'running' counts only once the restart's status-log record is there (bounded
        by the stop deadline, after which the status alone is trusted, with a warning).
        """
        give_up = {FAILED, ABSENT, "deleting"} - set(statuses)
        if ABSENT in statuses:
            give_up.discard("deleting")
        with self._marks_lock:
            confirm_restart = RUNNING in statuses and container.id in self._restart_marks
            restart_mark = self._restart_marks.pop(container.id, None) if confirm_restart else None
        trust_status_at = time.monotonic() + self.stop_deadline(container, None)

        def done(state: ContainerState) -> bool:
            if state.status in give_up:
                return True
            if state.status not in statuses:
                return False
            if not confirm_restart or self._restarted(container, restart_mark):
                return True
            if time.monotonic() >= trust_status_at:
                self.warn("a restart could not be confirmed from Hoody's status logs; trusting the status")
                return True
            return False

        with self._snapshot_lock:
            self._waiters += 1
        try:
            return poll(lambda: self._observe(container), done, timeout, self.poll_interval)
        except TimeoutError as exc:
            last = exc.args[0]
            raise WaitTimeout(
                f"still {last.status!r} after {timeout:.0f}s, waiting for {' or '.join(statuses)}"
            ) from None
        finally:
            with self._snapshot_lock:
                self._waiters -= 1

    def _observe(self, container: ContainerState) -> ContainerState:
        """One poll: a direct read, or with many waiters, a look-up in one listing shared by all of them.

        The shared listing is refreshed at most once per ``poll_interval``, so N workers waiting at once
        cost one list call per round instead of N reads.
        """
        if self._waiters < SHARED_POLL_WAITERS:
            return self.inspect(container.ref)
        with self._snapshot_lock:
            taken_at, by_id = self._snapshot
            if time.monotonic() - taken_at >= self.poll_interval:
                items = self._list_pages("/api/v1/containers/", include_deleting="true")
                by_id = {item["id"]: item for item in items}
                self._snapshot = (time.monotonic(), by_id)
        item = by_id.get(container.id)
        if item is None or item.get("status") == "deleted":
            return self.inspect(container.ref)  # gone, or too new for the listing: read it directly
        return self._state(item)

    def has_health_check(self, container: ContainerState) -> Optional[bool]:
        return False

    def wait_healthy(self, container: ContainerState, timeout: float) -> ContainerState:
        raise BadInput("healthy: true is not supported by backend hoody (Hoody containers have no health check)")

    # Reports ---------------------------------------------------------------------------------------

    def describe(self, container: ContainerState, runtime: bool) -> dict[str, Any]:
        data = container.details if "status" in container.details else self.inspect(container.ref).details
        info: dict[str, Any] = {
            "exists": True,
            "id": container.id,
            "name": container.name,
            "status": container.status,
            "engine_status": data.get("status"),
            "health": None,
            "autostart": bool(data.get("autostart")),
            "image": data.get("container_image"),
            "labels": {},
            "project_id": data.get("project_id"),
            "started_at": None,
            "finished_at": None,
            "exit_code": None,
        }
        if runtime:
            info["runtime"] = self._runtime(container)
        return info

    def _runtime(self, container: ContainerState) -> dict[str, Any]:
        details = self._call("GET", f"/api/v1/containers/{container.id}", params={"runtime": "true"}) or {}
        runtime_info = details.get("runtime_info") or {}
        runtime: dict[str, Any] = {
            "processes": runtime_info.get("services") or [],
            "ports": runtime_info.get("network_services") or [],
            "networks": {},
            "resource_usage": None,
        }
        if container.status != RUNNING:
            return runtime
        try:
            stats = self._call("GET", f"/api/v1/containers/{container.id}/stats") or {}
        except ApiError as exc:
            runtime["error"] = exc.message
            return runtime
        memory = stats.get("memory") or {}
        runtime["networks"] = {n.get("interface"): n for n in stats.get("network") or [] if n.get("interface")}
        runtime["resource_usage"] = {
            "memory_usage_bytes": memory.get("usage"),
            "memory_limit_bytes": memory.get("total"),
            "cpu_usage_percent": (stats.get("cpu") or {}).get("usage_percent"),
            "pids": stats.get("processes"),
        }
        return runtime

    def status_history(self, ref: str, since: Optional[float], until: Optional[float]) -> list[dict[str, Any]]:
        container_id = self._resolve(ref)
        if container_id is None:
            raise ContainerNotFound(ref, "Hoody keeps status logs by id; give the id of a deleted container")
        records: list[dict[str, Any]] = []
        params = {"limit": PAGE_LIMIT, "sort_by": "transition_time", "sort_order": "desc"}
        for page in range(1, MAX_PAGES + 1):
            try:
                data = (
                    self._call("GET", f"/api/v1/containers/{container_id}/status-logs", params=dict(params, page=page))
                    or {}
                )
            except ApiError as exc:
                if exc.status == 404:
                    raise ContainerNotFound(ref) from None
                raise OperationFailed(f"cannot read the status logs of {ref!r}: {exc}") from None
            logs = data.get("logs") or []
            records.extend(self._record(log) for log in logs)
            total_pages = (data.get("pagination") or {}).get("totalPages") or page
            oldest = records[-1]["transition_time"] if records else None
            older_than_since = since is not None and oldest and _history.parse_iso(oldest).timestamp() < since
            if not logs or page >= total_pages or older_than_since:
                break
        return records

    @staticmethod
    def _record(log: dict[str, Any]) -> dict[str, Any]:
        record = {
            "id": log.get("id"),
            "container_id": log.get("container_id"),
            "from_status": _status(log.get("from_status")),
            "to_status": _status(log.get("to_status")),
            "transition_time": log.get("transition_time"),
            "duration_ms": log.get("duration_ms"),
            "triggered_by": log.get("triggered_by"),
            "metadata": dict(log.get("metadata") or {}),
        }
        record["metadata"].setdefault("operation", _history.operation_of(record))
        return record

    # Configuration ---------------------------------------------------------------------------------

    config_settings = ("autostart", "environment_vars")
    # Hoody writes the environment at once, but running processes keep the old one until restarted.
    settings_needing_restart = ("environment_vars",)

    def _change(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """A write call; Hoody's refusals become the collection's errors, naming ``what`` was attempted."""
        try:
            return self._call(method, path, **kwargs)
        except ApiError as exc:
            if exc.status == 409:
                raise OperationConflict(f"Hoody refused to {what} (409: {exc.message})") from None
            raise OperationFailed(f"could not {what}: {exc}") from None

    def why_not_settable(self, setting: str) -> str:
        if setting.startswith("resources."):
            return f"backend hoody has no API for resource limits ({setting})"
        return super().why_not_settable(setting)

    def read_config(self, container: ContainerState) -> dict[str, Any]:
        data = self._get_container(container.id) or container.details
        env = self._call("GET", f"/api/v1/containers/{container.id}/env") or {}
        return {
            "autostart": data.get("autostart"),
            "environment_vars": dict(env.get("environment_vars") or {}),
            "resources.memory": None,
            "resources.cpus": None,
        }

    def update_config(self, container: ContainerState, changes: dict[str, Any]) -> None:
        if "autostart" in changes:
            self._change(
                "PUT", f"/api/v1/containers/{container.id}", f"update {container.name!r}",
                json={"autostart": changes["autostart"]},
            )  # fmt: skip
        env = changes.get("environment_vars") or {}
        values = {key: value for key, value in env.items() if value is not None}
        if values:
            self._change(
                "PUT", f"/api/v1/containers/{container.id}/env", f"set the environment of {container.name!r}",
                json=values,
            )  # fmt: skip
        for key in sorted(key for key, value in env.items() if value is None):
            self._change(
                "DELETE", f"/api/v1/containers/{container.id}/env/{key}",
                f"remove {key} from the environment of {container.name!r}",
            )  # fmt: skip

    # Snapshots -------------------------------------------------------------------------------------

    @staticmethod
    def _snapshot_entry(container: ContainerState, item: dict[str, Any]) -> dict[str, Any]:
        keys = ("name", "alias", "created_at", "last_used_at", "expires_at", "stateful", "size")
        return dict({key: item.get(key) for key in keys}, container=container.name)

    def snapshots(self, container: ContainerState) -> list[dict[str, Any]]:
        data = self._call("GET", f"/api/v1/containers/{container.id}/snapshots") or {}
        return [self._snapshot_entry(container, item) for item in data.get("snapshots") or []]

    def create_snapshot(self, container: ContainerState, alias: str) -> dict[str, Any]:
        what = f"snapshot {container.name!r}"
        try:
            data = self._change("POST", f"/api/v1/containers/{container.id}/snapshots", what, json={"alias": alias})
        except OutcomeUnknown as exc:
            # The answer was lost: the snapshot list says whether the platform took it.
            found = [snap for snap in self.snapshots(container) if snap["alias"] == alias]
            if not found:
                raise OperationFailed(f"could not {what}: {exc}") from None
            return found[0]
        return self._snapshot_entry(container, (data or {}).get("snapshot") or {})

    def delete_snapshot(self, container: ContainerState, snapshot: dict[str, Any]) -> None:
        try:
            self._call("DELETE", f"/api/v1/containers/{container.id}/snapshots/{snapshot['name']}")
        except ApiError as exc:
            if exc.status != 404:
                raise OperationFailed(f"could not delete snapshot {snapshot['name']!r}: {exc}") from None

    def is_restored_from(self, container: ContainerState, snapshot: dict[str, Any]) -> bool:
        return container.details.get("last_used_snapshot") == snapshot["name"]

    def restore_snapshot(
        self, container: ContainerState, snapshot: dict[str, Any], stop_timeout: Optional[int], wait_timeout: float
    ) -> ContainerState:
        """PUT the restore, then poll until the container settles as restored from that snapshot."""
        name = snapshot["name"]
        self._change("PUT", f"/api/v1/containers/{container.id}/snapshots/{name}", f"restore {container.name!r}")

        def settled(state: ContainerState) -> bool:
            return state.details.get("last_used_snapshot") == name and not is_transitional(state.status)

        try:
            return poll(lambda: self.inspect(container.ref), settled, wait_timeout, self.poll_interval)
        except TimeoutError as exc:
            raise WaitTimeout(
                f"restore of {container.name!r} from {name!r} not finished after {wait_timeout:.0f}s "
                f"(status {exc.args[0].status!r})"
            ) from None

    # Proxy aliases ---------------------------------------------------------------------------------

    def alias_holders(self, alias: str, options: dict[str, Any]) -> list[dict[str, Any]]:
        data = self._call("GET", "/api/v1/proxy/aliases") or {}
        holders = []
        for record in data.get("aliases") or []:
            if record.get("alias") != alias:
                continue
            owner = self._get_container(record["container_id"]) or {}
            holders.append(
                {
                    "name": owner.get("name") or record["container_id"],
                    "id": record["container_id"],
                    "in_sync": _alias_fields(options).items() <= _alias_fields(record).items(),
                    "record": record,
                }
            )
        return holders

    def point_alias(
        self, alias: str, target: Optional[ContainerState], holders: list[dict[str, Any]], options: dict[str, Any]
    ) -> dict[str, Any]:
        """Proxy aliases cannot be repointed: delete the old record(s), then create one on the target."""
        mine = [holder for holder in holders if target is not None and holder["id"] == target.id]
        if mine and len(holders) == 1:
            record = mine[0]["record"]
            self._change("PATCH", f"/api/v1/proxy/aliases/{record['id']}", f"update alias {alias!r}",
                         json=_alias_fields(options))  # fmt: skip
            return {"window_ms": None, "url": record.get("url")}
        freed_at = None
        for holder in holders:
            self._change("DELETE", f"/api/v1/proxy/aliases/{holder['record']['id']}", f"free alias {alias!r}")
            freed_at = freed_at or time.monotonic()
        if target is None:
            return {"window_ms": None, "url": None}
        body = dict(_alias_fields(options), container_id=target.id, alias=alias)
        if options.get("port"):
            body["port"] = options["port"]
        try:
            record = self._change(
                "POST", "/api/v1/proxy/aliases", f"give alias {alias!r} to {target.name!r}", json=body
            )
        except (OperationFailed, OperationConflict, OutcomeUnknown) as exc:
            found = [h for h in self.alias_holders(alias, options) if h["id"] == target.id]
            if not found:
                raise OperationFailed(f"{exc}; {self._alias_restored(alias, holders)}") from None
            record = found[0]["record"]
        window = round((time.monotonic() - freed_at) * 1000) if freed_at is not None else None
        return {"window_ms": window, "url": (record or {}).get("url")}

    def _alias_restored(self, alias: str, holders: list[dict[str, Any]]) -> str:
        """After a failed move, give the alias back to its first previous holder; say who has it."""
        if not holders:
            return f"alias {alias!r} is held by no container"
        previous = holders[0]["record"]
        body = {key: previous.get(key) for key in ("alias", "program", "index", "target_path", "container_id")}
        try:
            self._call("POST", "/api/v1/proxy/aliases", json=body)
        except (ApiError, OutcomeUnknown) as exc:
            return f"giving alias {alias!r} back to {holders[0]['name']!r} failed too ({exc}): no container holds it"
        return f"alias {alias!r} was given back to {holders[0]['name']!r}"

    def close(self) -> None:
        self.client.close()
