"""Faults a real REST server injects, and what the collection does about them.

Each test drives a real ``ansible-playbook`` against the Hoody or Dockhand test server on 127.0.0.1,
which sits on the real Docker engine; faults are switched on through the server's admin API.
"""

from __future__ import annotations

import threading

import pytest

from tests.integration.conftest import (
    CONNECTED_PLAY,
    DOCKHAND_PASSWORD,
    DOCKHAND_USER,
    HOODY_TOKEN,
    hoody_connection,
    run_playbook,
    task_results,
)


def one_task(module: str, args: str, register: str = "out") -> str:
    indented = "\n".join("        " + line for line in args.strip().splitlines())
    return (f"    - containerops.lifecycle.{module}:\n{indented}\n"
            f"      register: {register}\n      ignore_errors: true\n")


def hoody_id(engine, name: str) -> str:
    return engine.containers.get(name).id[:24]


def test_transient_faults_on_reads_are_retried(hoody_server, make_containers, tmp_path):
    make_containers("rf-read")
    hoody_server.admin("faults", {"status_503": 2, "only_methods": ["GET"]})
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=one_task("container_info", "name: rf-read")),
                                {"connection": hoody_connection(hoody_server)})
    assert out and not out.get("failed"), process.stdout[-3000:]
    assert out["container"]["status"] == "stopped"
    hoody_server.admin("faults", {"status_429": 1, "retry_after": 1, "only_methods": ["GET"]})
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=one_task("container_info", "name: rf-read")),
                                {"connection": hoody_connection(hoody_server)})
    assert out and not out.get("failed"), process.stdout[-3000:]
    statuses = [entry.get("status") for entry in hoody_server.requests_log()]
    assert 429 in statuses and 503 in statuses


def test_slow_responses_still_converge(hoody_server, make_containers, tmp_path):
    make_containers("rf-slow")
    hoody_server.admin("faults", {"delay_ms": 300})
    tasks = one_task("container_state", "name: rf-slow\nstate: started")
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks),
                                {"connection": hoody_connection(hoody_server)})
    assert out and not out.get("failed"), process.stdout[-3000:]
    assert out["container"]["status"] == "running" and out["changed"]


def test_a_dropped_post_is_not_resent_blindly(hoody_server, make_containers, tmp_path, engine):
    make_containers("rf-drop")
    hoody_server.admin("faults", {"drop": 1, "only_methods": ["POST"]})
    tasks = one_task("container_state", "name: rf-drop\nstate: started")
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
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=one_task("container_info", "name: rf-dropget")),
                                {"connection": hoody_connection(hoody_server)})
    assert out and not out.get("failed"), process.stdout[-3000:]


def test_a_failed_container_is_refused_then_deletable(hoody_server, make_containers, tmp_path, engine):
    make_containers("rf-failed")
    hoody_server.admin(f"fail/{hoody_id(engine, 'rf-failed')}")
    tasks = one_task("container_state", "name: rf-failed\nstate: started") + one_task(
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
    tasks = one_task("container_state", "name: rf-auth\nstate: started")
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
    process = run_playbook("lifecycle.yml", {"connection": connection, "names": names}, "-vvv")
    assert process.returncode == 0, process.stdout[-4000:]
    output = process.stdout + process.stderr
    assert "api_url" in output  # -vvv really printed the module arguments
    assert HOODY_TOKEN not in output


def test_dockhand_logs_in_again_when_its_session_expires_and_never_shows_the_password(
    dockhand_server, make_containers, tmp_path, engine
):
    # `sleep` ignores SIGTERM, so Dockhand's stop takes Docker's default 10 s StopTimeout; the sessions
    # are expired while it runs, and the reads that follow it must log in again.
    make_containers("rf-dh", command=["sleep", "1000"])
    tasks = one_task("container_state", "name: rf-dh\nstate: started", register="up")
    tasks += one_task("container_state", "name: rf-dh\nstate: stopped")
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
    tasks = one_task("container_state", "name: rf-dh-force\nstate: started", register="up")
    tasks += one_task("container_state", "name: rf-dh-force\nstate: stopped\nforce: true")
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks), {"connection": connection})
    assert out["failed"] and "no force-stop" in out["msg"], process.stdout[-3000:]
    assert out["container"]["status"] == "running"


def test_dockhand_unknown_environment_is_named(dockhand_server, make_containers, tmp_path):
    connection = {"backend": "dockhand", "api_url": dockhand_server.url, "api_username": DOCKHAND_USER,
                  "api_password": DOCKHAND_PASSWORD, "api_environment": 42}
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=one_task("container_info", "name: x")),
                                {"connection": connection})
    assert out["failed"] and "Dockhand has no environment 42" in out["msg"], process.stdout[-3000:]




def test_a_hoody_restart_is_waited_for_until_the_platform_records_it(hoody_server, make_containers, tmp_path):
    # The status is 'running' before and after a restart; with a slow platform (2 s before it acts),
    # only the restart's status-log record shows that the restart really happened.
    make_containers("rf-restart")
    tasks = one_task("container_state", "name: rf-restart\nstate: started", register="up")
    tasks += "    - ansible.builtin.uri:\n        url: \"{{ faults_url }}\"\n        method: POST\n"
    tasks += "        body_format: json\n        body: {accept_delay: 2}\n"
    tasks += one_task("container_state", "name: rf-restart\nstate: restarted", register="restarted")
    tasks += one_task("container_status_logs", "name: rf-restart\nlimit: 1")
    tasks += "    - ansible.builtin.set_fact:\n        out: \"{{ {'restarted': restarted, 'logs': out} }}\"\n"
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks), {
        "connection": hoody_connection(hoody_server), "faults_url": f"{hoody_server.url}/__admin/faults"})
    assert out and not out["restarted"].get("failed"), process.stdout[-3000:]
    assert out["restarted"]["container"]["duration_ms"] >= 2000
    assert out["logs"]["logs"][0]["metadata"]["operation"] == "restart"
