#!/usr/bin/env python3
"""The transport's cost: one engine reached through its unix socket, through ``ssh://`` and over mutual TLS.

One private Docker engine (tests/integration/private_engine.py) listens on its own unix socket and on
``tcp://127.0.0.1`` with ``--tlsverify`` (a private CA, server and client certificates made for the run); a
real sshd on 127.0.0.1 (tests/integration/sshd.py) hands ``docker system dial-stdio`` sessions to the same
socket. The same work is timed through each transport, in ONE run, and reported as a ratio to the unix
socket measured in that run:

  connect     building the backend (the SDK's client, the version check; for ssh the first ssh session)
  inspect     one container read, sequentially (a read per operation: the latency a wait pays per look)
  list        the engine's listing of every container
  stop+start  container_state over every container, stopped then started, ``parallel`` at a time, in one
              ansible-playbook run each (what a user's task costs, Ansible's own start-up included)

    python benchmarks/transports.py                      # prints the table; --output FILE writes it as markdown
    python benchmarks/transports.py --containers 20 --inspects 200 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable
from unittest import mock

import docker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, ".build", "pytest-tree"))

from ansible_collections.containerops.lifecycle.plugins.module_utils._docker import DockerBackend  # noqa: E402
from tests.certificates import Authority  # noqa: E402
from tests.integration.private_engine import PrivateEngine  # noqa: E402
from tests.integration.sshd import ssh_server  # noqa: E402

IMAGE = "containerops/busybox:test"
IDLE = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"]
PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - containerops.lifecycle.container_state: "{{ connection | combine({'name': names, 'state': state,
        'parallel': parallel}) }}"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(action: Callable[[], Any], rounds: int) -> float:
    """The median wall time of ``rounds`` runs of ``action``, in seconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def backend(connection: dict[str, Any]) -> DockerBackend:
    params = {"docker_host": None, "docker_context": None, "tls": None, "validate_certs": None, "ca_path": None,
              "client_cert": None, "client_key": None, "timeout": 60, "retries": 3, "parallel": 8, **connection}
    return DockerBackend.from_options(params, lambda secret: None)


def playbook(connection: dict[str, Any], names: list[str], state: str, parallel: int, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        play, variables = os.path.join(folder, "play.yml"), os.path.join(folder, "vars.json")
        with open(play, "w") as handle:
            handle.write(PLAY)
        with open(variables, "w") as handle:
            json.dump({"connection": connection, "names": names, "state": state, "parallel": parallel}, handle)
        run = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", play, "-e", f"@{variables}"],
                             capture_output=True, text=True, env=dict(os.environ, **env), timeout=600)
        if run.returncode != 0:
            raise RuntimeError(f"container_state {state} failed:\n{run.stdout[-3000:]}{run.stderr[-2000:]}")


def measure(name: str, connection: dict[str, Any], env: dict[str, str], names: list[str], args) -> dict[str, float]:
    with mock.patch.dict(os.environ, env):  # ssh's PATH: the module process would get it from the environment
        connect = timed(lambda: backend(connection).close(), args.rounds)
        engine = backend(connection)
        first = engine.inspect(names[0])
        inspect = timed(lambda: [engine.inspect(first.ref) for _ in range(args.inspects)], args.rounds) / args.inspects
        listing = timed(lambda: engine.list({}), args.rounds)
        engine.close()

    def cycle() -> None:
        playbook(connection, names, "stopped", args.parallel, env)
        playbook(connection, names, "started", args.parallel, env)

    return {"connect": connect, "inspect": inspect, "list": listing, "stop+start": timed(cycle, args.rounds)}


def table(results: dict[str, dict[str, float]], args) -> str:
    base = results["unix socket"]
    lines = [
        f"{args.containers} containers, {args.inspects} sequential inspects, parallel {args.parallel}, median of "
        f"{args.rounds} rounds; ratio = time / the unix socket's in this run",
        "",
        "| transport | connect | inspect (per read) | list | stop+start (2 playbook runs) |",
        "|---|---|---|---|---|",
    ]
    for name, row in results.items():
        cells = [
            f"{row[key] * (1000 if key != 'stop+start' else 1):.{1 if key != 'stop+start' else 2}f}"
            f"{' ms' if key != 'stop+start' else ' s'} (x{row[key] / base[key]:.2f})"
            for key in ("connect", "inspect", "list", "stop+start")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--containers", type=int, default=20)
    parser.add_argument("--inspects", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--output", help="also write the table to this markdown file")
    args = parser.parse_args()

    certificates = tempfile.mkdtemp(prefix="containerops-bench-tls-")
    authority = Authority(certificates)
    server = authority.issue("engine", sans=("IP:127.0.0.1",))
    client = authority.issue("client", client=True)
    port = free_port()
    engine = PrivateEngine("tbnch", listen=(
        "--host", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", authority.cert,
        "--tlscert", server.cert, "--tlskey", server.key,
    ))  # fmt: skip
    main_engine = docker.from_env()
    try:
        engine.create_bridge()
        engine.start()
        engine.load_image(main_engine)
        names = [f"tbench-{index}" for index in range(args.containers)]
        for name in names:
            engine.client.create_container(IMAGE, IDLE, name=name)
            engine.client.start(name)
        with ssh_server(engine.host) as ssh:
            transports = {
                "unix socket": ({"docker_host": engine.host}, {}),
                "ssh:// (system ssh)": ({"docker_host": ssh.engine}, ssh.env),
                "tcp:// mutual TLS": ({"docker_host": f"tcp://127.0.0.1:{port}", "tls": True, "validate_certs": True,
                                       "ca_path": authority.cert, "client_cert": client.cert,
                                       "client_key": client.key}, {}),
            }  # fmt: skip
            results = {name: measure(name, connection, env, names, args)
                       for name, (connection, env) in transports.items()}  # fmt: skip
        report = table(results, args)
        print(report)
        if args.output:
            with open(args.output, "w") as handle:
                handle.write("# Transports: unix socket, ssh:// and mutual TLS to one engine\n\n" + report)
    finally:
        engine.close()
        main_engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
