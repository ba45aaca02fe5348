"""The workflow journal: what a rerun does with each entry, over every journal step and every observed status;
who holds an entry; the window's identity; and the journal's file I/O (atomic, exclusive claims)."""

from __future__ import annotations

import copy
import json
import os
import subprocess

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _lifecycle
from ansible_collections.containerops.lifecycle.plugins.plugin_utils import _journal as j
from ansible_collections.containerops.lifecycle.plugins.plugin_utils import _window as w

ME = {"pid": 100, "host": "ctl-1", "since": "2026-12-06T04:00:00Z"}
BEFORE = {"autostart": False, "resources": {"memory": None, "cpus": None}}
STATUSES = (*_lifecycle.STATUSES, "unknown", None)


def journal_entry(
    step, name="api-1", id_="id-api-1", window="w1", workflow="maintenance_window", holder=j.STALE, **data
):
    entry = j.new_entry(
        workflow,
        window,
        name,
        id_,
        step,
        dict({"changes": ["resources.memory"], "before": BEFORE, "snapshot": None, "failed_step": None}, **data),
        {"pid": 4242, "host": "ctl-1", "since": "2026-12-06T04:31:02Z"},
        "2026-12-06T04:31:05Z",
    )
    return dict(entry, holder=holder, path=f"/j/{id_}.json")


def planned(name="api-1", status="stopped", changes=(), failed_step=None, error=None, id_="id-api-1"):
    entry = w.new_entry(name)
    entry.update(
        id=id_,
        status=status,
        changes=list(changes),
        before={"autostart": False, "resources": {"memory": 67108864, "cpus": None}},
        outcome=w.FAILED if failed_step else w.NOT_ATTEMPTED if changes else w.UNCHANGED,
        failed_step=failed_step,
        error=error,
    )
    return entry


# ---------------------------------------------------------------- resume_action: every step x every status


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("step", w.JOURNAL_STEPS)
def test_resume_action_for_every_step_and_status(step, status):
    action = j.resume_action(step, status)
    if status == "absent":
        assert action == j.FORGET
    elif step in ("planned", "snapshot"):
        assert action == j.FRESH
    else:
        assert action == j.FINISH
    # Unreadable (the plan failed): the entry waits for a run that can read the container, unless it is gone.
    assert j.resume_action(step, status, readable=False) == (j.FORGET if status == "absent" else j.KEEP)


def test_every_journal_step_but_the_first_two_touched_the_container():
    assert set(j.UNTOUCHED_STEPS) <= set(w.JOURNAL_STEPS)
    assert [step for step in w.JOURNAL_STEPS if step not in j.UNTOUCHED_STEPS] == [
        "stop",
        "configure",
        "start",
        "verify",
        "rollback",
    ]


# ---------------------------------------------------------------- holder, identity, messages


def test_holder_of_an_entry():
    entry = journal_entry("stop")
    assert j.holder(entry, dict(ME, pid=4242), pid_alive=True) == j.OURS
    assert j.holder(entry, ME, pid_alive=True) == j.LIVE
    assert j.holder(entry, ME, pid_alive=False) == j.STALE
    # Another host's pid cannot be checked here: it counts as live, whatever this host says of that pid.
    assert j.holder(entry, dict(ME, host="ctl-2"), pid_alive=False) == j.LIVE
    assert j.holder({}, ME, pid_alive=False) == j.LIVE


def test_window_id_is_stable_derived_or_explicit():
    inputs = {"containers": ["api-1"], "config": {"autostart": True, "resources": {"memory": "1g"}}}
    reordered = {"config": {"resources": {"memory": "1g"}, "autostart": True}, "containers": ["api-1"]}
    assert j.window_id("", inputs) == j.window_id(None, reordered)
    assert j.window_id("", inputs).startswith("auto-") and len(j.window_id("", inputs)) == 21
    assert j.window_id("", dict(inputs, containers=["api-2"])) != j.window_id("", inputs)
    assert j.window_id("nightly", inputs) == "nightly"


def test_busy_message_says_who_holds_the_container():
    message = j.busy_message("api-1", journal_entry("configure"))
    assert message.startswith(
        "another maintenance window is working on api-1 (window w1, at step configure, "
        "pid 4242 on host ctl-1, since 2026-12-06T04:31:02Z); nothing was changed"
    )
    assert "/j/id-api-1.json" in message
    assert j.busy_message("web", journal_entry("switch", workflow="blue_green")).startswith(
        "another blue-green switch is working on web"
    )
    assert "pid 4242 on host ctl-1" in j.takeover_warning("api-1", journal_entry("stop"))


def test_find_by_id_in_any_window_else_by_name_in_this_window():
    other = journal_entry("stop", window="w2")
    renamed = journal_entry("rollback", id_="old-id")
    assert j.find([other], "id-api-1", "api-1", "maintenance_window", "w1") is other
    assert j.find([renamed], "new-id", "api-1", "maintenance_window", "w1") is renamed
    assert j.find([renamed], "new-id", "api-1", "maintenance_window", "w2") is None
    assert j.find([renamed], "new-id", "api-1", "blue_green", "w1") is None
    assert j.find([], "id", "api-1", "maintenance_window", "w1") is None


def test_file_name_is_the_id_made_safe():
    assert j.file_name("48c7f77aabc5") == "48c7f77aabc5.json"
    assert j.file_name("../etc/passwd") == "___etc_passwd.json"
    with pytest.raises(ValueError, match="needs the container's id"):
        j.file_name("")


# ---------------------------------------------------------------- the window's decisions from the journal


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("step", w.JOURNAL_STEPS)
def test_resume_for_every_step_and_status(step, status):
    state = [planned(status=status)]
    resumed = w.resume(state, [journal_entry(step, snapshot="maintenance-window")], "w1")[0]
    if status != "absent" and step not in j.UNTOUCHED_STEPS:
        # Touched by the interrupted run: through the window again, with that run's changes, before and snapshot.
        assert resumed["outcome"] == w.NOT_ATTEMPTED and resumed["resumed_from"] == step
        assert resumed["changes"] == ["resources.memory"] and resumed["before"] == BEFORE
        assert resumed["snapshot"] == "maintenance-window"
        assert w.pending(w.resume(state, [journal_entry(step)], "w1")) == ["api-1"]
    else:
        assert resumed == state[0]


def test_resume_of_a_container_whose_plan_failed_leaves_it_failed():
    state = [planned(status=None, failed_step="plan", error="engine unreachable")]
    assert w.resume(state, [journal_entry("configure")], "w1") == state


def test_resume_refuses_a_container_another_live_run_holds():
    state = [planned(status="running", changes=["autostart"])]
    refused = w.resume(state, [journal_entry("stop", window="w2", holder=j.LIVE)], "w1")[0]
    assert refused["outcome"] == w.FAILED and refused["failed_step"] == "plan"
    assert refused["error"].startswith("another maintenance window is working on api-1 (window w2, at step stop")
    # ... and, failed at plan, the later batches (every batch) do not run.
    assert w.batches(
        w.resume(
            [*state, planned("api-2", changes=["autostart"], id_="i2")], [journal_entry("stop", holder=j.LIVE)], "w1"
        ),
        1,
    ) == [["api-2"]]
    assert w.may_run(["api-2"], [refused, planned("api-2", changes=["autostart"], id_="i2")]) is False


def test_resume_refuses_a_container_an_interrupted_blue_green_switch_left():
    state = [planned(status="stopped")]
    refused = w.resume(state, [journal_entry("switch", workflow="blue_green", window="s1")], "w1")[0]
    assert (refused["outcome"], refused["failed_step"]) == (w.FAILED, "plan")
    assert refused["error"].startswith(
        "api-1 was left at step switch by an interrupted blue-green switch (window "
        "s1, pid 4242 on host ctl-1, since 2026-12-06T04:31:02Z); nothing was changed"
    )
    assert w.journal_changes([refused], "clear")["clear"] == []


def test_resume_finishes_what_another_interrupted_window_left():
    resumed = w.resume([planned(status="stopped")], [journal_entry("start", window="w0")], "w1")[0]
    assert (resumed["outcome"], resumed["resumed_from"]) == (w.NOT_ATTEMPTED, "start")


def test_switch_resume():
    both = [{"name": "blue", "id": "b"}, {"name": "green", "id": "g"}]

    def entry(step, name, window="s1", workflow="blue_green", holder=j.STALE):
        return journal_entry(step, name=name, id_=name[0], window=window, workflow=workflow, holder=holder)

    assert j.switch_resume([], both, "s1") == {"busy": "", "resumed_from": None}
    assert j.switch_resume([entry("switch", "blue"), entry("switch", "green")], both, "s1") == {
        "busy": "",
        "resumed_from": "switch",
    }
    for order in (
        [entry("rollback", "blue"), entry("switch", "green")],
        [entry("switch", "blue"), entry("rollback", "green")],
    ):
        assert j.switch_resume(order, both, "s1")["resumed_from"] == "rollback"
    assert j.switch_resume([entry("switch", "blue", holder=j.OURS)], both, "s1")["resumed_from"] == "switch"
    live = j.switch_resume([entry("switch", "green", window="s2", holder=j.LIVE)], both, "s1")
    assert live["busy"].startswith("another blue-green switch is working on green (window s2, at step switch")
    left = j.switch_resume([entry("configure", "green", window="w1", workflow="maintenance_window")], both, "s1")
    assert left["busy"].startswith("green was left at step configure by an interrupted maintenance window (window w1")
    other = j.switch_resume([entry("switch", "blue", window="s2")], both, "s1")
    assert other["busy"].startswith("blue was left at step switch by an interrupted blue-green switch (window s2")


def test_record_claims_takes_over_and_never_touches_a_live_entry(tmp_path, monkeypatch):
    directory = str(tmp_path)
    warnings = []
    monkeypatch.setattr(j, "me", lambda since=None: dict(ME, since=since or "2026-12-06T05:00:00Z"))
    monkeypatch.setattr(j, "pid_alive", lambda pid: pid == 4242)
    records = [{"name": "api-1", "id": "id-api-1", "data": {"x": 1}}]
    assert j.record(directory, "maintenance_window", "w1", "planned", records, [], warnings.append) == {}
    claimed = j.read(directory)[0]
    assert (claimed["step"], claimed["owner"]["pid"], claimed["data"]) == ("planned", 100, {"x": 1})
    # Ours: the step moves on, the owner's "since" stays.
    monkeypatch.setattr(j, "now", lambda: "2026-12-06T05:01:00Z")
    j.record(directory, "maintenance_window", "w1", "stop", records, [], warnings.append)
    assert (j.read(directory)[0]["step"], j.read(directory)[0]["owner"]["since"]) == ("stop", "2026-12-06T05:00:00Z")
    assert warnings == []
    # Live (pid 4242 runs): refused, untouched, and not cleared either.
    j.write(directory, journal_entry("configure", window="w2"))
    busy = j.record(directory, "maintenance_window", "w1", "planned", records, ["id-api-1"], warnings.append)
    assert list(busy) == ["api-1"] and busy["api-1"].startswith("another maintenance window is working on api-1")
    assert j.read(directory)[0]["window"] == "w2"
    # Stale (its pid is gone): taken over, with a warning.
    monkeypatch.setattr(j, "pid_alive", lambda pid: False)
    assert j.record(directory, "maintenance_window", "w1", "planned", records, [], warnings.append) == {}
    assert (j.read(directory)[0]["window"], j.read(directory)[0]["owner"]["pid"]) == ("w1", 100)
    assert len(warnings) == 1 and warnings[0].startswith("api-1: taking over the journal entry of an interrupted run")
    j.record(directory, "maintenance_window", "w1", "clear", [], ["id-api-1", "id-none"], warnings.append)
    assert j.read(directory) == []


def test_read_held_says_who_holds_each_entry(tmp_path, monkeypatch):
    monkeypatch.setattr(j, "me", lambda since=None: dict(ME, since="x"))
    monkeypatch.setattr(j, "pid_alive", lambda pid: False)
    j.write(str(tmp_path), journal_entry("stop"))
    assert [entry["holder"] for entry in j.read_held(str(tmp_path))] == [j.STALE]


def test_resume_keeps_the_changes_found_now_too():
    state = [planned(status="running", changes=["autostart"])]
    resumed = w.resume(state, [journal_entry("start")], "w1")[0]
    assert resumed["changes"] == ["resources.memory", "autostart"]


def test_a_resumed_container_keeps_its_before_and_changes_through_the_configure_step():
    state = w.resume([planned(status="stopped")], [journal_entry("configure")], "w1")
    now = {"id": "id-api-1", "name": "api-1", "changes": [], "before": {"resources": {"memory": 67108864}}}
    configured = w.record_configure(state, {"results": [{"containers": [now]}]}, ["api-1"])[0]
    assert configured["before"] == BEFORE and configured["changes"] == ["resources.memory"]
    assert w.previous_settings("api-1", [configured]) == {"resources": {"memory": None, "cpus": None}}
    fresh = w.record_configure(
        [planned(status="stopped", changes=["autostart"])],
        {"results": [{"containers": [dict(now, changes=["autostart"])]}]},
        ["api-1"],
    )[0]
    assert fresh["before"]["resources"]["memory"] == 67108864 and fresh["changes"] == ["autostart"]


def test_journal_names_are_this_windows():
    entries = [
        journal_entry("stop"),
        journal_entry("stop", name="api-9", window="w2"),
        journal_entry("switch", name="web", workflow="blue_green"),
    ]
    assert w.journal_names(entries, "w1") == ["api-1"]
    assert w.targets(["api-2"], {"containers": [{"name": "api-3"}]}, ["api-1", "api-2"]) == ["api-2", "api-3", "api-1"]


def test_journal_changes_before_each_step():
    # api-2 failed at stop in this batch (its outcome is settled after the batch).
    failed = dict(planned("api-2", changes=["autostart"], id_="i2"), failed_step="stop", error="x")
    state = [
        planned(changes=["autostart"]),
        failed,
        planned("api-3", id_="i3"),
        planned("api-4", id_=None, changes=["autostart"]),
    ]
    for step in ("planned", "snapshot", "stop", "configure", "start", "verify"):
        written = w.journal_changes(state, step)["write"]
        assert [(record["name"], record["step"]) for record in written] == [("api-1", step)]
        assert written[0]["data"] == {
            "changes": ["autostart"],
            "before": state[0]["before"],
            "snapshot": None,
            "failed_step": None,
        }
    assert [record["name"] for record in w.journal_changes(state, "rollback")["write"]] == ["api-2"]
    assert w.journal_changes(state, "stop", ["api-3"]) == {"write": [], "clear": []}
    # Claiming clears the containers that need nothing.
    assert w.journal_changes(state, "planned")["clear"] == [{"name": "api-3", "id": "i3"}]
    with pytest.raises(ValueError, match="unknown journal step 'nap'"):
        w.journal_changes(state, "nap")


@pytest.mark.parametrize(
    "outcome, failed_step, status, error, cleared",
    [
        (w.CHANGED, None, "running", None, True),
        (w.ROLLED_BACK, "probe", "running", "x", True),
        (w.UNCHANGED, None, "running", None, True),
        (w.FAILED, "snapshot", "running", "x", True),
        (w.FAILED, "plan", "absent", "no such container", True),
        (w.FAILED, "plan", None, "engine unreachable", False),  # the next run that can read it resumes it
        (w.FAILED, "plan", "stopped", "cannot change environment_vars on docker", False),
        (w.FAILED, "plan", "running", "another maintenance window is working on api-1 (...)", False),
        (w.FAILED, "verify", "stopped", "x", False),  # touched, not rolled back: the next run finishes it
        (w.FAILED, "stop", "running", "x", False),
        (w.PLANNED, None, "running", None, False),
        (w.NOT_ATTEMPTED, None, "running", None, True),  # a batch before it failed: only claimed
    ],
)
def test_clearing_after_the_outcome(outcome, failed_step, status, error, cleared):
    entry = dict(planned(status=status), outcome=outcome, failed_step=failed_step, error=error)
    assert w.journal_changes([entry], "clear")["clear"] == ([{"name": "api-1", "id": "id-api-1"}] if cleared else [])
    assert w.journal_changes([entry], "clear")["write"] == []
    # A container an interrupted run left, not attempted this time: its entry stays for the next run.
    left = dict(entry, resumed_from="configure")
    assert bool(w.journal_changes([left], "clear")["clear"]) == (cleared and outcome != w.NOT_ATTEMPTED)


def test_record_busy_fails_the_claimed_containers_at_plan():
    state = [planned(changes=["autostart"]), planned("api-2", changes=["autostart"], id_="i2")]
    busy = w.record_busy(state, {"api-2": "another maintenance window is working on api-2 (...)"})
    assert busy[0] == state[0]
    assert (busy[1]["outcome"], busy[1]["failed_step"], busy[1]["error"]) == (
        w.FAILED,
        "plan",
        "another maintenance window is working on api-2 (...)",
    )


# ---------------------------------------------------------------- I/O


def test_write_read_remove(tmp_path):
    directory = str(tmp_path / "journal")
    entry = journal_entry("stop")
    assert j.write(directory, entry) is True
    assert os.stat(directory).st_mode & 0o777 == 0o700
    read = j.read(directory)
    stored = {key: value for key, value in entry.items() if key not in ("path", "holder")}
    assert read == [dict(stored, holder=j.STALE, path=os.path.join(directory, "id-api-1.json"))]
    assert os.listdir(directory) == ["id-api-1.json"]  # no temporary file left
    j.remove(directory, "id-api-1")
    j.remove(directory, "id-api-1")
    assert j.read(directory) == [] and j.read(str(tmp_path / "none")) == []


def test_an_exclusive_write_never_replaces_an_entry(tmp_path):
    directory = str(tmp_path)
    assert j.write(directory, journal_entry("planned")) is True
    assert j.write(directory, journal_entry("stop", window="w2"), exclusive=True) is False
    assert [(entry["window"], entry["step"]) for entry in j.read(directory)] == [("w1", "planned")]
    assert j.write(directory, journal_entry("stop", window="w2")) is True
    assert [(entry["window"], entry["step"]) for entry in j.read(directory)] == [("w2", "stop")]
    assert os.listdir(directory) == ["id-api-1.json"]


def test_read_skips_what_is_not_an_entry(tmp_path):
    (tmp_path / "half.json").write_text('{"window": ')
    (tmp_path / "list.json").write_text("[]")
    (tmp_path / ".tmp-x.json.swp").write_text("{}")
    j.write(str(tmp_path), journal_entry("stop"))
    assert [entry["name"] for entry in j.read(str(tmp_path))] == ["api-1"]


def test_pid_alive_and_me():
    assert j.pid_alive(os.getpid()) is True
    finished = subprocess.Popen(["true"])
    finished.wait()
    assert j.pid_alive(finished.pid) is False
    assert j.pid_alive("nope") is False and j.pid_alive(None) is False
    assert j.me()["pid"] == os.getppid() and j.me("x")["since"] == "x"


def test_directory_default_is_under_the_home():
    assert j.directory_of("") == os.path.expanduser("~/.ansible/containerops/journal")
    assert j.directory_of("~/x") == os.path.expanduser("~/x")


def test_entries_survive_json():
    entry = journal_entry("configure")
    assert json.loads(json.dumps(entry)) == copy.deepcopy(entry)
