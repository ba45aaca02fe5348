"""The ``Backend`` contract (``tests/backend_contract.py``) over the real engines: Docker itself, the Hoody and
Dockhand test servers on top of it, and the suite's Podman service. The unit tests run the same checks over the
shared in-memory fake."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _module
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import Backend
from tests.backend_contract import CHECKS, Containers
from tests.integration.conftest import (
    BACKENDS,
    DOCKHAND_PASSWORD,
    DOCKHAND_USER,
    hoody_connection,
    on_engine_of,
    podman_connection,
)


def connected(backend: str, request) -> Backend:
    """The real backend, connected as a task with only its connection options would connect it."""
    if backend == "docker":
        given: dict[str, Any] = {"backend": "docker"}
    elif backend == "podman":
        given = podman_connection(request.getfixturevalue("podman_service"))
    elif backend == "hoody":
        given = hoody_connection(request.getfixturevalue("hoody_server"))
    else:
        given = {"backend": "dockhand", "api_url": request.getfixturevalue("dockhand_server").url,
                 "api_username": DOCKHAND_USER, "api_password": DOCKHAND_PASSWORD, "api_environment": 1}  # fmt: skip
    params = {option: spec.get("default") for option, spec in _module.CONNECTION_SPEC.items()}
    return _module.connect(dict(params, **given), lambda secret: None)


@pytest.fixture
def containers(request) -> Containers:
    """The contract's containers on the backend's real engine, named for the test."""
    backend = request.node.callspec.params["backend"]
    engine, make_containers = on_engine_of(backend, request)
    made = Containers(f"hm-contract-{backend}")
    make_containers(made.running, labels={"tier": "web"})
    make_containers(made.stopped, labels={"tier": "batch"})
    make_containers(made.walker)
    engine.containers.get(made.running).start()
    return made


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_keeps_the_contract(backend, check, containers, request):
    engine = connected(backend, request)
    try:
        check(engine, containers)
    finally:
        engine.close()
