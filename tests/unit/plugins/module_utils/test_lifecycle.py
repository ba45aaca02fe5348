"""The planner, checked over every status x desired state x force combination."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.containerops.lifecycle.plugins.module_utils import _lifecycle as lc

SETTLED_EXISTING = (lc.RUNNING, lc.STOPPED, lc.PAUSED, lc.FAILED)
ALL_CASES = list(itertools.product(lc.STATUSES, lc.DESIRED_STATES, (False, True)))


def test_vocabulary_matches_the_design():
    assert set(lc.STATUSES) == {
        "running",
        "stopped",
        "paused",
        "creating",
        "copying",
        "claiming",
        "restarting",
        "stopping",
        "removing",
        "deleting",
        "failed",
        "absent",
    }
    assert set(lc.OPERATIONS) == {"start", "stop", "force-stop", "restart", "pause", "resume", "delete"}
    assert lc.ALLOWED_OPERATIONS[lc.RUNNING] == ("stop", "force-stop", "restart", "pause")
    assert lc.ALLOWED_OPERATIONS[lc.STOPPED] == ("start", "restart", "delete")
    assert lc.ALLOWED_OPERATIONS[lc.PAUSED] == ("resume",)
    assert lc.ALLOWED_OPERATIONS[lc.FAILED] == ("delete",)
    for status in lc.TRANSITIONAL:
        expected = ("stop", "force-stop") if status == "restarting" else ()
        assert lc.ALLOWED_OPERATIONS[status] == expected


@pytest.mark.parametrize(("status", "desired", "force"), ALL_CASES)
def test_every_combination_plans_a_legal_path_or_refuses(status, desired, force):
    if lc.must_settle(status, desired):
        assert lc.is_transitional(status)
        with pytest.raises(ValueError, match="transitional"):
            lc.plan(status, desired, force)
        return
    try:
        operations = lc.plan(status, desired, force)
    except lc.PlanRefused as exc:
        # Only a failed container (anything but delete) or a missing one (anything but absent) refuses.
        assert (status == lc.FAILED and desired != "absent") or (status == lc.ABSENT and desired != "absent")
        assert "delete" in str(exc) or "does not exist" in str(exc)
        return
    final = lc.simulate(status, operations)  # raises if any step is not allowed from where it stands
    assert final == lc.TARGET_STATUS[desired]
    if desired == "restarted":
        assert operations, "restarted always acts"
    elif status == lc.TARGET_STATUS[desired]:
        assert operations == ()
    if force:
        assert "stop" not in operations and "restart" not in operations
    else:
        assert "force-stop" not in operations


@pytest.mark.parametrize(
    ("status", "desired", "force", "expected"),
    [
        ("paused", "stopped", False, ("resume", "stop")),
        ("paused", "stopped", True, ("resume", "force-stop")),
        ("stopped", "paused", False, ("start", "pause")),
        ("running", "restarted", False, ("restart",)),
        ("running", "restarted", True, ("force-stop", "start")),
        ("stopped", "restarted", False, ("start",)),
        ("paused", "absent", False, ("resume", "stop", "delete")),
        ("running", "absent", True, ("force-stop", "delete")),
        ("failed", "absent", False, ("delete",)),
        ("absent", "absent", False, ()),
        ("running", "started", True, ()),
        # A crash loop is stopped or removed at once instead of being waited out.
        ("restarting", "stopped", False, ("stop",)),
        ("restarting", "stopped", True, ("force-stop",)),
        ("restarting", "absent", False, ("stop", "delete")),
        ("restarting", "absent", True, ("force-stop", "delete")),
    ],
)
def test_plans_operators_rely_on(status, desired, force, expected):
    assert lc.plan(status, desired, force) == expected


def test_failed_to_started_says_to_delete_or_diagnose():
    with pytest.raises(lc.PlanRefused, match=r"delete it .* or diagnose"):
        lc.plan("failed", "started")


@pytest.mark.parametrize(("status", "desired"), [("bogus", "started"), ("running", "bogus")])
def test_unknown_names_are_rejected(status, desired):
    with pytest.raises(ValueError, match="unknown"):
        lc.plan(status, desired)


def test_simulate_names_the_illegal_step():
    with pytest.raises(ValueError, match="'stop' is not allowed while 'paused'"):
        lc.simulate("paused", ("stop",))


@given(
    start=st.sampled_from(SETTLED_EXISTING),
    desired_states=st.lists(st.sampled_from(lc.DESIRED_STATES), min_size=1, max_size=8),
    force=st.booleans(),
)
def test_any_sequence_of_requests_converges_and_repeats_are_no_ops(start, desired_states, force):
    status = start
    for desired in desired_states:
        try:
            operations = lc.plan(status, desired, force)
        except lc.PlanRefused:
            assert status in (lc.FAILED, lc.ABSENT)
            continue
        status = lc.simulate(status, operations)
        assert lc.is_satisfied(status, desired) or desired == "restarted"
        if desired != "restarted":
            assert lc.plan(status, desired, force) == ()


@pytest.mark.parametrize("status", lc.TRANSITIONAL)
@pytest.mark.parametrize("desired", lc.DESIRED_STATES)
def test_only_a_crash_loop_is_acted_on_before_it_settles(status, desired):
    acts_at_once = status == "restarting" and desired in ("stopped", "absent")
    assert lc.must_settle(status, desired) is not acts_at_once


# What ends a wait, written out: (wanted, settles_at_once) -> the statuses that end it; every other status
# keeps it going. An engine that settles at once: a wanted status or any settled one. One that acts after
# answering may still show the status from before, so only failed, absent and a deletion under way (when
# absent is not wanted) end it early.
SETTLED_ENDS = "running stopped paused failed absent"
WAIT_ENDS = {
    (("running",), True): SETTLED_ENDS,
    (("stopped",), True): SETTLED_ENDS,
    (("paused",), True): SETTLED_ENDS,
    (("failed",), True): SETTLED_ENDS,
    (("creating",), True): SETTLED_ENDS + " creating",
    (("copying",), True): SETTLED_ENDS + " copying",
    (("claiming",), True): SETTLED_ENDS + " claiming",
    (("restarting",), True): SETTLED_ENDS + " restarting",
    (("stopping",), True): SETTLED_ENDS + " stopping",
    (("removing",), True): SETTLED_ENDS + " removing",
    (("deleting",), True): SETTLED_ENDS + " deleting",
    (("absent",), True): SETTLED_ENDS,
    (("running", "stopped", "paused", "failed", "absent"), True): SETTLED_ENDS,
    (("stopped", "absent"), True): SETTLED_ENDS,
    (("running",), False): "running failed absent deleting",
    (("stopped",), False): "stopped failed absent deleting",
    (("paused",), False): "paused failed absent deleting",
    (("failed",), False): "failed absent deleting",
    (("creating",), False): "creating failed absent deleting",
    (("copying",), False): "copying failed absent deleting",
    (("claiming",), False): "claiming failed absent deleting",
    (("restarting",), False): "restarting failed absent deleting",
    (("stopping",), False): "stopping failed absent deleting",
    (("removing",), False): "removing failed absent deleting",
    (("deleting",), False): "deleting failed absent",
    (("absent",), False): "absent failed",
    (("running", "stopped", "paused", "failed", "absent"), False): "running stopped paused failed absent",
    (("stopped", "absent"), False): "stopped failed absent",
}


def test_the_table_of_wait_ends_covers_every_wanted_status_and_names_only_statuses():
    assert {wanted for wanted, _ in WAIT_ENDS} >= {(status,) for status in lc.STATUSES} | {lc.SETTLED}
    assert set(" ".join(WAIT_ENDS.values()).split()) == set(lc.STATUSES)


@pytest.mark.parametrize(("wanted", "settles_at_once"), list(WAIT_ENDS))
@pytest.mark.parametrize("status", lc.STATUSES)
def test_a_wait_ends_on_a_wanted_status_or_one_that_rules_them_out(status, wanted, settles_at_once):
    assert lc.wait_over(status, wanted, settles_at_once) == (status in WAIT_ENDS[wanted, settles_at_once].split())


def test_an_asynchronous_engine_still_showing_the_old_status_is_waited_on():
    assert not lc.wait_over(lc.RUNNING, (lc.STOPPED,), settles_at_once=False)
    assert lc.wait_over(lc.RUNNING, (lc.STOPPED,), settles_at_once=True)
    assert not lc.wait_over("deleting", (lc.ABSENT,), settles_at_once=False)
    assert lc.wait_over("deleting", (lc.RUNNING,), settles_at_once=False)
