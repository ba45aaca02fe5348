"""_module: which option or environment variable gave a connection value, the target filters a task may give, and
``LifecycleModule.run``: the one door out for every result and error, messages escaped, the backend closed."""

from __future__ import annotations

import contextlib
import json
from typing import Optional
from unittest import mock

import pytest
from ansible.module_utils import basic

from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import Connection
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import (
    BACKEND_CLASSES,
    CONNECTION_SPEC,
    LifecycleModule,
    safe_result,
    validated_filters,
)
from tests.unit.fake_backend import FakeBackend

ESC = "\x1b"


def params(**values):
    return dict(dict.fromkeys(CONNECTION_SPEC), timeout=60, retries=0, **values)


def test_safe_result_escapes_messages_and_errors_at_any_depth_and_leaves_data_alone():
    raw = f"{ESC}]0;pwned\x07{ESC}[2J"
    result = {
        "msg": f"failed: {raw}\nweb",
        "containers": [{"name": "web", "error": raw, "actions": [{"operation": "stop", "error": raw}],
                        "labels": {"error": raw}, "runtime": {"error": raw}}],
        "count": 1,
    }  # fmt: skip
    shown = "\\x1b]0;pwned\\x07\\x1b[2J"
    assert safe_result(result) == {
        "msg": f"failed: {shown}\nweb",
        "containers": [{"name": "web", "error": shown, "actions": [{"operation": "stop", "error": shown}],
                        "labels": {"error": raw}, "runtime": {"error": shown}}],
        "count": 1,
    }  # fmt: skip


# validated_filters: a target selection never widens by accident, and what is allowed stays allowed.


DOCKER = BACKEND_CLASSES["docker"]


@pytest.mark.parametrize(
    "filters",
    [
        {"name": "web-*"},
        {"label": ["a=b"]},
        {"label": "a"},
        {"status": ["running"]},
        {"project": "p1"},
        {"name": "*", "label": ["tier=batch", "x"], "status": ["running", "paused"]},
    ],
)
def test_filters_that_say_something_are_kept(filters):
    result = validated_filters(filters, DOCKER)
    for key, value in filters.items():
        assert result[key] == ([value] if key == "label" and isinstance(value, str) else value)


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ({}, "filters is empty"),
        ({"name": ""}, "filters.name is empty"),
        ({"name": "   "}, "filters.name is empty"),
        ({"name": None}, "filters.name is empty"),
        ({"label": []}, "filters.label is empty"),
        ({"status": []}, "filters.status is empty"),
        ({"project": ""}, "filters.project is empty"),
        ({"label": ["a=b", ""]}, "filters.label holds an empty entry"),
        ({"label": ["=v"]}, "filters.label holds an empty entry"),
        ({"status": ["runing"]}, "unknown status(es) runing"),
        ({"colour": "red"}, "unknown key(s) colour"),
        ({"label": 5}, "filters.label must be a list of strings, got 5"),
        ({"name": ["a"]}, "filters.name must be a string"),
        ("abc", "filters must be a dict"),
    ],
)
def test_filters_that_would_widen_or_mean_nothing_are_refused_by_name(filters, words):
    with pytest.raises(errors.BadInput) as caught:
        validated_filters(filters, DOCKER)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("backend", "filters", "words"),
    [
        ("hoody", {"label": ["a=b"]}, "backend hoody cannot apply filters.label: its containers have no labels"),
        (
            "docker",
            {"project": "a/../b"},
            "filters.project 'a/../b' is not a project backend docker allows: a Compose project name ([a-zA-Z0-9]",
        ),
        (
            "dockhand",
            {"project": "-web"},
            "filters.project '-web' is not a project backend dockhand allows: a Compose project name ([a-zA-Z0-9]",
        ),
        (
            "hoody",
            {"project": "p?all=1"},
            "filters.project 'p?all=1' is not a project backend hoody allows: a project id of 1 to 100 characters",
        ),
    ],
)
def test_filters_an_engine_cannot_apply_are_refused_before_it_is_asked(backend, filters, words):
    with pytest.raises(errors.BadInput) as caught:
        validated_filters(filters, BACKEND_CLASSES[backend])
    assert words in str(caught.value)


# LifecycleModule.run: one door out for every result and every error


try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19 reads the arguments from basic._ANSIBLE_ARGS only

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield


class Closing(FakeBackend):
    """The shared fake with one container, ``web``; ``close`` counts its calls and raises ``close_fault``."""

    def __init__(self, close_fault: Optional[Exception] = None) -> None:
        super().__init__()
        self.container("web", "running")
        self.closed = 0
        self.close_fault = close_fault

    def close(self) -> None:
        self.closed += 1
        if self.close_fault:
            raise self.close_fault


class Exited(Exception):
    """What the module handed Ansible on its way out: ``exit_json`` or ``fail_json``, with the result."""

    def __init__(self, door: str, result: dict) -> None:
        super().__init__(door)
        self.door, self.result = door, result


def exit_of(engine: FakeBackend, main, monkeypatch, **args) -> tuple[str, dict, list[str]]:
    """Run ``main`` through ``LifecycleModule.run`` connected to ``engine``: how it left, its result, its warnings."""
    warned: list[str] = []

    def leave(door):
        def handed(self, **result):
            raise Exited(door, result)

        return handed

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", leave("exit_json"))
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", leave("fail_json"))
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning: warned.append(warning))
    monkeypatch.setattr(Connection, "connect", lambda connection: engine)
    with patch_module_args({"backend": "docker", "name": "web", **args}), pytest.raises(Exited) as exited:
        LifecycleModule({"name": {"type": "str"}}).run(main)
    return exited.value.door, exited.value.result, warned


def test_a_result_leaves_with_its_elapsed_time_the_backend_s_warnings_escaped_and_the_backend_closed(monkeypatch):
    engine = Closing()

    def main(lifecycle):
        lifecycle.backend.warn(f"engine said {ESC}[2J")
        return {"changed": False, "container": {"name": lifecycle.the_container().name}}

    door, result, warned = exit_of(engine, main, monkeypatch)
    assert door == "exit_json" and result["container"] == {"name": "web"} and isinstance(result["elapsed"], float)
    assert warned == ["engine said \\x1b[2J"] and engine.closed == 1


def test_a_domain_error_is_one_failure_saying_only_its_message_escaped(monkeypatch):
    engine = Closing()

    def main(lifecycle):
        raise errors.OperationConflict(f"{lifecycle.the_container().name}: stop refused {ESC}]0;x\a")

    door, result, _ = exit_of(engine, main, monkeypatch)
    assert door == "fail_json" and result == {"msg": "web: stop refused \\x1b]0;x\\x07"}
    assert engine.closed == 1


def test_a_bug_is_one_failure_that_says_so_and_keeps_its_traceback(monkeypatch):
    engine = Closing()

    def main(lifecycle):
        lifecycle.backend.list({})
        return {}["missing"]

    door, result, _ = exit_of(engine, main, monkeypatch)
    assert door == "fail_json"
    assert result["msg"] == "unexpected KeyError: 'missing' (a bug in containerops.lifecycle; please report it)"
    assert "Traceback" in result["exception"] and engine.closed == 1


def test_a_failing_close_is_a_warning_that_never_hides_the_result(monkeypatch):
    engine = Closing(close_fault=OSError("socket gone"))
    door, result, warned = exit_of(engine, lambda lifecycle: {"seen": len(lifecycle.backend.list({}))}, monkeypatch)
    assert door == "exit_json" and result["seen"] == 1
    assert warned == ["closing the connection to the engine failed: socket gone"]


def test_bad_input_fails_before_the_engine_is_connected(monkeypatch):
    engine = Closing()
    door, result, _ = exit_of(engine, lambda lifecycle: pytest.fail("ran"), monkeypatch, timeout=0)
    assert door == "fail_json" and result["msg"].startswith("timeout must be between")
    assert engine.closed == 0  # never connected: nothing to close
