"""Faults a real REST server injects, and what the collection does about them.

Each test drives a real ``ansible-playbook`` against the Hoody or Dockhand test server on 127.0.0.1,
which sits on the real Docker engine; faults are switched on through the server's admin API.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
import requests

from tests.integration.conftest import (
    CONNECTED_PLAY,
    DOCKHAND_PASSWORD,
    DOCKHAND_USER,
    HOODY_TOKEN,
    hoody_connection,
    run_playbook,
    task,
    task_results,
)


def hoody_id(engine, name: str) -> str:
    return engine.containers.get(name).id[:24]


def test_transient_faults_on_reads_are_retried(hoody_server, make_containers, tmp_path):
    make_containers("rf-read")
    hoody_server.admin("faults", {"status_503": 2, "only_methods": ["GET"]})
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=task("container_info", "name: rf-read")),
                                {"connection": hoody_connection(hoody_server)})
    assert out and not out.get("failed"), process.stdout[-3000:]
    assert out["container"]["status"] == "stopped"
    hoody_server.admin("faults", {"status_429": 1, "retry_after": 1, "only_methods": ["GET"]})
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=task("container_info", "name: rf-read")),
                                {"connection": hoody_connection(hoody_server)})
    assert out and not out.get("failed"), process.stdout[-3000:]
    statuses = [entry.get("status") for entry in hoody_server.requests_log()]
    assert 429 in statuses and 503 in statuses


def test_slow_responses_still_converge(hoody_server, make_containers, tmp_path):
    make_containers("rf-slow")
    hoody_server.admin("faults", {"delay_ms": 300})
    tasks = task("container_state", "name: rf-slow\nstate: started")
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks),
                                {"connection": hoody_connection(hoody_server)})
    assert out and not out.get("failed"), process.stdout[-3000:]
    assert out["container"]["status"] == "running" and out["changed"]


def test_a_dropped_post_is_not_resent_blindly(hoody_server, make_containers, tmp_path, engine):
    make_containers("rf-drop")
    hoody_server.admin("faults", {"drop": 1, "only_methods": ["POST"]})
    tasks = task("container_state", "name: rf-drop\nstate: started")
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks),
                                {"connection": hoody_connection(hoody_server)})
    assert out and not out.get("failed"), process.stdout[-3000:]
    assert out["container"]["status"] == "running"
    log = hoody_server.requests_log()
    methods = [entry["method"] for entry in log if entry["path"].endswith("/start")]
    assert methods == ["POST", "POST"], log
    first, second = [i for i, entry in enumerate(log) if entry["path"].endswith("/start")]
    # Between the dropped POST and the one sent again, the container was read for evidence.
    assert any(entry["method"] == "GET" for entry in log[first + 1:second])
    assert engine.containers.get("rf-drop").status == "running"


def test_a_dropped_get_is_retried(hoody_server, make_containers, tmp_path):
    make_containers("rf-dropget")
    hoody_server.admin("faults", {"drop": 1, "only_methods": ["GET"]})
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=task("container_info", "name: rf-dropget")),
                                {"connection": hoody_connection(hoody_server)})
    assert out and not out.get("failed"), process.stdout[-3000:]
    log = hoody_server.requests_log()
    dropped = [i for i, entry in enumerate(log) if entry["fault"] == "drop"]
    assert len(dropped) == 1 and log[dropped[0]]["method"] == "GET" and log[dropped[0]]["status"] is None, log
    # The same read was sent again, and answered.
    assert any(entry["path"] == log[dropped[0]]["path"] and entry["status"] == 200 for entry in log[dropped[0] + 1:])


def test_a_failed_container_is_refused_then_deletable(hoody_server, make_containers, tmp_path, engine):
    make_containers("rf-failed")
    hoody_server.admin(f"fail/{hoody_id(engine, 'rf-failed')}")
    tasks = task("container_state", "name: rf-failed\nstate: started") + task(
        "container_state", "name: rf-failed\nstate: absent", register="gone")
    tasks += "    - ansible.builtin.set_fact:\n        out: \"{{ {'start': out, 'gone': gone} }}\"\n"
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks),
                                {"connection": hoody_connection(hoody_server)})
    assert out, process.stdout[-3000:]
    assert out["start"]["failed"] and "delete it" in out["start"]["msg"] and "rf-failed" in out["start"]["msg"]
    assert out["start"]["container"]["status"] == "failed"
    assert not out["gone"].get("failed") and out["gone"]["container"]["status"] == "absent"


def test_a_wrong_token_fails_clearly_and_is_never_shown(hoody_server, make_containers, tmp_path):
    make_containers("rf-auth")
    wrong = "hdy_wrong_token_do_not_print_me"
    tasks = task("container_state", "name: rf-auth\nstate: started")
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks),
                                {"connection": hoody_connection(hoody_server, wrong)}, "-vvv")
    assert out["failed"] and "check api_token" in out["msg"]
    assert wrong not in process.stdout + process.stderr


@pytest.mark.parametrize("via", ["option", "environment"])
def test_the_token_never_appears_in_vvv_output(hoody_server, make_containers, via, monkeypatch):
    names = make_containers(f"rf-vvv-{via}-1", f"rf-vvv-{via}-2")
    connection = {"backend": "hoody", "api_url": hoody_server.url}
    if via == "option":
        connection["api_token"] = HOODY_TOKEN
    else:
        monkeypatch.setenv("HOODY_TOKEN", HOODY_TOKEN)
    # ansible-core 2.21 returns the module's arguments (``invocation``) only when asked to; ask, so that -vvv and
    # a debug of the registered result show everything the module was given.
    monkeypatch.setenv("ANSIBLE_INJECT_INVOCATION", "1")
    process = run_playbook("lifecycle.yml", {"connection": connection, "names": names}, "-vvv")
    assert process.returncode == 0, process.stdout[-4000:]
    output = process.stdout + process.stderr
    assert "api_url" in output, output[-4000:]  # the module's arguments really were printed
    assert HOODY_TOKEN not in output


def test_dockhand_logs_in_again_when_its_session_expires_and_never_shows_the_password(
    dockhand_server, make_containers, tmp_path, engine
):
    # `sleep` ignores SIGTERM, so Dockhand's stop takes Docker's default 10 s StopTimeout; the sessions
    # are expired while it runs, and the reads that follow it must log in again.
    make_containers("rf-dh", command=["sleep", "1000"])
    tasks = task("container_state", "name: rf-dh\nstate: started", register="up")
    tasks += task("container_state", "name: rf-dh\nstate: stopped")
    connection = {"backend": "dockhand", "api_url": dockhand_server.url, "api_username": DOCKHAND_USER,
                  "api_password": DOCKHAND_PASSWORD, "api_environment": 1}
    # The engine's first kill signal marks the start of the 10 s stop: expire the sessions then.
    events = engine.events(filters={"container": "rf-dh", "event": "kill"}, decode=True)

    def expire_during_the_stop() -> None:
        for _event in events:
            dockhand_server.expire_sessions()
            return

    watcher = threading.Thread(target=expire_during_the_stop, daemon=True)
    watcher.start()
    try:
        process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks), {"connection": connection}, "-vvv")
    finally:
        events.close()
    assert out and not out.get("failed"), process.stdout[-3000:]
    assert out["container"]["status"] == "stopped"
    logins = [entry for entry in dockhand_server.requests() if entry["path"] == "/api/auth/login"]
    assert len(logins) >= 3  # one per module run, plus the one after the expiry
    assert DOCKHAND_PASSWORD not in process.stdout + process.stderr


def test_dockhand_force_stop_is_refused_clearly(dockhand_server, make_containers, tmp_path):
    make_containers("rf-dh-force")
    connection = {"backend": "dockhand", "api_url": dockhand_server.url, "api_username": DOCKHAND_USER,
                  "api_password": DOCKHAND_PASSWORD, "api_environment": 1}
    tasks = task("container_state", "name: rf-dh-force\nstate: started", register="up")
    tasks += task("container_state", "name: rf-dh-force\nstate: stopped\nforce: true")
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks), {"connection": connection})
    assert out["failed"] and "cannot force-stop" in out["msg"], process.stdout[-3000:]
    assert out["container"]["status"] == "running"


def test_dockhand_unknown_environment_is_named(dockhand_server, make_containers, tmp_path):
    connection = {"backend": "dockhand", "api_url": dockhand_server.url, "api_username": DOCKHAND_USER,
                  "api_password": DOCKHAND_PASSWORD, "api_environment": 42}
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=task("container_info", "name: x")),
                                {"connection": connection})
    assert out["failed"] and "Dockhand has no environment 42" in out["msg"], process.stdout[-3000:]




def test_a_hoody_restart_is_waited_for_until_the_platform_records_it(hoody_server, make_containers, tmp_path):
    # The status is 'running' before and after a restart; with a slow platform (2 s before it acts),
    # only the restart's status-log record shows that the restart really happened.
    make_containers("rf-restart")
    tasks = task("container_state", "name: rf-restart\nstate: started", register="up")
    tasks += "    - ansible.builtin.uri:\n        url: \"{{ faults_url }}\"\n        method: POST\n"
    tasks += "        body_format: json\n        body: {accept_delay: 2}\n"
    tasks += task("container_state", "name: rf-restart\nstate: restarted", register="restarted")
    tasks += task("container_status_logs", "name: rf-restart\nlimit: 1")
    tasks += "    - ansible.builtin.set_fact:\n        out: \"{{ {'restarted': restarted, 'logs': out} }}\"\n"
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks), {
        "connection": hoody_connection(hoody_server), "faults_url": f"{hoody_server.url}/__admin/faults"})
    assert out and not out["restarted"].get("failed"), process.stdout[-3000:]
    assert out["restarted"]["container"]["duration_ms"] >= 2000
    assert out["logs"]["logs"][0]["metadata"]["operation"] == "restart"


# ---------------------------------------------------------------- Hoody answers that cannot be used (issue 10)

# What no failure may ever print: a crash, or a Python error passed off as a message. (ansible-core prints
# "Task failed: Module failed: <msg>" for every failed task; a crash is "MODULE FAILURE" or "with exception".)
CRASH_SIGNS = ("Traceback", "MODULE FAILURE", "Module failed with exception", "a bug in containerops.lifecycle",
               "unexpected KeyError", "unexpected AttributeError", "unexpected TypeError", "unexpected ValueError",
               "Invalid date value")
# Every answer fault off; a task's faults are set on top of this, so nothing carries over from the task before.
NO_ANSWER_FAULTS = {"status_429": 0, "retry_after": 1, "drop_after": 0, "empty_body": 0, "bad_body": 0,
                    "bad_body_json": None, "bad_body_text": None, "only_methods": None, "only_path": None}


def set_faults(index: int) -> str:
    """A task setting the Hoody test server's faults to ``faults[index]`` (extra var) through its admin API."""
    return ("    - ansible.builtin.uri:\n        url: \"{{ faults_url }}\"\n        method: POST\n"
            f"        body_format: json\n        body: \"{{{{ faults[{index}] }}}}\"\n")


def collect(names: list[str]) -> str:
    """The closing task: ``out`` holds every registered result by name."""
    pairs = ", ".join(f"'{name}': {name}" for name in names)
    return f"    - ansible.builtin.set_fact:\n        out: \"{{{{ {{{pairs}}} }}}}\"\n"


def no_crash(process) -> None:
    output = process.stdout + process.stderr
    assert not [sign for sign in CRASH_SIGNS if sign in output], output[-4000:]
    assert HOODY_TOKEN not in output


def envelope(data) -> dict:
    return {"statusCode": 200, "message": "ok", "data": data}


def test_hoody_unusable_answers_fail_clearly_change_nothing_and_a_rerun_converges(
    hoody_server, make_containers, tmp_path, engine
):
    make_containers("hf-bb", "hf-bbpost", "hf-empty")
    for name in ("hf-bb", "hf-bbpost"):
        engine.containers.get(name).start()
    bb, post, empty = (hoody_id(engine, name) for name in ("hf-bb", "hf-bbpost", "hf-empty"))
    item = {"id": bb, "name": "hf-bb", "status": "running"}
    where = f"Hoody answered GET /api/v1/containers/{bb}"
    # (register, faults, module, args, what the failed task's msg must say, the rerun without faults); run in
    # order, each with its fault. (tests/unit/plugins/module_utils/test_hoody.py has every variant.)
    cases = [
        ("listing", {"bad_body": 1, "bad_body_json": "a string", "only_methods": ["GET"]},
         "container_state", "name: hf-bb\nstate: started",
         "Hoody answered GET /api/v1/containers/ with an unexpected body: expected an object with data.containers, "
         "got a string", None),
        # A server that serves page 1 again for page 2, on every read: read again (a listing that changed while
        # it was read looks alike), then said plainly once the reads are used up.
        ("pages", {"bad_body": 6, "bad_body_json": envelope({"containers": [item], "pagination": {"total": 3}})},
         "container_state", "name: hf-bb\nstate: stopped",
         "Hoody's container listing (GET /api/v1/containers/) kept changing while it was read (3 times)", None),
        ("text", {"bad_body": 1, "bad_body_text": "<html>502 Bad Gateway</html>", "only_path": f"/containers/{bb}"},
         "container_state", f"name: {bb}\nstate: stopped",
         f"{where} with an unexpected body: expected an object with data.id, data.status, got text that is not JSON",
         "stopped"),
        ("logs", {"bad_body": 1, "bad_body_json": envelope({"logs": "none"}), "only_path": "/status-logs"},
         "container_status_logs", "name: hf-bb",
         f"{where}/status-logs with an unexpected body: expected data.logs to be a list, got a string", "logs"),
        ("env", {"bad_body": 1, "bad_body_json": envelope({"environment_vars": ["A=1"]}), "only_path": "/env"},
         "container_config", "name: hf-bb\nautostart: true",
         f"{where}/env with an unexpected body: expected data.environment_vars to be an object (or null), got a list",
         "config"),
        ("snapshots", {"bad_body": 1, "bad_body_json": envelope({"snapshots": "none"}), "only_path": "/snapshots"},
         "container_snapshot", "name: hf-bb\nalias: hf-before",
         f"{where}/snapshots with an unexpected body: expected data.snapshots to be a list, got a string", "snapshot"),
        ("aliases", {"bad_body": 1, "bad_body_json": envelope({"aliases": [{"id": "a" * 24, "alias": "hf-shop"}]}),
                     "only_path": "/proxy/aliases"},
         "container_alias", "name: hf-bb\nalias: hf-shop",
         "Hoody answered GET /api/v1/proxy/aliases with an unexpected body: expected an object with "
         "data.aliases[0].container_id, got an object without data.aliases[0].container_id", "alias"),
        ("absent", {"empty_body": 1},
         "container_state", "name: hf-empty\nstate: absent",
         f"Hoody answered GET /api/v1/containers/{empty} with an unexpected body: expected an object with data.id, "
         "data.status, got an empty body", "absent"),
    ]
    # Faults a task survives: stats are a bonus (runtime.error says why), an unreadable POST answer counts once
    # the container shows the operation's effect.
    survived = [
        ("stats", {"bad_body": 1, "bad_body_json": envelope({"memory": "lots"}), "only_path": "/stats"},
         "container_info", "name: hf-bb\nruntime: true"),
        ("post", {"bad_body": 1, "bad_body_text": "<html>oops</html>", "only_methods": ["POST"], "only_path": "/stop"},
         "container_state", "name: hf-bbpost\nstate: stopped"),
    ]
    faults = [dict(NO_ANSWER_FAULTS, **fault) for _name, fault, *_rest in cases + survived] + [NO_ANSWER_FAULTS]
    tasks, names = "", []
    for index, (name, _fault, module, args, *_rest) in enumerate(cases + survived):
        tasks += set_faults(index) + task(module, args, register=name)
        names.append(name)
    tasks += set_faults(len(faults) - 1)  # every fault off: run the failed tasks again (one of those alike)
    for _name, _fault, module, args, _msg, rerun in cases:
        if rerun:
            tasks += task(module, args, register=f"again_{rerun}")
            names.append(f"again_{rerun}")
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks + collect(names)), {
        "connection": hoody_connection(hoody_server), "faults_url": f"{hoody_server.url}/__admin/faults",
        "faults": faults})
    try:
        assert out, process.stdout[-4000:]
        no_crash(process)
        for name, _fault, _module, _args, msg, rerun in cases:
            assert out[name].get("failed"), (name, out[name])
            assert msg in out[name]["msg"], (name, out[name]["msg"])
            assert (out[name].get("container") or {}).get("status") != "absent", name
            if rerun:
                assert not out[f"again_{rerun}"].get("failed"), (rerun, out[f"again_{rerun}"])
        # What the user sees when the task survives the fault.
        stats = out["stats"]["container"]["runtime"]
        assert not out["stats"].get("failed") and stats["resource_usage"] is None
        assert stats["error"] == (f"{where}/stats with an unexpected body: expected data.memory to be an object "
                                  "(or null), got a string")
        assert not out["post"].get("failed") and out["post"]["changed"], out["post"]
        assert [action["operation"] for action in out["post"]["container"]["actions"]] == ["stop"]
        assert out["post"]["container"]["status"] == "stopped"
        assert any(f"Hoody answered POST /api/v1/containers/{post}/stop with an unexpected body" in warning
                   for warning in out["post"].get("warnings", []))
        # State left: nothing acted on but what was asked, each once; the reruns converged.
        log = hoody_server.requests_log()
        faulted = log[:next(i for i, entry in enumerate(log) if entry["path"].endswith(f"{post}/stop")) + 1]
        writes = [(entry["method"], entry["path"]) for entry in faulted if entry["method"] != "GET"]
        assert writes == [("POST", f"/api/v1/containers/{post}/stop")], writes
        assert engine.containers.get("hf-bbpost").status == "exited"
        assert out["again_absent"]["container"]["status"] == "absent" and out["again_absent"]["changed"]
        assert not engine.containers.list(all=True, filters={"name": "^hf-empty$"})
        stopped = out["again_stopped"]["container"]
        assert stopped["status_before"] == "running" and stopped["status"] == "stopped"  # the faulted stops did nothing
        assert out["again_snapshot"]["changed"] and out["again_alias"]["changed"] and out["again_logs"]["logs"]
    finally:
        hoody_server.admin("reset", {})  # removes the snapshot's image


def test_a_hoody_400_is_final_sent_once_and_changes_nothing(hoody_server, make_containers, tmp_path, engine):
    # A snapshot being taken holds the container (the platform answers a lifecycle call meanwhile as an invalid
    # state, here 400): the status still says 'running', so the stop is planned, sent once and rejected.
    make_containers("hf-400")
    engine.containers.get("hf-400").start()
    cid = hoody_id(engine, "hf-400")
    hoody_server.admin("faults", {"invalid_state": 400, "snapshot_delay": 4})
    snapshot_call = f"""    - ansible.builtin.uri:
        url: "{hoody_server.url}/api/v1/containers/{cid}/snapshots"
        method: POST
        headers: {{Authorization: "Bearer {{{{ connection.api_token }}}}"}}
        body_format: json
        body: {{alias: hf-hold}}
      async: 60
      poll: 0
      no_log: true
    - ansible.builtin.uri:
        url: "{hoody_server.url}/__admin/requests"
      register: log
      until: log.json | selectattr('path', 'search', '/snapshots$') | list | length > 0
      retries: 100
      delay: 0.1
"""
    settled = f"""    - ansible.builtin.uri:
        url: "{hoody_server.url}/__admin/requests"
      register: log
      until: log.json | selectattr('path', 'search', '/snapshots$') | map(attribute='status') | select('eq', 200) is any
      retries: 100
      delay: 0.2
    - ansible.builtin.command: docker inspect --format {{% raw %}}'{{{{.State.Status}}}}'{{% endraw %}} hf-400
      register: engine_status
      changed_when: false
"""
    tasks = snapshot_call + task("container_state", "name: hf-400\nstate: stopped", register="rejected")
    tasks += settled + set_faults(0) + task("container_state", "name: hf-400\nstate: stopped", register="again")
    tasks += collect(["rejected", "engine_status", "again"])
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks), {
        "connection": hoody_connection(hoody_server), "faults_url": f"{hoody_server.url}/__admin/faults",
        "faults": [{"invalid_state": 409, "snapshot_delay": 0}]})
    try:
        assert out, process.stdout[-4000:]
        no_crash(process)
        rejected = out["rejected"]
        assert rejected["failed"], rejected
        assert f"Hoody rejected stop (400: Another operation is in progress on container {cid})" in rejected["msg"]
        assert rejected["container"]["status"] == "running" and not rejected["changed"]
        assert out["engine_status"]["stdout"] == "running"  # on the engine, after the snapshot was done
        stops = [entry["status"] for entry in hoody_server.requests_log() if entry["path"].endswith(f"{cid}/stop")]
        assert stops == [400, 200], stops  # the rejected stop once, then the rerun's
        assert not out["again"].get("failed") and out["again"]["container"]["status"] == "stopped"
        assert engine.containers.get("hf-400").status == "exited"
    finally:
        hoody_server.admin("reset", {})  # removes the snapshot's image


def test_hoody_retry_after_text_is_waited_with_backoff_and_a_long_one_fails_at_once(
    hoody_server, make_containers, tmp_path
):
    make_containers("hf-ra")
    texts = ["soon", "nan", "Wed, 21 Oct 2015 07:28:00 GMT"]
    faults = [dict(NO_ANSWER_FAULTS, status_429=2, retry_after=text, only_methods=["GET"]) for text in texts]
    faults += [dict(NO_ANSWER_FAULTS, status_429=1000, retry_after=300, only_methods=["GET"]), NO_ANSWER_FAULTS]
    tasks = ""
    for index in range(len(texts)):
        tasks += set_faults(index) + task("container_info", "name: hf-ra", register=f"text{index}")
    timed = "    - ansible.builtin.set_fact:\n        {name}: \"{{{{ now().timestamp() }}}}\"\n"
    tasks += set_faults(len(texts)) + timed.format(name="began")
    tasks += task("container_info", "name: hf-ra", register="long") + timed.format(name="ended")
    tasks += set_faults(len(texts) + 1) + task("container_info", "name: hf-ra", register="again")
    tasks += collect([f"text{index}" for index in range(len(texts))] + ["long", "began", "ended", "again"])
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks), {
        "connection": hoody_connection(hoody_server), "faults_url": f"{hoody_server.url}/__admin/faults",
        "faults": faults})
    assert out, process.stdout[-4000:]
    no_crash(process)
    for index in range(len(texts)):
        assert not out[f"text{index}"].get("failed") and out[f"text{index}"]["container"]["exists"], texts[index]
    # Each 429 was followed by a pause (backoff), not an immediate resend.
    log = hoody_server.requests_log()
    for first, second in zip(log, log[1:]):
        if first["status"] == 429:
            gap = datetime.fromisoformat(second["time"][:-1]) - datetime.fromisoformat(first["time"][:-1])
            assert gap.total_seconds() >= 0.2, (first, second)
    long = out["long"]
    assert long["failed"] and "the server asks to wait 300s before trying again (until " in long["msg"], long
    assert float(out["ended"]) - float(out["began"]) < 30
    assert [entry["status"] for entry in log].count(429) == 2 * len(texts) + 1  # the long wait: asked once
    assert not out["again"].get("failed") and out["again"]["container"]["status"] == "stopped"


def test_a_restart_whose_answer_is_lost_after_it_happened_is_not_sent_again(
    hoody_server, make_containers, tmp_path, engine
):
    make_containers("hf-lost")
    container = engine.containers.get("hf-lost")
    container.start()
    started_at = engine.api.inspect_container("hf-lost")["State"]["StartedAt"]
    cid = hoody_id(engine, "hf-lost")
    hoody_server.admin("faults", {"drop_after": 1, "only_methods": ["POST"], "only_path": "/restart"})
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(
        tasks=task("container_state", "name: hf-lost\nstate: restarted")),
        {"connection": hoody_connection(hoody_server)})
    assert out and not out.get("failed"), process.stdout[-4000:]
    no_crash(process)
    assert out["changed"] and out["container"]["status"] == "running"
    assert [action["operation"] for action in out["container"]["actions"]] == ["restart"]  # reported once
    log = hoody_server.requests_log()
    assert [(e["fault"], e["status"]) for e in log if e["method"] == "POST"] == [("drop_after", None)], log
    records = requests.get(f"{hoody_server.url}/api/v1/containers/{cid}/status-logs", timeout=10,
                           headers={"Authorization": f"Bearer {HOODY_TOKEN}"}).json()["data"]["logs"]
    assert [record["metadata"]["command"] for record in records] == ["restart"]  # the platform restarted it once
    assert engine.api.inspect_container("hf-lost")["State"]["StartedAt"] != started_at


def test_hoody_a_huge_retry_after_fails_at_once_and_clearly(hoody_server, make_containers, tmp_path):
    # Far beyond any date the platform's clock can show (time.gmtime overflows): still one clear message.
    make_containers("hf-huge")
    huge = "1000000000000000000"
    hoody_server.admin("faults", {"status_429": 1000, "retry_after": huge, "only_methods": ["GET"]})
    began = time.monotonic()
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=task("container_info", "name: hf-huge")),
                                {"connection": hoody_connection(hoody_server)})
    assert out and out.get("failed"), process.stdout[-4000:]
    assert f"the server asks to wait {huge}s before trying again" in out["msg"], out["msg"]
    no_crash(process)
    assert time.monotonic() - began < 30
    assert [entry["status"] for entry in hoody_server.requests_log()] == [429]  # asked once, never resent
