#!/usr/bin/env python3
"""Autoheal measured: the shipped rulebook under the real ansible-rulebook, and the event source alone, on a private
Docker engine (tests/integration/private_engine.py: its own dockerd, socket, data root and bridge, removed after the
run), so the main engine and its containers are never touched. Needs root (dockerd), ansible-rulebook and Java 17.

  crash      ``kill -9`` of a labelled container's process from the host, to running again (a new run):
             p50 and max over ``--runs`` containers, one after the other
  unhealthy  a labelled container's health check turning unhealthy (the engine's health_status event) to running
             again after the rulebook's graceful restart: p50 and max over ``--runs`` containers
  burst      N labelled containers crashed at once, to all running again; the playbook runs it took, and the peak
             memory (resident set size) of ansible-rulebook with everything it runs (its JVM, the playbooks)
  source     the event source alone (``container_events.main``, no rulebook): its CPU time and memory while the
             engine is idle for 10 s, and while the engine reports a burst of ``--events`` events (restarts of 50
             containers, 5 events each), from the first to the source's last emission

    make bench-autoheal                                   # writes benchmarks/AUTOHEAL.md
    python benchmarks/autoheal.py --runs 5 --bursts 20 --output /tmp/autoheal.md

Other load on the machine while it runs inflates every figure.
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable

import docker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.integration.private_engine import PrivateEngine  # noqa: E402 - needs ROOT on sys.path
from tests.integration.test_eda import AUTOHEAL, IMAGE, descendants, launch, wait_ready  # noqa: E402

# Idle until SIGTERM: nothing is spawned while it runs, so 50 of them leave the CPU alone.
IDLE = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"]
HEALTHCHECK = {"test": ["CMD-SHELL", "test ! -e /run/sick"], "interval": 10**9, "retries": 1}
SOURCE = """
import asyncio, logging, sys
from ansible_collections.containerops.lifecycle.extensions.eda.plugins.event_source import container_events

class Printer:
    async def put(self, event):
        print(event["containerops"]["operation"], flush=True)

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
asyncio.run(container_events.main(Printer(), {"filters": {"label": ["containerops.autoheal=true"]}}))
"""


def engine_seconds(text: str) -> float:
    """Docker's RFC 3339 time with nanoseconds (``2026-12-06T10:21:30.938046367Z``) as epoch seconds."""
    whole, _dot, fraction = text.rstrip("Z").partition(".")
    moment = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp() + float(f"0.{fraction or 0}")


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0


def tree_rss_mib(root: int) -> float:
    """The resident memory of a process and all its descendants (ansible-runner starts each playbook in a session
    of its own, so a process group would miss them)."""
    return sum(rss_kib(pid) for pid in (root, *descendants(root))) / 1024


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Peak:
    """The peak of ``measure()`` sampled every 0.2 s in a thread until ``stop()``."""

    def __init__(self, measure: Callable[[], float]) -> None:
        self.measure, self.peak, self.done = measure, 0.0, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.wait(0.2):
            self.peak = max(self.peak, self.measure())

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return self.peak


def wait(what: str, done: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = done()
        if result:
            return result
        time.sleep(0.05)
    raise SystemExit(f"autoheal bench: no {what} within {timeout}s")


def running_again(client: docker.DockerClient, runs: dict[str, str]) -> bool:
    for name, started in runs.items():
        state = client.api.inspect_container(name)["State"]
        if not state["Running"] or state["StartedAt"] == started:
            return False
    return True


def make(client: docker.DockerClient, name: str, **extra: Any) -> Any:
    container = client.containers.run(IMAGE, IDLE, name=name, labels=AUTOHEAL, detach=True, **extra)
    container.reload()
    return container


def crash(container: Any) -> None:
    os.kill(container.attrs["State"]["Pid"], signal.SIGKILL)


def p50_max(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s | {max(values):.2f} s"


def crash_to_running(client, rulebook, name: str) -> float:
    container = make(client, name)
    rulebook.wait_event(name, "start")
    started = container.attrs["State"]["StartedAt"]
    crash(container)
    crashed = time.monotonic()
    wait(f"{name} running again", lambda: running_again(client, {name: started}), 60)
    seconds = time.monotonic() - crashed
    container.remove(force=True)
    return seconds


def unhealthy_to_running(client, rulebook, name: str) -> float:
    container = make(client, name, healthcheck=HEALTHCHECK, tmpfs={"/run": ""})
    wait(f"{name} healthy", lambda: any(e["health"] == "healthy" for e in rulebook.events(name)), 60)
    started = container.attrs["State"]["StartedAt"]
    container.exec_run(["touch", "/run/sick"])
    wait(f"{name} running again", lambda: running_again(client, {name: started}), 60)
    sick = rulebook.wait_for(
        "the unhealthy event", lambda: [e for e in rulebook.events(name) if e["health"] == "unhealthy"]
    )
    new_start = client.api.inspect_container(name)["State"]["StartedAt"]
    container.remove(force=True)
    return engine_seconds(new_start) - engine_seconds(sick[0]["transition_time"])


def measure_burst(client, rulebook, size: int) -> dict[str, float]:
    containers = [make(client, f"ah-burst{size}-{n}") for n in range(size)]
    for container in containers:
        rulebook.wait_event(container.name, "start")
    runs = {c.name: c.attrs["State"]["StartedAt"] for c in containers}
    plays_before = rulebook.output.count("PLAY [Autoheal")
    peak = Peak(lambda: tree_rss_mib(rulebook.process.pid))
    crashed = time.monotonic()
    for container in containers:
        crash(container)
    wait(f"the {size} crashed containers running again", lambda: running_again(client, runs), 300)
    healed = time.monotonic() - crashed
    time.sleep(2)  # a run that started meanwhile shows
    memory = peak.stop()
    plays = rulebook.output.count("PLAY [Autoheal") - plays_before
    for container in containers:
        container.remove(force=True)
    return {"seconds": healed, "runs": plays, "peak_mib": memory}


def measure_source(engine: PrivateEngine, client, events: int) -> dict[str, float]:
    tree = tempfile.mkdtemp(prefix="autoheal-bench-tree-")  # the collection importable as Ansible names it
    os.makedirs(os.path.join(tree, "ansible_collections", "containerops"))
    os.symlink(ROOT, os.path.join(tree, "ansible_collections", "containerops", "lifecycle"))
    env = dict(os.environ, DOCKER_HOST=engine.host, PYTHONUNBUFFERED="1", PYTHONPATH=tree)
    process = subprocess.Popen([sys.executable, "-c", SOURCE], env=env, stdout=subprocess.PIPE, text=True)
    emitted: list[str] = []
    threading.Thread(target=lambda: emitted.extend(process.stdout), daemon=True).start()
    try:
        wait("the source following the engine", lambda: any("following" in line for line in emitted), 60)
        containers = [make(client, f"ah-src-{n}") for n in range(50)]
        wait("the source's events of the 50 starts", lambda: emitted.count("start\n") >= 50, 120)
        time.sleep(3)
        before, idle_start = cpu_seconds(process.pid), time.monotonic()
        time.sleep(10)
        idle = {
            "idle_cpu_s_per_s": (cpu_seconds(process.pid) - before) / (time.monotonic() - idle_start),
            "idle_mib": rss_kib(process.pid) / 1024,
        }
        restarts = events // 5  # kill, die, stop, start, restart
        peak = Peak(lambda: rss_kib(process.pid) / 1024)
        before, started, count = cpu_seconds(process.pid), time.monotonic(), emitted.count("restart\n")
        for n in range(restarts):
            client.api.restart(containers[n % len(containers)].id, timeout=0)
        wait("the source's restart events", lambda: emitted.count("restart\n") >= count + restarts, 300)
        burst = {"burst_s": time.monotonic() - started, "burst_cpu_s": cpu_seconds(process.pid) - before,
                 "burst_peak_mib": peak.stop()}  # fmt: skip
        for container in containers:
            container.remove(force=True)
        return {**idle, **burst}
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bursts", default="20,50")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "AUTOHEAL.md"))
    args = parser.parse_args()
    engine = PrivateEngine("ah")
    rulebook = None
    try:
        engine.create_bridge()
        engine.start()
        engine.load_image(docker.from_env())
        client = docker.DockerClient(base_url=engine.host, version="1.41")
        workdir = pathlib.Path(tempfile.mkdtemp(prefix="autoheal-bench-"))
        rulebook = launch(workdir, docker_host=engine.host)
        wait_ready(rulebook, client, "ah-canary")
        crashes = [crash_to_running(client, rulebook, f"ah-crash-{n}") for n in range(args.runs)]
        print("crash to running, s:", [round(t, 2) for t in crashes], flush=True)
        unhealthy = [unhealthy_to_running(client, rulebook, f"ah-sick-{n}") for n in range(args.runs)]
        print("unhealthy to running, s:", [round(t, 2) for t in unhealthy], flush=True)
        bursts = {}
        for size in map(int, args.bursts.split(",")):
            bursts[size] = measure_burst(client, rulebook, size)
            print(f"burst of {size}:", bursts[size], flush=True)
        rulebook.stop()
        rulebook = None
        source = measure_source(engine, client, args.events) if args.events else None
    finally:
        if rulebook is not None:
            rulebook.stop()
        engine.close()
    load = os.getloadavg()
    lines = [
        "| measured | p50 or value | max |",
        "| --- | --- | --- |",
        *([f"| crash → running ({args.runs} runs) | {p50_max(crashes)} |",
           f"| unhealthy → running ({args.runs} runs) | {p50_max(unhealthy)} |"] if args.runs else []),
        *(f"| {size} simultaneous crashes → all running | {b['seconds']:.1f} s, {b['runs']} playbook "
          f"run{'' if b['runs'] == 1 else 's'} | "
          f"{b['peak_mib']:.0f} MiB (rulebook + playbooks, peak) |" for size, b in bursts.items()),
        *([f"| the source, idle (50 containers) | {source['idle_cpu_s_per_s'] * 100:.1f} % of a CPU | "
           f"{source['idle_mib']:.0f} MiB |",
           f"| the source, a burst of {args.events} events | {source['burst_cpu_s']:.2f} s of CPU over "
           f"{source['burst_s']:.1f} s | {source['burst_peak_mib']:.0f} MiB (peak) |"] if source else []),
    ]  # fmt: skip
    table = "\n".join(lines)
    with open(args.output, "w") as handle:
        handle.write(f"# Autoheal measured\n\nMeasured {time.strftime('%Y-%m-%d', time.gmtime())} by `make "
                     f"bench-autoheal` on {os.cpu_count()} CPUs (load average at the end {load[0]:.1f}); other load "
                     f"on the machine inflates every figure.\n\n{table}\n")  # fmt: skip
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
