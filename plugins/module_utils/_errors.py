# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Domain errors, raised deep and turned into one ``fail_json`` at the module's edge."""

from __future__ import annotations


class ContainerOpsError(Exception):
    """Base class: its message is what the user reads in ``msg``."""


class ConnectionFailed(ContainerOpsError):
    """The engine or API cannot be reached, or refused our credentials."""


class EngineLost(ConnectionFailed):
    """The engine stopped answering while an operation was in flight: its outcome was not observed."""


class OutcomeUnknown(ContainerOpsError):
    """A non-idempotent request failed in flight: the engine may or may not have acted on it."""


class BadInput(ContainerOpsError):
    """An option value the engine or the collection cannot use."""


class Unsupported(BadInput):
    """The backend's engine has no such capability."""


class ContainerNotFound(ContainerOpsError):
    """The container does not exist (or no longer exists)."""

    def __init__(self, name: str, detail: str = "") -> None:
        super().__init__(f"container {name!r} not found" + (f": {detail}" if detail else ""))
        self.name = name


class OperationConflict(ContainerOpsError):
    """The engine refused an operation for the container's current state (e.g. a concurrent change)."""


class OperationFailed(ContainerOpsError):
    """The engine accepted or attempted an operation that did not complete."""


class OperationRejected(ContainerOpsError):
    """The engine rejected the request itself (a 4xx other than 404, 408, 409 or 429).

    Final: sending the same request again cannot help, so the driver neither retries nor re-plans.
    """


class UnexpectedStatus(OperationFailed):
    """The engine carried out the operation, but the container did not stay in the status it leads to."""


class WaitTimeout(ContainerOpsError):
    """The awaited status or health was not observed in time."""


class Unhealthy(ContainerOpsError):
    """The container's health check reported unhealthy (or the container died) while waiting."""
