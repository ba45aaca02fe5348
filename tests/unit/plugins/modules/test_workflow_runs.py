"""The workflow modules carry their plans out: what they ask the engine, in order, and nothing in check mode.

The decisions themselves are tested in ``module_utils/test_workflow.py``; the engines in the integration tests.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _pipeline
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ContainerNotFound,
    OperationFailed,
)
from ansible_collections.containerops.lifecycle.plugins.modules import (
    container_alias,
    container_config,
    container_snapshot,
)
from tests.unit.fake_backend import FakeBackend


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


@pytest.fixture(autouse=True)
def pauses(monkeypatch) -> None:
    """Another task's snapshot ends its pause during the wait when the engine's ``resumed_by_others`` is set."""

    def wait_while_paused(backend, container, timeout):
        backend.asked.append(("wait_while_paused", timeout))
        if getattr(backend, "resumed_by_others", False):
            backend.state = ContainerState("c1", "app", "running", "running")
        return backend.state, 1.0 if backend.state.status == "running" else timeout

    monkeypatch.setattr(_pipeline, "wait_while_paused", wait_while_paused)


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


# container_snapshot ------------------------------------------------------------------------------

PRE = {"name": "snap/pre:old", "alias": "pre", "container": "app", "private": {"image_id": "sha256:old"}}


def snapshot_task(engine: Engine, check_mode: bool = False, **given: Any) -> dict:
    params = {"name": "app", "alias": "pre", "state": "present", "replace": False, "stop_timeout": None,
              "wait_timeout": 300, **given}  # fmt: skip
    return container_snapshot.run(lifecycle(engine, check_mode, diff=True, **params))


@pytest.mark.parametrize("check_mode", [False, True])
def test_replacing_takes_the_new_snapshot_before_removing_the_old(check_mode):
    engine = Engine(snapshots=[PRE])
    result = snapshot_task(engine, check_mode, replace=True)
    assert result["actions"] == ["create", "remove-replaced"] and result["changed"]
    if check_mode:
        assert engine.writes() == [] and result["snapshot"]["name"] == "snap/pre:old"
    else:
        assert engine.writes() == ["take", "delete"]
        assert result["snapshot"] == {"name": "snap/pre:new", "alias": "pre", "container": "app"}


@pytest.mark.parametrize("check_mode", [False, True])
def test_restoring_reports_the_recreated_container(check_mode):
    engine = Engine(status="stopped", snapshots=[PRE])
    result = snapshot_task(engine, check_mode, state="restored", stop_timeout=3)
    assert result["actions"] == ["restore"]
    assert (result["container"]["id"] == "c1") is check_mode
    assert engine.writes() == ([] if check_mode else ["restore"])
    if not check_mode:
        assert ("restore", ("snap/pre:old", 3, 300)) in engine.asked
        assert not snapshot_task(engine, state="restored")["changed"]  # restored from it: nothing to do


@pytest.mark.parametrize("check_mode", [False, True])
def test_removing_reports_no_snapshot(check_mode):
    engine = Engine(snapshots=[PRE])
    result = snapshot_task(engine, check_mode, state="absent")
    assert result["changed"] and result["snapshot"] is None and result["diff"]["after"] == ""
    assert engine.writes() == ([] if check_mode else ["delete"])


def test_a_deleted_container_can_be_restored_where_snapshots_outlive_it():
    engine = Engine(status="absent", snapshots=[PRE])
    assert snapshot_task(engine, state="restored")["container"]["status"] == "running"
    engine = Engine(status="absent", snapshots=[PRE])
    engine.snapshots.outlive_container = False
    with pytest.raises(ContainerNotFound):
        snapshot_task(engine, state="restored")


def test_a_snapshot_waits_out_another_task_s_pause():
    engine = Engine(status="paused", snapshots=[PRE])
    engine.resumed_by_others = True
    result = snapshot_task(engine, alias="other")
    assert ("wait_while_paused", 10.0) in engine.asked and ("take", "other") in engine.asked
    assert result["changed"] is True


@pytest.mark.parametrize(("status", "given", "message"), [
    ("paused", {}, "stayed paused for 10s"),
    ("running", {"state": "restored", "alias": "nope"}, "has no snapshot with alias 'nope'"),
    ("running", {"alias": "a b"}, "must be 1 to 100 letters"),
])  # fmt: skip
def test_snapshot_refusals_change_nothing(status, given, message):
    engine = Engine(status=status, snapshots=[PRE])
    with pytest.raises(BadInput, match=message):
        snapshot_task(engine, **given)
    assert engine.writes() == []


# container_alias ---------------------------------------------------------------------------------

BLUE = {"name": "blue", "id": "b1", "in_sync": True}


def alias_task(engine: Engine, check_mode: bool = False, **given: Any) -> dict:
    params = {"alias": "web", "name": "app", "state": "present", "network": "net", "program": "http",
              "index": None, "port": None, "target_path": None, **given}  # fmt: skip
    return container_alias.run(lifecycle(engine, check_mode, diff=True, **params))


@pytest.mark.parametrize("check_mode", [False, True])
def test_moving_an_alias_points_it_and_reads_the_holders_back(check_mode):
    engine = Engine(holders=[BLUE])
    result = alias_task(engine, check_mode)
    assert result["changed"] and result["previous"] == ["blue"] and result["holders"] == ["app"]
    if check_mode:
        assert engine.writes() == [] and result["window_ms"] is None
    else:
        assert [call for call, _ in engine.asked] == ["holders", "point", "holders"]
        assert ("point", ("app", ["blue"])) in engine.asked and result["window_ms"] == 7


def test_an_alias_in_place_is_left_alone():
    engine = Engine(holders=[{"name": "app", "id": "c1", "in_sync": True}])
    result = alias_task(engine)
    assert not result["changed"] and result["holders"] == ["app"] and engine.writes() == []


def test_a_move_the_engine_did_not_make_fails():
    engine = Engine(holders=[BLUE])
    engine.aliases.point = lambda alias, target, holders, options: {"window_ms": 0, "url": None}
    with pytest.raises(OperationFailed, match=r"should be held by \['app'\] but is held by \['blue'\]"):
        alias_task(engine)


def test_bad_alias_input_is_refused_before_the_engine_is_asked():
    engine = Engine(holders=[BLUE])
    with pytest.raises(BadInput, match="port must be 1 to 65535"):
        alias_task(engine, port=0)
    assert engine.asked == []


# container_config --------------------------------------------------------------------------------


def config_task(engine: Engine, check_mode: bool = False, **given: Any) -> dict:
    params = {"autostart": None, "environment_vars": None, "resources": None, "restart_to_apply": False,
              "stop_timeout": None, "parallel": 1, **given}  # fmt: skip
    return container_config.run(lifecycle(engine, check_mode, diff=True, **params))


@pytest.fixture
def drives(monkeypatch) -> list[tuple[str, bool]]:
    """The lifecycle steps ``restart_to_apply`` asks for (the driver has tests of its own)."""
    driven: list[tuple[str, bool]] = []

    def drive_to(backend, container, state, stop_timeout, check_mode):
        driven.append((state, check_mode))
        status = "stopped" if state == "stopped" else "running"
        if not check_mode:
            backend.state = container = ContainerState(container.id, container.name, status, status)
        return container, [{"operation": "stop" if state == "stopped" else "start"}]

    monkeypatch.setattr(_pipeline, "drive_to", drive_to)
    return driven


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_change_needing_a_restart_is_made_between_stop_and_start(drives, check_mode):
    engine = Engine(config={"autostart": False, "environment_vars": {"LOG": "info"}})
    result = config_task(engine, check_mode, environment_vars={"LOG": "debug"}, restart_to_apply=True)
    assert drives == [("stopped", check_mode), ("started", check_mode)]
    assert result["changed"] and result["restarted"] and result["changes"] == ["environment_vars.LOG"]
    assert [action["operation"] for action in result["actions"]] == ["stop", "start"]
    assert result["config"]["environment_vars"] == {"LOG": "debug"}
    assert result["diff"] == [{"before": "environment_vars.LOG: info\n", "after": "environment_vars.LOG: debug\n",
                               "before_header": "app settings", "after_header": "app settings"}]  # fmt: skip
    assert engine.writes() == ([] if check_mode else ["update"])


def test_a_refused_change_reports_what_was_read_and_changes_nothing(drives):
    engine = Engine()
    result = config_task(engine, environment_vars={"LOG": "debug"})
    assert result["failed"] and "set restart_to_apply: true" in result["msg"]
    assert result["before"]["autostart"] is False and result["changes"] == ["environment_vars.LOG"]
    assert result["container"]["status"] == "running" and engine.writes() == [] and drives == []


def test_a_change_the_engine_does_not_show_fails_the_container(drives):
    engine = Engine()
    engine.settings.update = lambda container, changes: None
    result = config_task(engine, autostart=True)
    assert result["failed"] and "still reports different autostart" in result["msg"]
    assert result["config"]["autostart"] is False


def test_an_update_the_engine_refuses_says_what_was_asked(drives):
    engine = Engine()

    def refuse(container, changes):
        raise OperationFailed("no")

    engine.settings.update = refuse
    result = config_task(engine, autostart=True)
    assert result["failed"] and "app: no (asked: autostart=True)" in result["msg"]


def test_a_missing_container_is_not_read(drives):
    engine = Engine(status="absent")
    result = config_task(engine, autostart=True)
    assert result["failed"] and "not found" in result["msg"] and ("read", None) not in engine.asked
