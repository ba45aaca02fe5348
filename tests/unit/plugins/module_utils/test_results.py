# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_results: every module's result built from its entries or its plan, in the shape ``_shapes`` declares; one
``msg`` naming every failed container; nothing backend-private in a result."""

from __future__ import annotations

from ansible_collections.containerops.lifecycle.plugins.module_utils import _results, _shapes
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._workflow import (
    AliasPlan,
    ConfigDone,
    ConfigPlan,
    SnapshotPlan,
)

APP = ContainerState("c1", "app", "running", "running")
NEW = ContainerState("c2", "new", "running", "running")


def entry(name, before, after, changed=True, **extra):
    return {"name": name, "status_before": before, "status": after, "changed": changed, **extra}


def test_a_task_result_is_changed_if_any_container_changed_with_a_diff_sorted_by_name():
    entries = [entry("web", "stopped", "running"), entry("db", "running", "running", changed=False)]
    result = _results.task_result(entries, "container_state", with_diff=True)
    assert result["changed"] is True and result["containers"] == entries and "container" not in result
    assert result["diff"] == {"before": "db: running\nweb: stopped\n", "after": "db: running\nweb: running\n",
                              "before_header": "container status", "after_header": "container status"}  # fmt: skip
    assert "failed" not in result and "msg" not in result


def test_one_container_is_also_reported_alone_and_no_diff_is_given_unasked():
    only = entry("web", "running", "running", changed=False)
    result = _results.task_result([only], "container_state", with_diff=False)
    assert result == {"changed": False, "containers": [only], "container": only}


def test_failed_containers_fail_the_task_with_one_message_naming_each_and_where_it_was_left():
    entries = [
        entry("web", "running", "stopped", error="stop timed out"),
        entry("db", "running", "running", changed=False),
        entry("api", "running", "unknown", error="engine lost"),
    ]
    result = _results.task_result(entries, "container_state", with_diff=False)
    assert result["failed"] is True
    assert result["msg"] == (
        "container_state failed for 2 of 3 container(s): web: stop timed out (left 'stopped'); "
        "api: engine lost (status unknown: the engine could not be asked afterwards)"
    )


def test_a_missing_container_is_its_name_and_exists_false():
    assert _results.missing_container("ghost") == {"name": "ghost", "exists": False}


SNAP = {"name": "snap/pre:new", "alias": "pre", "container": "app", "created_at": None, "stateful": False,
        "size": 3, "private": {"image_id": "sha256:new"}}  # fmt: skip


def test_a_snapshot_result_reports_the_new_snapshot_without_its_private_part():
    plan = SnapshotPlan(actions=("create",), diff_before="", diff_after="pre\n")
    result = _results.snapshot_result(plan, APP, SNAP, with_diff=True)
    assert result == {
        "changed": True,
        "snapshot": _shapes.public(_shapes.Snapshot, SNAP),
        "container": {"id": "c1", "name": "app", "status": "running"},
        "actions": ["create"],
        "diff": {"before": "", "after": "pre\n", "before_header": "app snapshots", "after_header": "app snapshots"},
    }
    assert "private" not in result["snapshot"]


def test_a_snapshot_plan_with_nothing_to_do_reports_the_planned_snapshot_unchanged():
    result = _results.snapshot_result(SnapshotPlan(snapshot=SNAP), APP, None, with_diff=False)
    assert not result["changed"] and result["snapshot"]["name"] == "snap/pre:new" and "diff" not in result


def test_an_alias_moved_away_reports_its_window_and_the_url_the_engine_gave():
    plan = AliasPlan("web", NEW, previous=["app"], holders=["new"], in_place=False, moves_away=True)
    result = _results.alias_result(plan, ["new"], {"window_ms": 12, "url": "https://web.test"}, with_diff=True)
    assert result == {
        "changed": True,
        "alias": "web",
        "target": {"id": "c2", "name": "new"},
        "previous": ["app"],
        "holders": ["new"],
        "window_ms": 12,
        "url": "https://web.test",
        "diff": {"before": "web: app\n", "after": "web: new\n", "before_header": "holders of web",
                 "after_header": "holders of web"},
    }  # fmt: skip


def test_an_alias_in_place_reports_no_window_and_the_url_it_has():
    plan = AliasPlan("web", APP, previous=["app"], holders=["app"], in_place=True, url="https://web.test")
    result = _results.alias_result(plan, ["app"], None, with_diff=False)
    assert not result["changed"] and result["window_ms"] is None and result["url"] == "https://web.test"
    released = AliasPlan("web", None, previous=["app"], holders=[], in_place=False)
    assert _results.alias_result(released, [], {"window_ms": 5}, with_diff=False)["target"] is None


def test_a_config_entry_reports_as_far_as_the_task_got():
    unread = _results.config_entry(APP, error="could not read")
    assert unread["before"] is None and unread["config"] is None and unread["changes"] == []
    assert unread["error"] == "could not read" and not unread["changed"]
    plan = ConfigPlan(before={"autostart": False}, changes={"autostart": True})
    done = ConfigDone(changed=True, after={"autostart": True})
    made = _results.config_entry(APP, plan, done)
    assert made["before"]["autostart"] is False and made["config"]["autostart"] is True
    assert made["changes"] == ["autostart"] and made["changed"] and "error" not in made


def test_a_config_result_spreads_one_container_at_the_top_and_fails_at_the_end():
    plan = ConfigPlan(before={"autostart": False}, changes={"autostart": True})
    one = _results.config_entry(APP, plan, ConfigDone(changed=True, after={"autostart": True}))
    diff = _results.config_diff("app", {"autostart": False}, {"autostart": True}, {"autostart": True})
    result = _results.config_result([one], [diff], with_diff=True)
    assert result["container"] == one and result["changes"] == ["autostart"] and result["diff"] == [diff]
    assert diff == {"before": "autostart: false\n", "after": "autostart: true\n", "before_header": "app settings",
                    "after_header": "app settings"}  # fmt: skip
    failed = _results.config_entry(NEW, plan, error="refused")
    both = _results.config_result([one, failed], [], with_diff=False)
    assert "changes" not in both and "diff" not in both
    assert both["failed"] and both["msg"].startswith("container_config failed for 1 of 2 container(s): new: refused")
