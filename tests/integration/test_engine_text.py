"""An engine that answers with terminal escape sequences never gets them onto the user's screen (issue 19, item 5).

The Hoody test server (on 127.0.0.1, on the real engine) is made to answer error bodies, a reason phrase and a
container name holding ``ESC]0;...BEL`` (sets a terminal's title), ``ESC[2J`` (clears the screen), a C1 CSI and a
bidi override, through real ``ansible-playbook`` and ``ansible-inventory`` runs. Their output (task results,
messages, warnings, the inventory's ``--list`` and ``--graph``) must hold none of those characters, and must show
them escaped (``\\x1b``) where the engine's text is quoted.
"""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml

from tests.integration.conftest import CONNECTED_PLAY, HOODY_TOKEN, hoody_connection, task, task_results
from tests.integration.test_inventory import ansible_inventory
from tests.integration.test_rest_faults import NO_ANSWER_FAULTS, collect, envelope, set_faults
from tests.servers import hoody

EVIL = "boom \x1b]0;pwned\x07 \x1b[2J\x1b[1;1H \x9b31m \u202egnp.exe"
# A reason phrase travels in the status line, which is Latin-1: no U+202E there.
EVIL_REASON = "Bad \x1b]0;pwned\x07\x1b[2J Gateway"
EVIL_NAME = "web\x1b]0;pwned\x07\x1b[2J\u202e"
SHOWN = "\\x1b]0;pwned\\x07"  # how the title sequence must appear where the engine's text is quoted
# What must never be printed: C0 controls but newline and tab, DEL, C1, bidi controls.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(autouse=True)
def no_colour(monkeypatch):
    """Ansible's own colours are escape sequences too: off, so every one found came from the engine."""
    monkeypatch.setenv("ANSIBLE_NOCOLOR", "1")
    monkeypatch.setenv("ANSIBLE_FORCE_COLOR", "0")


def unsafe(text: str) -> list[str]:
    return sorted({repr(ch) for ch in UNSAFE.findall(text)})


def test_module_messages_results_and_output_show_engine_escapes_escaped(hoody_server, make_containers, engine,
                                                                       tmp_path):
    make_containers("et-web")
    engine.containers.get("et-web").start()  # a running container's stats are read
    error_body = {"statusCode": 400, "error": "Bad Request", "message": EVIL}
    cases = [
        # An error body's message, in msg.
        ("body", dict(bad_body=10, bad_body_status=400, bad_body_json=error_body, only_path="/api/v1/containers"),
         "container_info", "name: et-web"),
        # A reason phrase and no body, in msg (a 502 is retried: 10 times over the 0 retries asked).
        ("reason", dict(bad_body=10, bad_body_status=f"502 {EVIL_REASON}", bad_body_text="",
                        only_path="/api/v1/containers"),
         "container_info", "name: et-web\nretries: 0"),
        # An engine's error the task survives: in the result, runtime.error.
        ("runtime", dict(bad_body=10, bad_body_status=400, bad_body_json=error_body, only_path="/stats"),
         "container_info", "name: et-web\nruntime: true"),
    ]  # fmt: skip
    faults = [{**NO_ANSWER_FAULTS, "bad_body_status": 200, **fault} for _name, fault, *_rest in cases]
    tasks = "".join(set_faults(index) + task(module, args, register=name)
                    for index, (name, _fault, module, args) in enumerate(cases))  # fmt: skip
    process, out = task_results(tmp_path, CONNECTED_PLAY.format(tasks=tasks + collect([c[0] for c in cases])), {
        "connection": hoody_connection(hoody_server), "faults_url": f"{hoody_server.url}/__admin/faults",
        "faults": faults})  # fmt: skip
    assert out, process.stdout[-3000:]
    assert out["body"]["failed"] and SHOWN in out["body"]["msg"] and "\\u202egnp.exe" in out["body"]["msg"]
    assert out["reason"]["failed"] and "HTTP 502" in out["reason"]["msg"] and SHOWN in out["reason"]["msg"]
    runtime = out["runtime"]["container"]["runtime"]
    assert not out["runtime"].get("failed") and SHOWN in runtime["error"], out["runtime"]
    for name, result in out.items():
        assert not unsafe(json.dumps(result, ensure_ascii=False)), (name, result)
    assert not unsafe(process.stdout + process.stderr), process.stdout[-3000:]


def write_config(tmp_path, engines: list[dict]) -> str:
    path = tmp_path / "et.containers.yml"
    path.write_text(yaml.safe_dump({"plugin": "containerops.lifecycle.containers", "engines": engines}))
    return str(path)


def test_inventory_shows_engine_escapes_escaped_in_host_names_and_warnings(hoody_server, tmp_path):
    listed = {"id": "e" * 24, "name": EVIL_NAME, "status": "running", "project_id": "p" * 24}
    hoody_server.admin("faults", {"bad_body": 10, "only_methods": ["GET"], "only_path": "/api/v1/containers",
                                  "bad_body_json": envelope({"containers": [listed], "pagination": {
                                      "total": 1, "page": 1, "limit": 100, "totalPages": 1}})})  # fmt: skip
    broken = hoody.start_server(token=HOODY_TOKEN)
    try:
        broken.admin("faults", {"bad_body": 10, "bad_body_status": 400, "only_path": "/api/v1/containers",
                                "bad_body_json": {"statusCode": 400, "error": "Bad Request", "message": EVIL}})
        source = write_config(tmp_path, [
            {"name": "evil", **hoody_connection(hoody_server)},
            {"name": "broken", "retries": 0, **hoody_connection(broken)},
        ])  # fmt: skip
        shown = ansible_inventory(source, "--list")
        graph = ansible_inventory(source, "--graph")
    finally:
        broken.stop()
    for process in (shown, graph):
        assert process.returncode == 0, process.stderr[-3000:]
        assert not unsafe(process.stdout + process.stderr), (process.stdout[-2000:], process.stderr[-2000:])
    hosts = json.loads(shown.stdout)["_meta"]["hostvars"]
    assert any(host.startswith("web\\x1b]0;pwned\\x07") for host in hosts), sorted(hosts)
    warning = " ".join(graph.stderr.split())  # Ansible wraps warnings at the terminal's width
    assert "engine 'broken'" in warning and "\\x1b]0;pwned\\x07" in warning, graph.stderr[-2000:]
    assert "web\\x1b]0;pwned\\x07" in graph.stdout


def test_the_test_server_really_sends_the_escapes(hoody_server):
    """The checks above can fail: the server's answer holds the raw characters."""
    import requests

    hoody_server.admin("faults", {"bad_body": 1, "bad_body_status": f"502 {EVIL_REASON}", "bad_body_text": ""})
    answer = requests.get(f"{hoody_server.url}/api/v1/containers/", timeout=10,
                          headers={"Authorization": f"Bearer {HOODY_TOKEN}"})  # fmt: skip
    assert answer.status_code == 502 and unsafe(answer.reason)
    assert os.environ.get("ANSIBLE_NOCOLOR") == "1"
