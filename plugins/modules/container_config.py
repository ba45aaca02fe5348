#!/usr/bin/python
# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_config
short_description: Change the settings of an existing container
version_added: 0.2.0
description:
  - Sets whether a container starts with its engine, its environment variables and its resource limits.
  - Only the settings given are managed, and only those that differ are changed.
  - V(docker) applies O(autostart) and O(resources) to running containers at once. Docker cannot change
    the environment of an existing container; a different value in O(environment_vars) fails with a
    message saying so (values already equal are fine).
  - V(hoody) changes O(autostart) and O(environment_vars); it has no resource limits. Running processes
    keep their old environment until restarted, so an environment change on a running container needs
    O(restart_to_apply=true).
  - V(dockhand) has no API for any of these and refuses them.
author:
  - containerops engineers (@containerops)
extends_documentation_fragment:
  - containerops.lifecycle.connection
  - containerops.lifecycle.connection.docker
  - containerops.lifecycle.connection.rest
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
  name:
    description: Name or id of the container.
    type: str
    required: true
    aliases: [id]
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
    type: dict
  resources:
    description: Resource limits (Docker).
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
    description: Seconds between the graceful stop signal and SIGKILL for the stop of O(restart_to_apply).
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
"""

RETURN = r"""
container:
  description: The container after the task.
  returned: success
  type: dict
  contains:
    id:
      description: Container id.
      type: str
    name:
      description: Container name.
      type: str
    status:
      description: Canonical status.
      type: str
before:
  description:
    - The settings before the task. A setting the backend does not know is null.
    - C(resources.memory) is in bytes.
  returned: success
  type: dict
  sample: {autostart: false, environment_vars: {LOG_LEVEL: info}, resources: {memory: null, cpus: null}}
config:
  description: The settings after the task (in check mode, as they would be), in the shape of RV(before).
  returned: success
  type: dict
changes:
  description: The settings changed (or that would change), environment variables one by one.
  returned: success
  type: list
  elements: str
  sample: [autostart, environment_vars.LOG_LEVEL, resources.memory]
restarted:
  description: Whether the container was stopped and started to apply the change (O(restart_to_apply)).
  returned: success
  type: bool
actions:
  description: Lifecycle operations performed (or planned, in check mode), as in the container_state module.
  returned: success
  type: list
  elements: dict
  sample: [{operation: stop, duration_ms: 1200, forced: false}, {operation: start, duration_ms: 90, forced: false}]
elapsed:
  description: Seconds the module spent.
  returned: success
  type: float
"""

from ansible_collections.containerops.lifecycle.plugins.module_utils import _config
from ansible_collections.containerops.lifecycle.plugins.module_utils._driver import drive_to
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, OperationFailed
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import PAUSED, RUNNING
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import CONTAINER_SPEC, LifecycleModule

ARGUMENT_SPEC = dict(
    CONTAINER_SPEC,
    autostart={"type": "bool"},
    environment_vars={"type": "dict"},
    resources={
        "type": "dict",
        "options": {"memory": {"type": "raw"}, "cpus": {"type": "float"}},
    },
    restart_to_apply={"type": "bool", "default": False},
    stop_timeout={"type": "int"},
)


def run(lifecycle: LifecycleModule) -> dict:
    params = lifecycle.params
    check_mode = lifecycle.module.check_mode
    wanted = _config.wanted_settings(params["autostart"], params["environment_vars"], params["resources"])
    backend = lifecycle.backend
    container = lifecycle.the_container()
    before = backend.read_config(container)
    changes = _config.config_changes(before, wanted)

    refused = [
        f"{backend.why_not_settable(setting)} (asked: {', '.join(_config.change_names({setting: changes[setting]}))})"
        for setting in changes
        if setting not in backend.config_settings
    ]
    if refused:
        raise BadInput("; ".join(refused))
    awaiting_restart = [setting for setting in changes if setting in backend.settings_needing_restart]
    restart = bool(awaiting_restart) and container.status in (RUNNING, PAUSED)
    if restart and not params["restart_to_apply"]:
        raise BadInput(
            f"{', '.join(awaiting_restart)} only reach(es) the processes of {container.name!r} after a restart "
            f"and it is {container.status}: set restart_to_apply: true (stop, change, start) or stop it first. "
            "Nothing was changed."
        )

    actions: list[dict] = []
    if restart:
        container, done = drive_to(backend, container, "stopped", params["stop_timeout"], check_mode)
        actions += done
    if changes and not check_mode:
        backend.update_config(container, changes)
        container = backend.inspect(container.ref)
    if restart:
        container, done = drive_to(backend, container, "started", None, check_mode)
        actions += done
    after = _config.applied(before, changes) if check_mode or not changes else backend.read_config(container)
    still_different = _config.config_changes(after, wanted)
    if still_different:
        raise OperationFailed(
            f"the engine accepted the change of {container.name!r} but still reports different "
            f"{', '.join(_config.change_names(still_different))}"
        )

    result = {
        "changed": bool(changes),
        "container": {"id": container.id, "name": container.name, "status": container.status},
        "before": _config.nested(before),
        "config": _config.nested(after),
        "changes": _config.change_names(changes),
        "restarted": restart,
        "actions": actions,
    }
    if lifecycle.module._diff:
        result["diff"] = {
            "before": _config.diff_text(_config.managed(before, wanted)),
            "after": _config.diff_text(_config.managed(after, wanted)),
            "before_header": f"{container.name} settings",
            "after_header": f"{container.name} settings",
        }
    return result


def main() -> None:
    LifecycleModule(ARGUMENT_SPEC).run(run)


if __name__ == "__main__":
    main()
