# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every result a module returns, built here in the shape ``_shapes`` declares for it.

Per-container entries become one task result (``changed``, ``diff``, one ``msg`` on failure); the workflow
modules' results are built from their plans and what carrying them out did.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, cast

from ansible_collections.containerops.lifecycle.plugins.module_utils import _config
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import (
    AliasResult,
    ConfigEntry,
    ConfigResult,
    Diff,
    MissingContainer,
    SnapshotRecord,
    SnapshotResult,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._workflow import (
    AliasPlan,
    ConfigDone,
    ConfigPlan,
    SnapshotPlan,
    public_snapshot,
)


def _status_lines(entries: Sequence[Mapping[str, Any]], key: str) -> str:
    return "".join(f"{entry['name']}: {entry[key]}\n" for entry in sorted(entries, key=lambda e: e["name"]))


def _left(entry: Mapping[str, Any]) -> str:
    if entry.get("status") == "unknown":
        return "status unknown: the engine could not be asked afterwards"
    return f"left {entry.get('status')!r}"


def task_result(entries: Sequence[Mapping[str, Any]], action: str, with_diff: bool) -> dict[str, Any]:
    """Assemble what a multi-target module returns; per-target errors fail the task at the end."""
    result: dict[str, Any] = {
        "changed": any(entry.get("changed") for entry in entries),
        "containers": entries,
    }
    if len(entries) == 1:
        result["container"] = entries[0]
    if with_diff:
        result["diff"] = {
            "before": _status_lines(entries, "status_before"),
            "after": _status_lines(entries, "status"),
            "before_header": "container status",
            "after_header": "container status",
        }
    failed = [entry for entry in entries if entry.get("error")]
    if failed:
        details = "; ".join(f"{entry['name']}: {entry['error']} ({_left(entry)})" for entry in failed)
        result["failed"] = True
        result["msg"] = f"{action} failed for {len(failed)} of {len(entries)} container(s): {details}"
    return result


def missing_container(name: str) -> MissingContainer:
    """container_info's entry of a name no container has."""
    return {"name": name, "exists": False}


# The workflow modules ----------------------------------------------------------------------------


def _diff(before: str, after: str, header: str) -> Diff:
    return {"before": before, "after": after, "before_header": header, "after_header": header}


def snapshot_result(
    plan: SnapshotPlan, container: ContainerState, taken: Optional[SnapshotRecord], with_diff: bool
) -> SnapshotResult:
    """container_snapshot's result once ``plan`` is carried out; ``taken`` is the new snapshot, None when none was."""
    result: SnapshotResult = {
        "changed": bool(plan.actions),
        "snapshot": public_snapshot(taken or plan.snapshot),
        "container": {"id": container.id, "name": container.name, "status": container.status},
        "actions": list(plan.actions),
    }
    if with_diff:
        result["diff"] = _diff(plan.diff_before, plan.diff_after, f"{container.name} snapshots")
    return result


def alias_result(
    plan: AliasPlan, holders_after: list[str], moved: Optional[dict[str, Any]], with_diff: bool
) -> AliasResult:
    """container_alias's result; ``moved`` is what the engine said moving the alias took, None when it was not moved."""
    moved = moved or {}
    result: AliasResult = {
        "changed": not plan.in_place,
        "alias": plan.alias,
        "target": {"id": plan.target.id, "name": plan.target.name} if plan.target else None,
        "previous": plan.previous,
        "holders": holders_after,
        "window_ms": moved.get("window_ms") if plan.moves_away else None,
    }
    url = plan.url if plan.in_place else moved.get("url")
    if url:
        result["url"] = url
    if with_diff:
        result["diff"] = _diff(
            "".join(f"{plan.alias}: {name}\n" for name in plan.previous),
            "".join(f"{plan.alias}: {name}\n" for name in holders_after),
            f"holders of {plan.alias}",
        )
    return result


def config_entry(
    container: ContainerState,
    plan: Optional[ConfigPlan] = None,
    done: Optional[ConfigDone] = None,
    error: Optional[str] = None,
) -> ConfigEntry:
    """One container's entry of container_config: as far as it got (``plan`` read and planned, ``done`` so far)."""
    after = done.after if done else None
    entry: ConfigEntry = {
        "id": container.id,
        "name": container.name,
        "status": container.status,
        "changed": done.changed if done else False,
        "before": _config.nested(plan.before) if plan else None,
        "config": _config.nested(after) if after is not None else None,
        "changes": _config.change_names(plan.changes) if plan else [],
        "restarted": done.restarted if done else False,
        "actions": list(done.actions) if done else [],
    }
    if error:
        entry["error"] = error
    return entry


def config_diff(name: str, before: dict[str, Any], after: dict[str, Any], wanted: dict[str, Any]) -> Diff:
    """The settings the task manages, before and after."""
    return _diff(
        _config.diff_text(_config.managed(before, wanted)),
        _config.diff_text(_config.managed(after, wanted)),
        f"{name} settings",
    )


def config_result(entries: list[ConfigEntry], diffs: list[Diff], with_diff: bool) -> ConfigResult:
    """container_config's result: every entry, one container's report at the top level too; fails at the end."""
    # task_result's keys (changed, containers, container, failed, msg) are ConfigResult's too
    result = cast(ConfigResult, task_result(entries, "container_config", with_diff=False))
    if len(entries) == 1:
        for key in ("before", "config", "changes", "restarted", "actions"):
            result[key] = entries[0][key]
    if with_diff:
        result["diff"] = diffs
    return result
