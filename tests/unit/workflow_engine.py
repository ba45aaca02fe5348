# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine the workflow modules' unit tests drive: the shared fake with one container, ``app``, and what the
modules use of ``LifecycleModule``. Used by ``plugins/modules/test_container_{snapshot,alias,config}.py`` and
``plugins/module_utils/test_pipeline.py``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import ContainerNotFound
from tests.unit.fake_backend import FakeBackend

PRE = {"name": "snap/pre:old", "alias": "pre", "container": "app", "private": {"image_id": "sha256:old"}}


class Engine(FakeBackend):
    """The shared fake holding one container, ``app``, with snapshots, settings and alias holders; ``asked`` holds
    every call the module makes of it."""

    def __init__(self, status: str = "running", snapshots=(), holders=(), config=None) -> None:
        super().__init__()
        self.state = ContainerState("c1", "app", status, status)
        self.snapshots.stored = list(snapshots)
        self.aliases.held = list(holders)
        self.settings.config = dict(config or {"autostart": False, "environment_vars": {}})

    @property
    def state(self) -> ContainerState:
        """The container ``app`` as the engine holds it (``absent``: it holds none)."""
        return self.look_up("app")

    @state.setter
    def state(self, state: ContainerState) -> None:
        self.containers = [] if state.status == "absent" else [state]

    def inspect(self, ref):
        self.asked.append(("inspect", ref))
        return super().inspect(ref)

    def writes(self) -> list[str]:
        return [call for call, _ in self.asked if call in ("take", "delete", "restore", "point", "update")]


def wait_while_paused(backend: Engine, container: ContainerState, timeout: float) -> tuple[ContainerState, float]:
    """``_pipeline.wait_while_paused`` for these tests: another task's snapshot ends the pause during the wait when
    the engine's ``resumed_by_others`` is set."""
    backend.asked.append(("wait_while_paused", timeout))
    if getattr(backend, "resumed_by_others", False):
        backend.state = ContainerState("c1", "app", "running", "running")
    return backend.state, 1.0 if backend.state.status == "running" else timeout


def lifecycle(engine: Engine, check_mode: bool = False, diff: bool = False, **params: Any) -> SimpleNamespace:
    """What the modules use of ``LifecycleModule``."""

    def the_container(must_exist: bool = True) -> ContainerState:
        if must_exist and engine.state.status == "absent":
            raise ContainerNotFound(params["name"])
        return engine.state

    return SimpleNamespace(
        params=params,
        backend=engine,
        backend_class=engine,
        module=SimpleNamespace(check_mode=check_mode, _diff=diff),
        the_container=the_container,
        select_targets=lambda: [engine.state],
    )
