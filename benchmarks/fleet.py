#!/usr/bin/env python3
"""Fleets across engines: playbooks/fleet.yml over 1 engine x 300 containers against 3 engines x 100, in ONE run.

Three private Docker engines (tests/integration/engines.py: each its own dockerd, socket, data-root, exec-root,
pidfile and bridge; the test image loaded into each) are started for the run and removed after it, so the
main engine and its containers are never touched. On them it times, once each:

  ours   one ``ansible-playbook playbooks/fleet.yml`` process: one container_state task per engine, the engines
         in parallel through forks, ``fleet_parallel`` containers at a time on each engine
  floor  the same operations with the Docker SDK directly, a thread pool of the same size per engine, all
         engines at once, no Ansible

for start, stop, and a no-op (every container already running) of 300 containers as 1 engine x 300 and as
3 engines x 100; and the peak memory (maximum resident set size) of the module process, through an interpreter
wrapper that records it, at 300 and 1000 containers on one engine, against a ``ping`` module's.

    make bench-fleet                                 # writes benchmarks/FLEET.md
    python benchmarks/fleet.py --output /tmp/fleet.md --sizes 30,100 --engines 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import docker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.integration.engines import NumberedEngine, private_engines  # noqa: E402 - needs ROOT on sys.path

IMAGE = "containerops/busybox:test"
# Idle until SIGTERM, then exit at once: nothing is spawned while it runs, so 1000 of them leave the CPU alone
# (a ``while sleep 0.2`` loop in each would fork 5000 processes a second and measure the machine's load instead).
IDLE = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"]
LABEL = "containerops.bench=fleet"
PARALLEL = 16
FLEET = os.path.join(ROOT, "playbooks", "fleet.yml")
REPORTED = re.compile(r"(\w+): \w+ .*?\((\d+) container\(s\) in ([0-9.]+)s\)")
# Records the peak RSS of the interpreter's child (the module process) for every module Ansible runs with it.
WRAPPER = """#!{python}
import json, resource, subprocess, sys
code = subprocess.call([{python!r}, *sys.argv[1:]])
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open({log!r}, "a") as log:
    log.write(json.dumps({{"module": " ".join(sys.argv[1:]), "peak_kb": peak_kb}}) + "\\n")
sys.exit(code)
"""


def names(engine: int, count: int, first: int = 0) -> list[str]:
    return [f"fleet-{engine}-{index:04d}" for index in range(first, first + count)]


def create(api: docker.APIClient, wanted: list[str]) -> None:
    """Stopped containers of the benchmark's label, no network (cheaper to start, nothing to clean up)."""

    def one(name: str) -> None:
        api.create_container(IMAGE, IDLE, name=name, labels={"containerops.bench": "fleet"},
                             host_config=api.create_host_config(network_mode="none"))  # fmt: skip

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, wanted))


def remove(api: docker.APIClient, doomed: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda name: api.remove_container(name, force=True), doomed))


def floor(apis: list[docker.APIClient], operation: str) -> float:
    """Seconds for ``operation`` on every labelled container of every engine: the SDK, engines at once."""

    def engine(api: docker.APIClient) -> None:
        ids = [c["Id"] for c in api.containers(all=True, filters={"label": LABEL})]
        call: Callable[[str], Any] = api.start if operation == "start" else api.stop
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(call, ids))

    started = time.monotonic()
    with ThreadPoolExecutor(len(apis)) as pool:
        list(pool.map(engine, apis))
    return time.monotonic() - started


class Ours:
    """``ansible-playbook playbooks/fleet.yml`` over some engines, with the module processes' memory recorded."""

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.memory_log = os.path.join(workdir, "memory.jsonl")
        self.interpreter = os.path.join(workdir, "python")
        with open(self.interpreter, "w") as handle:
            handle.write(WRAPPER.format(python=sys.executable, log=self.memory_log))
        os.chmod(self.interpreter, 0o755)
        self.ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

    def inventory(self, engines: list[NumberedEngine]) -> str:
        path = os.path.join(self.workdir, f"engines-{len(engines)}.yml")
        hosts = {f"e{engine.number}": {"containerops_connection": {"docker_host": engine.host}} for engine in engines}
        with open(path, "w") as handle:
            json.dump({"containerops_engines": {"hosts": hosts}}, handle)
        return path

    def peaks(self) -> list[float]:
        """Peak RSS in MB of each module process since the last call."""
        if not os.path.exists(self.memory_log):
            return []
        with open(self.memory_log) as handle:
            found = [json.loads(line)["peak_kb"] / 1024 for line in handle]
        os.unlink(self.memory_log)
        return found

    def run(self, engines: list[NumberedEngine], state: str) -> dict[str, Any]:
        """One fleet.yml run: wall seconds, each engine's module seconds, the module processes' peak MB."""
        self.peaks()
        extra = {"fleet_state": state, "fleet_filters": {"label": [LABEL]}, "fleet_parallel": PARALLEL,
                 "ansible_python_interpreter": self.interpreter}  # fmt: skip
        started = time.monotonic()
        process = subprocess.run(
            [self.ansible_playbook, "-i", self.inventory(engines), FLEET, "-e", json.dumps(extra)],
            capture_output=True, text=True,
        )  # fmt: skip
        wall = time.monotonic() - started
        if process.returncode != 0:
            raise RuntimeError(f"fleet.yml failed:\n{process.stdout[-3000:]}\n{process.stderr[-2000:]}")
        reported = {engine: (int(count), float(seconds)) for engine, count, seconds in REPORTED.findall(process.stdout)}
        counted = sum(count for count, _seconds in reported.values())
        if len(reported) != len(engines):
            raise RuntimeError(f"expected {len(engines)} engine report(s), got {reported}:\n{process.stdout[-3000:]}")
        return {"wall": wall, "module": max(seconds for _count, seconds in reported.values()), "containers": counted,
                "peak_mb": self.peaks()}  # fmt: skip

    def ping_peak(self, engine: NumberedEngine) -> float:
        """Peak RSS in MB of the smallest module there is (``ping``), run the same way."""
        self.peaks()
        playbook = os.path.join(self.workdir, "ping.yml")
        with open(playbook, "w") as handle:
            handle.write("- hosts: containerops_engines\n  connection: local\n  gather_facts: false\n"
                         "  tasks:\n    - ansible.builtin.ping:\n")  # fmt: skip
        subprocess.run([self.ansible_playbook, "-i", self.inventory([engine]), playbook,
                        "-e", f"ansible_python_interpreter={self.interpreter}"], check=True, capture_output=True)
        return max(self.peaks())


def measure_fleet(ours: Ours, engines: list[NumberedEngine], apis: list[docker.APIClient], label: str,
                  rows: list[dict[str, Any]]) -> None:  # fmt: skip
    """start, no-op, stop through fleet.yml, then start and stop with the SDK; the fleet ends stopped."""
    for operation, state in (("start", "started"), ("noop", "started"), ("stop", "stopped")):
        result = ours.run(engines, state)
        rows.append(dict(result, fleet=label, operation=operation))
        print(f"{label} {operation}: ours {result['wall']:.2f} s (module {result['module']:.2f} s, "
              f"{result['containers']} containers, peak {max(result['peak_mb']):.0f} MB)", flush=True)  # fmt: skip
    for operation in ("start", "stop"):
        seconds = floor(apis, operation)
        row = next(r for r in rows if r["fleet"] == label and r["operation"] == operation)
        row["floor"] = seconds
        print(f"{label} {operation}: floor {seconds:.2f} s", flush=True)


def table(rows: list[dict[str, Any]], memory: list[tuple[str, str, float, float]], ping_mb: float) -> str:
    lines = [
        "| fleet | operation | ours s | module s | floor s | ours / floor | module / floor |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        floor_s = row.get("floor")
        compared = (f"{floor_s:.2f} | {row['wall'] / floor_s:.2f} | {row['module'] / floor_s:.2f}" if floor_s
                    else "— | — | —")  # fmt: skip
        lines.append(f"| {row['fleet']} | {row['operation']} | {row['wall']:.2f} | {row['module']:.2f} | {compared} |")
    by = {(row["fleet"], row["operation"]): row for row in rows}
    fleets = list(dict.fromkeys(row["fleet"] for row in rows))
    if len(fleets) == 2:
        one, many = fleets
        lines += ["", f"| {many} ÷ {one} | ours | module | floor |", "|---|---|---|---|"]
        for operation in ("start", "stop"):
            a, b = by[(one, operation)], by[(many, operation)]
            lines.append(f"| {operation} | {b['wall'] / a['wall']:.2f} | {b['module'] / a['module']:.2f} | "
                         f"{b['floor'] / a['floor']:.2f} |")  # fmt: skip
    lines += ["", "| containers on one engine | operation | module s | module process peak RSS MB |",
              "|---|---|---|---|"]
    lines.append(f"| — | `ping` (the smallest module) | — | {ping_mb:.0f} |")
    for size, operation, seconds, peak in memory:
        lines.append(f"| {size} | {operation} | {seconds:.2f} | {peak:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="300,1000",
                        help="containers in the fleet, then on one engine for the memory peak (default 300,1000)")
    parser.add_argument("--engines", type=int, default=3, help="engines the fleet is spread over (default 3)")
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "FLEET.md"))
    args = parser.parse_args()
    # A TERM (or an INT, which a background job ignores) unwinds the run, so the private engines are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("benchmarks/fleet.py: terminated"))
    fleet_size, big = (int(size) for size in args.sizes.split(","))
    share = fleet_size // args.engines
    main_engine = docker.from_env()
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    memory: list[tuple[str, str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as workdir, \
            private_engines(args.engines, main_engine) as engines:  # fmt: skip
        apis = [docker.APIClient(base_url=engine.host, version="auto", timeout=600) for engine in engines]
        ours = Ours(workdir)
        print(f"{args.engines} private engines up in {time.monotonic() - started:.0f} s", flush=True)

        one = f"1 engine x {fleet_size}"
        create(apis[0], names(0, fleet_size))
        measure_fleet(ours, engines[:1], apis[:1], one, rows)
        for row in rows:
            if row["operation"] in ("start", "stop"):
                memory.append((str(fleet_size), row["operation"], row["module"], max(row["peak_mb"])))

        spread = f"{args.engines} engines x {share}"
        remove(apis[0], names(0, fleet_size - share, first=share))
        for number in range(1, args.engines):
            create(apis[number], names(number, share))
        measure_fleet(ours, engines, apis, spread, rows)

        create(apis[0], names(0, big - share, first=share))
        for operation, state in (("start", "started"), ("stop", "stopped")):
            result = ours.run(engines[:1], state)
            memory.append((str(big), operation, result["module"], max(result["peak_mb"])))
            print(f"{big} on one engine {operation}: module {result['module']:.2f} s, "
                  f"peak {max(result['peak_mb']):.0f} MB", flush=True)  # fmt: skip
        ping_mb = ours.ping_peak(engines[0])
        for api in apis:
            api.close()
    main_engine.close()

    markdown = table(rows, memory, ping_mb)
    command = "python benchmarks/fleet.py " + " ".join(sys.argv[1:])
    header = (
        f"# Fleets across engines\n\nMeasured {time.strftime('%Y-%m-%d', time.gmtime())} by `{command.strip()}` "
        f"(`make bench-fleet`), one run, {os.cpu_count()} cores, {args.engines} private Docker engines on this "
        f"machine; fleet.yml and the floor work on {PARALLEL} containers at a time per engine. The whole run took "
        f"{time.monotonic() - started:.0f} s; the load average (1 min) was {load_before:.1f} before it and "
        f"{os.getloadavg()[0]:.1f} after it (other work shares the machine).\n\n"
    )
    print("\n" + markdown)
    with open(args.output, "w") as handle:
        handle.write(header + markdown + "\n")


if __name__ == "__main__":
    main()
