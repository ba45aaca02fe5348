"""container_config, container_snapshot and container_alias through the REST backends and Podman.

Docker is covered by the ansible-test targets of the same names; here the same modules run against the
Hoody and Dockhand test servers, which sit on the real engine, and against the suite's Podman service.
"""

from __future__ import annotations

import re

import pytest
import requests

from tests.integration.conftest import (
    CONNECTED_PLAY,
    DOCKHAND_PASSWORD,
    DOCKHAND_USER,
    hoody_connection,
    podman_answer,
    podman_connection,
    task_results,
    tasks_registering,
    web_command,
)


@pytest.mark.parametrize(
    ("module", "args", "capability"),
    [
        ("container_config", "name: wm-dh\nenvironment_vars: {WM: x}", "cannot change the environment"),
        ("container_snapshot", "name: wm-dh\nalias: pre", "cannot take, list or restore snapshots"),
        ("container_alias", "name: wm-dh\nalias: web", "cannot manage aliases"),
    ],
)
def test_dockhand_refuses_what_it_has_no_api_for(dockhand_server, make_containers, tmp_path, module, args, capability):
    make_containers("wm-dh")
    connection = {"backend": "dockhand", "api_url": dockhand_server.url, "api_username": DOCKHAND_USER,
                  "api_password": DOCKHAND_PASSWORD, "api_environment": 1}
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering((module, args))),
                                {"connection": connection})
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    assert out["0"]["failed"] and not out["0"]["changed"]
    assert f"backend dockhand {capability}" in out["0"]["msg"], out["0"]["msg"]
    assert "; nothing was changed" in out["0"]["msg"], out["0"]["msg"]


def hoody(server) -> dict:
    return {"connection": hoody_connection(server)}


def test_hoody_config_autostart_and_environment(hoody_server, make_containers, tmp_path):
    make_containers("wm-cfg")
    steps = tasks_registering(
        ("container_state", "name: wm-cfg\nstate: started"),
        ("container_config", "name: wm-cfg\nautostart: true"),
        ("container_config", "name: wm-cfg\nautostart: true"),
        ("container_config", "name: wm-cfg\nenvironment_vars: {LOG: debug}"),
        ("container_config", "name: wm-cfg\nenvironment_vars: {LOG: debug}\nrestart_to_apply: true"),
        ("container_config", "name: wm-cfg\nenvironment_vars: {LOG: debug}"),
        ("container_config", "name: wm-cfg\nresources: {memory: 1g}"),
        ("container_config", "name: wm-cfg\nenvironment_vars: {LOG: null}\nrestart_to_apply: true"),
        ("container_config", "name: wm-cfg\nenvironment_vars: {LOG: null}"),
    )
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=steps), hoody(hoody_server))
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    autostart, autostart_again = out["1"], out["2"]
    assert autostart["changed"] and autostart["changes"] == ["autostart"] and autostart["config"]["autostart"]
    assert not autostart_again["changed"]
    refused, restarted, settled = out["3"], out["4"], out["5"]
    assert refused["failed"] and "restart_to_apply: true" in refused["msg"] and "Nothing was changed" in refused["msg"]
    assert restarted["changed"] and restarted["restarted"]
    assert [a["operation"] for a in restarted["actions"]] == ["stop", "start"]
    assert restarted["before"]["environment_vars"].get("LOG") is None
    assert restarted["config"]["environment_vars"]["LOG"] == "debug"
    assert restarted["container"]["status"] == "running"
    assert not settled["changed"]
    assert out["6"]["failed"] and "wm-cfg: backend hoody has no API for resource limits" in out["6"]["msg"]
    removed, removed_again = out["7"], out["8"]
    assert removed["changed"] and removed["changes"] == ["environment_vars.LOG"], removed
    assert "LOG" not in removed["config"]["environment_vars"] and removed["container"]["status"] == "running"
    assert not removed_again["changed"]


def test_hoody_snapshot_restore_brings_back_the_files(hoody_server, make_containers, tmp_path, engine):
    make_containers("wm-snap")
    engine.containers.get("wm-snap").start()
    engine.containers.get("wm-snap").exec_run(["sh", "-c", "echo before > /before.txt"])
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
        ("container_snapshot", "name: wm-snap\nalias: pre"),
        ("container_snapshot", "name: wm-snap\nalias: pre"),
    )), hoody(hoody_server))
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    taken, again = out["0"], out["1"]
    assert taken["changed"] and taken["snapshot"]["alias"] == "pre" and taken["snapshot"]["stateful"], taken
    assert not again["changed"] and again["snapshot"]["name"] == taken["snapshot"]["name"]

    engine.containers.get("wm-snap").exec_run(["sh", "-c", "echo after > /after.txt; echo changed > /before.txt"])
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
        ("container_snapshot", "name: wm-snap\nalias: pre\nstate: restored"),
        ("container_snapshot", "name: wm-snap\nalias: pre\nstate: restored"),
        ("container_snapshot", "name: wm-snap\nalias: pre\nstate: absent"),
        ("container_snapshot", "name: wm-snap\nalias: pre\nstate: absent"),
    )), hoody(hoody_server))
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    restored, restored_again, removed, removed_again = out["0"], out["1"], out["2"], out["3"]
    assert restored["changed"] and restored["container"]["status"] == "running", restored
    assert restored["container"]["id"] == taken["container"]["id"]  # Hoody keeps the id
    assert not restored_again["changed"]
    assert removed["changed"] and removed["snapshot"] is None and not removed_again["changed"]
    files = engine.containers.get("wm-snap").exec_run(
        ["sh", "-c", "cat /before.txt; test -e /after.txt && echo after-survived || echo after-gone"]
    )
    assert files.output.decode().split() == ["before", "after-gone"]


def test_hoody_alias_moves_and_reports_the_gap(hoody_server, make_containers, tmp_path):
    for colour in ("blue", "green"):
        make_containers(f"wm-{colour}", command=web_command(colour))
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
        ("container_state", "name: [wm-blue, wm-green]\nstate: started"),
        ("container_alias", "alias: wm-shop\nname: wm-blue"),
        ("container_alias", "alias: wm-shop\nname: wm-green"),
        ("container_alias", "alias: wm-shop\nname: wm-green"),
    )), hoody(hoody_server))
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    to_blue, to_green, again = out["1"], out["2"], out["3"]
    assert to_blue["changed"] and to_blue["previous"] == [] and to_blue["holders"] == ["wm-blue"]
    assert to_green["changed"] and to_green["previous"] == ["wm-blue"] and to_green["holders"] == ["wm-green"]
    assert isinstance(to_green["window_ms"], int) and to_green["window_ms"] >= 0
    assert not again["changed"] and again["window_ms"] is None
    answer = requests.get(to_green["url"], timeout=10)
    assert answer.status_code == 200 and answer.text.strip() == "green"


def on_podman(service) -> dict:
    return {"connection": podman_connection(service)}


@pytest.mark.podman
def test_podman_config_is_refused_before_anything_changes(podman_service, make_podman_containers, tmp_path):
    """Podman 4.3 cannot keep a changed restart policy or limits: refused up front, naming the version that can."""
    make_podman_containers("wm-pcfg")
    podman = podman_service.client
    podman.containers.get("wm-pcfg").start()
    before = podman.containers.get("wm-pcfg").attrs
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
        ("container_config", "name: wm-pcfg\nautostart: true"),
        ("container_config", "name: wm-pcfg\nresources: {memory: 64m}\nrestart_to_apply: true"),
    )), on_podman(podman_service))  # fmt: skip
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    for index, setting in (("0", "autostart"), ("1", "resources")):
        refused = out[index]
        assert refused["failed"] and not refused["changed"], refused
        assert setting in refused["msg"] and re.search(r"Podman \d+\.\d+", refused["msg"]), refused["msg"]
    after = podman.containers.get("wm-pcfg").attrs
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"] and after["State"]["Status"] == "running"
    assert after["HostConfig"]["RestartPolicy"] == before["HostConfig"]["RestartPolicy"]
    assert after["HostConfig"]["Memory"] == before["HostConfig"]["Memory"]


@pytest.mark.podman
def test_podman_snapshot_keeps_labels_restores_files_and_leaks_no_image(podman_service, make_podman_containers,
                                                                       tmp_path):
    make_podman_containers("wm-psnap", labels={"tier": "web"})
    podman = podman_service.client
    podman.containers.get("wm-psnap").start()
    podman.containers.get("wm-psnap").exec_run(["sh", "-c", "echo before > /before.txt"])
    images = sorted(image.id for image in podman.images.list(all=True))
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
        ("container_snapshot", "name: wm-psnap\nalias: pre"),
        ("container_snapshot", "name: wm-psnap\nalias: pre"),
    )), on_podman(podman_service))  # fmt: skip
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    taken, again = out["0"], out["1"]
    assert taken["changed"] and taken["snapshot"]["alias"] == "pre", taken
    assert not again["changed"] and again["snapshot"]["name"] == taken["snapshot"]["name"], again

    podman.containers.get("wm-psnap").exec_run(["sh", "-c", "echo after > /after.txt; echo changed > /before.txt"])
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
        ("container_snapshot", "name: wm-psnap\nalias: pre\nstate: restored"),
        ("container_snapshot", "name: wm-psnap\nalias: pre\nstate: restored"),
    )), on_podman(podman_service))  # fmt: skip
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    restored, restored_again = out["0"], out["1"]
    assert restored["changed"] and restored["container"]["status"] == "running", restored
    assert not restored_again["changed"], restored_again
    container = podman.containers.get("wm-psnap")
    assert container.labels.get("tier") == "web", container.labels
    files = container.exec_run(
        ["sh", "-c", "cat /before.txt; test -e /after.txt && echo after-survived || echo after-gone"])
    assert files.output.decode().split() == ["before", "after-gone"]

    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
        ("container_snapshot", "name: wm-psnap\nalias: pre\nstate: absent"),
        ("container_snapshot", "name: wm-psnap\nalias: pre\nstate: absent"),
    )), on_podman(podman_service))  # fmt: skip
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    assert out["0"]["changed"] and out["0"]["snapshot"] is None and not out["1"]["changed"], out
    # The one image added is the one the restored container runs from, and it goes with the container.
    added = {image.id for image in podman.images.list(all=True)} - set(images)
    assert added == {podman.containers.get("wm-psnap").image.id}, [podman.images.get(i).attrs for i in added]
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
        ("container_state", "name: wm-psnap\nstate: absent"),
    )), on_podman(podman_service))  # fmt: skip
    assert out and out["0"]["changed"], process.stdout[-3000:] + process.stderr[-3000:]
    assert sorted(image.id for image in podman.images.list(all=True)) == images, "images left behind"


@pytest.mark.podman
def test_podman_alias_moves_on_a_podman_network(podman_service, make_podman_containers, tmp_path):
    """On a network with DNS (CNI's dnsname plugin here, as ``podman network create`` makes it), a container on the
    network reaches whichever container holds the alias; on one without DNS the alias is set and a warning says
    nothing resolves it."""
    podman = podman_service.client
    podman.networks.create("wmp-net")
    podman_service.podman("network", "create", "--disable-dns", "wmp-nodns")
    try:
        for colour in ("blue", "green"):
            make_podman_containers(f"wm-p{colour}", network="wmp-net", command=web_command(colour))
        make_podman_containers("wm-pclient", network="wmp-net")
        make_podman_containers("wm-pquiet", network="wmp-nodns")
        process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
            ("container_state", "name: [wm-pblue, wm-pgreen, wm-pclient, wm-pquiet]\nstate: started"),
            ("container_alias", "alias: wmp-shop\nnetwork: wmp-net\nname: wm-pblue"),
        )), on_podman(podman_service))  # fmt: skip
        assert out, process.stdout[-3000:] + process.stderr[-3000:]
        assert out["1"]["changed"] and out["1"]["previous"] == [] and out["1"]["holders"] == ["wm-pblue"], out["1"]
        assert "has DNS disabled" not in process.stdout + process.stderr
        assert podman_answer(podman_service, "wm-pclient", "http://wmp-shop/") == "blue"

        (tmp_path / "moved").mkdir()
        process, out = task_results(tmp_path / "moved", CONNECTED_PLAY.format(tasks=tasks_registering(
            ("container_alias", "alias: wmp-shop\nnetwork: wmp-net\nname: wm-pgreen"),
            ("container_alias", "alias: wmp-shop\nnetwork: wmp-net\nname: wm-pgreen"),
            ("container_alias", "alias: wmp-quiet\nnetwork: wmp-nodns\nname: wm-pquiet"),
        )), on_podman(podman_service))  # fmt: skip
        assert out, process.stdout[-3000:] + process.stderr[-3000:]
        to_green, again, without_dns = out["0"], out["1"], out["2"]
        assert to_green["changed"] and to_green["previous"] == ["wm-pblue"] and to_green["holders"] == ["wm-pgreen"]
        assert not again["changed"], again
        held = {name: podman.containers.get(name).attrs["NetworkSettings"]["Networks"]["wmp-net"].get("Aliases") or []
                for name in ("wm-pblue", "wm-pgreen")}  # fmt: skip
        assert "wmp-shop" in held["wm-pgreen"] and "wmp-shop" not in held["wm-pblue"], held
        assert podman_answer(podman_service, "wm-pclient", "http://wmp-shop/") == "green"
        assert podman_answer(podman_service, "wm-pclient", "http://wm-pblue/") == "blue"  # blue is still on the network
        assert without_dns["changed"] and without_dns["holders"] == ["wm-pquiet"], without_dns
        assert "network 'wmp-nodns' has DNS disabled" in " ".join((process.stdout + process.stderr).split()), (
            process.stdout[-3000:]
        )
    finally:
        podman_service.remove_network("wmp-net")
        podman_service.remove_network("wmp-nodns")
