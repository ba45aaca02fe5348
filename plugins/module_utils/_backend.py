# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The small interface every engine backend implements.

The modules and the lifecycle driver only talk to ``Backend``; each engine (Docker, Hoody, Dockhand)
maps its own API and states onto it, and declares what it cannot do instead of being asked its name.
One backend instance serves every worker thread of a task, so implementations share one client or
HTTP session and must be thread-safe.
"""

from __future__ import annotations

import abc
import builtins
import fnmatch
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    Unsupported,
    WaitTimeout,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    ABSENT,
    PAUSED,
    RESULT_OF,
    wait_over,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import poll
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import (
    ContainerInfo,
    SnapshotRecord,
    StatusLogRecord,
)

_WARN_LOCK = threading.Lock()

DEFAULT_STOP_TIMEOUT = 10
# How long past the stop timeout a graceful stop may take before it counts as hung.
STOP_MARGIN = 10
# How long an operation whose answer was lost (other than a stop) may take to show its effect.
LOST_ANSWER_WINDOW = 5.0
# Connection options whose values are secrets: one read from the environment is reported to be masked.
SECRET_OPTIONS = ("api_token", "api_password")
# The key of the connection parameters under which the caller records where the options the task did not
# give took their values ({option: environment variable, or "default"}; ``_module.option_sources``).
OPTION_SOURCES = "option_sources"


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
    # ``_module.connect`` builds a backend from the task's connection options through these; the
    # inventory plugin and the event source use them too.

    #: The connection options (keys of ``_module.CONNECTION_SPEC``) this engine uses, secrets included,
    #: besides the ones every engine takes (``timeout``, ``retries``, ``validate_certs``, the TLS files).
    connection_options: tuple[str, ...] = ()
    #: Environment variables read, in order, for a connection option the task leaves unset.
    environment: dict[str, tuple[str, ...]] = {}
    #: The API URL used when neither ``api_url`` nor the environment gives one; None: it must be given.
    default_api_url: Optional[str] = None
    #: The Python library this engine needs (as a user would install it) and, when it cannot be
    #: imported here, the import error.
    library: tuple[str, Optional[str]] = ("", None)

    @classmethod
    def validate_options(cls, params: dict[str, Any]) -> None:
        """This engine's rules for its connection options beyond their types; ``BadInput`` names the slip."""
        return None

    @classmethod
    @abc.abstractmethod
    def from_options(cls, params: dict[str, Any], secret_found: Callable[[str], None]) -> Backend:
        """A backend connected as the connection options in ``params`` say.

        ``secret_found`` is told every secret read from elsewhere than the options (the environment, a
        password written into a URL), so the caller can keep it out of its output.
        """

    @classmethod
    def option(cls, params: dict[str, Any], option: str, secret_found: Callable[[str], None]) -> Any:
        """The option's value, else the first of this engine's environment variables for it that is set."""
        value = params.get(option)
        for variable in cls.environment.get(option, ()):
            if value:
                break
            value = os.environ.get(variable)
            if value and option in SECRET_OPTIONS:
                secret_found(value)
        return value

    @classmethod
    def origin(cls, params: dict[str, Any], option: str) -> Optional[str]:
        """Where ``option``'s value came from when the task did not give it: the environment variable that gave
        it, or ``default``; None when the task gave it."""
        if params.get(option):
            return (params.get(OPTION_SOURCES) or {}).get(option)
        return next((name for name in cls.environment.get(option, ()) if os.environ.get(name)), "default")

    @classmethod
    def source(cls, params: dict[str, Any], option: str) -> str:
        """``option`` and where its value came from, for messages: ``api_url`` (the task gave it),
        ``api_url, from HOODY_API_URL`` or ``docker_host's default``."""
        origin = cls.origin(params, option)
        if origin is None:
            return option
        return f"{option}'s default" if origin == "default" else f"{option}, from {origin}"

    @classmethod
    def named(cls, params: dict[str, Any], option: str) -> str:
        """``option`` for a message about its value: ``api_token``, or ``api_token (from HOODY_TOKEN)`` when the
        environment gave it."""
        origin = cls.origin(params, option)
        return f"{option} (from {origin})" if origin not in (None, "default") else option

    @classmethod
    def api_url(cls, params: dict[str, Any], secret_found: Callable[[str], None]) -> str:
        """The REST API's base URL: the option, the environment, else the default; a password in it is a secret."""
        api_url = cls.option(params, "api_url", secret_found) or cls.default_api_url
        if not api_url:
            names = " / ".join(cls.environment.get("api_url", ()))
            raise BadInput(f"api_url is required for backend {cls.name}" + (f" (or set {names})" if names else ""))
        password = urlsplit(api_url).password
        if password:
            secret_found(password)
        return api_url

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

    # A lifecycle request whose answer was lost (``OutcomeUnknown``) is never resent blindly: the driver
    # asks for evidence that it took effect first, and re-plans from what the engine shows.

    def evidence_mark(self, container: ContainerState, operation: str) -> Any:
        """Taken before an operation, for ``took_effect`` (a restart leaves the status as it was)."""
        return None

    def took_effect(self, container: ContainerState, operation: str, mark: Any) -> bool:
        """Whether an operation whose answer was lost has taken effect, watched for as long as it may take.

        A stop or restart gets its grace period and margin; anything else the lost-answer window, and at
        least four looks. It ends early when ``shows_effect`` says the effect cannot be told.
        """
        stopping = operation in ("stop", "restart")
        window = self.stop_deadline(container, None) if stopping else max(LOST_ANSWER_WINDOW, self.poll_interval * 4)
        try:
            seen = poll(
                lambda: self.shows_effect(container, operation, mark), lambda seen: seen is not False,
                window, self.poll_interval,
            )  # fmt: skip
        except TimeoutError:
            return False
        return bool(seen)

    def shows_effect(self, container: ContainerState, operation: str, mark: Any) -> Optional[bool]:
        """One look for the effect of ``operation``; None when this engine cannot tell (then it counts as not done).

        By default the status it leads to; a restart leaves the status as it was, so it cannot be told.
        """
        if operation == "restart":
            return None
        return self.inspect(container.ref).status == RESULT_OF[operation]

    def stop_deadline(self, container: ContainerState, stop_timeout: Optional[int]) -> float:
        """Seconds after which a graceful stop counts as hung: the stop timeout in force plus a margin."""
        return self.stop_timeout_in_force(container, stop_timeout) + STOP_MARGIN

    def stop_timeout_in_force(self, container: ContainerState, stop_timeout: Optional[int]) -> int:
        """The grace period a stop will really get; engines with per-container defaults override this."""
        return DEFAULT_STOP_TIMEOUT if stop_timeout is None else stop_timeout

    # Waits: one waiter for every engine. ``wait_for`` and ``wait_healthy`` say what ends the wait;
    # ``watch`` is how this engine observes (by default polling ``observe`` with backoff; Docker
    # follows its event stream).

    def wait_for(self, container: ContainerState, statuses: tuple[str, ...], timeout: float) -> ContainerState:
        """Wait until the container's status is one of ``statuses`` and return that observation.

        Returns early with a status that rules them out (``_lifecycle.wait_over``); the caller decides.
        Raises ``WaitTimeout`` after ``timeout`` seconds.
        """
        evidence = self.awaited_evidence(container, statuses)

        def over(state: ContainerState) -> bool:
            if not wait_over(state.status, statuses, self.settles_at_once):
                return False
            return evidence is None or state.status not in statuses or evidence()

        return self.watch(
            container, Wait(over, lambda state: f"waiting for {' or '.join(statuses)}: still {state.status!r}", timeout)
        )

    def wait_while_paused(self, container: ContainerState, timeout: float) -> tuple[ContainerState, float]:
        """The first look at the container out of ``paused`` within ``timeout`` seconds, else the last look;
        and how long the wait lasted."""
        started = time.monotonic()
        try:
            state = self.watch(container, Wait(lambda state: state.status != PAUSED, lambda state: "paused", timeout))
        except WaitTimeout:
            state = self.inspect(container.ref)
        return state, time.monotonic() - started

    def wait_healthy(self, container: ContainerState, timeout: float) -> ContainerState:
        """Wait until the health check passes; ``check_health`` ends it early when it cannot."""
        return self.watch(
            container,
            Wait(
                lambda state: self.check_health(state).health == "healthy",
                lambda state: f"waiting for a passing health check: still {state.health!r}",
                timeout,
                health=True,
            ),
        )

    def check_health(self, state: ContainerState) -> ContainerState:
        """``state`` while a passing health check may still come; raise ``Unhealthy`` or ``BadInput`` when not."""
        raise Unsupported(refusal(self.name, "wait for a health check", "its containers have none"))

    def awaited_evidence(self, container: ContainerState, statuses: tuple[str, ...]) -> Optional[Callable[[], bool]]:
        """For a status the container may already show before the request took effect (a restart leaves it
        running): a look that says whether the effect is there. None: the status alone tells."""
        return None

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

    def has_health_check(self, container: ContainerState) -> Optional[bool]:
        """Whether the container defines a health check; ``None`` when the engine cannot tell."""
        return None

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

    # Workflow building blocks (container_config, container_snapshot, container_alias). An engine
    # without the capability keeps these defaults, which refuse with the backend's name.

    #: Whether a snapshot lives on after its container is deleted (and can restore it).
    snapshots_outlive_container = False
    #: Settings ``read_config``/``update_config`` handle, as ``_config`` names them.
    config_settings: tuple[str, ...] = ()
    #: Of those, the settings a running container only takes up after a restart.
    settings_needing_restart: tuple[str, ...] = ()

    def _unsupported(self, what: str) -> Unsupported:
        return Unsupported(refusal(self.name, what, "it has no API for that"))

    def why_not_settable(self, setting: str) -> str:
        """Why ``setting`` is not in ``config_settings``, for the error message."""
        return f"backend {self.name} cannot change {setting}"

    def read_config(self, container: ContainerState) -> dict[str, Any]:
        """The container's settings, flat: ``autostart``, ``environment_vars``, ``resources.memory``…"""
        raise self._unsupported("change container settings")

    def update_config(self, container: ContainerState, changes: dict[str, Any]) -> None:
        """Apply flat settings (only those that differ); ``environment_vars`` holds the keys to set."""
        raise self._unsupported("change container settings")

    def snapshots(self, container: ContainerState) -> builtins.list[SnapshotRecord]:
        """The container's snapshots, each ``{name, alias, container, created_at, stateful, size}``."""
        raise self._unsupported("take, list or restore snapshots")

    def create_snapshot(self, container: ContainerState, alias: str) -> SnapshotRecord:
        raise self._unsupported("take, list or restore snapshots")

    def delete_snapshot(self, container: ContainerState, snapshot: dict[str, Any]) -> None:
        raise self._unsupported("take, list or restore snapshots")

    def is_restored_from(self, container: ContainerState, snapshot: SnapshotRecord) -> bool:
        """Whether the container is the snapshot's restore, untouched by a later restore."""
        raise self._unsupported("take, list or restore snapshots")

    def restore_snapshot(
        self, container: ContainerState, snapshot: dict[str, Any], stop_timeout: Optional[int], wait_timeout: float
    ) -> ContainerState:
        """Put the container back to the snapshot and return its settled state."""
        raise self._unsupported("take, list or restore snapshots")

    def alias_holders(self, alias: str, options: dict[str, Any]) -> builtins.list[dict[str, Any]]:
        """Who holds the alias now: ``{name, id}`` per container, plus engine details."""
        raise self._unsupported("manage aliases")

    def point_alias(
        self,
        alias: str,
        target: Optional[ContainerState],
        holders: builtins.list[dict[str, Any]],
        options: dict[str, Any],
    ) -> dict[str, Any]:
        """Make ``target`` (None: nobody) the only holder; returns ``{window_ms, url}``."""
        raise self._unsupported("manage aliases")

    @abc.abstractmethod
    def close(self) -> None:
        """Release the client's connections."""
