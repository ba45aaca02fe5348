"""The maintenance-window role's internal filters (``__maintenance_window``): every filter is exposed under its
name, no filter file is published (ansible-doc skips them), and a wrong argument is a filter error (their logic is
tested in tests/unit/plugins/plugin_utils/test_window.py and test_journal.py)."""

from __future__ import annotations

import importlib
import os

import pytest
from ansible.errors import AnsibleFilterError

maintenance_window = importlib.import_module(
    "ansible_collections.containerops.lifecycle.plugins.filter.__maintenance_window"
)

FILTER_DIR = os.path.dirname(maintenance_window.__file__)
FILTERS = maintenance_window.FilterModule().filters()


def test_every_filter_is_exposed_under_its_name():
    assert sorted(FILTERS) == sorted(function.__name__ for function in maintenance_window.FILTERS)
    assert all(name.startswith("window_") for name in FILTERS)


def test_no_filter_is_published():
    """ansible-doc (and antsibull-docs) skip plugin files whose names start with ``__``; nothing documents them."""
    files = sorted(os.listdir(FILTER_DIR))
    published = ["__autoheal.py", "__blue_green.py", "__maintenance_window.py"]
    assert [name for name in files if name.endswith(".py")] == published
    assert [name for name in files if name.endswith((".yml", ".yaml"))] == []


def test_the_journal_filter_writes_nothing_in_check_mode(tmp_path):
    state = [
        {
            "name": "a",
            "id": "i",
            "outcome": "not_attempted",
            "failed_step": None,
            "resumed_from": None,
            "changes": [],
            "before": None,
            "snapshot": None,
            "status": "running",
            "error": None,
        }
    ]
    assert FILTERS["window_journal"](state, "planned", str(tmp_path), "w", check_mode=True) == state
    assert os.listdir(tmp_path) == []


def test_filters_work_on_plain_data():
    state = FILTERS["window_plan"](["a"], {"results": [{"containers": [{"name": "a", "changes": ["autostart"]}]}]})
    assert FILTERS["window_batches"](state, 1) == [["a"]]
    assert FILTERS["window_may_run"](["a"], state) is True
    assert FILTERS["window_alive"](["a"], state) == ["a"]
    assert FILTERS["window_record"](state, "outcome", names=["a"])[0]["outcome"] == "changed"
    assert FILTERS["window_report"](state) == ""


@pytest.mark.parametrize(
    ("name", "args", "words"),
    [
        ("window_batches", ([], 0), "containerops.lifecycle.window_batches: the batch size must be 1 or more, got 0"),
        ("window_record", ([], "dance"), "containerops.lifecycle.window_record: unknown step 'dance'"),
        ("window_previous_settings", ("nobody", []), "containerops.lifecycle.window_previous_settings: 'nobody'"),
        ("window_record", ([], "stop", None), None),
    ],
)
def test_a_wrong_argument_is_a_filter_error(name, args, words):
    if words is None:
        assert FILTERS[name](*args) == []
        return
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS[name](*args)
    assert words in str(caught.value)
