"""The shipped playbooks, run as operators run them.

- ``demo.yml`` (``make demo``) on the real Docker engine among look-alike containers (``lookalikes.py``), which it
  must leave exactly as they were.
- ``off_hours.yml`` on the real Docker engine: the evening pauses the running labelled containers, the
  morning resumes them; a stopped one and an unlabelled one are left alone.
- ``maintenance.yml`` and ``blue_green.yml`` through the Hoody test server (which sits on the same real
  engine), with the connection given as ``containerops_connection``: the roles' Docker paths are covered
  by their molecule scenarios, this covers the REST path (environment variables, the snapshots API,
  proxy aliases deleted and recreated) and the rollback of an alias.
- Both again on the suite's Podman service: blue_green on a Podman network (network aliases), and the maintenance
  window refused at its plan where Podman 4.3 cannot keep a setting.
"""

from __future__ import annotations

import json
import os
import re

import docker
import pytest
import requests

from tests.integration.conftest import (
    HOODY_TOKEN,
    PLAYBOOK_THEN_FACT,
    hoody_connection,
    podman_answer,
    podman_connection,
    recap,
    run_playbook,
    web_command,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OFF_HOURS = os.path.join(ROOT, "playbooks", "off_hours.yml")
OFF_HOURS_LABEL = {"containerops.io/off-hours": "pause"}


def statuses(engine, *names: str) -> list[str]:
    return [engine.containers.get(name).status for name in names]


def shipped_playbook_result(tmp_path, name: str, fact: str, extra_vars: dict, *args: str):
    """Run ``playbooks/<name>.yml`` and return (process, the fact it published, or None if it failed)."""
    wrapper = tmp_path / f"{name}-with-result.yml"
    wrapper.write_text(PLAYBOOK_THEN_FACT.format(playbook=os.path.join(ROOT, "playbooks", f"{name}.yml"), fact=fact))
    result_file = tmp_path / f"{name}-result.json"
    result_file.unlink(missing_ok=True)
    process = run_playbook(str(wrapper), dict(extra_vars, result_file=str(result_file)), *args)
    return process, json.loads(result_file.read_text()) if result_file.exists() else None


def test_off_hours_pauses_in_the_evening_and_resumes_in_the_morning(make_containers, engine):
    names = make_containers("oh-web", "oh-batch", "oh-stopped", labels=OFF_HOURS_LABEL)
    make_containers("oh-critical")
    for name in ("oh-web", "oh-batch", "oh-critical"):
        engine.containers.get(name).start()
    everyone = (*names, "oh-critical")

    planned = run_playbook(OFF_HOURS, {}, "--tags", "evening", "--check", "--diff")
    counts = recap(planned)["localhost"]
    assert counts["changed"] == 1 and counts["failed"] == 0, planned.stdout[-4000:]
    assert "+oh-web: paused" in planned.stdout
    assert statuses(engine, *everyone) == ["running", "running", "created", "running"]

    evening = run_playbook(OFF_HOURS, {}, "--tags", "evening")
    counts = recap(evening)["localhost"]
    assert counts["changed"] == 1 and counts["failed"] == 0, evening.stdout[-4000:]
    assert "evening: oh-batch, oh-web" in evening.stdout or "evening: oh-web, oh-batch" in evening.stdout
    assert statuses(engine, *everyone) == ["paused", "paused", "created", "running"]

    again = run_playbook(OFF_HOURS, {}, "--tags", "evening")
    assert recap(again)["localhost"]["changed"] == 0 and "evening: nothing to do" in again.stdout, again.stdout[-4000:]

    morning = run_playbook(OFF_HOURS, {"off_hours_phase": "morning"})
    counts = recap(morning)["localhost"]
    assert counts["changed"] == 1 and counts["failed"] == 0, morning.stdout[-4000:]
    assert statuses(engine, *everyone) == ["running", "running", "created", "running"]

    no_phase = run_playbook(OFF_HOURS, {})
    assert no_phase.returncode != 0
    assert "say which phase: --tags evening or --tags morning, or -e off_hours_phase=evening|morning" in no_phase.stdout
    assert "Traceback" not in no_phase.stdout + no_phase.stderr
    assert statuses(engine, *everyone) == ["running", "running", "created", "running"]


def test_demo_acts_only_on_its_own_containers(make_containers, engine, look_alikes):
    """``make demo`` on an engine holding the user's containers: look-alikes of its selections stay exactly as they
    were, what an earlier run left is replaced, nothing of its own is left behind, and a container of one of its
    names that it did not create stops it before anything changes."""
    demo = os.path.join(ROOT, "playbooks", "demo.yml")
    leftover = make_containers("demo-web-1", labels={"containerops.demo": "true", "tier": "web"})[0]
    leftover_id = engine.containers.get(leftover).id
    look_alikes_before = look_alikes.states()

    process = run_playbook(demo, {})
    output = process.stdout + process.stderr
    assert process.returncode == 0, output[-6000:]
    assert "restart:  ['running', 'running', 'running']" in process.stdout, process.stdout[-6000:]
    assert engine.containers.list(all=True, filters={"label": "containerops.demo=true"}) == []
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(leftover_id)
    assert look_alikes.states() == look_alikes_before, "the demo changed containers it did not create"
    assert look_alikes.named_in(output) == [], "the demo selected containers it did not create"

    stranger = make_containers("demo-worker")[0]
    process = run_playbook(demo, {})
    assert process.returncode != 0 and recap(process)["localhost"]["changed"] == 0, process.stdout[-6000:]
    assert ("not created by the demo (no label containerops.demo=true): demo-worker. The demo leaves them alone"
            in process.stdout), process.stdout[-6000:]
    assert engine.containers.get(stranger).status == "created"
    assert [c.name for c in engine.containers.list(all=True, filters={"name": "demo-"})] == ["demo-worker"]
    assert look_alikes.states() == look_alikes_before


def hoody_get(server, engine, name: str, what: str):
    """``GET /api/v1/containers/{id}[/{what}]`` of a container: its Hoody id is its ``hoody.id`` label (set when a
    restore recreated it) or the first 24 hex of Docker's id."""
    container = engine.containers.get(name)
    hoody_id = container.labels.get("hoody.id") or container.id[:24]
    answer = requests.get(f"{server.url}/api/v1/containers/{hoody_id}" + (f"/{what}" if what else ""),
                          headers={"Authorization": f"Bearer {HOODY_TOKEN}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_maintenance_window_through_hoody(hoody_server, make_containers, engine, tmp_path):
    names = make_containers("mwh-1", "mwh-2", "mwh-3")
    for name in names:
        engine.containers.get(name).start()
    window = {
        "containerops_connection": hoody_connection(hoody_server),
        "maintenance_window_containers": names,
        "maintenance_window_config": {"autostart": True, "environment_vars": {"MODE": "v2"}},
        "maintenance_window_config_by_container": {"mwh-3": {"environment_vars": {"MODE": "v2", "EXTRA": "1"}}},
        "maintenance_window_batch_size": 2,
        "maintenance_window_snapshot": True,
        "maintenance_window_stop_timeout": 5,
    }

    process, planned = shipped_playbook_result(tmp_path, "maintenance", "maintenance_window_summary", window, "--check")
    assert planned, process.stdout[-6000:] + process.stderr[-3000:]
    assert [entry["outcome"] for entry in planned] == ["planned"] * 3
    assert statuses(engine, *names) == ["running"] * 3

    process, summary = shipped_playbook_result(tmp_path, "maintenance", "maintenance_window_summary", window)
    assert summary, process.stdout[-6000:] + process.stderr[-3000:]
    assert [entry["outcome"] for entry in summary] == ["changed"] * 3, summary
    assert summary[0]["changes"] == ["autostart", "environment_vars.MODE"]
    assert sorted(summary[2]["changes"]) == ["autostart", "environment_vars.EXTRA", "environment_vars.MODE"]
    assert summary[0]["actions"][0] == "snapshot" and "stop" in summary[0]["actions"]
    assert summary[0]["status"] == "running"
    assert statuses(engine, *names) == ["running"] * 3
    environment = hoody_get(hoody_server, engine, "mwh-3", "env")["environment_vars"]
    assert environment["MODE"] == "v2" and environment["EXTRA"] == "1", environment
    assert "maintenance-window" in json.dumps(hoody_get(hoody_server, engine, "mwh-1", "snapshots"))

    process, again = shipped_playbook_result(tmp_path, "maintenance", "maintenance_window_summary", window)
    assert again, process.stdout[-6000:] + process.stderr[-3000:]
    assert [entry["outcome"] for entry in again] == ["unchanged"] * 3 and recap(process)["localhost"]["changed"] == 0


def start_web(make_containers, engine, *colours: str) -> list[str]:
    names = []
    for colour in colours:
        names += make_containers(f"bgh-{colour}", command=web_command(colour))
    return names


def alias_answer(url: str) -> str:
    answer = requests.get(url, timeout=10)
    return f"{answer.status_code} {answer.text.strip()}"


def test_blue_green_through_hoody_switches_and_rolls_back(hoody_server, make_containers, engine, tmp_path):
    start_web(make_containers, engine, "blue", "green", "broken")
    engine.containers.get("bgh-blue").start()
    swap = {
        "containerops_connection": hoody_connection(hoody_server),
        "blue_green_blue": "bgh-blue",
        "blue_green_green": "bgh-green",
        "blue_green_alias": "bgh-shop",
        "blue_green_stop_timeout": 5,
    }
    # Blue holds the alias before the swap: the same role, from nothing to blue.
    to_blue = dict(swap, blue_green_green="bgh-blue", blue_green_blue="bgh-green")
    process, first = shipped_playbook_result(tmp_path, "blue_green", "blue_green_summary", to_blue)
    assert first, process.stdout[-6000:] + process.stderr[-3000:]
    assert first["alias_holders"] == ["bgh-blue"]
    assert alias_answer(f"{hoody_server.url}/__proxy/bgh-shop/") == "200 blue"

    process, switched = shipped_playbook_result(tmp_path, "blue_green", "blue_green_summary", swap)
    assert switched, process.stdout[-6000:] + process.stderr[-3000:]
    assert switched["outcome"] == "switched" and switched["alias_holders"] == ["bgh-green"], switched
    assert isinstance(switched["alias_window_ms"], int) and switched["alias_window_ms"] >= 0
    assert switched["blue_status"] == "stopped" and switched["green_status"] == "running"
    url = f"{hoody_server.url}/__proxy/bgh-shop/"
    assert alias_answer(url) == "200 green"
    assert statuses(engine, "bgh-blue", "bgh-green") == ["exited", "running"]

    process, again = shipped_playbook_result(tmp_path, "blue_green", "blue_green_summary", swap)
    unchanged = recap(process)["localhost"]["changed"] == 0
    assert again and again["outcome"] == "unchanged" and unchanged, process.stdout[-6000:]

    # Release "broken" with a probe through the alias that fails: the alias must come back to green.
    broken = dict(swap, blue_green_blue="bgh-green", blue_green_green="bgh-broken",
                  blue_green_alias_probe_url="http://127.0.0.1:9/", blue_green_probe_retries=1)
    process, failed = shipped_playbook_result(tmp_path, "blue_green", "blue_green_summary", broken)
    assert failed is None and process.returncode != 0
    assert 'failed at "Probe through the alias"' in process.stdout, process.stdout[-6000:]
    assert "Rolled back: the alias is on bgh-green (running), bgh-broken is stopped." in process.stdout
    assert statuses(engine, "bgh-green", "bgh-broken") == ["running", "exited"]
    assert alias_answer(url) == "200 green"
    assert HOODY_TOKEN not in process.stdout + process.stderr


def test_blue_green_refuses_bad_input_before_touching_anything(make_containers, engine):
    make_containers("bgd-blue", "bgd-green")
    engine.containers.get("bgd-blue").start()
    swap = {"blue_green_blue": "bgd-blue", "blue_green_green": "bgd-green", "blue_green_alias": "bgd-web"}
    refusals = {
        "blue_green_network is required": (dict(swap), "network is required with backend docker"),
        "not a user-defined network": (dict(swap, blue_green_network="bridge"), "network 'bridge' cannot hold aliases"),
        "one container twice": (dict(swap, blue_green_green="bgd-blue", blue_green_network="bridge"),
                                "blue_green_blue and blue_green_green name the same container (bgd-blue)"),
        "no such green": (dict(swap, blue_green_green="bgd-nope"), "blue_green: bgd-nope does not exist"),
        "unknown blue action": (dict(swap, blue_green_blue_action="delete"),
                                "value of blue_green_blue_action must be one of: stop, pause, got: delete"),
    }
    blue_green = os.path.join(ROOT, "playbooks", "blue_green.yml")
    for case, (extra_vars, message) in refusals.items():
        process = run_playbook(blue_green, extra_vars)
        assert process.returncode != 0 and message in process.stdout, (case, process.stdout[-4000:])
        assert recap(process)["localhost"]["changed"] == 0, case
        assert statuses(engine, "bgd-blue", "bgd-green") == ["running", "created"], case


def test_maintenance_window_refuses_values_out_of_range(make_containers, engine):
    make_containers("mwd-1")
    engine.containers.get("mwd-1").start()
    process = run_playbook(os.path.join(ROOT, "playbooks", "maintenance.yml"), {
        "maintenance_window_containers": ["mwd-1"], "maintenance_window_config": {"autostart": True},
        "maintenance_window_batch_size": 0, "maintenance_window_stop_timeout": -1,
    })
    assert process.returncode != 0
    assert ("maintenance_window: maintenance_window_batch_size must be 1 or more, got 0; "
            "maintenance_window_stop_timeout must be 0 or more, got -1; nothing was changed") in process.stdout
    assert engine.containers.get("mwd-1").attrs["HostConfig"]["RestartPolicy"]["Name"] in ("", "no")
    assert statuses(engine, "mwd-1") == ["running"]


def test_maintenance_window_through_hoody_rolls_back_a_failed_probe(hoody_server, make_containers, engine, tmp_path):
    names = make_containers("mwr-1", "mwr-2")
    for name in names:
        engine.containers.get(name).start()
    window = {
        "containerops_connection": hoody_connection(hoody_server),
        "maintenance_window_containers": names,
        "maintenance_window_config": {"autostart": True, "environment_vars": {"MODE": "v3"}},
        "maintenance_window_snapshot": True,
        "maintenance_window_stop_timeout": 5,
        # Nothing listens there: verification fails after the change, and the container is rolled back.
        "maintenance_window_probe": True,
        "maintenance_window_probe_url": "http://127.0.0.1:9/{name}",
        "maintenance_window_probe_retries": 1,
    }
    process = run_playbook(os.path.join(ROOT, "playbooks", "maintenance.yml"), window)
    assert process.returncode != 0, process.stdout[-6000:]
    assert "maintenance window failed: 1 of 2 container(s) failed (1 rolled back), 1 not attempted." in process.stdout
    assert "mwr-1: failed at probe: probe of http://127.0.0.1:9/mwr-1 failed after 1 attempt(s)" in process.stdout
    assert "rolled back, left running." in process.stdout and "Not attempted: mwr-2." in process.stdout
    # The snapshot was restored and the previous settings re-applied: Hoody keeps env and autostart.
    assert "MODE" not in hoody_get(hoody_server, engine, "mwr-1", "env")["environment_vars"]
    assert hoody_get(hoody_server, engine, "mwr-1", "")["autostart"] is False
    assert "MODE" not in hoody_get(hoody_server, engine, "mwr-2", "env")["environment_vars"]
    assert statuses(engine, *names) == ["running", "running"]


def aliases(podman, name: str, network: str) -> list[str]:
    return podman.containers.get(name).attrs["NetworkSettings"]["Networks"][network].get("Aliases") or []


@pytest.mark.podman
def test_blue_green_on_a_podman_network_switches_and_rolls_back(podman_service, make_podman_containers, tmp_path):
    podman = podman_service.client
    podman.networks.create("bgp-net")
    try:
        for colour in ("blue", "green", "broken"):
            make_podman_containers(f"bgp-{colour}", command=web_command(colour), network="bgp-net")
        make_podman_containers("bgp-client", network="bgp-net")  # reaches the alias through the network's DNS
        podman.containers.get("bgp-blue").start()
        podman.containers.get("bgp-client").start()
        swap = {
            "containerops_connection": podman_connection(podman_service),
            "blue_green_blue": "bgp-blue",
            "blue_green_green": "bgp-green",
            "blue_green_alias": "bgp-shop",
            "blue_green_network": "bgp-net",
            "blue_green_stop_timeout": 5,
            # Green answers on its address on the network (from here, through the network's bridge).
            "blue_green_probe": True,
            "blue_green_probe_contains": "green",
        }
        to_blue = dict(swap, blue_green_green="bgp-blue", blue_green_blue="bgp-green", blue_green_probe_contains="blue")
        process, first = shipped_playbook_result(tmp_path, "blue_green", "blue_green_summary", to_blue)
        assert first, process.stdout[-6000:] + process.stderr[-3000:]
        assert first["alias_holders"] == ["bgp-blue"] and "bgp-shop" in aliases(podman, "bgp-blue", "bgp-net")
        assert podman_answer(podman_service, "bgp-client", "http://bgp-shop/") == "blue"

        process, switched = shipped_playbook_result(tmp_path, "blue_green", "blue_green_summary", swap)
        assert switched, process.stdout[-6000:] + process.stderr[-3000:]
        assert switched["outcome"] == "switched" and switched["alias_holders"] == ["bgp-green"], switched
        assert switched["blue_status"] == "stopped" and switched["green_status"] == "running"
        assert "bgp-shop" in aliases(podman, "bgp-green", "bgp-net")
        assert [podman.containers.get(name).status for name in ("bgp-blue", "bgp-green")] == ["exited", "running"]
        assert podman_answer(podman_service, "bgp-client", "http://bgp-shop/") == "green"

        process, again = shipped_playbook_result(tmp_path, "blue_green", "blue_green_summary", swap)
        unchanged = recap(process)["localhost"]["changed"] == 0
        assert again and again["outcome"] == "unchanged" and unchanged, process.stdout[-6000:]

        # Release "broken" with a probe through the alias that fails: the alias must come back to green.
        broken = dict(swap, blue_green_blue="bgp-green", blue_green_green="bgp-broken", blue_green_probe_contains="",
                      blue_green_alias_probe_url="http://127.0.0.1:9/", blue_green_probe_retries=1)
        process, failed = shipped_playbook_result(tmp_path, "blue_green", "blue_green_summary", broken)
        assert failed is None and process.returncode != 0
        assert 'failed at "Probe through the alias"' in process.stdout, process.stdout[-6000:]
        assert "Rolled back: the alias is on bgp-green (running), bgp-broken is stopped." in process.stdout
        assert [podman.containers.get(name).status for name in ("bgp-green", "bgp-broken")] == ["running", "exited"]
        assert "bgp-shop" in aliases(podman, "bgp-green", "bgp-net")
        assert podman_answer(podman_service, "bgp-client", "http://bgp-shop/") == "green"
    finally:
        podman_service.remove_network("bgp-net")


@pytest.mark.podman
def test_maintenance_window_on_podman_is_refused_at_its_plan(podman_service, make_podman_containers, tmp_path):
    """Podman 4.3 cannot keep a changed restart policy: the window refuses before any snapshot or stop."""
    podman = podman_service.client
    names = make_podman_containers("mwp-1", "mwp-2")
    for name in names:
        podman.containers.get(name).start()
    before = [podman.containers.get(name).attrs["State"]["StartedAt"] for name in names]
    images = sorted(image.id for image in podman.images.list())
    window = {
        "containerops_connection": podman_connection(podman_service),
        "maintenance_window_containers": names,
        "maintenance_window_config": {"autostart": True},
        "maintenance_window_snapshot": True,
        "maintenance_window_stop_timeout": 5,
        "maintenance_window_journal_dir": str(tmp_path / "journal"),
    }
    process = run_playbook(os.path.join(ROOT, "playbooks", "maintenance.yml"), window)
    assert process.returncode != 0, process.stdout[-6000:]
    for name in names:
        refusal = re.search(rf"{name}: failed at plan: .*?left \w+\.", process.stdout)
        assert refusal, process.stdout[-6000:]
        assert "autostart" in refusal.group(0) and re.search(r"Podman \d+\.\d+", refusal.group(0)), refusal.group(0)
    assert "Traceback" not in process.stdout + process.stderr
    assert [podman.containers.get(name).attrs["State"]["StartedAt"] for name in names] == before
    assert [podman.containers.get(name).status for name in names] == ["running", "running"]
    assert sorted(image.id for image in podman.images.list()) == images, "a snapshot was taken"
