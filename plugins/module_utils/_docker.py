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

from ansible_collections.containerops.lifecycle.plugins.module_utils import _docker_snapshot, _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    STOP_MARGIN,
    ContainerState,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import (
    AUTOSTART_POLICIES,
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

    # Configuration -----------------------------------------------------------------------------

    # Docker applies restart policy and resource limits to running containers; the environment is
    # fixed when a container is created.
    config_settings = ("autostart", "resources.memory", "resources.cpus")

    def read_config(self, container: ContainerState) -> dict[str, Any]:
        data = self.inspected(container).details
        host = data.get("HostConfig") or {}
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in data["Config"].get("Env") or [])
        if host.get("NanoCpus"):
            cpus = host["NanoCpus"] / 1e9
        elif (host.get("CpuQuota") or 0) > 0:
            cpus = host["CpuQuota"] / (host.get("CpuPeriod") or 100000)
        else:
            cpus = None
        return {
            "autostart": (host.get("RestartPolicy") or {}).get("Name") in AUTOSTART_POLICIES,
            "environment_vars": env,
            "resources.memory": host.get("Memory") or None,
            "resources.cpus": round(cpus, 9) if cpus else None,
        }

    def why_not_settable(self, setting: str) -> str:
        if setting == "environment_vars":
            return (
                "backend docker cannot change the environment of an existing container: Docker fixes it "
                "when the container is created. Recreate the container with the new environment"
            )
        return super().why_not_settable(setting)

    def update_config(self, container: ContainerState, changes: dict[str, Any]) -> None:
        host = self.inspected(container).details.get("HostConfig") or {}
        body: dict[str, Any] = {}
        if "autostart" in changes:
            body["RestartPolicy"] = {"Name": "unless-stopped" if changes["autostart"] else "no", "MaximumRetryCount": 0}
        if "resources.memory" in changes:
            memory = changes["resources.memory"]
            body["Memory"] = memory
            # The engine wants the swap limit updated with the memory limit: keep the swap allowance the
            # container had, Docker's default (as much swap as memory) when it had none, or unlimited.
            old_memory, old_swap = host.get("Memory") or 0, host.get("MemorySwap") or 0
            if old_swap == -1:
                body["MemorySwap"] = -1
            elif old_memory > 0 and old_swap >= old_memory:
                body["MemorySwap"] = memory + (old_swap - old_memory)
            else:
                body["MemorySwap"] = 2 * memory
        if "resources.cpus" in changes:
            cpus = changes["resources.cpus"]
            if (host.get("CpuQuota") or 0) > 0 and not host.get("NanoCpus"):
                body["CpuQuota"] = int(cpus * (host.get("CpuPeriod") or 100000))
            else:
                body["NanoCpus"] = int(cpus * 1e9)
        try:
            response = self.api._post_json(self.api._url("/containers/{0}/update", container.ref), data=body)
            self.api._raise_for_status(response)
        except NotFound:
            raise ContainerNotFound(container.name, "it disappeared during the update") from None
        except APIError as exc:
            raise OperationFailed(f"the engine refused the update of {container.name!r}: {_reason(exc)}") from None

    # Aliases -----------------------------------------------------------------------------------

    def _alias_network(self, options: dict[str, Any]) -> str:
        network = options.get("network")
        if not network:
            raise BadInput("network is required with backend docker: the user-defined network the alias lives on")
        try:
            data = self._read(self.api.inspect_network, network)
        except NotFound:
            raise BadInput(f"network {network!r} not found on the engine") from None
        if data["Name"] in ("bridge", "host", "none") or data.get("Driver") in ("host", "null"):
            raise BadInput(
                f"network {network!r} cannot hold aliases: Docker resolves aliases only on user-defined "
                "networks (docker network create ...)"
            )
        return data["Name"]

    def alias_holders(self, alias: str, options: dict[str, Any]) -> list[dict[str, Any]]:
        network = self._alias_network(options)
        holders = []
        for summary in self._read(self.api.containers, all=True, filters={"network": network}):
            state = self.inspect(summary["Id"])
            endpoint = (state.details.get("NetworkSettings") or {}).get("Networks", {}).get(network) or {}
            if alias in (endpoint.get("Aliases") or []):
                holders.append({"name": state.name, "id": state.id, "in_sync": True})
        return sorted(holders, key=lambda holder: holder["name"])

    def point_alias(
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

    def _set_alias(self, ref: str, network: str, alias: str, present: bool) -> None:
        """Docker cannot edit an endpoint's aliases: reconnect the container with the new list."""
        state = self.inspect(ref)
        endpoint = (state.details.get("NetworkSettings") or {}).get("Networks", {}).get(network)
        aliases = [a for a in (endpoint or {}).get("Aliases") or [] if a not in (alias, (state.id or "")[:12])]
        if present:
            aliases.append(alias)
        ipam = (endpoint or {}).get("IPAMConfig") or {}
        try:
            if endpoint is not None:
                self.api.disconnect_container_from_network(state.ref, network)
            self.api.connect_container_to_network(
                state.ref,
                network,
                aliases=aliases or None,
                ipv4_address=ipam.get("IPv4Address") or None,
                ipv6_address=ipam.get("IPv6Address") or None,
                links=[tuple(link.split(":", 1)) for link in (endpoint or {}).get("Links") or []] or None,
            )
        except APIError as exc:
            raise OperationFailed(
                f"could not {'give' if present else 'take'} alias {alias!r} {'to' if present else 'from'} "
                f"{state.name!r} on network {network!r}: {_reason(exc)}"
            ) from None

    # Snapshots ---------------------------------------------------------------------------------

    def snapshots(self, container: ContainerState) -> list[dict[str, Any]]:
        images = self._read(self.api.images, filters={"label": f"{_docker_snapshot.LABEL_CONTAINER}={container.name}"})
        prefix = _docker_snapshot.REPOSITORY + "/"
        return [
            _docker_snapshot.snapshot_from_image(image)
            for image in images
            if any(tag.startswith(prefix) for tag in image.get("RepoTags") or [])
        ]

    def create_snapshot(self, container: ContainerState, alias: str) -> dict[str, Any]:
        container = self.inspected(container)
        saved = _docker_snapshot.saved_config(container.details, container.status)
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        labels = dict(container.details["Config"].get("Labels") or {})
        labels.update(_docker_snapshot.snapshot_labels(container.name, alias, created))
        repository, tag = _docker_snapshot.image_reference(container.name, alias).rsplit(":", 1)
        try:
            committed = self.api.commit(
                container.ref,
                repository=repository,
                tag=tag,
                message=_docker_snapshot.comment_of(saved),
                conf={"Labels": labels},
            )
            image = self.api.inspect_image(committed["Id"])
        except APIError as exc:
            raise OperationFailed(f"could not commit {container.name!r}: {_reason(exc)}") from None
        return _docker_snapshot.snapshot_from_image(image)

    def delete_snapshot(self, container: ContainerState, snapshot: dict[str, Any]) -> None:
        # Removing the tag ends the snapshot; a container restored from it keeps the image it runs on.
        # A replaced snapshot has lost its tag to the new one already: its image goes unless in use.
        try:
            tagged = self._read(self.api.inspect_image, snapshot["name"])["Id"] == snapshot["image_id"]
        except NotFound:
            tagged = False
        try:
            if tagged:
                self.api.remove_image(snapshot["name"], force=True)
            else:
                self.api.remove_image(snapshot["image_id"])
        except NotFound:
            pass
        except APIError as exc:
            if tagged or exc.status_code != 409:
                raise OperationFailed(f"could not remove snapshot {snapshot['name']!r}: {_reason(exc)}") from None

    def is_restored_from(self, container: ContainerState, snapshot: dict[str, Any]) -> bool:
        if container.status == "absent":
            return False
        return self.inspected(container).details.get("Image") == snapshot["image_id"]

    def restore_snapshot(
        self, container: ContainerState, snapshot: dict[str, Any], stop_timeout: Optional[int], wait_timeout: float
    ) -> ContainerState:
        """Recreate the container from the snapshot's image and saved configuration.

        The current container is stopped and set aside under another name until its replacement
        exists; if anything fails, the replacement is removed and the original put back as it was.
        """
        try:
            image = self._read(self.api.inspect_image, snapshot["image_id"])
        except NotFound:
            raise OperationFailed(f"snapshot {snapshot['name']!r} disappeared") from None
        saved = _docker_snapshot.saved_from_image(image)
        if saved is None:
            raise OperationFailed(f"snapshot {snapshot['name']!r} carries no saved configuration to restore")
        name = saved["name"]
        old = self.inspected(container) if container.status != "absent" else None
        if old is not None and old.status == RUNNING:
            self._stop_or_restart(old, "stop", stop_timeout)
        set_aside = f"{name}-replaced-{int(time.time())}"
        new_id = None
        try:
            if old is not None:
                self.api.rename(old.ref, set_aside)
            body, later_networks = _docker_snapshot.create_body(saved, snapshot["image_id"])
            response = self.api._post_json(self.api._url("/containers/create"), data=body, params={"name": name})
            new_id = self.api._result(response, True)["Id"]
            for network, endpoint in later_networks:
                self.api.connect_container_to_network(
                    new_id,
                    network,
                    aliases=endpoint.get("Aliases"),
                    ipv4_address=(endpoint.get("IPAMConfig") or {}).get("IPv4Address"),
                    ipv6_address=(endpoint.get("IPAMConfig") or {}).get("IPv6Address"),
                )
            if saved["status"] == RUNNING:
                self.api.start(new_id)
        except APIError as exc:
            left = self._put_back(old, set_aside, new_id, name)
            raise OperationFailed(
                f"restore of {name!r} from {snapshot['name']!r} failed: {_reason(exc)}; {left}"
            ) from None
        if old is not None:
            self.api.remove_container(old.id)
        return self.inspect(new_id)

    def _put_back(self, old: Optional[ContainerState], set_aside: str, new_id: Optional[str], name: str) -> str:
        """Undo a failed restore; says what the container was left as."""
        if new_id:
            self.api.remove_container(new_id, force=True)
        if old is None:
            return "no container was created"
        self.api.rename(old.id, name)
        if old.status == RUNNING:
            self.api.start(old.id)
        return f"the original container was put back ({self.inspect(old.id).status})"

    def close(self) -> None:
        self.api.close()
