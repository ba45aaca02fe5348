"""The maintenance_window filters: every filter is exposed, documented beside the plugin, and reports a wrong
argument as a filter error (their logic is tested in tests/unit/plugins/module_utils/test_window.py)."""

from __future__ import annotations

import inspect
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.lifecycle.plugins.filter import maintenance_window

FILTER_DIR = os.path.dirname(maintenance_window.__file__)
FILTERS = maintenance_window.FilterModule().filters()


def test_every_filter_is_exposed_under_its_name():
    assert sorted(FILTERS) == sorted(function.__name__ for function in maintenance_window.FILTERS)
    assert all(name.startswith("window_") for name in FILTERS)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_every_filter_has_documentation_matching_its_arguments(name):
    with open(os.path.join(FILTER_DIR, f"{name}.yml"), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    documentation = doc["DOCUMENTATION"]
    assert documentation["name"] == name
    assert documentation["version_added"] == "0.1.0"
    assert f"containerops.lifecycle.{name}" in doc["EXAMPLES"]
    assert "_value" in doc["RETURN"]
    function = getattr(maintenance_window, name)
    parameters = [parameter for parameter in inspect.signature(function).parameters.values()
                  if parameter.kind is not inspect.Parameter.VAR_KEYWORD]
    positional = [option.strip() for option in documentation["positional"].split(",")]
    assert positional == ["_input", *(parameter.name for parameter in parameters[1:len(positional)])]
    options = set(documentation["options"])
    assert {"_input"} | {parameter.name for parameter in parameters[1:]} <= options


def test_window_record_documents_every_option_of_record():
    with open(os.path.join(FILTER_DIR, "window_record.yml"), encoding="utf-8") as handle:
        documentation = yaml.safe_load(handle)["DOCUMENTATION"]
    from ansible_collections.containerops.lifecycle.plugins.module_utils import _window

    parameters = list(inspect.signature(_window.record).parameters)[1:]
    assert set(parameters) == set(documentation["options"]) - {"_input"}
    assert set(documentation["options"]["step"]["choices"]) == set(_window.RECORDED_STEPS)


def test_filters_work_on_plain_data():
    state = FILTERS["window_plan"](["a"], {"results": [{"containers": [{"name": "a", "changes": ["autostart"]}]}]})
    assert FILTERS["window_batches"](state, 1) == [["a"]]
    assert FILTERS["window_may_run"](["a"], state) is True
    assert FILTERS["window_alive"](["a"], state) == ["a"]
    assert FILTERS["window_record"](state, "outcome", names=["a"])[0]["outcome"] == "changed"
    assert FILTERS["window_report"](state) == ""


@pytest.mark.parametrize(("name", "args", "words"), [
    ("window_batches", ([], 0), "containerops.lifecycle.window_batches: the batch size must be 1 or more, got 0"),
    ("window_record", ([], "dance"), "containerops.lifecycle.window_record: unknown step 'dance'"),
    ("window_previous_settings", ("nobody", []), "containerops.lifecycle.window_previous_settings: 'nobody'"),
    ("window_record", ([], "stop", None), None),
])
def test_a_wrong_argument_is_a_filter_error(name, args, words):
    if words is None:
        assert FILTERS[name](*args) == []
        return
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS[name](*args)
    assert words in str(caught.value)
