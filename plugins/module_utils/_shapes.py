# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shapes of what the modules return: one ``TypedDict`` per returned entry.

Each type mirrors the module's RETURN documentation; every backend fills the same shape, and a value an
engine cannot know is None, never invented. TypedDicts are plain dicts at run time (nothing to convert
before ``exit_json``) and need only the standard library of Python 3.9, the oldest the modules support.

Backend-private data (what a backend needs to act on an entry again, never shown to users) sits under one
key, ``private``, in the few internal entries that carry any (``SnapshotRecord``, ``AliasHolder``); modules
build their results with ``public`` so no private key can leak.
"""

from __future__ import annotations

from typing import Any, Optional, TypedDict, TypeVar

__all__ = [
    "Action",
    "AliasHolder",
    "AliasResult",
    "AliasTarget",
    "ConfigEntry",
    "ConfigResources",
    "ConfigResult",
    "ConfigSettings",
    "ContainerInfo",
    "Diff",
    "MissingContainer",
    "NetworkRuntime",
    "PortBinding",
    "ResourceUsage",
    "Runtime",
    "Snapshot",
    "SnapshotContainer",
    "SnapshotRecord",
    "SnapshotResult",
    "StateEntry",
    "StatusLogRecord",
    "public",
    "runtime_keys",
]

S = TypeVar("S")


class Diff(TypedDict):
    """``diff`` of a task run with ``--diff``: one text before, one after."""

    before: str
    after: str
    before_header: str
    after_header: str


# container_info ----------------------------------------------------------------------------------


class PortBinding(TypedDict):
    """One host binding of a container port, in Docker's own spelling (``HostPort`` is a string)."""

    HostIp: str
    HostPort: str


class NetworkRuntime(TypedDict):
    """A container's place on one network (Hoody: on one interface)."""

    ip_address: Optional[str]
    gateway: Optional[str]
    mac_address: Optional[str]
    aliases: list[str]


class ResourceUsage(TypedDict):
    """What a running container uses now; a figure the engine does not give is None."""

    memory_usage_bytes: Optional[int]
    memory_limit_bytes: Optional[int]
    cpu_total_usage_ns: Optional[int]
    cpu_usage_percent: Optional[float]
    pids: Optional[int]


class _Runtime(TypedDict):
    # The engine's own rows: Docker ``ps`` columns (UID, PID, PPID, C, STIME, TTY, TIME, CMD), Hoody service
    # units (name, status, pid, ...). [] when the container has no processes; None when they were not read.
    processes: Optional[list[dict[str, Any]]]
    # "<port>/<protocol>" -> host bindings, or None for a port the container offers but is not published.
    ports: Optional[dict[str, Optional[list[PortBinding]]]]
    networks: Optional[dict[str, NetworkRuntime]]
    resource_usage: Optional[ResourceUsage]


class Runtime(_Runtime, total=False):
    """``containers[].runtime`` of container_info."""

    error: str  # why part of it could not be read; only then


class MissingContainer(TypedDict):
    """The container_info entry of a name that does not exist."""

    name: str
    exists: bool  # always False


class _ContainerInfo(TypedDict):
    exists: bool
    id: str
    name: str
    status: str
    engine_status: Optional[str]
    health: Optional[str]
    autostart: bool
    image: Optional[str]
    labels: dict[str, str]
    started_at: Optional[str]
    finished_at: Optional[str]
    exit_code: Optional[int]


class ContainerInfo(_ContainerInfo, total=False):
    """A ``containers[]`` entry of container_info for a container that exists."""

    runtime: Runtime  # with runtime=true only
    project_id: Optional[str]  # Hoody only; not (yet) in the RETURN documentation


# container_state ---------------------------------------------------------------------------------


class _Action(TypedDict):
    operation: str
    duration_ms: Optional[int]  # None for a planned action (check mode)
    forced: bool


class Action(_Action, total=False):
    """One ``actions[]`` item of container_state (also container_config's ``actions``)."""

    error: str  # the operation failed (a graceful stop escalated, or in flight)


class _StateEntry(TypedDict):
    id: Optional[str]
    name: str
    status_before: str
    status: str
    engine_status: Optional[str]
    changed: bool
    actions: list[Action]
    escalated: bool
    health: Optional[str]


class StateEntry(_StateEntry, total=False):
    """A ``containers[]`` entry of container_state, built by ``_driver.Converger``."""

    duration_ms: int  # set once the container is done
    error: str  # why this container failed; only then


# container_status_logs ---------------------------------------------------------------------------


class StatusLogRecord(TypedDict):
    """One ``logs[]`` record of container_status_logs (``_history``'s record)."""

    id: str
    container_id: str
    from_status: Optional[str]
    to_status: str
    transition_time: str  # ISO 8601 UTC
    duration_ms: Optional[int]
    triggered_by: Optional[str]
    metadata: dict[str, Any]  # ``operation`` plus engine details


# container_snapshot ------------------------------------------------------------------------------


class Snapshot(TypedDict):
    """``snapshot`` of container_snapshot."""

    name: str
    alias: Optional[str]
    container: Optional[str]
    created_at: Optional[str]
    stateful: bool
    size: Optional[int]


class SnapshotRecord(Snapshot, total=False):
    """A backend's snapshot: the public ``Snapshot`` plus what only that backend reads back.

    ``private`` holds it (Docker: the ``image_id`` it restores from); modules return ``public(Snapshot, record)``.
    """

    private: dict[str, Any]


class SnapshotContainer(TypedDict):
    """``container`` of container_snapshot."""

    id: Optional[str]
    name: str
    status: str


class _SnapshotResult(TypedDict):
    changed: bool
    snapshot: Optional[Snapshot]
    container: SnapshotContainer
    actions: list[str]


class SnapshotResult(_SnapshotResult, total=False):
    """What container_snapshot returns besides ``elapsed``."""

    diff: Diff  # with --diff only


# container_alias ---------------------------------------------------------------------------------


class _AliasHolder(TypedDict):
    name: str
    id: str
    in_sync: bool  # its alias settings already match the task's


class AliasHolder(_AliasHolder, total=False):
    """A backend's holder of an alias (``Aliases.holders``); only ``name`` reaches results.

    ``url`` is the alias's public URL where the engine gives one (Hoody). ``private`` is what the backend
    needs to move the alias again (Hoody: the proxy-alias record).
    """

    url: Optional[str]
    private: dict[str, Any]


class AliasTarget(TypedDict):
    """``target`` of container_alias."""

    id: Optional[str]
    name: str


class _AliasResult(TypedDict):
    changed: bool
    alias: str
    target: Optional[AliasTarget]
    previous: list[str]
    holders: list[str]
    window_ms: Optional[int]


class AliasResult(_AliasResult, total=False):
    """What container_alias returns besides ``elapsed``."""

    url: Optional[str]  # when the backend reports one (Hoody)
    diff: Diff  # with --diff only


# container_config --------------------------------------------------------------------------------


class ConfigResources(TypedDict):
    memory: Optional[int]  # bytes
    cpus: Optional[float]


class ConfigSettings(TypedDict):
    """``before`` and ``config`` of container_config; a setting the backend does not know is None."""

    autostart: Optional[bool]
    environment_vars: Optional[dict[str, str]]
    resources: ConfigResources


class _ConfigEntry(TypedDict):
    id: Optional[str]
    name: str
    status: str
    changed: bool
    before: Optional[ConfigSettings]  # None when the settings could not be read
    config: Optional[ConfigSettings]  # None when the task did not get as far as reading them back
    changes: list[str]
    restarted: bool
    actions: list[Action]


class ConfigEntry(_ConfigEntry, total=False):
    """A ``containers[]`` entry of container_config (its single entry is also spread at the top level)."""

    error: str


class _ConfigResult(TypedDict):
    changed: bool
    containers: list[ConfigEntry]


class ConfigResult(_ConfigResult, total=False):
    """What container_config returns besides ``elapsed``; one container's report is also at the top level."""

    container: ConfigEntry  # one container only, as the next five
    before: Optional[ConfigSettings]
    config: Optional[ConfigSettings]
    changes: list[str]
    restarted: bool
    actions: list[Action]
    diff: list[Diff]  # with --diff only
    failed: bool  # with ``msg``, when a container failed
    msg: str


# helpers -----------------------------------------------------------------------------------------


def public(shape: type[S], entry: Any) -> S:
    """Only the keys ``shape`` declares, so no backend-private key reaches a result."""
    keys = getattr(shape, "__annotations__", {})
    return {key: value for key, value in entry.items() if key in keys and key != "private"}  # type: ignore[return-value]


def runtime_keys() -> dict[str, tuple[str, ...]]:
    """The documented keys of ``runtime`` and of its parts (what every backend fills)."""
    return {
        "runtime": tuple(_Runtime.__annotations__),
        "networks": tuple(NetworkRuntime.__annotations__),
        "resource_usage": tuple(ResourceUsage.__annotations__),
    }
