"""Bad input to every option of every module: a clear error, never a traceback, and nothing changed.

Issue 10 ("Safe and truthful under faults and bad input"). The rows are in ``bad_input_rows.py``; each
is one task of ONE real ``ansible-playbook`` run against the real Docker engine, the Hoody and
Dockhand test servers on it, and the suite's Podman service. The run's inventory has one host per group
of rows (three for Docker, one per REST server, one for Podman) under the ``free`` strategy, so the groups
run side by side; a second, small run with ``-vvv`` checks that a password in ``api_url`` is never shown.
Both run once per module (fixture ``outcome``); every row is then its own test.

A row that could select every container on the (shared) engine if the validation were missing is
``gated``: it first runs in check mode, and for real only when that dry run was refused before anything
was selected; otherwise the row fails without the real run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional

import docker
import pytest

from tests.integration import bad_input_rows as rows
from tests.integration.bad_input_rows import ROWS, Row
from tests.integration.conftest import (
    DOCKHAND_PASSWORD,
    DOCKHAND_USER,
    GRACEFUL,
    HOODY_TOKEN,
    IMAGE,
    PROJECT,
    podman_connection,
    task,
)
from tests.integration.podman_service import STOP_TIMEOUT
from tests.servers import dockhand, hoody

DOCKER_HOSTS = ("docker1", "docker2", "docker3")
SECRET = "s3cret"
TASK_TIMEOUT = 60  # seconds; a row must never hang the run
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
LABELS = {"hoody.project": PROJECT, "containerops.test": "bad-input"}
ON_DOCKER = tuple(name for name in rows.ALL_CONTAINERS if name not in rows.ON_PODMAN)

# What a crash looks like in a task result, instead of a clear error.
CRASH_MARKERS = ("Traceback", "MODULE FAILURE", "Module failed")
UNEXPECTED_EXCEPTION = re.compile(r"unexpected [A-Z][A-Za-z]+")

PLAY = """
- hosts: all
  gather_facts: false
  strategy: free
  module_defaults:
    group/containerops.lifecycle.lifecycle: "{{ bi_connection }}"
  tasks:
    - ansible.builtin.include_tasks: "{{ task_dir }}/{{ inventory_hostname }}.yml"
"""


@dataclass
class Outcome:
    """What the two runs left behind (kept out of ``repr``: pytest prints fixture values on failure)."""

    results: dict[str, Any] = field(repr=False)  # row id (and "<id>#dry-run") -> registered task result
    before: dict[str, Any] = field(repr=False)  # container name -> engine state before the run
    after: dict[str, Any] = field(repr=False)
    server_logs: dict[str, list[dict[str, Any]]] = field(repr=False)
    play: subprocess.CompletedProcess = field(repr=False)
    vvv: subprocess.CompletedProcess = field(repr=False)
    vvv_results: Optional[dict[str, Any]] = field(repr=False)
    seconds: float


# ------------------------------------------------------------------------------------- the play


def host_of(row: Row, index: int) -> str:
    return DOCKER_HOSTS[index % len(DOCKER_HOSTS)] if row.group == "docker" else row.group


def _task(name: str, module: str, args: dict[str, Any], register: str, extra: str = "", **keywords: str) -> str:
    """A row's task in a task file: named for the row and bounded by ``TASK_TIMEOUT``; ``extra`` is its ``when``."""
    return task(module, json.dumps(args), register, "", name=json.dumps(name), timeout=TASK_TIMEOUT, **keywords) + extra


def _dry_run_refused(register: str, row: Row) -> str:
    """``when`` of a gated row: its check-mode run failed on the input, before selecting anything."""
    conditions = [f"{register} is failed", f"({register}.containers | default([])) | length == 0",
                  f"'timed out' not in ({register}.msg | default('') | lower)"]
    conditions += [f"{json.dumps(fragment.lower())} in ({register}.msg | default('') | lower)"
                   for fragment in row.expect if isinstance(fragment, str)]
    return "  when:\n" + "".join(f"    - {json.dumps(condition)}\n" for condition in conditions)


def task_files(result_dir: str) -> dict[str, str]:
    """One task file per inventory host: its rows, then the copy of their results to ``<host>.json``."""
    files: dict[str, list[str]] = {}
    registered: dict[str, dict[str, str]] = {}
    for index, row in enumerate(ROWS):
        host = host_of(row, index)
        tasks, names = files.setdefault(host, []), registered.setdefault(host, {})
        if row.gated:
            tasks.append(_task(f"{row.id} (dry run)", row.module, row.args, f"pre_{index}", check_mode="true"))
            names[f"{row.id}#dry-run"] = f"pre_{index}"
        environment = {"environment": json.dumps(dict(row.env))} if row.env else {}
        tasks.append(_task(row.id, row.module, row.args, f"row_{index}",
                           _dry_run_refused(f"pre_{index}", row) if row.gated else "", **environment))
        names[row.id] = f"row_{index}"
    texts = {}
    for host, tasks in files.items():
        collected = "{" + ", ".join(f"{json.dumps(key)}: {var}" for key, var in registered[host].items()) + "}"
        tasks.append("- ansible.builtin.copy:\n"
                     f"    content: {json.dumps('{{ ' + collected + ' | to_json }}')}\n"
                     f"    dest: {json.dumps(os.path.join(result_dir, host + '.json'))}\n"
                     "    mode: '0600'\n")
        texts[host] = "".join(tasks)
    return texts


def inventory(connections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    hosts = {host: {"bi_connection": connections[host]} for host in (*DOCKER_HOSTS, "hoody", "dockhand", "podman")}
    return {"all": {"hosts": hosts, "vars": LOCAL}}


def vvv_play(hoody_url: str, dockhand_url: str, closed_port: int,
             result_file: str) -> tuple[str, dict[str, str]]:
    """Calls whose ``api_url`` carries a password: two that work, three that fail.

    Returns the play and its variables: the URLs are passed as extra vars, so that the password is in no
    line of the playbook that Ansible may quote when a task fails.
    """
    def with_password(url: str) -> str:
        return url.replace("://", f"://bi-user:{SECRET}@", 1)

    urls = {"bi_hoody_url": with_password(hoody_url), "bi_dockhand_url": with_password(dockhand_url),
            "bi_closed_url": with_password(f"http://127.0.0.1:{closed_port}"),
            "bi_ftp_url": f"ftp://bi-user:{SECRET}@127.0.0.1:{closed_port}"}
    hoody_args = {"backend": "hoody", "api_token": HOODY_TOKEN}
    dockhand_args = {"backend": "dockhand", "api_username": DOCKHAND_USER, "api_password": DOCKHAND_PASSWORD,
                     "api_environment": 1}
    calls = {
        "working-hoody": ("container_info", {**hoody_args, "api_url": "{{ bi_hoody_url }}", "name": rows.H_RUN}),
        "working-dockhand": ("container_info",
                             {**dockhand_args, "api_url": "{{ bi_dockhand_url }}", "name": rows.K_RUN}),
        "failing-unreachable": ("container_info", {**hoody_args, "name": rows.H_RUN, "retries": 0, "timeout": 5,
                                                   "api_url": "{{ bi_closed_url }}"}),
        "failing-bad-name": ("container_state", {**hoody_args, "api_url": "{{ bi_hoody_url }}",
                                                 "name": "a/../x", "state": "stopped"}),
        "failing-ftp-scheme": ("container_info", {**hoody_args, "name": rows.H_RUN, "api_url": "{{ bi_ftp_url }}"}),
    }
    tasks = "".join(_task(call, module, args, f"call_{i}") for i, (call, (module, args)) in enumerate(calls.items()))
    collected = "{" + ", ".join(f"{json.dumps(call)}: call_{i}" for i, call in enumerate(calls)) + "}"
    tasks += ("- ansible.builtin.copy:\n"
              f"    content: {json.dumps('{{ ' + collected + ' | to_json }}')}\n"
              f"    dest: {json.dumps(result_file)}\n    mode: '0600'\n")
    indented = "".join("    " + line + "\n" for line in tasks.splitlines())
    return f"- hosts: all\n  gather_facts: false\n  tasks:\n{indented}", urls


# ----------------------------------------------------------------------------------- the engine


def engine_state(engine, names) -> dict[str, Any]:
    """What a row must not change: identity, status, last start/stop, restart policy, limits, env, networks."""
    states = {}
    for name in names:
        try:
            data = engine.api.inspect_container(name)
        except docker.errors.NotFound:
            states[name] = None
            continue
        state, host = data["State"], data["HostConfig"]
        states[name] = {
            "id": data["Id"], "status": state["Status"], "started_at": state["StartedAt"],
            "finished_at": state["FinishedAt"], "restart_policy": (host.get("RestartPolicy") or {}).get("Name"),
            "memory": host.get("Memory"), "nano_cpus": host.get("NanoCpus"), "env": data["Config"].get("Env"),
            "networks": {net: sorted(ep.get("Aliases") or [])
                         for net, ep in (data["NetworkSettings"].get("Networks") or {}).items()},
        }
    return states


def _make_container(engine, name: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        engine.containers.get(name).remove(force=True)
    stop_timeout = STOP_TIMEOUT if name in rows.ON_PODMAN else None
    engine.api.create_container(IMAGE, GRACEFUL, name=name, labels=LABELS, stop_timeout=stop_timeout)
    container = engine.containers.get(name)
    if name in rows.RUNNING_CONTAINERS:
        container.start()
    if name in rows.PAUSED_CONTAINERS:
        container.pause()


def _remove_all(engine, podman) -> None:
    for name in rows.ON_PODMAN:
        with contextlib.suppress(docker.errors.NotFound):
            podman.containers.get(name).remove(force=True)
    for name in ON_DOCKER:
        with contextlib.suppress(docker.errors.NotFound):
            engine.containers.get(name).remove(force=True)
    for network in engine.networks.list(names=[rows.NETWORK]):
        with contextlib.suppress(docker.errors.APIError):
            network.remove()
    for image in engine.images.list(filters={"reference": "containerops-snapshot/bi-*"}):
        for tag in image.tags:
            with contextlib.suppress(docker.errors.APIError):
                engine.images.remove(tag, force=True)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ansible_playbook(directory, inventory_file: str, playbook: str, extra_vars: dict[str, Any], name: str,
                      *args: str) -> subprocess.Popen:
    """Start ``ansible-playbook``; its output goes to ``<name>.out`` / ``.err``, a timestamped log to ``.log``."""
    vars_file = directory / f"{name}-vars.json"
    vars_file.write_text(json.dumps(extra_vars))
    env = dict(os.environ, ANSIBLE_PIPELINING="True", ANSIBLE_FORKS="8", ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_LOG_PATH=str(directory / f"{name}.log"))
    with open(directory / f"{name}.out", "w") as out, open(directory / f"{name}.err", "w") as err:
        return subprocess.Popen(["ansible-playbook", "-i", inventory_file, playbook, "-e", f"@{vars_file}", *args],
                                stdout=out, stderr=err, env=env)


def _finished(process: subprocess.Popen, directory, name: str) -> subprocess.CompletedProcess:
    try:
        process.wait(timeout=600)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, (directory / f"{name}.out").read_text(),
                                       (directory / f"{name}.err").read_text())


def states(engine, podman) -> dict[str, Any]:
    """``engine_state`` of every container of the rows, each read where it lives."""
    return {**engine_state(engine, ON_DOCKER), **engine_state(podman, rows.ON_PODMAN)}


@pytest.fixture(scope="module")
def outcome(engine, podman_service, tmp_path_factory):
    started = time.monotonic()
    directory = tmp_path_factory.mktemp("bad-input")
    podman = podman_service.client
    _remove_all(engine, podman)
    network = engine.networks.create(rows.NETWORK, driver="bridge", labels=LABELS)
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda name: _make_container(engine, name), ON_DOCKER))
        list(pool.map(lambda name: _make_container(podman, name), rows.ON_PODMAN))
    network.connect(rows.RUN)
    cert_file = directory / "cert.pem"
    cert_file.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    dead_socket = str(directory / "dead.sock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(dead_socket)  # the file stays; nobody listens on it
    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    silent_port = silent.getsockname()[1]
    hoody_server = hoody.start_server(token=HOODY_TOKEN, accept_delay=0.2)
    dockhand_server = dockhand.start_server(auth=True, username=DOCKHAND_USER, password=DOCKHAND_PASSWORD)
    try:
        connections = {host: {"backend": "docker"} for host in DOCKER_HOSTS}
        connections["hoody"] = {"backend": "hoody", "api_url": hoody_server.url, "api_token": HOODY_TOKEN}
        connections["dockhand"] = {"backend": "dockhand", "api_url": dockhand_server.url,
                                   "api_username": DOCKHAND_USER, "api_password": DOCKHAND_PASSWORD,
                                   "api_environment": 1}
        connections["podman"] = podman_connection(podman_service)
        inventory_file = directory / "inventory.json"
        inventory_file.write_text(json.dumps(inventory(connections)))
        task_dir, result_dir = directory / "tasks", directory / "results"
        task_dir.mkdir()
        result_dir.mkdir()
        for host, text in task_files(str(result_dir)).items():
            (task_dir / f"{host}.yml").write_text(text)
        (directory / "play.yml").write_text(PLAY)
        vvv_text, vvv_vars = vvv_play(hoody_server.url, dockhand_server.url, _closed_port(),
                                      str(directory / "vvv.json"))
        (directory / "vvv.yml").write_text(vvv_text)
        vvv_inventory = directory / "vvv-inventory.json"
        vvv_inventory.write_text(json.dumps({"all": {"hosts": {"bi-vvv": {}}, "vars": LOCAL}}))

        before = states(engine, podman)
        play = _ansible_playbook(directory, str(inventory_file), str(directory / "play.yml"),
                                 {"task_dir": str(task_dir), "bi_pattern": "", "bi_cert_file": str(cert_file),
                                  "bi_dead_socket": f"unix://{dead_socket}",
                                  "bi_silent_tcp": f"tcp://127.0.0.1:{silent_port}",
                                  "bi_silent_http": f"http://127.0.0.1:{silent_port}",
                                  "bi_hoody_https": hoody_server.url.replace("http://", "https://", 1)}, "play")
        vvv = _ansible_playbook(directory, str(vvv_inventory), str(directory / "vvv.yml"), vvv_vars, "vvv", "-vvv")
        play_done, vvv_done = _finished(play, directory, "play"), _finished(vvv, directory, "vvv")
        after = states(engine, podman)

        results: dict[str, Any] = {}
        for path in result_dir.glob("*.json"):
            results.update(json.loads(path.read_text()))
        vvv_file = directory / "vvv.json"
        yield Outcome(
            results=results, before=before, after=after,
            server_logs={"hoody": hoody_server.requests_log(), "dockhand": dockhand_server.requests()},
            play=play_done, vvv=vvv_done, vvv_results=json.loads(vvv_file.read_text()) if vvv_file.exists() else None,
            seconds=round(time.monotonic() - started, 1),
        )
    finally:
        silent.close()
        hoody_server.stop()
        dockhand_server.stop()
        _remove_all(engine, podman)


# ------------------------------------------------------------------------------------- the checks


def _found(fragment, text: str) -> bool:
    alternatives = fragment if isinstance(fragment, tuple) else (fragment,)
    return any(alternative.lower() in text.lower() for alternative in alternatives)


def _summary(result: Optional[dict[str, Any]]) -> str:
    """What a task did, in a few words: for a run that should have been refused."""
    if not result:
        return "no result"
    if result.get("skipped"):
        return "skipped"
    text = f"{'failed' if result.get('failed') else 'ok'}, changed={bool(result.get('changed'))}"
    containers = result.get("containers")
    if isinstance(containers, list):
        text += f", {len(containers)} container(s) selected"
        acted = [c.get("name") for c in containers if isinstance(c, dict) and c.get("changed")]
        if acted:
            text += f" ({len(acted)} changed: {', '.join(map(str, acted[:5]))})"
    if result.get("msg"):
        text += f", msg: {str(result['msg'])[:200]}"
    return text


def crash_signs(result: dict[str, Any]) -> list[str]:
    msg = str(result.get("msg") or "")
    signs = [marker for marker in CRASH_MARKERS if marker.lower() in msg.lower()]
    # (Ansible 2.19 attaches "exception" to every fail_json called while handling one: not a sign by itself.)
    signs += [key for key in ("module_stderr", "module_stdout") if result.get(key)]
    match = UNEXPECTED_EXCEPTION.search(msg)
    if match:
        signs.append(match.group(0))
    return signs


def row_problems(row: Row, outcome: Outcome) -> list[str]:
    result = outcome.results.get(row.id)
    if result is None:
        return ["the play did not run this row: see the play's output"]
    if row.gated and result.get("skipped"):
        dry_run = outcome.results.get(f"{row.id}#dry-run")
        return [f"its check-mode dry run was not refused before selecting ({_summary(dry_run)}); "
                "the real run was skipped to protect the engine"]
    problems = []
    msg = str(result.get("msg") or "")
    if not result.get("failed"):
        problems.append(f"accepted: {_summary(result)}")
    else:
        missing = [fragment for fragment in row.expect if not _found(fragment, msg)]
        if missing:
            problems.append(f"msg lacks {missing}")
    signs = crash_signs(result)
    if signs:
        problems.append(f"crashed: {signs}")
    if result.get("changed"):
        problems.append("reported changed")
    for name in row.watch:
        if outcome.before.get(name) != outcome.after.get(name):
            problems.append(f"{name} changed on the engine")
    if SECRET in json.dumps(result):
        problems.append("a password shows in the result")
    return problems


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_is_refused_clearly(outcome, row):
    problems = row_problems(row, outcome)
    if problems:
        msg = str((outcome.results.get(row.id) or {}).get("msg") or "")[:300]
        pytest.fail(f"{row.module} {json.dumps(row.args)}: {'; '.join(problems)} | msg: {msg!r}", pytrace=False)


@pytest.mark.parametrize("name", rows.ALL_CONTAINERS)
def test_the_engine_is_unchanged(outcome, name):
    """Every container the rows aimed at (or could have selected) keeps its status, id, settings, networks."""
    before, after = outcome.before[name], outcome.after[name]
    assert before is not None, f"{name} was not created"
    changed = {key: (value, (after or {}).get(key)) for key, value in before.items()
               if after is None or after[key] != value}
    assert not changed, f"{name} changed during the play: {changed}"


@pytest.mark.parametrize("server", ["hoody", "dockhand"])
def test_the_rest_servers_received_no_change(outcome, server):
    """Through the REST backends, bad input never gets as far as a request that changes something."""
    writes = [f"{entry.get('method')} {entry.get('path')}" for entry in outcome.server_logs[server]
              if entry.get("method") not in ("GET", "HEAD") and not str(entry.get("path", "")).startswith("/api/auth/")]
    assert not writes, f"{server} received: {writes}"


def test_the_play_ran_every_row(outcome):
    missing = [row.id for row in ROWS if row.id not in outcome.results]
    output = outcome.play.stdout[-3000:] + outcome.play.stderr[-3000:]
    assert not missing, f"rows without a result (after {outcome.seconds} s): {missing}\n{output}"


def test_a_password_in_api_url_never_shows_with_vvv(outcome):
    output = outcome.vvv.stdout + outcome.vvv.stderr
    assert outcome.vvv_results, output[-3000:]
    assert "api_url" in output  # -vvv really printed the module arguments
    assert SECRET not in output, [line[:300] for line in output.splitlines() if SECRET in line][:5]


@pytest.mark.parametrize("call", ["working-hoody", "working-dockhand", "failing-unreachable", "failing-bad-name",
                                  "failing-ftp-scheme"])
def test_calls_with_a_password_in_api_url(outcome, call):
    result = (outcome.vvv_results or {}).get(call)
    assert result, outcome.vvv.stdout[-3000:]
    assert SECRET not in json.dumps(result), f"the password shows in the result: {_summary(result)}"
    assert not crash_signs(result), _summary(result)
    if call.startswith("working"):
        assert not result.get("failed"), _summary(result)
        assert result["container"]["exists"]
    else:
        assert result.get("failed") and result.get("msg"), _summary(result)
        assert not result.get("changed")
