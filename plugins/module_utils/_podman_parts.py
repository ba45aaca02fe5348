# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Podman backend's parts (``_parts``): settings (read only), snapshots, network aliases and health checks,
each through its ``PodmanBackend``'s libpod client (``backend.api``), its errors translated at the backend's edge
(``PodmanBackend._engine``).

A snapshot is named and labelled as on Docker (``_docker_snapshot``), but Podman tags it
``localhost/containerops-snapshot/<name>:<tag>``, and what recreates the container is saved in the image's
comment as libpod's own create body (a SpecGenerator), built from the container's inspect.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _docker_snapshot
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    ContainerState,
    wait_timed_out,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import config_from_inspect
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ContainerNotFound,
    OperationFailed,
    Unhealthy,
    Unsupported,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import ABSENT, RUNNING, STOPPED
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import (
    Health,
    NetworkAliases,
    Settings,
    Snapshots,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman import (
    PodmanApiError,
    PodmanBackend,
    PodmanUnreachable,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import poll
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import SnapshotRecord

#: The Podman release whose update keeps resource limits and can change the restart policy (5.1.0's notes).
UPDATE_KEPT_SINCE = "5.1"
#: The Podman release whose update can change the environment (5.5.0's notes).
ENV_UPDATE_SINCE = "5.5"
#: Podman names a local image without a registry ``localhost/...``.
LOCAL_REGISTRY = "localhost/"
# The network modes a snapshot's create body names itself; others (a pod's, another container's) are left out.
_OWN_NETWORK_MODES = ("bridge", "host", "none", "slirp4netns", "private")


# Snapshots as data ---------------------------------------------------------------------------------


def is_snapshot_tag(tag: str) -> bool:
    """Whether an image tag is one of ours: ``containerops-snapshot/...``, as Podman shows it or not."""
    return tag.removeprefix(LOCAL_REGISTRY).startswith(_docker_snapshot.REPOSITORY + "/")


def snapshot_spec(inspect: dict[str, Any]) -> dict[str, Any]:
    """libpod's create body (SpecGenerator, without ``image``) that recreates the container from its inspect.

    It keeps the name, command, environment, labels, working directory and user, stop signal and timeout,
    restart policy, health check, published ports, networks with their aliases, volumes and bind mounts,
    rlimits, capabilities and resource limits. The process is ``Path`` + ``Args`` (the entrypoint and command
    as they ran), so the image's own entrypoint is not added again.
    """
    config = inspect.get("Config") or {}
    host = inspect.get("HostConfig") or {}
    short_id = inspect["Id"][:12]
    env = dict(item.split("=", 1) if "=" in item else (item, "") for item in config.get("Env") or [])
    if env.get("HOSTNAME") == config.get("Hostname") == short_id:
        del env["HOSTNAME"]  # Podman's default, tied to the old id
    spec: dict[str, Any] = {
        "name": inspect["Name"].lstrip("/"),
        "entrypoint": [],
        "command": [inspect["Path"], *(inspect.get("Args") or [])] if inspect.get("Path") else None,
        "env": env,
        "labels": dict(config.get("Labels") or {}),
        "work_dir": config.get("WorkingDir") or None,
        "user": config.get("User") or None,
        "hostname": None if config.get("Hostname") == short_id else config.get("Hostname"),
        "terminal": bool(config.get("Tty")),
        "stdin": bool(config.get("OpenStdin")),
        "stop_signal": config.get("StopSignal"),
        "stop_timeout": config.get("StopTimeout"),
        "healthconfig": config.get("Healthcheck") or None,
        "privileged": bool(host.get("Privileged")),
        "read_only_filesystem": bool(host.get("ReadonlyRootfs")),
        "cap_add": host.get("CapAdd") or None,
        "cap_drop": host.get("CapDrop") or None,
        "r_limits": [
            {"type": limit["Name"].lower().removeprefix("rlimit_"), "soft": limit["Soft"], "hard": limit["Hard"]}
            for limit in host.get("Ulimits") or []
        ]
        or None,
        "resource_limits": _resource_limits(host),
    }
    policy = host.get("RestartPolicy") or {}
    if policy.get("Name") not in (None, "", "no"):
        spec["restart_policy"] = policy["Name"]
        if policy["Name"] == "on-failure" and policy.get("MaximumRetryCount"):
            spec["restart_tries"] = policy["MaximumRetryCount"]
    spec.update(_network_spec(inspect, short_id))
    spec.update(_storage_spec(inspect.get("Mounts") or []))
    return {key: value for key, value in spec.items() if value is not None}


def _resource_limits(host: dict[str, Any]) -> Optional[dict[str, Any]]:
    limits: dict[str, Any] = {}
    if host.get("Memory"):
        limits["memory"] = {"limit": host["Memory"]}
        if host.get("MemorySwap"):
            limits["memory"]["swap"] = host["MemorySwap"]
    if host.get("NanoCpus"):
        limits["cpu"] = {"quota": host["NanoCpus"] // 10000, "period": 100000}
    elif (host.get("CpuQuota") or 0) > 0:
        limits["cpu"] = {"quota": host["CpuQuota"], "period": host.get("CpuPeriod") or 100000}
    return limits or None


def _network_spec(inspect: dict[str, Any], short_id: str) -> dict[str, Any]:
    """The network namespace, published ports and networks (each with its aliases but the id's)."""
    mode = (inspect.get("HostConfig") or {}).get("NetworkMode") or "bridge"
    if mode not in _OWN_NETWORK_MODES:
        return {}
    spec: dict[str, Any] = {"netns": {"nsmode": mode}}
    if mode == "bridge":
        networks = ((inspect.get("NetworkSettings") or {}).get("Networks")) or {}
        spec["Networks"] = {
            name: {"aliases": [alias for alias in endpoint.get("Aliases") or [] if alias != short_id]}
            for name, endpoint in networks.items()
        }
    ports = []
    for port, bindings in ((inspect.get("HostConfig") or {}).get("PortBindings") or {}).items():
        number, _slash, protocol = port.partition("/")
        for binding in bindings or []:
            ports.append(
                {
                    "container_port": int(number),
                    "host_port": int(binding.get("HostPort") or 0),
                    "host_ip": binding.get("HostIp") or "",
                    "protocol": protocol or "tcp",
                }
            )
    if ports:
        spec["portmappings"] = ports
    return spec


def _storage_spec(mounts: list[dict[str, Any]]) -> dict[str, Any]:
    """Volumes by name (anonymous ones too, so the new container keeps their data) and bind mounts."""
    volumes, binds = [], []
    for mount in mounts:
        options = [] if mount.get("RW", True) else ["ro"]
        if mount.get("Type") == "volume" and mount.get("Name"):
            volumes.append({"Name": mount["Name"], "Dest": mount["Destination"], "Options": options})
        elif mount.get("Type") == "bind":
            binds.append(
                {
                    "type": "bind",
                    "source": mount["Source"],
                    "destination": mount["Destination"],
                    "options": ["rbind", *options],
                }
            )
    return {"volumes": volumes or None, "mounts": binds or None}


def saved_snapshot(inspect: dict[str, Any], status: str) -> dict[str, Any]:
    """What a snapshot's comment keeps: the container's name, its status then, and its create body."""
    return {"name": inspect["Name"].lstrip("/"), "status": status, "spec": snapshot_spec(inspect)}


def saved_from_image(image: dict[str, Any]) -> Optional[dict[str, Any]]:
    """The saved container of a snapshot image; None when the image is not ours or its comment is damaged."""
    try:
        saved = json.loads(image.get("Comment") or "")
    except ValueError:
        return None
    if not (isinstance(saved, dict) and isinstance(saved.get("spec"), dict) and {"name", "status"} <= set(saved)):
        return None
    return saved


def commit_params(container_id: str, name: str, alias: str, saved: dict[str, Any], created: str) -> dict[str, Any]:
    """libpod's commit query: the image reference, our labels on top of the container's, the saved container.

    libpod keeps a commit's comment only in the docker image format; a running container is paused meanwhile,
    as Docker does, so its files are committed at one moment.
    """
    repository, tag = _docker_snapshot.image_reference(name, alias).rsplit(":", 1)
    labels = _docker_snapshot.snapshot_labels(name, alias, created)
    return {
        "container": container_id,
        "repo": repository,
        "tag": tag,
        "format": "docker",
        "pause": "true" if saved["status"] == RUNNING else "false",
        "comment": _docker_snapshot.comment_of(saved),
        "changes": [f"LABEL {key}={json.dumps(value)}" for key, value in sorted(labels.items())],
    }


# The parts -------------------------------------------------------------------------------------------


class PodmanSettings(Settings):
    """Reads the settings ``container_config`` manages, and changes none of them.

    Podman 4's ``POST /containers/{id}/update`` changes the running container's cgroup only: inspect does not
    show it, a restart forgets it, a stopped container refuses it, and the restart policy cannot be changed.
    A change that would not be there the next time it is read is refused before anything changes.
    """

    backend: PodmanBackend

    def read(self, container: ContainerState) -> dict[str, Any]:
        current = self.backend.inspect(container.ref)
        if current.status == ABSENT:
            raise ContainerNotFound(container.name, "it disappeared before its settings were read")
        return config_from_inspect(current.details)

    def why_not_settable(self, setting: str) -> str:
        if setting == "environment_vars":
            return (
                "backend podman cannot change the environment of an existing container: Podman fixes it when "
                f"the container is created (its update can change it from Podman {ENV_UPDATE_SINCE}, which this "
                "collection does not use). Recreate the container with the new environment"
            )
        if setting == "autostart" or setting.startswith("resources."):
            return (
                f"backend podman cannot change {setting}: before Podman {UPDATE_KEPT_SINCE}, libpod's update "
                "changes only the running container's cgroup (inspect does not show it, a restart forgets it) and "
                f"never the restart policy; Podman {UPDATE_KEPT_SINCE} keeps such changes, but this collection "
                "does not change settings through Podman. Recreate the container with the new settings"
            )
        return super().why_not_settable(setting)

    def update(self, container: ContainerState, changes: dict[str, Any]) -> None:
        """Never reached through a plan (nothing is settable): refused as the plan refuses it."""
        raise Unsupported("; ".join(self.why_not_settable(setting) for setting in sorted(changes)))


class PodmanSnapshots(Snapshots):
    """A snapshot is a committed image (``localhost/containerops-snapshot/<name>:<tag>``): it outlives the
    container and can recreate it."""

    backend: PodmanBackend

    outlive_container = True

    def of(self, container: ContainerState) -> list[SnapshotRecord]:
        label = f"{_docker_snapshot.LABEL_CONTAINER}={container.name}"
        with self.backend._engine(f"listing the snapshots of {container.name!r}"):
            images = self.backend.api.call("GET", "/images/json", {"filters": json.dumps({"label": [label]})})
        return [
            _docker_snapshot.snapshot_from_image(image)  # type: ignore[misc]
            for image in images or []
            if any(is_snapshot_tag(tag) for tag in image.get("RepoTags") or [])
        ]

    def take(self, container: ContainerState, alias: str) -> SnapshotRecord:
        current = self.backend.inspect(container.ref)
        if current.status == ABSENT:
            raise ContainerNotFound(container.name, "it disappeared before its snapshot was taken")
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        saved = saved_snapshot(current.details, current.status)
        with self.backend._engine(f"committing {container.name!r}", "snapshot"):
            committed = self.backend.api.call(
                "POST", "/commit", commit_params(current.id or "", current.name, alias, saved, created)
            )
            image = self.backend.api.call("GET", f"/images/{committed['Id']}/json")
        return _docker_snapshot.snapshot_from_image(image)  # type: ignore[return-value]

    def delete(self, container: ContainerState, snapshot: dict[str, Any]) -> None:
        """Untag the snapshot, then remove its image unless a container (restored from it) runs on it.

        Never a forced removal: libpod's would delete the containers using the image. A replaced snapshot has
        lost its tag to the new one already; only its image is left to remove.
        """
        name, image_id = snapshot["name"], snapshot["private"]["image_id"]
        with self.backend._engine(f"removing snapshot {name!r}", "snapshot removal"):
            try:
                try:
                    tagged = self.backend.api.call("GET", f"/images/{name}/json")["Id"] == image_id
                except PodmanApiError as exc:
                    if exc.status != 404:
                        raise
                    tagged = False
                if tagged:
                    repository, tag = name.rsplit(":", 1)
                    self.backend.api.call("POST", f"/images/{image_id}/untag", {"repo": repository, "tag": tag})
                self.backend.api.call("DELETE", f"/images/{image_id}")
            except PodmanApiError as exc:
                if exc.status not in (404, 409):  # gone already; in use by a container restored from it
                    raise

    def release_image(self, image_id: Optional[str]) -> None:
        """Remove the image of a removed snapshot that a container restored from it ran on, now that the container
        is gone; any other image stays. Only warns when it cannot: the container's removal is what was asked."""
        if not image_id:
            return
        try:
            image = self.backend.api.call("GET", f"/images/{image_id}/json")
            if image.get("RepoTags") or _docker_snapshot.LABEL_CONTAINER not in (image.get("Labels") or {}):
                return
            self.backend.api.call("DELETE", f"/images/{image_id}")
        except PodmanApiError as exc:
            if exc.status not in (404, 409):  # gone already; another container runs on it
                self.backend.warn(f"the image {image_id[:12]} of a removed snapshot was left behind: {exc.message}")
        except PodmanUnreachable as exc:
            self.backend.warn(f"the image {image_id[:12]} of a removed snapshot was left behind: {exc.reason}")

    def is_restored_from(self, container: ContainerState, snapshot: SnapshotRecord) -> bool:
        if container.status == ABSENT:
            return False
        current = self.backend.inspect(container.ref)
        return current.status != ABSENT and current.details.get("Image") == snapshot["private"]["image_id"]

    def restore(
        self, container: ContainerState, snapshot: dict[str, Any], stop_timeout: Optional[int], wait_timeout: float
    ) -> ContainerState:
        """Recreate the container from the snapshot's image and saved create body.

        The current container is stopped and set aside under another name until its replacement exists; if
        anything fails, the replacement is removed and the original put back as it was.
        """
        image_id = snapshot["private"]["image_id"]
        with self.backend._engine(f"reading snapshot {snapshot['name']!r}"):
            try:
                image = self.backend.api.call("GET", f"/images/{image_id}/json")
            except PodmanApiError as exc:
                if exc.status == 404:
                    raise OperationFailed(f"snapshot {snapshot['name']!r} disappeared") from None
                raise
        saved = saved_from_image(image)
        if saved is None:
            raise OperationFailed(f"snapshot {snapshot['name']!r} carries no saved configuration to restore")
        name = saved["name"]
        old = self.backend.inspect(container.ref) if container.status != ABSENT else None
        old = old if old is not None and old.status != ABSENT else None
        if old is not None and old.status == RUNNING:
            self.backend.perform(old, "stop", stop_timeout)
            self.backend.wait_for(old, (STOPPED,), wait_timeout)
        set_aside = f"{name}-replaced-{int(time.time())}"
        new_id = None
        with self.backend._engine(f"restoring {name!r} from {snapshot['name']!r}", "restore"):
            try:
                if old is not None:
                    self.backend.api.call("POST", f"/containers/{old.id}/rename", {"name": set_aside})
                body = dict(saved["spec"], name=name, image=image_id)
                new_id = self.backend.api.call("POST", "/containers/create", body=body)["Id"]
                if saved["status"] == RUNNING:
                    self.backend.api.call("POST", f"/containers/{new_id}/start")
            except PodmanApiError as exc:
                left = self._put_back(old, set_aside, new_id, name)
                raise OperationFailed(
                    f"restore of {name!r} from {snapshot['name']!r} failed: {exc.message}; {left}"
                ) from None
            if old is not None:
                self.backend.api.call("DELETE", f"/containers/{old.id}")
        if old is not None:
            self.release_image(old.details.get("Image"))
        return self.backend.inspect(new_id)

    def _put_back(self, old: Optional[ContainerState], set_aside: str, new_id: Optional[str], name: str) -> str:
        """Undo a failed restore; says what the container was left as."""
        try:
            if new_id:
                self.backend.api.call("DELETE", f"/containers/{new_id}", {"force": "true"})
            if old is None:
                return "no container was created"
            if self.backend.inspect(old.id or "").name != name:
                self.backend.api.call("POST", f"/containers/{old.id}/rename", {"name": name})
            if old.status == RUNNING:
                self.backend.api.call("POST", f"/containers/{old.id}/start")
        except PodmanApiError as exc:
            return f"putting the original container back failed too ({exc.message})"
        return f"the original container was put back ({self.backend.inspect(old.id or '').status})"


class PodmanAliases(NetworkAliases):
    """A network alias on a Podman network (``options['network']``), moved by reconnecting the container."""

    backend: PodmanBackend

    def _alias_network(self, options: dict[str, Any]) -> str:
        network = options.get("network")
        if not network:
            raise BadInput("network is required with backend podman: the Podman network the alias lives on")
        with self.backend._engine(f"reading network {network!r}"):
            try:
                data = self.backend.api.call("GET", f"/networks/{network}/json")
            except PodmanApiError as exc:
                if exc.status == 404:
                    raise BadInput(f"network {network!r} not found on the engine") from None
                raise
        if data.get("driver") in ("host", "null", "none"):
            raise BadInput(f"network {network!r} cannot hold aliases: its driver is {data['driver']!r}")
        if not data.get("dns_enabled"):
            self.backend.warn(
                f"network {data['name']!r} has DNS disabled (dns_enabled: false): Podman records the alias, but no "
                "container resolves it there (create the network with DNS: netavark with aardvark-dns, or CNI's "
                "dnsname plugin)"
            )
        return str(data["name"])

    def _members(self, network: str) -> list[str]:
        with self.backend._engine(f"listing the containers on network {network!r}"):
            listed = self.backend.api.call(
                "GET", "/containers/json", {"all": "true", "filters": json.dumps({"network": [network]})}
            )
        return [summary["Id"] for summary in listed or []]

    def _set_alias(self, ref: str, network: str, alias: str, present: bool) -> None:
        """Podman 4 cannot edit an endpoint's aliases: reconnect the container with the new list."""
        state = self.backend.inspect(ref)
        if state.status == ABSENT:
            raise ContainerNotFound(ref, "it disappeared while its aliases were changed")
        endpoint = ((state.details.get("NetworkSettings") or {}).get("Networks") or {}).get(network)
        aliases = [a for a in (endpoint or {}).get("Aliases") or [] if a not in (alias, (state.id or "")[:12])]
        if present:
            aliases.append(alias)
        with self.backend._engine(f"reconnecting {state.name!r} to network {network!r}", "alias change"):
            try:
                if endpoint is not None:
                    self.backend.api.call("POST", f"/networks/{network}/disconnect", body={"Container": state.id})
                self.backend.api.call(
                    "POST", f"/networks/{network}/connect", body={"container": state.id, "aliases": aliases}
                )
            except PodmanApiError as exc:
                raise OperationFailed(
                    f"could not {'give' if present else 'take'} alias {alias!r} {'to' if present else 'from'} "
                    f"{state.name!r} on network {network!r}: {exc.message}"
                ) from None


class PodmanHealth(Health):
    """Podman's health checks. Podman runs them only from systemd timers; where none runs them (no systemd),
    the wait runs a check itself (``GET /containers/{id}/healthcheck``) each time the health status has not
    changed for longer than the check's interval."""

    backend: PodmanBackend

    def has_check(self, container: ContainerState) -> Optional[bool]:
        config = self.backend.inspect(container.ref).details.get("Config") or {}
        test = (config.get("Healthcheck") or {}).get("Test") or ["NONE"]
        return test[0] != "NONE"

    def check(self, state: ContainerState) -> ContainerState:
        """Raise as soon as waiting for health is pointless: stopped, no health check, or unhealthy."""
        if state.status != RUNNING:
            exit_code = (state.details.get("State") or {}).get("ExitCode")
            raise Unhealthy(f"it became {state.status!r} (exit code {exit_code}) while waiting to be healthy")
        if not state.health:
            raise BadInput("healthy: true, but the container has no health check (--health-cmd / HEALTHCHECK)")
        if state.health == "unhealthy":
            log = ((state.details.get("State") or {}).get("Health") or {}).get("Log") or [{}]
            output = (log[-1].get("Output") or "").strip()
            raise Unhealthy("its health check reports unhealthy" + (f": {output[:300]}" if output else ""))
        return state

    def wait_healthy(self, container: ContainerState, timeout: float) -> ContainerState:
        started = time.monotonic()
        try:
            return poll(
                lambda: self._looked_at(container),
                lambda state: self.check(state).health == "healthy",
                timeout,
                self.backend.poll_interval,
                max_delay=1.0,
            )
        except TimeoutError as exc:
            still = f"waiting for a passing health check: still {exc.args[0].health!r}"
            raise wait_timed_out(still, started) from None

    def _looked_at(self, container: ContainerState) -> ContainerState:
        """The container, after a health check run here when one is due and nothing else ran it."""
        state = self.backend.inspect(container.ref)
        if state.status != RUNNING or not check_due(state.details, time.time()):
            return state
        with self.backend._engine(f"running the health check of {state.name!r}"):
            try:
                self.backend.api.call("GET", f"/containers/{state.id}/healthcheck")
            except PodmanApiError as exc:
                if exc.status != 409:  # 409: it stopped, or has no check: the next look says which
                    raise
        return self.backend.inspect(container.ref)


#: Go's zero time, which Podman shows for a time that never was.
_NEVER = "0001-01-01"
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)")


def check_due(inspect: dict[str, Any], now: float) -> bool:
    """Whether a health check is overdue: nothing ran one for longer than its interval (30 s by default) since the
    container (re)started or the last check ended, whichever came later."""
    config = (inspect.get("Config") or {}).get("Healthcheck") or {}
    interval = (config.get("Interval") or 30_000_000_000) / 1e9
    state = inspect.get("State") or {}
    log = (state.get("Health") or {}).get("Log") or []
    times = [seconds for seconds in (_epoch(state.get("StartedAt")), _epoch(log[-1].get("End") if log else None))
             if seconds is not None]  # fmt: skip
    return not times or now - max(times) >= interval


def _epoch(stamp: Optional[str]) -> Optional[float]:
    """Seconds since the epoch of Go's RFC 3339 time (nanoseconds, ``Z`` or an offset); None for none or Go's
    zero time."""
    found = _RFC3339.fullmatch(stamp or "")
    if found is None or (stamp or "").startswith(_NEVER):
        return None
    whole, fraction, zone = found.groups()
    seconds = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
    return seconds + float("0" + (fraction or ""))
