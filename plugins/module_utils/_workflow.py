# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the workflow modules as plain data and pure functions.

``container_snapshot``, ``container_config`` and ``container_alias`` each read what the engine shows,
ask a planner here what to do, and carry the plan out (``_pipeline``). A plan says which actions to take,
in what order, and what the task will report; a plan that must not be carried out says why in ``refusal``.
Nothing here talks to an engine (a backend is only asked what it declares), so the unit tests can
cover every combination, as for the lifecycle planner in ``_lifecycle``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils import _config
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import Backend, ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import PAUSED, RUNNING
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import Settings
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import (
    Action,
    AliasHolder,
    Snapshot,
    SnapshotRecord,
    public,
)

# Snapshots ---------------------------------------------------------------------------------------

SNAPSHOT_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def check_snapshot_alias(alias: Optional[str]) -> str:
    """``alias`` when it may name a snapshot; else a ``BadInput`` saying what it must look like."""
    if alias is None or not SNAPSHOT_ALIAS.fullmatch(alias):
        raise BadInput(
            f"alias {alias!r} must be 1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return alias


def snapshot_needs_container(state: str, snapshots_outlive_container: bool) -> bool:
    """Whether the container must exist: a snapshot that outlives it can still be removed or restore it."""
    return state == "present" or not snapshots_outlive_container


def snapshots_with_alias(snapshots: list[SnapshotRecord], alias: str) -> list[SnapshotRecord]:
    return [snapshot for snapshot in snapshots if snapshot["alias"] == alias]


def public_snapshot(snapshot: Optional[SnapshotRecord]) -> Optional[Snapshot]:
    """The snapshot as the task reports it: the documented keys, never the backend's ``private`` part."""
    return None if snapshot is None else public(Snapshot, snapshot)


@dataclass(frozen=True)
class SnapshotPlan:
    """What ``container_snapshot`` does: take (``create``), then remove ``remove``, or restore ``restore``."""

    #: What the task reports it did, in order: ``create``, ``remove-replaced``, ``remove``, ``restore``.
    actions: tuple[str, ...] = ()
    #: The snapshots of the alias to remove (after a new one is taken, when it replaces them).
    remove: tuple[SnapshotRecord, ...] = ()
    #: The snapshot to put the container back to.
    restore: Optional[SnapshotRecord] = None
    #: The snapshot the task reports unless a new one is taken (in check mode, none is).
    snapshot: Optional[SnapshotRecord] = None
    diff_before: str = ""
    diff_after: str = ""
    refusal: Optional[str] = None

    @property
    def takes_snapshot(self) -> bool:
        return "create" in self.actions


def _snapshot_diff_text(aliases: list[str], restored_from: Optional[str]) -> str:
    lines = [f"snapshot: {alias}\n" for alias in aliases]
    return "".join(lines) + (f"restored from: {restored_from}\n" if restored_from else "")


#: How long a snapshot waits for a paused container to be resumed: another task's snapshot pauses the container
#: while the engine copies its files (Docker's commit), and resumes it within seconds.
PAUSE_GRACE = 10.0


def waits_out_pause(container: ContainerState, state: str) -> bool:
    """Whether a snapshot ``state`` must first wait for a paused container to be resumed (``PAUSE_GRACE``)."""
    return container.status == PAUSED and state != "absent"


def plan_snapshot(
    container: ContainerState,
    state: str,
    alias: str,
    replace: bool,
    snapshots: list[SnapshotRecord],
    restored_from_alias: bool,
    paused_for: float = 0.0,
) -> SnapshotPlan:
    """Plan ``state`` (``present``, ``absent``, ``restored``) for the snapshot ``alias`` of ``container``.

    ``snapshots`` are all the container's snapshots; ``restored_from_alias`` whether the container is the
    restore of the one with ``alias``, untouched since; ``paused_for`` how long it was watched staying paused.
    """
    if container.status == PAUSED and state != "absent":
        return SnapshotPlan(
            refusal=f"container {container.name!r} stayed paused for {paused_for:.0f}s (a pause of another task's "
            "snapshot is over sooner): resume or stop it before a snapshot is taken or restored"
        )
    existing = snapshots_with_alias(snapshots, alias)
    current = existing[0] if existing else None
    if state == "restored" and current is None:
        return SnapshotPlan(refusal=f"container {container.name!r} has no snapshot with alias {alias!r}")
    restored_from = alias if current and restored_from_alias else None
    aliases_before = sorted({snapshot["alias"] or snapshot["name"] for snapshot in snapshots})
    aliases_after = set(aliases_before)
    actions: tuple[str, ...] = ()
    remove: tuple[SnapshotRecord, ...] = ()
    restore = None
    snapshot = current
    if state == "present" and (current is None or replace):
        actions, remove = ("create", "remove-replaced") if existing else ("create",), tuple(existing)
        aliases_after.add(alias)
    elif state == "absent":
        snapshot = None
        if existing:
            actions, remove = ("remove",), tuple(existing)
            aliases_after.discard(alias)
    elif state == "restored" and not restored_from:
        actions, restore = ("restore",), current
    return SnapshotPlan(
        actions=actions,
        remove=remove,
        restore=restore,
        snapshot=snapshot,
        diff_before=_snapshot_diff_text(aliases_before, restored_from),
        diff_after=_snapshot_diff_text(sorted(aliases_after), alias if state == "restored" else restored_from),
    )


# Container settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigPlan:
    """What ``container_config`` does to one container: write ``changes``, between a stop and a start if ``restart``."""

    #: The settings read (flat, as ``_config`` names them).
    before: dict[str, Any]
    #: The settings to write: those that differ; for the environment, only the variables that differ.
    changes: dict[str, Any]
    #: Stop the container before the change and start it after, so its processes take the change up.
    restart: bool = False
    refusal: Optional[str] = None

    @property
    def expected(self) -> dict[str, Any]:
        """The settings once the changes are made; what check mode reports."""
        return _config.applied(self.before, self.changes)


@dataclass
class ConfigDone:
    """What carrying a ``ConfigPlan`` out did so far: what the container's entry reports, even when a step failed."""

    #: The lifecycle actions of the stop and start around the change.
    actions: list[Action] = field(default_factory=list)
    restarted: bool = False
    changed: bool = False
    #: The settings read back once the change is made (in check mode: as planned); None until then.
    after: Optional[dict[str, Any]] = None


def plan_config(
    container: ContainerState,
    before: dict[str, Any],
    wanted: dict[str, Any],
    settings: Settings,
    restart_to_apply: bool,
) -> ConfigPlan:
    """Plan bringing ``container``'s settings from ``before`` to ``wanted``.

    Refused when the engine cannot change a setting that differs (``settings.settable``), or when a
    running or paused container would only take a change up after a restart and ``restart_to_apply`` is off.
    """
    changes = _config.config_changes(before, wanted)
    refused = [
        f"{settings.why_not_settable(setting)} (asked: {', '.join(_config.change_names({setting: value}))})"
        for setting, value in changes.items()
        if setting not in settings.settable
    ]
    if refused:
        return ConfigPlan(before, changes, refusal="; ".join(refused) + "; nothing was changed")
    awaiting_restart = [setting for setting in changes if setting in settings.needing_restart]
    restart = bool(awaiting_restart) and container.status in (RUNNING, PAUSED)
    if restart and not restart_to_apply:
        refusal = (
            f"{', '.join(awaiting_restart)} only reach(es) the processes of {container.name!r} after a restart "
            f"and it is {container.status}: set restart_to_apply: true (stop, change, start) or stop it first. "
            "Nothing was changed."
        )
        return ConfigPlan(before, changes, refusal=refusal)
    return ConfigPlan(before, changes, restart=restart)


def config_update_failed(error: str, changes: dict[str, Any]) -> str:
    """The message of an update the engine refused: its error and what was asked (environment values left out)."""
    asked = ", ".join(f"{name}={value}" for name, value in changes.items() if name != "environment_vars")
    return f"{error} (asked: {asked or ', '.join(_config.change_names(changes))})"


def config_not_applied(name: str, after: dict[str, Any], wanted: dict[str, Any]) -> Optional[str]:
    """Why the task fails when the engine accepted the change but shows other settings; None when it shows them."""
    still_different = _config.config_changes(after, wanted)
    if not still_different:
        return None
    return (
        f"the engine accepted the change of {name!r} but still reports different "
        f"{', '.join(_config.change_names(still_different))}"
    )


# Aliases ------------------------------------------------------------------------------------------

ALIAS_OPTIONS = ("network", "program", "index", "port", "target_path")
MAX_PROGRAM_INDEX = 1000


def alias_options(alias: Optional[str], params: dict[str, Any], engine: type[Backend]) -> dict[str, Any]:
    """The engine options of ``alias`` (``ALIAS_OPTIONS``) from the task's ``params``; ``BadInput`` names a slip."""
    if not alias or not alias.strip():
        raise BadInput("alias must not be empty")
    if not engine.alias_pattern.fullmatch(alias):
        raise BadInput(f"alias {alias!r} is not an alias backend {engine.name} allows: {engine.alias_rule}")
    network, program, index, port, target_path = (params[key] for key in ALIAS_OPTIONS)
    if network is not None and not engine.network_pattern.fullmatch(network):
        raise BadInput(f"network {network!r} is not a network backend {engine.name} allows: {engine.network_rule}")
    if port is not None and not 1 <= port <= 65535:
        raise BadInput(f"port must be 1 to 65535, got {port}")
    if index is not None and not 1 <= index <= MAX_PROGRAM_INDEX:
        raise BadInput(f"index must be 1 to {MAX_PROGRAM_INDEX}, got {index}")
    if not (program or "").strip() or not program.isprintable():
        raise BadInput(f"program must name a program (http, https, ssh or a built-in one), got {program!r}")
    if target_path is not None and (".." in target_path.split("/") or not target_path.isprintable()):
        raise BadInput(f"target_path {target_path!r} must be a plain path: no '..' segments or control characters")
    return {key: params[key] for key in ALIAS_OPTIONS}


def recorded_url(holders: list[AliasHolder]) -> Optional[str]:
    """The alias's public URL, when the engine gives its holders one (Hoody's proxy aliases)."""
    return next((holder["url"] for holder in holders if holder.get("url")), None)


@dataclass(frozen=True)
class AliasPlan:
    """What ``container_alias`` does: nothing when the alias is in place, else point it at ``target`` (None: nobody)."""

    alias: str
    target: Optional[ContainerState]
    #: Names of the holders before the task.
    previous: list[str]
    #: Names of the holders once the plan is carried out.
    holders: list[str]
    in_place: bool
    #: Whether the alias leaves another container for the target, so the time nobody held it is reported.
    moves_away: bool = False
    #: The alias's URL as the engine recorded it, when the alias is in place.
    url: Optional[str] = None


def plan_alias(alias: str, target: Optional[ContainerState], holders: list[AliasHolder]) -> AliasPlan:
    """Plan ``target`` (None: no container) to be the only holder of ``alias``, in sync with the task's options.

    ``holders`` are the engine's holders now: ``{name, id, in_sync}``, plus engine details.
    """
    previous = [holder["name"] for holder in holders]
    wanted = [(target.id, True)] if target else []
    if [(holder["id"], holder["in_sync"]) for holder in holders] == wanted:
        return AliasPlan(alias, target, previous, previous, in_place=True, url=recorded_url(holders))
    return AliasPlan(
        alias,
        target,
        previous,
        [target.name] if target else [],
        in_place=False,
        moves_away=target is not None and any(holder["id"] != target.id for holder in holders),
    )


def alias_not_moved(plan: AliasPlan, holders_after: list[str]) -> Optional[str]:
    """Why the task fails when the engine shows other holders than planned after the move; None when it does not."""
    if sorted(holders_after) == plan.holders:
        return None
    expected = plan.holders or "no container"
    return f"alias {plan.alias!r} should be held by {expected} but is held by {holders_after or 'none'}"
