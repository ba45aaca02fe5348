"""What Podman does its own way, on the suite's Podman service: the grace period a stop or restart gets, whether
it was forced, and the Docker backend pointed at Podman's Docker-compatible socket."""

from __future__ import annotations

import pytest

from tests.integration.conftest import GRACEFUL, IMAGE, podman_connection, task_results

pytestmark = pytest.mark.podman

# PID 1 without a handler ignores SIGTERM: only the SIGKILL after the grace period ends it.
DEAF = ["sleep", "infinity"]
STOP_TIMEOUT = 3


@pytest.fixture
def stop_timeout_pair(podman_service):
    """Two stopped containers whose own StopTimeout is ``STOP_TIMEOUT`` (the Docker SDK cannot set it): one that
    ignores SIGTERM, one that exits on it."""
    podman_service.remove_containers("pm-grace-")
    for name, command in (("pm-grace-deaf", DEAF), ("pm-grace-kind", GRACEFUL)):
        podman_service.podman("create", "--name", name, "--stop-timeout", str(STOP_TIMEOUT), IMAGE, *command)
    yield "pm-grace-deaf", "pm-grace-kind"
    podman_service.remove_containers("pm-grace-")


RESTART_PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/containerops.lifecycle.lifecycle: "{{ connection }}"
  tasks:
    - containerops.lifecycle.container_state: {name: "{{ names }}", state: started}
    - containerops.lifecycle.container_state: {name: "{{ names }}", state: restarted}
      register: restarted
    - containerops.lifecycle.container_state: {name: "{{ names }}", state: stopped}
      register: stopped
    - ansible.builtin.copy:
        content: "{{ {'restarted': restarted.containers, 'stopped': stopped.containers} | to_json }}"
        dest: "{{ result_file }}"
"""


def actions(entries: list[dict]) -> dict[str, dict]:
    """Each container's one action, by name."""
    found = {}
    for entry in entries:
        (action,) = entry["actions"]
        found[entry["name"]] = action
    return found


def test_a_restart_gives_the_containers_own_stop_timeout_and_says_when_it_had_to_kill(
    podman_service, stop_timeout_pair, tmp_path
):
    deaf, graceful = stop_timeout_pair
    process, out = task_results(
        tmp_path, RESTART_PLAY, {"connection": podman_connection(podman_service), "names": [deaf, graceful]}
    )
    assert out, process.stdout[-6000:] + process.stderr[-3000:]
    for step in ("restarted", "stopped"):
        done = actions(out[step])
        # Podman's own restart without a timeout kills at once: the deaf container got its own grace, then SIGKILL.
        assert done[deaf]["operation"] == ("restart" if step == "restarted" else "stop")
        assert done[deaf]["forced"] is True and done[deaf]["duration_ms"] >= STOP_TIMEOUT * 1000, (step, done)
        assert done[graceful]["forced"] is False and done[graceful]["duration_ms"] < STOP_TIMEOUT * 1000, (step, done)


INFO_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - containerops.lifecycle.container_state: {backend: podman, podman_host: "{{ host }}", name: "{{ names }}",
                                               state: started}
    - containerops.lifecycle.container_info: {backend: docker, docker_host: "{{ host }}", name: "{{ names }}"}
      register: read
    - ansible.builtin.copy:
        content: "{{ {'warnings': read.warnings | default([]), 'containers': read.containers} | to_json }}"
        dest: "{{ result_file }}"
"""


def test_the_docker_backend_on_podmans_compatible_socket_says_to_use_backend_podman(
    podman_service, make_podman_containers, tmp_path
):
    names = make_podman_containers("pm-compat-1")
    process, out = task_results(tmp_path, INFO_PLAY, {"host": podman_service.host, "names": names})
    assert out, process.stdout[-6000:] + process.stderr[-3000:]
    (warning,) = out["warnings"]
    assert "Podman's Docker-compatible API" in warning and "use backend: podman" in warning
    assert out["containers"][0]["status"] == "running"  # it still works, with what that API can do
