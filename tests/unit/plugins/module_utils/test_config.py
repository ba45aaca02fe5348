"""Container settings as data: parsing, differences, the applied result and how they are shown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.containerops.lifecycle.plugins.module_utils import _config
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput

CURRENT = {
    "autostart": False,
    "environment_vars": {"PATH": "/bin", "LOG": "info"},
    "resources.memory": None,
    "resources.cpus": 1.0,
}


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [(512, 512), ("512", 512), ("64m", 64 * 2**20), ("1g", 2**30), ("1.5G", int(1.5 * 2**30)), (" 2k ", 2048)],
)
def test_memory_sizes(given_value, expected):
    assert _config.parse_memory(given_value) == expected


@pytest.mark.parametrize("bad", ["12x", "", "-5", 0, -1, True, "lots"])
def test_bad_memory_names_the_option(bad):
    with pytest.raises(BadInput, match=r"resources\.memory"):
        _config.parse_memory(bad)


@pytest.mark.parametrize("bad", [0, -0.5, "many", True, None])
def test_bad_cpus_names_the_option(bad):
    with pytest.raises(BadInput, match=r"resources\.cpus"):
        _config.parse_cpus(bad)


def test_only_given_settings_are_managed():
    assert _config.wanted_settings(None, None, None) == {}
    assert _config.wanted_settings(True, None, {"cpus": 0.5}) == {"autostart": True, "resources.cpus": 0.5}


def test_environment_values_become_strings():
    wanted = _config.wanted_settings(None, {"DEBUG": True, "PORT": 8080, "NAME": "x"}, None)
    assert wanted["environment_vars"] == {"DEBUG": "true", "PORT": "8080", "NAME": "x"}


@pytest.mark.parametrize("env", [{"A=B": "x"}, {"": "x"}, {"A": {"x": 1}}, {"A": ["x"]}])
def test_bad_environment_is_refused(env):
    with pytest.raises(BadInput, match="environment_vars"):
        _config.wanted_settings(None, env, None)


def test_changes_hold_only_what_differs():
    wanted = _config.wanted_settings(False, {"LOG": "debug", "PATH": "/bin"}, {"cpus": 1, "memory": "1k"})
    changes = _config.config_changes(CURRENT, wanted)
    assert changes == {"environment_vars": {"LOG": "debug"}, "resources.memory": 1024}
    assert _config.change_names(changes) == ["environment_vars.LOG", "resources.memory"]


def test_equal_settings_change_nothing():
    wanted = _config.wanted_settings(False, {"PATH": "/bin"}, {"cpus": 1})
    assert _config.config_changes(CURRENT, wanted) == {}


def test_applied_merges_the_environment():
    after = _config.applied(CURRENT, {"environment_vars": {"NEW": "1"}, "autostart": True})
    assert after["environment_vars"] == {"PATH": "/bin", "LOG": "info", "NEW": "1"}
    assert after["autostart"] is True
    assert CURRENT["autostart"] is False  # the input is not modified


def test_a_null_variable_is_removed_where_it_is_set():
    wanted = _config.wanted_settings(None, {"LOG": None, "MISSING": None}, None)
    assert wanted["environment_vars"] == {"LOG": None, "MISSING": None}
    changes = _config.config_changes(CURRENT, wanted)
    assert changes == {"environment_vars": {"LOG": None}}
    assert _config.change_names(changes) == ["environment_vars.LOG"]
    assert _config.applied(CURRENT, changes)["environment_vars"] == {"PATH": "/bin"}
    assert _config.diff_text(_config.managed(_config.applied(CURRENT, changes), wanted)) == ""


@given(
    current_env=st.dictionaries(st.sampled_from("ABCD"), st.sampled_from(["0", "1"])),
    wanted_env=st.dictionaries(st.sampled_from("ABCD"), st.sampled_from(["0", "1", None])),
    autostart=st.booleans(),
    current_autostart=st.booleans(),
)
def test_applying_the_changes_leaves_nothing_to_change(current_env, wanted_env, autostart, current_autostart):
    current = {"autostart": current_autostart, "environment_vars": current_env}
    wanted = {"autostart": autostart, "environment_vars": wanted_env}
    changes = _config.config_changes(current, wanted)
    assert _config.config_changes(_config.applied(current, changes), wanted) == {}
    differs = current_autostart != autostart or any(current_env.get(k) != v for k, v in wanted_env.items())
    assert bool(changes) == differs


def test_report_shape_and_diff_lines():
    assert _config.nested(CURRENT) == {
        "autostart": False,
        "environment_vars": {"LOG": "info", "PATH": "/bin"},
        "resources": {"memory": None, "cpus": 1.0},
    }
    assert _config.nested({})["environment_vars"] is None
    view = _config.managed(CURRENT, {"autostart": True, "environment_vars": {"LOG": "x", "MISSING": "y"}})
    assert view == {"autostart": False, "environment_vars": {"LOG": "info"}}
    assert _config.diff_text(view) == "autostart: false\nenvironment_vars.LOG: info\n"
