# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_state brings every target to the state asked for through the driver and reports one result; it refuses
``healthy`` where no container would start before asking the engine anything. The driver's own rules are tested in
``module_utils/test_driver.py``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, OperationRejected
from ansible_collections.containerops.lifecycle.plugins.modules import container_state
from tests.unit.fake_backend import FakeBackend


def converge(engine: FakeBackend, names: list[str], check_mode: bool = False, diff: bool = False, **given) -> dict:
    params = {"state": "started", "force": False, "stop_timeout": None, "force_on_timeout": False, "wait": True,
              "wait_timeout": 5, "poll_interval": 0.001, "healthy": False, "parallel": 2, **given}  # fmt: skip
    lifecycle = SimpleNamespace(
        params=params,
        backend=engine,
        module=SimpleNamespace(check_mode=check_mode, _diff=diff),
        select_targets=lambda: [engine.inspect(name) for name in names],
    )
    return container_state.run(lifecycle)


@pytest.mark.parametrize("state", ["stopped", "paused", "absent"])
def test_healthy_is_refused_where_nothing_starts_before_the_engine_is_asked(state):
    engine = FakeBackend()
    engine.container("web", "running")
    with pytest.raises(BadInput, match=f"healthy: true applies to state started or restarted, not {state}"):
        converge(engine, ["web"], state=state, healthy=True)
    assert engine.calls == [] and engine.listings == 0


def test_every_target_is_brought_to_the_state_and_reported_with_a_diff():
    engine = FakeBackend()
    engine.container("web", "stopped")
    engine.container("db", "running")
    result = converge(engine, ["web", "db"], diff=True)
    assert engine.calls == ["start"] and engine.status_of("web") == "running"
    assert result["changed"] is True and [entry["changed"] for entry in result["containers"]] == [True, False]
    assert result["diff"]["before"] == "db: running\nweb: stopped\n"
    assert result["diff"]["after"] == "db: running\nweb: running\n"


def test_check_mode_reports_the_change_and_makes_none():
    engine = FakeBackend()
    engine.container("web", "running")
    result = converge(engine, ["web"], check_mode=True, state="stopped")
    assert result["changed"] is True and result["container"]["status"] == "stopped"
    assert engine.calls == [] and engine.status_of("web") == "running"


def test_a_container_that_fails_fails_the_task_after_the_others_are_done():
    engine = FakeBackend()
    engine.container("web", "stopped")
    engine.container("db", "stopped")
    engine.faults["start"] = [OperationRejected("the engine refused to start web")]
    result = converge(engine, ["web", "db"], parallel=1)
    assert result["failed"] is True
    assert result["msg"].startswith("container_state failed for 1 of 2 container(s): web: ")
    assert "the engine refused to start web" in result["msg"] and engine.status_of("db") == "running"
