#!/usr/bin/env python3
"""Timelines of the two workflow roles on the real engine, from the containers' status logs.

1. A maintenance window over 5 containers (playbooks/maintenance.yml): snapshot, graceful stop,
   container_config (autostart + memory), start, verify. One container ignores SIGTERM, so its stop
   takes the whole stop timeout.
2. A blue-green swap (playbooks/blue_green.yml) while a client container on the network asks the alias
   every ~20 ms; the longest run of unanswered requests is how long traffic through the alias went
   unanswered.

Run: ``make timeline`` (or with ANSIBLE_COLLECTIONS_PATH pointing at the installed collection).
Prints Markdown.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time

import docker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = "containerops/busybox:test"
GRACEFUL = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
WINDOW = [f"tl-mw-{n}" for n in range(1, 6)]
NETWORK = "tl-net"

STATUS_LOGS_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - containerops.lifecycle.container_status_logs:
        name: "{{ item }}"
        since: "{{ since }}"
        all_pages: true
        sort_by: transition_time
        sort_order: asc
      loop: "{{ names }}"
      register: logs
    - ansible.builtin.copy:
        content: "{{ logs.results | map(attribute='logs') | list | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def playbook(path: str, extra: dict) -> float:
    """Run a playbook on localhost; returns its wall time. Exits on failure, showing the end of its output."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(extra, handle)
    started = time.monotonic()
    process = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", path, "-e", f"@{handle.name}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    os.unlink(handle.name)
    if process.returncode:
        sys.exit(f"{path} failed:\n{process.stdout[-4000:]}\n{process.stderr[-2000:]}")
    return time.monotonic() - started


def status_logs(names: list[str], since: str) -> list[list[dict]]:
    with tempfile.TemporaryDirectory() as tmp:
        play, out = os.path.join(tmp, "play.yml"), os.path.join(tmp, "out.json")
        with open(play, "w") as handle:
            handle.write(STATUS_LOGS_PLAY)
        playbook(play, {"names": names, "since": since, "out": out})
        with open(out) as handle:
            return json.load(handle)


def seconds(stamp: str) -> float:
    """Seconds of the day of an ISO timestamp, for offsets within one run."""
    clock = stamp.split("T")[1].rstrip("Z")
    hours, minutes, secs = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


def print_timeline(title: str, names: list[str], logs: list[list[dict]]) -> None:
    records = [(record, name) for name, entries in zip(names, logs) for record in entries]
    if not records:
        print(f"### {title}\n\n(no status logs)\n")
        return
    origin = min(seconds(record["transition_time"]) for record, _ in records)
    print(f"### {title}\n")
    print("| t (s) | container | transition | operation | duration_ms |")
    print("|---|---|---|---|---|")
    for record, name in sorted(records, key=lambda item: item[0]["transition_time"]):
        meta = record.get("metadata") or {}
        operation = meta.get("operation", "") + (" (escalated)" if meta.get("escalated") else "")
        print(
            f"| {seconds(record['transition_time']) - origin:6.2f} | {name} | "
            f"{record.get('from_status')} → {record['to_status']} | {operation} | {record.get('duration_ms')} |"
        )
    print()


def remove(client: docker.DockerClient, *names: str) -> None:
    for name in names:
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(name).remove(force=True)


def maintenance_window(client: docker.DockerClient) -> None:
    remove(client, *WINDOW)
    for name in WINDOW:
        command = ["sleep", "infinity"] if name.endswith("5") else GRACEFUL
        client.containers.run(IMAGE, command, name=name, detach=True, restart_policy={"Name": "no"})
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    extra = {
        "maintenance_window_containers": WINDOW,
        "maintenance_window_config": {"autostart": True, "resources": {"memory": "64m"}},
        "maintenance_window_batch_size": 5,
        "maintenance_window_snapshot": True,
        "maintenance_window_stop_timeout": 2,
    }
    wall = playbook(os.path.join(ROOT, "playbooks", "maintenance.yml"), extra)
    again = playbook(os.path.join(ROOT, "playbooks", "maintenance.yml"), extra)
    print_timeline(
        f"Maintenance window, 5 containers in one batch (playbook {wall:.1f} s; "
        f"second run, nothing to do: {again:.1f} s)",
        WINDOW,
        status_logs(WINDOW, since),
    )
    remove(client, *WINDOW)
    for image in client.images.list(filters={"label": "containerops.snapshot.alias=maintenance-window"}):
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image.id, force=True)


def serve(colour: str) -> list[str]:
    # httpd as PID 1 would ignore SIGTERM; a shell that exits on it makes the stop graceful.
    script = f"mkdir -p /www && echo {colour} > /www/index.html && httpd -f -p 80 -h /www & trap 'exit 0' TERM; wait"
    return ["sh", "-c", script]


def blue_green(client: docker.DockerClient) -> None:
    names = ["tl-blue", "tl-green"]
    remove(client, *names, "tl-client")
    with contextlib.suppress(docker.errors.NotFound):
        client.networks.get(NETWORK).remove()
    client.networks.create(NETWORK)
    health = {"test": ["CMD", "wget", "-qO-", "http://127.0.0.1/"], "interval": 500_000_000, "retries": 2}
    client.containers.run(IMAGE, serve("blue"), name="tl-blue", detach=True, network=NETWORK, healthcheck=health)
    client.containers.create(IMAGE, serve("green"), name="tl-green", network=NETWORK, healthcheck=health)
    client.api.disconnect_container_from_network("tl-blue", NETWORK)
    client.api.connect_container_to_network("tl-blue", NETWORK, aliases=["web"])
    probe = (
        "while true; do t=$(cut -d' ' -f1 /proc/uptime); "
        'r=$(timeout 1 wget -qO- http://web/ 2>/dev/null || echo none); echo "$t $r"; sleep 0.02; done'
    )
    client.containers.run(IMAGE, ["sh", "-c", probe], name="tl-client", detach=True, network=NETWORK)
    time.sleep(1)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    extra = {
        "blue_green_blue": "tl-blue",
        "blue_green_green": "tl-green",
        "blue_green_alias": "web",
        "blue_green_network": NETWORK,
        "blue_green_healthy": True,
        "blue_green_probe": True,
        "blue_green_stop_timeout": 5,
    }
    wall = playbook(os.path.join(ROOT, "playbooks", "blue_green.yml"), extra)
    time.sleep(1)
    answers = [line.split() for line in client.containers.get("tl-client").logs().decode().splitlines()]
    answers = [(float(t), reply) for t, *rest in answers if rest for reply in rest[:1]]
    print_timeline(f"Blue-green swap (playbook {wall:.1f} s)", names, status_logs(names, since))
    gaps, current, start = [], 0, None
    for stamp, reply in answers:
        if reply == "none":
            start = stamp if start is None else start
            current += 1
        elif start is not None:
            gaps.append((stamp - start, current, start))
            start, current = None, 0
    switched = next((stamp for stamp, reply in answers if reply == "green"), None)
    last_blue = max((stamp for stamp, reply in answers if reply == "blue"), default=None)
    print(f"Requests through the alias: {len(answers)} (one every ~{_spacing(answers):.0f} ms).")
    counts = {reply: sum(r == reply for _, r in answers) for reply in ("blue", "green", "none")}
    print(f"Answers by blue: {counts['blue']}, by green: {counts['green']}, unanswered: {counts['none']}.")
    if switched is not None and last_blue is not None:
        if last_blue >= switched:
            print(f"Blue and green both answered for {(last_blue - switched) * 1000:.0f} ms (the alias led to both).")
        else:
            print(f"From the last answer by blue to the first by green: {(switched - last_blue) * 1000:.0f} ms.")
    longest = max(gaps, default=(0.0, 0, None))
    when = (f", starting {(longest[2] - switched) * 1000:+.0f} ms from the first answer by green"
            if longest[2] is not None and switched is not None else "")
    print(
        f"Longest unanswered stretch: {longest[0] * 1000:.0f} ms ({longest[1]} request(s){when}); "
        "the client's clock (/proc/uptime) has 10 ms steps.\n"
    )
    remove(client, *names, "tl-client")
    client.networks.get(NETWORK).remove()


def _spacing(answers: list[tuple[float, str]]) -> float:
    return (answers[-1][0] - answers[0][0]) / max(len(answers) - 1, 1) * 1000 if answers else 0.0


def main() -> None:
    client = docker.from_env()
    maintenance_window(client)
    blue_green(client)


if __name__ == "__main__":
    main()
