"""The optional parts of a backend (``_parts``): what each declares, its default words, the health wait."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import Unhealthy, WaitTimeout
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import (
    PARTS,
    Aliases,
    Health,
    Settings,
    Snapshots,
)
from tests.unit.fake_backend import FakeBackend


class Healthy(Health):
    """Health as the container's own ``health`` says; ``unhealthy`` ends the wait."""

    def has_check(self, container):
        return container.health is not None

    def check(self, state):
        if state.health == "unhealthy":
            raise Unhealthy("its health check reports unhealthy")
        return state


class ReadOnly(Settings):
    def read(self, container):
        return {}

    def update(self, container, changes):
        raise AssertionError("not asked")


def test_each_part_is_reached_by_its_own_attribute_and_refused_in_its_own_words():
    assert [kind.attribute for kind in PARTS] == ["settings", "snapshots", "aliases", "health"]
    assert {kind: kind.lacking for kind in PARTS} == {
        Settings: ("change container settings", "it has no API for that"),
        Snapshots: ("take, list or restore snapshots", "it has no API for that"),
        Aliases: ("manage aliases", "it has no API for that"),
        Health: ("wait for a health check", "its containers have none"),
    }


def test_a_setting_an_engine_cannot_change_is_named_with_the_engine():
    settings = ReadOnly(FakeBackend())
    assert settings.why_not_settable("resources.memory") == "backend fake cannot change resources.memory"
    assert settings.settable == () and settings.needing_restart == ()


def test_snapshots_die_with_their_container_unless_the_engine_says_otherwise():
    assert Snapshots.outlive_container is False


def engine_showing(*healths: str) -> FakeBackend:
    """A fake whose container ``web`` shows these healths, one per look."""
    engine = FakeBackend()
    engine.container("web", "running", health=healths[0])
    looks = list(healths)

    def look_up(ref):
        state = FakeBackend.look_up(engine, ref)
        health = looks.pop(0) if len(looks) > 1 else looks[0]
        return ContainerState(state.id, state.name, state.status, state.engine_status, health)

    engine.look_up = look_up
    return engine


def test_a_health_wait_ends_at_the_first_passing_check():
    engine = engine_showing("starting", "starting", "healthy")
    assert Healthy(engine).wait_healthy(engine.inspect("web"), 5).health == "healthy"


def test_a_health_wait_ends_early_when_the_check_says_it_is_pointless():
    engine = engine_showing("starting", "unhealthy")
    with pytest.raises(Unhealthy):
        Healthy(engine).wait_healthy(engine.inspect("web"), 5)


def test_a_health_wait_times_out_saying_the_last_health_seen():
    engine = engine_showing("starting")
    with pytest.raises(WaitTimeout, match=r"^waiting for a passing health check: still 'starting' after 0s$"):
        Healthy(engine).wait_healthy(engine.inspect("web"), 0.05)


def test_a_health_wait_is_marked_for_engines_that_listen_for_health_events():
    engine = engine_showing("healthy")
    waits = []
    watch = engine.watch
    engine.watch = lambda container, wait: waits.append(wait) or watch(container, wait)
    Healthy(engine).wait_healthy(engine.inspect("web"), 5)
    assert [wait.health for wait in waits] == [True]
