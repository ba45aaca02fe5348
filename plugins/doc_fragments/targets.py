# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a multi-target module selects its containers."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  name:
    description:
      - Names or ids of the containers to work on. A plain string is one container.
      - An entry names a container whose name is exactly that, whose full id is exactly that, or whose
        12-hex short id (the one C(docker ps) prints for a 64-hex id) is exactly that; nothing else,
        never an id prefix, on any backend. An entry that names no container is C(absent) (an error for
        O(containerops.lifecycle.container_state#module:state) other than C(absent)), even where the
        engine's own CLI would take it for an id prefix.
      - At least one of O(name) and O(filters) is required; containers matched by both are worked on once.
      - An empty or null O(name), or an empty name in it, is an error; so is a name the backend does not
        allow (see O(backend)).
    type: list
    elements: str
    aliases: [names, id]
  filters:
    description:
      - Select containers on the engine. Every given key must match.
      - Matching no container is not an error; the result is an empty list.
      - >-
        A selection never widens by accident. An empty O(filters), or a key given an empty value
        (C(name: ""), C(label: []), C(status: []), C(project: ""), null), is an error before anything
        is read or changed, so a template that renders to nothing cannot select every container.
    type: dict
    suboptions:
      name:
        description: Shell-style glob on the container name, for example C(web-*).
        type: str
      label:
        description: Labels the container must carry, each C(key) or C(key=value).
        type: list
        elements: str
      status:
        description: Canonical statuses to select, for example C([running, paused]).
        type: list
        elements: str
      project:
        description:
          - Project the container belongs to. On Docker this is the Compose project
            (label C(com.docker.compose.project)).
        type: str
  parallel:
    description:
      - How many containers are worked on at once, from 1 to 1000.
      - A failure on one container does not stop the others; the task fails at the end and lists each
        failed container with the status it was left in.
    type: int
    default: 8
"""
