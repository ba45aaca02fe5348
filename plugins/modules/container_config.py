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
  - V(podman) reads the settings (equal values are fine) but changes none of them, and refuses a different
    value before anything changes. Podman before 5.1 can change resource limits only in the running
    container's cgroup (inspect does not show them, a restart forgets them) and cannot change the restart
    policy or the environment; Podman 5.1 keeps such changes (5.5 the environment), which this collection
    does not use yet. Recreate the container with the new settings.
author:
  - containerops engineers (@containerops)
extends_documentation_fragment:
  - containerops.lifecycle.connection
  - containerops.lifecycle.connection.docker
  - containerops.lifecycle.connection.podman
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

from ansible_collections.containerops.lifecycle.plugins.module_utils._module import LifecycleModule
from ansible_collections.containerops.lifecycle.plugins.module_utils._pipeline import (
    Workflow,
    config_plan,
    config_request,
    config_task_result,
    configure,
    read_config,
    run_workflow,
    selected_targets,
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

# Each selected container on its own (in parallel): its settings read and planned against the wanted ones,
# written (between a stop and a start when they need a restart), read back; a failure stays its entry's.
WORKFLOW = Workflow(
    validate=config_request,
    targets=selected_targets,
    read=read_config,
    plan=config_plan,
    carry_out=configure,
    result=config_task_result,
    each_fails_alone=True,
)
run = partial(run_workflow, WORKFLOW)


def main() -> None:
    LifecycleModule(ARGUMENT_SPEC, with_targets=True).run(run)


if __name__ == "__main__":
    main()
