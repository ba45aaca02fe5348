# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Dockhand backend: Docker containers behind Dockhand's REST API.

Dockhand answers ``200 {"success": true}`` with no state, 200 for a start of a running container, and
``500 "Failed to <action> container"`` for nearly every error. So the container is read before and
after every call (the driver does both), and a 500 is explained by reading the container again:
gone, in the wrong state, or a real failure.
"""

from __future__ import annotations

import fnmatch
import threading
from datetime import datetime, timezone
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    ContainerState,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import (
    STATUS_MAP,
    DockerShapedBackend,
    check_health,
    info_from_inspect,
    network_runtime,
    state_from_inspect,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ConnectionFailed,
    ContainerNotFound,
    OperationConflict,
    OperationFailed,
    WaitTimeout,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiClient, ApiError, poll
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    ABSENT,
    ALLOWED_OPERATIONS,
    FAILED,
    is_transitional,
)

SESSION_COOKIE = "dockhand_session"
ACTIVITY_PAGE = 100
# Dockhand's action names for the lifecycle vocabulary.
ACTIONS = {"start": "start", "stop": "stop", "restart": "restart", "pause": "pause", "resume": "unpause"}


class DockhandBackend(DockerShapedBackend):
    name = "dockhand"
    missing_operations = {
        "force-stop": (
            "Dockhand has no kill endpoint; use force: false (and no force_on_timeout), and bound a graceful "
            "stop with the container's own stop timeout (docker run --stop-timeout)"
        ),
    }

    def __init__(
        self,
        client: ApiClient,
        environment: Optional[int],
        token: Optional[str],
        username: Optional[str],
        password: Optional[str],
        poll_interval: float,
    ) -> None:
        if not environment:
            raise BadInput(
                "api_environment is required for backend dockhand: the id of a Dockhand environment "
                "(Settings > Environments, or GET /api/environments); or set DOCKHAND_ENV"
            )
        if bool(username) != bool(password):
            raise BadInput("api_username and api_password go together for backend dockhand")
        self.client = client
        self.environment = environment
        self.poll_interval = poll_interval
        self._username = username
        self._password = password
        self._login_lock = threading.Lock()
        self._session_generation = 0
        if token:
            client.set_bearer(token)
        elif username:
            self._login()
        self._check_environment()

    # Requests --------------------------------------------------------------------------------------

    def _login(self) -> None:
        try:
            response = self.client.request(
                "POST", "/api/auth/login", json={"username": self._username, "password": self._password}
            )
        except ApiError as exc:
            if exc.status == 400:
                # Auth is off on this server: every endpoint is open, nothing to log in to.
                return
            raise ConnectionFailed(
                f"Dockhand login as {self._username!r} failed ({exc.status}: {exc.message})"
            ) from None
        cookie = response.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise ConnectionFailed("Dockhand accepted the login but set no dockhand_session cookie")
        self.client.set_cookie(SESSION_COOKIE, cookie)
        self._session_generation += 1

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request with ``env``; on 401 log in again once (sessions expire) and repeat it."""
        generation = self._session_generation
        try:
            return self.client.request(method, path, **kwargs)
        except ApiError as exc:
            if exc.status != 401:
                raise
            if not self._username:
                raise ConnectionFailed(
                    "Dockhand requires authentication (401): set api_token, or api_username and api_password"
                ) from None
        with self._login_lock:
            if generation == self._session_generation:  # another worker may have logged in already
                self._login()
        try:
            return self.client.request(method, path, **kwargs)
        except ApiError as exc:
            if exc.status == 401:
                raise ConnectionFailed("Dockhand rejected the session again after a fresh login (401)") from None
            raise

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        return response.json() if response.content else None

    def _env(self, **params: Any) -> dict[str, Any]:
        return dict(params, env=self.environment)

    def _check_environment(self) -> None:
        try:
            self._json("GET", f"/api/environments/{self.environment}")
        except ApiError as exc:
            if exc.status == 404:
                raise BadInput(f"Dockhand has no environment {self.environment} (api_environment)") from None
            raise ConnectionFailed(f"cannot read Dockhand environment {self.environment}: {exc}") from None

    # Reads -----------------------------------------------------------------------------------------

    def inspect(self, ref: str) -> ContainerState:
        try:
            return state_from_inspect(self._json("GET", f"/api/containers/{ref}", params=self._env()))
        except ApiError as exc:
            if exc.status in (400, 404):
                return ContainerState.absent(ref)
            raise OperationFailed(f"cannot read container {ref!r} through Dockhand: {exc}") from None

    def list(self, filters: dict[str, Any]) -> list[ContainerState]:
        items = self._json("GET", "/api/containers", params=self._env()) or []
        labels = list(filters.get("label") or [])
        if filters.get("project"):
            labels.append(f"com.docker.compose.project={filters['project']}")
        found = []
        for item in items:
            state = ContainerState(
                id=item["id"],
                name=item["name"],
                status=STATUS_MAP.get(item.get("state"), FAILED),
                engine_status=item.get("state"),
                health=item.get("health"),
            )
            if filters.get("name") and not fnmatch.fnmatchcase(state.name, filters["name"]):
                continue
            if filters.get("status") and state.status not in filters["status"]:
                continue
            if not all(_has_label(item.get("labels") or {}, label) for label in labels):
                continue
            found.append(state)
        return found

    # Operations ------------------------------------------------------------------------------------

    def stop_timeout_in_force(self, container: ContainerState, stop_timeout: Optional[int]) -> int:
        """Dockhand never sends a timeout: the container's own StopTimeout always applies."""
        return self.own_stop_timeout(container)

    def perform(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> bool:
        if stop_timeout is not None and operation in ("stop", "restart"):
            self.warn(
                "Dockhand ignores stop timeouts: the container's own StopTimeout applies (stop_timeout not sent)"
            )
        try:
            if operation == "delete":
                self._remove(container)
                return False
            timeout = self.stop_deadline(container, None) if operation in ("stop", "restart") else None
            self._request(
                "POST", f"/api/containers/{container.id}/{ACTIONS[operation]}", params=self._env(), timeout=timeout
            )
        except ApiError as exc:
            raise self._explain(container, operation, exc) from None
        return False

    def _remove(self, container: ContainerState) -> None:
        body = self._json(
            "POST",
            "/api/batch",
            params=self._env(),
            json={"operation": "remove", "entityType": "containers",
                  "items": [{"id": container.id, "name": container.name}]},
        ) or {}
        summary = body.get("summary") or {}
        if summary.get("failed"):
            after = self.inspect(container.ref)
            if after.status != ABSENT:
                raise OperationFailed(f"Dockhand could not remove it (batch remove failed); it is {after.status!r}")

    def _explain(self, container: ContainerState, operation: str, exc: ApiError) -> Exception:
        """Turn Dockhand's generic answers into what really happened, by reading the container again."""
        if exc.status == 404:
            return ContainerNotFound(container.name, f"it disappeared during {operation}")
        after = self.inspect(container.ref)
        if after.status == ABSENT:
            return ContainerNotFound(container.name, f"it disappeared during {operation}")
        if operation not in ALLOWED_OPERATIONS.get(after.status, ()):
            return OperationConflict(
                f"Dockhand refused {operation} ({exc.status} {exc.message!r}): the container is {after.status!r}"
            )
        return OperationFailed(
            f"Dockhand answered {exc.status} {exc.message!r} to {operation}; the container is {after.status!r}"
        )

    # Waits -----------------------------------------------------------------------------------------

    def wait_for(self, container: ContainerState, statuses: tuple[str, ...], timeout: float) -> ContainerState:
        """Dockhand's calls finish before they answer; poll only through transitional states."""
        try:
            return poll(
                lambda: self.inspect(container.ref),
                lambda state: state.status in statuses or not is_transitional(state.status),
                timeout,
                self.poll_interval,
            )
        except TimeoutError as exc:
            raise WaitTimeout(
                f"still {exc.args[0].status!r} after {timeout:.0f}s, waiting for {' or '.join(statuses)}"
            ) from None

    def wait_healthy(self, container: ContainerState, timeout: float) -> ContainerState:
        try:
            return poll(
                lambda: check_health(self.inspect(container.ref)),
                lambda state: state.health == "healthy",
                timeout,
                self.poll_interval,
            )
        except TimeoutError as exc:
            raise WaitTimeout(f"health check still {exc.args[0].health!r} after {timeout:.0f}s") from None

    # Reports ---------------------------------------------------------------------------------------

    def describe(self, container: ContainerState, runtime: bool) -> dict[str, Any]:
        container = self.inspected(container)
        info = info_from_inspect(container)
        if runtime:
            # Dockhand exposes no process list or resource usage for one container.
            info["runtime"] = network_runtime(container.details)
        return info

    def status_history(self, ref: str, since: Optional[float], until: Optional[float]) -> list[dict[str, Any]]:
        """Dockhand's activity log holds the engine's events; turn them into records like Docker's."""
        state = self.inspect(ref)
        params: dict[str, Any] = {"environmentId": self.environment, "limit": ACTIVITY_PAGE}
        if state.id:
            params["containerId"] = state.id
        else:
            params["containerName"] = ref
        if since is not None:
            params["fromDate"] = _history.format_time(datetime.fromtimestamp(since, timezone.utc))
        if until is not None:
            params["toDate"] = _history.format_time(datetime.fromtimestamp(until, timezone.utc))
        events: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = self._json("GET", "/api/activity", params=dict(params, offset=offset)) or {}
            page = body.get("events") or []
            events.extend(item for item in page if state.id or item.get("containerName") == ref)
            offset += len(page)
            if not page or offset >= (body.get("total") or 0):
                break
        # Millisecond timestamps can tie (start and restart): feed them in id order, which is event order.
        events.sort(key=lambda item: item.get("id") or 0)
        return _history.records_from_docker_events([_as_docker_event(item) for item in events])

    def close(self) -> None:
        self.client.close()


def _has_label(labels: dict[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in labels and (not sep or labels[key] == value)


def _as_docker_event(item: dict[str, Any]) -> dict[str, Any]:
    """A Dockhand activity record in the Docker ``/events`` shape ``_history`` reads."""
    moment = _history.parse_iso(item["timestamp"])
    time_ns = int(moment.timestamp()) * 10**9 + moment.microsecond * 1000
    attributes = dict(item.get("actorAttributes") or {})
    attributes.setdefault("name", item.get("containerName"))
    return {
        "Type": "container",
        "Action": item.get("action"),
        "Actor": {"ID": item.get("containerId"), "Attributes": attributes},
        "time": int(moment.timestamp()),
        "timeNano": time_ns,
    }
