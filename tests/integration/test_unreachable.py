"""Engines the inventory plugin cannot reach are said plainly (issue 23): what, why, and which option or
environment variable gave the address, through a real ``ansible-inventory`` (the modules' cases are rows of
``bad_input_rows.py``; the event source's are unit tests in ``tests/unit/extensions/eda``)."""

from __future__ import annotations

import socket

import yaml

from tests.integration.conftest import HOODY_TOKEN
from tests.integration.test_inventory import ansible_inventory


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_inventory_warnings_say_what_why_and_where_the_address_came_from(tmp_path):
    hoody_url = f"http://127.0.0.1:{closed_port()}"
    socket_path = tmp_path / "no-such-docker.sock"
    source = tmp_path / "down.containers.yml"
    source.write_text(yaml.safe_dump({"plugin": "containerops.lifecycle.containers", "engines": [
        {"name": "platform", "backend": "hoody", "api_token": HOODY_TOKEN, "retries": 0},
        {"name": "box", "docker_host": f"unix://{socket_path}", "retries": 0},
        {"name": "panel", "backend": "dockhand", "api_environment": 1, "retries": 0},
    ]}))  # fmt: skip
    process = ansible_inventory(str(source), "--list", env={
        "HOODY_API_URL": hoody_url, "DOCKHAND_URL": "http://nonexistent.invalid", "ANSIBLE_NOCOLOR": "1"})
    assert process.returncode == 0, process.stderr[-3000:]
    said = " ".join(process.stderr.split())  # Ansible wraps warnings at the terminal's width
    assert f"cannot reach the Hoody API at {hoody_url} (api_url, from HOODY_API_URL): connection refused" in said
    assert f"cannot reach the Docker engine at unix://{socket_path} (docker_host): no such socket file" in said
    assert "cannot reach the Dockhand API at http://nonexistent.invalid (api_url, from DOCKHAND_URL): name not " \
           "resolved" in said  # fmt: skip
    assert "Max retries" not in said and "NewConnectionError" not in said and HOODY_TOKEN not in said
