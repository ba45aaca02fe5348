# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the ``maintenance_window`` role: its decisions (targets, settings groups, batches, the
per-container state, the rollback, the report) as pure functions of ``module_utils/_window.py``.

Each filter is documented in the ``<name>.yml`` beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.lifecycle.plugins.module_utils import _window


def _wrap(function):
    """Report a wrong argument as a filter error naming the filter, not as a traceback."""

    def wrapped(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (KeyError, TypeError, ValueError) as exc:
            raise AnsibleFilterError(f"containerops.lifecycle.{function.__name__}: {exc}") from exc

    wrapped.__name__ = function.__name__
    wrapped.__doc__ = function.__doc__
    return wrapped


def window_out_of_range(values):
    return _window.out_of_range(values)


def window_targets(given, selected=None):
    return _window.targets(given, selected)


def window_settings_groups(names, config=None, config_by_container=None):
    return _window.settings_groups(names, config, config_by_container)


def window_plan(names, result):
    return _window.plan(names, result)


def window_batches(state, size):
    return _window.batches(state, size)


def window_may_run(batch, state):
    return _window.may_run(batch, state)


def window_alive(batch, state):
    return _window.alive(batch, state)


def window_record(state, step, result=None, **options):
    return _window.record(state, step, result, **options)


def window_probe_url(name, info, url, network=""):
    return _window.probe_url(name, info, url, network)


def window_rollback(state, batch):
    return _window.rollback_plan(state, batch)


def window_previous_settings(name, state):
    return _window.previous_settings(name, state)


def window_report(summary):
    return _window.report(summary)


FILTERS = (window_out_of_range, window_targets, window_settings_groups, window_plan, window_batches, window_may_run,
           window_alive, window_record, window_probe_url, window_rollback, window_previous_settings, window_report)


class FilterModule:
    """containerops.lifecycle.window_* filters."""

    def filters(self):
        return {function.__name__: _wrap(function) for function in FILTERS}
