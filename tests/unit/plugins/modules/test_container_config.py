# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_config carries its plan out: a change needing a restart between stop and start, a refused or unseen
change reported, nothing written in check mode. The decisions are tested in ``module_utils/test_workflow.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _pipeline
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    OperationFailed,
)
from ansible_collections.containerops.lifecycle.plugins.modules import container_config
from tests.unit.workflow_engine import Engine, lifecycle


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
