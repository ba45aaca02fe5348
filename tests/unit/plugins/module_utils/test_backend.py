# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parts every backend shares: the one waiter and the listing filter."""

from __future__ import annotations

import inspect
import re

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    Backend,
    ContainerState,
    Wait,
    matching,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, Unsupported, WaitTimeout
from tests.backend_contract import placeholder, refusing_defaults


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


def test_evidence_is_asked_for_before_a_status_it_may_show_already_counts():
    asked = []

    class Restarting(Scripted):
        def awaited_evidence(self, container, statuses):
            return lambda: asked.append(self.seen) or len(asked) == 2

    engine = Restarting("running")
    assert engine.wait_for(WEB, ("running",), 5).status == "running"
    assert asked == [1, 2]


def test_one_timeout_message_for_every_wait():
    with pytest.raises(WaitTimeout) as caught:
        Scripted("restarting").wait_for(WEB, ("stopped",), 0.05)
    assert str(caught.value) == "waiting for stopped: still 'restarting' after 0s"
    with pytest.raises(WaitTimeout) as caught:
        Scripted(("running", "starting")).watch(
            WEB, Wait(lambda state: state.health == "healthy", lambda state: f"waiting: still {state.health!r}", 0.05)
        )
    assert str(caught.value) == "waiting: still 'starting' after 0s"


def test_an_engine_without_health_checks_says_so_instead_of_waiting():
    with pytest.raises(Unsupported, match="backend scripted cannot wait for a health check: its containers have none"):
        Scripted(("running", None)).wait_healthy(WEB, 5)


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


@pytest.mark.parametrize("default", refusing_defaults())
def test_every_missing_capability_is_refused_in_one_shape(default):
    """Every default of ``Backend`` that refuses, read from the class (``refusing_defaults``), so a new one is
    covered without being listed; the contract suite checks the list still holds every known one."""
    engine = Scripted("running")
    method = getattr(engine, default)
    with pytest.raises(Unsupported) as caught:
        method(*[placeholder(parameter, WEB) for parameter in inspect.signature(method).parameters])
    assert re.fullmatch(r"backend scripted cannot [^:]+: .+; nothing was changed", str(caught.value))


def test_a_setting_an_engine_cannot_change_is_named_with_the_engine():
    assert Scripted("running").why_not_settable("resources.memory") == "backend scripted cannot change resources.memory"


def test_waiting_for_health_where_containers_have_none_is_refused():
    with pytest.raises(Unsupported, match=r"^backend scripted cannot wait for a health check: .+; nothing was changed"):
        Scripted("running").wait_healthy(WEB, 5)


def test_a_pause_is_waited_out_and_a_lasting_one_reported_with_its_length():
    engine = Scripted("paused", "paused", "running")
    state, waited = engine.wait_while_paused(WEB, 5)
    assert state.status == "running" and engine.seen == 3 and waited < 5
    lasting = Scripted("paused")
    state, waited = lasting.wait_while_paused(WEB, 0.05)
    assert state.status == "paused" and waited >= 0.05
