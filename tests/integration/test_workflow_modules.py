"""container_config, container_snapshot and container_alias through the REST backends.

Docker is covered by the ansible-test targets of the same names; here the same modules run against the
Hoody and Dockhand test servers, which sit on the real engine.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import DOCKHAND_PASSWORD, DOCKHAND_USER, task_results

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/containerops.lifecycle.lifecycle: "{{{{ connection }}}}"
  tasks:
{tasks}
    - ansible.builtin.copy:
        content: "{{{{ out | to_json }}}}"
        dest: "{{{{ result_file }}}}"
        mode: "0600"
"""


def tasks_registering(*steps: tuple[str, str]) -> str:
    """One task per (module, YAML args); each registers into ``out.<index>`` and may fail."""
    text = ""
    for index, (module, args) in enumerate(steps):
        indented = "\n".join("        " + line for line in args.strip().splitlines())
        text += (
            f"    - containerops.lifecycle.{module}:\n{indented}\n"
            f"      register: step\n      ignore_errors: true\n"
            "    - ansible.builtin.set_fact:\n"
            f"        out: \"{{{{ out | default({{}}) | combine({{'{index}': step}}) }}}}\"\n"
        )
    return text


@pytest.mark.parametrize(
    ("module", "args", "capability"),
    [
        ("container_config", "name: wm-dh\nautostart: true", "changing container configuration"),
        ("container_snapshot", "name: wm-dh\nalias: pre", "snapshots"),
        ("container_alias", "name: wm-dh\nalias: web", "aliases"),
    ],
)
def test_dockhand_refuses_what_it_has_no_api_for(dockhand_server, make_containers, tmp_path, module, args, capability):
    make_containers("wm-dh")
    connection = {"backend": "dockhand", "api_url": dockhand_server.url, "api_username": DOCKHAND_USER,
                  "api_password": DOCKHAND_PASSWORD, "api_environment": 1}
    process, out = task_results(tmp_path, PLAY.format(tasks=tasks_registering((module, args))),
                                {"connection": connection})
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    assert out["0"]["failed"] and not out["0"]["changed"]
    assert out["0"]["msg"] == f"backend dockhand does not support {capability}"
