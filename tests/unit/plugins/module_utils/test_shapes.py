# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_shapes: the shapes the modules return; ``public`` keeps a result free of backend-private keys."""

from __future__ import annotations

from ansible_collections.containerops.lifecycle.plugins.module_utils import _shapes
from tests.unit.runtime_shape import KEYS

CID = "0123456789abcdef01234567"


def test_public_keeps_only_the_documented_keys():
    docker_snapshot = {"name": "containerops-snapshot/web:a", "alias": "a", "container": "web", "created_at": None,
                       "stateful": False, "size": 1, "private": {"image_id": "sha256:0"}}  # fmt: skip
    hoody_snapshot = dict(docker_snapshot, name="snap-1", private={"k": 1})
    for snapshot in (docker_snapshot, hoody_snapshot):
        assert set(_shapes.public(_shapes.Snapshot, snapshot)) == {"name", "alias", "container", "created_at",
                                                                   "stateful", "size"}  # fmt: skip
    holder = {"name": "web", "id": CID, "in_sync": True, "private": {"id": "a" * 24}}
    assert _shapes.public(_shapes.AliasHolder, holder) == {"name": "web", "id": CID, "in_sync": True}


def test_runtime_keys_are_the_documented_ones():
    assert KEYS == {
        "runtime": ("processes", "ports", "networks", "resource_usage"),
        "networks": ("ip_address", "gateway", "mac_address", "aliases"),
        "resource_usage": ("memory_usage_bytes", "memory_limit_bytes", "cpu_total_usage_ns", "cpu_usage_percent",
                           "pids"),
    }  # fmt: skip
