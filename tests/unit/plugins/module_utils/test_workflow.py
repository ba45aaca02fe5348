"""The workflow planners (snapshot, settings, alias), checked over every observed state x option combination."""

from __future__ import annotations

import itertools
import re
from types import SimpleNamespace

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _config
from ansible_collections.containerops.lifecycle.plugins.module_utils import _results as results
from ansible_collections.containerops.lifecycle.plugins.module_utils import _workflow as wf
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import Backend, ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import BACKEND_CLASSES
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import Settings


def container(status: str = "running", name: str = "app", id: str = "c1") -> ContainerState:
    return ContainerState(id, name, status, status)


# Snapshots ---------------------------------------------------------------------------------------

PRE = {"name": "containerops-snapshot/app:pre", "alias": "pre", "container": "app", "private": {"image_id": "sha256:1"}}
OTHER = {
    "name": "containerops-snapshot/app:other",
    "alias": "other",
    "container": "app",
    "private": {"image_id": "sha256:2"},
}
UNNAMED = {"name": "snap0", "alias": None, "container": "app"}  # Hoody: a snapshot taken without an alias

SNAPSHOT_CASES = list(
    itertools.product(
        ("running", "stopped", "paused", "absent"),  # absent: a deleted container whose snapshots outlive it
        ("present", "absent", "restored"),
        (False, True),  # a snapshot of the alias exists
        (False, True),  # replace
        (False, True),  # the container is the untouched restore of that snapshot
        (False, True),  # the container has other snapshots too
    )
)


def expected_snapshot_actions(status, state, exists, replace, restored_from):
    """The documented behaviour, row by row: a refusal's key words, or the actions."""
    if status == "paused" and state != "absent":
        return "stayed paused"
    if state == "present":
        return () if exists and not replace else ("create", "remove-replaced") if exists else ("create",)
    if state == "absent":
        return ("remove",) if exists else ()
    if not exists:
        return "has no snapshot with alias 'pre'"
    return () if restored_from else ("restore",)


@pytest.mark.parametrize(("status", "state", "exists", "replace", "restored_from", "others"), SNAPSHOT_CASES)
def test_every_snapshot_combination(status, state, exists, replace, restored_from, others):
    snapshots = ([PRE] if exists else []) + ([OTHER, UNNAMED] if others else [])
    plan = wf.plan_snapshot(container(status), state, "pre", replace, snapshots, restored_from and exists)
    expected = expected_snapshot_actions(status, state, exists, replace, restored_from)
    if isinstance(expected, str):
        assert plan.refusal is not None and expected in plan.refusal and "'app'" in plan.refusal
        assert plan.actions == () and plan.remove == () and plan.restore is None
        return
    assert plan.refusal is None
    assert plan.actions == expected
    assert plan.takes_snapshot == ("create" in expected)
    assert plan.remove == ((PRE,) if {"remove", "remove-replaced"} & set(expected) else ())
    assert plan.restore == (PRE if expected == ("restore",) else None)
    # Reported unless a new one is taken: the existing snapshot, none once it is removed.
    assert plan.snapshot == (PRE if exists and state != "absent" else None)
    before_aliases = (["other"] if others else []) + (["pre"] if exists else []) + (["snap0"] if others else [])
    after_aliases = sorted(
        {*before_aliases, "pre"}
        if state == "present"
        else set(before_aliases) - {"pre"}
        if state == "absent"
        else set(before_aliases)
    )
    restored_line = "restored from: pre\n"
    assert plan.diff_before == "".join(f"snapshot: {a}\n" for a in before_aliases) + (
        restored_line if exists and restored_from else ""
    )
    assert plan.diff_after == "".join(f"snapshot: {a}\n" for a in after_aliases) + (
        restored_line if state == "restored" or (exists and restored_from) else ""
    )


def test_a_snapshot_taken_in_check_mode_is_reported_as_none_yet():
    plan = wf.plan_snapshot(container(), "present", "pre-maintenance", False, [], False)
    result = results.snapshot_result(plan, container(), None, with_diff=True)
    assert result == {
        "changed": True,
        "snapshot": None,
        "container": {"id": "c1", "name": "app", "status": "running"},
        "actions": ["create"],
        "diff": {"before": "", "after": "snapshot: pre-maintenance\n",
                 "before_header": "app snapshots", "after_header": "app snapshots"},
    }  # fmt: skip


def test_a_replaced_snapshot_reports_the_new_one_and_in_check_mode_the_old_one():
    plan = wf.plan_snapshot(container(), "present", "pre", True, [PRE], False)
    new = dict(PRE, private={"image_id": "sha256:9"}, created_at="later")
    assert plan.actions == ("create", "remove-replaced") and plan.remove == (PRE,)
    assert results.snapshot_result(plan, container(), new, with_diff=False)["snapshot"]["created_at"] == "later"
    assert results.snapshot_result(plan, container(), None, with_diff=False)["snapshot"] == wf.public_snapshot(PRE)


def test_every_snapshot_of_the_alias_is_removed():
    twin = dict(PRE, name="containerops-snapshot/app:pre-old")
    assert wf.plan_snapshot(container(), "absent", "pre", False, [PRE, twin], False).remove == (PRE, twin)
    assert wf.plan_snapshot(container(), "present", "pre", True, [PRE, twin], False).remove == (PRE, twin)


def test_the_restore_result_names_the_recreated_container():
    plan = wf.plan_snapshot(container("stopped"), "restored", "pre", False, [PRE], False)
    recreated = container("running", id="c2")
    result = results.snapshot_result(plan, recreated, None, with_diff=True)
    assert result["container"] == {"id": "c2", "name": "app", "status": "running"}
    assert result["changed"] and result["actions"] == ["restore"]
    assert result["diff"]["before"] == "snapshot: pre\n"
    assert result["diff"]["after"] == "snapshot: pre\nrestored from: pre\n"


def test_removing_a_snapshot_a_container_was_restored_from_keeps_saying_so():
    plan = wf.plan_snapshot(container(), "absent", "pre", False, [PRE], True)
    assert plan.diff_before == "snapshot: pre\nrestored from: pre\n"
    assert plan.diff_after == "restored from: pre\n"


def test_the_private_part_never_reaches_the_result():
    assert wf.public_snapshot(PRE) == {"name": PRE["name"], "alias": "pre", "container": "app"}
    assert "private" in PRE  # the backend's own dict is left alone
    assert wf.public_snapshot(None) is None
    plan = wf.plan_snapshot(container(), "present", "pre", False, [PRE], False)
    assert "private" not in results.snapshot_result(plan, container(), None, with_diff=False)["snapshot"]


@pytest.mark.parametrize(
    ("state", "outlives", "needed"),
    [("present", False, True), ("present", True, True), ("absent", False, True), ("absent", True, False),
     ("restored", False, True), ("restored", True, False)],
)  # fmt: skip
def test_the_container_must_exist_unless_its_snapshots_outlive_it(state, outlives, needed):
    assert wf.snapshot_needs_container(state, outlives) is needed


@pytest.mark.parametrize("alias", ["pre", "a", "A9_.-x", "a" * 100, "9lives"])
def test_snapshot_aliases_accepted(alias):
    assert wf.check_snapshot_alias(alias) == alias


@pytest.mark.parametrize("alias", [None, "", "a" * 101, "pre upgrade", "a/../b", "-x", ".x", "é", "a\n"])
def test_snapshot_aliases_refused_with_the_rule(alias):
    with pytest.raises(BadInput, match=r"must be 1 to 100 letters, digits") as caught:
        wf.check_snapshot_alias(alias)
    assert repr(alias) in str(caught.value)


# Container settings ------------------------------------------------------------------------------


class Settable(Settings):
    """An engine's settings part as the planner sees it: what it declares, and why not (its default words)."""

    def __init__(self, name: str, settable: tuple[str, ...], needing_restart: tuple[str, ...] = ()) -> None:
        super().__init__(SimpleNamespace(name=name))
        self.name = name
        self.settable = settable
        self.needing_restart = needing_restart

    def read(self, container):
        raise AssertionError("the planner reads nothing")

    def update(self, container, changes):
        raise AssertionError("the planner changes nothing")


DOCKER_LIKE = Settable("docker", ("autostart", "resources.memory", "resources.cpus"))
HOODY_LIKE = Settable("hoody", ("autostart", "environment_vars"), needing_restart=("environment_vars",))
BEFORE = {"autostart": False, "environment_vars": {"LOG": "info"}, "resources.memory": None, "resources.cpus": None}
WANTED = {
    "nothing new": {"autostart": False, "environment_vars": {"LOG": "info"}},
    "autostart": {"autostart": True},
    "environment": {"environment_vars": {"LOG": "debug"}},
    "memory": {"resources.memory": 1024},
    "autostart and environment": {"autostart": True, "environment_vars": {"LOG": None}},
    "environment and memory": {"environment_vars": {"NEW": "1"}, "resources.memory": 1024},
}
CONFIG_CASES = list(
    itertools.product(WANTED, (DOCKER_LIKE, HOODY_LIKE), ("running", "paused", "stopped", "failed"), (False, True))
)


@pytest.mark.parametrize(("wanted", "engine", "status", "restart_to_apply"), CONFIG_CASES,
                         ids=[f"{w}-{e.name}-{s}-{r}" for w, e, s, r in CONFIG_CASES])  # fmt: skip
def test_every_settings_combination(wanted, engine, status, restart_to_apply):
    asked = WANTED[wanted]
    plan = wf.plan_config(container(status), BEFORE, asked, engine, restart_to_apply)
    changes = _config.config_changes(BEFORE, asked)
    assert plan.before == BEFORE and plan.changes == changes
    assert plan.expected == _config.applied(BEFORE, changes)  # what check mode reports
    unsettable = [setting for setting in changes if setting not in engine.settable]
    awaiting = [setting for setting in changes if setting in engine.needing_restart]
    live = status in ("running", "paused")
    if unsettable:
        assert plan.refusal is not None and not plan.restart
        for setting in unsettable:
            assert f"backend {engine.name} cannot change {setting} (asked: " in plan.refusal
    elif awaiting and live and not restart_to_apply:
        assert plan.refusal is not None and not plan.restart
        assert f"only reach(es) the processes of 'app' after a restart and it is {status}" in plan.refusal
        assert plan.refusal.endswith("Nothing was changed.")
    else:
        assert plan.refusal is None
        assert plan.restart == bool(awaiting and live)
    if not changes:
        assert plan.refusal is None and not plan.restart


def test_refusals_name_each_setting_and_what_was_asked():
    asked = {"environment_vars": {"A": "1", "B": "2", "C": None}, "resources.cpus": 2.0, "resources.memory": 1024}
    plan = wf.plan_config(container(), {}, asked, HOODY_LIKE, True)
    assert plan.refusal == (
        "backend hoody cannot change resources.cpus (asked: resources.cpus); "
        "backend hoody cannot change resources.memory (asked: resources.memory); nothing was changed"
    )
    plan = wf.plan_config(container(), {}, asked, DOCKER_LIKE, True)
    assert plan.refusal == (
        "backend docker cannot change environment_vars (asked: environment_vars.A, environment_vars.B); "
        "nothing was changed"
    )


def test_a_change_needing_a_restart_names_it_and_the_way_out():
    plan = wf.plan_config(container("paused"), BEFORE, {"environment_vars": {"LOG": "debug"}}, HOODY_LIKE, False)
    assert plan.refusal == (
        "environment_vars only reach(es) the processes of 'app' after a restart and it is paused: "
        "set restart_to_apply: true (stop, change, start) or stop it first. Nothing was changed."
    )


def test_restart_to_apply_never_restarts_for_changes_that_apply_at_once():
    plan = wf.plan_config(container("running"), BEFORE, {"autostart": True}, HOODY_LIKE, True)
    assert plan.refusal is None and not plan.restart and plan.changes == {"autostart": True}


def test_an_entry_before_anything_is_read():
    assert results.config_entry(container("stopped")) == {
        "id": "c1", "name": "app", "status": "stopped", "changed": False, "before": None, "config": None,
        "changes": [], "restarted": False, "actions": [],
    }  # fmt: skip


def test_the_report_and_its_diff_show_only_managed_settings():
    wanted = {"environment_vars": {"LOG": "debug"}}
    after = _config.applied(BEFORE, {"environment_vars": {"LOG": "debug"}})
    plan = wf.ConfigPlan(BEFORE, {"environment_vars": {"LOG": "debug"}})
    entry = results.config_entry(container(), plan, wf.ConfigDone(changed=True, after=after))
    assert entry["config"] == _config.nested(after) and entry["before"] == _config.nested(BEFORE)
    diff = results.config_diff("app", BEFORE, after, wanted)
    assert diff == {"before": "environment_vars.LOG: info\n", "after": "environment_vars.LOG: debug\n",
                    "before_header": "app settings", "after_header": "app settings"}  # fmt: skip
    assert results.config_result([entry], [diff], with_diff=True)["diff"] == [diff]
    assert "diff" not in results.config_result([entry], [diff], with_diff=False)


def test_settings_the_engine_did_not_take_fail_the_container():
    wanted = {"autostart": True, "resources.memory": 1024}
    assert wf.config_not_applied("app", _config.applied(BEFORE, wanted), wanted) is None
    assert wf.config_not_applied("app", BEFORE, wanted) == (
        "the engine accepted the change of 'app' but still reports different autostart, resources.memory"
    )


def test_a_refused_update_says_what_was_asked_without_environment_values():
    changes = {"autostart": True, "environment_vars": {"SECRET": "x"}, "resources.cpus": 0.5}
    assert wf.config_update_failed("no", changes) == "no (asked: autostart=True, resources.cpus=0.5)"
    assert wf.config_update_failed("no", {"environment_vars": {"SECRET": "x"}}) == "no (asked: environment_vars.SECRET)"


# Aliases ------------------------------------------------------------------------------------------

BLUE, GREEN = container(name="blue", id="b1"), container(name="green", id="g1")


def holder(state: ContainerState, in_sync: bool = True, url: str | None = None) -> dict:
    entry = {"name": state.name, "id": state.id, "in_sync": in_sync}
    if url:
        entry.update(url=url, private={"id": "r-" + state.id, "url": url})
    return entry


HOLDERS = {
    "nobody": [],
    "blue": [holder(BLUE)],
    "blue out of sync": [holder(BLUE, in_sync=False)],
    "green": [holder(GREEN)],
    "blue and green": [holder(BLUE), holder(GREEN)],
}
ALIAS_CASES = list(itertools.product(HOLDERS, ("blue", "green", None)))


@pytest.mark.parametrize(("holders", "target"), ALIAS_CASES)
def test_every_alias_combination(holders, target):
    now = HOLDERS[holders]
    target_state = {"blue": BLUE, "green": GREEN, None: None}[target]
    plan = wf.plan_alias("web", target_state, now)
    in_place = (target is None and not now) or (len(now) == 1 and now[0]["id"] == getattr(target_state, "id", None)
                                                and now[0]["in_sync"])  # fmt: skip
    assert plan.in_place == in_place
    assert plan.previous == [entry["name"] for entry in now]
    assert plan.holders == (plan.previous if in_place else [target] if target else [])
    assert plan.target is target_state
    # The gap is reported only when the alias leaves another container for the target.
    assert plan.moves_away == (target is not None and any(entry["name"] != target for entry in now))
    if in_place:
        assert wf.alias_not_moved(plan, plan.holders) is None
    check_mode = results.alias_result(plan, plan.holders, None, with_diff=True)  # check mode: nothing moved
    assert check_mode["changed"] == (not in_place)
    assert check_mode["previous"] == plan.previous and check_mode["holders"] == plan.holders
    assert check_mode["window_ms"] is None and "url" not in check_mode
    assert check_mode["target"] == ({"id": target_state.id, "name": target} if target else None)
    assert check_mode["diff"]["before"] == "".join(f"web: {name}\n" for name in plan.previous)
    assert check_mode["diff"]["after"] == "".join(f"web: {name}\n" for name in plan.holders)
    assert check_mode["diff"]["before_header"] == check_mode["diff"]["after_header"] == "holders of web"


def test_a_moved_alias_reports_the_gap_and_the_engines_url():
    plan = wf.plan_alias("web", GREEN, [holder(BLUE, url="http://old")])
    result = results.alias_result(plan, ["green"], {"window_ms": 42, "url": "http://new"}, with_diff=False)
    assert result == {"changed": True, "alias": "web", "target": {"id": "g1", "name": "green"},
                      "previous": ["blue"], "holders": ["green"], "window_ms": 42, "url": "http://new"}  # fmt: skip


def test_a_holder_out_of_sync_is_updated_in_place_without_a_gap():
    plan = wf.plan_alias("web", BLUE, [holder(BLUE, in_sync=False, url="http://old")])
    assert not plan.in_place and not plan.moves_away and plan.url is None
    result = results.alias_result(plan, ["blue"], {"window_ms": None, "url": "http://shop"}, with_diff=False)
    assert result["changed"] and result["window_ms"] is None and result["url"] == "http://shop"


def test_an_alias_in_place_reports_the_url_the_engine_recorded():
    plan = wf.plan_alias("web", BLUE, [holder(BLUE, url="http://shop")])
    assert plan.in_place and plan.url == "http://shop"
    assert results.alias_result(plan, plan.holders, None, with_diff=False)["url"] == "http://shop"
    assert wf.recorded_url([holder(BLUE)]) is None
    assert wf.recorded_url([holder(BLUE), holder(GREEN, url="http://g")]) == "http://g"


def test_removing_an_alias_never_reports_a_gap():
    plan = wf.plan_alias("web", None, [holder(BLUE)])
    result = results.alias_result(plan, [], {"window_ms": None, "url": None}, with_diff=False)
    assert result["changed"] and result["holders"] == [] and result["target"] is None and result["window_ms"] is None


@pytest.mark.parametrize(
    ("target", "after", "message"),
    [
        (GREEN, ["green"], None),
        (GREEN, ["blue", "green"], "alias 'web' should be held by ['green'] but is held by ['blue', 'green']"),
        (GREEN, [], "alias 'web' should be held by ['green'] but is held by none"),
        (None, [], None),
        (None, ["blue"], "alias 'web' should be held by no container but is held by ['blue']"),
    ],
)
def test_holders_after_a_move_are_checked(target, after, message):
    assert wf.alias_not_moved(wf.plan_alias("web", target, [holder(BLUE)]), after) == message


class AliasRules:
    name = "hoody"
    alias_pattern = re.compile(r"[a-z0-9][a-z0-9-]{1,59}[a-z0-9]")
    alias_rule = "3 to 61 lowercase letters, digits and hyphens, no hyphen at either end"
    network_pattern = Backend.network_pattern
    network_rule = Backend.network_rule


def alias_params(**given) -> dict:
    return {"network": None, "program": "http", "index": None, "port": None, "target_path": None, **given}


def test_alias_options_are_the_engines_options():
    params = alias_params(network="app", port=8080, index=2, target_path="/api", name="x", state="present")
    assert wf.alias_options("shop", params, AliasRules) == {
        "network": "app",
        "program": "http",
        "index": 2,
        "port": 8080,
        "target_path": "/api",
    }


@pytest.mark.parametrize(
    ("alias", "given", "message"),
    [
        ("", {}, "alias must not be empty"),
        ("   ", {}, "alias must not be empty"),
        (None, {}, "alias must not be empty"),
        ("Shop", {}, "alias 'Shop' is not an alias backend hoody allows: 3 to 61 lowercase"),
        (
            "shop",
            {"network": "a/../b"},
            "network 'a/../b' is not a network backend hoody allows: a network name of 1 to 100 characters",
        ),
        ("shop", {"port": 0}, "port must be 1 to 65535, got 0"),
        ("shop", {"port": 65536}, "port must be 1 to 65535, got 65536"),
        ("shop", {"index": 0}, "index must be 1 to 1000, got 0"),
        ("shop", {"index": 1001}, "index must be 1 to 1000, got 1001"),
        ("shop", {"program": ""}, "program must name a program (http, https, ssh or a built-in one), got ''"),
        ("shop", {"program": None}, "program must name a program"),
        ("shop", {"program": "ht\ttp"}, "program must name a program"),
        ("shop", {"target_path": "/a/../b"}, "target_path '/a/../b' must be a plain path"),
        ("shop", {"target_path": "/a\x00"}, "target_path '/a\\x00' must be a plain path"),
        # The first slip is the one named.
        ("", {"port": 0}, "alias must not be empty"),
        ("shop", {"port": 0, "index": 0}, "port must be"),
    ],
)
def test_alias_input_refused_with_the_option_named(alias, given, message):
    with pytest.raises(BadInput) as caught:
        wf.alias_options(alias, alias_params(**given), AliasRules)
    assert str(caught.value).startswith(message)


def test_a_docker_network_is_refused_by_the_network_rule_not_the_container_rule():
    with pytest.raises(BadInput) as caught:
        wf.alias_options("shop", alias_params(network="-app"), BACKEND_CLASSES["docker"])
    assert str(caught.value) == (
        "network '-app' is not a network backend docker allows: a Docker network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*) "
        "or a hex id"
    )


@pytest.mark.parametrize(("port", "index"), [(1, 1), (65535, 1000), (None, None)])
def test_alias_bounds_are_inclusive(port, index):
    assert wf.alias_options("shop", alias_params(port=port, index=index), AliasRules)["port"] == port
