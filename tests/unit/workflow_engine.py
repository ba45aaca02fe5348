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
    """The shared fake holding one container, ``app``, with snapshots, settings and alias holders; it records
    every call the module makes."""

    snapshots_outlive_container = True
    config_settings = ("autostart", "environment_vars")
    settings_needing_restart = ("environment_vars",)

    def __init__(self, status: str = "running", snapshots=(), holders=(), config=None) -> None:
        super().__init__()
        self.state = ContainerState("c1", "app", status, status)
        self.stored = list(snapshots)
        self.holders = list(holders)
        self.config = dict(config or {"autostart": False, "environment_vars": {}})
        self.restored_from: str | None = None
        self.calls: list[tuple[str, Any]] = []  # type: ignore[assignment]  # (call, what it was given)

    @property
    def state(self) -> ContainerState:
        """The container ``app`` as the engine holds it (``absent``: it holds none)."""
        return self.look_up("app")

    @state.setter
    def state(self, state: ContainerState) -> None:
        self.containers = [] if state.status == "absent" else [state]

    def inspect(self, ref):
        self.calls.append(("inspect", ref))
        return super().inspect(ref)

    def wait_while_paused(self, container, timeout):
        """Another task's snapshot ends its pause during the wait when ``resumed_by_others`` is set."""
        self.calls.append(("wait_while_paused", timeout))
        if getattr(self, "resumed_by_others", False):
            self.state = ContainerState("c1", "app", "running", "running")
        return self.state, 1.0 if self.state.status == "running" else timeout

    def snapshots(self, container):
        return list(self.stored)

    def is_restored_from(self, container, snapshot):
        return snapshot["name"] == self.restored_from

    def create_snapshot(self, container, alias):
        self.calls.append(("create", alias))
        new = {"name": f"snap/{alias}:new", "alias": alias, "container": "app", "private": {"image_id": "sha256:new"}}
        self.stored.append(new)
        return new

    def delete_snapshot(self, container, snapshot):
        self.calls.append(("delete", snapshot["name"]))
        self.stored.remove(snapshot)

    def restore_snapshot(self, container, snapshot, stop_timeout, wait_timeout):
        self.calls.append(("restore", (snapshot["name"], stop_timeout, wait_timeout)))
        self.restored_from = snapshot["name"]
        self.state = ContainerState("c2", "app", "running", "running")
        return self.state

    def alias_holders(self, alias, options):
        self.calls.append(("holders", alias))
        return [dict(holder) for holder in self.holders]

    def point_alias(self, alias, target, holders, options):
        self.calls.append(("point", (target.name if target else None, [h["name"] for h in holders])))
        self.holders = [{"name": target.name, "id": target.id, "in_sync": True}] if target else []
        return {"window_ms": 7, "url": None}

    def read_config(self, container):
        self.calls.append(("read", None))
        return dict(self.config)

    def update_config(self, container, changes):
        self.calls.append(("update", changes))
        for setting, value in changes.items():
            if setting == "environment_vars":
                merged = {**self.config["environment_vars"], **value}
                self.config[setting] = {key: val for key, val in merged.items() if val is not None}
            else:
                self.config[setting] = value

    def writes(self) -> list[str]:
        return [call for call, _ in self.calls if call in ("create", "delete", "restore", "point", "update")]


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
