"""The maintenance window's decisions: targets, settings groups, plan, batches, the state of each container
through every step, the rollback and the report, fed with results shaped as the modules register them."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.containerops.lifecycle.plugins.plugin_utils import _window as w

BEFORE = {"autostart": False, "environment_vars": {"MODE": "v1"}, "resources": {"memory": 134217728, "cpus": None}}


def config_entry(name, changes=(), before=None, error=None, status="running", id_=None, actions=()):
    """One entry of container_config's ``containers``."""
    entry = {
        "id": id_ or f"{name}-id0123456789",
        "name": name,
        "status": status,
        "changed": bool(changes),
        "before": copy.deepcopy(BEFORE if before is None else before),
        "config": {},
        "changes": list(changes),
        "restarted": False,
        "actions": [{"operation": op, "duration_ms": 5, "forced": False} for op in actions],
    }
    if error is not None:
        entry["error"] = error
    return entry


def config_loop(*groups):
    """A looped container_config registration: each group is (names, entries) or (names, msg) for a task
    that failed as a whole."""
    results = []
    for names, answer in groups:
        item = {"settings": {"autostart": True}, "names": list(names)}
        result = {
            "ansible_loop_var": "__maintenance_window_group",
            "__maintenance_window_group": item,
            "changed": False,
        }
        if isinstance(answer, str):
            result.update(failed=True, msg=answer)
        else:
            result["containers"] = answer
        results.append(result)
    return {"changed": False, "msg": "All items completed", "results": results}


def state_entry(name, **fields):
    entry = w.new_entry(name)
    entry.update(changes=["autostart"], before=copy.deepcopy(BEFORE))
    entry.update(fields)
    return entry


def state_of(*names, **fields):
    return [state_entry(name, **fields) for name in names]


def item_result(name, loop_var="__maintenance_window_name", **fields):
    return dict({"ansible_loop_var": loop_var, loop_var: name, "changed": False}, **fields)


def loop(*results, **fields):
    return dict({"changed": False, "results": list(results)}, **fields)


def state_answer(*entries, **fields):
    """A container_state registration."""
    return dict({"changed": True, "containers": list(entries)}, **fields)


def op_entry(name, *operations, status="stopped", error=None):
    entry = {
        "name": name,
        "status": status,
        "changed": bool(operations),
        "actions": [{"operation": op, "duration_ms": 10, "forced": op == "force-stop"} for op in operations],
    }
    if error is not None:
        entry["error"] = error
    return entry


def by_name(state):
    return {entry["name"]: entry for entry in state}


# ---------------------------------------------------------------- helpers


def test_merge_is_recursive_for_dicts_and_replaces_the_rest():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    merged = w.merge(base, {"a": {"y": [3], "z": None}, "c": {"k": "v"}})
    assert merged == {"a": {"x": 1, "y": [3], "z": None}, "b": 1, "c": {"k": "v"}}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    assert w.merge({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}
    assert w.merge({"a": {"b": 2}}, {"a": 3}) == {"a": 3}


def test_vocabulary_matches_the_readme():
    """roles/maintenance_window/README.md: failed_step and outcome values, and which steps are rolled back."""
    assert w.STEPS == ("plan", "snapshot", "stop", "configure", "start", "verify", "probe")
    assert set(w.TOUCHED) | set(w.UNTOUCHED) == set(w.STEPS) and not set(w.TOUCHED) & set(w.UNTOUCHED)
    assert set(w.RECONFIGURED) == set(w.TOUCHED) - {"stop"}
    assert {w.CHANGED, w.UNCHANGED, w.PLANNED, w.ROLLED_BACK, w.FAILED, w.NOT_ATTEMPTED} == {
        "changed",
        "unchanged",
        "planned",
        "rolled_back",
        "failed",
        "not_attempted",
    }


def test_a_new_entry_has_the_summary_shape():
    assert list(w.new_entry("x")) == [
        "name",
        "id",
        "outcome",
        "changes",
        "before",
        "snapshot",
        "actions",
        "failed_step",
        "error",
        "rolled_back",
        "rollback_error",
        "status",
        "resumed_from",
    ]
    assert w.new_entry("x")["outcome"] == "not_attempted"


# ---------------------------------------------------------------- out of range


def test_values_in_range_say_nothing():
    assert (
        w.out_of_range(
            {
                "maintenance_window_batch_size": 1,
                "maintenance_window_stop_timeout": 0,
                "maintenance_window_wait_timeout": 1,
                "maintenance_window_probe_retries": 1,
            }
        )
        == []
    )
    assert w.out_of_range({}) == []


def test_values_out_of_range_are_named_in_order():
    assert w.out_of_range({"maintenance_window_stop_timeout": -1, "maintenance_window_batch_size": 0}) == [
        "maintenance_window_batch_size must be 1 or more, got 0",
        "maintenance_window_stop_timeout must be 0 or more, got -1",
    ]


@pytest.mark.parametrize(("value", "bad"), [("0", True), ("3", False), ("many", True), (None, True), (2.9, False)])
def test_a_value_is_read_as_jinja_int_reads_it(value, bad):
    messages = w.out_of_range({"maintenance_window_wait_timeout": value})
    assert bool(messages) is bad
    if bad:
        assert messages == [f"maintenance_window_wait_timeout must be 1 or more, got {'' if value is None else value}"]


def test_unknown_names_are_not_checked():
    assert w.out_of_range({"something_else": -5}) == []


# ---------------------------------------------------------------- targets and settings


def test_targets_are_given_then_selected_each_once():
    selected = {"containers": [{"name": "b"}, {"name": "c"}, {"name": "c"}]}
    assert w.targets(["a", "b"], selected) == ["a", "b", "c"]
    assert w.targets(" a , b,a", None) == ["a", "b"]
    assert w.targets([], {"skipped": True}) == []
    assert w.targets(None, {"containers": [{"name": "z"}]}) == ["z"]


def test_settings_of_merge_the_containers_own_over_the_common_ones():
    config = {"autostart": True, "resources": {"memory": "64m", "cpus": 0.5}}
    own = {"db": {"resources": {"memory": "96m"}}, "web": None}
    assert w.settings_of("db", config, own) == {"autostart": True, "resources": {"memory": "96m", "cpus": 0.5}}
    assert w.settings_of("web", config, own) == config
    assert w.settings_of("x", None, None) == {}


def test_settings_groups_gather_the_containers_with_the_same_settings():
    config = {"autostart": True, "resources": {"memory": "64m"}}
    own = {"c": {"resources": {"memory": "96m"}}, "d": {"autostart": True}}
    groups = w.settings_groups(["a", "b", "c", "d"], config, own)
    assert groups == [
        {"settings": config, "names": ["a", "b", "d"]},
        {"settings": {"autostart": True, "resources": {"memory": "96m"}}, "names": ["c"]},
    ]
    assert w.settings_groups([], config, own) == []


def test_settings_groups_do_not_depend_on_key_order():
    groups = w.settings_groups(["a", "b"], {}, {"a": {"x": 1, "y": 2}, "b": {"y": 2, "x": 1}})
    assert [group["names"] for group in groups] == [["a", "b"]]


# ---------------------------------------------------------------- plan


def test_plan_sorts_the_containers_into_changed_unchanged_and_failed():
    plan = config_loop(
        (["a", "b"], [config_entry("a", ["autostart", "resources.memory"]), config_entry("b")]),
        (["c"], [config_entry("c", error="cannot change environment_vars on docker", status="running")]),
    )
    state = w.plan(["a", "b", "c", "ghost"], plan)
    assert [entry["name"] for entry in state] == ["a", "b", "c", "ghost"]
    a, b, c, ghost = state
    assert a == dict(
        w.new_entry("a"),
        id="a-id0123456789",
        outcome="not_attempted",
        changes=["autostart", "resources.memory"],
        before=BEFORE,
        status="running",
    )
    assert b["outcome"] == "unchanged" and b["changes"] == [] and b["failed_step"] is None
    assert c["outcome"] == "failed" and c["failed_step"] == "plan" and c["changes"] == []
    assert c["error"] == "cannot change environment_vars on docker" and c["before"] == BEFORE
    assert ghost == dict(
        w.new_entry("ghost"), outcome="failed", failed_step="plan", error="container_config reported nothing for it"
    )


def test_plan_of_a_group_that_failed_as_a_whole_fails_each_of_its_containers():
    state = w.plan(["a", "b"], config_loop((["a", "b"], "backend unreachable")))
    assert [(entry["outcome"], entry["error"], entry["status"]) for entry in state] == [
        ("failed", "backend unreachable", None)
    ] * 2
    no_msg = config_loop((["a"], "x"))
    del no_msg["results"][0]["msg"]
    assert w.plan(["a"], no_msg)[0]["error"] == "container_config failed"


def test_a_container_given_by_id_is_known_by_its_name_from_the_plan_on():
    plan = config_loop((["0a1b2c", "web"], [config_entry("web", ["autostart"], id_="0a1b2c3d4e5f")]))
    state = w.plan(["0a1b2c", "web"], plan)
    # Given twice (by id and by name): one entry, at the first place.
    assert [entry["name"] for entry in state] == ["web"]
    assert state[0]["outcome"] == "not_attempted"


def test_an_id_matches_from_its_start_only():
    plan = config_loop((["1b2c"], [config_entry("web", id_="0a1b2c3d")]))
    assert w.plan(["1b2c"], plan)[0]["failed_step"] == "plan"


def test_plan_keeps_a_missing_before_as_null():
    entry = config_entry("a", ["autostart"])
    del entry["before"]
    assert w.plan(["a"], config_loop((["a"], [entry])))[0]["before"] is None


def test_plan_does_not_change_its_arguments():
    plan = config_loop((["a"], [config_entry("a", ["autostart"])]))
    kept = copy.deepcopy(plan)
    state = w.plan(["a"], plan)
    state[0]["before"]["autostart"] = "changed"
    assert plan == kept


def test_config_entries_skip_skipped_items():
    registered = config_loop((["a"], [config_entry("a")]))
    registered["results"].append(
        {
            "skipped": True,
            "__maintenance_window_group": {"names": ["b"]},
            "ansible_loop_var": "__maintenance_window_group",
        }
    )
    assert list(w.config_entries(registered)) == ["a"]
    assert w.config_entries(None) == {}


# ---------------------------------------------------------------- health checks


def test_running_containers_without_a_health_check_are_refused():
    state = state_of("a", "b", "c", "d")
    info = {
        "containers": [
            {"name": "a", "status": "running", "health": None},
            {"name": "b", "status": "running", "health": "healthy"},
            {"name": "c", "status": "stopped", "health": None},
            {"name": "d", "status": "running"},
            {"name": "stranger", "status": "running", "health": None},
        ]
    }
    after = by_name(w.record_health_checks(state, info))
    assert after["a"]["outcome"] == "failed" and after["a"]["failed_step"] == "plan"
    assert after["a"]["error"] == "it has no health check, and maintenance_window_healthy is true"
    assert all(after[name] == by_name(state)[name] for name in "bcd")
    assert "stranger" not in after
    assert w.record_health_checks(state, {"skipped": True}) == state


# ---------------------------------------------------------------- batches


def test_batches_hold_the_pending_containers_in_order():
    state = [
        state_entry(name, outcome=outcome)
        for name, outcome in [
            ("a", "not_attempted"),
            ("b", "unchanged"),
            ("c", "not_attempted"),
            ("d", "not_attempted"),
            ("e", "not_attempted"),
        ]
    ]
    assert w.pending(state) == ["a", "c", "d", "e"]
    assert w.batches(state, 2) == [["a", "c"], ["d", "e"]]
    assert w.batches(state, "3") == [["a", "c", "d"], ["e"]]
    assert w.batches(state, 10) == [["a", "c", "d", "e"]]
    assert w.batches([], 1) == []


@pytest.mark.parametrize("size", [0, -1])
def test_a_batch_size_below_one_is_refused(size):
    with pytest.raises(ValueError, match="batch size"):
        w.batches(state_of("a"), size)


@given(st.lists(st.sampled_from(["not_attempted", "unchanged", "failed"]), max_size=12), st.integers(1, 5))
def test_batches_cover_every_pending_container_once(outcomes, size):
    state = [state_entry(f"c{index}", outcome=outcome) for index, outcome in enumerate(outcomes)]
    found = w.batches(state, size)
    assert [name for batch in found for name in batch] == w.pending(state)
    assert all(0 < len(batch) <= size for batch in found)


def test_a_batch_may_run_until_a_container_outside_it_failed():
    state = state_of("a", "b", "c")
    assert w.may_run(["a", "b"], state)
    failing = w.record_operations(state, "stop", state_answer(op_entry("a", error="boom")), ["a"])
    # Its own failure does not stop the batch that is running ...
    assert w.may_run(["a", "b"], failing)
    # ... but the next one does not run.
    assert not w.may_run(["c"], failing)
    planned_wrong = [state_entry("a", outcome="failed", failed_step="plan"), state_entry("b")]
    assert not w.may_run(["b"], planned_wrong)


def test_alive_are_the_containers_of_the_batch_not_failed():
    state = [state_entry("a"), state_entry("b", failed_step="stop"), state_entry("c")]
    assert w.alive(["a", "b", "c"], state) == ["a", "c"]
    assert w.alive(["c", "a"], state) == ["c", "a"]
    assert w.alive(["zzz"], state) == []


# ---------------------------------------------------------------- snapshot, stop, configure, start


def test_snapshots_taken_and_failed():
    state = state_of("a", "b", "c")
    registered = loop(
        item_result("a", changed=True),
        item_result("b", failed=True, msg="paused"),
        item_result("c", failed=True),
        item_result("x"),
        {"skipped": True, "item": "c"},
    )
    after = by_name(w.record_snapshots(state, registered, "mw"))
    assert after["a"]["snapshot"] == "mw" and after["a"]["actions"] == ["snapshot"]
    assert after["b"]["failed_step"] == "snapshot" and after["b"]["error"] == "paused"
    assert after["b"]["snapshot"] is None and after["b"]["actions"] == []
    assert after["c"]["error"] == "snapshot failed"
    assert w.record_snapshots(state, {"skipped": True, "results": []}, "mw") == state


def test_stop_records_operations_status_and_errors():
    state = state_of("a", "b", "c")
    registered = state_answer(
        op_entry("a", "stop"),
        op_entry("b", "stop", "force-stop"),
        op_entry("c", status="running", error="stop timed out"),
        failed=True,
        msg="1 failed",
    )
    after = by_name(w.record_operations(state, "stop", registered, ["a", "b", "c"]))
    assert after["a"]["actions"] == ["stop"] and after["a"]["status"] == "stopped" and after["a"]["failed_step"] is None
    assert after["b"]["actions"] == ["stop", "force-stop"]
    assert after["c"]["failed_step"] == "stop" and after["c"]["error"] == "stop timed out"
    assert after["c"]["status"] == "running"


def test_an_operation_that_failed_as_a_whole_fails_every_container():
    state = state_of("a", "b", status="running")
    after = w.record_operations(state, "start", {"failed": True, "msg": "engine gone"}, ["a", "b"])
    assert [(e["failed_step"], e["error"], e["status"]) for e in after] == [("start", "engine gone", "running")] * 2
    after = w.record_operations(state, "start", {"failed": True}, ["a"])
    assert after[0]["error"] == "no result"


def test_an_operation_keeps_the_status_when_none_is_reported_and_ignores_other_names():
    state = state_of("a", "b", status="running")
    entry = op_entry("a", "start")
    del entry["status"]
    after = by_name(w.record_operations(state, "start", state_answer(entry), ["a", "nobody"]))
    assert after["a"]["status"] == "running" and after["a"]["actions"] == ["start"]
    assert after["b"] == by_name(state)["b"]


def test_a_skipped_operation_records_nothing():
    state = state_of("a")
    assert w.record_operations(state, "stop", {"skipped": True, "changed": False}, ["a"]) == state
    assert w.record_operations(state, "stop", None, ["a"]) == state


def test_configure_records_before_changes_and_restarts():
    state = state_of("a", "b", "c", "d", before={"autostart": True})
    registered = config_loop(
        (
            ["a", "b"],
            [
                config_entry("a", ["autostart"], before={"autostart": False}, actions=["stop", "start"]),
                config_entry("b", ["resources.memory"], before={}),
            ],
        ),
        (["c"], [config_entry("c", error="memory too small")]),
    )
    after = by_name(w.record_configure(state, registered, ["a", "b", "c", "d"]))
    assert after["a"]["before"] == {"autostart": False} and after["a"]["changes"] == ["autostart"]
    assert after["a"]["actions"] == ["configure", "stop", "start"]
    # An empty before keeps the one of the plan.
    assert after["b"]["before"] == {"autostart": True} and after["b"]["changes"] == ["resources.memory"]
    assert after["c"]["failed_step"] == "configure" and after["c"]["error"] == "memory too small"
    assert after["c"]["actions"] == ["configure"]
    assert after["d"]["error"] == "container_config reported nothing for it"


def test_configure_merges_before_into_the_plans():
    state = state_of("a", before={"autostart": False, "resources": {"memory": 1, "cpus": 2}})
    registered = config_loop((["a"], [config_entry("a", ["autostart"], before={"resources": {"memory": 5}})]))
    after = w.record_configure(state, registered, ["a"])
    assert after[0]["before"] == {"autostart": False, "resources": {"memory": 5, "cpus": 2}}


# ---------------------------------------------------------------- verify and probe


def info_of(*containers, **fields):
    return dict({"changed": False, "containers": list(containers)}, **fields)


def seen(name, status="running", health="healthy", networks=None):
    found = {"name": name, "exists": True, "status": status, "health": health}
    if networks is not None:
        found["runtime"] = {"networks": networks}
    return found


def test_verify_fails_containers_not_running_or_not_healthy():
    state = state_of("a", "b", "c", "d")
    info = info_of(seen("a"), seen("b", status="stopped", health=None), seen("c", health="unhealthy"))
    after = by_name(w.record_verify(state, info, ["a", "b", "c", "d"], healthy=True))
    assert after["a"]["failed_step"] is None
    assert after["b"] == dict(
        by_name(state)["b"], failed_step="verify", status="stopped", error="status stopped, health "
    )
    assert after["c"]["error"] == "status running, health unhealthy"
    assert after["d"]["error"] == "status unknown, health none" and after["d"]["status"] is None
    # Without healthy, health does not matter.
    assert by_name(w.record_verify(state, info, ["c"]))["c"]["failed_step"] is None


def test_verify_that_could_not_read_fails_every_container_with_its_message():
    state = state_of("a", "b")
    after = w.record_verify(state, {"failed": True, "msg": "engine gone"}, ["a", "b"])
    assert [(e["failed_step"], e["error"], e["status"]) for e in after] == [("verify", "engine gone", None)] * 2


def test_verify_needs_an_address_only_for_an_ip_probe():
    state = state_of("a", "b", "c")
    info = info_of(
        seen("a", networks={"front": {"ip_address": "10.0.0.2"}}),
        seen("b", networks={"front": {"ip_address": ""}, "back": {"ip_address": None}}),
        seen("c"),
    )
    names = ["a", "b", "c"]
    after = by_name(w.record_verify(state, info, names, probe=True, url="http://{ip}/"))
    assert after["a"]["failed_step"] is None
    assert after["b"]["failed_step"] == "probe"
    assert after["b"]["error"] == (
        "no IP address on any network for the probe URL http://{ip}/ (container_info "
        "reports none): set maintenance_window_probe_url to an explicit URL"
    )
    assert after["c"]["failed_step"] == "probe"
    on_back = by_name(w.record_verify(state, info, names, probe=True, url="http://{ip}:8/", network="back"))
    assert on_back["a"]["error"].startswith("no IP address on network back for the probe URL http://{ip}:8/ ")
    assert w.record_verify(state, info, names, probe=True, url="http://{name}.example/") == state
    assert w.record_verify(state, info, names, probe=False, url="http://{ip}/") == state


def test_a_container_not_running_fails_at_verify_not_at_probe():
    state = state_of("a")
    after = w.record_verify(state, info_of(seen("a", status="stopped")), ["a"], probe=True, url="http://{ip}/")
    assert after[0]["failed_step"] == "verify"


def test_addresses_and_probe_urls():
    networks = {"front": {"ip_address": ""}, "back": {"ip_address": "10.0.1.5"}, "mgmt": {"ip_address": "10.9.9.9"}}
    assert w.address(seen("a", networks=networks)) == "10.0.1.5"
    assert w.address(seen("a", networks=networks), "mgmt") == "10.9.9.9"
    assert w.address(seen("a", networks=networks), "none") == ""
    assert w.address(seen("a", networks=None)) == ""
    assert w.address(None) == ""
    info = info_of(seen("web", networks=networks))
    assert w.probe_url("web", info, "http://{ip}:8080/{name}/health") == "http://10.0.1.5:8080/web/health"
    assert w.probe_url("web", info, "https://{name}.example.com/", "back") == "https://web.example.com/"
    assert w.probe_url("other", info, "http://{ip}/") == "http:///"


def probe_result(name, **fields):
    return item_result(name, url=f"http://{name}/", attempts=fields.pop("attempts", 1), **fields)


def test_probes_that_pass_and_fail():
    state = state_of("a", "b", "c", "d", actions=["stop", "configure", "start"])
    registered = loop(
        probe_result("a", status=200, content="v2 ok"),
        probe_result("b", status=200, content="v1", attempts=2),
        probe_result("c", status=-1, failed=True, msg="Connection refused", attempts=3),
        probe_result("d", status=503, failed=True),
        {"skipped": True, "ansible_loop_var": "__maintenance_window_name", "__maintenance_window_name": "a"},
    )
    after = by_name(w.record_probes(state, registered, [200], "v2"))
    assert after["a"]["actions"] == ["stop", "configure", "start", "probe"] and after["a"]["failed_step"] is None
    assert after["b"]["failed_step"] == "probe" and after["b"]["actions"][-1] == "probe"
    assert after["b"]["error"] == (
        'probe of http://b/ failed after 2 attempt(s): status 200 but the body does not contain "v2"'
    )
    assert after["c"]["error"] == "probe of http://c/ failed after 3 attempt(s): Connection refused"
    assert after["d"]["error"] == "probe of http://d/ failed after 1 attempt(s): failed"


def test_a_probe_without_contains_passes_on_its_status():
    state = state_of("a")
    after = w.record_probes(state, loop(probe_result("a", status=204)), [200, 204])
    assert after[0]["actions"] == ["probe"] and after[0]["failed_step"] is None


def test_a_probe_of_a_container_failed_already_adds_nothing():
    state = state_of("a", failed_step="verify", actions=["stop"])
    assert w.record_probes(state, loop(probe_result("a", status=200)), [200]) == state


def test_a_probe_result_without_url_or_attempts():
    state = state_of("a")
    result = item_result("a", failed=True, msg="bad")
    assert w.record_probes(state, loop(result), [200])[0]["error"] == "probe of ? failed after 1 attempt(s): bad"


def test_skipped_probes_record_nothing():
    state = state_of("a")
    assert w.record_probes(state, {"skipped": True, "results": []}, [200], "x") == state
    assert w.record_probes(state, None, [200]) == state


# ---------------------------------------------------------------- rollback


def test_rollback_plan_by_failed_step():
    steps = {
        "p": "plan",
        "s": "snapshot",
        "st": "stop",
        "cf": "configure",
        "sa": "start",
        "v": "verify",
        "pr": "probe",
        "ok": None,
    }
    state = [
        state_entry(name, failed_step=step, snapshot="mw" if name in ("cf", "v") else None)
        for name, step in steps.items()
    ]
    plan = w.rollback_plan(state, list(steps))
    assert plan == {
        "restore": ["cf", "v"],
        "reconfigure": ["cf", "sa", "v", "pr"],
        "start": ["st", "cf", "sa", "v", "pr"],
    }
    assert w.rollback_plan(state, ["ok", "p"]) == {"restore": [], "reconfigure": [], "start": []}
    # Only the batch's containers.
    assert w.rollback_plan(state, ["v"]) == {"restore": ["v"], "reconfigure": ["v"], "start": ["v"]}


def test_previous_settings_put_back_only_what_changed():
    state = [
        state_entry("a", changes=["autostart", "resources.memory", "environment_vars.MODE", "environment_vars.NEW"])
    ]
    assert w.previous_settings("a", state) == {
        "autostart": False,
        "resources": {"memory": 134217728, "cpus": None},
        "environment_vars": {"MODE": "v1", "NEW": None},
    }
    state = [state_entry("a", changes=["resources.cpus"])]
    assert w.previous_settings("a", state) == {"resources": {"memory": None, "cpus": None}}
    state = [state_entry("a", changes=[])]
    assert w.previous_settings("a", state) == {}


def test_previous_settings_without_a_before():
    state = [state_entry("a", changes=["autostart", "environment_vars.X", "resources.memory"], before=None)]
    # An unknown autostart is not sent; an unknown variable or limit is sent as null.
    assert w.previous_settings("a", state) == {
        "resources": {"memory": None, "cpus": None},
        "environment_vars": {"X": None},
    }


def test_previous_settings_of_an_unknown_container():
    with pytest.raises(KeyError):
        w.previous_settings("nobody", state_of("a"))


def rolled(state, names, restored=None, reconfigured=None, started=None):
    return by_name(w.record_rollback(state, names, restored, reconfigured, started))


def test_a_rollback_that_restored_reapplied_and_started():
    state = [
        state_entry(
            "a",
            failed_step="probe",
            snapshot="mw",
            actions=["snapshot", "stop", "configure", "start", "probe"],
            status="running",
        )
    ]
    after = rolled(
        state,
        ["a"],
        restored=loop(item_result("a", changed=True)),
        reconfigured=loop(item_result("a", changed=True, config=BEFORE)),
        started=state_answer(op_entry("a", "start", status="running")),
    )["a"]
    assert after["rolled_back"] and after["rollback_error"] is None and after["status"] == "running"
    assert after["actions"] == ["snapshot", "stop", "configure", "start", "probe", "restore", "reconfigure", "start"]


def test_a_rollback_reapply_that_changed_nothing_is_not_an_action():
    state = [state_entry("a", failed_step="verify")]
    after = rolled(
        state,
        ["a"],
        reconfigured=loop(item_result("a", changed=False, config=BEFORE)),
        started=state_answer(op_entry("a", status="running")),
    )["a"]
    assert after["rolled_back"] and after["actions"] == []


def test_a_rollback_of_a_container_that_failed_to_stop_only_starts_it():
    state = [state_entry("a", failed_step="stop", status="running")]
    after = rolled(
        state, ["a"], restored=loop(), reconfigured=loop(), started=state_answer(op_entry("a", status="running"))
    )["a"]
    assert after["rolled_back"] and after["status"] == "running" and after["actions"] == []


def test_a_setting_that_could_not_be_unset_makes_the_rollback_incomplete():
    before = {"autostart": False, "resources": {"memory": None, "cpus": None}}
    state = [state_entry("a", failed_step="probe", changes=["autostart", "resources.memory"], before=before)]
    config = {"autostart": False, "resources": {"memory": 67108864, "cpus": None}}
    after = rolled(
        state,
        ["a"],
        reconfigured=loop(item_result("a", changed=True, config=config)),
        started=state_answer(op_entry("a", "start", status="running")),
    )["a"]
    assert not after["rolled_back"]
    assert after["rollback_error"] == (
        "still not as before the window: resources.memory (container_config cannot unset a setting that had no value)"
    )
    assert after["actions"] == ["reconfigure", "start"] and after["status"] == "running"


def test_environment_variables_are_compared_one_by_one():
    before = {"environment_vars": {"MODE": "v1"}}
    state = [
        state_entry("a", failed_step="probe", changes=["environment_vars.MODE", "environment_vars.NEW"], before=before)
    ]
    config = {"environment_vars": {"MODE": "v1", "NEW": "1"}}
    after = rolled(
        state,
        ["a"],
        reconfigured=loop(item_result("a", changed=True, config=config)),
        started=state_answer(op_entry("a", status="running")),
    )["a"]
    assert after["rollback_error"].startswith("still not as before the window: environment_vars.NEW (")


def test_every_rollback_problem_is_reported():
    state = [state_entry("a", failed_step="probe", snapshot="mw", status="stopped")]
    after = rolled(
        state,
        ["a"],
        restored=loop(item_result("a", failed=True, msg="no such image")),
        reconfigured=loop(item_result("a", failed=True, msg="engine said no")),
        started={"failed": True, "msg": "engine gone"},
    )["a"]
    assert not after["rolled_back"]
    assert after["rollback_error"] == (
        "restore: no such image; re-applying the previous settings: engine said no; start: engine gone"
    )
    assert after["actions"] == ["restore"] and after["status"] == "stopped"


def test_rollback_problems_without_messages():
    state = [state_entry("a", failed_step="probe", snapshot="mw")]
    after = rolled(
        state,
        ["a"],
        restored=loop(item_result("a", failed=True)),
        reconfigured=loop(item_result("a", failed=True)),
        started={"changed": False, "containers": []},
    )
    assert after["a"]["rollback_error"] == (
        "restore: failed; re-applying the previous settings: failed; start: start failed"
    )


def test_a_start_that_failed_for_one_container():
    state = state_of("a", "b", failed_step="start", status="stopped")
    started = state_answer(
        op_entry("a", "start", status="running"), op_entry("b", status="failed", error="exited at once"), failed=True
    )
    after = rolled(state, ["a", "b"], started=started)
    assert after["a"]["rolled_back"] and after["a"]["status"] == "running"
    assert after["b"]["rollback_error"] == "start: exited at once" and after["b"]["status"] == "failed"


# ---------------------------------------------------------------- record and settle


def test_record_dispatches_each_step():
    state = state_of("a")
    no_check = info_of({"name": "a", "status": "running", "health": None})
    assert w.record(state, "health", no_check)[0]["failed_step"] == "plan"
    assert w.record(state, "snapshot", loop(item_result("a")), alias="x")[0]["snapshot"] == "x"
    assert w.record(state, "stop", state_answer(op_entry("a", "stop")), names=["a"])[0]["actions"] == ["stop"]
    assert w.record(state, "start", state_answer(op_entry("a", "start")), names=["a"])[0]["actions"] == ["start"]
    configured = config_loop((["a"], [config_entry("a", ["autostart"])]))
    assert w.record(state, "configure", configured, names=["a"])[0]["actions"] == ["configure"]
    assert w.record(state, "verify", info_of(seen("a", status="stopped")), names=["a"])[0]["failed_step"] == "verify"
    assert (
        w.record(state, "verify", info_of(seen("a")), names=["a"], probe=True, probe_url="http://{ip}/")[0][
            "failed_step"
        ]
        == "probe"
    )
    assert w.record(state, "probe", loop(probe_result("a", status=200)))[0]["actions"] == ["probe"]
    assert (
        w.record(state, "probe", loop(probe_result("a", status=201)), probe_status_code=[201], probe_contains="x")[0][
            "failed_step"
        ]
        == "probe"
    )
    failed = state_of("a", failed_step="stop")
    rolled_back = w.record(
        failed, "rollback", {"start": state_answer(op_entry("a", "start", status="running"))}, names=["a"]
    )
    assert rolled_back[0]["rolled_back"]
    assert w.record(failed, "rollback", None, names=[])[0] == failed[0]
    assert w.record(state, "outcome", names=["a"], check_mode=True)[0]["outcome"] == "planned"


def test_record_refuses_an_unknown_step():
    with pytest.raises(ValueError, match="unknown step 'dance'"):
        w.record(state_of("a"), "dance")


def test_settle_gives_each_container_of_the_batch_its_outcome():
    state = [
        state_entry("ok"),
        state_entry("back", failed_step="probe", rolled_back=True),
        state_entry("bad", failed_step="start"),
        state_entry("later"),
    ]
    after = by_name(w.settle(state, ["ok", "back", "bad", "nobody"]))
    assert [after[name]["outcome"] for name in ("ok", "back", "bad", "later")] == [
        "changed",
        "rolled_back",
        "failed",
        "not_attempted",
    ]
    assert by_name(w.settle(state, ["ok"], check_mode=True))["ok"]["outcome"] == "planned"


def test_recording_never_changes_its_arguments():
    state = state_of("a", "b")
    kept = copy.deepcopy(state)
    registered = state_answer(op_entry("a", "stop"), op_entry("b", error="x"))
    w.record_operations(state, "stop", registered, ["a", "b"])
    w.settle(state, ["a", "b"])
    w.record_rollback(state, ["a"], None, None, None)
    assert state == kept


# ---------------------------------------------------------------- a whole window, then the report


def test_a_window_from_plan_to_summary():
    """Three containers in batches of two: a passes, b fails its probe and is rolled back; c is not attempted;
    d was already as asked."""
    names = ["a", "b", "c", "d"]
    groups = w.settings_groups(names, {"autostart": True}, {})
    assert groups == [{"settings": {"autostart": True}, "names": names}]
    plan = config_loop((names, [config_entry(n, [] if n == "d" else ["autostart"]) for n in names]))
    state = w.plan(names, plan)
    batches = w.batches(state, 2)
    assert batches == [["a", "b"], ["c"]]

    batch = batches[0]
    assert w.may_run(batch, state)
    state = w.record(state, "snapshot", loop(item_result("a"), item_result("b")), alias="mw")
    state = w.record(
        state, "stop", state_answer(op_entry("a", "stop"), op_entry("b", "stop")), names=w.alive(batch, state)
    )
    state = w.record(
        state,
        "configure",
        config_loop((batch, [config_entry("a", ["autostart"]), config_entry("b", ["autostart"])])),
        names=w.alive(batch, state),
    )
    state = w.record(
        state,
        "start",
        state_answer(op_entry("a", "start", status="running"), op_entry("b", "start", status="running")),
        names=w.alive(batch, state),
    )
    state = w.record(state, "verify", info_of(seen("a"), seen("b")), names=w.alive(batch, state), healthy=True)
    state = w.record(
        state,
        "probe",
        loop(probe_result("a", status=200, content="v2"), probe_result("b", status=200, content="v1")),
        probe_status_code=[200],
        probe_contains="v2",
    )
    rollback = w.rollback_plan(state, batch)
    assert rollback == {"restore": ["b"], "reconfigure": ["b"], "start": ["b"]}
    assert w.previous_settings("b", state) == {"autostart": False}
    state = w.record(
        state,
        "rollback",
        {
            "restore": loop(item_result("b", changed=True)),
            "reconfigure": loop(item_result("b", changed=False, config=BEFORE)),
            "start": state_answer(op_entry("b", status="running")),
        },
        names=rollback["start"],
    )
    state = w.record(state, "outcome", names=batch)
    assert not w.may_run(batches[1], state)

    summary = state
    assert [entry["outcome"] for entry in summary] == ["changed", "rolled_back", "not_attempted", "unchanged"]
    assert summary[0]["actions"] == ["snapshot", "stop", "configure", "start", "probe"]
    assert summary[1]["actions"] == ["snapshot", "stop", "configure", "start", "probe", "restore"]
    assert summary[1]["snapshot"] == "mw" and summary[1]["rolled_back"] and summary[1]["status"] == "running"
    assert json.loads(json.dumps(summary)) == summary
    assert w.report(summary) == (
        "maintenance window failed: 1 of 4 container(s) failed (1 rolled back), 1 not attempted.  "
        "b: failed at probe: probe of http://b/ failed after 1 attempt(s): status 200 but the body does not "
        'contain "v2"; rolled back, left running.  Not attempted: c.'
    )


def test_no_report_when_nothing_failed():
    assert w.report([]) == ""
    assert w.report([state_entry("a", outcome="changed"), state_entry("b", outcome="unchanged")]) == ""


def test_the_report_says_what_happened_to_each_failed_container():
    summary = [
        state_entry("a", outcome="failed", failed_step="plan", error="bad", status=None),
        state_entry("b", outcome="failed", failed_step="snapshot", error="snap", status="running"),
        state_entry(
            "c", outcome="failed", failed_step="verify", error="v", rollback_error="still not: x", status="running"
        ),
        state_entry("d", outcome="failed", failed_step="stop", error=None, status=""),
        state_entry("e", outcome="unchanged", status="running"),
    ]
    # The text the role's Jinja template rendered before the report moved here, byte for byte.
    assert w.report(summary) == (
        "maintenance window failed: 4 of 5 container(s) failed (0 rolled back).  a: failed at plan: bad; nothing "
        "changed.  b: failed at snapshot: snap; nothing changed, left running.  c: failed at verify: v; rollback "
        "incomplete: still not: x, left running.  d: failed at stop: ; not rolled back.  "
    )
