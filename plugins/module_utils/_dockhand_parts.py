# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Dockhand backend's parts (``_parts``): settings. Its health checks are Docker's (``_docker_model``);
Dockhand has no API for snapshots or aliases."""

from __future__ import annotations

from typing import Any

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import (
    config_from_inspect,
    update_body,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._dockhand import DockhandBackend, container_path
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    ContainerNotFound,
    OperationFailed,
    OutcomeUnknown,
    Unsupported,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiError
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import ABSENT
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import Settings


class DockhandSettings(Settings):
    """``POST /api/containers/{id}/update-runtime`` (Dockhand 1.0.33 and later) hands Docker's own update fields
    to the engine, which applies restart policy and resource limits to a running container at once."""

    backend: DockhandBackend

    settable = ("autostart", "resources.memory", "resources.cpus")

    def why_not_settable(self, setting: str) -> str:
        if setting == "environment_vars":
            return (
                "backend dockhand cannot change the environment of an existing container: Dockhand's "
                "update-runtime only changes the restart policy and resource limits, and Docker fixes the "
                "environment when the container is created. Recreate the container with the new environment"
            )
        return super().why_not_settable(setting)

    def read(self, container: ContainerState) -> dict[str, Any]:
        current = self.backend.inspected(container)
        if current.status == ABSENT:
            raise ContainerNotFound(container.name, "it disappeared before its settings were read")
        return config_from_inspect(current.details)

    def update(self, container: ContainerState, changes: dict[str, Any]) -> None:
        host = self.backend.inspected(container).details.get("HostConfig") or {}
        body = update_body(host, changes)
        path = container_path(container.ref, "update-runtime")
        for attempt in (1, 2):
            try:
                answer = self.backend._json("POST", path, params=self.backend._env(), json=body)
                break
            except OutcomeUnknown:
                if attempt == 2:
                    raise
                # The body holds absolute values: sending it again cannot change more than the first did.
            except ApiError as exc:
                raise self._update_refused(container, path, exc) from None
        for warning in (answer.get("warnings") if isinstance(answer, dict) else None) or []:
            self.backend.warn(f"the engine warned about the update of {container.name!r}: {warning}")

    def _update_refused(self, container: ContainerState, path: str, exc: ApiError) -> Exception:
        if exc.status in (404, 405):
            if self.backend.inspect(container.ref).status == ABSENT:
                return ContainerNotFound(container.name, "it disappeared during the update")
            return Unsupported(
                f"this Dockhand has no POST /api/containers/{{id}}/update-runtime ({exc.status} for {path}): "
                "changing autostart or resources through Dockhand needs Dockhand 1.0.33 or later"
            )
        return OperationFailed(f"Dockhand refused the update of {container.name!r} ({exc.status}: {exc.message})")
