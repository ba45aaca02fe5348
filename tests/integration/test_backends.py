"""The same playbook through all three backends, each against real parts.

Docker: the real engine. Hoody and Dockhand: the test servers in ``tests/servers/``, which serve their
REST contracts on 127.0.0.1 on top of the same real engine.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import DOCKHAND_PASSWORD, DOCKHAND_USER, HOODY_TOKEN, run_playbook


def connection(backend: str, request) -> dict:
    if backend == "docker":
        return {"backend": "docker"}
    if backend == "hoody":
        server = request.getfixturevalue("hoody_server")
        return {"backend": "hoody", "api_url": server.url, "api_token": HOODY_TOKEN}
    server = request.getfixturevalue("dockhand_server")
    return {"backend": "dockhand", "api_url": server.url, "api_username": DOCKHAND_USER,
            "api_password": DOCKHAND_PASSWORD, "api_environment": 1}


@pytest.mark.parametrize("backend", ["docker", "hoody", "dockhand"])
def test_same_playbook_on_every_backend(backend, request, make_containers):
    names = make_containers(f"bk-{backend}-1", f"bk-{backend}-2")
    process = run_playbook("lifecycle.yml", {"connection": connection(backend, request), "names": names})
    assert process.returncode == 0, process.stdout[-6000:] + process.stderr[-3000:]
    assert "failed=0" in process.stdout, process.stdout[-6000:]
