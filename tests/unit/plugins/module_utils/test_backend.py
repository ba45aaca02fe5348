# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parts every backend shares: the one waiter and the listing filter."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _backend
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    Backend,
    ContainerState,
    Evidence,
    Wait,
    exactly,
    matching,
    named_exactly,
    named_in,
    names,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, Unsupported, WaitTimeout
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import (
    PARTS,
    Aliases,
    Health,
    Settings,
    Snapshots,
)
from tests.unit.fake_backend import FakeBackend
from tests.unit.plugins.module_utils.test_parts import Healthy


class Scripted(Backend):
    """An engine that shows the statuses (or ``(status, health)`` pairs) of a script, one per look."""

    name = "scripted"
    poll_interval = 0.001

    def __init__(self, *looks, settles_at_once: bool = True) -> None:
        self.looks = list(looks)
        self.seen = 0
        self.settles_at_once = settles_at_once

    @classmethod
    def from_options(cls, connection):
        return cls(*connection.params["looks"])

    def look_up(self, ref):
        look = self.looks[min(self.seen, len(self.looks) - 1)]
        self.seen += 1
        status, health = look if isinstance(look, tuple) else (look, None)
        return ContainerState("c1", "web", status, status, health)

    def list(self, filters):
        return []

    def perform(self, container, operation, stop_timeout):
        return False

    def describe(self, container, runtime):
        return {}

    def status_history(self, ref, since, until):
        return []

    def close(self):
        pass


WEB = ContainerState("c1", "web", "running", "running")


def test_a_wait_returns_the_first_look_at_a_wanted_status():
    engine = Scripted("restarting", "removing", "stopped", "running")
    assert engine.wait_for(WEB, ("stopped",), 5).status == "stopped"
    assert engine.seen == 3


def test_an_engine_that_settles_at_once_ends_the_wait_on_any_settled_status():
    engine = Scripted("restarting", "failed", "stopped")
    assert engine.wait_for(WEB, ("stopped",), 5).status == "failed"


def test_an_engine_that_acts_after_answering_is_waited_on_while_it_shows_the_old_status():
    engine = Scripted("running", "running", "stopped", settles_at_once=False)
    assert engine.wait_for(WEB, ("stopped",), 5).status == "stopped"
    assert engine.seen == 3


class Restarting(Scripted):
    """Shows the effect of a restart on the second look for it."""

    def __init__(self, *looks, settles_at_once: bool = False) -> None:
        super().__init__(*looks, settles_at_once=settles_at_once)
        self.asked: list[Evidence] = []

    def shows_effect(self, container, evidence):
        self.asked.append(evidence)
        return len(self.asked) == 2


def test_evidence_is_asked_for_before_a_status_it_may_show_already_counts():
    engine = Restarting("running")
    evidence = Evidence("restart", "record-7")
    assert engine.wait_for(WEB, ("running",), 5, evidence).status == "running"
    assert engine.asked == [evidence, evidence] and engine.seen == 2


def test_evidence_is_not_asked_for_where_the_status_tells():
    """A status the container did not show before the operation; an engine done when it answers; no evidence."""
    stopped = ContainerState("c1", "web", "stopped", "stopped")
    for engine, container, evidence in [
        (Restarting("running"), stopped, Evidence("start")),
        (Restarting("running", settles_at_once=True), WEB, Evidence("restart", "record-7")),
        (Restarting("running"), WEB, None),
    ]:
        assert engine.wait_for(container, ("running",), 5, evidence).status == "running"
        assert engine.asked == [] and engine.seen == 1


def test_a_status_is_trusted_after_the_stop_deadline_when_the_effect_never_shows(monkeypatch):
    monkeypatch.setattr(_backend, "STOP_MARGIN", -10)  # the deadline is now
    engine = Restarting("running")
    engine.shows_effect = lambda container, evidence: False
    assert engine.wait_for(WEB, ("running",), 5, Evidence("restart")).status == "running"
    assert engine.warnings == ["backend scripted could not confirm the restart; trusting the status"]


def test_the_default_evidence_tells_a_status_and_cannot_tell_a_restart():
    engine = Scripted("stopped")
    assert engine.evidence_mark(WEB, "stop") == Evidence("stop")
    assert engine.shows_effect(WEB, Evidence("stop")) is True
    assert engine.shows_effect(WEB, Evidence("start")) is False
    assert engine.shows_effect(WEB, Evidence("restart")) is None


def test_one_timeout_message_for_every_wait():
    with pytest.raises(WaitTimeout) as caught:
        Scripted("restarting").wait_for(WEB, ("stopped",), 0.05)
    assert str(caught.value) == "waiting for stopped: still 'restarting' after 0s"
    with pytest.raises(WaitTimeout) as caught:
        Scripted(("running", "starting")).watch(
            WEB, Wait(lambda state: state.health == "healthy", lambda state: f"waiting: still {state.health!r}", 0.05)
        )
    assert str(caught.value) == "waiting: still 'starting' after 0s"


REFUSED = {
    Settings: "backend scripted cannot change container settings: it has no API for that; nothing was changed",
    Snapshots: "backend scripted cannot take, list or restore snapshots: it has no API for that; nothing was changed",
    Aliases: "backend scripted cannot manage aliases: it has no API for that; nothing was changed",
    Health: "backend scripted cannot wait for a health check: its containers have none; nothing was changed",
}


@pytest.mark.parametrize("kind", PARTS, ids=lambda kind: kind.__name__)
def test_every_missing_part_is_refused_in_its_words(kind):
    """The words of every refusal as users read them, each part by its name."""
    with pytest.raises(Unsupported) as caught:
        Scripted("running").part(kind)
    assert str(caught.value) == REFUSED[kind]


def test_a_part_the_engine_has_is_returned():
    engine = Scripted("running")
    engine.health = Healthy(engine)
    assert engine.part(Health) is engine.health


LISTED = [
    ContainerState("1", "web-1", "running", "running", details={"labels": {"tier": "web", "env": "prod"}}),
    ContainerState("2", "web-2", "stopped", "exited", details={"labels": {"tier": "web"}}),
    ContainerState("3", "db-1", "running", "running", details={"labels": {}}),
]


def labels(state):
    return state.details["labels"]


@pytest.mark.parametrize(
    ("filters", "selected"),
    [
        ({"name": "web-*"}, ["web-1", "web-2"]),
        ({"status": ["running"]}, ["web-1", "db-1"]),
        ({"label": ["tier=web"]}, ["web-1", "web-2"]),
        ({"label": ["tier=web", "env"]}, ["web-1"]),
        ({"label": ["tier=db"]}, []),
        ({"name": "web-*", "status": ["stopped"], "label": ["tier"]}, ["web-2"]),
    ],
)
def test_one_listing_filter_for_every_engine(filters, selected):
    assert [state.name for state in matching(LISTED, filters, labels)] == selected


def test_a_label_filter_an_engine_cannot_read_is_refused_not_ignored():
    # Ignoring it would widen "the web tier" to every container listed.
    with pytest.raises(BadInput, match=r"filters\.label cannot be applied"):
        matching(LISTED, {"label": ["tier=web"]})
    assert len(matching(LISTED, {"status": ["running", "stopped"]})) == 3


# A name means exactly what it says: a container's name, its full id or its 12-hex short id, never a prefix.


DOCKER_ID = "dde4c0ffee5a" + "0" * 52
HOODY_ID = "5e1ec7ab1e5e1ec7ab1e5e1e"
DOCKER_WEB = ContainerState(DOCKER_ID, "web", "running", "running")
HOODY_API = ContainerState(HOODY_ID, "api", "stopped", "exited")


@pytest.mark.parametrize("ref", ["web", DOCKER_ID, DOCKER_ID[:12]])
def test_a_docker_container_is_named_by_its_name_full_id_or_short_id(ref):
    assert names(ref, "web", DOCKER_ID) and named_exactly(DOCKER_WEB, ref)


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 8, 11, 13, 20, 63])
def test_no_id_prefix_names_a_container(length):
    assert not names(DOCKER_ID[:length], "web", DOCKER_ID)
    if length < len(HOODY_ID):
        assert not names(HOODY_ID[:length], "api", HOODY_ID)


@pytest.mark.parametrize("ref", ["we", "web-1", "WEB", " web", "web ", DOCKER_ID + "0", DOCKER_ID.upper()])
def test_nothing_near_a_name_or_id_names_it(ref):
    assert not names(ref, "web", DOCKER_ID)


def test_a_short_id_is_docker_s_the_first_12_of_a_64_hex_id_only():
    assert names(HOODY_ID, "api", HOODY_ID)
    assert not names(HOODY_ID[:12], "api", HOODY_ID)  # a Hoody id is 24 hex: no short form
    assert not names("dde4c0ffee5a", "x", "dde4c0ffee5aXYZ")  # not a Docker id


def test_an_absent_container_is_named_by_nothing():
    assert not named_exactly(ContainerState.absent("web"), "web")


def test_an_engine_answer_for_a_prefix_becomes_absent():
    assert exactly(DOCKER_WEB, "dde4").status == "absent" and exactly(DOCKER_WEB, "dde4").name == "dde4"
    assert exactly(DOCKER_WEB, "web") is DOCKER_WEB


def test_a_name_wins_over_a_short_id_and_a_prefix_finds_nothing():
    named_like_an_id = ContainerState("f" * 64, DOCKER_ID[:12], "running", "running")
    for listed in itertools.permutations([DOCKER_WEB, named_like_an_id, HOODY_API]):
        assert named_in(list(listed), DOCKER_ID[:12]) is named_like_an_id
        assert named_in(list(listed), DOCKER_ID) is DOCKER_WEB
        assert named_in(list(listed), "web") is DOCKER_WEB
        assert named_in(list(listed), HOODY_ID) is HOODY_API
        for length in range(1, 12):
            assert named_in(list(listed), DOCKER_ID[:length]) is None


def test_two_containers_of_one_name_are_an_error_naming_both():
    twin = ContainerState("a" * 24, "api", "running", "running")
    with pytest.raises(BadInput, match=r"names 2 containers \(5e1ec7ab1e5e1ec7ab1e5e1e, a{24}\): use the full id"):
        named_in([HOODY_API, twin], "api")


@pytest.mark.parametrize("refs", [["dde4"], ["02"], ["dde4", "web"], ["f9d", "web", "dde4c"]])
def test_resolve_never_takes_a_prefix_for_a_container(refs):
    engine = FakeBackend(DOCKER_WEB, ContainerState("02c0" + "1" * 60, "db", "stopped", "exited"))
    resolved = engine.resolve(refs)
    assert [state.name for state in resolved] == refs
    assert [state.status for state in resolved] == ["running" if ref == "web" else "absent" for ref in refs]
    assert engine.listings == (1 if len(refs) > 1 else 0)


def test_resolve_finds_full_and_short_ids():
    engine = FakeBackend(DOCKER_WEB)
    assert [state.id for state in engine.resolve([DOCKER_ID[:12], DOCKER_ID, "web"])] == [DOCKER_ID] * 3
    assert engine.inspect(DOCKER_ID[:12]) is DOCKER_WEB
