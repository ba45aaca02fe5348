#!/usr/bin/python
# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_state
short_description: Drive existing containers to a lifecycle state
version_added: 0.1.0
description:
  - Starts, stops, force-stops, restarts, pauses, resumes or deletes existing containers until each is
    in the state asked for. It never creates a container.
  - Each container's status is read first and only the operations needed are performed, following the
    allowed-operations table (see
    R(Statuses and operations,ansible_collections.containerops.lifecycle.docsite.guide_backends)). A paused container is
    resumed before it is stopped; a stopped one is started before it is paused; transitional statuses are waited out.
  - Many containers can be selected at once (O(name) list and O(filters)) and are worked on in parallel.
  - Each container's status is re-read after every operation and the remaining work re-planned, so a
    container changed by someone else at the same time is handled or reported clearly.
author:
  - containerops engineers (@containerops)
extends_documentation_fragment:
  - containerops.lifecycle.connection
  - containerops.lifecycle.connection.docker
  - containerops.lifecycle.connection.podman
  - containerops.lifecycle.connection.rest
  - containerops.lifecycle.targets
  - containerops.lifecycle.wait
  - containerops.lifecycle.attributes
attributes:
  check_mode:
    support: full
    details: Returns the planned operations in RV(containers[].actions) without performing any.
  diff_mode:
    support: full
    details: Shows each container's status before and after.
  idempotent:
    support: partial
    details: Every state is idempotent except O(state=restarted), which always acts.
options:
  state:
    description:
      - V(started) runs the container; V(stopped) stops it; V(paused) freezes it; V(absent) deletes it.
      - V(restarted) always restarts (a stopped container is started) and always reports a change.
      - A container whose status is V(failed) can only be deleted (V(absent)).
    type: str
    required: true
    choices: [started, stopped, paused, restarted, absent]
  force:
    description:
      - For V(stopped), V(restarted) and V(absent), kill the container immediately (force-stop, SIGKILL)
        instead of stopping it gracefully.
    type: bool
    default: false
  stop_timeout:
    description:
      - Seconds between the graceful stop signal (SIGTERM) and SIGKILL.
      - V(0) is honoured and kills at once after SIGTERM. At most 86400.
      - When not set, the engine's default for the container applies (Docker, the container's
        C(StopTimeout), else 10 seconds).
      - V(podman) is always sent the grace period, O(stop_timeout) or else the container's own C(StopTimeout), for
        a restart too (Podman's restart without one kills at once).
    type: int
  force_on_timeout:
    description:
      - If a graceful stop has not finished within O(stop_timeout) plus a 10 second margin, or the
        engine reports that the stop failed, force-stop the container and report RV(containers[].escalated=true).
    type: bool
    default: false
  healthy:
    description:
      - For V(started) and V(restarted), also wait until the container's health check passes.
      - Fails as soon as the health check reports unhealthy or the container stops, not at
        O(wait_timeout).
      - A container without a health check fails with a message saying so.
      - Podman runs health checks only from systemd timers. With V(podman), whenever the health status has
        not changed for longer than the check's interval (no timer ran it, e.g. without systemd), the wait
        runs the check itself through the API (C(GET /containers/{id}/healthcheck)), so it takes about one
        interval per check, as on Docker.
    type: bool
    default: false
notes:
  - V(podman) cannot pause a container without a cgroup of its own (rootless Podman on cgroup v1, or a container
    run with C(--cgroups=disabled)); such a pause is refused in those words.
  - With several containers, a failure on one does not stop the others; the task fails at the end and
    its C(msg) names every failed container, what was attempted and the status it was left in (see
    R(What happens when things go wrong,ansible_collections.containerops.lifecycle.docsite.guide_failures)).
seealso:
  - module: containerops.lifecycle.container_info
  - module: containerops.lifecycle.container_status_logs
  - module: community.docker.docker_container
    description: Creates and configures containers; this module only drives existing ones.
"""

EXAMPLES = r"""
- name: Stop a container gracefully, 5 seconds before SIGKILL
  containerops.lifecycle.container_state:
    name: web-1
    state: stopped
    stop_timeout: 5

- name: Stop the batch containers of the Compose project "shop", 20 at a time
  containerops.lifecycle.container_state:
    filters:
      project: shop
      label: [tier=batch]
      status: [running, paused]
    state: stopped
    parallel: 20

- name: Stop, and kill whatever hangs
  containerops.lifecycle.container_state:
    name: [api-1, api-2]
    state: stopped
    stop_timeout: 30
    force_on_timeout: true
  register: stopped

- name: Report which ones had to be killed
  ansible.builtin.debug:
    msg: "{{ stopped.containers | selectattr('escalated') | map(attribute='name') | list }}"

- name: Restart and wait until the health check passes
  containerops.lifecycle.container_state:
    name: api-1
    state: restarted
    healthy: true
    wait_timeout: 120

- name: Remove a container, paused or running, without waiting for a graceful stop
  containerops.lifecycle.container_state:
    name: scratch
    state: absent
    force: true
"""

RETURN = r"""
containers:
  description: One entry per selected container, in the order the names were given, then filter matches.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Container id (null for a name that does not exist).
      type: str
      sample: 5f2a1c0d9be4...
    name:
      description: Container name.
      type: str
      sample: web-1
    status_before:
      description: Canonical status before the task.
      type: str
      sample: running
    status:
      description:
        - Canonical status after the task (V(absent) once deleted).
        - In check mode, the status the plan would lead to.
      type: str
      sample: stopped
    engine_status:
      description: The engine's own state name after the task (Docker C(State.Status)).
      type: str
      sample: exited
    changed:
      description: Whether this container was changed.
      type: bool
    actions:
      description:
        - Operations performed, in order.
        - In check mode, the operations planned, with RV(containers[].actions[].duration_ms=null).
        - A graceful stop that was escalated appears with an C(error), followed by the V(force-stop).
      type: list
      elements: dict
      contains:
        operation:
          description: One of V(start), V(stop), V(force-stop), V(restart), V(pause), V(resume), V(delete).
          type: str
        duration_ms:
          description: How long the engine took for it.
          type: int
        forced:
          description: >-
            The container's processes were SIGKILLed: a force-stop, or a graceful stop that the engine
            escalated after O(stop_timeout). V(podman) does not say so itself: a stop or restart counts as forced
            when the process died of SIGKILL (exit code 137, after a restart read from its C(died) event) and the
            whole grace period had passed, or SIGKILL is the container's own stop signal.
          type: bool
        error:
          description: Why this operation failed (a graceful stop that was escalated, or the failed operation).
          returned: when this operation failed
          type: str
      sample: [{operation: resume, duration_ms: 21, forced: false}, {operation: stop, duration_ms: 10250, forced: true}]
    escalated:
      description: A graceful stop hung or failed and was replaced by a force-stop (O(force_on_timeout)).
      type: bool
    health:
      description: Health check status (V(starting), V(healthy), V(unhealthy)), or null without a health check.
      type: str
    duration_ms:
      description: Time spent on this container, waits included.
      type: int
    error:
      description: Why this container failed.
      returned: when this container failed
      type: str
      sample: "stop failed: ..."
container:
  description: The single entry of RV(containers), when the task selected exactly one container.
  returned: when exactly one container was selected
  type: dict
elapsed:
  description: Seconds the module spent, from its start to its answer.
  returned: success
  type: float
  sample: 0.412
msg:
  description: On failure, each failed container with what was attempted and the status it was left in.
  returned: failure
  type: str
"""

from ansible_collections.containerops.lifecycle.plugins.module_utils._driver import (
    Converger,
    StateRequest,
    run_parallel,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import DESIRED_STATES
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import LifecycleModule
from ansible_collections.containerops.lifecycle.plugins.module_utils._results import task_result

ARGUMENT_SPEC = {
    "state": {"type": "str", "required": True, "choices": list(DESIRED_STATES)},
    "force": {"type": "bool", "default": False},
    "stop_timeout": {"type": "int"},
    "force_on_timeout": {"type": "bool", "default": False},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 300},
    "poll_interval": {"type": "float", "default": 0.5},
    "healthy": {"type": "bool", "default": False},
}


def run(lifecycle: LifecycleModule) -> dict:
    params = lifecycle.params
    if params["healthy"] and params["state"] not in ("started", "restarted"):
        raise BadInput(f"healthy: true applies to state started or restarted, not {params['state']}")
    request = StateRequest(
        state=params["state"],
        force=params["force"],
        stop_timeout=params["stop_timeout"],
        force_on_timeout=params["force_on_timeout"],
        wait=params["wait"],
        wait_timeout=params["wait_timeout"],
        healthy=params["healthy"],
        check_mode=lifecycle.module.check_mode,
    )
    targets = lifecycle.select_targets()
    converger = Converger(lifecycle.backend, request)
    entries = run_parallel(targets, converger.converge, params["parallel"])
    return task_result(entries, "container_state", lifecycle.module._diff)


def main() -> None:
    LifecycleModule(ARGUMENT_SPEC, with_targets=True).run(run)


if __name__ == "__main__":
    main()
