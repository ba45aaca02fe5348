"""Interrupted workflows resume, on the real Docker engine: the maintenance window is interrupted (SIGINT to
the whole process group, as Ctrl-C does; SIGTERM to ansible-playbook, as ``kill`` does) at the engine's
``update`` event of a container - its settings applied, the container still down - and the same window, run
again, finishes it: every container running with the new settings, reported as finished, not "unchanged".
Two windows on one container: the second refuses, naming the first (its window, step, pid, host, since).
A blue-green switch interrupted at green's start is completed by the rerun; one interrupted while rolling
back (at green's stop) is rolled back by the rerun."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
from typing import Any

import docker
import pytest

from tests.integration.conftest import PLAYBOOK_THEN_FACT, run_playbook

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAINTENANCE = os.path.join(ROOT, "playbooks", "maintenance.yml")
BLUE_GREEN = os.path.join(ROOT, "playbooks", "blue_green.yml")
MEMORY = 64 * 1024 * 1024

WITH_SUMMARY = PLAYBOOK_THEN_FACT.format(playbook=MAINTENANCE, fact="maintenance_window_summary")


def start_playbook(tmp_path, extra_vars: dict[str, Any], name: str, playbook: str = MAINTENANCE) -> subprocess.Popen:
    """Start ``ansible-playbook`` on ``playbook`` in a session of its own (so that a signal can go to its whole
    process group, as a terminal's Ctrl-C does); its output in ``<name>.out``."""
    vars_file = tmp_path / f"{name}.json"
    vars_file.write_text(json.dumps(extra_vars))
    with open(tmp_path / f"{name}.out", "w") as out:
        return subprocess.Popen(["ansible-playbook", "-i", "localhost,", "-c", "local", playbook,
                                 "-e", f"@{vars_file}"], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def signal_at_event(engine: docker.DockerClient, process: subprocess.Popen, name: str, action: str,
                    signum: int, group: bool) -> bool:
    """Signal ``process`` (or its whole process group) as soon as the engine reports ``action`` for container
    ``name``; wait for the process to end. Whether the event was seen (and the signal sent)."""
    events = engine.api.events(filters={"container": name, "event": action}, decode=True)
    seen = threading.Event()

    def watch() -> None:
        with contextlib.suppress(Exception):  # the stream is closed once the playbook has ended
            for _event in events:
                if group:
                    os.killpg(process.pid, signum)
                else:
                    process.send_signal(signum)
                seen.set()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        process.wait(timeout=600)
    finally:
        events.close()
        watcher.join(timeout=10)
    return seen.is_set()


def summary_run(tmp_path, window: dict[str, Any], name: str, playbook_text: str = WITH_SUMMARY):
    """Run the window (or the switch) to its end; (process, its summary fact or None)."""
    playbook = tmp_path / f"{name}.yml"
    playbook.write_text(playbook_text)
    result = tmp_path / f"{name}-summary.json"
    process = run_playbook(str(playbook), dict(window, result_file=str(result)))
    return process, json.loads(result.read_text()) if result.exists() else None


def settings(engine: docker.DockerClient, name: str) -> tuple[str, str, int]:
    container = engine.containers.get(name)
    host = container.attrs["HostConfig"]
    return container.status, host["RestartPolicy"]["Name"], host["Memory"]


def journal(directory) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))] if directory.exists() else []


@pytest.mark.parametrize("signum, group", [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=["SIGINT", "SIGTERM"])
def test_a_window_interrupted_at_the_update_is_finished_by_the_rerun(make_containers, engine, tmp_path, signum,
                                                                      group):
    names = make_containers("hD-mwi-1", "hD-mwi-2")
    for name in names:
        engine.containers.get(name).start()
    journal_dir = tmp_path / "journal"
    window = {
        "maintenance_window_containers": names,
        "maintenance_window_config": {"autostart": True, "resources": {"memory": "64m"}},
        "maintenance_window_batch_size": 2,
        "maintenance_window_stop_timeout": 5,
        "maintenance_window_journal_dir": str(journal_dir),
    }

    interrupted = start_playbook(tmp_path, window, "interrupted")
    assert signal_at_event(engine, interrupted, "hD-mwi-1", "update", signum, group), (
        (tmp_path / "interrupted.out").read_text()[-4000:])
    assert interrupted.returncode != 0
    # What the issue saw: the settings applied, the container down.
    status, _restart_policy, memory = settings(engine, "hD-mwi-1")
    assert status == "exited" and memory == MEMORY, (status, memory)
    left = journal(journal_dir)
    assert {entry["name"] for entry in left} == set(names), left
    assert {entry["step"] for entry in left} == {"configure"} and left[0]["owner"]["pid"] == interrupted.pid

    process, summary = summary_run(tmp_path, window, "rerun")
    output = process.stdout + process.stderr
    assert process.returncode == 0 and summary, output[-6000:]
    assert [(entry["name"], entry["outcome"], entry["resumed_from"], entry["status"]) for entry in summary] == [
        (name, "changed", "configure", "running") for name in names], summary
    # The changes the interrupted run made are reported, though the settings already matched on the rerun.
    assert summary[0]["changes"] == ["autostart", "resources.memory"] and "start" in summary[0]["actions"]
    assert "taking over the journal entry of an interrupted run" in output and f"pid {interrupted.pid}" in output
    assert "hD-mwi-1: changed (autostart, resources.memory); finished an interrupted run" in output
    for name in names:
        assert settings(engine, name) == ("running", "unless-stopped", MEMORY)
    assert journal(journal_dir) == []

    process, again = summary_run(tmp_path, window, "again")
    assert again and [entry["outcome"] for entry in again] == ["unchanged"] * 2, process.stdout[-4000:]
    assert journal(journal_dir) == []


def test_a_second_window_on_the_same_container_refuses_naming_the_first(make_containers, engine, tmp_path):
    # Deaf to SIGTERM: the first window's graceful stop hangs until the test kills the container.
    make_containers("hD-mwc-1", command=["sleep", "1000"])
    engine.containers.get("hD-mwc-1").start()
    journal_dir = tmp_path / "journal"
    first = {
        "maintenance_window_containers": ["hD-mwc-1"],
        "maintenance_window_config": {"autostart": True},
        "maintenance_window_stop_timeout": 600,
        "maintenance_window_journal_dir": str(journal_dir),
    }
    second = dict(first, maintenance_window_config={"resources": {"memory": "64m"}})
    holder = start_playbook(tmp_path, first, "first")
    try:
        events = engine.api.events(filters={"container": "hD-mwc-1", "event": "kill"}, decode=True)
        with contextlib.closing(events):
            next(iter(events))  # the first window's SIGTERM: it holds the container, and waits
        stopping = journal(journal_dir)[0]
        assert stopping["step"] == "stop" and stopping["owner"]["pid"] == holder.pid

        process, summary = summary_run(tmp_path, second, "second")
        assert process.returncode != 0 and summary is None
        expected = (f"hD-mwc-1: failed at plan: another maintenance window is working on hD-mwc-1 (window "
                    f"{stopping['window']}, at step stop, pid {holder.pid} on host {socket.gethostname()}, since "
                    f"{stopping['owner']['since']}); nothing was changed")
        assert expected in process.stdout, process.stdout[-6000:]
        assert engine.containers.get("hD-mwc-1").attrs["HostConfig"]["Memory"] == 0
        assert journal(journal_dir) == [stopping]
    finally:
        engine.containers.get("hD-mwc-1").kill()  # the first window's stop is over: it goes on
        holder.wait(timeout=600)
    assert holder.returncode == 0, (tmp_path / "first.out").read_text()[-4000:]
    assert settings(engine, "hD-mwc-1")[:2] == ("running", "unless-stopped")
    assert journal(journal_dir) == []


SWITCH_SUMMARY = PLAYBOOK_THEN_FACT.format(playbook=BLUE_GREEN, fact="blue_green_summary")


def remove_network(engine: docker.DockerClient, name: str) -> None:
    """Remove the test's network, its containers (the test's own) disconnected first."""
    with contextlib.suppress(docker.errors.NotFound):
        network = engine.networks.get(name)
        for container in network.containers:
            network.disconnect(container, force=True)
        network.remove()


@pytest.fixture
def network(engine):
    """A user-defined network for the alias; removed afterwards."""
    remove_network(engine, "hD-bgi-net")
    yield engine.networks.create("hD-bgi-net").name
    remove_network(engine, "hD-bgi-net")


def alias_holders(engine: docker.DockerClient, *names: str) -> list[str]:
    """The containers holding the alias hD-bgi-web on the network."""
    holders = []
    for name in names:
        attached = engine.containers.get(name).attrs["NetworkSettings"]["Networks"].get("hD-bgi-net") or {}
        if "hD-bgi-web" in (attached.get("Aliases") or []):
            holders.append(name)
    return holders


def test_an_interrupted_blue_green_switch_is_completed_or_rolled_back_by_the_rerun(make_containers, engine,
                                                                                  network, tmp_path):
    blue, green = make_containers("hD-bgi-blue", "hD-bgi-green", network=network)
    engine.containers.get(blue).start()
    journal_dir = tmp_path / "journal"
    swap = {"blue_green_blue": blue, "blue_green_green": green, "blue_green_alias": "hD-bgi-web",
            "blue_green_network": network, "blue_green_stop_timeout": 5,
            "blue_green_journal_dir": str(journal_dir)}
    # Blue holds the alias: the same role, from nothing to blue.
    process, first = summary_run(tmp_path, dict(swap, blue_green_blue=green, blue_green_green=blue), "to-blue",
                                 SWITCH_SUMMARY)
    assert first and alias_holders(engine, blue, green) == [blue], process.stdout[-4000:]

    # Interrupted as green starts: the rerun completes the switch.
    interrupted = start_playbook(tmp_path, swap, "switch", BLUE_GREEN)
    assert signal_at_event(engine, interrupted, green, "start", signal.SIGTERM, group=False)
    assert interrupted.returncode != 0
    assert [entry["step"] for entry in journal(journal_dir)] == ["switch", "switch"]
    assert alias_holders(engine, blue, green) == [blue]
    process, switched = summary_run(tmp_path, swap, "switch-rerun", SWITCH_SUMMARY)
    assert switched, process.stdout[-6000:]
    assert (switched["outcome"], switched["resumed_from"]) == ("switched", "switch"), switched
    assert "taking over the journal entry of an interrupted run" in process.stdout + process.stderr
    assert alias_holders(engine, blue, green) == [green]
    assert [engine.containers.get(name).status for name in (blue, green)] == ["exited", "running"]
    assert journal(journal_dir) == []

    # Back to blue, with a probe through the alias that fails: the switch rolls back, and is interrupted as it
    # stops blue (the rollback's last step); the rerun finishes the rollback.
    back = dict(swap, blue_green_blue=green, blue_green_green=blue, blue_green_alias_probe_url="http://127.0.0.1:9/",
                blue_green_probe_retries=1)
    interrupted = start_playbook(tmp_path, back, "rollback", BLUE_GREEN)
    assert signal_at_event(engine, interrupted, blue, "kill", signal.SIGINT, group=True)
    assert [entry["step"] for entry in journal(journal_dir)] == ["rollback", "rollback"]
    process, rolled = summary_run(tmp_path, back, "rollback-rerun", SWITCH_SUMMARY)
    assert rolled is None and process.returncode != 0
    assert 'failed at "Finish the rollback of the interrupted switch"' in process.stdout, process.stdout[-6000:]
    assert f"Rolled back: the alias is on {green} (running), {blue} is stopped." in process.stdout
    assert alias_holders(engine, blue, green) == [green]
    assert [engine.containers.get(name).status for name in (blue, green)] == ["exited", "running"]
    assert journal(journal_dir) == []
