"""The Hoody backend's parts (``_hoody_parts``) over a faked Hoody API (``responses``): the requests each
makes and what it reads back. Malformed answers are in ``test_hoody.py``; the test server's side in
the integration tests."""

from __future__ import annotations

import json

import pytest
import responses

from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody_parts import (
    HoodyAliases,
    HoodySettings,
    HoodySnapshots,
    _alias_fields,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import Health
from tests.unit.plugins.module_utils.test_hoody import API, CID, OTHER, URL, envelope, hoody, item, running

__all__ = ["hoody"]  # the fixture
ALIASES = f"{API}/api/v1/proxy/aliases"


def test_hoody_has_settings_snapshots_and_aliases_and_no_health_checks(hoody):
    assert [type(part) for part in (hoody.settings, hoody.snapshots, hoody.aliases)] == [
        HoodySettings, HoodySnapshots, HoodyAliases,
    ]  # fmt: skip
    assert hoody.health is None and hoody.snapshots.outlive_container is False
    with pytest.raises(errors.Unsupported, match=r"^backend hoody cannot wait for a health check: its containers"):
        hoody.part(Health)


@responses.activate
def test_settings_read_autostart_and_the_environment(hoody):
    responses.get(URL, json=envelope(dict(item(), autostart=True)))
    responses.get(f"{URL}/env", json=envelope({"environment_vars": {"LOG": "debug"}}))
    assert hoody.settings.read(running()) == {
        "autostart": True, "environment_vars": {"LOG": "debug"}, "resources.memory": None, "resources.cpus": None,
    }  # fmt: skip
    assert hoody.settings.needing_restart == ("environment_vars",)
    assert (
        hoody.settings.why_not_settable("resources.cpus")
        == "backend hoody has no API for resource limits (resources.cpus)"
    )


@responses.activate
def test_an_update_sets_values_and_removes_the_unset_keys_one_by_one(hoody):
    responses.put(URL, json=envelope({}))
    responses.put(f"{URL}/env", json=envelope({}))
    responses.delete(f"{URL}/env/B", json=envelope({}))
    responses.delete(f"{URL}/env/A", json=envelope({}))
    hoody.settings.update(running(), {"autostart": False, "environment_vars": {"C": "3", "B": None, "A": None}})
    sent = [(call.request.method, call.request.url.removeprefix(URL)) for call in responses.calls]
    assert sent == [("PUT", ""), ("PUT", "/env"), ("DELETE", "/env/A"), ("DELETE", "/env/B")]
    assert json.loads(responses.calls[1].request.body) == {"C": "3"}


@responses.activate
def test_a_refused_update_names_what_was_attempted(hoody):
    responses.put(URL, status=409, json={"statusCode": 409, "message": "container is locked"})
    with pytest.raises(errors.OperationConflict, match=r"^Hoody refused to update 'web' \(409: container is locked\)"):
        hoody.settings.update(running(), {"autostart": True})


@responses.activate
def test_snapshots_are_listed_for_the_container_and_a_restore_is_the_last_one_used(hoody):
    responses.get(f"{URL}/snapshots", json=envelope({"snapshots": [{"name": "snap-1", "alias": "pre", "size": 3}]}))
    (snapshot,) = hoody.snapshots.of(running())
    assert snapshot == {"name": "snap-1", "alias": "pre", "created_at": None, "stateful": False, "size": 3,
                        "container": "web"}  # fmt: skip
    restored = running()
    restored.details["last_used_snapshot"] = "snap-1"
    assert hoody.snapshots.is_restored_from(restored, snapshot)
    assert not hoody.snapshots.is_restored_from(running(), snapshot)


@responses.activate
def test_a_snapshot_already_gone_counts_as_removed(hoody):
    responses.delete(f"{URL}/snapshots/snap-1", status=404, json={"statusCode": 404, "message": "not found"})
    hoody.snapshots.delete(running(), {"name": "snap-1"})
    responses.delete(f"{URL}/snapshots/snap-2", status=500, json={"statusCode": 500, "message": "disk full"})
    with pytest.raises(errors.OperationFailed, match="could not delete snapshot 'snap-2'"):
        hoody.snapshots.delete(running(), {"name": "snap-2"})


@responses.activate
def test_a_restore_waits_until_the_container_settles_restored(hoody):
    responses.put(f"{URL}/snapshots/snap-1", json=envelope({}))
    responses.get(URL, json=envelope(dict(item(status="restoring"))))
    responses.get(URL, json=envelope(dict(item(), last_used_snapshot="snap-1")))
    state = hoody.snapshots.restore(running(), {"name": "snap-1"}, None, 5)
    assert state.status == "running" and state.details["last_used_snapshot"] == "snap-1"


def test_alias_fields_are_the_given_ones_with_a_rooted_target_path():
    assert _alias_fields({"program": "http", "index": None, "target_path": "app"}) == {
        "program": "http", "target_path": "/app",
    }  # fmt: skip


@responses.activate
def test_a_holder_whose_record_differs_from_the_options_is_out_of_sync(hoody):
    record = {"id": "a" * 24, "alias": "shop", "container_id": CID, "program": "http", "url": "https://shop/"}
    responses.get(ALIASES, json=envelope({"aliases": [record, dict(record, alias="other", id="b" * 24)]}))
    responses.get(URL, json=envelope(item()))
    (holder,) = hoody.aliases.holders("shop", {"program": "http"})
    assert (holder["name"], holder["id"], holder["in_sync"], holder["url"]) == ("web", CID, True, "https://shop/")
    assert not hoody.aliases.holders("shop", {"program": "grpc"})[0]["in_sync"]


@responses.activate
def test_moving_an_alias_frees_it_then_gives_it_to_the_target(hoody):
    old = {"name": "blue", "id": OTHER, "private": {"id": "b" * 24}}
    responses.delete(f"{ALIASES}/{'b' * 24}", json=envelope({}))
    responses.post(ALIASES, json=envelope({"id": "c" * 24, "container_id": CID, "alias": "shop", "url": "https://s/"}))
    done = hoody.aliases.point("shop", running(), [old], {"program": "http"})
    assert done["url"] == "https://s/" and done["window_ms"] is not None
    assert [call.request.method for call in responses.calls] == ["DELETE", "POST"]
    assert json.loads(responses.calls[1].request.body) == {"program": "http", "container_id": CID, "alias": "shop"}
