"""``docker_host: ssh://`` through the system's ssh client and a real sshd, without paramiko.

The far side's ``docker system dial-stdio`` carries the Docker API, so every module, the event stream of
waits and status logs, and the inventory plugin work as on a local socket; each way ssh can fail is said
in the user's words.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest

from tests.integration.conftest import CONNECTED_PLAY, task_results, tasks_registering
from tests.integration.sshd import ssh_hosts  # noqa: F401 - the fixture
from tests.integration.test_eda import follow, next_event
from tests.integration.test_inventory import ansible_inventory, listing, write_config


def test_paramiko_is_not_what_makes_it_work():
    with pytest.raises(ImportError):
        __import__("paramiko")


def test_every_module_status_logs_and_waits_through_ssh(ssh_hosts, monkeypatch, make_containers, tmp_path):  # noqa: F811
    monkeypatch.setenv("PATH", ssh_hosts.env["PATH"])
    (name,) = make_containers("ssh-app")
    steps = [
        ("container_state", f"name: {name}\nstate: started"),  # 0: waits on the event stream through ssh
        ("container_info", f"name: {name}"),  # 1
        ("container_state", f"name: {name}\nstate: stopped\nstop_timeout: 2"),  # 2
        ("container_status_logs", f"name: {name}\nsort_order: asc"),  # 3: the engine's events through ssh
    ]
    process, out = task_results(
        tmp_path,
        CONNECTED_PLAY.format(tasks=tasks_registering(*steps)),
        {"connection": {"docker_host": ssh_hosts.engine}},
    )
    assert out, process.stdout[-6000:] + process.stderr[-3000:]
    assert not any(step.get("failed") for step in out.values()), out
    assert out["0"]["container"]["status"] == "running" and out["0"]["changed"]
    assert out["1"]["containers"][0]["status"] == "running"
    assert out["2"]["container"]["status"] == "stopped"
    assert [log["to_status"] for log in out["3"]["logs"]][-2:] == ["running", "stopped"], out["3"]["logs"]

    config = write_config(
        tmp_path,
        {
            "plugin": "containerops.lifecycle.containers",
            "engines": [{"name": "far", "docker_host": ssh_hosts.engine}],
            "filters": {"name": "ssh-app"},
        },
    )
    inventory = ansible_inventory(config, "--list", env=ssh_hosts.env)
    assert inventory.returncode == 0, inventory.stderr
    hostvars = listing(inventory)["_meta"]["hostvars"]
    assert list(hostvars) == ["ssh-app"] and hostvars["ssh-app"]["containerops_status"] == "stopped", hostvars


def test_the_event_source_follows_an_engine_through_ssh(ssh_hosts, monkeypatch, make_containers, engine, caplog):  # noqa: F811
    monkeypatch.setenv("PATH", ssh_hosts.env["PATH"])
    (name,) = make_containers("ssh-events")
    following = f"following the event stream, docker at {ssh_hosts.engine}"

    async def scenario(queue: asyncio.Queue) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while not any(following in record.getMessage() for record in caplog.records):  # subscribed: events count
            assert time.monotonic() < deadline, caplog.text[-3000:]
            await asyncio.sleep(0.05)
        await asyncio.to_thread(engine.containers.get(name).start)
        return await next_event(queue, name, "start", [])

    with caplog.at_level(logging.INFO, logger="containerops.lifecycle.container_events"):
        event = asyncio.run(follow({"docker_host": ssh_hosts.engine, "filters": {"name": name}}, scenario))
    assert event["engine"] == "docker" and event["connection"]["docker_host"] == ssh_hosts.engine, event


FAILURES = {
    "unknown_host_key": "its host key is not known here or has changed",
    "wrong_key": "authentication was refused",
    "no_docker": "there is no docker CLI on the far side",
    "refused": "the connection was refused: no ssh server answers there",
}


def test_each_way_ssh_fails_is_said_plainly(ssh_hosts, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("PATH", ssh_hosts.env["PATH"])
    steps = [("container_info", f"name: web\ndocker_host: {getattr(ssh_hosts, case)}") for case in FAILURES]
    process, out = task_results(
        tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(*steps)), {"connection": {"timeout": 10}}
    )
    assert out, process.stdout[-6000:] + process.stderr[-3000:]
    for index, (case, meaning) in enumerate(FAILURES.items()):
        step = out[str(index)]
        assert step["failed"] and "Traceback" not in json.dumps(step), (case, step)
        where = f"cannot reach the Docker engine at {getattr(ssh_hosts, case)} (docker_host)"
        assert step["msg"].startswith(f"{where}: {meaning}"), (case, step["msg"])
