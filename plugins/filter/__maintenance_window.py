# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the ``maintenance_window`` role: its decisions (targets, settings groups, batches, the
per-container state, the rollback, the report, the journal) as pure functions of
``plugin_utils/_window.py`` and ``plugin_utils/_journal.py``.

Internal to the role, not published: a file whose name starts with ``__`` is skipped by ansible-doc's
listing (and so by antsibull-docs), while ansible-core still finds its filters by their FQCN
(``containerops.lifecycle.window_plan``). A role in a collection cannot carry its own ``filter_plugins/``:
ansible-core adds a role's plugin directories only for roles outside collections.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.containerops.lifecycle.plugins.plugin_utils import _journal, _window


def _wrap(function):
    """Report a wrong argument as a filter error naming the filter, not as a traceback."""

    def wrapped(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise AnsibleFilterError(f"containerops.lifecycle.{function.__name__}: {exc}") from exc

    wrapped.__name__ = function.__name__
    wrapped.__doc__ = function.__doc__
    return wrapped


def window_out_of_range(values):
    return _window.out_of_range(values)


def window_targets(given, selected=None, journaled=None):
    return _window.targets(given, selected, journaled)


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


def window_id(inputs, explicit=None):
    return _journal.window_id(explicit, inputs)


def window_journal_read(directory, window):
    """The journal's entries, each with who holds it, and the names this window's entries hold; read on the
    controller, where filters run."""
    entries = _journal.read_held(directory)
    return {"entries": entries, "names": _window.journal_names(entries, window)}


def window_resume(state, journal, window):
    return _window.resume(state, (journal or {}).get("entries") or [], window)


def window_journal(state, step, directory, window, names=None, check_mode=False):
    """Write the journal before ``step`` (or clear it) for ``names``, on the controller; the state, with the
    containers another live run claimed first failed at ``plan``. Nothing is written in check mode."""
    if check_mode:
        return state
    changes = _window.journal_changes(state, step, names)
    busy = _journal.record(directory, _window.WORKFLOW, window, step, changes["write"],
                           [record["id"] for record in changes["clear"]], Display().warning)
    return _window.record_busy(state, busy)


FILTERS = (window_out_of_range, window_targets, window_settings_groups, window_plan, window_batches, window_may_run,
           window_alive, window_record, window_probe_url, window_rollback, window_previous_settings, window_report,
           window_id, window_journal_read, window_resume, window_journal)


class FilterModule:
    """containerops.lifecycle.window_* filters."""

    def filters(self):
        return {function.__name__: _wrap(function) for function in FILTERS}
