# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The journal filters of the ``blue_green`` role: what a run does after an interrupted switch, and the journal
written before each step (``plugin_utils/_journal.py``). Internal to the role, not published (see
``__maintenance_window.py`` for why the file name starts with ``__``)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.containerops.lifecycle.plugins.plugin_utils import _journal

STEPS = (*_journal.SWITCH_STEPS, "clear")


def blue_green_resume(containers, directory, window):
    return _journal.switch_resume(_journal.read_held(directory), _named(containers), window)


def blue_green_journal(containers, step, directory, window, check_mode=False):
    """Write the step of the switch (or clear it) for blue and green, on the controller; the refusals for the
    containers another live run holds, joined (empty when none)."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; expected one of {', '.join(STEPS)}")
    if check_mode:
        return ""
    named = _named(containers)
    records = [] if step == "clear" else [dict(container, data={}) for container in named]
    clear = [container["id"] for container in named] if step == "clear" else []
    busy = _journal.record(directory, _journal.SWITCH, window, step, records, clear, Display().warning)
    return "; ".join(busy.values())


def _named(containers):
    """``[{name, id}]`` of container_info entries."""
    return [{"name": container["name"], "id": container["id"]} for container in containers or []]


FILTERS = (blue_green_resume, blue_green_journal)


class FilterModule:
    """containerops.lifecycle.blue_green_* filters."""

    def filters(self):
        def wrap(function):
            def wrapped(*args, **kwargs):
                try:
                    return function(*args, **kwargs)
                except (KeyError, TypeError, ValueError, OSError) as exc:
                    raise AnsibleFilterError(f"containerops.lifecycle.{function.__name__}: {exc}") from exc

            return wrapped

        return {function.__name__: wrap(function) for function in FILTERS}
