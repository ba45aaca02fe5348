# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_snapshot carries its plan out: what it asks the engine, in order, and nothing in check mode.

The decisions are tested in ``module_utils/test_workflow.py``; the engines in the integration tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _pipeline
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ContainerNotFound,
)
from ansible_collections.containerops.lifecycle.plugins.modules import container_snapshot
from tests.unit.workflow_engine import PRE, Engine, lifecycle, wait_while_paused


@pytest.fixture(autouse=True)
def pauses(monkeypatch) -> None:
    """Pauses as ``workflow_engine.wait_while_paused`` scripts them."""
    monkeypatch.setattr(_pipeline, "wait_while_paused", wait_while_paused)


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
