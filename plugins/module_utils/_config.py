# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container settings as plain data: what the user asked for, what differs, and how to show it.

Backends read and write settings *flat* (``autostart``, ``environment_vars``, ``resources.memory``,
``resources.cpus``); the module reports them nested, the way they were given.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from ansible.module_utils.common.text.formatters import human_to_bytes

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import ConfigSettings

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

SETTINGS = ("autostart", "environment_vars", "resources.memory", "resources.cpus")


def parse_memory(value: Any) -> int:
    """Bytes from an int or a size such as ``512m`` / ``1g``; must be positive."""
    if isinstance(value, bool):
        raise BadInput(f"resources.memory must be a size such as 512m or 1g, got {value!r}")
    try:
        size = int(value) if isinstance(value, int) else human_to_bytes(str(value).strip())
    except (TypeError, ValueError):
        raise BadInput(f"resources.memory must be a size such as 512m or 1g (bytes, k, m, g), got {value!r}") from None
    if size <= 0:
        raise BadInput(f"resources.memory must be more than 0 bytes, got {value!r}")
    return size


def parse_cpus(value: Any) -> float:
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"resources.cpus must be a number of CPUs such as 0.5 or 2, got {value!r}") from None
    if cpus <= 0 or isinstance(value, bool):
        raise BadInput(f"resources.cpus must be more than 0, got {value!r}")
    return round(cpus, 9)


def wanted_settings(
    autostart: Optional[bool], environment_vars: Optional[dict[str, Any]], resources: Optional[dict[str, Any]]
) -> dict[str, Any]:
    """The flat settings a user asked for; options left out are not managed."""
    wanted: dict[str, Any] = {}
    if autostart is not None:
        wanted["autostart"] = autostart
    if environment_vars is not None:
        env = {}
        for key, value in environment_vars.items():
            if not isinstance(key, str) or not ENV_NAME.fullmatch(key):
                raise BadInput(
                    f"environment_vars: {key!r} is not a variable name: "
                    "letters, digits and '_', not starting with a digit"
                )
            if isinstance(value, (dict, list)):
                raise BadInput(f"environment_vars.{key} must be a string (or null to remove it), got {value!r}")
            # None: the variable must not be set.
            env[key] = None if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        wanted["environment_vars"] = env
    if resources is not None:
        if resources.get("memory") is not None:
            wanted["resources.memory"] = parse_memory(resources["memory"])
        if resources.get("cpus") is not None:
            wanted["resources.cpus"] = parse_cpus(resources["cpus"])
    return wanted


def config_changes(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The part of ``wanted`` that differs from ``current``; for the environment, only the keys that differ."""
    changes: dict[str, Any] = {}
    for setting, value in wanted.items():
        if setting == "environment_vars":
            have = current.get(setting) or {}
            differing = {key: val for key, val in value.items() if have.get(key) != val}
            if differing:
                changes[setting] = differing
        elif current.get(setting) != value:
            changes[setting] = value
    return changes


def applied(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """What the settings will be once ``changes`` are made."""
    after = dict(current)
    for setting, value in changes.items():
        if setting == "environment_vars":
            merged = {**(current.get(setting) or {}), **value}
            after[setting] = {key: val for key, val in merged.items() if val is not None}
        else:
            after[setting] = value
    return after


def change_names(changes: dict[str, Any]) -> list[str]:
    """``autostart``, ``resources.memory``, ``environment_vars.KEY``: what the task reports as changed."""
    names: list[str] = []
    for setting in SETTINGS:
        if setting == "environment_vars":
            names.extend(f"environment_vars.{key}" for key in sorted(changes.get(setting) or {}))
        elif setting in changes:
            names.append(setting)
    return names


def nested(flat: dict[str, Any]) -> ConfigSettings:
    """The report shape: ``{autostart, environment_vars, resources: {memory, cpus}}``; unknown is null."""
    env = flat.get("environment_vars")
    return {
        "autostart": flat.get("autostart"),
        "environment_vars": dict(sorted(env.items())) if env is not None else None,
        "resources": {"memory": flat.get("resources.memory"), "cpus": flat.get("resources.cpus")},
    }


def managed(flat: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """Only the settings (and environment variables) the user manages."""
    view = {setting: flat.get(setting) for setting in wanted}
    if "environment_vars" in wanted:
        env = flat.get("environment_vars") or {}
        view["environment_vars"] = {key: env[key] for key in wanted["environment_vars"] if key in env}
    return view


def diff_text(flat: dict[str, Any]) -> str:
    """One ``setting: value`` line per known setting, for ``--diff``."""
    lines: list[str] = []
    for setting in SETTINGS:
        value = flat.get(setting)
        if setting == "environment_vars":
            lines.extend(f"environment_vars.{key}: {val}\n" for key, val in sorted((value or {}).items()))
        elif value is not None:
            lines.append(f"{setting}: {str(value).lower() if isinstance(value, bool) else value}\n")
    return "".join(lines)
