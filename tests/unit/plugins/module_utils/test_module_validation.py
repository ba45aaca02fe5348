"""Target selection rules: a selection never widens by accident, and what is allowed stays allowed."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import BACKEND_CLASSES, validated_filters

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
