# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One pipeline for the workflow modules: validate, read, plan, carry out, result.

``container_snapshot``, ``container_config`` and ``container_alias`` each declare their steps as a
``Workflow``; ``run_workflow`` takes every target through them the same way. The decisions are
``_workflow``'s planners, the results are built by ``_results``, and a container a step failed on is
reported in the status the driver would report (``_driver.observe_after_failure``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _config
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import Backend, ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._driver import (
    drive_to,
    observe_after_failure,
    run_parallel,
    wait_while_paused,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ContainerNotFound,
    ContainerOpsError,
    OperationFailed,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import ABSENT
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import Aliases, Settings, Snapshots
from ansible_collections.containerops.lifecycle.plugins.module_utils._results import (
    alias_result,
    config_diff,
    config_entry,
    config_result,
    snapshot_result,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import (
    AliasResult,
    ConfigResult,
    SnapshotResult,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._workflow import (
    PAUSE_GRACE,
    ConfigDone,
    alias_not_moved,
    alias_options,
    check_snapshot_alias,
    config_not_applied,
    config_update_failed,
    plan_alias,
    plan_config,
    plan_snapshot,
    snapshot_needs_container,
    snapshots_with_alias,
    waits_out_pause,
)

# The steps get the task's options as ``validate`` returned them (``request``), the engine, and ``Run``.
Request = dict[str, Any]


@dataclass
class Run:
    """One container's way through the steps: each step fills its part."""

    #: The container as last seen (None: container_alias with ``state: absent``, the alias held by nobody).
    container: Optional[ContainerState]
    reading: Any = None
    plan: Any = None
    #: What carrying the plan out did so far (the workflow's own record); None until it starts.
    done: Any = None
    error: Optional[str] = None

    @property
    def target(self) -> ContainerState:
        """The container, in the workflows that always have one (all but container_alias)."""
        if self.container is None:
            raise TypeError("this workflow step needs a container; its targets step gave none")
        return self.container


@dataclass(frozen=True)
class Workflow:
    """The steps of one workflow module, in the order ``run_workflow`` takes them."""

    #: The options the steps use, checked before anything is read (``BadInput`` names a slip).
    validate: Callable[[Any], Request]
    #: The containers to work on, from the ``LifecycleModule`` (this connects to the engine).
    targets: Callable[[Any, Request], list[Optional[ContainerState]]]
    read: Callable[[Backend, Request, Run], Any]
    #: A ``_workflow`` planner; a plan with a ``refusal`` is not carried out, and says why.
    plan: Callable[[Backend, Request, Run], Any]
    #: Does what the plan says (in check mode, only what only simulates), recording it in ``run.done``.
    carry_out: Callable[[Backend, Request, Run, bool], None]
    #: The task result, built by ``_results`` in its ``_shapes`` type.
    result: Callable[[list[Run], Request, bool], Any]
    #: Several containers, each failing alone into its own entry; otherwise a failure fails the task at once.
    each_fails_alone: bool = False


def run_workflow(workflow: Workflow, lifecycle: Any) -> dict[str, Any]:
    """The task result of ``workflow`` run by ``lifecycle`` (a ``LifecycleModule``)."""
    request = workflow.validate(lifecycle)
    runs = [Run(target) for target in workflow.targets(lifecycle, request)]
    backend, check_mode = lifecycle.backend, lifecycle.module.check_mode
    steps = partial(_take_through, workflow, backend, request, check_mode)
    if workflow.each_fails_alone:
        run_parallel(runs, partial(_failing_alone, steps, backend), lifecycle.params["parallel"])
    else:
        for run in runs:
            steps(run)
    return workflow.result(runs, request, lifecycle.module._diff)


def _take_through(workflow: Workflow, backend: Backend, request: Request, check_mode: bool, run: Run) -> None:
    run.reading = workflow.read(backend, request, run)
    run.plan = workflow.plan(backend, request, run)
    refusal = getattr(run.plan, "refusal", None)
    if refusal:
        raise BadInput(refusal)
    workflow.carry_out(backend, request, run, check_mode)


def _failing_alone(steps: Callable[[Run], None], backend: Backend, run: Run) -> None:
    """The steps for one of several containers: a failure is kept in ``run.error``, with the status it left."""
    try:
        steps(run)
    except ContainerOpsError as exc:
        run.error = str(exc)
    except Exception as exc:  # a bug must still leave every container's report, not a traceback
        run.error = f"unexpected {type(exc).__name__}: {exc}"
    if run.error and run.container is not None:
        run.container = observe_after_failure(backend, run.container)


# container_snapshot ------------------------------------------------------------------------------


def snapshot_request(lifecycle: Any) -> Request:
    return dict(lifecycle.params, alias=check_snapshot_alias(lifecycle.params["alias"]))


def snapshot_target(lifecycle: Any, request: Request) -> list[Optional[ContainerState]]:
    """The container; a missing one too where its snapshots outlive it (they can still be removed or restored)."""
    snapshots = lifecycle.backend.snapshots
    must_exist = snapshot_needs_container(request["state"], snapshots is not None and snapshots.outlive_container)
    return [lifecycle.the_container(must_exist=must_exist)]


def read_snapshots(backend: Backend, request: Request, run: Run) -> dict[str, Any]:
    """The container's snapshots and whether it is the restore of the alias's, after a pause of another task."""
    part = backend.part(Snapshots)
    paused_for = 0.0
    if waits_out_pause(run.target, request["state"]):
        run.container, paused_for = wait_while_paused(backend, run.target, PAUSE_GRACE)
    snapshots = part.of(run.target)
    current = snapshots_with_alias(snapshots, request["alias"])
    restored = bool(current) and part.is_restored_from(run.target, current[0])
    return {"snapshots": snapshots, "restored_from_alias": restored, "paused_for": paused_for}


def snapshot_plan(backend: Backend, request: Request, run: Run) -> Any:
    return plan_snapshot(run.target, request["state"], request["alias"], request["replace"], **run.reading)


def take_snapshot(backend: Backend, request: Request, run: Run, check_mode: bool) -> None:
    """Take the new snapshot before removing the ones it replaces; or restore. ``run.done``: the snapshot taken."""
    if check_mode:
        return
    plan, part = run.plan, backend.part(Snapshots)
    if plan.takes_snapshot:
        run.done = part.take(run.target, request["alias"])
    for old in plan.remove:
        part.delete(run.target, old)
    if plan.restore:
        run.container = part.restore(run.target, plan.restore, request["stop_timeout"], request["wait_timeout"])


def snapshot_task_result(runs: list[Run], request: Request, with_diff: bool) -> SnapshotResult:
    (run,) = runs
    return snapshot_result(run.plan, run.target, run.done, with_diff)


# container_alias ---------------------------------------------------------------------------------


def alias_request(lifecycle: Any) -> Request:
    params = lifecycle.params
    return dict(params, options=alias_options(params["alias"], params, lifecycle.backend_class))


def alias_target(lifecycle: Any, request: Request) -> list[Optional[ContainerState]]:
    """The container to hold the alias; None for ``state: absent`` (nobody holds it)."""
    return [lifecycle.the_container() if request["state"] == "present" else None]


def read_holders(backend: Backend, request: Request, run: Run) -> Any:
    return backend.part(Aliases).holders(request["alias"], request["options"])


def alias_plan(backend: Backend, request: Request, run: Run) -> Any:
    return plan_alias(request["alias"], run.container, run.reading)


def move_alias(backend: Backend, request: Request, run: Run, check_mode: bool) -> None:
    """Point the alias and read its holders back; ``run.done``: the holders after and what the move took."""
    plan = run.plan
    if plan.in_place or check_mode:
        return
    aliases = backend.part(Aliases)
    moved = aliases.point(request["alias"], run.container, run.reading, request["options"])
    holders_after = [holder["name"] for holder in aliases.holders(request["alias"], request["options"])]
    failure = alias_not_moved(plan, holders_after)
    if failure:
        raise OperationFailed(failure)
    run.done = {"holders": holders_after, "moved": moved}


def alias_task_result(runs: list[Run], request: Request, with_diff: bool) -> AliasResult:
    (run,) = runs
    done = run.done or {"holders": run.plan.holders, "moved": None}  # in place, or check mode: nothing moved
    return alias_result(run.plan, done["holders"], done["moved"], with_diff)


# container_config --------------------------------------------------------------------------------


def config_request(lifecycle: Any) -> Request:
    params = lifecycle.params
    wanted = _config.wanted_settings(params["autostart"], params["environment_vars"], params["resources"])
    return dict(params, wanted=wanted)


def selected_targets(lifecycle: Any, request: Request) -> list[Optional[ContainerState]]:
    """The containers ``name`` and ``filters`` select (a missing name as ``absent``)."""
    return list(lifecycle.select_targets())


def read_config(backend: Backend, request: Request, run: Run) -> Any:
    if run.target.status == ABSENT:
        raise ContainerNotFound(run.target.name)
    return backend.part(Settings).read(run.target)


def config_plan(backend: Backend, request: Request, run: Run) -> Any:
    return plan_config(run.target, run.reading, request["wanted"], backend.part(Settings), request["restart_to_apply"])


def configure(backend: Backend, request: Request, run: Run, check_mode: bool) -> None:
    """Write the changes, between a stop and a start when the plan says so; fail when the engine shows others."""
    plan, done = run.plan, ConfigDone()
    run.done = done
    if plan.restart:
        run.container, done.actions = drive_to(backend, run.target, "stopped", request["stop_timeout"], check_mode)
        done.restarted = done.changed = True
    if plan.changes and not check_mode:
        try:
            backend.part(Settings).update(run.target, plan.changes)
        except OperationFailed as exc:
            raise OperationFailed(config_update_failed(str(exc), plan.changes)) from None
        run.container = backend.inspect(run.target.ref)
    done.changed = bool(plan.changes)
    if plan.restart:
        run.container, started = drive_to(backend, run.target, "started", None, check_mode)
        done.actions = done.actions + started
    done.after = plan.expected if check_mode or not plan.changes else backend.part(Settings).read(run.target)
    failure = config_not_applied(run.target.name, done.after, request["wanted"])
    if failure:
        raise OperationFailed(failure)


def config_task_result(runs: list[Run], request: Request, with_diff: bool) -> ConfigResult:
    """Every container's entry; with ``--diff``, the managed settings of each that got as far as reading them back."""
    entries = [config_entry(run.target, run.plan, run.done, run.error) for run in runs]
    diffs = [
        config_diff(run.target.name, run.plan.before, run.done.after, request["wanted"])
        for run in runs
        if with_diff and run.done and run.done.after is not None
    ]
    return config_result(entries, diffs, with_diff)
