"""The ``Backend`` contract (``tests/backend_contract.py``) over the shared in-memory fake; the integration tests
run it over the real engines."""

from __future__ import annotations

import pytest

from tests.backend_contract import CHECKS, Containers, refusing_defaults
from tests.unit.fake_backend import FakeBackend


def fake_engine(made: Containers) -> FakeBackend:
    engine = FakeBackend()
    engine.container(made.running, "running", labels={"tier": "web"})
    engine.container(made.stopped, "stopped", labels={"tier": "batch"})
    engine.container(made.walker, "stopped")
    engine.container("other-running", "running", labels={"tier": "web"})
    return engine


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_the_fake_keeps_the_contract(check):
    made = Containers("contract")
    check(fake_engine(made), made)


def test_the_refusing_defaults_are_read_from_the_class():
    """Every default known to refuse today is found, so one that stops refusing cannot drop out unseen."""
    known = {"read_config", "update_config", "snapshots", "create_snapshot", "delete_snapshot", "is_restored_from",
             "restore_snapshot", "alias_holders", "point_alias", "check_health"}  # fmt: skip
    assert known <= set(refusing_defaults())
