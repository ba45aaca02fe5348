# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn per-container entries into one task result: ``changed``, ``diff``, and one ``msg`` on failure."""

from __future__ import annotations

from typing import Any


def _status_lines(entries: list[dict[str, Any]], key: str) -> str:
    return "".join(f"{entry['name']}: {entry[key]}\n" for entry in sorted(entries, key=lambda e: e["name"]))


def _left(entry: dict[str, Any]) -> str:
    if entry.get("status") == "unknown":
        return "status unknown: the engine could not be asked afterwards"
    return f"left {entry.get('status')!r}"


def task_result(entries: list[dict[str, Any]], action: str, with_diff: bool) -> dict[str, Any]:
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
