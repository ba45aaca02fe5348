"""A real OpenSSH server on 127.0.0.1 in front of the suite's engine, for ``docker_host: ssh://``.

``ssh_server`` (and the session-scoped fixture ``ssh_hosts`` around it) starts two ``sshd`` processes with
their own host key, authorized key and config under one temporary directory: one whose sessions reach an
engine (``DOCKER_HOST`` passed on with ``SetEnv``), one whose sessions find no ``docker`` on their PATH. The
client side is a config file of Host aliases (the way users name their machines) that an ``ssh`` wrapper
first on PATH hands to the
system's ssh with ``-F``: the modules run the ``ssh`` they find, as the docker CLI does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Iterator

import pytest

SSHD = "/usr/sbin/sshd"


@dataclass
class SshHosts:
    """The ssh side of the tests: ``env`` puts the ssh wrapper first on PATH; each alias is an ssh:// host."""

    env: dict[str, str]
    engine: str = "ssh://engine-ssh"
    unknown_host_key: str = "ssh://engine-ssh-unknown-key"
    wrong_key: str = "ssh://engine-ssh-wrong-key"
    no_docker: str = "ssh://engine-ssh-no-docker"
    refused: str = "ssh://engine-ssh-refused"
    #: The engine through a key only an ssh-agent holds (as a job's Machine credential): ``client_key`` is that key.
    agent: str = "ssh://engine-ssh-agent"
    client_key: str = ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _keygen(path: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    with open(path + ".pub") as handle:
        return handle.read().strip()


def _start_sshd(folder: str, name: str, port: int, host_key: str, set_env: str) -> subprocess.Popen:
    config = os.path.join(folder, f"{name}.conf")
    with open(config, "w") as handle:
        handle.write(
            f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\n"
            f"AuthorizedKeysFile {folder}/authorized_keys\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n"
            f"PidFile {folder}/{name}.pid\nSetEnv {set_env}\n"
        )
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
    process = subprocess.Popen([SSHD, "-D", "-f", config, "-E", os.path.join(folder, f"{name}.log")])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"sshd {name} did not listen on 127.0.0.1:{port}")


@contextlib.contextmanager
def ssh_server(docker_host: str) -> Iterator[SshHosts]:
    """The sshd pair and the client side, whose sessions reach the engine at ``docker_host``."""
    if not os.access(SSHD, os.X_OK) or shutil.which("ssh") is None:
        raise RuntimeError("openssh-server and openssh-client are needed (make test installs them as root)")
    folder = tempfile.mkdtemp(prefix="containerops-sshd-")
    host_key, client_key, other_key = (os.path.join(folder, name) for name in ("host_key", "client", "other"))
    host_public = _keygen(host_key).split()
    with open(os.path.join(folder, "authorized_keys"), "w") as handle:
        handle.write(_keygen(client_key) + "\n")
    _keygen(other_key)
    engine_port, bare_port, closed_port = _free_port(), _free_port(), _free_port()
    servers = [
        _start_sshd(folder, "engine", engine_port, host_key, f"DOCKER_HOST={docker_host}"),
        _start_sshd(folder, "no-docker", bare_port, host_key, "PATH=/nonexistent"),
    ]
    known_hosts = os.path.join(folder, "known_hosts")
    with open(known_hosts, "w") as handle:
        for port in (engine_port, bare_port):
            handle.write(f"[127.0.0.1]:{port} {host_public[0]} {host_public[1]}\n")
    open(os.path.join(folder, "empty_known_hosts"), "w").close()
    hosts = {
        "engine-ssh": (engine_port, client_key, known_hosts),
        "engine-ssh-unknown-key": (engine_port, client_key, os.path.join(folder, "empty_known_hosts")),
        "engine-ssh-wrong-key": (engine_port, other_key, known_hosts),
        "engine-ssh-no-docker": (bare_port, client_key, known_hosts),
        "engine-ssh-refused": (closed_port, client_key, known_hosts),
        "engine-ssh-agent": (engine_port, None, known_hosts),
    }
    config = os.path.join(folder, "ssh_config")
    with open(config, "w") as handle:
        for alias, (port, key, known) in hosts.items():
            # An alias without a key of its own gets the agent's keys (SSH_AUTH_SOCK) and ssh's default files only.
            identity = f"  IdentityFile {key}\n  IdentitiesOnly yes\n  IdentityAgent none\n" if key else ""
            handle.write(
                f"Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n"
                f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n{identity}"
            )
    bin_folder = os.path.join(folder, "bin")
    os.makedirs(bin_folder)
    wrapper = os.path.join(bin_folder, "ssh")
    with open(wrapper, "w") as handle:
        handle.write(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {config} "$@"\n')
    os.chmod(wrapper, 0o755)
    try:
        yield SshHosts(env={"PATH": f"{bin_folder}:{os.environ['PATH']}"}, client_key=client_key)
    finally:
        for process in servers:
            process.send_signal(signal.SIGTERM)
            process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def ssh_hosts() -> Iterator[SshHosts]:
    """``ssh_server`` in front of the suite's engine (``DOCKER_HOST``, else the default socket)."""
    if not os.access(SSHD, os.X_OK) or shutil.which("ssh") is None:
        pytest.fail("the ssh tests need openssh-server and openssh-client (make test installs them as root)")
    with ssh_server(os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock") as hosts:
        yield hosts
