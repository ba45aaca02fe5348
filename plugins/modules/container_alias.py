#!/usr/bin/python
# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_alias
short_description: Point a named alias at exactly one container
version_added: 0.1.0
description:
  - Makes one container, and only that one, hold an alias; or makes sure no container holds it. The
    building block of blue-green swaps.
  - With V(docker), the alias is a network alias on a user-defined network (O(network)); containers on
    that network resolving the alias reach the holder. Docker cannot edit a connected container's
    aliases, so each container whose aliases change is disconnected and reconnected (keeping its other
    aliases and a static address). The target gets the alias before the others lose it, so the name
    never resolves to nothing (RV(window_ms=0)); for that moment it resolves to both.
  - While a previous holder is reconnected (tens of milliseconds), its connections on that network drop and
    a request that had just resolved the alias to it goes unanswered until the client's timeout; on a
    network without a user-configured subnet it may also come back with another address. Clients should
    retry; measured in C(make timeline), about one request in 400 at 30 requests a second.
  - With V(podman), the same through libpod's network connect and disconnect, on a Podman network
    (O(network)). Podman resolves aliases only on a network with DNS (C(dns_enabled), as C(podman network
    create) makes them with netavark, or CNI's C(dnsname) plugin); on one without, the alias is set and a
    warning says that nothing resolves it there.
  - With V(hoody), a proxy alias. The platform cannot move an alias to another container, so the old
    alias is deleted and created again on the target; RV(window_ms) reports how long no container held
    it. If creating it on the target fails, it is given back to the previous holder.
  - V(dockhand) has no aliases and refuses.
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
    details: Reports which containers hold the alias and whether it would move.
  diff_mode:
    support: full
    details: Shows the holders of the alias before and after.
  idempotent:
    support: full
options:
  alias:
    description: The alias. For Hoody, 3 to 61 lowercase letters, digits and hyphens.
    type: str
    required: true
  name:
    description: Name or id of the container that must hold the alias. Required with O(state=present).
    type: str
    aliases: [id]
  state:
    description: V(present), the target is the only holder; V(absent), no container holds the alias.
    type: str
    choices: [present, absent]
    default: present
  network:
    description: >-
      Docker and Podman, the network the alias lives on (on Docker, a user-defined one). Required with
      V(docker) and V(podman).
    type: str
  program:
    description: Hoody, the program the proxy alias leads to (V(http), V(https), V(ssh) or a built-in program).
    type: str
    default: http
  index:
    description: Hoody, the program's instance number.
    type: int
  port:
    description:
      - Hoody, the container port for V(http) and V(https).
      - Sent when the alias is created; Hoody does not echo it, so a change of port alone is not detected.
    type: int
  target_path:
    description: Hoody, the path the alias leads to.
    type: str
seealso:
  - module: containerops.lifecycle.container_state
  - module: containerops.lifecycle.container_info
"""

EXAMPLES = r"""
- name: Send "web" traffic on the app network to the green container
  containerops.lifecycle.container_alias:
    alias: web
    name: web-green
    network: app

- name: The same on Hoody
  containerops.lifecycle.container_alias:
    backend: hoody
    alias: shop
    name: 65f0c0ffee0123456789abcd
    program: http
    port: 8080
  register: moved

- name: Nobody answers to "maintenance" any more
  containerops.lifecycle.container_alias:
    alias: maintenance
    network: app
    state: absent
"""

RETURN = r"""
alias:
  description: O(alias).
  returned: success
  type: str
target:
  description: The container that holds the alias after the task; null with O(state=absent).
  returned: success
  type: dict
  contains:
    id:
      description: Container id.
      type: str
    name:
      description: Container name.
      type: str
previous:
  description: Names of the containers that held the alias before the task.
  returned: success
  type: list
  elements: str
holders:
  description: Names of the containers that hold the alias after the task (in check mode, that would hold it).
  returned: success
  type: list
  elements: str
window_ms:
  description:
    - How long no container held the alias while it moved, in milliseconds. V(0) with V(docker).
    - Null when the alias did not move to another container.
  returned: success
  type: int
url:
  description: Hoody, the public URL of the alias.
  returned: when the backend reports one
  type: str
elapsed:
  description: Seconds the module spent.
  returned: success
  type: float
"""

from functools import partial

from ansible_collections.containerops.lifecycle.plugins.module_utils._module import LifecycleModule
from ansible_collections.containerops.lifecycle.plugins.module_utils._pipeline import (
    Workflow,
    alias_plan,
    alias_request,
    alias_target,
    alias_task_result,
    move_alias,
    read_holders,
    run_workflow,
)

ARGUMENT_SPEC = {
    "alias": {"type": "str", "required": True},
    "name": {"type": "str", "aliases": ["id"]},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "network": {"type": "str"},
    "program": {"type": "str", "default": "http"},
    "index": {"type": "int"},
    "port": {"type": "int"},
    "target_path": {"type": "str"},
}

# The target and the alias's holders read, planned, and the alias moved unless it is in place (nothing in
# check mode); the holders are read back and must be the planned ones.
WORKFLOW = Workflow(
    validate=alias_request,
    targets=alias_target,
    read=read_holders,
    plan=alias_plan,
    carry_out=move_alias,
    result=alias_task_result,
)
run = partial(run_workflow, WORKFLOW)


def main() -> None:
    LifecycleModule(ARGUMENT_SPEC, required_if=[("state", "present", ["name"])]).run(run)


if __name__ == "__main__":
    main()
