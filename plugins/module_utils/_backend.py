# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The small interface every engine backend implements.

The modules and the lifecycle driver only talk to ``Backend``; each engine (Docker, Podman, Hoody, Dockhand)
maps its own API and states onto it, and declares what it cannot do instead of being asked its name.
Capabilities not every engine has (settings, snapshots, aliases, health checks) are its parts (``_parts``),
reached through ``Backend.part``.
One backend instance serves every worker thread of a task, so implementations share one client or
HTTP session and must be thread-safe.
"""

from __future__ import annotations

import abc
import builtins
import fnmatch
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import Connection, Option
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    Unsupported,
    WaitTimeout,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    ABSENT,
    RESULT_OF,
    wait_over,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import poll
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import (
    ContainerInfo,
    StatusLogRecord,
)

if TYPE_CHECKING:
    from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import (
        Aliases,
        Health,
        Part,
        Settings,
        Snapshots,
    )

    PartT = TypeVar("PartT", bound=Part)

_WARN_LOCK = threading.Lock()

DEFAULT_STOP_TIMEOUT = 10
# How long past the stop timeout a graceful stop may take before it counts as hung.
STOP_MARGIN = 10
# How long an operation whose answer was lost (other than a stop) may take to show its effect.
LOST_ANSWER_WINDOW = 5.0


class ContainerState:
    """One observation of a container: canonical status plus what the modules report about it."""

    __slots__ = ("details", "engine_status", "health", "id", "name", "status")

    def __init__(
        self,
        id: Optional[str],
        name: str,
        status: str,
        engine_status: Optional[str],
        health: Optional[str] = None,
        details: Optional[dict[str, Any]] = None,
    ) -> None:
        self.id = id
        self.name = name
        self.status = status
        self.engine_status = engine_status
        self.health = health
        self.details = details or {}

    @classmethod
    def absent(cls, ref: str) -> ContainerState:
        return cls(id=None, name=ref, status=ABSENT, engine_status=None)

    @property
    def ref(self) -> str:
        """What to address the container by: its id when known, else the name asked for."""
        return self.id or self.name

    def __repr__(self) -> str:
        return f"ContainerState({self.name!r}, {self.status!r}, engine_status={self.engine_status!r})"


SHORT_ID = re.compile(r"[0-9a-f]{12}")
FULL_ID = re.compile(r"[0-9a-f]{64}")


def names(ref: str, name: Optional[str], container_id: Optional[str]) -> bool:
    """Whether ``ref`` names the container called ``name`` with id ``container_id``: its name, its full id,
    or the 12-hex short id ``docker ps`` prints for a 64-hex id -- exactly, never a prefix, on any engine."""
    if ref in (name, container_id):
        return True
    return bool(
        container_id and FULL_ID.fullmatch(container_id) and SHORT_ID.fullmatch(ref) and container_id[:12] == ref
    )


def named_exactly(state: ContainerState, ref: str) -> bool:
    """Whether ``ref`` names this existing container (``names``)."""
    return state.status != ABSENT and names(ref, state.name, state.id)


def exactly(state: ContainerState, ref: str) -> ContainerState:
    """``state`` when ``ref`` names it exactly; else ``absent``, whatever the engine made of ``ref``."""
    return state if named_exactly(state, ref) else ContainerState.absent(ref)


def named_in(listed: list[ContainerState], ref: str) -> Optional[ContainerState]:
    """The listed container that ``ref`` names exactly; a name wins over an id, as on Docker."""
    for rank in (lambda s: s.name == ref, lambda s: s.id == ref, lambda s: named_exactly(s, ref)):
        found = [state for state in listed if state.status != ABSENT and rank(state)]
        if len(found) > 1:
            ids = ", ".join(state.id or state.name for state in found)
            raise BadInput(f"name {ref!r} names {len(found)} containers ({ids}): use the full id")
        if found:
            return found[0]
    return None


def matching(
    states: list[ContainerState],
    filters: dict[str, Any],
    labels_of: Optional[Callable[[ContainerState], dict[str, str]]] = None,
) -> list[ContainerState]:
    """The listed containers ``filters`` select: ``name`` is a glob on the container's name, ``status`` a
    list of statuses, and every ``label`` (``key`` or ``key=value``) must hold on what ``labels_of`` reads.

    Applied even where the engine filtered already, so that a listing which ignored a filter can never
    widen the selection; a label filter without ``labels_of`` is refused, not ignored. ``project`` is
    each engine's own (a listing path, or a Compose label the engine adds to ``label``).
    """
    labels = filters.get("label") or []
    if labels and labels_of is None:
        raise BadInput("filters.label cannot be applied: this engine's listing does not say a container's labels")

    def has(state_labels: dict[str, str], wanted: str) -> bool:
        key, sep, value = wanted.partition("=")
        return key in state_labels and (not sep or state_labels[key] == value)

    return [
        state
        for state in states
        if (not filters.get("name") or fnmatch.fnmatchcase(state.name, filters["name"]))
        and (not filters.get("status") or state.status in filters["status"])
        and all(has(labels_of(state), wanted) for wanted in labels)  # type: ignore[misc]
    ]


@dataclass(frozen=True)
class Wait:
    """What ends a wait (``over``), what its timeout says of the last look (``still``), and how long it lasts.

    ``health`` marks a wait for a health check, for engines that can listen for just that.
    """

    over: Callable[[ContainerState], bool]
    still: Callable[[ContainerState], str]
    timeout: float
    health: bool = False


@dataclass(frozen=True)
class Evidence:
    """What the engine showed before an operation (``Backend.evidence_mark``). The driver hands it back to ask
    whether the operation took effect: after a lost answer (``shows_effect``), and in the wait for its status.

    ``before`` is the engine's own token where the status cannot show the effect (a restart leaves a container
    running): Hoody's newest status-log record, the start of Dockhand's current run; None where it can.
    """

    operation: str
    before: Any = None


def refusal(backend_name: str, what: str, why: str) -> str:
    """The one way to say that an engine lacks a capability; it is said before anything is changed."""
    return f"backend {backend_name} cannot {what}: {why}; nothing was changed"


def wait_timed_out(what: str, started: float) -> WaitTimeout:
    """The one timeout message of every wait: what was still true, after the time really spent.

    ``started`` is the ``time.monotonic()`` of the wait's start, so the message never claims a
    shorter (or longer) wait than the one that happened.
    """
    return WaitTimeout(f"{what} after {time.monotonic() - started:.0f}s")


class Backend(abc.ABC):
    """What an engine must offer for the lifecycle modules."""

    #: The value of the ``backend`` option that selects this class.
    name = ""

    #: First delay between two looks at a container; REST backends take theirs from ``poll_interval``.
    poll_interval = 0.25

    #: What a container name or id must look like on this engine (matched whole), and how to say it. Checked
    #: before any request, so a name can never reach another container through its URL (``a/../b``).
    ref_pattern = re.compile(r"[^\x00-\x1f/\\?#%]{1,100}")
    ref_rule = "1 to 100 characters without control characters, /, \\, ?, # or %"

    #: What a project (``filters.project``) must look like on this engine, and how to say it.
    project_pattern = ref_pattern
    project_rule = "a project id of " + ref_rule

    #: What a network (``container_alias``'s ``network``) must look like on this engine, and how to say it.
    network_pattern = ref_pattern
    network_rule = "a network name of " + ref_rule

    #: What an alias (``container_alias``) must look like on this engine, and how to say it.
    alias_pattern = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")
    alias_rule = "a DNS name of 1 to 63 characters ([a-zA-Z0-9][a-zA-Z0-9_.-]*)"

    #: Lifecycle operations this engine cannot perform, each with why and what to do instead. The driver
    #: refuses a plan that needs one before anything is changed (in check mode too).
    missing_operations: dict[str, str] = {}

    #: Whether containers on this engine have labels (and ``filters.label`` can select them).
    has_labels = True

    #: How this engine's container events are followed: an ``_events.EventFeed`` class (the event source runs
    #: it); None: they cannot be, and the event source refuses this engine.
    events: Optional[type] = None

    #: Whether an operation the engine accepted is over when it answers (Docker, Dockhand). An engine that
    #: carries it out afterwards (Hoody) may still show the status from before, so a wait on it only ends
    #: early on a status that rules the wanted one out (see ``_lifecycle.wait_over``).
    settles_at_once = True

    # Connection -----------------------------------------------------------------------------------
    # A ``_connection.Connection`` is built from a task's options and these declarations; it checks them,
    # keeps the secrets found, and builds the backend through ``from_options``.

    #: This engine's own connection options (``_connection.Option``: type, environment variables, default,
    #: secret), besides those every engine takes (``_connection.COMMON_OPTIONS``); declaring a common one
    #: again adds this engine's variables to it.
    connection_options: tuple[Option, ...] = ()
    #: The Python library this engine needs (as a user would install it) and, when it cannot be
    #: imported here, the import error.
    library: tuple[str, Optional[str]] = ("", None)

    @classmethod
    def validate_options(cls, connection: Connection) -> None:
        """This engine's rules for its connection options beyond their types; ``BadInput`` names the slip."""
        return None

    @classmethod
    @abc.abstractmethod
    def from_options(cls, connection: Connection) -> Backend:
        """A backend connected as ``connection`` says (its ``params``, ``source()`` and ``named()`` for messages)."""

    @classmethod
    def address(cls, connection: Connection) -> tuple[dict[str, Any], str]:
        """Where this engine is, as ``connection`` resolves it: the options that lead there again (shown by
        ``Connection.public``), and the address as a message names it, with where it came from unless the task
        gave it (``Connection.where``). A REST engine's is its ``api_url``."""
        url = connection.params.get("api_url")
        if not url:
            return {}, ""
        given = connection.origin("api_url") is None
        return {"api_url": url}, url if given else f"{url} ({connection.source('api_url')})"

    @classmethod
    def listed_facts(cls, state: ContainerState) -> dict[str, Any]:
        """What a listing entry (``list``) says of ``labels``, ``image``, ``health`` and ``project``, for the
        inventory plugin: no read per container. Unknown is None (labels: empty)."""
        return {"labels": {}, "image": None, "health": state.health, "project": None}

    @abc.abstractmethod
    def look_up(self, ref: str) -> ContainerState:
        """The engine's own answer for a name or id; status ``absent`` when it has none.

        Engines may resolve id prefixes here (Docker does): only ``inspect`` calls this, and it keeps an
        answer only when it names the container exactly.
        """

    def inspect(self, ref: str) -> ContainerState:
        """Current state of the container that ``ref`` names exactly (``named_exactly``), else ``absent``."""
        return exactly(self.look_up(ref), ref)

    @abc.abstractmethod
    def list(self, filters: dict[str, Any]) -> list[ContainerState]:
        """Every container matching ``filters`` (keys ``name``, ``label``, ``status``, ``project``)."""

    def resolve(self, refs: builtins.list[str]) -> builtins.list[ContainerState]:
        """The containers that ``refs`` name exactly, in order; ``absent`` for a ref that names none.

        A single ref is read directly. Several are looked up in one listing instead of one read each; a
        listing may leave containers out (Dockhand hides some, and lists a dead environment as empty), so a
        ref it does not hold is read directly before it is called ``absent``.
        """
        if len(refs) == 1:
            return [self.inspect(refs[0])]
        listed = self.list({})
        return [named_in(listed, ref) or self.inspect(ref) for ref in refs]

    @abc.abstractmethod
    def perform(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> bool:
        """Ask the engine for one lifecycle operation (names from ``_lifecycle.OPERATIONS``).

        Returns once the engine has accepted it (or, for synchronous engines, finished it): True when
        the container's processes were SIGKILLed (force-stop, or a graceful stop the engine escalated).
        Raises ``OperationConflict`` when the engine refuses it for the current state,
        ``ContainerNotFound`` when the container is gone, ``WaitTimeout`` when a graceful stop
        did not finish within ``stop_timeout`` plus the engine's margin, and ``OperationFailed``.
        """

    # A lifecycle request whose answer was lost (``OutcomeUnknown``) is never resent blindly: the driver takes
    # ``evidence_mark`` before it, asks ``shows_effect`` with it, and re-plans from what the engine shows.

    def evidence_mark(self, container: ContainerState, operation: str) -> Evidence:
        """Taken before an operation, for ``shows_effect`` and the wait for its status."""
        return Evidence(operation)

    def shows_effect(self, container: ContainerState, evidence: Evidence) -> Optional[bool]:
        """One look for the effect of an operation; None when this engine cannot tell (then it counts as not done).

        By default the status it leads to; a restart leaves the status as it was, so it cannot be told.
        """
        if evidence.operation == "restart":
            return None
        return self.inspect(container.ref).status == RESULT_OF[evidence.operation]

    def stop_deadline(self, container: ContainerState, stop_timeout: Optional[int]) -> float:
        """Seconds after which a graceful stop counts as hung: the stop timeout in force plus a margin."""
        return self.stop_timeout_in_force(container, stop_timeout) + STOP_MARGIN

    def stop_timeout_in_force(self, container: ContainerState, stop_timeout: Optional[int]) -> int:
        """The grace period a stop will really get; engines with per-container defaults override this."""
        return DEFAULT_STOP_TIMEOUT if stop_timeout is None else stop_timeout

    # Waits: one waiter for every engine. ``wait_for`` and the parts' waits say what ends the wait;
    # ``watch`` is how this engine observes (by default polling ``observe`` with backoff; Docker
    # follows its event stream).

    def wait_for(
        self, container: ContainerState, statuses: tuple[str, ...], timeout: float, evidence: Optional[Evidence] = None
    ) -> ContainerState:
        """Wait until the container's status is one of ``statuses`` and return that observation.

        Returns early with a status that rules them out (``_lifecycle.wait_over``); the caller decides.
        Raises ``WaitTimeout`` after ``timeout`` seconds. ``evidence`` (of the operation waited for): on an
        engine that acts after answering, a status ``container`` showed already (a restart leaves it running)
        counts only once ``shows_effect`` confirms it, or when it cannot tell, or after the stop deadline (with
        a warning).
        """
        needs_evidence = evidence is not None and not self.settles_at_once
        trust_status_at = time.monotonic() + self.stop_deadline(container, None) if needs_evidence else 0.0

        def confirmed(state: ContainerState) -> bool:
            if evidence is None or not needs_evidence or state.status != container.status:
                return True
            if self.shows_effect(container, evidence) is not False:
                return True
            if time.monotonic() < trust_status_at:
                return False
            self.warn(f"backend {self.name} could not confirm the {evidence.operation}; trusting the status")
            return True

        def over(state: ContainerState) -> bool:
            return wait_over(state.status, statuses, self.settles_at_once) and confirmed(state)

        return self.watch(
            container, Wait(over, lambda state: f"waiting for {' or '.join(statuses)}: still {state.status!r}", timeout)
        )

    def watch(self, container: ContainerState, wait: Wait) -> ContainerState:
        """Observe the container until ``wait.over(state)``; ``WaitTimeout`` after ``wait.timeout``."""
        started = time.monotonic()
        try:
            return poll(lambda: self.observe(container), wait.over, wait.timeout, self.poll_interval)
        except TimeoutError as exc:
            raise wait_timed_out(wait.still(exc.args[0]), started) from None

    def observe(self, container: ContainerState) -> ContainerState:
        """One look at a container during a wait."""
        return self.inspect(container.ref)

    @abc.abstractmethod
    def describe(self, container: ContainerState, runtime: bool) -> ContainerInfo:
        """The ``container_info`` entry of an existing container."""

    @abc.abstractmethod
    def status_history(
        self, ref: str, since: Optional[float], until: Optional[float]
    ) -> builtins.list[StatusLogRecord]:
        """State-transition records (``_history`` record shape) of one container, unsorted."""

    @property
    def warnings(self) -> builtins.list[str]:
        """The warnings recorded for the task result, in order, each once."""
        return list(self._warning_list())

    def _warning_list(self) -> builtins.list[str]:
        # Created once under a class-wide lock: worker threads may warn at the same moment.
        with _WARN_LOCK:
            return self.__dict__.setdefault("_warnings", [])

    def warn(self, message: str) -> None:
        """Record a warning for the task result; each message once (thread-safe)."""
        warnings = self._warning_list()
        with _WARN_LOCK:
            if message not in warnings:
                warnings.append(message)

    # Parts: the capabilities an engine has or lacks (``_parts``), each None on an engine without it.

    settings: Optional[Settings] = None
    snapshots: Optional[Snapshots] = None
    aliases: Optional[Aliases] = None
    health: Optional[Health] = None

    def part(self, kind: type[PartT]) -> PartT:
        """This engine's part of that kind; ``Unsupported`` in the one refusal's words when it has none."""
        found = getattr(self, kind.attribute, None)
        if found is None:
            raise Unsupported(refusal(self.name, *kind.lacking))
        return found

    @abc.abstractmethod
    def close(self) -> None:
        """Release the client's connections."""
