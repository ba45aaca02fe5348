# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker's container model read from its JSON: shared by the Docker and Dockhand backends.

Dockhand answers with the Docker Engine's own inspect and list shapes, so both backends map states,
health and reports through these functions and need no Docker SDK for it.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    DEFAULT_STOP_TIMEOUT,
    Backend,
    ContainerState,
    names,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, Unhealthy
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    FAILED,
    PAUSED,
    RUNNING,
    STOPPED,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import Health
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import (
    ContainerInfo,
    NetworkRuntime,
    PortBinding,
    ResourceUsage,
    Runtime,
)

# Docker's ``State.Status`` onto the canonical vocabulary.
STATUS_MAP = {
    "created": STOPPED,
    "exited": STOPPED,
    "running": RUNNING,
    "paused": PAUSED,
    "restarting": "restarting",
    "removing": "removing",
    "dead": FAILED,
}

_NEVER = "0001-01-01"
AUTOSTART_POLICIES = ("always", "unless-stopped")
# The label Docker Compose puts its project in: ``filters.project`` and the inventory's project read it.
COMPOSE_PROJECT = "com.docker.compose.project"


def _timestamp(value: Optional[str]) -> Optional[str]:
    return None if not value or value.startswith(_NEVER) else value


def state_from_inspect(data: dict[str, Any]) -> ContainerState:
    """A ``ContainerState`` from ``GET /containers/{id}/json``; the inspect data stays in ``details``."""
    state = data["State"]
    engine_status = state.get("Status") or ("running" if state.get("Running") else "exited")
    return ContainerState(
        id=data["Id"],
        name=data["Name"].lstrip("/"),
        status=STATUS_MAP.get(engine_status, FAILED),
        engine_status=engine_status,
        health=(state.get("Health") or {}).get("Status"),
        details=data,
    )


def info_from_inspect(container: ContainerState) -> ContainerInfo:
    """The ``container_info`` entry of a container observed through its inspect data."""
    data = container.details
    state = data["State"]
    config = data.get("Config") or {}
    restart_policy = (data.get("HostConfig") or {}).get("RestartPolicy") or {}
    return {
        "exists": True,
        "id": data["Id"],
        "name": container.name,
        "status": container.status,
        "engine_status": container.engine_status,
        "health": container.health,
        "autostart": restart_policy.get("Name") in AUTOSTART_POLICIES,
        "image": config.get("Image"),
        "labels": config.get("Labels") or {},
        "started_at": _timestamp(state.get("StartedAt")),
        "finished_at": _timestamp(state.get("FinishedAt")),
        "exit_code": state.get("ExitCode"),
    }


def _ports(raw: Any) -> dict[str, Optional[list[PortBinding]]]:
    """``NetworkSettings.Ports``: ``<port>/<protocol>`` -> host bindings, or None when not published."""
    ports: dict[str, Optional[list[PortBinding]]] = {}
    for port, bindings in (raw if isinstance(raw, dict) else {}).items():
        ports[port] = [
            {"HostIp": binding.get("HostIp") or "", "HostPort": str(binding.get("HostPort") or "")}
            for binding in bindings
            if isinstance(binding, dict)
        ] if isinstance(bindings, list) else None  # fmt: skip
    return ports


def network_runtime(data: dict[str, Any], status: str) -> Runtime:
    """The ``runtime`` that inspect data shows: ports and networks.

    Processes are [] for a container that has none (not running, not paused) and None otherwise, and
    resource usage None: filling those in, when it can, is the backend's job.
    """
    settings = data.get("NetworkSettings") or {}
    networks: dict[str, NetworkRuntime] = {
        name: {
            "ip_address": net.get("IPAddress") or None,
            "gateway": net.get("Gateway") or None,
            "mac_address": net.get("MacAddress") or None,
            "aliases": list(net.get("Aliases") or []),
        }
        for name, net in (settings.get("Networks") or {}).items()
        if isinstance(net, dict)
    }
    return {
        "processes": None if status in (RUNNING, PAUSED) else [],
        "ports": _ports(settings.get("Ports")),
        "networks": networks,
        "resource_usage": None,
    }


def resource_usage(stats: dict[str, Any]) -> ResourceUsage:
    """``resource_usage`` from one ``GET /containers/{id}/stats?stream=false&one-shot=true`` answer.

    A one-shot answer has no earlier sample to compare with, so the CPU percentage is not known.
    """
    memory = stats.get("memory_stats") or {}
    return {
        "memory_usage_bytes": memory.get("usage"),
        "memory_limit_bytes": memory.get("limit"),
        "cpu_total_usage_ns": ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage"),
        "cpu_usage_percent": None,
        "pids": (stats.get("pids_stats") or {}).get("current"),
    }


def config_from_inspect(data: dict[str, Any]) -> dict[str, Any]:
    """The flat settings ``container_config`` manages, read from a container's inspect data."""
    host: dict[str, Any] = data["HostConfig"] if isinstance(data.get("HostConfig"), dict) else {}
    config: dict[str, Any] = data["Config"] if isinstance(data.get("Config"), dict) else {}
    env = dict(item.split("=", 1) if "=" in item else (item, "") for item in config.get("Env") or [])
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


def update_body(host: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Docker's ``POST /containers/{id}/update`` fields for flat settings (Dockhand's update-runtime takes them too)."""
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
    return body


def label_filters(filters: dict[str, Any]) -> list[str]:
    """``filters.label`` plus ``filters.project`` as the Compose project label: what a Docker-shaped engine
    selects by."""
    labels = list(filters.get("label") or [])
    if filters.get("project"):
        labels.append(f"{COMPOSE_PROJECT}={filters['project']}")
    return labels


def listed_facts(labels: Any, image: Optional[str], health: Optional[str]) -> dict[str, Any]:
    """``Backend.listed_facts`` of a Docker-shaped listing entry; the project is the Compose project label."""
    labels = dict(labels) if isinstance(labels, dict) else {}
    return {"labels": labels, "image": image, "health": health, "project": labels.get(COMPOSE_PROJECT)}


def event_is_of(event: dict[str, Any], state: ContainerState, ref: str) -> bool:
    """Whether a container event (Docker's or libpod's: the same ``Actor``) is of the container ``state``, or, for
    a removed one, of one ``ref`` names."""
    actor = event.get("Actor") or {}
    if state.id:
        return actor.get("ID") == state.id
    return names(ref, (actor.get("Attributes") or {}).get("name"), actor.get("ID"))


class DockerShapedBackend(Backend):
    """What the Docker and Dockhand backends share: both read containers as Docker's inspect JSON."""

    # Docker's own rule for container names; a hex id (full or a prefix) matches it too.
    ref_pattern = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
    ref_rule = "a Docker container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*) or a hex id"
    # The Compose project label's value, and a network by name or id, under the same characters.
    project_pattern = ref_pattern
    project_rule = "a Compose project name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)"
    network_pattern = ref_pattern
    network_rule = "a Docker network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*) or a hex id"

    def inspected(self, container: ContainerState) -> ContainerState:
        """The container with its full inspect data; a state from a listing carries only a summary."""
        if "State" in container.details and "Config" in container.details:
            return container
        return self.inspect(container.ref)

    def own_stop_timeout(self, container: ContainerState) -> int:
        """The container's own StopTimeout (``docker run --stop-timeout``), else the engine's default."""
        own = (self.inspected(container).details.get("Config") or {}).get("StopTimeout")
        return DEFAULT_STOP_TIMEOUT if own is None else own


class DockerHealth(Health):
    """Docker's health checks (``HEALTHCHECK``, Compose's ``healthcheck``), as inspect shows them."""

    backend: DockerShapedBackend

    def has_check(self, container: ContainerState) -> Optional[bool]:
        config = self.backend.inspected(container).details.get("Config") or {}
        test = (config.get("Healthcheck") or {}).get("Test") or ["NONE"]
        return test[0] != "NONE"

    def check(self, state: ContainerState) -> ContainerState:
        """Raise as soon as waiting for health is pointless: stopped, no health check, or unhealthy."""
        if state.status != RUNNING:
            exit_code = state.details.get("State", {}).get("ExitCode")
            raise Unhealthy(f"it became {state.status!r} (exit code {exit_code}) while waiting to be healthy")
        if state.health is None:
            raise BadInput("healthy: true, but the container has no health check (HEALTHCHECK / healthcheck)")
        if state.health == "unhealthy":
            log = (state.details["State"].get("Health") or {}).get("Log") or [{}]
            output = (log[-1].get("Output") or "").strip()
            raise Unhealthy("its health check reports unhealthy" + (f": {output[:300]}" if output else ""))
        return state
