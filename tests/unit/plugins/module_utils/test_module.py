"""_module: which option or environment variable gave a connection value, the last door for a result's messages, and
the target filters a task may give."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import OPTION_SOURCES
from ansible_collections.containerops.lifecycle.plugins.module_utils._dockhand import DockhandBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody import HoodyBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import (
    BACKEND_CLASSES,
    CONNECTION_SPEC,
    option_sources,
    safe_result,
    validated_filters,
)

ESC = "\x1b"


def params(**values):
    return dict(dict.fromkeys(CONNECTION_SPEC), timeout=60, retries=0, **values)


def test_an_option_the_task_gave_has_no_source_even_when_a_variable_is_set():
    given = params(api_password="pw")
    assert "api_password" not in option_sources({"api_password"}, given, {"DOCKHAND_PASSWORD": "pw"})


def test_an_option_its_fallback_read_names_the_first_variable_set():
    found = params(api_realm="r2", api_password="pw")
    sources = option_sources(set(), found, {"HOODY_REALM_ID": "r2", "DOCKHAND_PASSWORD": "pw"})
    assert sources["api_realm"] == "HOODY_REALM_ID" and sources["api_password"] == "DOCKHAND_PASSWORD"
    both = option_sources(set(), found, {"HOODY_REALM": "r1", "HOODY_REALM_ID": "r2"})
    assert both["api_realm"] == "HOODY_REALM"  # env_fallback takes the first variable that is set


def test_an_option_with_a_value_and_no_variable_is_its_default_and_an_unset_one_is_left_out():
    sources = option_sources(set(), params(), {})
    assert sources == {"timeout": "default", "retries": "default"}


def test_an_alias_given_counts_as_the_option():
    assert "validate_certs" not in option_sources({"tls_verify"}, params(validate_certs=True), {})


@pytest.mark.parametrize(
    ("values", "environ", "sources", "said", "named"),
    [
        ({"api_url": "http://h"}, {"HOODY_API_URL": "http://e"}, {}, "api_url", "api_url"),
        ({}, {"HOODY_BASE_URL": "http://e"}, {}, "api_url, from HOODY_BASE_URL", "api_url (from HOODY_BASE_URL)"),
        ({}, {"HOODY_API_URL": "http://a", "HOODY_BASE_URL": "http://b"}, {}, "api_url, from HOODY_API_URL",
         "api_url (from HOODY_API_URL)"),
        ({}, {}, {}, "api_url's default", "api_url"),
    ],
)  # fmt: skip
def test_backend_source_of_a_variable_the_backend_reads_itself(monkeypatch, values, environ, sources, said, named):
    for variable in ("HOODY_API_URL", "HOODY_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environ.items():
        monkeypatch.setenv(variable, value)
    given = params(**values, **{OPTION_SOURCES: sources})
    assert HoodyBackend.source(given, "api_url") == said
    assert HoodyBackend.named(given, "api_url") == named


def test_backend_source_of_a_variable_ansible_read():
    read = params(api_password="pw", **{OPTION_SOURCES: {"api_password": "DOCKHAND_PASSWORD", "timeout": "default"}})
    assert DockhandBackend.source(read, "api_password") == "api_password, from DOCKHAND_PASSWORD"
    assert DockhandBackend.named(read, "api_password") == "api_password (from DOCKHAND_PASSWORD)"
    assert DockhandBackend.source(read, "timeout") == "timeout's default"


def test_a_password_from_the_environment_without_a_username_names_the_variable(monkeypatch):
    monkeypatch.setenv("DOCKHAND_URL", "http://127.0.0.1:9")
    read = params(api_environment=1, api_password="pw", validate_certs=None, ca_path=None, client_cert=None,
                  client_key=None, **{OPTION_SOURCES: {"api_password": "DOCKHAND_PASSWORD"}})  # fmt: skip
    with pytest.raises(BadInput) as caught:
        DockhandBackend.from_options(read, lambda secret: None)
    assert str(caught.value) == (
        "api_username and api_password go together for backend dockhand: api_password (from DOCKHAND_PASSWORD) "
        "is set, api_username is not; give both, or neither"
    )


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
    [{"name": "web-*"}, {"label": ["a=b"]}, {"label": "a"}, {"status": ["running"]}, {"project": "p1"},
     {"name": "*", "label": ["tier=batch", "x"], "status": ["running", "paused"]}],
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
        ("docker", {"project": "a/../b"},
         "filters.project 'a/../b' is not a project backend docker allows: a Compose project name ([a-zA-Z0-9]"),
        ("dockhand", {"project": "-web"},
         "filters.project '-web' is not a project backend dockhand allows: a Compose project name ([a-zA-Z0-9]"),
        ("hoody", {"project": "p?all=1"},
         "filters.project 'p?all=1' is not a project backend hoody allows: a project id of 1 to 100 characters"),
    ],
)
def test_filters_an_engine_cannot_apply_are_refused_before_it_is_asked(backend, filters, words):
    with pytest.raises(errors.BadInput) as caught:
        validated_filters(filters, BACKEND_CLASSES[backend])
    assert words in str(caught.value)
