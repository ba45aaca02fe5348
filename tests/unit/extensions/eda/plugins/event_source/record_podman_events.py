#!/usr/bin/env python3
"""Record Podman's libpod container events for the scenarios the Podman history and event feed tests replay.

Run against a real ``podman system service`` (root, image ``localhost/containerops/busybox:test``): it creates one
``pevents-rec-*`` container per scenario through the libpod API, does to it what the scenario says, removes it and
reads back its events (``GET /libpod/events?stream=false&since=...``, cut to that container). Writes JSON
``{scenario: [raw libpod /events objects]}`` to stdout; ``fixtures/podman_events.json`` was made (Podman 4.3.1,
events_logger ``file``, cgroup v1, no systemd) by

    cd tests/unit/extensions/eda/plugins/event_source
    ../../../../../../.venv/bin/python record_podman_events.py unix:///tmp/pevents/podman.sock \
        > fixtures/podman_events.json
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sys
import time
import urllib.parse
from typing import Any, Optional

IMAGE = "localhost/containerops/busybox:test"
ROOT = "/v4.0.0/libpod"
GRACEFUL = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
#: Handles SIGQUIT (and keeps running), then dies of a host ``kill -9`` later: a crash, not a stop.
TRAPS_QUIT = ["sh", "-c", "trap 'echo quit' QUIT; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
#: ``sleep`` as PID 1 ignores SIGTERM (no handler): a stop needs SIGKILL.
STUBBORN = ["sleep", "1000"]
#: Healthy until /tmp/sick exists (made 2 s after each start; a restart removes it first).
SICKENS = [
    "sh",
    "-c",
    "rm -f /tmp/sick; (sleep 2; touch /tmp/sick) & trap 'exit 0' TERM; while true; do sleep 0.2; done",
]
SICK_CHECK = {
    "Test": ["CMD-SHELL", "test ! -e /tmp/sick"],
    "Interval": 3600 * 10**9,
    "Timeout": 5 * 10**9,
    "Retries": 1,
}


class Libpod:
    """The libpod API over a unix socket, just enough to record."""

    def __init__(self, address: str) -> None:
        self.path = urllib.parse.urlparse(address).path

    def call(self, method: str, path: str, params: Optional[dict] = None, body: Any = None) -> Any:
        connection = http.client.HTTPConnection("d", timeout=60)
        connection.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.sock.connect(self.path)
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        payload = None if body is None else json.dumps(body)
        connection.request(method, ROOT + path + query, body=payload, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        text = answer.read().decode()
        connection.close()
        if answer.status >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status} {text}")
        return text


def inspect(api: Libpod, name: str) -> dict:
    return json.loads(api.call("GET", f"/containers/{name}/json"))


def wait_exited(api: Libpod, name: str) -> None:
    for _ in range(200):
        if inspect(api, name)["State"]["Status"] == "exited":
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not exit")


def host_kill(api: Libpod, name: str, number: int = signal.SIGKILL) -> None:
    """A signal to the process from the host: nobody asked the engine."""
    os.kill(inspect(api, name)["State"]["Pid"], number)


def crash(api: Libpod, name: str) -> None:
    host_kill(api, name)
    wait_exited(api, name)


def quit_then_crash(api: Libpod, name: str) -> None:
    """``podman kill -s QUIT`` (handled; the container keeps running), then a host ``kill -9`` 5 s later."""
    api.call("POST", f"/containers/{name}/kill", {"signal": "SIGQUIT"})
    time.sleep(5)
    assert inspect(api, name)["State"]["Status"] == "running"
    crash(api, name)


def healthcheck(api: Libpod, name: str) -> str:
    return json.loads(api.call("GET", f"/containers/{name}/healthcheck"))["Status"]


def sicken_then_restart(api: Libpod, name: str) -> None:
    """A check passes (healthy), the container sickens (unhealthy), a restart heals it (healthy again)."""
    assert healthcheck(api, name) == "healthy"
    time.sleep(2.5)
    assert healthcheck(api, name) == "unhealthy"
    api.call("POST", f"/containers/{name}/restart", {"timeout": 5})
    assert healthcheck(api, name) == "healthy"


SCENARIOS = {
    "exit_3": (["sh", "-c", "sleep 0.3; exit 3"], {}, wait_exited),
    "podman_stop": (GRACEFUL, {}, lambda api, name: api.call("POST", f"/containers/{name}/stop", {"timeout": 5})),
    "podman_stop_escalated": (
        STUBBORN, {}, lambda api, name: api.call("POST", f"/containers/{name}/stop", {"timeout": 1})
    ),
    "podman_kill": (GRACEFUL, {}, lambda api, name: (api.call("POST", f"/containers/{name}/kill"),
                                                     wait_exited(api, name))),
    "crash": (GRACEFUL, {}, crash),
    "quit_then_crash": (TRAPS_QUIT, {}, quit_then_crash),
    "pause_resume": (GRACEFUL, {}, lambda api, name: (api.call("POST", f"/containers/{name}/pause"),
                                                      api.call("POST", f"/containers/{name}/unpause"))),
    "podman_restart": (GRACEFUL, {}, lambda api, name: api.call("POST", f"/containers/{name}/restart",
                                                                {"timeout": 5})),
    "unhealthy": (SICKENS, {"healthconfig": SICK_CHECK}, sicken_then_restart),
    "restart_policy": (["sh", "-c", "sleep 0.3; exit 3"], {"restart_policy": "on-failure", "restart_tries": 1},
                       lambda api, name: (time.sleep(1), wait_exited(api, name))),
    "remove_force": (GRACEFUL, {}, lambda api, name: api.call("DELETE", f"/containers/{name}", {"force": "true"})),
}  # fmt: skip


def record(api: Libpod, scenario: str) -> list[dict]:
    command, extra, act = SCENARIOS[scenario]
    name = f"pevents-rec-{scenario.replace('_', '-')}"
    api.call("DELETE", f"/containers/{name}", {"force": "true", "ignore": "true"})
    since = time.time() - 1
    created = json.loads(api.call("POST", "/containers/create", body={
        "name": name, "image": IMAGE, "command": command, "labels": {"containerops.autoheal": "true"},
        "stop_timeout": 10, **extra,
    }))  # fmt: skip
    api.call("POST", f"/containers/{name}/start")
    time.sleep(0.3)
    act(api, name)
    time.sleep(3)  # what ended by itself is removed later than a removal's own stop
    api.call("DELETE", f"/containers/{name}", {"force": "true", "ignore": "true"})
    time.sleep(0.5)
    text = api.call("GET", "/events", {"stream": "false", "since": f"{since:.3f}"})
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [event for event in events if (event.get("Actor") or {}).get("ID") == created["Id"]]


def main() -> None:
    api = Libpod(sys.argv[1])
    chosen = sys.argv[2:] or list(SCENARIOS)
    json.dump({scenario: record(api, scenario) for scenario in chosen}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
