"""The blue-green role's internal filters (``__blue_green``): both are exposed under their names, the journal
writes nothing in check mode, and a wrong argument is a filter error (their logic is tested in
tests/unit/plugins/plugin_utils/test_journal.py)."""

from __future__ import annotations

import importlib
import os
import re

import pytest
from ansible.errors import AnsibleFilterError

blue_green = importlib.import_module("ansible_collections.containerops.lifecycle.plugins.filter.__blue_green")

SWITCH_FILTERS = blue_green.FilterModule().filters()


def test_every_filter_is_exposed_under_its_name():
    assert sorted(SWITCH_FILTERS) == ["blue_green_journal", "blue_green_resume"]


def test_the_journal_filter_writes_nothing_in_check_mode(tmp_path):
    assert (
        SWITCH_FILTERS["blue_green_journal"]([{"name": "a", "id": "i"}], "switch", str(tmp_path), "s", check_mode=True)
        == ""
    )
    assert os.listdir(tmp_path) == []


def test_a_wrong_argument_of_a_switch_filter_is_a_filter_error(tmp_path):
    with pytest.raises(AnsibleFilterError, match=re.escape("blue_green_journal: unknown step 'nap'")):
        SWITCH_FILTERS["blue_green_journal"]([], "nap", str(tmp_path), "s")
    with pytest.raises(AnsibleFilterError, match=re.escape("containerops.lifecycle.blue_green_resume: 'id'")):
        SWITCH_FILTERS["blue_green_resume"]([{"name": "a"}], str(tmp_path), "s")
