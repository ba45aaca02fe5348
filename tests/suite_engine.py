"""The suite's own Docker engine: ``make test`` creates its containers there, never on the user's engine.

    python -m tests.suite_engine [--own] COMMAND [ARG...]

starts a private ``dockerd`` (its own socket, data root, exec root, bridge and address pool: ``PrivateEngine``,
whose containers may talk to each other as on a usual engine), runs COMMAND
with ``DOCKER_HOST`` pointing at it, then stops it and removes every trace, and exits with COMMAND's status. The
engine is empty: the Makefile's ``image`` target builds the test image into it. Run inside another such command
(``CONTAINEROPS_SUITE_ENGINE`` is that engine's address and ``DOCKER_HOST`` still points at it), it only runs
COMMAND there, so that ``make test`` starts one engine for all its steps; ``--own`` starts an engine of its own even
there, for steps that run beside others and must not share their containers' names (``make test``'s parallel lanes).
Needs root (dockerd, ``ip link``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import docker

from tests.integration.private_engine import PrivateEngine


def _say(message: str) -> None:
    print(f"suite engine: {message}", file=sys.stderr, flush=True)


def _answers(host: str) -> bool:
    try:
        with docker.APIClient(base_url=host, version="1.41", timeout=10) as client:
            return client.ping() is True
    except Exception:  # anything but an answer means no
        return False


def _terminate(signum, _frame) -> None:
    raise SystemExit(128 + signum)  # runs the ``finally`` that removes the engine


def main(command: list[str]) -> int:
    own = command[:1] == ["--own"]
    command = command[1:] if own else command
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    current = os.environ.get("CONTAINEROPS_SUITE_ENGINE")
    if not own and current and os.environ.get("DOCKER_HOST") == current and _answers(current):
        return subprocess.run(command).returncode
    if os.geteuid() != 0:
        _say(
            "ERROR: the suite runs its containers on an engine of its own, which needs root (it starts dockerd "
            "and creates a bridge); run it as root (sudo make test)."
        )
        return 1
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    # overlay2 where the host has it: a container's create, start and removal took 1.0 s instead of vfs's 1.65 s
    # (20 of them, on this 2-core machine under load); vfs where it has not (e.g. /tmp on overlayfs).
    engine = PrivateEngine("suite", networks=True, storage_driver="overlay2")
    try:
        engine.create_bridge()
        try:
            engine.start()
        except RuntimeError as refused:
            _say(f"overlay2 refused, vfs instead: {str(refused).splitlines()[-1]}")
            engine.storage_driver = "vfs"
            engine.start()
        _say(
            f"dockerd at {engine.host} ({engine.storage_driver}), bridge {engine.bridge}, networks in {engine.pool} "
            f"({time.monotonic() - started:.1f} s to start)"
        )
        env = dict(os.environ, DOCKER_HOST=engine.host, CONTAINEROPS_SUITE_ENGINE=engine.host)
        return subprocess.run(command, env=env).returncode
    finally:
        stopping = time.monotonic()
        engine.close()
        left = engine.leftovers()
        _say(f"stopped and removed ({time.monotonic() - stopping:.1f} s)" + (f"; LEFT BEHIND: {left}" if left else ""))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
