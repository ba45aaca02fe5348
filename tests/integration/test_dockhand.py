"""Dockhand as the real 1.0.36 behaves (issue 11), through real ``ansible-playbook`` runs.

Each test drives the modules (or a shipped playbook) against the Dockhand test server on 127.0.0.1, which
sits on the real Docker engine and serves what the real server showed (contract section (e)): hidden
containers, an empty listing for a dead environment, the bearer lockout, update-runtime, sessions that
live until logout. Containers are ``dh11-*``, created with a 1 s StopTimeout so stops are quick.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from typing import Optional

import docker
import pytest
import requests

from tests.integration.conftest import (
    CONNECTED_PLAY,
    DOCKHAND_PASSWORD,
    DOCKHAND_USER,
    GRACEFUL,
    IMAGE,
    PLAYBOOK_THEN_FACT,
    run_playbook,
    task,
    task_results,
)
from tests.servers import dockhand

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Ignores SIGTERM (PID 1 without a handler): Docker has to SIGKILL it after its StopTimeout.
STUBBORN = ["sleep", "1000"]
LIFECYCLE_POST = re.compile(r"/api/containers/[^/]+/(start|stop|restart|pause|unpause)$")
REFUSED = "backend dockhand cannot force-stop: Dockhand has no kill endpoint"



@pytest.fixture
def make(engine):
    """Create stopped ``dh11-*`` test containers with a 1 s StopTimeout; removed afterwards."""
    created: list[str] = []

    def create(*names: str, command: list[str] = GRACEFUL, labels: Optional[dict[str, str]] = None) -> list[str]:
        for name in names:
            with contextlib.suppress(docker.errors.NotFound):
                engine.api.remove_container(name, force=True)
            engine.api.create_container(IMAGE, command, name=name, labels=labels or {}, stop_timeout=1)
            created.append(name)
        return list(names)

    yield create
    for name in created:
        with contextlib.suppress(docker.errors.NotFound):
            engine.api.remove_container(name, force=True)


def connection(server, **options) -> dict:
    """The modules' connection options for the Dockhand test server (password login, environment 1)."""
    return {"backend": "dockhand", "api_url": server.url, "api_username": DOCKHAND_USER,
            "api_password": DOCKHAND_PASSWORD, "api_environment": 1, **options}


def collect(*names: str) -> str:
    """A task that gathers the registered results into ``out``."""
    pairs = ", ".join(f"'{name}': {name}" for name in names)
    return f"    - ansible.builtin.set_fact:\n        out: \"{{{{ {{{pairs}}} }}}}\"\n"


def play(tmp_path, tasks: str, server, *args: str, **options):
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks),
                                {"connection": connection(server, **options)}, *args)
    assert out, process.stdout[-4000:] + process.stderr[-2000:]
    return process, out


def lifecycle_posts(server) -> list[str]:
    return [entry["path"] for entry in server.requests()
            if entry["method"] == "POST" and (LIFECYCLE_POST.search(entry["path"]) or entry["path"] == "/api/batch")]


def assert_sessions_ended(server) -> None:
    """Every module run logged in with the password and logged out again: no session is left behind."""
    paths = [entry["path"] for entry in server.requests()]
    assert paths.count("/api/auth/login") >= 1
    assert paths.count("/api/auth/logout") == paths.count("/api/auth/login"), paths
    assert server.sessions() == 0


def admin_session(server) -> requests.Session:
    session = requests.Session()
    answer = session.post(server.url + "/api/auth/login",
                          json={"username": DOCKHAND_USER, "password": DOCKHAND_PASSWORD}, timeout=10)
    assert answer.status_code == 200, answer.text
    return session


def test_force_stop_of_a_paused_container_is_refused_before_anything_changes(
    dockhand_server, make, engine, tmp_path
):
    # Item 1: before, the container was resumed, then force-stop was refused: left running, changed.
    make("dh11-force")
    container = engine.containers.get("dh11-force")
    container.start()
    container.pause()
    dockhand_server.reset()
    args = "name: dh11-force\nstate: stopped\nforce: true"
    tasks = task("container_state", args, "planned", check_mode="true")
    tasks += task("container_state", args, "applied") + collect("planned", "applied")
    _process, out = play(tmp_path, tasks, dockhand_server)
    for run in ("planned", "applied"):
        result = out[run]
        assert result["failed"] and not result["changed"], result
        assert f"dh11-force: {REFUSED}" in result["msg"] and "; nothing was changed" in result["msg"], result["msg"]
        entry = result["container"]
        assert entry["error"].startswith(REFUSED) and entry["actions"] == [] and entry["status"] == "paused"
    container.reload()
    assert container.status == "paused"
    assert lifecycle_posts(dockhand_server) == []
    assert_sessions_ended(dockhand_server)


def test_hidden_containers_are_found_and_a_dead_engine_is_named(dockhand_server, make, engine, tmp_path):
    # Item 2: the listing holds no hidden container and is empty for an environment whose engine is down.
    make("dh11-seen")
    make("dh11-hidden", labels={"dockhand.hidden": "true"})
    dead = admin_session(dockhand_server).post(
        dockhand_server.url + "/api/environments", json={"name": "dead", "socketPath": "/nonexistent/docker.sock"},
        timeout=10).json()
    both = "name: [dh11-seen, dh11-hidden]"
    tasks = task("container_state", f"{both}\nstate: started", "started")
    tasks += task("container_info", "filters: {name: 'dh11-*'}", "filtered")
    tasks += task("container_state", f"{both}\nstate: absent\napi_environment: {dead['id']}", "dead_absent")
    tasks += task("container_info", f"filters: {{name: 'dh11-*'}}\napi_environment: {dead['id']}", "dead_filtered")
    tasks += task("container_state", f"{both}\nstate: absent", "removed")
    _process, out = play(tmp_path, tasks + collect("started", "filtered", "dead_absent", "dead_filtered", "removed"),
                         dockhand_server)

    started = out["started"]
    assert not started.get("failed"), started
    assert [(c["name"], c["status"], c["changed"]) for c in started["containers"]] == [
        ("dh11-seen", "running", True), ("dh11-hidden", "running", True)]
    # Filters select through Dockhand's listing, which never holds a hidden container.
    assert [c["name"] for c in out["filtered"]["containers"]] == ["dh11-seen"]
    named = f"Dockhand environment {dead['id']} (dead) cannot reach its Docker engine: Connection error"
    for run in ("dead_absent", "dead_filtered"):
        assert out[run]["failed"] and named in out[run]["msg"], out[run]
        assert "POST /api/environments/2/test" in out[run]["msg"]
    # Nothing was touched in the dead environment: the last task found both still running, and removed them.
    removed = out["removed"]
    assert not removed.get("failed"), removed
    assert [(c["status_before"], c["status"]) for c in removed["containers"]] == [("running", "absent")] * 2
    assert not engine.containers.list(all=True, filters={"name": "dh11-"})


def test_a_rejected_token_is_said_to_be_rejected(dockhand_server, tmp_path):
    # Item 3: before, "set api_token, or api_username and api_password" although a token was set.
    wrong = "dh_" + "w" * 43
    tasks = task("container_info", "name: dh11-any", "out")
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks), {"connection": {
        "backend": "dockhand", "api_url": dockhand_server.url, "api_token": wrong, "api_environment": 1}}, "-vvv")
    assert out["failed"] and "Dockhand rejected api_token (401): it is unknown, revoked or expired" in out["msg"]
    assert "set api_token, or" not in out["msg"]
    assert wrong not in process.stdout + process.stderr


def test_the_bearer_lockout_fails_at_once_and_says_when_to_try_again(dockhand_server, tmp_path):
    # Item 4: before, the 429 with Retry-After: 300 was retried for 90 s, then failed.
    session = admin_session(dockhand_server)
    token = session.post(dockhand_server.url + "/api/auth/tokens",
                         json={"name": "dh11", "password": DOCKHAND_PASSWORD}, timeout=10).json()["token"]
    for _ in range(15):
        requests.get(dockhand_server.url + "/api/environments", timeout=10,
                     headers={"Authorization": "Bearer dh_" + "z" * 43})
    tasks = task("container_info", "name: dh11-any", "out")
    began = time.monotonic()
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks), {"connection": {
        "backend": "dockhand", "api_url": dockhand_server.url, "api_token": token, "api_environment": 1}})
    took = time.monotonic() - began
    assert out["failed"], process.stdout[-3000:]
    message = out["msg"]
    assert "Dockhand refuses requests from this address for now" in message and "HTTP 429" in message
    assert re.search(r"wait 300s before trying again \(until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)", message), message
    assert "for 5 minutes; check api_token" in message
    # Asked once, answered 429 once: not retried for 90 s (3 retries of 30 s) before failing.
    assert [entry["status"] for entry in dockhand_server.requests()].count(429) == 1
    assert took < 60, f"{took:.0f}s: the lockout was waited out instead of reported"
    assert token not in process.stdout + process.stderr


def test_forced_says_whether_the_engine_had_to_sigkill(dockhand_server, make, engine, tmp_path):
    # Item 5: before, forced was always false. Item 7: every module run logs out.
    make("dh11-stubborn", command=STUBBORN)
    make("dh11-graceful")
    for name in ("dh11-stubborn", "dh11-graceful"):
        engine.containers.get(name).start()
    both = "name: [dh11-stubborn, dh11-graceful]"
    tasks = task("container_state", f"{both}\nstate: stopped", "stopped")
    tasks += task("container_state", f"{both}\nstate: started", "started")
    tasks += task("container_state", f"{both}\nstate: restarted", "restarted")
    tasks += task("container_status_logs", "name: dh11-stubborn", "logs")
    _process, out = play(tmp_path, tasks + collect("stopped", "restarted", "logs"), dockhand_server)
    for run in ("stopped", "restarted"):
        assert not out[run].get("failed"), out[run]
        forced = {c["name"]: [a["forced"] for a in c["actions"]] for c in out[run]["containers"]}
        assert forced == {"dh11-stubborn": [True], "dh11-graceful": [False]}, (run, forced)
    assert engine.containers.get("dh11-stubborn").attrs["State"]["Running"] is True
    # With Dockhand's activity collected, the history is there and nothing is warned about.
    logs = out["logs"]
    assert not logs.get("failed") and not logs.get("warnings"), logs
    assert {"stop", "restart"} <= {log["metadata"]["operation"] for log in logs["logs"]}
    assert_sessions_ended(dockhand_server)


def test_status_logs_warn_when_dockhand_collects_no_activity(make, engine, tmp_path):
    # Item 6: before, an empty history came back without a word.
    server = dockhand.start_server(auth=True, username=DOCKHAND_USER, password=DOCKHAND_PASSWORD, collector=False)
    try:
        make("dh11-quiet")
        engine.containers.get("dh11-quiet").start()
        quiet = admin_session(server).post(server.url + "/api/environments", timeout=10, json={
            "name": "quiet", "collectActivity": False, "collectMetrics": False}).json()
        tasks = task("container_status_logs", "name: dh11-quiet", "uncollected")
        tasks += task("container_status_logs", f"name: dh11-quiet\napi_environment: {quiet['id']}", "disabled")
        _process, out = play(tmp_path, tasks + collect("uncollected", "disabled"), server)
    finally:
        server.stop()
    for run in ("uncollected", "disabled"):
        assert not out[run].get("failed") and out[run]["logs"] == [], out[run]
    never = "Dockhand's activity log has never recorded an event for Dockhand environment {}"
    assert [w for w in out["uncollected"]["warnings"] if "activity" in w] == [
        never.format("1 (local)") + ": nothing collects its engine's events (activity collection off, or "
        "Dockhand's collection-worker not running), so the history is empty whatever happened to the container"]
    off = out["disabled"]["warnings"]
    assert any(f"Dockhand environment {quiet['id']} (quiet) has activity collection off (collectActivity: false)"
               in w for w in off), off
    assert any(never.format(f"{quiet['id']} (quiet)") in w for w in off), off


def test_maintenance_window_sets_autostart_and_memory_through_dockhand(
    dockhand_server, make, engine, tmp_path
):
    # Item 8: container_config refused Dockhand; update-runtime changes restart policy and limits in place.
    names = make("dh11-mw-1", "dh11-mw-2")
    for name in names:
        engine.containers.get(name).start()
    window = {
        "containerops_connection": connection(dockhand_server),
        "maintenance_window_containers": names,
        "maintenance_window_config": {"autostart": True, "resources": {"memory": "64m"}},
        "maintenance_window_batch_size": 2,
        # Dockhand cannot force-stop: a stop that hangs is not escalated.
        "maintenance_window_force_on_timeout": False,
    }
    playbook = tmp_path / "maintenance-with-result.yml"
    playbook.write_text(PLAYBOOK_THEN_FACT.format(
        playbook=os.path.join(ROOT, "playbooks", "maintenance.yml"), fact="maintenance_window_summary"))
    result_file = tmp_path / "summary.json"

    def run() -> tuple:
        result_file.unlink(missing_ok=True)
        process = run_playbook(str(playbook), dict(window, result_file=str(result_file)))
        assert result_file.exists(), process.stdout[-6000:] + process.stderr[-3000:]
        return process, json.loads(result_file.read_text())

    _process, summary = run()
    assert [entry["outcome"] for entry in summary] == ["changed", "changed"], summary
    assert summary[0]["changes"] == ["autostart", "resources.memory"]
    assert summary[0]["actions"] == ["stop", "configure", "start"], summary[0]
    for name in names:
        attrs = engine.containers.get(name).attrs
        assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        assert attrs["HostConfig"]["Memory"] == 64 * 2**20
        assert attrs["State"]["Running"] is True
    updates = [entry for entry in dockhand_server.requests() if entry["path"].endswith("/update-runtime")]
    assert len(updates) == 2 and {entry["status"] for entry in updates} == {200}

    process, again = run()
    assert [entry["outcome"] for entry in again] == ["unchanged", "unchanged"], again
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", process.stdout), process.stdout[-3000:]
    assert_sessions_ended(dockhand_server)
