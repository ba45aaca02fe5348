# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parts every backend shares: the one waiter, the connection options and the registry."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.containerops.lifecycle.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.containerops.lifecycle.plugins.module_utils import _backend, _module
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    Backend,
    ContainerState,
    Evidence,
    Wait,
    matching,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, Unsupported, WaitTimeout
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import (
    PARTS,
    Aliases,
    Health,
    Settings,
    Snapshots,
)
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
    def from_options(cls, params, secret_found):
        return cls(*params["looks"])

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


def test_an_option_falls_back_to_the_engines_variables_in_order(monkeypatch):
    class Env(Scripted):
        environment = {"api_url": ("FIRST_URL", "SECOND_URL"), "api_token": ("THE_TOKEN",)}
        default_api_url = "https://default.example"

    found = []
    params = {"api_url": None, "api_token": None}
    assert Env.api_url(params, found.append) == "https://default.example"
    monkeypatch.setenv("SECOND_URL", "https://ops:pw@second.example")
    assert Env.api_url(params, found.append) == "https://ops:pw@second.example"
    monkeypatch.setenv("FIRST_URL", "https://first.example")
    assert Env.api_url(params, found.append) == "https://first.example"
    assert Env.api_url({"api_url": "https://given.example"}, found.append) == "https://given.example"
    monkeypatch.setenv("THE_TOKEN", "s3cret")
    assert Env.option(params, "api_token", found.append) == "s3cret"
    assert found == ["pw", "s3cret"]  # the password in a URL and a token from the environment are secrets


def test_an_api_url_nobody_gave_names_where_it_can_come_from(monkeypatch):
    class Env(Scripted):
        environment = {"api_url": ("ENGINE_URL",)}

    monkeypatch.delenv("ENGINE_URL", raising=False)
    with pytest.raises(BadInput, match=r"api_url is required for backend scripted \(or set ENGINE_URL\)"):
        Env.api_url({"api_url": None}, lambda secret: None)


def test_the_registry_is_what_the_backend_option_and_its_docs_offer():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["backend"]["choices"]
    assert list(_module.BACKEND_CLASSES) == documented == _module.CONNECTION_SPEC["backend"]["choices"]
    for name, backend_class in _module.BACKEND_CLASSES.items():
        assert backend_class.name == name
        assert set(backend_class.connection_options) <= set(_module.CONNECTION_SPEC)
        assert set(backend_class.environment) <= set(backend_class.connection_options)


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
