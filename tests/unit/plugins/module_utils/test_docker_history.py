"""Unit tests for plugins/module_utils/_docker_history.py: Docker's events folded into status-log records.

The Docker event fixtures below are real: they were captured from a Docker 20.10.24 engine with
``docker.APIClient().events(since=..., until=..., decode=True, filters={"container": cid})`` while
running the scenario named above each one against a throwaway busybox image. To keep the file
readable each event is stored as (container id, Action, timeNano, extra Attributes) and
``_engine_events`` rebuilds the exact dict the engine sent (checked against a verbatim copy in
``test_fixture_builder_reproduces_raw_engine_event``). Only attributes equal to the container's
initial name/image are factored out; nothing else is dropped or edited.
"""

from __future__ import annotations

import copy
import itertools
import random
import re
from datetime import timezone

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _docker_history

IMAGE = "hist/busybox"
RECORD_KEYS = {
    "id", "container_id", "from_status", "to_status", "transition_time", "duration_ms", "triggered_by",
    "metadata",
}  # fmt: skip
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def _engine_events(names, rows):
    """Rebuild decoded Docker 20.10 container events from (id, action, timeNano, extra attributes)."""
    events = []
    for container_id, action, time_nano, extra in rows:
        attributes = {"image": IMAGE, "name": names[container_id], **extra}
        events.append({
            "status": action,
            "id": container_id,
            "from": IMAGE,
            "Type": "container",
            "Action": action,
            "Actor": {"ID": container_id, "Attributes": attributes},
            "scope": "local",
            "time": time_nano // 10**9,
            "timeNano": time_nano,
        })  # fmt: skip
    return events


# ---------------------------------------------------------------------------------------------
# captured fixtures
#
# GRACEFUL_STOP      sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'; docker stop; docker rm
# ESCALATED_STOP     sleep 1000 as PID 1 (ignores SIGTERM); docker stop -t 1; docker rm
# KILL               sleep 1000; docker kill; docker rm
# PAUSE_UNPAUSE      trap shell; docker pause; docker unpause; docker stop; docker rm
# RESTART            trap shell; docker restart; docker stop; docker rm
# RESTART_ESCALATED  sleep 1000; docker restart -t 1; docker kill; docker rm
# EXIT_CODE_3        sh -c 'sleep 0.3; exit 3'; (exits by itself); docker rm
# RESTART_POLICY     same command with --restart on-failure:1; docker rm
# OOM                shell doubling a string with --memory 8m --memory-swap 8m; docker rm
# PAUSED_STOP        trap shell; docker pause; docker stop -t 2; docker rm
# RM_FORCE           trap shell; docker rm -f
# HUP_THEN_STOP      shell trapping HUP (ignored) and TERM; docker kill -s HUP; docker stop; docker rm
# MULTI              two containers filtered together: A (trap shell with a healthcheck) gets an exec
#                    and docker stop; B is renamed, docker kill, docker start, docker stop, then after
#                    3 s docker restart (of the stopped container); docker rm A; docker rm -f B

RAW_GRACEFUL_KILL_EVENT = {
    "status": "kill",
    "id": "805fb057701c56c23381dddd18910bf48477bc20548f5d773d84e587783f145a",
    "from": "hist/busybox",
    "Type": "container",
    "Action": "kill",
    "Actor": {
        "ID": "805fb057701c56c23381dddd18910bf48477bc20548f5d773d84e587783f145a",
        "Attributes": {"image": "hist/busybox", "name": "hist-graceful-stop", "signal": "15"},
    },
    "scope": "local",
    "time": 1795453492,
    "timeNano": 1795453492268406310,
}

_ID_GRACEFUL_STOP = "805fb057701c56c23381dddd18910bf48477bc20548f5d773d84e587783f145a"

GRACEFUL_STOP = _engine_events(
    {_ID_GRACEFUL_STOP: "hist-graceful-stop"},
    [
        (_ID_GRACEFUL_STOP, "create", 1795453491458065753, {}),
        (_ID_GRACEFUL_STOP, "start", 1795453491750149866, {}),
        (_ID_GRACEFUL_STOP, "kill", 1795453492268406310, {"signal": "15"}),
        (_ID_GRACEFUL_STOP, "die", 1795453492388150235, {"exitCode": "0"}),
        (_ID_GRACEFUL_STOP, "stop", 1795453492444273525, {}),
        (_ID_GRACEFUL_STOP, "destroy", 1795453492756452191, {}),
    ],
)

_ID_ESCALATED_STOP = "16aa30f7193f939259181e188d31056bcc58337d97f1f47d76e969da98e65a96"

ESCALATED_STOP = _engine_events(
    {_ID_ESCALATED_STOP: "hist-escalated-stop"},
    [
        (_ID_ESCALATED_STOP, "create", 1795453494273341630, {}),
        (_ID_ESCALATED_STOP, "start", 1795453494524924795, {}),
        (_ID_ESCALATED_STOP, "kill", 1795453495041211995, {"signal": "15"}),
        (_ID_ESCALATED_STOP, "kill", 1795453496058010398, {"signal": "9"}),
        (_ID_ESCALATED_STOP, "die", 1795453496090181788, {"exitCode": "137"}),
        (_ID_ESCALATED_STOP, "stop", 1795453496142599070, {}),
        (_ID_ESCALATED_STOP, "destroy", 1795453496453540346, {}),
    ],
)

_ID_KILL = "3b674cf5d194d78fa677865f8b1a1fcbb23bbb9692cc73dc195ebd10d4900314"

KILL = _engine_events(
    {_ID_KILL: "hist-kill"},
    [
        (_ID_KILL, "create", 1795453497970279919, {}),
        (_ID_KILL, "start", 1795453498262349544, {}),
        (_ID_KILL, "kill", 1795453498781945454, {"signal": "9"}),
        (_ID_KILL, "die", 1795453498813083743, {"exitCode": "137"}),
        (_ID_KILL, "destroy", 1795453499199467838, {}),
    ],
)

_ID_PAUSE_UNPAUSE = "b44e3db4deecd06048eb684f71d72d3f957f6ee150a5d512be724854b360529d"

PAUSE_UNPAUSE = _engine_events(
    {_ID_PAUSE_UNPAUSE: "hist-pause-unpause"},
    [
        (_ID_PAUSE_UNPAUSE, "create", 1795453500715025383, {}),
        (_ID_PAUSE_UNPAUSE, "start", 1795453501017295766, {}),
        (_ID_PAUSE_UNPAUSE, "pause", 1795453501344245687, {}),
        (_ID_PAUSE_UNPAUSE, "unpause", 1795453501665901555, {}),
        (_ID_PAUSE_UNPAUSE, "kill", 1795453501993159093, {"signal": "15"}),
        (_ID_PAUSE_UNPAUSE, "die", 1795453502110429431, {"exitCode": "0"}),
        (_ID_PAUSE_UNPAUSE, "stop", 1795453502176217624, {}),
        (_ID_PAUSE_UNPAUSE, "destroy", 1795453502491083642, {}),
    ],
)

_ID_RESTART = "0b43a3ac566e4adda7761ee08b9199b5c863c020bd55a2aa5dae10897f5d5e8e"

RESTART = _engine_events(
    {_ID_RESTART: "hist-restart"},
    [
        (_ID_RESTART, "create", 1795453504009202315, {}),
        (_ID_RESTART, "start", 1795453504260305588, {}),
        (_ID_RESTART, "kill", 1795453504780393622, {"signal": "15"}),
        (_ID_RESTART, "die", 1795453504899685161, {"exitCode": "0"}),
        (_ID_RESTART, "stop", 1795453504969073506, {}),
        (_ID_RESTART, "start", 1795453505223195690, {}),
        (_ID_RESTART, "restart", 1795453505223219245, {}),
        (_ID_RESTART, "kill", 1795453505740410164, {"signal": "15"}),
        (_ID_RESTART, "die", 1795453505862413728, {"exitCode": "0"}),
        (_ID_RESTART, "stop", 1795453505919048071, {}),
        (_ID_RESTART, "destroy", 1795453506228289658, {}),
    ],
)

_ID_RESTART_ESCALATED = "a0f1efa156bc0352297131f1188f19ce57d2c5be9ae09b71520300cf0d1dbf6e"

RESTART_ESCALATED = _engine_events(
    {_ID_RESTART_ESCALATED: "hist-restart-escalated"},
    [
        (_ID_RESTART_ESCALATED, "create", 1795453507749407721, {}),
        (_ID_RESTART_ESCALATED, "start", 1795453508021923776, {}),
        (_ID_RESTART_ESCALATED, "kill", 1795453508537485526, {"signal": "15"}),
        (_ID_RESTART_ESCALATED, "kill", 1795453509551228485, {"signal": "9"}),
        (_ID_RESTART_ESCALATED, "die", 1795453509576190628, {"exitCode": "137"}),
        (_ID_RESTART_ESCALATED, "stop", 1795453509631636144, {}),
        (_ID_RESTART_ESCALATED, "start", 1795453509896224522, {}),
        (_ID_RESTART_ESCALATED, "restart", 1795453509896246214, {}),
        (_ID_RESTART_ESCALATED, "kill", 1795453510417508559, {"signal": "9"}),
        (_ID_RESTART_ESCALATED, "die", 1795453510455746332, {"exitCode": "137"}),
        (_ID_RESTART_ESCALATED, "destroy", 1795453510842726015, {}),
    ],
)

_ID_EXIT_CODE_3 = "f28f12d4d201e09a5539e4545cf9734d5af4944b6ed63d60792c109c84ed3f1f"

EXIT_CODE_3 = _engine_events(
    {_ID_EXIT_CODE_3: "hist-exit-code-3"},
    [
        (_ID_EXIT_CODE_3, "create", 1795453512356067325, {}),
        (_ID_EXIT_CODE_3, "start", 1795453512609020446, {}),
        (_ID_EXIT_CODE_3, "die", 1795453512937281025, {"exitCode": "3"}),
        (_ID_EXIT_CODE_3, "destroy", 1795453513311478535, {}),
    ],
)

_ID_RESTART_POLICY = "afec30139043389355c598d3b4bf98b5758a7eb53149dcda051571dd547dfd28"

RESTART_POLICY = _engine_events(
    {_ID_RESTART_POLICY: "hist-restart-policy"},
    [
        (_ID_RESTART_POLICY, "create", 1795453514831022875, {}),
        (_ID_RESTART_POLICY, "start", 1795453515101086731, {}),
        (_ID_RESTART_POLICY, "die", 1795453515427622057, {"exitCode": "3"}),
        (_ID_RESTART_POLICY, "start", 1795453515769469748, {}),
        (_ID_RESTART_POLICY, "die", 1795453516103118609, {"exitCode": "3"}),
        (_ID_RESTART_POLICY, "destroy", 1795453518414584522, {}),
    ],
)

_ID_OOM = "cdd84dc852a58f136aa200e39c0c6e0bc4511f19ecb8d40d255e4438eaaf092a"

OOM = _engine_events(
    {_ID_OOM: "hist-oom"},
    [
        (_ID_OOM, "create", 1795453519940313465, {}),
        (_ID_OOM, "start", 1795453520223962444, {}),
        (_ID_OOM, "oom", 1795453520243291116, {}),
        (_ID_OOM, "die", 1795453520270585502, {"exitCode": "137"}),
        (_ID_OOM, "destroy", 1795453520647187286, {}),
    ],
)

_ID_PAUSED_STOP = "27fba038adb89864342cb3e2af7d60b1d522e3a988d9ba513be514f98ab8c200"

PAUSED_STOP = _engine_events(
    {_ID_PAUSED_STOP: "hist-paused-stop"},
    [
        (_ID_PAUSED_STOP, "create", 1795453563322204951, {}),
        (_ID_PAUSED_STOP, "start", 1795453563604171450, {}),
        (_ID_PAUSED_STOP, "pause", 1795453563946658363, {}),
        (_ID_PAUSED_STOP, "kill", 1795453564286647398, {"signal": "15"}),
        (_ID_PAUSED_STOP, "unpause", 1795453564292689059, {}),
        (_ID_PAUSED_STOP, "die", 1795453564325907571, {"exitCode": "0"}),
        (_ID_PAUSED_STOP, "stop", 1795453564394261883, {}),
        (_ID_PAUSED_STOP, "destroy", 1795453564707851840, {}),
    ],
)

_ID_RM_FORCE = "03c28aead158540fdf5c4e0cd599f49e1cc41e798b08660a502c1467a19e725c"

RM_FORCE = _engine_events(
    {_ID_RM_FORCE: "hist-rm-force"},
    [
        (_ID_RM_FORCE, "create", 1795453569924165758, {}),
        (_ID_RM_FORCE, "start", 1795453570183268050, {}),
        (_ID_RM_FORCE, "kill", 1795453570501743369, {"signal": "9"}),
        (_ID_RM_FORCE, "die", 1795453570541437926, {"exitCode": "137"}),
        (_ID_RM_FORCE, "destroy", 1795453570607370622, {}),
    ],
)

_ID_HUP_THEN_STOP = "5cad5f86ec2027bea0ce7c1f77b74199ad906cf198152dcd41586716f9564d66"

HUP_THEN_STOP = _engine_events(
    {_ID_HUP_THEN_STOP: "hist-hup-then-stop"},
    [
        (_ID_HUP_THEN_STOP, "create", 1795453572423728846, {}),
        (_ID_HUP_THEN_STOP, "start", 1795453572668611709, {}),
        (_ID_HUP_THEN_STOP, "kill", 1795453572984276702, {"signal": "1"}),
        (_ID_HUP_THEN_STOP, "kill", 1795453573299281487, {"signal": "15"}),
        (_ID_HUP_THEN_STOP, "die", 1795453573403149838, {"exitCode": "0"}),
        (_ID_HUP_THEN_STOP, "stop", 1795453573492471155, {}),
        (_ID_HUP_THEN_STOP, "destroy", 1795453573802368354, {}),
    ],
)

_ID_MULTI_A = "bce8e5d814ca9d144ad72cfd863e17cc677efedd4f000e26621fa19500336dc6"

_ID_MULTI_B = "732a9c8843fe10c1be6957dbdc835fdc0057070764c2b699fc74973a42d7292b"

MULTI = _engine_events(
    {_ID_MULTI_A: "hist-multi-a", _ID_MULTI_B: "hist-multi-b"},
    [
        (_ID_MULTI_A, "create", 1795453644975893739, {}),
        (_ID_MULTI_A, "start", 1795453645257979780, {}),
        (_ID_MULTI_B, "create", 1795453645273121536, {}),
        (_ID_MULTI_B, "start", 1795453645617190965, {}),
        (_ID_MULTI_A, "exec_create: sh -c exit 0", 1795453645754790513,
         {"execID": "3aa2708766796f5fb0b321c74bbb68b0189f62b16966b50ea801e20b43817476"}),
        (_ID_MULTI_A, "exec_start: sh -c exit 0", 1795453645754798335,
         {"execID": "3aa2708766796f5fb0b321c74bbb68b0189f62b16966b50ea801e20b43817476"}),
        (_ID_MULTI_A, "exec_die", 1795453645830961432,
         {"execID": "3aa2708766796f5fb0b321c74bbb68b0189f62b16966b50ea801e20b43817476", "exitCode": "0"}),
        (_ID_MULTI_A, "health_status: healthy", 1795453645834207849, {}),
        (_ID_MULTI_A, "exec_create: sh -c exit 0", 1795453646334485898,
         {"execID": "c8d35fc1371dea28979385c3ec49a95b64b75304b9cd972102ffcd0a2bb0c262"}),
        (_ID_MULTI_A, "exec_start: sh -c exit 0", 1795453646334533668,
         {"execID": "c8d35fc1371dea28979385c3ec49a95b64b75304b9cd972102ffcd0a2bb0c262"}),
        (_ID_MULTI_A, "exec_die", 1795453646400439370,
         {"execID": "c8d35fc1371dea28979385c3ec49a95b64b75304b9cd972102ffcd0a2bb0c262", "exitCode": "0"}),
        (_ID_MULTI_A, "exec_create: sh -c exit 0", 1795453646909723484,
         {"execID": "ca8a8ef26da6a8cbcbb521310963bf6c768eb93b5c4ea63b85ea2d09b8ae3f0a"}),
        (_ID_MULTI_A, "exec_start: sh -c exit 0", 1795453646909731025,
         {"execID": "ca8a8ef26da6a8cbcbb521310963bf6c768eb93b5c4ea63b85ea2d09b8ae3f0a"}),
        (_ID_MULTI_A, "exec_die", 1795453646978744494,
         {"execID": "ca8a8ef26da6a8cbcbb521310963bf6c768eb93b5c4ea63b85ea2d09b8ae3f0a", "exitCode": "0"}),
        (_ID_MULTI_A, "exec_create: sh -c exit 0", 1795453647121689857,
         {"execID": "5ca53831fa895ed04d6c229611d0258d9d6c7ef0340a5297e904c82edfef0fc0"}),
        (_ID_MULTI_A, "exec_start: sh -c exit 0", 1795453647124358944,
         {"execID": "5ca53831fa895ed04d6c229611d0258d9d6c7ef0340a5297e904c82edfef0fc0"}),
        (_ID_MULTI_A, "exec_die", 1795453647186047334,
         {"execID": "5ca53831fa895ed04d6c229611d0258d9d6c7ef0340a5297e904c82edfef0fc0", "exitCode": "0"}),
        (_ID_MULTI_B, "rename", 1795453647201583534, {"name": "hist-multi-b2", "oldName": "/hist-multi-b"}),
        (_ID_MULTI_A, "kill", 1795453647218222099, {"signal": "15"}),
        (_ID_MULTI_A, "die", 1795453647343758380, {"exitCode": "0"}),
        (_ID_MULTI_A, "stop", 1795453647411369225, {}),
        (_ID_MULTI_B, "kill", 1795453647431806761, {"name": "hist-multi-b2", "signal": "9"}),
        (_ID_MULTI_B, "die", 1795453647476428858, {"exitCode": "137", "name": "hist-multi-b2"}),
        (_ID_MULTI_B, "start", 1795453648050357298, {"name": "hist-multi-b2"}),
        (_ID_MULTI_B, "kill", 1795453648368370376, {"name": "hist-multi-b2", "signal": "15"}),
        (_ID_MULTI_B, "die", 1795453648493937013, {"exitCode": "0", "name": "hist-multi-b2"}),
        (_ID_MULTI_B, "stop", 1795453648554198353, {"name": "hist-multi-b2"}),
        (_ID_MULTI_B, "start", 1795453651843814999, {"name": "hist-multi-b2"}),
        (_ID_MULTI_B, "restart", 1795453651843860076, {"name": "hist-multi-b2"}),
        (_ID_MULTI_A, "destroy", 1795453652154027549, {}),
        (_ID_MULTI_B, "kill", 1795453652172141381, {"name": "hist-multi-b2", "signal": "9"}),
        (_ID_MULTI_B, "die", 1795453652215155739, {"exitCode": "137", "name": "hist-multi-b2"}),
        (_ID_MULTI_B, "destroy", 1795453652326462973, {"name": "hist-multi-b2"}),
    ],
)


# ---------------------------------------------------------------------------------------------
# helpers

UTC = timezone.utc


def _summary(records):
    """(from, to, operation, duration_ms, triggered_by) per record."""
    return [
        (r["from_status"], r["to_status"], r["metadata"]["operation"], r["duration_ms"], r["triggered_by"])
        for r in records
    ]


def _only(records, operation):
    """The single record with this operation."""
    found = [r for r in records if r["metadata"]["operation"] == operation]
    assert len(found) == 1, found
    return found[0]


def _shift(events, from_index, seconds):
    """Copy of ``events`` with every event from ``from_index`` on moved ``seconds`` later."""
    moved = copy.deepcopy(events)
    for event in moved[from_index:]:
        event["timeNano"] += seconds * 10**9
        event["time"] = event["timeNano"] // 10**9
    return moved


# ---------------------------------------------------------------------------------------------
# records_from_docker_events: captured scenarios


def test_fixture_builder_reproduces_raw_engine_event():
    assert GRACEFUL_STOP[2] == RAW_GRACEFUL_KILL_EVENT


def test_docker_event_actions_is_the_engine_filter():
    assert isinstance(_docker_history.DOCKER_EVENT_ACTIONS, tuple)
    assert set(_docker_history.DOCKER_EVENT_ACTIONS) == {
        "create", "start", "kill", "die", "oom", "stop", "pause", "unpause", "restart", "destroy",
    }  # fmt: skip


def test_record_shape_id_and_time_format():
    records = _docker_history.records_from_docker_events(GRACEFUL_STOP)
    for record in records:
        assert set(record) == RECORD_KEYS
        assert ISO_Z.match(record["transition_time"]), record["transition_time"]
        assert record["container_id"] == _ID_GRACEFUL_STOP
        assert "operation" in record["metadata"]
        assert record["metadata"]["name"] == "hist-graceful-stop"
        assert record["metadata"]["image"] == IMAGE
    assert records[0]["id"] == "805fb057701c-1795453491458065753"
    assert records[0]["transition_time"] == "2026-11-23T17:04:51.458065Z"
    assert records[0]["from_status"] is None


def test_graceful_stop():
    records = _docker_history.records_from_docker_events(GRACEFUL_STOP)
    assert _summary(records) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "stopped", "stop", 120, "api"),
        ("stopped", "absent", "delete", None, "api"),
    ]
    stop = records[2]
    # transition_time and id come from the die event, not from the later stop event
    assert stop["id"] == "805fb057701c-1795453492388150235"
    assert stop["transition_time"] == "2026-11-23T17:04:52.388150Z"
    assert stop["metadata"]["exit_code"] == 0
    assert stop["metadata"]["signals"] == ["SIGTERM"]
    assert stop["metadata"]["escalated"] is False
    assert stop["metadata"]["events"] == ["kill", "die", "stop"]


def test_stop_of_process_ignoring_sigterm_is_escalated():
    records = _docker_history.records_from_docker_events(ESCALATED_STOP)
    assert _summary(records)[2] == ("running", "stopped", "stop", 1049, "api")
    meta = records[2]["metadata"]
    assert meta["signals"] == ["SIGTERM", "SIGKILL"]
    assert meta["escalated"] is True
    assert meta["exit_code"] == 137
    assert meta["events"] == ["kill", "kill", "die", "stop"]


def test_docker_kill_is_force_stop():
    records = _docker_history.records_from_docker_events(KILL)
    assert _summary(records) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "stopped", "force-stop", 31, "api"),
        ("stopped", "absent", "delete", None, "api"),
    ]
    meta = records[2]["metadata"]
    assert meta["signals"] == ["SIGKILL"]
    assert meta["escalated"] is False
    assert meta["exit_code"] == 137
    assert meta["events"] == ["kill", "die"]


def test_pause_and_unpause():
    records = _docker_history.records_from_docker_events(PAUSE_UNPAUSE)
    assert _summary(records) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "paused", "pause", None, "api"),
        ("paused", "running", "resume", None, "api"),
        ("running", "stopped", "stop", 117, "api"),
        ("stopped", "absent", "delete", None, "api"),
    ]
    assert records[3]["metadata"]["events"] == ["unpause"]


def test_stop_of_paused_container_folds_the_internal_unpause():
    records = _docker_history.records_from_docker_events(PAUSED_STOP)
    assert _summary(records) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "paused", "pause", None, "api"),
        ("paused", "stopped", "stop", 39, "api"),
        ("stopped", "absent", "delete", None, "api"),
    ]
    assert records[3]["metadata"]["events"] == ["kill", "unpause", "die", "stop"]


def test_docker_restart_is_one_record():
    records = _docker_history.records_from_docker_events(RESTART)
    assert _summary(records) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "running", "restart", 443, "api"),
        ("running", "stopped", "stop", 122, "api"),
        ("stopped", "absent", "delete", None, "api"),
    ]
    restart = records[2]
    assert restart["id"] == "0b43a3ac566e-1795453505223219245"
    assert restart["transition_time"] == "2026-11-23T17:05:05.223219Z"
    assert restart["metadata"]["events"] == ["kill", "die", "stop", "start", "restart"]
    assert restart["metadata"]["signals"] == ["SIGTERM"]
    assert restart["metadata"]["escalated"] is False
    assert restart["metadata"]["exit_code"] == 0


def test_escalated_restart_keeps_signals_and_exit_code():
    records = _docker_history.records_from_docker_events(RESTART_ESCALATED)
    assert _summary(records) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "running", "restart", 1359, "api"),
        ("running", "stopped", "force-stop", 38, "api"),
        ("stopped", "absent", "delete", None, "api"),
    ]
    meta = records[2]["metadata"]
    assert meta["signals"] == ["SIGTERM", "SIGKILL"]
    assert meta["escalated"] is True
    assert meta["exit_code"] == 137


def test_restart_is_not_folded_when_start_comes_long_after_the_stop():
    # Same capture, with the restart's start part moved 5 s later (beyond the fold window).
    events = _shift(RESTART, 5, 5)
    assert [e["Action"] for e in events[4:7]] == ["stop", "start", "restart"]
    records = _docker_history.records_from_docker_events(events)
    assert _summary(records)[2:4] == [
        ("running", "stopped", "stop", 119, "api"),
        ("stopped", "running", "restart", None, "api"),
    ]


def test_kill_then_quick_restart_is_not_folded():
    # Without the stop event the stop part was a docker kill, not the stop phase of docker restart.
    events = [e for e in RESTART if not (e["Action"] == "stop" and e["timeNano"] < 1795453505000000000)]
    records = _docker_history.records_from_docker_events(events)
    assert _summary(records)[2:4] == [
        ("running", "stopped", "stop", 119, "api"),
        ("stopped", "running", "restart", None, "api"),
    ]


def test_process_exiting_on_its_own():
    records = _docker_history.records_from_docker_events(EXIT_CODE_3)
    assert _summary(records) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "stopped", "exit", None, "engine"),
        ("stopped", "absent", "delete", None, "api"),
    ]
    assert records[2]["metadata"]["exit_code"] == 3
    assert records[2]["metadata"]["signals"] == []
    assert records[2]["metadata"]["events"] == ["die"]


def test_restart_policy_start_is_attributed_to_the_engine():
    records = _docker_history.records_from_docker_events(RESTART_POLICY)
    assert _summary(records) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "stopped", "exit", None, "engine"),
        ("stopped", "running", "start", None, "engine"),
        ("running", "stopped", "exit", None, "engine"),
        ("stopped", "absent", "delete", None, "api"),
    ]
    assert records[3]["metadata"]["auto_restart"] is True
    assert "auto_restart" not in records[1]["metadata"]


def test_start_long_after_an_exit_is_attributed_to_the_api():
    events = _shift(RESTART_POLICY, 3, 120)
    assert events[3]["Action"] == "start"
    records = _docker_history.records_from_docker_events(events)
    assert _summary(records)[3] == ("stopped", "running", "start", None, "api")
    assert "auto_restart" not in records[3]["metadata"]


def test_oom_kill():
    records = _docker_history.records_from_docker_events(OOM)
    assert _summary(records)[2] == ("running", "stopped", "oom", None, "engine")
    assert records[2]["metadata"]["exit_code"] == 137
    assert records[2]["metadata"]["events"] == ["oom", "die"]


def test_rm_force_of_running_container():
    records = _docker_history.records_from_docker_events(RM_FORCE)
    assert _summary(records) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "stopped", "force-stop", 40, "api"),
        ("stopped", "absent", "delete", None, "api"),
    ]


def test_notify_signal_before_stop_is_listed_but_does_not_start_the_stop():
    records = _docker_history.records_from_docker_events(HUP_THEN_STOP)
    stop = records[2]
    assert _summary([stop]) == [("running", "stopped", "stop", 104, "api")]
    assert stop["metadata"]["signals"] == ["SIGHUP", "SIGTERM"]
    assert stop["metadata"]["escalated"] is False


def test_die_after_only_a_notify_signal_is_an_exit():
    events = [
        e for e in HUP_THEN_STOP if e["Action"] != "stop" and e["Actor"]["Attributes"].get("signal") != "15"
    ]
    records = _docker_history.records_from_docker_events(events)
    assert _summary(records)[2] == ("running", "stopped", "exit", None, "engine")
    assert records[2]["metadata"]["signals"] == ["SIGHUP"]


def test_stop_event_without_kill_marks_a_requested_stop():
    # The events window began between the kill and the die.
    events = [e for e in GRACEFUL_STOP if e["Action"] != "kill"]
    records = _docker_history.records_from_docker_events(events)
    assert _summary(records)[2] == ("running", "stopped", "stop", None, "api")
    assert records[2]["metadata"]["events"] == ["die", "stop"]


def test_window_starting_mid_life():
    events = [e for e in RESTART if e["timeNano"] >= 1795453504780393622]  # from the restart's kill on
    records = _docker_history.records_from_docker_events(events)
    assert _summary(records)[0] == ("running", "running", "restart", 443, "api")
    only_restart = [e for e in RESTART if e["Action"] == "restart"]
    assert _summary(_docker_history.records_from_docker_events(only_restart)) == [
        ("running", "running", "restart", None, "api")
    ]


def test_multiple_containers_ignored_actions_and_restart_of_stopped_container():
    records = _docker_history.records_from_docker_events(MULTI)
    times = [r["transition_time"] for r in records]
    assert times == sorted(times)
    a = [r for r in records if r["container_id"] == _ID_MULTI_A]
    b = [r for r in records if r["container_id"] == _ID_MULTI_B]
    assert len(a) + len(b) == len(records)
    assert _summary(a) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "stopped", "stop", 126, "api"),
        ("stopped", "absent", "delete", None, "api"),
    ]
    assert _summary(b) == [
        (None, "stopped", "create", None, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "stopped", "force-stop", 45, "api"),
        ("stopped", "running", "start", None, "api"),
        ("running", "stopped", "stop", 126, "api"),
        ("stopped", "running", "restart", None, "api"),
        ("running", "stopped", "force-stop", 43, "api"),
        ("stopped", "absent", "delete", None, "api"),
    ]
    # exec_*, health_status and rename are in the capture but never in a record
    actions = {e["Action"].split(":")[0] for e in MULTI}
    assert {"exec_create", "exec_start", "exec_die", "health_status", "rename"} <= actions
    folded = set(itertools.chain.from_iterable(r["metadata"]["events"] for r in records))
    assert folded <= set(_docker_history.DOCKER_EVENT_ACTIONS)
    assert b[-1]["metadata"]["name"] == "hist-multi-b2"


def test_input_order_and_duplicates_do_not_matter():
    expected = _docker_history.records_from_docker_events(MULTI)
    events = copy.deepcopy(MULTI) + copy.deepcopy(MULTI[:10])
    random.Random(7).shuffle(events)
    assert _docker_history.records_from_docker_events(events) == expected


def test_legacy_and_second_precision_events():
    legacy = [{k: e[k] for k in ("status", "id", "from", "time", "timeNano")} for e in KILL]
    for event, original in zip(legacy, KILL):
        if "signal" in original["Actor"]["Attributes"] or "exitCode" in original["Actor"]["Attributes"]:
            event["Actor"] = {"Attributes": original["Actor"]["Attributes"]}
    assert _summary(_docker_history.records_from_docker_events(legacy)) == _summary(
        _docker_history.records_from_docker_events(KILL)
    )
    coarse = copy.deepcopy(KILL)
    for event in coarse:
        del event["timeNano"]
    records = _docker_history.records_from_docker_events(coarse)
    assert records[0]["transition_time"] == "2026-11-23T17:04:57.000000Z"
    assert records[0]["id"] == "3b674cf5d194-1795453497000000000"


def test_other_event_types_and_empty_input_are_ignored():
    # a network/volume "create" or "destroy" must not look like a container's
    network = {
        "Type": "network", "Action": "create", "time": 1795453498, "timeNano": 1795453498000000000,
        "Actor": {"ID": "f" * 64, "Attributes": {"name": "hist-net", "type": "bridge"}},
    }  # fmt: skip
    volume = {**network, "Type": "volume", "Action": "destroy", "Actor": {"ID": "hist-vol", "Attributes": {}}}
    assert _docker_history.records_from_docker_events([]) == []
    assert _docker_history.records_from_docker_events([network, volume]) == []
    assert _summary(_docker_history.records_from_docker_events([*KILL, network, volume])) == _summary(
        _docker_history.records_from_docker_events(KILL)
    )


# Captured on Docker 20.10: sh traps SIGQUIT and goes on; `docker kill -s QUIT`; 2 s later the process is
# killed with `kill -9` on the host, outside the engine (a crash, the kernel, an operator on the host).
_ID_QUIT = "9a1c0ffee0d15ea5e5eed0000000000000000000000000000000000000000001"
QUIT_THEN_CRASH = _engine_events(
    {_ID_QUIT: "lead-quit"},
    [
        (_ID_QUIT, "create", 1796531119351372952, {}),
        (_ID_QUIT, "start", 1796531120135088270, {}),
        (_ID_QUIT, "kill", 1796531121263435684, {"signal": "3"}),
        (_ID_QUIT, "die", 1796531123503215416, {"exitCode": "137"}),
    ],
)
# Captured on Docker 20.10: sh traps SIGTERM with `exit 0`; `docker kill -s TERM` (no docker stop).
_ID_TERM = "7e57ab1e0d15ea5e5eed0000000000000000000000000000000000000000002"
TERM_HANDLED = _engine_events(
    {_ID_TERM: "lead-term"},
    [
        (_ID_TERM, "create", 1796531124849722464, {}),
        (_ID_TERM, "start", 1796531125437774792, {}),
        (_ID_TERM, "kill", 1796531126509343111, {"signal": "15"}),
        (_ID_TERM, "die", 1796531126693506761, {"exitCode": "0"}),
    ],
)


@pytest.mark.parametrize("later", [0, 5, 3600])
def test_a_crash_after_a_handled_signal_is_an_exit_however_soon(later):
    records = _docker_history.records_from_docker_events(_shift(QUIT_THEN_CRASH, 3, later))
    assert _summary(records)[2] == ("running", "stopped", "exit", None, "engine")
    assert records[2]["metadata"]["signals"] == ["SIGQUIT"] and records[2]["metadata"]["exit_code"] == 137


def test_a_signal_the_process_handles_by_exiting_is_a_requested_stop():
    records = _docker_history.records_from_docker_events(TERM_HANDLED)
    assert _summary(records)[2] == ("running", "stopped", "stop", 184, "api")


def test_an_exit_of_its_own_long_after_a_handled_signal_is_an_exit():
    records = _docker_history.records_from_docker_events(_shift(TERM_HANDLED, 3, 1800))
    assert _summary(records)[2] == ("running", "stopped", "exit", None, "engine")


def test_a_docker_kill_long_after_a_handled_signal_opens_its_own_force_stop():
    kill = copy.deepcopy(QUIT_THEN_CRASH[2])
    kill["Actor"]["Attributes"]["signal"] = "9"
    kill["timeNano"] = QUIT_THEN_CRASH[3]["timeNano"] + 3600 * 10**9 - 30_000_000
    events = _shift(QUIT_THEN_CRASH, 3, 3600)
    records = _docker_history.records_from_docker_events([*events[:3], kill, events[3]])
    assert _summary(records)[2] == ("running", "stopped", "force-stop", 30, "api")
    assert records[2]["metadata"]["signals"] == ["SIGQUIT", "SIGKILL"]


@pytest.mark.parametrize(("exit_code", "signal"), [
    (137, "SIGKILL"), (143, "SIGTERM"), (131, "SIGQUIT"), (129, "SIGHUP"), (159, "SIGSYS"),
    (0, None), (1, None), (128, None), (160, None), (255, None), (None, None),
])  # fmt: skip
def test_the_fatal_signal_is_read_from_the_exit_code(exit_code, signal):
    assert _docker_history.fatal_signal(exit_code) == signal


S = 10**9


@pytest.mark.parametrize(("kills", "die_ns", "exit_code", "opening"), [
    ([], 10 * S, 137, None),  # killed, but not through the engine
    ([(0, "SIGQUIT")], 10 * S, 137, None),  # the engine sent a signal, but not the one that killed it
    ([(0, "SIGTERM"), (10 * S, "SIGKILL")], 10 * S, 137, (0, "SIGTERM")),  # an escalated stop
    ([(0, "SIGTERM")], 1 * S, 143, (0, "SIGTERM")),  # killed by the engine's SIGTERM
    ([(0, "SIGHUP"), (1 * S, "SIGTERM")], 2 * S, 0, (1 * S, "SIGTERM")),  # a notify signal opens nothing
    ([(0, "SIGHUP")], 1 * S, 0, None),
    ([(0, "SIGTERM")], 20 * S, 0, (0, "SIGTERM")),  # a graceful exit within the window
    ([(0, "SIGTERM")], 20 * S + 1, 0, None),  # ... and just after it
    ([(0, "SIGTERM"), (3600 * S, "SIGKILL")], 3600 * S, 137, (3600 * S, "SIGKILL")),  # an old request is over
    ([(0, "SIGTERM"), (600 * S, "SIGKILL")], 600 * S, 137, (0, "SIGTERM")),  # a long stop timeout
])  # fmt: skip
def test_which_kill_opens_a_requested_stop(kills, die_ns, exit_code, opening):
    assert _docker_history.requested_stop_opening(kills, die_ns, exit_code) == opening


@pytest.mark.parametrize(
    ("raw", "name", "operation"),
    [("15", "SIGTERM", "stop"), ("9", "SIGKILL", "force-stop"), ("2", "SIGINT", "stop"),
     ("64", "SIG64", "stop"), ("SIGQUIT", "SIGQUIT", "stop"), ("term", "SIGTERM", "stop"),
     ("10", "SIGUSR1", "exit")],  # a notify signal alone does not make the die a requested stop
)  # fmt: skip
def test_kill_signal_names(raw, name, operation):
    events = copy.deepcopy(KILL)
    events[2]["Actor"]["Attributes"]["signal"] = raw
    if name != "SIGKILL":  # the process handled the signal and exited right away
        events[3]["Actor"]["Attributes"]["exitCode"] = "0"
    records = _docker_history.records_from_docker_events(events)
    assert records[2]["metadata"]["signals"] == [name]
    assert records[2]["metadata"]["operation"] == operation


def test_two_kills_at_the_same_nanosecond_are_two_signals_and_a_repeated_one_is_one():
    """Duplicates are dropped by container, time, action and signal: a SIGTERM and a SIGKILL the engine stamped
    with the same time are both kept (the stop was escalated), a SIGKILL seen twice counts once."""
    events = copy.deepcopy(ESCALATED_STOP)
    kills = [event for event in events if event["Action"] == "kill"]
    assert [kill["Actor"]["Attributes"]["signal"] for kill in kills] == ["15", "9"]
    kills[1]["timeNano"], kills[1]["time"] = kills[0]["timeNano"], kills[0]["time"]
    events.append(copy.deepcopy(kills[1]))
    meta = _docker_history.records_from_docker_events(events)[2]["metadata"]
    assert (meta["signals"], meta["escalated"], meta["exit_code"]) == (["SIGTERM", "SIGKILL"], True, 137)
    assert meta["events"] == ["kill", "kill", "die", "stop"]
