# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive containers to a desired state through any backend: observe, plan one step, act, observe again.

Planning again after every operation is what keeps a task correct when someone else changes the
container at the same time: a refused operation (409) or a container that moved on its own is simply
re-read and re-planned, within a bounded number of rounds.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, TypeVar

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    LOST_ANSWER_WINDOW,
    Backend,
    ContainerState,
    Evidence,
    Wait,
    refusal,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ConnectionFailed,
    ContainerNotFound,
    ContainerOpsError,
    EngineLost,
    OperationConflict,
    OperationFailed,
    OutcomeUnknown,
    UnexpectedStatus,
    Unsupported,
    WaitTimeout,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    ABSENT,
    PAUSED,
    RESULT_OF,
    SETTLED,
    PlanRefused,
    must_settle,
    plan,
    simulate,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import Health
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import poll
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import Action, StateEntry

T = TypeVar("T")
R = TypeVar("R")

# Extra rounds allowed beyond the first plan's length for re-planning after concurrent changes.
SPARE_ROUNDS = 3
# First pause before re-reading a container after a refused operation; it doubles each round.
CONFLICT_PAUSE = 0.1
# The status reported when the engine could not be asked after a failure: nobody observed one.
UNKNOWN = "unknown"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def missing_capability(
    backend_name: str, operations: tuple[str, ...], missing: dict[str, str], escalation: bool = False
) -> Optional[str]:
    """Why a plan cannot be carried out on this backend, or None when every step is possible.

    ``escalation`` adds the force-stop that ``force_on_timeout`` may need after a graceful stop.
    """
    needed = list(operations)
    if escalation and any(op in ("stop", "restart") for op in operations):
        needed.append("force-stop")
    for operation in needed:
        if operation in missing:
            return refusal(backend_name, operation, missing[operation])
    return None


def observe_after_failure(backend: Backend, state: ContainerState) -> ContainerState:
    """The container as the engine shows it after a failure (``state``: as last seen).

    ``unknown`` only when the engine was lost (``ConnectionFailed``, ``EngineLost``): nobody can say. When the
    engine answers but cannot show it, the container is reported as last seen.
    """
    try:
        return backend.inspect(state.ref)
    except ConnectionFailed:
        return ContainerState(state.id, state.name, UNKNOWN, None)
    except ContainerOpsError:
        return state


def took_effect(backend: Backend, container: ContainerState, evidence: Evidence) -> bool:
    """Whether an operation whose answer was lost has taken effect, watched for as long as it may take.

    A stop or restart gets its grace period and margin; anything else the lost-answer window, and at least
    four looks. It ends early when ``shows_effect`` says the effect cannot be told (then: not done).
    """
    if evidence.operation in ("stop", "restart"):
        window = backend.stop_deadline(container, None)
    else:
        window = max(LOST_ANSWER_WINDOW, backend.poll_interval * 4)
    try:
        seen = poll(
            lambda: backend.shows_effect(container, evidence), lambda seen: seen is not False,
            window, backend.poll_interval, looks=4,
        )  # fmt: skip
    except TimeoutError:
        return False
    return bool(seen)


def wait_while_paused(backend: Backend, container: ContainerState, timeout: float) -> tuple[ContainerState, float]:
    """The first look at the container out of ``paused`` within ``timeout`` seconds, else the last look; and
    how long the wait lasted."""
    started = time.monotonic()
    try:
        state = backend.watch(container, Wait(lambda state: state.status != PAUSED, lambda state: "paused", timeout))
    except WaitTimeout:
        state = backend.inspect(container.ref)
    return state, time.monotonic() - started


class StateRequest:
    """The options of one ``container_state`` task that shape how each target is driven."""

    def __init__(
        self,
        state: str,
        force: bool = False,
        stop_timeout: Optional[int] = None,
        force_on_timeout: bool = False,
        wait: bool = True,
        wait_timeout: float = 300,
        healthy: bool = False,
        check_mode: bool = False,
    ) -> None:
        self.state = state
        self.force = force
        self.stop_timeout = stop_timeout
        self.force_on_timeout = force_on_timeout
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.healthy = healthy and state in ("started", "restarted")
        self.check_mode = check_mode


class Converger:
    """Drives one container at a time; one instance is shared by all worker threads."""

    def __init__(self, backend: Backend, request: StateRequest) -> None:
        self.backend = backend
        self.request = request

    def converge(self, target: ContainerState) -> StateEntry:
        started = time.monotonic()
        result: StateEntry = {
            "id": target.id,
            "name": target.name,
            "status_before": target.status,
            "status": target.status,
            "engine_status": target.engine_status,
            "changed": False,
            "actions": [],
            "escalated": False,
            "health": target.health,
        }
        state = target
        try:
            state = self._drive(target, result, deadline=started + self.request.wait_timeout)
        except ContainerOpsError as exc:
            result["error"] = str(exc)
            state = observe_after_failure(self.backend, state)
        except Exception as exc:  # a bug must still leave a reported state, not a traceback
            result["error"] = f"unexpected {type(exc).__name__}: {exc}"
            state = observe_after_failure(self.backend, state)
        if not self.request.check_mode:
            result["status"] = state.status
            result["engine_status"] = state.engine_status
            result["health"] = state.health
        result["id"] = result["id"] or state.id
        result["duration_ms"] = _ms(time.monotonic() - started)
        return result

    def _remaining(self, deadline: float) -> float:
        return max(deadline - time.monotonic(), 0.0)

    def _settle(self, state: ContainerState, deadline: float) -> ContainerState:
        if not must_settle(state.status, self.request.state):
            return state
        if not self.request.wait:
            raise WaitTimeout(f"it is {state.status!r} (transitional) and wait is false, so it was not waited out")
        return self.backend.wait_for(state, SETTLED, self._remaining(deadline))

    def _drive(self, target: ContainerState, result: StateEntry, deadline: float) -> ContainerState:
        request = self.request
        if target.status == ABSENT and request.state != "absent":
            raise ContainerNotFound(target.name)
        state = self._settle(target, deadline)
        operations = self._plan(state.status, request.state)
        health = self.backend.part(Health) if request.healthy else None
        if health is not None and health.has_check(state) is False:
            raise BadInput("healthy: true, but the container has no health check; nothing was changed")
        if request.check_mode:
            result["actions"] = [
                {"operation": op, "duration_ms": None, "forced": op == "force-stop"} for op in operations
            ]
            result["changed"] = bool(operations)
            result["status"] = simulate(state.status, operations)
            return state
        state = self._carry_out(state, operations, result, deadline)
        if health is not None and request.wait:
            state = health.wait_healthy(state, self._remaining(deadline))
        return state

    def _carry_out(
        self, state: ContainerState, operations: tuple[str, ...], result: StateEntry, deadline: float
    ) -> ContainerState:
        """Perform the plan one operation at a time, re-planning from what the engine shows after a refusal."""
        desired = self.request.state
        last_error: Optional[Exception] = None
        for _round in range(len(operations) + SPARE_ROUNDS):
            if not operations:
                return state
            operation = operations[0]
            final = len(operations) == 1
            try:
                state = self._act(state, operation, result, deadline, final)
            except UnexpectedStatus:
                raise  # the engine did its part (a process that exits at once): repeating it would not help
            except (OperationConflict, OperationFailed, ContainerNotFound) as exc:
                # Someone else may have moved the container (or an earlier request is still being carried
                # out): after a short, growing pause, re-read, then plan from what is there now.
                last_error = exc
                time.sleep(min(CONFLICT_PAUSE * 2**_round, self._remaining(deadline), 2.0))
                state = self.backend.inspect(state.ref)
                if state.status == ABSENT and desired != "absent":
                    raise ContainerNotFound(result["name"], f"it was removed while attempting {operation}") from None
                state = self._settle(state, deadline)
            else:
                if desired == "restarted" and operation in ("restart", "start"):
                    desired = "started"  # the restart has happened; from here on, keep it running
                if final and not self.request.wait:
                    return state
            operations = self._plan(state.status, desired)
        if operations:
            raise OperationFailed(f"gave up after repeated attempts; last error: {last_error}")
        return state

    def _plan(self, status: str, desired: str) -> tuple[str, ...]:
        """The lifecycle plan, refused as a whole when the backend lacks one of its steps."""
        try:
            operations = plan(status, desired, self.request.force)
        except PlanRefused as exc:
            raise OperationFailed(str(exc)) from None
        why_not = missing_capability(
            self.backend.name, operations, self.backend.missing_operations, self.request.force_on_timeout
        )
        if why_not:
            raise Unsupported(why_not)
        return operations

    def _act(
        self, state: ContainerState, operation: str, result: StateEntry, deadline: float, final: bool
    ) -> ContainerState:
        """Perform one operation (escalating a hung graceful stop if asked) and observe its outcome."""
        escalate = self.request.force_on_timeout and operation in ("stop", "restart")
        evidence = self.backend.evidence_mark(state, operation)
        began = time.monotonic()
        try:
            forced = self._perform(state, evidence)
            if escalate:
                window = min(self.backend.stop_deadline(state, self.request.stop_timeout), self._remaining(deadline))
                self.backend.wait_for(state, (RESULT_OF[operation],), window, evidence)
        except EngineLost as exc:
            self._record(result, operation, began, False, error=str(exc))  # in flight: it may have happened
            raise
        except (WaitTimeout, OperationFailed) as exc:
            if not escalate:
                raise
            self._record(result, operation, began, False, error=str(exc))
            state = self._escalate(state, operation, result, deadline)
        else:
            self._record(result, operation, began, forced)
        if final and not self.request.wait:
            return self.backend.inspect(state.ref)
        expected = RESULT_OF[operation]
        # After an escalation the wait above had the evidence; the force-stop and start need none.
        observed = self.backend.wait_for(state, (expected,), self._remaining(deadline), None if escalate else evidence)
        if observed.status == ABSENT and self.request.state == "absent":
            return observed  # someone else finished the job
        if observed.status == ABSENT:
            raise ContainerNotFound(result["name"], f"it was removed during {operation}")
        if observed.status != expected:
            detail = ""
            exit_code = observed.details.get("State", {}).get("ExitCode")
            if exit_code is not None:
                detail = f" (exit code {exit_code})"
            raise UnexpectedStatus(f"{operation} left it {observed.status!r} instead of {expected!r}{detail}")
        return observed

    def _perform(self, state: ContainerState, evidence: Evidence) -> bool:
        """One request; when its answer is lost, it counts only once the engine shows its effect.

        Without that evidence it fails as ``OperationFailed``, so the caller re-reads the container and
        plans again from what is there: a lost request is resent only when it visibly did not happen.
        """
        operation = evidence.operation
        try:
            return self.backend.perform(state, operation, self.request.stop_timeout)
        except OutcomeUnknown as exc:
            try:
                done = took_effect(self.backend, state, evidence)
            except ConnectionFailed as lost:
                why = f"{operation}: its answer was lost and the engine could not be asked ({lost})"
                raise EngineLost(why) from None
            if done:
                return operation == "force-stop"
            raise OperationFailed(
                f"{operation} may not have reached the engine ({exc}); the container shows no effect of it"
            ) from None

    def _escalate(self, state: ContainerState, operation: str, result: StateEntry, deadline: float) -> ContainerState:
        began = time.monotonic()
        self.backend.perform(state, "force-stop", None)
        self._record(result, "force-stop", began, True)
        result["escalated"] = True
        if operation == "restart":
            began = time.monotonic()
            self.backend.wait_for(state, ("stopped",), self._remaining(deadline))
            self.backend.perform(state, "start", None)
            self._record(result, "start", began, False)
        return state

    @staticmethod
    def _record(result: StateEntry, operation: str, began: float, forced: bool, error: Optional[str] = None) -> None:
        action: Action = {
            "operation": operation,
            "duration_ms": _ms(time.monotonic() - began),
            "forced": forced,
        }
        if error:
            action["error"] = error
        else:
            result["changed"] = True
        result["actions"].append(action)


def run_parallel(items: list[T], work: Callable[[T], R], parallel: int) -> list[R]:
    """Apply ``work`` to every item with at most ``parallel`` at once; results keep the items' order."""
    if len(items) <= 1 or parallel <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(parallel, len(items))) as pool:
        return list(pool.map(work, items))


def drive_to(
    backend: Backend, container: ContainerState, state: str, stop_timeout: Optional[int], check_mode: bool
) -> tuple[ContainerState, list[Action]]:
    """One container to ``state`` as a step of a larger change; returns its new state and the actions.

    Raises ``OperationFailed`` (with what was done) when it cannot get there, so the caller stops.
    """
    entry = Converger(backend, StateRequest(state, stop_timeout=stop_timeout, check_mode=check_mode)).converge(
        container
    )
    if entry.get("error"):
        raise OperationFailed(f"could not bring {container.name!r} to {state}: {entry['error']}")
    if check_mode:
        return container, entry["actions"]
    return backend.inspect(entry["id"] or container.ref), entry["actions"]
