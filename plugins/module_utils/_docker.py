# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker Engine backend (Docker SDK for Python, low-level ``APIClient``).

Docker's lifecycle calls are synchronous: ``stop`` returns once the container has exited. Waits that
remain (transitional states, health) follow the engine's event stream, bounded by ``until``, so
nothing sleeps in fixed steps.
"""

from __future__ import annotations

import fnmatch
import time
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    STOP_MARGIN,
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
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    FAILED,
    RUNNING,
    is_transitional,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import call_with_retries

try:
    import docker
    import requests
    from docker.errors import APIError, DockerException, NotFound
    from docker.tls import TLSConfig

    DOCKER_IMPORT_ERROR: Optional[str] = None
except ImportError as _exc:  # pragma: no cover - reported by the module through missing_required_lib
    DOCKER_IMPORT_ERROR = str(_exc)

_TRANSIENT_STATUS = (429, 502, 503, 504)


def _transient(exc: Exception) -> Optional[float]:
    if isinstance(exc, requests.exceptions.ConnectionError):
        return 0
    if isinstance(exc, APIError) and exc.status_code in _TRANSIENT_STATUS:
        return 0
    return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, APIError):
        explanation = exc.explanation
        if isinstance(explanation, bytes):
            explanation = explanation.decode("utf-8", "replace")
        return str(explanation or exc)
    return str(exc)


class DockerBackend(DockerShapedBackend):
    name = "docker"

    def __init__(
        self,
        docker_host: str,
        timeout: int,
        retries: int,
        pool_size: int,
        tls: bool = False,
        validate_certs: bool = False,
        ca_path: Optional[str] = None,
        client_cert: Optional[str] = None,
        client_key: Optional[str] = None,
    ) -> None:
        self.docker_host = docker_host
        self.timeout = timeout
        self.retries = retries
        tls_config = None
        if tls or validate_certs:
            cert = (client_cert, client_key) if client_cert and client_key else None
            try:
                tls_config = TLSConfig(client_cert=cert, ca_cert=ca_path, verify=bool(validate_certs))
            except DockerException as exc:
                raise BadInput(f"TLS settings for {docker_host} are not usable: {exc}") from None
        try:
            self.api = docker.APIClient(
                base_url=docker_host,
                version="auto",
                timeout=timeout,
                tls=tls_config,
                max_pool_size=max(pool_size, 1) + 1,
            )
        except DockerException as exc:
            raise ConnectionFailed(
                f"cannot reach the Docker engine at {docker_host}: {exc}. Check that dockerd is running "
                "and that this user may use its socket (docker_host / DOCKER_HOST)."
            ) from None

    # Reads -------------------------------------------------------------------------------------

    def _read(self, method, *args, **kwargs):
        try:
            return call_with_retries(lambda: method(*args, **kwargs), self.retries, _transient)
        except requests.exceptions.ConnectionError as exc:
            raise ConnectionFailed(f"lost the Docker engine at {self.docker_host}: {exc}") from None

    def inspect(self, ref: str) -> ContainerState:
        try:
            return state_from_inspect(self._read(self.api.inspect_container, ref))
        except NotFound:
            return ContainerState.absent(ref)
        except APIError as exc:
            raise OperationFailed(f"cannot inspect container {ref!r}: {_reason(exc)}") from None

    def list(self, filters: dict[str, Any]) -> list[ContainerState]:
        labels = list(filters.get("label") or [])
        if filters.get("project"):
            labels.append(f"com.docker.compose.project={filters['project']}")
        api_filters = {"label": labels} if labels else None
        summaries = self._read(self.api.containers, all=True, filters=api_filters)
        name_glob = filters.get("name")
        statuses = filters.get("status")
        found = []
        for summary in summaries:
            names = [name.lstrip("/") for name in summary.get("Names") or []]
            if name_glob and not any(fnmatch.fnmatchcase(name, name_glob) for name in names):
                continue
            engine_status = summary.get("State")
            status = STATUS_MAP.get(engine_status, FAILED)
            if statuses and status not in statuses:
                continue
            found.append(
                ContainerState(
                    id=summary["Id"],
                    name=names[0] if names else summary["Id"][:12],
                    status=status,
                    engine_status=engine_status,
                )
            )
        return found

    # Operations --------------------------------------------------------------------------------

    def stop_timeout_in_force(self, container: ContainerState, stop_timeout: Optional[int]) -> int:
        return self.own_stop_timeout(container) if stop_timeout is None else stop_timeout

    def perform(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> bool:
        ref = container.ref
        since = time.time()
        try:
            if operation == "start":
                self.api.start(ref)
            elif operation in ("stop", "restart"):
                self._stop_or_restart(container, operation, stop_timeout)
                return self._was_killed(ref, since)
            elif operation == "force-stop":
                self.api.kill(ref)
                self.api.wait(ref, timeout=self.timeout, condition="not-running")
                return True
            elif operation == "pause":
                self.api.pause(ref)
            elif operation == "resume":
                self.api.unpause(ref)
            elif operation == "delete":
                self.api.remove_container(ref)
            else:
                raise BadInput(f"unknown operation {operation!r}")
        except NotFound:
            raise ContainerNotFound(container.name, f"it disappeared during {operation}") from None
        except APIError as exc:
            if exc.status_code == 409:
                raise OperationConflict(f"{operation} refused by the engine: {_reason(exc)}") from None
            raise OperationFailed(f"{operation} failed: {_reason(exc)}") from None
        except requests.exceptions.ReadTimeout:
            raise WaitTimeout(f"{operation} did not finish within {self.timeout}s") from None
        except requests.exceptions.ConnectionError as exc:
            raise OperationFailed(f"{operation} interrupted, lost the engine: {exc}") from None
        return operation == "force-stop"

    def _stop_or_restart(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> None:
        # docker-py's restart() always sends t=10 and overrides the container's own StopTimeout; we
        # send ``t`` only when the user gave one (0 included) and size the HTTP timeout to match.
        params = {} if stop_timeout is None else {"t": stop_timeout}
        deadline = self.stop_deadline(container, stop_timeout)
        url = self.api._url(f"/containers/{{0}}/{operation}", container.ref)
        try:
            response = self.api._post(url, params=params, timeout=deadline)
        except requests.exceptions.ReadTimeout:
            raise WaitTimeout(
                f"graceful {operation} did not finish within {deadline - STOP_MARGIN:.0f}s "
                f"(stop_timeout) plus a {STOP_MARGIN}s margin"
            ) from None
        self.api._raise_for_status(response)

    def _was_killed(self, ref: str, since: float) -> bool:
        """Whether the engine had to SIGKILL the container since ``since`` (a graceful stop escalated)."""
        try:
            events = self.api.events(
                since=since, until=time.time(), decode=True, filters={"container": ref, "event": "kill"}
            )
            return any(str(e.get("Actor", {}).get("Attributes", {}).get("signal")) == "9" for e in events)
        except (APIError, requests.exceptions.RequestException):
            return False

    # Waits -------------------------------------------------------------------------------------

    def _events_until(self, ref: str, deadline: float, actions: Optional[list[str]] = None):
        filters: dict[str, Any] = {"container": ref, "type": "container"}
        if actions:
            filters["event"] = actions
        return self.api.events(until=int(deadline) + 1, decode=True, filters=filters)

    def _watch(self, container: ContainerState, timeout: float, observe, actions=None) -> ContainerState:
        """Re-inspect on every engine event until ``observe(state)`` is true; one read when it already is."""
        state = observe(self.inspect(container.ref))
        if state is not None:
            return state
        stream = self._events_until(container.ref, time.time() + timeout, actions)
        try:
            # Whatever happened before the subscription took effect is caught by this read.
            state = observe(self.inspect(container.ref))
            if state is None:
                for _event in stream:
                    state = observe(self.inspect(container.ref))
                    if state is not None:
                        break
        finally:
            stream.close()
        if state is None:
            raise WaitTimeout(f"not there after {timeout:.0f}s")
        return state

    def wait_for(self, container: ContainerState, statuses: tuple[str, ...], timeout: float) -> ContainerState:
        last: list[ContainerState] = []

        def settled(state: ContainerState) -> Optional[ContainerState]:
            last[:] = [state]
            return state if state.status in statuses or not is_transitional(state.status) else None

        try:
            return self._watch(container, timeout, settled)
        except WaitTimeout:
            raise WaitTimeout(
                f"still {last[0].status!r} after {timeout:.0f}s, waiting for {' or '.join(statuses)}"
            ) from None

    def wait_healthy(self, container: ContainerState, timeout: float) -> ContainerState:
        last: list[ContainerState] = []

        def healthy(state: ContainerState) -> Optional[ContainerState]:
            last[:] = [check_health(state)]
            return state if state.health == "healthy" else None

        try:
            return self._watch(container, timeout, healthy, ["health_status", "die", "destroy", "stop"])
        except WaitTimeout:
            raise WaitTimeout(f"health check still {last[0].health!r} after {timeout:.0f}s") from None

    # Reports -----------------------------------------------------------------------------------

    def describe(self, container: ContainerState, runtime: bool) -> dict[str, Any]:
        container = self.inspected(container)
        info = info_from_inspect(container)
        if runtime:
            info["runtime"] = self._runtime(container)
        return info

    def _runtime(self, container: ContainerState) -> dict[str, Any]:
        runtime = network_runtime(container.details)
        if container.status != RUNNING:
            return runtime
        try:
            top = self._read(self.api.top, container.ref)
            titles = top.get("Titles") or []
            runtime["processes"] = [dict(zip(titles, row)) for row in top.get("Processes") or []]
            stats = self._read(self.api.stats, container.ref, stream=False, one_shot=True)
        except (APIError, NotFound) as exc:
            runtime["error"] = _reason(exc)
            return runtime
        memory = stats.get("memory_stats") or {}
        runtime["resource_usage"] = {
            "memory_usage_bytes": memory.get("usage"),
            "memory_limit_bytes": memory.get("limit"),
            "cpu_total_usage_ns": (stats.get("cpu_stats") or {}).get("cpu_usage", {}).get("total_usage"),
            "pids": (stats.get("pids_stats") or {}).get("current"),
        }
        return runtime

    def status_history(self, ref: str, since: Optional[float], until: Optional[float]) -> list[dict[str, Any]]:
        state = self.inspect(ref)
        now = time.time()
        filters = {"container": state.id or ref, "type": "container", "event": list(_history.DOCKER_EVENT_ACTIONS)}
        try:
            events = list(
                self.api.events(
                    since=since if since is not None else 0,
                    until=min(until, now) if until is not None else now,
                    decode=True,
                    filters=filters,
                )
            )
        except APIError as exc:
            raise OperationFailed(f"cannot read the engine's events for {ref!r}: {_reason(exc)}") from None
        return _history.records_from_docker_events(events)

    def close(self) -> None:
        self.api.close()
