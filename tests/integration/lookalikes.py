"""Containers that look like the ones the examples and the demo work on, and that they must leave alone.

A user's engine holds containers of its own labelled ``tier=web``, ``tier=batch`` or ``app=api``, running,
paused or never started. ``LookAlikes`` creates such containers (named ``<value>-lookalike-<status>``, so a
name glob like ``web-*`` would catch them too) and reads what the engine says of each: a test compares their
status, ``State.StartedAt`` and ``State.FinishedAt`` before and after what it runs, and looks for their names in
what it got back.
"""

from __future__ import annotations

import contextlib

import docker
import pytest

LABELS = ("tier=web", "tier=batch", "app=api")
STATUSES = ("running", "paused", "created")
# Lets a later run remove what an interrupted one left; nothing the examples or the demo select by.
MARK = ("containerops.test", "lookalike")


class LookAlikes:
    def __init__(self, client: docker.DockerClient, image: str, command: list[str]):
        self.client = client
        self.image = image
        self.command = command
        self.names: list[str] = []

    def create(self) -> None:
        for label in LABELS:
            key, value = label.split("=")
            for status in STATUSES:
                name = f"{value}-lookalike-{status}"
                self._clear(name)
                container = self.client.containers.create(self.image, self.command, name=name,
                                                          labels={key: value, MARK[0]: MARK[1]})
                self.names.append(name)
                if status in ("running", "paused"):
                    container.start()
                if status == "paused":
                    container.pause()

    def _clear(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            container = self.client.containers.get(name)
            if container.labels.get(MARK[0]) != MARK[1]:
                pytest.fail(f"a container named {name!r} exists that this test did not create: not touching it")
            container.remove(force=True)

    def states(self) -> dict[str, tuple[str, str, str]]:
        """Each look-alike's (status, State.StartedAt, State.FinishedAt), or ('absent', '', '')."""
        states = {}
        for name in self.names:
            try:
                state = self.client.containers.get(name).attrs["State"]
            except docker.errors.NotFound:
                states[name] = ("absent", "", "")
            else:
                states[name] = (state["Status"], state["StartedAt"], state["FinishedAt"])
        return states

    def named_in(self, text: str) -> list[str]:
        """The look-alikes ``text`` (a result, a playbook's output) names."""
        return [name for name in self.names if name in text]

    def remove(self) -> None:
        for name in self.names:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.containers.get(name).remove(force=True)
