# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the autoheal playbook (``playbooks/autoheal.yml``): what one run heals and what it reports, as
the pure functions of ``plugin_utils/_healing.py``. Internal, not published (see ``__maintenance_window.py``).
"""

from __future__ import annotations

import time

from ansible.errors import AnsibleFilterError

from ansible_collections.containerops.lifecycle.plugins.plugin_utils import _healing


def autoheal_plan(event, cursor_file=None, heals_file=None):
    """What this run heals: every need the source's cursor file knows of (and ``event``'s), within the rate limit
    the heals file counts; the heals file is written for it (read and written on the controller)."""
    try:
        cursor = _healing.read_json(cursor_file) or {}
        known = cursor.get("containers") if isinstance(cursor.get("containers"), dict) else {}
        run = cursor.get("run")
        with _healing.locked(heals_file):
            heals = _healing.heals_of(_healing.read_json(heals_file), run)
            now = time.time()
            planned = _healing.plan(_healing.latest(known, event), heals, now)
            if heals_file and (planned["start"] or planned["restart"]):
                _healing.write_json(heals_file, {"run": run, "heals": _healing.heals_after(heals, planned, now)})
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise AnsibleFilterError(f"containerops.lifecycle.autoheal_plan: {exc}") from exc
    planned["start_ids"] = [need["id"] for need in planned["start"]]
    planned["restart_ids"] = [need["id"] for need in planned["restart"]]
    return planned


def autoheal_reports(planned, started=None, restarted=None):
    return _healing.reports(planned, started, restarted)


def autoheal_given_up(need):
    return _healing.report(need, None, "given_up")


class FilterModule:
    """containerops.lifecycle.autoheal_* filters."""

    def filters(self):
        return {function.__name__: function for function in (autoheal_plan, autoheal_reports, autoheal_given_up)}
