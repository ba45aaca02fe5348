#!/usr/bin/env python3
"""Fleet lifecycle benchmark: container_state against community.docker and the raw engine, in ONE run.

For every fleet size N and operation it times, on the same Docker engine:

  ours       one ``ansible-playbook`` process running ``containerops.lifecycle.container_state`` over N names
  community  one ``ansible-playbook`` process looping ``community.docker.docker_container`` over N names
             (installed from PyPI's ``ansible`` bundle into a separate venv; not a runtime dependency)
  floor      the same operations with the Docker SDK directly, in a thread pool, no Ansible
  hoody      ``container_state`` with ``backend: hoody`` against tests/servers/hoody.py, with no added
             latency and with ``--latency-ms`` added to every API call

and, on a Podman service of its own (``tests/integration/podman_service.py``; its own storage, never the user's):

  podman             ``container_state`` with ``backend: podman`` over the same N names
  podman floor       the same operations through libpod's REST API directly, in a thread pool, no Ansible
  podman collection  one ``ansible-playbook`` process looping ``containers.podman.podman_container`` over N names
                     (from the same ``ansible`` bundle; it has no pause, so pause and resume have no row)

Times are medians over ``--repeats`` (community.docker over ``--community-repeats``: it is slow). The
fixed cost of starting ``ansible-playbook`` with one task is measured too, so "ours - startup" can be
compared with the floor. Results are printed and written to ``--output`` as Markdown.

    make bench                               # all of it (about half an hour at the default sizes)
    make bench BENCH_ARGS='--sizes 10,50 --skip-community'
    make bench BENCH_ARGS='--skip-hoody --skip-docker'   # the Podman rows alone
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import docker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.integration.podman_service import STOP_TIMEOUT, PodmanService  # noqa: E402 - needs ROOT on sys.path
from tests.servers import hoody  # noqa: E402

IMAGE = "containerops/busybox:test"
GRACEFUL = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
PREFIX = "bench-"
PROJECT = "bbbbbbbbbbbbbbbbbbbbbbbb"
TOKEN = "hdy_benchmark_token"
PARALLEL = 16

# operation -> (status the fleet must be in first, our state, community.docker options, SDK call)
OPERATIONS = {
    "start": ("stopped", "started", {"state": "started"}),
    "noop": ("running", "started", {"state": "started"}),
    "pause": ("running", "paused", {"state": "started", "paused": True}),
    "resume": ("paused", "started", {"state": "started", "paused": False}),
    "restart": ("running", "restarted", {"state": "started", "restart": True}),
    "stop": ("running", "stopped", {"state": "stopped"}),
}


# operation -> the Podman collection's podman_container options (None: it cannot)
COLLECTION_OPTIONS = {
    "start": {"state": "started"},
    "noop": {"state": "started"},
    "pause": None,
    "resume": None,
    "restart": {"state": "started", "force_restart": True},
    "stop": {"state": "stopped"},
}
LIBPOD = "/v4.0.0/libpod"


def sdk_call(api: docker.APIClient, operation: str) -> Callable[[str], None]:
    def noop(name: str) -> None:
        if not api.inspect_container(name)["State"]["Running"]:
            api.start(name)

    return {
        "start": api.start,
        "noop": noop,
        "pause": api.pause,
        "resume": api.unpause,
        "restart": lambda name: api.restart(name, timeout=10),
        "stop": api.stop,
    }[operation]


def sdk_floor(api: docker.APIClient, operation: str, names: list[str]) -> Callable[[], None]:
    """The operation on every container with the SDK directly, PARALLEL at a time."""
    call = sdk_call(api, operation)

    def run() -> None:
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(call, names))

    return run


class UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


class Libpod:
    """libpod's REST API over the service's socket, one connection per thread: the Podman floor."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()

    def call(self, method: str, path: str) -> dict:
        if getattr(self.local, "connection", None) is None:
            self.local.connection = UnixConnection(self.path)
        self.local.connection.request(method, LIBPOD + path)
        answer = self.local.connection.getresponse()
        body = answer.read()
        if answer.status >= 400:
            raise RuntimeError(f"libpod answered {method} {path} with {answer.status}: {body[:300]!r}")
        return json.loads(body) if body else {}

    def operation(self, operation: str) -> Callable[[str], object]:
        def noop(name: str) -> None:
            if not self.call("GET", f"/containers/{name}/json")["State"]["Running"]:
                self.call("POST", f"/containers/{name}/start")

        return {
            "start": lambda name: self.call("POST", f"/containers/{name}/start"),
            "noop": noop,
            "pause": lambda name: self.call("POST", f"/containers/{name}/pause"),
            "resume": lambda name: self.call("POST", f"/containers/{name}/unpause"),
            "restart": lambda name: self.call("POST", f"/containers/{name}/restart?timeout=10"),
            "stop": lambda name: self.call("POST", f"/containers/{name}/stop"),
        }[operation]


def libpod_floor(libpod: Libpod, operation: str, names: list[str]) -> Callable[[], None]:
    """The operation on every container through libpod directly, PARALLEL at a time."""
    call = libpod.operation(operation)

    def run() -> None:
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(call, names))

    return run


class Fleet:
    """N benchmark containers on the engine, put into a given status before each measurement."""

    def __init__(self, api: docker.APIClient, size: int, stop_timeout: int | None = None) -> None:
        """``stop_timeout``: the containers' own (Podman's compatible API gives 0 where none is said)."""
        self.api = api
        self.names = [f"{PREFIX}{i:03d}" for i in range(size)]
        self.stop_timeout = stop_timeout

    def create(self) -> None:
        self.remove()
        for name in self.names:
            self.api.create_container(IMAGE, GRACEFUL, name=name, labels={"hoody.project": PROJECT},
                                      host_config=self.api.create_host_config(), stop_timeout=self.stop_timeout)

    def settle(self, status: str) -> None:
        def one(name: str) -> None:
            state = self.api.inspect_container(name)["State"]
            if state["Paused"] and status != "paused":
                self.api.unpause(name)
            if status == "stopped" and state["Running"]:
                self.api.stop(name)
            elif status in ("running", "paused") and not state["Running"]:
                self.api.start(name)
            if status == "paused" and not self.api.inspect_container(name)["State"]["Paused"]:
                self.api.pause(name)

        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(one, self.names))

    def remove(self) -> None:
        for container in self.api.containers(all=True, filters={"name": PREFIX}):
            self.api.remove_container(container["Id"], force=True)


def timed(action: Callable[[], object]) -> tuple[float, object]:
    """Wall-clock seconds of ``action`` and what it returned."""
    started = time.monotonic()
    returned = action()
    return time.monotonic() - started, returned


def playbook(ansible_playbook: str, tasks: str, env: dict[str, str]) -> Callable[[], float]:
    """A runnable ``ansible-playbook`` process; it returns the module's own ``elapsed`` when it reports one."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks)
    env = dict(env, ANSIBLE_STDOUT_CALLBACK="minimal")

    def run() -> float:
        process = subprocess.run([ansible_playbook, "-i", "localhost,", "-c", "local", handle.name],
                                 capture_output=True, text=True, env=env)
        if process.returncode != 0:
            raise RuntimeError(f"ansible-playbook failed:\n{process.stdout[-3000:]}\n{process.stderr[-2000:]}")
        found = re.search(r'"elapsed": ([0-9.]+)', process.stdout)
        return float(found.group(1)) if found else float("nan")

    return run


def ours_task(names: list[str], state: str, connection: dict) -> str:
    return ("    - containerops.lifecycle.container_state:\n"
            f"        name: {json.dumps(names)}\n        state: {state}\n        parallel: {PARALLEL}\n"
            + "".join(f"        {key}: {json.dumps(value)}\n" for key, value in connection.items()))


def community_task(names: list[str], options: dict) -> str:
    return ("    - community.docker.docker_container:\n        name: \"{{ item }}\"\n"
            "        comparisons: {'*': ignore}\n"
            + "".join(f"        {key}: {json.dumps(value)}\n" for key, value in options.items())
            + f"      loop: {json.dumps(names)}\n")


def collection_task(names: list[str], options: dict, environment: dict[str, str]) -> str:
    """podman_container over ``names``, as created (image, command, labels: nothing to recreate), on the service's
    storage (``environment``: its containers.conf and storage.conf)."""
    return ("    - containers.podman.podman_container:\n        name: \"{{ item }}\"\n"
            f"        image: {IMAGE}\n        command: {json.dumps(GRACEFUL)}\n"
            f"        labels: {json.dumps({'hoody.project': PROJECT})}\n"
            + "".join(f"        {key}: {json.dumps(value)}\n" for key, value in options.items())
            + f"      loop: {json.dumps(names)}\n      environment: {json.dumps(environment)}\n")


def ensure_community_venv(path: str) -> str:
    """A separate venv with PyPI's ``ansible`` bundle (community.docker inside); returns its ansible-playbook."""
    binary = os.path.join(path, "bin", "ansible-playbook")
    if not os.path.exists(binary):
        print(f"installing the ansible bundle (community.docker) into {path} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", path], check=True)
        subprocess.run([os.path.join(path, "bin", "pip"), "install", "-q", "ansible>=11,<13", "requests"], check=True)
    return binary


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,50,100")
    parser.add_argument("--operations", default=",".join(OPERATIONS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--community-repeats", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--skip-community", action="store_true")
    parser.add_argument("--skip-hoody", action="store_true")
    parser.add_argument("--skip-podman", action="store_true")
    parser.add_argument("--skip-docker", action="store_true", help="no Docker rows (nor community.docker, nor hoody)")
    parser.add_argument("--community-venv", default=os.path.join(ROOT, ".build", "bench-community-venv"))
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "RESULTS.md"))
    args = parser.parse_args()

    sizes = [int(size) for size in args.sizes.split(",")]
    operations = args.operations.split(",")
    env = dict(os.environ)
    ours_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    community_playbook = None if args.skip_community else ensure_community_venv(args.community_venv)
    community_env = {key: value for key, value in env.items() if key != "ANSIBLE_COLLECTIONS_PATH"}
    community_env["ANSIBLE_PYTHON_INTERPRETER"] = os.path.join(args.community_venv, "bin", "python")
    api = docker.APIClient(version="auto", max_pool_size=PARALLEL + 2)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per API call would bury the table
    server = None if args.skip_hoody else hoody.start_server(token=TOKEN, accept_delay=0.0)
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))  # the finally removes what it made
    podman = None
    if not args.skip_podman:
        podman = PodmanService("bench")
        podman.start()
        podman.load_image(docker.DockerClient(version="auto"))

    startup = median([timed(playbook(ours_playbook, "    - ansible.builtin.ping:\n", env))[0]
                      for _ in range(args.repeats)])
    print(f"ansible-playbook with one trivial module task (ping): {startup:.2f} s", flush=True)
    rows = []
    try:
        for size in sizes:
            if not args.skip_docker:
                fleet = Fleet(api, size)
                fleet.create()
                for operation in operations:
                    before, state, community_options = OPERATIONS[operation]
                    row = {"n": size, "operation": operation}
                    measurements = [
                        ("ours", args.repeats, playbook(ours_playbook, ours_task(fleet.names, state, {}), env)),
                        ("floor", args.repeats, sdk_floor(api, operation, fleet.names)),
                    ]
                    if community_playbook:
                        measurements.append(("community", args.community_repeats, playbook(
                            community_playbook, community_task(fleet.names, community_options), community_env)))
                    if server:
                        connection = {"backend": "hoody", "api_url": server.url, "api_token": TOKEN,
                                      "poll_interval": 0.05}
                        run_hoody = playbook(ours_playbook, ours_task(fleet.names, state, connection), env)
                        measurements.append(("hoody", args.repeats, run_hoody))
                        measurements.append(("hoody_latency", args.repeats, run_hoody))
                    for label, repeats, action in measurements:
                        if server:
                            server.admin("faults", {"delay_ms": args.latency_ms if label == "hoody_latency" else 0})
                        samples, module_times = [], []
                        for _ in range(repeats):
                            fleet.settle(before)
                            seconds, module_time = timed(action)
                            samples.append(seconds)
                            module_times.append(module_time)
                        row[label] = median(samples)
                        if label == "ours":
                            row["ours_module"] = median(module_times)
                    rows.append(row)
                    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}),
                          flush=True)
                fleet.remove()
            if podman:
                rows += podman_rows(podman, size, operations, args, ours_playbook, env, community_playbook,
                                    community_env)
    finally:
        if server:
            server.stop()
        if podman:
            podman.close()
    table = render(rows, startup, args, kept_sections(args.output))
    print(table)
    with open(args.output, "w") as handle:
        handle.write(table)


def podman_rows(podman: PodmanService, size: int, operations: list[str], args: argparse.Namespace,
                ours_playbook: str, env: dict[str, str], collection_playbook: str | None,
                collection_env: dict[str, str]) -> list[dict]:
    """The Podman rows of one fleet size: ours, the libpod floor and the Podman collection."""
    fleet = Fleet(podman.client.api, size, STOP_TIMEOUT)
    fleet.create()
    libpod = Libpod(podman.socket)
    connection = {"backend": "podman", "podman_host": podman.host}
    storage = {"CONTAINERS_CONF": podman.conf, "CONTAINERS_STORAGE_CONF": podman.storage_conf}
    rows = []
    try:
        for operation in operations:
            before, state, _community = OPERATIONS[operation]
            row = {"n": size, "operation": operation, "engine": "podman"}
            measurements = [
                ("ours", args.repeats, playbook(ours_playbook, ours_task(fleet.names, state, connection), env)),
                ("floor", args.repeats, libpod_floor(libpod, operation, fleet.names)),
            ]
            options = COLLECTION_OPTIONS[operation]
            if collection_playbook and options is not None:
                measurements.append(("community", args.community_repeats, playbook(
                    collection_playbook, collection_task(fleet.names, options, storage), collection_env)))
            for label, repeats, action in measurements:
                samples, module_times = [], []
                for _ in range(repeats):
                    fleet.settle(before)
                    seconds, module_time = timed(action)
                    samples.append(seconds)
                    module_times.append(module_time)
                row[label] = median(samples)
                if label == "ours":
                    row["ours_module"] = median(module_times)
            rows.append(row)
            print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    finally:
        fleet.remove()
    return rows


PODMAN_HEADING = "## Podman"


def kept_sections(path: str) -> tuple[str, str]:
    """The Docker part and the Podman part of the results ``path`` holds (empty when it holds none): a run that
    skips one engine keeps what was measured on it before."""
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        return "", ""
    docker_part, _, podman_part = text.partition("\n" + PODMAN_HEADING + "\n")
    return docker_part.rstrip("\n") + "\n", (PODMAN_HEADING + "\n" + podman_part) if podman_part else ""


def render(rows: list[dict], startup: float, args: argparse.Namespace, kept: tuple[str, str] = ("", "")) -> str:
    """The results as Markdown: the Docker table, then the Podman one; an engine this run skipped keeps its part of
    ``kept`` (``kept_sections``)."""
    docker_part = kept[0] if args.skip_docker and kept[0] else render_docker(rows, startup, args)
    podman = [row for row in rows if row.get("engine") == "podman"]
    podman_part = render_podman(podman, startup, args) if podman else kept[1]
    return docker_part + ("\n" + podman_part if podman_part else "")


def render_docker(rows: list[dict], startup: float, args: argparse.Namespace) -> str:
    lines = [
        "# Fleet lifecycle benchmark",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on one machine ({os.cpu_count()} cores), one Docker engine, in one run "
        f"(`benchmarks/run.py --sizes {args.sizes} --repeats {args.repeats} --community-repeats "
        f"{args.community_repeats}`). Seconds are medians of whole `ansible-playbook` processes (the floor: "
        f"the SDK in a thread pool, no Ansible); `parallel: {PARALLEL}` for ours and the floor. One trivial "
        f"module task (`ping`) costs {startup:.2f} s: that is the fixed start-up cost. \"module\" is "
        f"container_state's own `elapsed`. Hoody: the test server on 127.0.0.1, plain and with "
        f"{args.latency_ms} ms added to every API call.",
        "",
        "| N | operation | ours s | module s | community.docker s | floor s | ours / community | "
        "ours / (floor + start-up) | hoody s | hoody +latency s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.get("engine") == "podman":
            continue
        ours, floor, community = row["ours"], row["floor"], row.get("community", float("nan"))
        lines.append(
            f"| {row['n']} | {row['operation']} | {ours:.2f} | {row.get('ours_module', float('nan')):.2f} | "
            f"{community:.2f} | {floor:.2f} | {ours / community:.3f} | {ours / (floor + startup):.2f} | "
            f"{row.get('hoody', float('nan')):.2f} | {row.get('hoody_latency', float('nan')):.2f} |"
        )
    return "\n".join(lines) + "\n"


def render_podman(podman: list[dict], startup: float, args: argparse.Namespace) -> str:
    lines = [
        PODMAN_HEADING,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} in one run (`benchmarks/run.py --sizes {args.sizes} --repeats "
        f"{args.repeats} --community-repeats {args.community_repeats}`), start-up {startup:.2f} s. Podman 4.3 "
        "(`podman system service`, rootful, a service and storage of the benchmark's own): ours is "
        "container_state with `backend: podman`; the floor, the same calls to libpod's REST API in a thread pool "
        f"(`parallel: {PARALLEL}`), no Ansible; containers.podman, `podman_container` in a loop (it runs the "
        "podman CLI once or more per container; it has no pause, hence no row for pause and resume). The "
        "containers' StopTimeout is 10 s and they end on SIGTERM, as in the Docker table.",
        "",
        "| N | operation | ours s | module s | containers.podman s | libpod floor s | ours / containers.podman | "
        "ours / (floor + start-up) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in podman:
        ours, floor, collection = row["ours"], row["floor"], row.get("community", float("nan"))
        lines.append(
            f"| {row['n']} | {row['operation']} | {ours:.2f} | {row.get('ours_module', float('nan')):.2f} | "
            f"{collection:.2f} | {floor:.2f} | {ours / collection:.3f} | {ours / (floor + startup):.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
