# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker backend's parts (``_parts``): settings, network aliases and snapshots.

Each works through its ``DockerBackend``'s client, and its engine faults are translated at the same edge
(``_docker._edge``). Docker's health checks are the part it shares with Dockhand (``_docker_model``).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _docker_snapshot
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker import DockerBackend, _edge, _reason
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import (
    config_from_inspect,
    update_body,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ContainerNotFound,
    OperationFailed,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import RUNNING
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import (
    NetworkAliases,
    Settings,
    Snapshots,
)

# A DockerBackend, and so any of its parts, exists only where the SDK imports (``DockerBackend.library``).
with contextlib.suppress(ImportError):
    from docker.errors import APIError, NotFound


class DockerSettings(Settings):
    """Docker applies restart policy and resource limits to running containers; the environment is fixed when
    a container is created."""

    backend: DockerBackend

    settable = ("autostart", "resources.memory", "resources.cpus")

    @_edge("reading a container's configuration")
    def read(self, container: ContainerState) -> dict[str, Any]:
        return config_from_inspect(self.backend._existing(container, "its configuration could be read").details)

    def why_not_settable(self, setting: str) -> str:
        if setting == "environment_vars":
            return (
                "backend docker cannot change the environment of an existing container: Docker fixes it "
                "when the container is created. Recreate the container with the new environment"
            )
        return super().why_not_settable(setting)

    @_edge("updating a container's configuration", operation="update")
    def update(self, container: ContainerState, changes: dict[str, Any]) -> None:
        host = self.backend._existing(container, "it could be updated").details.get("HostConfig") or {}
        body = update_body(host, changes)
        try:  # update_container() has no NanoCpus, which resources.cpus sets: the same POST, done here
            response = self.backend.api._post_json(
                self.backend.api._url("/containers/{0}/update", container.ref), data=body
            )
            self.backend.api._raise_for_status(response)
        except NotFound:
            raise ContainerNotFound(container.name, "it disappeared during the update") from None
        except APIError as exc:
            raise OperationFailed(f"the engine refused the update of {container.name!r}: {_reason(exc)}") from None


class DockerAliases(NetworkAliases):
    """A network alias on a user-defined network (``options['network']``)."""

    backend: DockerBackend

    def _alias_network(self, options: dict[str, Any]) -> str:
        network = options.get("network")
        if not network:
            raise BadInput("network is required with backend docker: the user-defined network the alias lives on")
        try:
            data = self.backend._read(self.backend.api.inspect_network, network)
        except NotFound:
            raise BadInput(f"network {network!r} not found on the engine") from None
        if data["Name"] in ("bridge", "host", "none") or data.get("Driver") in ("host", "null"):
            raise BadInput(
                f"network {network!r} cannot hold aliases: Docker resolves aliases only on user-defined "
                "networks (docker network create ...)"
            )
        return data["Name"]

    # Docker's faults met on the way are translated at Docker's edge.
    holders = _edge("reading who holds an alias")(NetworkAliases.holders)
    point = _edge("moving an alias", operation="alias change")(NetworkAliases.point)

    def _members(self, network: str) -> list[str]:
        listed = self.backend._read(self.backend.api.containers, all=True, filters={"network": network})
        return [summary["Id"] for summary in listed]

    def _set_alias(self, ref: str, network: str, alias: str, present: bool) -> None:
        """Docker cannot edit an endpoint's aliases: reconnect the container with the new list."""
        state = self.backend.inspect(ref)
        endpoint = (state.details.get("NetworkSettings") or {}).get("Networks", {}).get(network)
        aliases = [a for a in (endpoint or {}).get("Aliases") or [] if a not in (alias, (state.id or "")[:12])]
        if present:
            aliases.append(alias)
        ipam = (endpoint or {}).get("IPAMConfig") or {}
        try:
            if endpoint is not None:
                self.backend.api.disconnect_container_from_network(state.ref, network)
            self.backend.api.connect_container_to_network(
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


class DockerSnapshots(Snapshots):
    """A snapshot is a committed image: it outlives the container and can recreate it."""

    backend: DockerBackend

    outlive_container = True

    @_edge("listing snapshots")
    def of(self, container: ContainerState) -> list[dict[str, Any]]:
        images = self.backend._read(
            self.backend.api.images, filters={"label": f"{_docker_snapshot.LABEL_CONTAINER}={container.name}"}
        )
        prefix = _docker_snapshot.REPOSITORY + "/"
        return [
            _docker_snapshot.snapshot_from_image(image)
            for image in images
            if any(tag.startswith(prefix) for tag in image.get("RepoTags") or [])
        ]

    @_edge("taking a snapshot", operation="snapshot")
    def take(self, container: ContainerState, alias: str) -> dict[str, Any]:
        container = self.backend.inspected(container)
        saved = _docker_snapshot.saved_config(container.details, container.status)
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        labels = dict(container.details["Config"].get("Labels") or {})
        labels.update(_docker_snapshot.snapshot_labels(container.name, alias, created))
        repository, tag = _docker_snapshot.image_reference(container.name, alias).rsplit(":", 1)
        try:
            committed = self.backend.api.commit(
                container.ref,
                repository=repository,
                tag=tag,
                message=_docker_snapshot.comment_of(saved),
                conf={"Labels": labels},
            )
            image = self.backend.api.inspect_image(committed["Id"])
        except APIError as exc:
            raise OperationFailed(f"could not commit {container.name!r}: {_reason(exc)}") from None
        return _docker_snapshot.snapshot_from_image(image)

    @_edge("removing a snapshot", operation="snapshot removal")
    def delete(self, container: ContainerState, snapshot: dict[str, Any]) -> None:
        # Removing the tag ends the snapshot; a container restored from it keeps the image it runs on.
        # A replaced snapshot has lost its tag to the new one already: its image goes unless in use.
        try:
            tagged = (
                self.backend._read(self.backend.api.inspect_image, snapshot["name"])["Id"]
                == snapshot["private"]["image_id"]
            )
        except NotFound:
            tagged = False
        try:
            if tagged:
                self.backend.api.remove_image(snapshot["name"], force=True)
            else:
                self.backend.api.remove_image(snapshot["private"]["image_id"])
        except NotFound:
            pass
        except APIError as exc:
            if tagged or exc.status_code != 409:
                raise OperationFailed(f"could not remove snapshot {snapshot['name']!r}: {_reason(exc)}") from None

    @_edge("reading the image of a container")
    def is_restored_from(self, container: ContainerState, snapshot: dict[str, Any]) -> bool:
        if container.status == "absent":
            return False
        return self.backend.inspected(container).details.get("Image") == snapshot["private"]["image_id"]

    @_edge("restoring a snapshot", operation="restore")
    def restore(
        self, container: ContainerState, snapshot: dict[str, Any], stop_timeout: Optional[int], wait_timeout: float
    ) -> ContainerState:
        """Recreate the container from the snapshot's image and saved configuration.

        The current container is stopped and set aside under another name until its replacement
        exists; if anything fails, the replacement is removed and the original put back as it was.
        """
        try:
            image = self.backend._read(self.backend.api.inspect_image, snapshot["private"]["image_id"])
        except NotFound:
            raise OperationFailed(f"snapshot {snapshot['name']!r} disappeared") from None
        saved = _docker_snapshot.saved_from_image(image)
        if saved is None:
            raise OperationFailed(f"snapshot {snapshot['name']!r} carries no saved configuration to restore")
        name = saved["name"]
        old = self.backend.inspected(container) if container.status != "absent" else None
        if old is not None and old.status == RUNNING:
            self.backend._stop_or_restart(old, "stop", stop_timeout)
        set_aside = f"{name}-replaced-{int(time.time())}"
        new_id = None
        try:
            if old is not None:
                self.backend.api.rename(old.ref, set_aside)
            body, later_networks = _docker_snapshot.create_body(saved, snapshot["private"]["image_id"])
            new_id = self.backend.api.create_container_from_config(body, name=name)["Id"]
            for network, endpoint in later_networks:
                self.backend.api.connect_container_to_network(
                    new_id,
                    network,
                    aliases=endpoint.get("Aliases"),
                    ipv4_address=(endpoint.get("IPAMConfig") or {}).get("IPv4Address"),
                    ipv6_address=(endpoint.get("IPAMConfig") or {}).get("IPv6Address"),
                )
            if saved["status"] == RUNNING:
                self.backend.api.start(new_id)
        except APIError as exc:
            left = self._put_back(old, set_aside, new_id, name)
            raise OperationFailed(
                f"restore of {name!r} from {snapshot['name']!r} failed: {_reason(exc)}; {left}"
            ) from None
        if old is not None:
            self.backend.api.remove_container(old.id)
        return self.backend.inspect(new_id)

    def _put_back(self, old: Optional[ContainerState], set_aside: str, new_id: Optional[str], name: str) -> str:
        """Undo a failed restore; says what the container was left as."""
        if new_id:
            self.backend.api.remove_container(new_id, force=True)
        if old is None:
            return "no container was created"
        self.backend.api.rename(old.id, name)
        if old.status == RUNNING:
            self.backend.api.start(old.id)
        return f"the original container was put back ({self.backend.inspect(old.ref).status})"
