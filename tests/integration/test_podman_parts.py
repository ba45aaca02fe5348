"""Podman's parts on the suite's Podman service, where they differ from Docker's: a health wait with no systemd timer
running the checks, and a restore that recreates the container with its configuration through libpod's create.

The workflow modules' common cases on Podman (snapshot taken, restored and removed; alias moved; settings refused)
are in ``test_workflow_modules.py``.
"""

from __future__ import annotations

import socket

import pytest

from tests.integration.conftest import CONNECTED_PLAY, podman_connection, task_results, tasks_registering

pytestmark = pytest.mark.podman
SECOND = 1_000_000_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _image_ids(service) -> list[str]:
    return sorted(service.podman("images", "--all", "--quiet", "--no-trunc").stdout.split())


def test_healthy_waits_for_a_check_the_wait_runs_itself(podman_service, make_podman_containers, tmp_path):
    """No systemd here, so Podman never runs a check on its own: the wait runs them, and reads the verdict."""
    make_podman_containers("pp-healthy", healthcheck={"test": ["CMD-SHELL", "true"], "interval": SECOND})
    make_podman_containers("pp-sick", healthcheck={"test": ["CMD-SHELL", "echo sick; false"], "interval": SECOND,
                                                   "retries": 2})  # fmt: skip
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
        ("container_state", "name: pp-healthy\nstate: started\nhealthy: true\nwait_timeout: 30"),
        ("container_state", "name: pp-sick\nstate: started\nhealthy: true\nwait_timeout: 30"),
    )), {"connection": podman_connection(podman_service)})  # fmt: skip
    assert out, process.stdout[-3000:] + process.stderr[-3000:]
    healthy, sick = out["0"]["containers"][0], out["1"]["containers"][0]
    assert (healthy["status"], healthy["health"], healthy.get("error")) == ("running", "healthy", None), healthy
    assert out["1"]["failed"] and sick["error"].endswith("its health check reports unhealthy: sick"), sick
    log = podman_service.client.containers.get("pp-healthy").attrs["State"]["Health"]["Log"]
    assert log and log[-1]["ExitCode"] == 0, log


def test_a_restore_recreates_the_container_with_its_configuration(podman_service, make_podman_containers, tmp_path):
    podman = podman_service.client
    port = _free_port()
    podman.networks.create("pp-net")
    try:
        make_podman_containers(
            "pp-snap",
            labels={"tier": "web"},
            environment={"FOO": "bar"},
            ports={"80/tcp": port},
            network="pp-net",
            restart_policy={"Name": "unless-stopped"},
            stop_signal="SIGTERM",
            healthcheck={"test": ["CMD-SHELL", "true"], "interval": 5 * SECOND},
            volumes={"pp-data": {"bind": "/data", "mode": "rw"}},
        )
        podman_service.podman("network", "disconnect", "pp-net", "pp-snap")
        podman_service.podman("network", "connect", "--alias", "shop", "pp-net", "pp-snap")
        podman.containers.get("pp-snap").start()
        before = podman.containers.get("pp-snap").attrs
        images = _image_ids(podman_service)
        process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
            ("container_snapshot", "name: pp-snap\nalias: pre"),
            ("container_snapshot", "name: pp-snap\nalias: pre\nreplace: true"),
            ("container_snapshot", "name: pp-snap\nalias: pre\nstate: restored"),
        )), {"connection": podman_connection(podman_service)})  # fmt: skip
        assert out, process.stdout[-3000:] + process.stderr[-3000:]
        taken, replaced, restored = out["0"], out["1"], out["2"]
        assert taken["snapshot"]["name"] == "localhost/containerops-snapshot/pp-snap:pre", taken
        assert replaced["changed"] and restored["changed"] and restored["container"]["status"] == "running", out
        dangling = podman_service.podman("images", "--all", "--quiet", "--filter", "dangling=true").stdout.split()
        assert dangling == [], "the replaced snapshot's image was left behind"

        after = podman.containers.get("pp-snap").attrs
        assert after["Id"] != before["Id"] and after["Image"] != before["Image"]
        # The image's snapshot labels are inherited, as on Docker; the container's own are all there.
        assert before["Config"]["Labels"].items() <= after["Config"]["Labels"].items()
        for section, key in [("Config", "Healthcheck"), ("Config", "StopSignal"),
                             ("Config", "StopTimeout"), ("HostConfig", "PortBindings"),
                             ("HostConfig", "RestartPolicy")]:  # fmt: skip
            assert after[section].get(key) == before[section].get(key), (section, key)
        assert "FOO=bar" in after["Config"]["Env"]
        assert "shop" in after["NetworkSettings"]["Networks"]["pp-net"]["Aliases"]
        assert [(m["Name"], m["Destination"]) for m in after["Mounts"]] == [("pp-data", "/data")]

        # The snapshot removed, its image stays while the restored container runs on it, and goes with it.
        process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks_registering(
            ("container_snapshot", "name: pp-snap\nalias: pre\nstate: absent"),
            ("container_state", "name: pp-snap\nstate: absent"),
        )), {"connection": podman_connection(podman_service)})  # fmt: skip
        assert out and out["0"]["changed"] and out["1"]["changed"], process.stdout[-3000:] + process.stderr[-3000:]
        assert _image_ids(podman_service) == images, "images left behind"
    finally:
        podman_service.podman("rm", "--force", "--ignore", "pp-snap", check=False)
        podman_service.remove_network("pp-net")
