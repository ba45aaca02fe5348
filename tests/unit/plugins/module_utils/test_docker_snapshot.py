"""Docker snapshots as data: image names, the configuration saved, and the body that recreates a container."""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _docker_snapshot as ds

INSPECT = {
    "Id": "0123456789ab" + "c" * 52,
    "Name": "/web-1",
    "Config": {
        "Hostname": "0123456789ab",
        "Env": ["A=1"],
        "Cmd": ["httpd", "-f"],
        "Labels": {"team": "core"},
        "Image": "old-image",
        "Volumes": {"/anon": {}},
    },
    "HostConfig": {
        "NetworkMode": "app",
        "Binds": ["named:/data"],
        "Mounts": [{"Type": "bind", "Source": "/srv", "Target": "/srv"}],
        "RestartPolicy": {"Name": "unless-stopped"},
        "PortBindings": {"80/tcp": [{"HostPort": "8080"}]},
    },
    "Mounts": [
        {"Type": "volume", "Name": "named", "Destination": "/data", "RW": True},
        {"Type": "volume", "Name": "f00d", "Destination": "/anon", "RW": False},
        {"Type": "bind", "Source": "/srv", "Destination": "/srv", "RW": True},
    ],
    "NetworkSettings": {
        "Networks": {
            "app": {"Aliases": ["web", "0123456789ab"], "IPAMConfig": {"IPv4Address": "10.0.0.5"}, "Links": None},
            "backend": {"Aliases": None, "IPAMConfig": None, "Links": None},
        }
    },
}


@pytest.mark.parametrize(
    ("name", "alias", "expected"),
    [
        ("web-1", "pre-upgrade", "containerops-snapshot/web-1:pre-upgrade"),
        ("Web_1", "v1.2", "containerops-snapshot/web_1:v1.2"),
    ],
)
def test_readable_references(name, alias, expected):
    assert ds.image_reference(name, alias) == expected


def test_aliases_that_are_not_tags_stay_distinct_and_valid():
    first = ds.image_reference("web", "before maintenance")
    second = ds.image_reference("web", "before/maintenance")
    assert first != second
    for ref in (first, second, ds.image_reference("web", "." * 200)):
        repository, tag = ref.rsplit(":", 1)
        assert re.fullmatch(r"[a-z0-9][a-z0-9._/-]*", repository)
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag), tag


def test_saved_config_drops_what_belongs_to_the_old_container():
    saved = ds.saved_config(INSPECT, "running")
    assert saved["name"] == "web-1" and saved["status"] == "running"
    assert "Hostname" not in saved["config"] and "Image" not in saved["config"]
    assert saved["networks"]["app"]["Aliases"] == ["web"]
    # The engine-made volume is bound by name, read-only as it was; declared mounts are not repeated.
    assert saved["host_config"]["Binds"] == ["named:/data", "f00d:/anon:ro"]


def test_a_hostname_set_by_the_user_is_kept():
    inspect = json.loads(json.dumps(INSPECT))
    inspect["Config"]["Hostname"] = "web"
    assert ds.saved_config(inspect, "stopped")["config"]["Hostname"] == "web"


def test_create_body_joins_the_primary_network_and_connects_the_rest_later():
    saved = json.loads(json.dumps(ds.saved_config(INSPECT, "running")))  # as read back from the comment
    body, later = ds.create_body(saved, "sha256:snap")
    assert body["Image"] == "sha256:snap"
    assert body["HostConfig"]["RestartPolicy"] == {"Name": "unless-stopped"}
    assert body["NetworkingConfig"] == {
        "EndpointsConfig": {"app": {"Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.0.0.5"}}}
    }
    assert later == [("backend", {})]


def test_default_bridge_is_not_connected_twice():
    inspect = json.loads(json.dumps(INSPECT))
    inspect["HostConfig"]["NetworkMode"] = "default"
    inspect["NetworkSettings"]["Networks"] = {"bridge": {"Aliases": None}}
    body, later = ds.create_body(ds.saved_config(inspect, "stopped"), "img")
    assert "NetworkingConfig" not in body and later == []


def test_saved_config_round_trips_through_the_comment_and_rejects_others():
    saved = ds.saved_config(INSPECT, "running")
    assert ds.saved_from_image({"Comment": ds.comment_of(saved)}) == json.loads(json.dumps(saved))
    for comment in ("", "made by hand", '{"a": 1}', "[]"):
        assert ds.saved_from_image({"Comment": comment}) is None


def test_snapshot_view_of_an_image():
    image = {
        "Id": "sha256:1",
        "RepoTags": ["containerops-snapshot/web-1:pre"],
        "Size": 42,
        "Labels": ds.snapshot_labels("web-1", "pre", "2026-11-23T10:00:00Z"),
    }
    assert ds.snapshot_from_image(image) == {
        "name": "containerops-snapshot/web-1:pre",
        "alias": "pre",
        "container": "web-1",
        "created_at": "2026-11-23T10:00:00Z",
        "stateful": False,
        "size": 42,
        "private": {"image_id": "sha256:1"},
    }
