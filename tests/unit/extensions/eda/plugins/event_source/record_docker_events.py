#!/usr/bin/env python3
"""Record the Docker engine's container events for the scenarios the event source's unit tests replay.

Run against a real engine (root, image containerops/busybox:test): it creates one ``eda-rec-*`` container per
scenario, does to it what the scenario says, reads back its events and removes it. Writes JSON
``{scenario: [raw /events objects]}`` to stdout; ``fixtures/docker_events.json`` was made by

    cd tests/unit/extensions/eda/plugins/event_source
    ../../../../../../.venv/bin/python record_docker_events.py > fixtures/docker_events.json

and ``fixtures/docker_health_events.json`` (a health check turning unhealthy, then a restart that heals it) by

    ../../../../../../.venv/bin/python record_docker_events.py unhealthy > fixtures/docker_health_events.json
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

import docker

IMAGE = "containerops/busybox:test"
GRACEFUL = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
SICK_CHECK = {"test": ["CMD-SHELL", "test ! -e /run/sick"], "interval": 10**9, "retries": 1}
STUBBORN = ["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"]


def wait_exited(container) -> None:
    for _ in range(100):
        container.reload()
        if container.status == "exited":
            return
        time.sleep(0.05)
    raise RuntimeError(f"{container.name} did not exit")


def wait_health(container, verdict: str) -> None:
    for _ in range(200):
        container.reload()
        if container.attrs["State"].get("Health", {}).get("Status") == verdict:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{container.name} did not turn {verdict}")


def sicken_then_restart(container) -> None:
    """Healthy, then the check fails (unhealthy), then a restart clears the tmpfs (healthy again)."""
    wait_health(container, "healthy")
    container.exec_run(["touch", "/run/sick"])
    wait_health(container, "unhealthy")
    container.restart(timeout=1)
    wait_health(container, "healthy")


def crash(container) -> None:
    """kill -9 of the process from the host: nobody asked the engine."""
    os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)
    wait_exited(container)


SCENARIOS = {
    "crash": (GRACEFUL, {}, crash),
    "exit_3": (["sh", "-c", "sleep 0.3; exit 3"], {}, wait_exited),
    "docker_stop": (GRACEFUL, {}, lambda c: c.stop(timeout=5)),
    "docker_stop_escalated": (STUBBORN, {}, lambda c: c.stop(timeout=1)),
    "docker_kill": (GRACEFUL, {}, lambda c: (c.kill(), wait_exited(c))),
    "docker_restart": (GRACEFUL, {}, lambda c: c.restart(timeout=5)),
    "pause_resume": (GRACEFUL, {}, lambda c: (c.pause(), c.unpause())),
    "oom": (
        ["sh", "-c", "x=xxxxxxxxxxxxxxxx; while true; do x=$x$x; done"],
        {"mem_limit": "8m", "memswap_limit": "8m"},
        wait_exited,
    ),
    "remove_force": (GRACEFUL, {}, lambda c: c.remove(force=True)),
    "unhealthy": (GRACEFUL, {"healthcheck": SICK_CHECK, "tmpfs": {"/run": ""}}, sicken_then_restart),
}
#: Recorded when named on the command line only (they have fixtures of their own).
ON_REQUEST = ("unhealthy",)


def main() -> None:
    client = docker.from_env()
    recorded = {}
    chosen = sys.argv[1:] or [name for name in SCENARIOS if name not in ON_REQUEST]
    for scenario in chosen:
        command, extra, act = SCENARIOS[scenario]
        name = f"eda-rec-{scenario.replace('_', '-')}"
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(name).remove(force=True)
        since = time.time() - 1
        container = client.containers.create(IMAGE, command, name=name, labels={"containerops.autoheal": "true"},
                                             **extra)  # fmt: skip
        container.start()
        container.reload()
        time.sleep(0.2)
        act(container)
        time.sleep(0.5)
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
        events = client.api.events(since=since, until=time.time() + 0.5, filters={"container": name}, decode=True)
        recorded[scenario] = list(events)
    json.dump(recorded, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
