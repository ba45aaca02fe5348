"""The workflow pipeline: the results it returns have their ``_shapes`` types, and a failed container is
reported in the status the driver would report.

The steps' order and what they ask the engine are tested in ``modules/test_container_*.py``.
"""

from __future__ import annotations

import ast
import pathlib
import re
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _shapes
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    ConnectionFailed,
    EngineLost,
    OperationFailed,
    OperationRejected,
)
from ansible_collections.containerops.lifecycle.plugins.modules import (
    container_alias,
    container_config,
    container_snapshot,
)
from tests.unit.workflow_engine import PRE, Engine, lifecycle

PLUGINS = pathlib.Path(_shapes.__file__).parents[1]


def problems(value: Any, shape: Any, path: str = "result") -> list[str]:
    """Where ``value`` is not of type ``shape``: keys missing or undeclared, values of another type."""
    if shape is Any:
        return []
    if is_typeddict(shape):
        if not isinstance(value, dict):
            return [f"{path} is {type(value).__name__}, not {shape.__name__}"]
        hints = get_type_hints(shape)
        found = [f"{path} lacks {key!r}" for key in sorted(shape.__required_keys__ - value.keys())]
        found += [f"{path} has undeclared {key!r}" for key in sorted(value.keys() - hints.keys())]
        for key in value.keys() & hints.keys():
            found += problems(value[key], hints[key], f"{path}[{key!r}]")
        return found
    origin, args = get_origin(shape), get_args(shape)
    if origin is Union:
        options = [problems(value, arg, path) for arg in args]
        return [] if any(not found for found in options) else min(options, key=len)
    if origin is list:
        if not isinstance(value, list):
            return [f"{path} is {type(value).__name__}, not a list"]
        return [found for index, item in enumerate(value) for found in problems(item, args[0], f"{path}[{index}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path} is {type(value).__name__}, not a dict"]
        return [
            found
            for key, item in value.items()
            for found in problems(key, args[0], f"{path} key") + problems(item, args[1], f"{path}[{key!r}]")
        ]
    allowed = (int, float) if shape is float else shape  # an int is a float, as for the type checkers
    if (isinstance(value, bool) and shape is not bool) or not isinstance(value, allowed):
        return [f"{path} is {value!r}, not {shape.__name__}"]
    return []


def test_the_check_finds_what_is_wrong():
    assert problems({"id": None, "name": "app", "status": "running"}, _shapes.SnapshotContainer) == []
    assert problems({"id": 1, "name": "app", "extra": 0}, _shapes.SnapshotContainer) == [
        "result lacks 'status'",
        "result has undeclared 'extra'",
        "result['id'] is 1, not str",
    ]
    assert problems({"changed": True, "containers": [{"name": "app"}]}, _shapes.ConfigResult)[0].startswith(
        "result['containers'][0] lacks 'actions'"
    )
    assert problems({"memory": True, "cpus": 1}, _shapes.ConfigResources) == ["result['memory'] is True, not int"]


class Configurable(Engine):
    """The module tests' engine, which can also set the memory limit."""

    def __init__(self, **given: Any) -> None:
        super().__init__(**given)
        self.settings.settable = ("autostart", "environment_vars", "resources.memory")


class Snapshotting(Engine):
    """The module tests' engine, its new snapshots as a backend records them."""

    def __init__(self, **given: Any) -> None:
        super().__init__(**given)
        take = self.snapshots.take
        self.snapshots.take = lambda container, alias: dict(
            take(container, alias), created_at="2026-01-01T00:00:00Z", stateful=False, size=None
        )


SNAPSHOT_TASKS = [
    ({}, False),
    ({"replace": True}, False),
    ({"replace": True}, True),
    ({"state": "absent"}, False),
    ({"state": "restored"}, False),
    ({"state": "restored"}, True),
]


@pytest.mark.parametrize(("given", "check_mode"), SNAPSHOT_TASKS)
def test_container_snapshot_returns_its_shape(given, check_mode):
    params = {"name": "app", "alias": "pre", "state": "present", "replace": False, "stop_timeout": None,
              "wait_timeout": 300, **given}  # fmt: skip
    for diff in (False, True):
        engine = Snapshotting(status="stopped", snapshots=[dict(PRE, created_at=None, stateful=False, size=7)])
        result = container_snapshot.run(lifecycle(engine, check_mode, diff, **params))
        assert problems(result, _shapes.SnapshotResult) == []
        assert ("diff" in result) is diff


ALIAS_TASKS = [
    ([{"name": "blue", "id": "b1", "in_sync": True}], {}, False),
    ([{"name": "blue", "id": "b1", "in_sync": True}], {}, True),
    ([{"name": "app", "id": "c1", "in_sync": True, "url": "http://web"}], {}, False),
    ([{"name": "blue", "id": "b1", "in_sync": True}], {"state": "absent", "name": None}, False),
]


@pytest.mark.parametrize(("holders", "given", "check_mode"), ALIAS_TASKS)
def test_container_alias_returns_its_shape(holders, given, check_mode):
    params = {"alias": "web", "name": "app", "state": "present", "network": None, "program": "http",
              "index": None, "port": None, "target_path": None, **given}  # fmt: skip
    for diff in (False, True):
        result = container_alias.run(lifecycle(Engine(holders=holders), check_mode, diff, **params))
        assert problems(result, _shapes.AliasResult) == []
        assert ("diff" in result) is diff


def refuse(container, changes):
    raise OperationFailed("no")


CONFIG_TASKS = [
    ("running", {"autostart": True}, None, False),
    ("running", {"environment_vars": {"LOG": "debug"}, "restart_to_apply": True}, None, True),
    ("running", {"resources": {"memory": "64m", "cpus": None}}, None, False),
    ("running", {"environment_vars": {"LOG": "debug"}}, None, False),  # refused: needs a restart
    ("running", {"autostart": True}, refuse, False),  # the engine refuses the update
    ("absent", {"autostart": True}, None, False),
]


@pytest.mark.parametrize(("status", "given", "update", "check_mode"), CONFIG_TASKS)
def test_container_config_returns_its_shape(status, given, update, check_mode):
    params = {"autostart": None, "environment_vars": None, "resources": None, "restart_to_apply": False,
              "stop_timeout": None, "parallel": 1, **given}  # fmt: skip
    for diff in (False, True):
        engine = Configurable(status=status, config={"autostart": False, "environment_vars": {},
                                                     "resources.memory": 32 * 2**20})  # fmt: skip
        if update:
            engine.settings.update = update
        result = container_config.run(lifecycle(engine, check_mode, diff, **params))
        assert problems(result, _shapes.ConfigResult) == []
        assert ("diff" in result) is diff and ("container" in result) and len(result["containers"]) == 1


def test_container_config_of_several_containers_returns_its_shape():
    engine = Configurable()
    task = lifecycle(engine, diff=True, autostart=True, environment_vars=None, resources=None,
                     restart_to_apply=False, stop_timeout=None, parallel=2)  # fmt: skip
    task.select_targets = lambda: [engine.state, ContainerState(None, "gone", "absent", None)]
    result = container_config.run(task)
    assert problems(result, _shapes.ConfigResult) == []
    assert "container" not in result and [entry["name"] for entry in result["containers"]] == ["app", "gone"]
    assert result["failed"] and len(result["diff"]) == 1


class Unseen(Configurable):
    """The update is refused, then the container cannot be shown again: ``failure`` is why."""

    def __init__(self, failure: Exception) -> None:
        super().__init__()
        self.failure = failure
        self.settings.update = refuse

    def inspect(self, ref):
        raise self.failure


@pytest.mark.parametrize(
    ("failure", "status", "said"),
    [
        (ConnectionFailed("refused"), "unknown", "status unknown: the engine could not be asked afterwards"),
        (EngineLost("gone"), "unknown", "status unknown: the engine could not be asked afterwards"),
        (OperationRejected("403"), "running", "left 'running'"),  # the engine answered: as last seen
    ],
)
def test_a_failed_container_is_left_in_the_status_the_driver_would_say(failure, status, said):
    task = lifecycle(Unseen(failure), autostart=True, environment_vars=None, resources=None,
                     restart_to_apply=False, stop_timeout=None, parallel=1)  # fmt: skip
    result = container_config.run(task)
    assert result["container"]["status"] == status and said in result["msg"]


def _names_used(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    return imported | {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def test_every_shape_is_used_by_the_code_that_builds_it():
    """A shape is named where its value is built, or is part of one that is (``AliasTarget`` of ``AliasResult``)."""
    named = set().union(*(_names_used(path) for path in PLUGINS.rglob("*.py") if path.name != "_shapes.py"))
    shapes = {name: getattr(_shapes, name) for name in _shapes.__all__ if is_typeddict(getattr(_shapes, name))}
    used = set(shapes) & named
    while True:
        parts = {
            name for name in shapes for whole in used for hint in get_type_hints(shapes[whole]).values()
            if re.search(rf"\b{name}\b", str(hint))
        }  # fmt: skip
        if parts <= used:
            break
        used |= parts
    assert set(shapes) - used == set()
