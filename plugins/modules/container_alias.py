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
  - With V(hoody), a proxy alias. The platform cannot move an alias to another container, so the old
    alias is deleted and created again on the target; RV(window_ms) reports how long no container held
    it. If creating it on the target fails, it is given back to the previous holder.
  - V(dockhand) has no aliases and refuses.
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
    description: Docker, the user-defined network the alias lives on. Required with V(docker).
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

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, OperationFailed
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import LifecycleModule

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
ALIAS_OPTIONS = ("network", "program", "index", "port", "target_path")
MAX_INDEX = 1000


def _holder_lines(alias: str, names: list[str]) -> str:
    return "".join(f"{alias}: {name}\n" for name in names)


def run(lifecycle: LifecycleModule) -> dict:
    params = lifecycle.params
    alias, present, check_mode = params["alias"], params["state"] == "present", lifecycle.module.check_mode
    rules = lifecycle.backend_class
    if not alias or not alias.strip():
        raise BadInput("alias must not be empty")
    if not rules.alias_pattern.fullmatch(alias):
        raise BadInput(f"alias {alias!r} is not an alias backend {rules.name} allows: {rules.alias_rule}")
    if params["network"] is not None and not rules.ref_pattern.fullmatch(params["network"]):
        raise BadInput(f"network {params['network']!r} is not a network name: {rules.ref_rule}")
    if params["port"] is not None and not 1 <= params["port"] <= 65535:
        raise BadInput(f"port must be 1 to 65535, got {params['port']}")
    if params["index"] is not None and not 1 <= params["index"] <= MAX_INDEX:
        raise BadInput(f"index must be 1 to {MAX_INDEX}, got {params['index']}")
    if not (params["program"] or "").strip() or not params["program"].isprintable():
        raise BadInput(f"program must name a program (http, https, ssh or a built-in one), got {params['program']!r}")
    target_path = params["target_path"]
    if target_path is not None and (".." in target_path.split("/") or not target_path.isprintable()):
        raise BadInput(f"target_path {target_path!r} must be a plain path: no '..' segments or control characters")
    options = {key: params[key] for key in ALIAS_OPTIONS}
    backend = lifecycle.backend
    target = lifecycle.the_container() if present else None
    holders = backend.alias_holders(alias, options)
    previous = [holder["name"] for holder in holders]
    wanted = [(target.id, True)] if present else []
    in_place = [(holder["id"], holder["in_sync"]) for holder in holders] == wanted

    moved = {"window_ms": None, "url": None}
    if in_place:
        after = previous
        moved["url"] = next((h["record"].get("url") for h in holders if h.get("record")), None)
    elif check_mode:
        after = [target.name] if present else []
    else:
        moved = backend.point_alias(alias, target, holders, options)
        after = [holder["name"] for holder in backend.alias_holders(alias, options)]
        expected = [target.name] if present else []
        if sorted(after) != expected:
            raise OperationFailed(
                f"alias {alias!r} should be held by {expected or 'no container'} but is held by {after or 'none'}"
            )
    moved_elsewhere = present and any(holder["id"] != target.id for holder in holders)
    result = {
        "changed": not in_place,
        "alias": alias,
        "target": {"id": target.id, "name": target.name} if target else None,
        "previous": previous,
        "holders": after,
        "window_ms": moved["window_ms"] if moved_elsewhere else None,
    }
    if moved.get("url"):
        result["url"] = moved["url"]
    if lifecycle.module._diff:
        result["diff"] = {
            "before": _holder_lines(alias, previous),
            "after": _holder_lines(alias, after),
            "before_header": f"holders of {alias}",
            "after_header": f"holders of {alias}",
        }
    return result


def main() -> None:
    LifecycleModule(ARGUMENT_SPEC, required_if=[("state", "present", ["name"])]).run(run)


if __name__ == "__main__":
    main()
