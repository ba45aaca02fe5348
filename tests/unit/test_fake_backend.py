"""The ``Backend`` contract (``tests/backend_contract.py``) over the shared in-memory fake; the integration tests
run it over the real engines."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import Unsupported
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import Snapshots
from tests.backend_contract import CHECKS, Containers, check_every_part_is_there_or_refused_in_its_words
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


def test_a_fake_without_its_parts_keeps_the_contract_by_refusing_them():
    made = Containers("contract")
    engine = fake_engine(made)
    engine.settings = engine.snapshots = engine.aliases = engine.health = None
    for check in CHECKS:
        check(engine, made)


def test_the_contract_fails_a_part_refused_in_other_words():
    """The failure mode of the part check: a backend whose refusal drifts from ``_backend.refusal``."""
    made = Containers("contract")
    engine = fake_engine(made)
    engine.snapshots = None
    part = engine.part

    def drifted(kind):
        if kind is Snapshots:
            raise Unsupported("no snapshots here")
        return part(kind)

    engine.part = drifted
    with pytest.raises(AssertionError, match="Snapshots"):
        check_every_part_is_there_or_refused_in_its_words(engine, made)


def test_the_contract_fails_a_part_of_another_backend():
    made = Containers("contract")
    engine, other = fake_engine(made), FakeBackend()
    engine.settings = other.settings
    with pytest.raises(AssertionError, match="Settings"):
        check_every_part_is_there_or_refused_in_its_words(engine, made)
