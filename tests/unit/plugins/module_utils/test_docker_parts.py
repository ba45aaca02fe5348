# ruff: noqa: F811 (the fixtures fake and backend, imported from test_docker, are the tests' arguments)
"""The Docker backend's parts (``_docker_parts``) against a tiny HTTP server playing the engine
(``test_docker.FakeEngine``): what each asks, what it makes of the answers, and that a fault in a part is
translated at its backend's edge. The real engine's side is in the integration tests."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _docker_snapshot
from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import DockerHealth
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_parts import (
    DockerAliases,
    DockerSettings,
    DockerSnapshots,
)
from tests.unit.plugins.module_utils.test_docker import (  # noqa: F401 (fake, backend: fixtures)
    CID,
    backend,
    fake,
    inspect_body,
    running,
)


def test_docker_has_every_part_bound_to_itself(backend):
    parts = (backend.settings, backend.aliases, backend.snapshots, backend.health)
    assert [type(part) for part in parts] == [DockerSettings, DockerAliases, DockerSnapshots, DockerHealth]
    assert all(part.backend is backend for part in parts)
    assert backend.snapshots.outlive_container is True


def test_settings_read_from_inspect_and_name_what_docker_cannot_change(fake, backend):
    body = inspect_body()
    body["HostConfig"] = {"RestartPolicy": {"Name": "unless-stopped"}, "Memory": 64 * 2**20, "NanoCpus": 500_000_000}
    body["Config"]["Env"] = ["LOG=debug"]
    fake.answer("GET", f"/containers/{CID}/json", 200, body)
    config = backend.settings.read(ContainerState(CID, "web", "running", "running"))
    assert config == {"autostart": True, "environment_vars": {"LOG": "debug"}, "resources.memory": 64 * 2**20,
                      "resources.cpus": 0.5}  # fmt: skip
    assert "environment_vars" not in backend.settings.settable and backend.settings.needing_restart == ()
    assert backend.settings.why_not_settable("environment_vars").startswith(
        "backend docker cannot change the environment of an existing container: Docker fixes it"
    )
    assert backend.settings.why_not_settable("resources.gpus") == "backend docker cannot change resources.gpus"


def test_an_update_the_engine_refuses_says_so_with_its_reason(fake, backend):
    fake.answer("POST", f"/containers/{CID}/update", 400, {"message": "Minimum memory limit allowed is 6MB"})
    with pytest.raises(
        errors.OperationFailed, match=r"refused the update of 'web': Minimum memory limit allowed is 6MB"
    ):
        backend.settings.update(running(), {"resources.memory": 1024})


@pytest.mark.parametrize(
    ("options", "answer", "message"),
    [
        ({}, None, "network is required with backend docker"),
        ({"network": "nowhere"}, (404, {"message": "network nowhere not found"}), "network 'nowhere' not found"),
        ({"network": "bridge"}, (200, {"Name": "bridge", "Driver": "bridge"}), "cannot hold aliases"),
    ],
)
def test_an_alias_needs_a_user_defined_network(fake, backend, options, answer, message):
    if answer:
        fake.answer("GET", f"/networks/{options['network']}", *answer)
    with pytest.raises(errors.BadInput, match=message):
        backend.aliases.holders("web", options)


def test_alias_holders_are_the_containers_on_the_network_with_that_alias(fake, backend):
    fake.answer("GET", "/networks/shop", 200, {"Name": "shop", "Driver": "bridge"})
    fake.answer("GET", "/containers/json", 200, [{"Id": CID}])
    body = inspect_body(name="blue")
    body["NetworkSettings"]["Networks"] = {"shop": {"Aliases": ["web", "blue"]}}
    fake.answer("GET", f"/containers/{CID}/json", 200, body)
    assert backend.aliases.holders("web", {"network": "shop"}) == [{"name": "blue", "id": CID, "in_sync": True}]
    assert backend.aliases.holders("api", {"network": "shop"}) == []


def test_snapshots_are_the_collection_s_tagged_images_of_the_container(fake, backend):
    labels = _docker_snapshot.snapshot_labels("web", "pre", "2026-01-01T00:00:00Z")
    fake.answer("GET", "/images/json", 200, [
        {"Id": "sha256:a", "RepoTags": [_docker_snapshot.image_reference("web", "pre")], "Labels": labels, "Size": 7},
        {"Id": "sha256:b", "RepoTags": ["someone/else:latest"], "Labels": labels},
    ])  # fmt: skip
    (snapshot,) = backend.snapshots.of(running())
    assert (snapshot["alias"], snapshot["container"], snapshot["private"]) == ("pre", "web", {"image_id": "sha256:a"})
    assert not backend.snapshots.is_restored_from(ContainerState.absent("web"), snapshot)
    restored = ContainerState(CID, "web", "running", "running", details=dict(inspect_body(), Image="sha256:a"))
    assert backend.snapshots.is_restored_from(restored, snapshot) and not backend.snapshots.is_restored_from(
        running(), snapshot
    )


def test_a_snapshot_already_gone_counts_as_removed(fake, backend):
    fake.answer("GET", "/images/.+/json", 404, {"message": "No such image"})
    fake.answer("DELETE", "/images/.+", 404, {"message": "No such image"})
    backend.snapshots.delete(running(), {"name": "containerops-snapshot/web:pre", "private": {"image_id": "sha256:a"}})
    assert [path.split("?")[0] for method, path in fake.requests if method == "DELETE"] == ["/v1.41/images/sha256:a"]


def test_a_malformed_answer_to_a_part_is_translated_at_the_backend_s_edge(fake, backend):
    fake.answer("GET", "/images/json", 200, raw=b"")
    with pytest.raises(errors.OperationFailed, match=r"sent a malformed answer while listing snapshots: an empty body"):
        backend.snapshots.of(running())
