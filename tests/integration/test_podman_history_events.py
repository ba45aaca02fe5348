"""Podman's history and events on the suite's Podman service: ``container_status_logs`` tells a requested stop from a
crash though libpod writes no kill for a stop, and the event source emits the same operations as on Docker."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from tests.integration.conftest import GRACEFUL, IMAGE, podman_connection, task_results
from tests.integration.test_eda import follow, next_event

pytestmark = pytest.mark.podman

LOGS_PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/containerops.lifecycle.lifecycle: "{{ connection }}"
  tasks:
    - containerops.lifecycle.container_status_logs: {name: "{{ name }}", all_pages: true, sort_order: asc}
      register: logs
    - ansible.builtin.copy:
        content: "{{ {'logs': logs.logs, 'stats': logs.stats} | to_json }}"
        dest: "{{ result_file }}"
"""


def crash(service, name: str) -> None:
    """``kill -9`` of the container's process from the host: nobody asked the engine."""
    pid = int(service.podman("inspect", "--format", "{{.State.Pid}}", name).stdout.strip())
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if service.podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip() == "exited":
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} did not exit")


@pytest.fixture
def one_container(podman_service):
    podman_service.remove_containers("pm-hist-")
    podman_service.podman("run", "-d", "--name", "pm-hist-1", "--label", "containerops.autoheal=true", IMAGE, *GRACEFUL)
    yield "pm-hist-1"
    podman_service.remove_containers("pm-hist-")


def test_the_status_logs_tell_a_stop_from_a_crash_and_a_kill(podman_service, one_container, tmp_path):
    name = one_container
    podman_service.podman("stop", "-t", "5", name)
    podman_service.podman("start", name)
    crash(podman_service, name)
    podman_service.podman("start", name)
    podman_service.podman("kill", name)
    process, out = task_results(tmp_path, LOGS_PLAY, {"connection": podman_connection(podman_service), "name": name})
    assert process.returncode == 0, process.stdout
    told = [(r["metadata"]["operation"], r["triggered_by"], r["metadata"].get("exit_code")) for r in out["logs"]]
    assert told == [
        ("create", "api", None), ("start", "api", None), ("stop", "api", 0), ("start", "api", None),
        ("exit", "engine", 137), ("start", "api", None), ("force-stop", "api", 137)]  # fmt: skip
    assert out["stats"]["failures"] == 1 and out["stats"]["force-stop"]["max_duration_ms"] < 2000


def test_the_event_source_emits_a_crash_as_an_exit_and_leaves_a_stop_a_stop(podman_service, one_container):
    name = one_container
    args = {**podman_connection(podman_service), "filters": {"label": ["containerops.autoheal=true"]}}

    async def scenario(queue: asyncio.Queue) -> list[dict]:
        seen: list[dict] = []
        await asyncio.sleep(2)  # subscribed: what came before is context
        await asyncio.to_thread(podman_service.podman, "stop", "-t", "5", name)
        stopped = await next_event(queue, name, "stop", seen)
        await asyncio.to_thread(podman_service.podman, "start", name)
        await next_event(queue, name, "start", seen)
        await asyncio.to_thread(crash, podman_service, name)
        crashed = await next_event(queue, name, "exit", seen)
        assert (stopped["triggered_by"], crashed["triggered_by"], crashed["exit_code"]) == ("api", "engine", 137)
        assert crashed["labels"]["containerops.autoheal"] == "true" and crashed["engine"] == "podman"
        return seen

    seen = asyncio.run(follow(args, scenario))
    assert [e["operation"] for e in seen] == ["stop", "start", "exit"]
