"""A Docker socket the user may not open gives a clear message, not a traceback.

Runs a real ``ansible-playbook`` against a listening Unix socket with mode 000, with the
capabilities that let root ignore file modes (DAC override) dropped, so ``connect()`` really fails
with EACCES, exactly as it does for a user outside the ``docker`` group.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - containerops.lifecycle.container_state:
        name: anything
        state: stopped
        docker_host: "unix://{{ playbook_dir }}/docker.sock"
      register: state
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{ state | to_json }}"
        dest: "{{ playbook_dir }}/result.json"
        mode: "0644"
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_permission_denied_on_the_socket_is_reported_clearly():
    workdir = tempfile.mkdtemp(prefix="containerops-perm-")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        path = os.path.join(workdir, "docker.sock")
        listener.bind(path)
        listener.listen(1)
        os.chmod(path, 0)
        with open(os.path.join(workdir, "play.yml"), "w") as handle:
            handle.write(PLAYBOOK)
        run = subprocess.run(
            ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
             "ansible-playbook", "-i", "localhost,", "-c", "local", "play.yml"],
            cwd=workdir, capture_output=True, text=True, timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        with open(os.path.join(workdir, "result.json")) as handle:
            result = json.load(handle)
    finally:
        listener.close()
        shutil.rmtree(workdir, ignore_errors=True)
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"cannot reach the Docker engine at unix://{workdir}/docker.sock (docker_host): permission denied. "
        "Check that this user may use its socket"
    )
    assert "Traceback" not in json.dumps(result)
