"""The Dockhand backend's parts (``_dockhand_parts``) over a faked Dockhand API (``responses``). The update's
body and Dockhand versions without update-runtime are in ``test_dockhand.py``."""

from __future__ import annotations

import pytest
import requests
import responses

from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import DockerHealth
from ansible_collections.containerops.lifecycle.plugins.module_utils._dockhand_parts import DockhandSettings
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import Aliases, Snapshots
from tests.unit.plugins.module_utils.test_dockhand import DH, DH_ID, dockhand, dockhand_env, running_inspect

URL = f"{DH}/api/containers/{DH_ID}"


@pytest.fixture
def backend():
    """A Dockhand connected with a token, under ``responses`` for the whole test."""
    with responses.mock:
        dockhand_env()
        yield dockhand(token="dh_" + "t" * 43)


def test_dockhand_has_settings_and_docker_s_health_checks_and_refuses_snapshots_and_aliases(backend):
    assert type(backend.settings) is DockhandSettings and type(backend.health) is DockerHealth
    assert backend.settings.backend is backend and backend.health.backend is backend
    refused = {kind: None for kind in (Snapshots, Aliases)}
    for kind in refused:
        with pytest.raises(errors.Unsupported) as caught:
            backend.part(kind)
        refused[kind] = str(caught.value)
    assert refused == {
        Snapshots: "backend dockhand cannot take, list or restore snapshots: it has no API for that; "
        "nothing was changed",
        Aliases: "backend dockhand cannot manage aliases: it has no API for that; nothing was changed",
    }


def test_settings_are_read_from_the_container_s_inspect(backend):
    responses.get(URL, json=running_inspect())
    settings = backend.settings.read(ContainerState(DH_ID, "web", "running", "running"))
    assert settings == {"autostart": False, "environment_vars": {}, "resources.memory": None, "resources.cpus": None}
    assert backend.settings.settable == ("autostart", "resources.memory", "resources.cpus")


def test_settings_of_a_container_removed_meanwhile_are_not_found(backend):
    responses.get(URL, status=404, json={"error": "No such container"})
    with pytest.raises(errors.ContainerNotFound, match="it disappeared before its settings were read"):
        backend.settings.read(ContainerState(DH_ID, "web", "running", "running"))


def test_an_update_whose_answer_is_lost_is_sent_once_more_and_then_fails(backend):
    responses.get(URL, json=running_inspect())
    lost = responses.post(f"{URL}/update-runtime", body=requests.exceptions.ConnectionError("reset"))
    with pytest.raises(errors.OutcomeUnknown):
        backend.settings.update(backend.inspect(DH_ID), {"autostart": True})
    assert lost.call_count == 2


def test_an_update_dockhand_refuses_names_the_container_and_the_answer(backend):
    responses.get(URL, json=running_inspect())
    responses.post(f"{URL}/update-runtime", status=400, json={"error": "Minimum memory limit allowed is 6MB"})
    with pytest.raises(errors.OperationFailed, match=r"^Dockhand refused the update of 'web' \(400: "):
        backend.settings.update(backend.inspect(DH_ID), {"resources.memory": 1024})
