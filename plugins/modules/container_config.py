#!/usr/bin/python
# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_config
short_description: Change the settings of existing containers
version_added: 0.1.0
description:
  - Sets whether a container starts with its engine, its environment variables and its resource limits.
  - Only the settings given are managed, and only those that differ are changed.
  - Works on many containers in one task (O(name) as a list, or O(filters)), O(parallel) at a time, all
    getting the same settings; each is reported in RV(containers).
  - V(docker) applies O(autostart) and O(resources) to running containers at once. Docker cannot change
    the environment of an existing container; a different value in O(environment_vars) fails with a
    message saying so (values already equal are fine).
  - V(hoody) changes O(autostart) and O(environment_vars); it has no resource limits. Running processes
    keep their old environment until restarted, so an environment change on a running container needs
    O(restart_to_apply=true).
  - V(dockhand) (1.0.33 or later) applies O(autostart) and O(resources) to running containers at once,
    through Dockhand's C(POST /api/containers/{id}/update-runtime), as Docker does. Like Docker it cannot
    change the environment of an existing container, and refuses a different value in O(environment_vars).
author:
  - containerops engineers (@containerops)
extends_documentation_fragment:
  - containerops.lifecycle.connection
  - containerops.lifecycle.connection.docker
  - containerops.lifecycle.connection.rest
  - containerops.lifecycle.targets
  - containerops.lifecycle.attributes
attributes:
  check_mode:
    support: full
    details: Reports the settings that would change, and the stop and start O(restart_to_apply) would do.
  diff_mode:
    support: full
    details: Shows the managed settings before and after, one line each.
  idempotent:
    support: full
options:
  autostart:
    description:
      - Whether the container starts when its engine (or host) starts.
      - Docker, restart policy V(unless-stopped) for V(true) and V(no) for V(false); a container with
        restart policy V(always) already counts as V(true).
    type: bool
  environment_vars:
    description:
      - Environment variables to set. Variables not named keep their value.
      - Values are strings; numbers and booleans are turned into strings (V(true), V(false)).
      - A null value (C(~) in YAML) means the variable must not be set; it is removed where it is.
    type: dict
  resources:
    description: Resource limits (Docker and Dockhand).
    type: dict
    suboptions:
      memory:
        description: Memory limit, in bytes or with a unit (V(512m), V(1g)).
        type: raw
      cpus:
        description: Number of CPUs the container may use, for example V(0.5) or V(2).
        type: float
  restart_to_apply:
    description:
      - A change that a running (or paused) container only takes up after a restart fails, and nothing is
        changed, unless this is V(true). Then the container is stopped, changed and started, and
        RV(restarted) says so. A paused container ends up running.
      - Changes that apply at once never restart the container.
    type: bool
    default: false
  stop_timeout:
    description: Seconds between the graceful stop signal and SIGKILL for the stop of O(restart_to_apply), 0 to 86400.
    type: int
seealso:
  - module: containerops.lifecycle.container_state
  - module: containerops.lifecycle.container_snapshot
"""

EXAMPLES = r"""
- name: Start the worker with Docker, and cap its memory
  containerops.lifecycle.container_config:
    name: worker
    autostart: true
    resources:
      memory: 512m
      cpus: 1.5

- name: New log level on Hoody, restarting the container so its processes see it
  containerops.lifecycle.container_config:
    backend: hoody
    name: 65f0c0ffee0123456789abcd
    environment_vars:
      LOG_LEVEL: debug
    restart_to_apply: true
  register: configured

- name: What would change
  containerops.lifecycle.container_config:
    name: worker
    autostart: false
  check_mode: true
  register: preview

- name: The API containers of the Compose project "shop" start with the engine, four at a time
  containerops.lifecycle.container_config:
    filters:
      project: shop
      label: [app=api]
    autostart: true
    parallel: 4
"""

RETURN = r"""
containers:
  description:
    - One entry per container, in the order named (then the ones O(filters) matched).
    - Each has C(id), C(name), C(status) (after the task), C(changed), and RV(before), RV(config), RV(changes),
      RV(restarted), RV(actions) as described below for one container; C(error) when that container failed.
  returned: always
  type: list
  elements: dict
container:
  description: With exactly one container, its entry of RV(containers).
  returned: when there is exactly one container
  type: dict
before:
  description:
    - The settings before the task. A setting the backend does not know is null.
    - C(resources.memory) is in bytes.
  returned: when there is exactly one container
  type: dict
  sample: {autostart: false, environment_vars: {LOG_LEVEL: info}, resources: {memory: null, cpus: null}}
config:
  description: The settings after the task (in check mode, as they would be), in the shape of RV(before).
  returned: when there is exactly one container
  type: dict
changes:
  description: The settings changed (or that would change), environment variables one by one.
  returned: when there is exactly one container
  type: list
  elements: str
  sample: [autostart, environment_vars.LOG_LEVEL, resources.memory]
restarted:
  description: Whether the container was stopped and started to apply the change (O(restart_to_apply)).
  returned: when there is exactly one container
  type: bool
actions:
  description: Lifecycle operations performed (or planned, in check mode), as in the container_state module.
  returned: when there is exactly one container
  type: list
  elements: dict
  sample: [{operation: stop, duration_ms: 1200, forced: false}, {operation: start, duration_ms: 90, forced: false}]
elapsed:
  description: Seconds the module spent.
  returned: success
  type: float
msg:
  description: On failure, each failed container with its error and the status it was left in.
  returned: failure
  type: str
"""

from functools import partial

from ansible_collections.containerops.lifecycle.plugins.module_utils import _config
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._driver import drive_to, run_parallel
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ContainerNotFound,
    ContainerOpsError,
    OperationFailed,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import ABSENT
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import LifecycleModule
from ansible_collections.containerops.lifecycle.plugins.module_utils._results import task_result
from ansible_collections.containerops.lifecycle.plugins.module_utils._workflow import (
    config_entry,
    config_not_applied,
    config_report,
    config_update_failed,
    plan_config,
)

ARGUMENT_SPEC = dict(
    autostart={"type": "bool"},
    environment_vars={"type": "dict"},
    resources={
        "type": "dict",
        "options": {"memory": {"type": "raw"}, "cpus": {"type": "float"}},
    },
    restart_to_apply={"type": "bool", "default": False},
    stop_timeout={"type": "int"},
)


def configure(lifecycle: LifecycleModule, wanted: dict, container: ContainerState) -> dict:
    """Bring one container's settings to ``wanted``; its entry of the result (``error`` when it failed)."""
    params, backend, check_mode = lifecycle.params, lifecycle.backend, lifecycle.module.check_mode
    entry = config_entry(container)
    try:
        if container.status == ABSENT:
            raise ContainerNotFound(container.name)
        plan = plan_config(container, backend.read_config(container), wanted, backend, params["restart_to_apply"])
        entry.update(before=_config.nested(plan.before), changes=_config.change_names(plan.changes))
        if plan.refusal:
            raise BadInput(plan.refusal)
        if plan.restart:
            container, done = drive_to(backend, container, "stopped", params["stop_timeout"], check_mode)
            entry.update(actions=done, restarted=True, changed=True, status=container.status)
        if plan.changes and not check_mode:
            try:
                backend.update_config(container, plan.changes)
            except OperationFailed as exc:
                raise OperationFailed(config_update_failed(str(exc), plan.changes)) from None
            container = backend.inspect(container.ref)
        entry.update(changed=bool(plan.changes), id=container.id, status=container.status)
        if plan.restart:
            container, done = drive_to(backend, container, "started", None, check_mode)
            entry.update(actions=entry["actions"] + done, status=container.status)
        after = plan.expected if check_mode or not plan.changes else backend.read_config(container)
        entry.update(config_report(container.name, plan.before, after, wanted, lifecycle.module._diff))
        failure = config_not_applied(container.name, after, wanted)
        if failure:
            raise OperationFailed(failure)
    except ContainerOpsError as exc:
        entry.update(error=str(exc), status=_status_now(backend, container))
    except Exception as exc:  # a bug must still leave every container's report, not a traceback
        entry.update(error=f"unexpected {type(exc).__name__}: {exc}", status=_status_now(backend, container))
    return entry


def _status_now(backend, container: ContainerState) -> str:
    """The status a failed container was left in, as the engine shows it now (``unknown`` if it cannot say)."""
    if container.status == ABSENT:
        return ABSENT
    try:
        return backend.inspect(container.ref).status
    except ContainerOpsError:
        return "unknown"


def run(lifecycle: LifecycleModule) -> dict:
    params = lifecycle.params
    wanted = _config.wanted_settings(params["autostart"], params["environment_vars"], params["resources"])
    entries = run_parallel(lifecycle.select_targets(), partial(configure, lifecycle, wanted), params["parallel"])
    diffs = [entry.pop("diff") for entry in entries if "diff" in entry]
    result = task_result(entries, "container_config", with_diff=False)
    if len(entries) == 1:  # one container: its report at the top level too
        result.update({key: entries[0][key] for key in ("before", "config", "changes", "restarted", "actions")})
    if lifecycle.module._diff:
        result["diff"] = diffs
    return result


def main() -> None:
    LifecycleModule(ARGUMENT_SPEC, with_targets=True).run(run)


if __name__ == "__main__":
    main()
