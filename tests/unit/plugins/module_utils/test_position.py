"""_position: what a resumed event source emits, given the position it kept and the records it reads again."""

from __future__ import annotations

import json

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _position

S = 10**9  # one second in ns
ENGINE = '{"backend": "docker", "docker_host": "unix:///var/run/docker.sock"}'


def record(name: str, seconds: float) -> dict:
    return {"id": name, "at": int(seconds * S)}


def at(item: dict) -> int:
    return item["at"]


def ids(records: list[dict]) -> list[str]:
    return [item["id"] for item in records]


def test_a_position_that_holds_nothing_lets_everything_through_and_resumes_from_nowhere():
    records = [record("a", 1), record("b", 2)]
    assert _position.unseen(_position.empty(), records, at) == records
    assert _position.resume_from_ns(_position.empty()) is None


def test_what_was_emitted_never_comes_again_and_what_was_held_back_comes_once():
    emitted = [record("create", 1000), record("start", 1001), record("exit", 1030)]
    position = _position.handled(_position.empty(), emitted, at)
    assert position["newest_ns"] == 1030 * S
    # Read again from the overlap before the newest: the engine's history since then, plus what came while away.
    assert _position.resume_from_ns(position) == 1030 * S - _position.OVERLAP_NS
    again = [
        record("ancient", 1030 - 61),  # older than the overlap: emitted or not, it is not told again
        record("start", 1001),
        record("stop-held", 1020),  # held back for a restart when the source stopped: never emitted
        record("exit", 1030),
        record("crash-while-away", 4000),
    ]
    fresh = _position.unseen(position, again, at)
    assert ids(fresh) == ["stop-held", "crash-while-away"]
    position = _position.handled(position, fresh, at)
    assert _position.unseen(position, again, at) == []  # a second resume emits nothing twice


def test_nothing_from_before_the_source_first_started_is_emitted_however_far_back_it_reads():
    position = _position.handled(_position.empty(from_ns=1000 * S), [record("start", 1001)], at)
    assert position["from_ns"] == 1000 * S
    assert ids(_position.unseen(position, [record("before", 999), record("start", 1001), record("new", 1002)], at)) == [
        "new"
    ]
    assert ids(_position.unseen(_position.empty(5 * S), [record("a", 4), record("b", 5)], at)) == ["b"]


def test_the_position_remembers_only_the_overlap_and_at_most_recent_max_ids():
    position = _position.handled(_position.empty(), [record("old", 0), record("mid", 100), record("new", 130)], at)
    assert set(position["recent"]) == {"mid", "new"}  # "old" is 130 s before the newest
    many = [record(f"r{n}", 200 + n / 10**6) for n in range(_position.RECENT_MAX + 10)]
    position = _position.handled(position, many, at)
    assert len(position["recent"]) == _position.RECENT_MAX
    assert "r0" not in position["recent"] and f"r{_position.RECENT_MAX + 9}" in position["recent"]


def test_handled_leaves_the_position_it_was_given_as_it_was():
    position = _position.handled(_position.empty(), [record("a", 1)], at)
    before = json.dumps(position, sort_keys=True)
    _position.handled(position, [record("b", 2)], at)
    assert json.dumps(position, sort_keys=True) == before


def test_an_older_record_does_not_move_the_newest_back():
    position = _position.handled(_position.empty(), [record("late", 50), record("first", 10)], at)
    assert position["newest_ns"] == 50 * S and set(position["recent"]) == {"late", "first"}


def test_a_shorter_overlap_for_polled_logs():
    position = _position.handled(_position.empty(), [record("a", 100)], at, overlap_ns=5 * S)
    assert _position.resume_from_ns(position, 5 * S) == 95 * S
    assert ids(_position.unseen(position, [record("b", 94), record("c", 96), record("a", 100)], at, 5 * S)) == ["c"]


def test_a_cursor_file_round_trips_for_its_own_engine():
    position = _position.handled(_position.empty(), [record("a", 1)], at)
    assert _position.decode(_position.encode(ENGINE, position), ENGINE) == (position, "")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{not json", "it is not JSON"),
        ('{"version": 2, "engine": "x", "position": {}}', "not a cursor of version 1"),
        ('["a list"]', "not a cursor of version 1"),
        (_position.encode('{"backend": "hoody"}', _position.empty()), "kept for another engine"),
        (_position.encode(ENGINE, {"newest_ns": "soon", "recent": {}}), "not the kind"),
        (_position.encode(ENGINE, {"newest_ns": 1, "recent": {"a": True}}), "not the kind"),
        (_position.encode(ENGINE, {"newest_ns": 1}), "not the kind"),
        (_position.encode(ENGINE, {"newest_ns": 1, "recent": {}, "from_ns": 1.5}), "not the kind"),
    ],
)
def test_a_cursor_file_that_cannot_be_used_says_why(text, said):
    position, why = _position.decode(text, ENGINE)
    assert position is None and said in why


def test_a_per_container_position_has_its_own_shape():
    hoody = {"containers": {"c1": _position.empty()}, "polled_ns": 5}
    assert _position.decode(_position.encode(ENGINE, hoody), ENGINE, _position.well_formed_per_container)[0] == hoody
    assert not _position.well_formed_per_container({"containers": {"c1": {"recent": []}}, "polled_ns": 5})
    assert not _position.well_formed_per_container({"containers": {}, "polled_ns": None})
    assert not _position.well_formed(hoody)
