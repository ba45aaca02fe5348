# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A name means exactly what it says: a container's name, its full id or its 12-hex short id, never a prefix."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    ContainerState,
    exactly,
    named_exactly,
    named_in,
    names,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from tests.unit.fake_backend import FakeBackend

DOCKER_ID = "dde4c0ffee5a" + "0" * 52
HOODY_ID = "5e1ec7ab1e5e1ec7ab1e5e1e"
WEB = ContainerState(DOCKER_ID, "web", "running", "running")
API = ContainerState(HOODY_ID, "api", "stopped", "exited")


@pytest.mark.parametrize("ref", ["web", DOCKER_ID, DOCKER_ID[:12]])
def test_a_docker_container_is_named_by_its_name_full_id_or_short_id(ref):
    assert names(ref, "web", DOCKER_ID) and named_exactly(WEB, ref)


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
    assert exactly(WEB, "dde4").status == "absent" and exactly(WEB, "dde4").name == "dde4"
    assert exactly(WEB, "web") is WEB


def test_a_name_wins_over_a_short_id_and_a_prefix_finds_nothing():
    named_like_an_id = ContainerState("f" * 64, DOCKER_ID[:12], "running", "running")
    for listed in itertools.permutations([WEB, named_like_an_id, API]):
        assert named_in(list(listed), DOCKER_ID[:12]) is named_like_an_id
        assert named_in(list(listed), DOCKER_ID) is WEB
        assert named_in(list(listed), "web") is WEB
        assert named_in(list(listed), HOODY_ID) is API
        for length in range(1, 12):
            assert named_in(list(listed), DOCKER_ID[:length]) is None


def test_two_containers_of_one_name_are_an_error_naming_both():
    twin = ContainerState("a" * 24, "api", "running", "running")
    with pytest.raises(BadInput, match=r"names 2 containers \(5e1ec7ab1e5e1ec7ab1e5e1e, a{24}\): use the full id"):
        named_in([API, twin], "api")


@pytest.mark.parametrize("refs", [["dde4"], ["02"], ["dde4", "web"], ["f9d", "web", "dde4c"]])
def test_resolve_never_takes_a_prefix_for_a_container(refs):
    engine = FakeBackend(WEB, ContainerState("02c0" + "1" * 60, "db", "stopped", "exited"))
    resolved = engine.resolve(refs)
    assert [state.name for state in resolved] == refs
    assert [state.status for state in resolved] == ["running" if ref == "web" else "absent" for ref in refs]
    assert engine.listings == (1 if len(refs) > 1 else 0)


def test_resolve_finds_full_and_short_ids():
    engine = FakeBackend(WEB)
    assert [state.id for state in engine.resolve([DOCKER_ID[:12], DOCKER_ID, "web"])] == [DOCKER_ID] * 3
    assert engine.inspect(DOCKER_ID[:12]) is WEB
