"""Several private Docker engines at once, for tests and benchmarks that need more than ``private_engine``'s one.

Each is a ``PrivateEngine`` (its own socket, ``--data-root``, ``--exec-root``, pidfile and bridge made with
``ip link add``; never ``--bridge none``), told apart by its bridge's name, with the test image loaded from the
main engine (``docker save | docker load``). Leaving the ``with`` block removes every trace of every engine.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import docker

from tests.integration.private_engine import PrivateEngine


class NumberedEngine(PrivateEngine):
    """A private engine whose bridge name carries its number, so several can live in one process."""

    def __init__(self, number: int) -> None:
        super().__init__()
        self.number = number
        self.bridge = f"ce{number}br{os.getpid() % 100000}"  # at most 15 characters, as Linux wants


@contextlib.contextmanager
def private_engines(count: int, main: docker.DockerClient) -> Iterator[list[NumberedEngine]]:
    """``count`` private engines, started one after the other (each bridge takes the next free subnet)."""
    if os.geteuid() != 0:
        raise PermissionError("private Docker engines need root (they run dockerd and create bridges)")
    engines: list[NumberedEngine] = []
    try:
        for number in range(count):
            engine = NumberedEngine(number)
            engines.append(engine)
            engine.create_bridge()
            engine.start()
            engine.load_image(main)
        yield engines
    finally:
        for engine in engines:
            engine.close()
