#!/usr/bin/python
# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_snapshot
short_description: Take, remove and restore snapshots of a container
version_added: 0.1.0
description:
  - Keeps one snapshot per O(alias) of a container, removes it, or puts the container back to it.
  - A paused container is waited on for up to 10 seconds (another task's snapshot pauses a container for a
    moment while the engine copies its files); one that stays paused is refused, for taking and for
    restoring a snapshot.
  - With V(docker), a snapshot is the container's filesystem committed to the image
    C(containerops-snapshot/<name>:<alias>), labelled C(containerops.snapshot.container) and
    C(containerops.snapshot.alias) and carrying the container's configuration. Restoring recreates the
    container from it with that configuration (name, command, environment, labels, mounts, networks with
    their aliases, published ports, restart policy, health check) and brings it back to the status it had
    when the snapshot was taken (running or stopped). Data in volumes and bind mounts is not part of a
    snapshot; the recreated container mounts the same volumes. Running processes are not kept.
  - With V(podman), the same through libpod's commit (a running container is paused meanwhile); Podman
    tags the image C(localhost/containerops-snapshot/<name>:<alias>), keeps the container's labels and adds
    the same snapshot labels, and the image carries libpod's own create body for the container. Restoring
    recreates the container from it (name, command, environment, labels, volumes and bind mounts, networks
    with their aliases, published ports, rlimits, restart policy, stop signal and timeout, health check,
    resource limits) in the status it had. A replaced or removed snapshot leaves no image behind but the
    one a container restored from it still runs on, which goes when that container is deleted with
    M(containerops.lifecycle.container_state) or restored again.
  - With V(hoody), the platform's snapshots API; a snapshot of a running container is stateful, and the
    platform starts the container after a restore.
  - V(dockhand) has no snapshots and refuses.
author:
  - containerops engineers (@containerops)
extends_documentation_fragment:
  - containerops.lifecycle.connection
  - containerops.lifecycle.connection.docker
  - containerops.lifecycle.connection.podman
  - containerops.lifecycle.connection.rest
  - containerops.lifecycle.attributes
attributes:
  check_mode:
    support: full
    details: Reports whether a snapshot would be taken, removed or restored.
  diff_mode:
    support: full
    details: Shows the container's snapshot aliases, and the one it is restored from, before and after.
  idempotent:
    support: full
    details: >-
      O(state=present) keeps an existing snapshot of that alias (unless O(replace=true));
      O(state=restored) does nothing to a container already restored from that snapshot.
options:
  name:
    description: Name or id of the container.
    type: str
    required: true
    aliases: [id]
  alias:
    description: The snapshot's name for people, unique per container (at most 100 characters).
    type: str
    required: true
  state:
    description:
      - V(present) takes a snapshot unless one of that alias exists.
      - V(absent) removes the snapshot of that alias, if any. With V(docker) and V(podman) the image is
        removed, or only untagged while a container restored from it still uses it.
      - V(restored) puts the container back to the snapshot. With V(docker) and V(podman) this also works for
        a container that was deleted, since the snapshot holds its configuration.
    type: str
    choices: [present, absent, restored]
    default: present
  replace:
    description: With O(state=present), take a new snapshot and remove the old one of the same alias.
    type: bool
    default: false
  stop_timeout:
    description: Docker, seconds between stop signal and SIGKILL when it is stopped to be recreated, 0 to 86400.
    type: int
  wait_timeout:
    description: Seconds to wait for a restored container to settle (1 to 86400).
    type: int
    default: 300
seealso:
  - module: containerops.lifecycle.container_config
  - module: containerops.lifecycle.container_state
"""

EXAMPLES = r"""
- name: Snapshot before the upgrade
  containerops.lifecycle.container_snapshot:
    name: app
    alias: pre-upgrade

- name: Roll back to it
  containerops.lifecycle.container_snapshot:
    name: app
    alias: pre-upgrade
    state: restored
    stop_timeout: 30

- name: Drop it once the upgrade is confirmed
  containerops.lifecycle.container_snapshot:
    name: app
    alias: pre-upgrade
    state: absent
"""

RETURN = r"""
snapshot:
  description: The snapshot of O(alias) after the task; null once removed (or, in check mode, before it is taken).
  returned: success
  type: dict
  contains:
    name:
      description: >-
        The engine's name for it (Docker, the image reference; Podman, the image reference as Podman tags it,
        C(localhost/containerops-snapshot/...); Hoody, the snapshot name).
      type: str
      sample: containerops-snapshot/app:pre-upgrade
    alias:
      description: O(alias).
      type: str
    container:
      description: Name of the container it was taken from.
      type: str
    created_at:
      description: When it was taken (ISO 8601).
      type: str
    stateful:
      description: Whether it holds processes and memory too (Hoody, taken while running); always V(false) with Docker.
      type: bool
    size:
      description: Size in bytes, as the engine reports it.
      type: int
container:
  description: The container after the task.
  returned: success
  type: dict
  contains:
    id:
      description: Container id; a Docker restore gives the container a new id.
      type: str
    name:
      description: Container name.
      type: str
    status:
      description: Canonical status, V(absent) when there is no such container.
      type: str
actions:
  description: What was done (or would be, in check mode), in order.
  returned: success
  type: list
  elements: str
  sample: [create, remove-replaced]
elapsed:
  description: Seconds the module spent.
  returned: success
  type: float
"""

from functools import partial

from ansible_collections.containerops.lifecycle.plugins.module_utils._module import CONTAINER_SPEC, LifecycleModule
from ansible_collections.containerops.lifecycle.plugins.module_utils._pipeline import (
    Workflow,
    read_snapshots,
    run_workflow,
    snapshot_plan,
    snapshot_request,
    snapshot_target,
    snapshot_task_result,
    take_snapshot,
)

ARGUMENT_SPEC = dict(
    CONTAINER_SPEC,
    alias={"type": "str", "required": True},
    state={"type": "str", "default": "present", "choices": ["present", "absent", "restored"]},
    replace={"type": "bool", "default": False},
    stop_timeout={"type": "int"},
    wait_timeout={"type": "int", "default": 300},
)

# The container and its snapshots read (after another task's pause), planned, and carried out: a new
# snapshot taken before the ones it replaces are removed, or the container restored (nothing in check mode).
WORKFLOW = Workflow(
    validate=snapshot_request,
    targets=snapshot_target,
    read=read_snapshots,
    plan=snapshot_plan,
    carry_out=take_snapshot,
    result=snapshot_task_result,
)
run = partial(run_workflow, WORKFLOW)


def main() -> None:
    LifecycleModule(ARGUMENT_SPEC).run(run)


if __name__ == "__main__":
    main()
