"""The ``Backend`` contract, as checks every backend runs: the shared fake in the unit tests
(``tests/unit/test_fake_backend.py``), the real engines in the integration tests
(``tests/integration/test_backend_contract.py``).

Each check takes a connected backend and the ``Containers`` the caller made on its engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import Backend, refusal
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import ABSENT, RESULT_OF
from ansible_collections.containerops.lifecycle.plugins.module_utils._parts import PARTS

#: Every lifecycle operation, from a stopped container to its deletion.
WALK = ("start", "pause", "resume", "restart", "stop", "start", "force-stop", "delete")
#: How long a wait for an operation's status may take on a real engine.
SETTLE_TIMEOUT = 30


@dataclass(frozen=True)
class Containers:
    """What a backend is checked against: ``{prefix}-running`` (running, label ``tier=web``), ``{prefix}-stopped``
    (stopped, ``tier=batch``) and ``{prefix}-walker`` (stopped, unlabelled; the lifecycle walk deletes it)."""

    prefix: str

    @property
    def running(self) -> str:
        return f"{self.prefix}-running"

    @property
    def stopped(self) -> str:
        return f"{self.prefix}-stopped"

    @property
    def walker(self) -> str:
        return f"{self.prefix}-walker"

    @property
    def missing(self) -> str:
        return f"{self.prefix}-missing"


def check_inspect_of_a_missing_name_is_absent(backend: Backend, made: Containers) -> None:
    state = backend.inspect(made.missing)
    assert (state.status, state.name, state.id) == (ABSENT, made.missing, None)


def check_resolve_keeps_order_and_never_takes_a_prefix(backend: Backend, made: Containers) -> None:
    running = backend.inspect(made.running)
    assert running.status == "running" and running.id
    prefix = running.id[:6]
    refs = [made.stopped, made.missing, running.id, made.running, prefix]
    resolved = backend.resolve(refs)
    assert [state.status for state in resolved] == ["stopped", ABSENT, "running", "running", ABSENT]
    assert [state.id for state in resolved[2:4]] == [running.id, running.id]
    assert resolved[4].name == prefix
    assert backend.resolve([prefix])[0].status == ABSENT
    assert backend.inspect(prefix).status == ABSENT


def check_list_applies_name_status_and_label_filters(backend: Backend, made: Containers) -> None:
    def listed(**filters: Any) -> set[str]:
        return {state.name for state in backend.list(dict(filters, name=f"{made.prefix}-*"))}

    assert listed() == {made.running, made.stopped, made.walker}
    assert listed(status=["running"]) == {made.running}
    assert listed(status=["stopped", "paused"]) == {made.stopped, made.walker}
    assert {state.name for state in backend.list({"name": f"{made.prefix}-r*"})} == {made.running}
    if backend.has_labels:
        assert listed(label=["tier=web"]) == {made.running}
        assert listed(label=["tier"]) == {made.running, made.stopped}
        assert listed(label=["tier=web"], status=["stopped"]) == set()


def check_perform_moves_the_status_as_result_of_says(backend: Backend, made: Containers) -> None:
    """Every operation the engine has, each waited for as the driver waits (with ``evidence_mark``'s evidence)."""
    state = backend.inspect(made.walker)
    assert state.status == "stopped"
    for operation in WALK:
        if operation in backend.missing_operations:
            operation = "stop"  # the driver refuses a plan needing it before anything is asked
        evidence = backend.evidence_mark(state, operation)
        assert evidence.operation == operation
        killed = backend.perform(state, operation, 5)
        assert isinstance(killed, bool) and (killed or operation != "force-stop")
        state = backend.wait_for(state, (RESULT_OF[operation],), SETTLE_TIMEOUT, evidence)
        assert state.status == RESULT_OF[operation], (operation, state)
    with pytest.raises(errors.ContainerNotFound):
        backend.perform(backend.inspect(made.walker), "start", 5)


def check_perform_refuses_what_the_status_does_not_allow(backend: Backend, made: Containers) -> None:
    """A resume of a running container: one of the errors ``perform`` documents (Docker answers 500, so it says
    ``OperationFailed``), and the container left as it was."""
    running = backend.inspect(made.running)
    with pytest.raises((errors.OperationConflict, errors.OperationRejected, errors.OperationFailed)) as refused:
        backend.perform(running, "resume", 5)
    assert "resume" in str(refused.value)
    assert backend.inspect(made.running).status == "running"


def check_every_part_is_there_or_refused_in_its_words(backend: Backend, made: Containers) -> None:
    """Each optional part (``_parts.PARTS``) is the backend's own, or refused in exactly the refusal's words."""
    for kind in PARTS:
        part = getattr(backend, kind.attribute)
        if part is None:
            with pytest.raises(errors.Unsupported) as refused:
                backend.part(kind)
            assert str(refused.value) == refusal(backend.name, *kind.lacking), kind.__name__
        else:
            assert isinstance(part, kind) and part.backend is backend and backend.part(kind) is part, kind.__name__


def check_settings_read_what_they_can_change(backend: Backend, made: Containers) -> None:
    """An engine with settings reads every setting it can change, and names itself for one it cannot."""
    settings = backend.settings
    if settings is None:
        return
    assert set(settings.needing_restart) <= set(settings.settable)
    assert set(settings.settable) <= set(settings.read(backend.inspect(made.running)))
    assert settings.why_not_settable("no.such.setting") == f"backend {backend.name} cannot change no.such.setting"


def check_snapshots_of_a_container_without_any_are_none(backend: Backend, made: Containers) -> None:
    if backend.snapshots is not None:
        assert backend.snapshots.of(backend.inspect(made.stopped)) == []


CHECKS: list[Callable[[Backend, Containers], None]] = [
    check_inspect_of_a_missing_name_is_absent,
    check_resolve_keeps_order_and_never_takes_a_prefix,
    check_list_applies_name_status_and_label_filters,
    check_perform_moves_the_status_as_result_of_says,
    check_perform_refuses_what_the_status_does_not_allow,
    check_every_part_is_there_or_refused_in_its_words,
    check_settings_read_what_they_can_change,
    check_snapshots_of_a_container_without_any_are_none,
]
