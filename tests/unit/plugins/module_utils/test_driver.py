"""The driver's decisions against an in-memory engine: escalation, races, check mode, failures.

The real engine is exercised by the integration tests; this model lets a test make the engine
misbehave on demand (a stop that hangs, a 409 from a concurrent change, a container that vanishes).
"""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _driver
from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState, Evidence
from ansible_collections.containerops.lifecycle.plugins.module_utils._driver import (
    Converger,
    StateRequest,
    run_parallel,
    took_effect,
    wait_while_paused,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import RESULT_OF
from tests.unit.fake_backend import FakeBackend


class FakeEngine(FakeBackend):
    """The shared fake holding one container, ``web``, in ``status`` (none when ``absent``)."""

    def __init__(self, status: str, health: str | None = None) -> None:
        super().__init__()
        if status != "absent":
            self.container("web", status, health=health)

    @property
    def status(self) -> str:
        return self.status_of("web")

    @status.setter
    def status(self, status: str) -> None:
        self.set_status("web", status)


def drive(engine: FakeEngine, **options) -> dict:
    return Converger(engine, StateRequest(**options)).converge(engine.inspect("web"))


def test_paused_to_stopped_resumes_first_and_reports_each_action():
    engine = FakeEngine("paused")
    result = drive(engine, state="stopped")
    assert engine.calls == ["resume", "stop"]
    assert [a["operation"] for a in result["actions"]] == ["resume", "stop"]
    assert result["status_before"] == "paused" and result["status"] == "stopped" and result["changed"]
    assert "error" not in result


def test_already_there_is_a_no_op():
    engine = FakeEngine("running")
    result = drive(engine, state="started")
    assert engine.calls == [] and not result["changed"] and result["actions"] == []


def test_restarted_always_acts_once():
    engine = FakeEngine("running")
    result = drive(engine, state="restarted")
    assert engine.calls == ["restart"] and result["changed"]


@pytest.mark.parametrize(
    ("status", "force", "expected"),
    [
        ("paused", False, ["resume", "restart"]),
        ("paused", True, ["resume", "force-stop", "start"]),
        ("stopped", False, ["start"]),
        ("running", True, ["force-stop", "start"]),
    ],
)
def test_restarted_performs_its_whole_plan(status, force, expected):
    engine = FakeEngine(status)
    result = drive(engine, state="restarted", force=force)
    assert engine.calls == expected and result["status"] == "running"


def test_check_mode_returns_the_plan_and_touches_nothing():
    engine = FakeEngine("stopped")
    result = drive(engine, state="paused", check_mode=True)
    assert engine.calls == []
    assert [a["operation"] for a in result["actions"]] == ["start", "pause"]
    assert all(a["duration_ms"] is None for a in result["actions"])
    assert result["status"] == "paused" and result["changed"]


def test_hung_graceful_stop_escalates_when_asked():
    engine = FakeEngine("running")
    engine.faults["stop"] = [errors.WaitTimeout("graceful stop did not finish")]
    result = drive(engine, state="stopped", stop_timeout=1, force_on_timeout=True)
    assert engine.calls == ["stop", "force-stop"]
    assert result["escalated"] is True and result["status"] == "stopped"
    assert result["actions"][0]["error"] and result["actions"][1] == {
        "operation": "force-stop",
        "duration_ms": result["actions"][1]["duration_ms"],
        "forced": True,
    }


def test_hung_graceful_stop_fails_clearly_without_force_on_timeout():
    engine = FakeEngine("running")
    engine.faults["stop"] = [errors.WaitTimeout("graceful stop did not finish")]
    result = drive(engine, state="stopped", stop_timeout=1)
    assert engine.calls == ["stop"]
    assert "graceful stop did not finish" in result["error"]
    assert result["status"] == "running" and result["escalated"] is False


def test_conflict_from_a_concurrent_change_is_re_read_and_re_planned():
    engine = FakeEngine("running")

    def someone_else_paused_it():
        engine.status = "paused"
        return errors.OperationConflict("stop refused: container is paused")

    engine.faults["stop"] = [someone_else_paused_it]
    result = drive(engine, state="stopped")
    assert engine.calls == ["stop", "resume", "stop"]
    assert result["status"] == "stopped" and "error" not in result


def test_container_removed_mid_task_is_reported_not_raised():
    engine = FakeEngine("running")

    def removed():
        engine.status = "absent"
        return errors.ContainerNotFound("web", "it disappeared during stop")

    engine.faults["stop"] = [removed]
    result = drive(engine, state="stopped")
    assert "removed while attempting stop" in result["error"] and result["status"] == "absent"


def test_an_operation_that_does_not_reach_its_status_fails_with_the_status_left():
    engine = FakeEngine("stopped")
    engine.side_effects["start"] = "stopped"  # exits right away
    result = drive(engine, state="started")
    assert "start left it 'stopped' instead of 'running'" in result["error"]
    assert result["status"] == "stopped"
    assert engine.calls == ["start"], "a start the engine carried out is not repeated"


def test_repeated_failures_give_up_within_bounded_rounds():
    engine = FakeEngine("running")
    engine.faults["pause"] = [errors.OperationFailed("pause failed: boom") for _ in range(10)]
    result = drive(engine, state="paused")
    assert 1 < len(engine.calls) <= 4
    assert "pause failed: boom" in result["error"]


def test_failed_container_cannot_be_started():
    result = drive(FakeEngine("failed"), state="started")
    assert "delete it" in result["error"] and result["status"] == "failed"


def test_missing_container_is_an_error_unless_absent_is_wanted():
    assert "not found" in drive(FakeEngine("absent"), state="stopped")["error"]
    ok = drive(FakeEngine("absent"), state="absent")
    assert "error" not in ok and not ok["changed"]


def test_unhealthy_fails_the_target():
    engine = FakeEngine("stopped", health="unhealthy")
    result = drive(engine, state="started", healthy=True)
    assert "unhealthy" in result["error"]


def test_wait_false_does_not_wait_out_a_transitional_status():
    result = drive(FakeEngine("restarting"), state="started", wait=False)
    assert "transitional" in result["error"]


@pytest.mark.parametrize(("state", "calls"), [("stopped", ["stop"]), ("absent", ["stop", "delete"])])
def test_a_crash_loop_is_stopped_at_once_not_waited_out(state, calls):
    engine = FakeEngine("restarting")
    result = drive(engine, state=state)
    assert engine.calls == calls and result["changed"] and "error" not in result


def test_unexpected_exceptions_become_a_reported_error():
    engine = FakeEngine("running")
    engine.faults["stop"] = [KeyError("Id")]
    result = drive(engine, state="stopped")
    assert result["error"].startswith("unexpected KeyError") and result["status"] == "running"


@pytest.mark.parametrize("parallel", [1, 4])
def test_run_parallel_keeps_order(parallel):
    assert run_parallel(list(range(20)), lambda n: n * n, parallel) == [n * n for n in range(20)]


class NoKillEngine(FakeEngine):
    name = "nokill"
    missing_operations = {"force-stop": "it has no kill endpoint"}


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize(
    ("status", "options"),
    [
        ("paused", {"state": "stopped", "force": True}),
        ("running", {"state": "restarted", "force": True}),
        ("paused", {"state": "absent", "force": True}),
        ("running", {"state": "stopped", "force_on_timeout": True}),
    ],
)
def test_a_plan_needing_a_missing_operation_is_refused_before_any_change(status, options, check_mode):
    engine = NoKillEngine(status)
    result = drive(engine, check_mode=check_mode, **options)
    assert engine.calls == []
    assert result["error"] == "backend nokill cannot force-stop: it has no kill endpoint; nothing was changed"
    assert not result["changed"] and result["actions"] == [] and result["status"] == status


def test_a_plan_without_the_missing_operation_goes_ahead():
    engine = NoKillEngine("paused")
    result = drive(engine, state="stopped")
    assert engine.calls == ["resume", "stop"] and "error" not in result


class LossyEngine(FakeEngine):
    """Loses the answer to the first request of an operation; ``applied`` says whether it still happened."""

    def __init__(self, status: str, applied: bool) -> None:
        super().__init__(status)
        self.applied = applied
        self.lost = False

    def perform(self, container, operation, stop_timeout):
        if not self.lost:
            self.lost = True
            self.calls.append(operation)
            if self.applied:
                self.status = RESULT_OF[operation]
            raise errors.OutcomeUnknown(f"POST {operation} failed in flight (ConnectionError)")
        return super().perform(container, operation, stop_timeout)

    def shows_effect(self, container, evidence):
        return self.status == RESULT_OF[evidence.operation]


@pytest.fixture
def short_window(monkeypatch):
    """A lost answer's effect is looked for 0.05s instead of ``LOST_ANSWER_WINDOW``."""
    monkeypatch.setattr(_driver, "LOST_ANSWER_WINDOW", 0.05)


def test_a_lost_answer_with_evidence_is_not_sent_again(short_window):
    engine = LossyEngine("running", applied=True)
    result = drive(engine, state="paused")
    assert engine.calls == ["pause"] and "error" not in result and result["status"] == "paused"
    assert [a["operation"] for a in result["actions"]] == ["pause"]


def test_a_lost_answer_without_evidence_is_sent_again_after_a_fresh_read(short_window):
    engine = LossyEngine("running", applied=False)
    result = drive(engine, state="paused")
    assert engine.calls == ["pause", "pause"] and "error" not in result and result["status"] == "paused"


class VanishingEngine(FakeEngine):
    """The engine stops answering during a stop: the stop may or may not have happened."""

    def perform(self, container, operation, stop_timeout):
        self.calls.append(operation)
        self.gone = True
        raise errors.EngineLost(f"engine lost during {operation}: connection reset")

    def look_up(self, ref):
        if getattr(self, "gone", False):
            raise errors.ConnectionFailed("cannot reach the engine")
        return super().look_up(ref)


def test_engine_lost_mid_stop_reports_the_attempt_and_an_unknown_status():
    result = drive(VanishingEngine("running"), state="stopped")
    assert result["status"] == "unknown" and result["engine_status"] is None
    assert result["actions"][0]["operation"] == "stop" and "engine lost during stop" in result["actions"][0]["error"]
    assert "engine lost during stop" in result["error"]


def test_a_rejected_request_is_final():
    engine = FakeEngine("running")
    engine.faults["stop"] = [errors.OperationRejected("rejected stop (400: Invalid operation)")]
    result = drive(engine, state="stopped")
    assert engine.calls == ["stop"] and "rejected stop" in result["error"]


class BlindEngine(LossyEngine):
    """Loses the answer, then cannot be asked whether the operation happened."""

    def shows_effect(self, container, evidence):
        raise errors.ConnectionFailed("cannot reach the engine")

    def look_up(self, ref):
        if self.lost:
            raise errors.ConnectionFailed("cannot reach the engine")
        return super().look_up(ref)


def test_a_lost_answer_that_cannot_be_checked_is_recorded_and_leaves_the_status_unknown():
    result = drive(BlindEngine("running", applied=False), state="paused")
    assert result["actions"][0]["operation"] == "pause" and "could not be asked" in result["actions"][0]["error"]
    assert result["status"] == "unknown" and not result["changed"]


def test_a_lost_answer_s_effect_is_looked_for_until_it_shows(short_window):
    engine = FakeEngine("running")
    looks = [False, False, True]
    engine.shows_effect = lambda container, evidence: looks.pop(0)
    assert took_effect(engine, engine.inspect("web"), Evidence("pause")) is True and looks == []


def test_a_lost_answer_s_effect_that_never_shows_or_cannot_be_told_is_not_done(short_window):
    engine = FakeEngine("running")
    web = engine.inspect("web")
    assert took_effect(engine, web, Evidence("pause")) is False  # still running after the window
    assert took_effect(engine, web, Evidence("restart")) is False  # the fake cannot tell a restart


def test_a_lost_stop_is_looked_for_as_long_as_the_stop_may_take(monkeypatch):
    engine = FakeEngine("running")
    windows = []
    monkeypatch.setattr(_driver, "poll", lambda look, done, window, interval, **_: windows.append(window) or True)
    took_effect(engine, engine.inspect("web"), Evidence("stop"))
    took_effect(engine, engine.inspect("web"), Evidence("pause"))
    assert windows == [engine.stop_deadline(engine.inspect("web"), None), _driver.LOST_ANSWER_WINDOW]


class PausedEngine(FakeEngine):
    """Shows ``paused`` for ``looks`` looks, then ``running``."""

    def __init__(self, looks: int) -> None:
        super().__init__("paused")
        self.looks = looks

    def look_up(self, ref):
        state = super().look_up(ref)
        self.looks -= 1
        status = "paused" if self.looks >= 0 else "running"
        return ContainerState(state.id, state.name, status, status)


def test_a_pause_is_waited_out_and_a_lasting_one_reported_with_its_length():
    engine = PausedEngine(2)
    state, waited = wait_while_paused(engine, engine.containers[0], 5)
    assert state.status == "running" and waited < 5
    lasting = PausedEngine(10**6)
    state, waited = wait_while_paused(lasting, lasting.containers[0], 0.05)
    assert state.status == "paused" and waited >= 0.05
