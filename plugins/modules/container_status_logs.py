#!/usr/bin/python
# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_status_logs
short_description: Read a container's history of state transitions
version_added: 0.1.0
description:
  - Returns one container's state transitions (started, stopped, paused, resumed, restarted, deleted,
    exited on its own), newest first by default, with how long each operation took and per-operation
    statistics, which is what an operator looks at for slow starts and restart storms.
  - Read-only; never reports a change.
  - On Docker the history is built from the engine's event stream (C(start), C(kill), C(die), C(stop),
    C(pause), C(unpause), C(restart), C(create), C(destroy), C(oom)); a stop's duration runs from its
    first kill signal to the container's exit, a restart's from its first kill signal to the
    C(restart) event.
  - B(The Docker daemon keeps only its most recent events in memory) (a fixed-size buffer shared by
    every container and event type, 256 events in current releases) and loses them when it restarts.
    Older transitions are simply not there; ship the daemon's events to a log store if you need a
    long history (see R(Status logs on Docker,ansible_collections.containerops.lifecycle.docsite.guide_status_logs)).
  - The history of a container that has been deleted can still be read by its name or id while its
    events are in that buffer.
  - On Podman (O(backend=podman)) the history is built from libpod's events (C(create), C(start), C(kill),
    C(stop), C(died), C(cleanup), C(pause), C(unpause), C(restart), C(remove)). Podman 4 writes no C(kill) for a
    stop and mostly no C(stop) event, and its C(kill) carries no signal; so a process's end is a requested C(stop)
    when a C(stop) event, the stop's own second C(cleanup) or a removal within 1 s follows it, a C(force-stop)
    when it died of SIGKILL within 2 s of a C(podman kill), and otherwise an C(exit) (a crash, a C(kill -9) of the
    process, an OOM kill, since Podman writes no C(oom) event). A stop's duration is known only when a C(kill) event
    came before it (kill to exit); a restart's runs from its C(restart) event to the start; a start is the engine's
    (C(triggered_by=engine)) only when the restart policy wrote its C(restart) event.
  - B(Podman keeps its events as its events logger says) (C(events_logger) in C(containers.conf)). With
    C(file) (the default without systemd; root's C(/run/libpod/events/events.log)) one file for every
    container, kept across service restarts (not reboots where C(/run) is a tmpfs) and rotated at
    C(events_logfile_max_size), 1 MB by default (a few thousand events), the older events deleted; with
    C(journald), as long as the journal keeps them.
author:
  - containerops engineers (@containerops)
extends_documentation_fragment:
  - containerops.lifecycle.connection
  - containerops.lifecycle.connection.docker
  - containerops.lifecycle.connection.podman
  - containerops.lifecycle.connection.rest
  - containerops.lifecycle.attributes
attributes:
  check_mode:
    support: full
    details: Read-only; runs normally in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  name:
    description: Name or id of one container.
    type: str
    required: true
    aliases: [id]
  limit:
    description: Records per page, 1 to 100.
    type: int
    default: 20
  page:
    description: Page number, from 1. A page past the end returns no records.
    type: int
    default: 1
  all_pages:
    description: Return every record instead of one page.
    type: bool
    default: false
  sort_by:
    description: Field to sort by; ties are broken by transition time.
    type: str
    default: transition_time
    choices: [transition_time, created_at, to_status, from_status]
  sort_order:
    description: Sort direction.
    type: str
    default: desc
    choices: [asc, desc]
  since:
    description:
      - Only transitions at or after this time.
      - An ISO 8601 timestamp (C(2026-11-23T08:00:00Z), or with an offset, or a date), or a duration
        back from now such as C(30m), C(2h), C(1d), C(1h30m) (units C(s), C(m), C(h), C(d), C(w)).
    type: str
  until:
    description: Only transitions at or before this time; same forms as O(since).
    type: str
  from_status:
    description: Only transitions from these canonical statuses.
    type: list
    elements: str
    choices: [running, stopped, paused, failed, creating, copying, claiming, restarting, stopping, removing, deleting,
              absent]
  to_status:
    description: Only transitions to these canonical statuses.
    type: list
    elements: str
    choices: [running, stopped, paused, failed, creating, copying, claiming, restarting, stopping, removing, deleting,
              absent]
seealso:
  - module: containerops.lifecycle.container_state
"""

EXAMPLES = r"""
- name: Last 20 transitions of the API container
  containerops.lifecycle.container_status_logs:
    name: api-1
  register: history

- name: Every stop in the last 2 hours, oldest first
  containerops.lifecycle.container_status_logs:
    name: api-1
    since: 2h
    to_status: [stopped]
    sort_order: asc
    all_pages: true
  register: stops

- name: Warn about slow stops and restart storms
  ansible.builtin.debug:
    msg: >-
      {{ stops.stats.stop.count | default(0) }} stops, slowest {{ stops.stats.stop.max_duration_ms | default(0) }} ms,
      {{ stops.stats.failures }} failures
"""

RETURN = r"""
logs:
  description: The transitions of the requested page (all of them with O(all_pages=true)), sorted as asked.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Record id, stable across calls.
      type: str
    container_id:
      description: Container id.
      type: str
    from_status:
      description: Canonical status before; null for the container's creation.
      type: str
    to_status:
      description: Canonical status after (V(absent) once deleted).
      type: str
    transition_time:
      description: When the transition completed, ISO 8601 UTC.
      type: str
      sample: "2026-11-23T17:02:29.123456Z"
    duration_ms:
      description: How long the operation took, when the engine's events show its beginning; null otherwise.
      type: int
    triggered_by:
      description: >-
        V(api) for operations requested through the engine API; V(engine) for what happened by itself
        (exit, OOM kill, restart policy).
      type: str
    metadata:
      description:
        - C(operation) (V(create), V(start), V(stop), V(force-stop), V(restart), V(pause), V(resume),
          V(delete), or V(exit) and V(oom) for processes that ended on their own) and engine details such
          as C(exit_code), C(signals), C(escalated) (a graceful stop needed SIGKILL) and C(events).
      type: dict
pagination:
  description: Where this page sits.
  returned: always
  type: dict
  contains:
    total:
      description: Records matching the filters.
      type: int
    page:
      description: This page.
      type: int
    limit:
      description: Records per page.
      type: int
    total_pages:
      description: Pages at this limit (0 when nothing matched).
      type: int
elapsed:
  description: Seconds the module spent, from its start to its answer.
  returned: success
  type: float
  sample: 0.412
stats:
  description:
    - Over every matching record, not just this page. One key per operation seen
      (V(start), V(stop), V(force-stop), V(restart), V(pause), V(resume), V(delete)), each
      C({count, avg_duration_ms, max_duration_ms}), plus C(failures).
    - C(failures) counts transitions into V(failed), OOM kills, and processes that exited on their own with
      a non-zero code.
  returned: always
  type: dict
  sample: {stop: {count: 3, avg_duration_ms: 4120, max_duration_ms: 10230}, failures: 1}
"""

import datetime

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, ContainerNotFound
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import ABSENT, STATUSES
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import LifecycleModule

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True, "aliases": ["id"]},
    "limit": {"type": "int", "default": 20},
    "page": {"type": "int", "default": 1},
    "all_pages": {"type": "bool", "default": False},
    "sort_by": {"type": "str", "default": "transition_time", "choices": list(_history.SORT_KEYS)},
    "sort_order": {"type": "str", "default": "desc", "choices": ["asc", "desc"]},
    "since": {"type": "str"},
    "until": {"type": "str"},
    "from_status": {"type": "list", "elements": "str", "choices": list(STATUSES)},
    "to_status": {"type": "list", "elements": "str", "choices": list(STATUSES)},
}


def _time_bound(option: str, value, now: datetime.datetime):
    if value is None:
        return None
    try:
        return _history.parse_time_bound(value, now)
    except ValueError as exc:
        raise BadInput(f"{option}: {exc}") from None


def run(lifecycle: LifecycleModule) -> dict:
    params = lifecycle.params
    if not 1 <= params["limit"] <= 100:
        raise BadInput(f"limit must be between 1 and 100, got {params['limit']}")
    if params["page"] < 1:
        raise BadInput(f"page must be 1 or more, got {params['page']}")
    now = datetime.datetime.now(datetime.timezone.utc)
    since = _time_bound("since", params["since"], now)
    until = _time_bound("until", params["until"], now)
    if since and until and since > until:
        raise BadInput(f"since ({params['since']}) is later than until ({params['until']})")
    # Nothing has happened after now: no engine is asked about the future (Docker refuses such a window).
    records = [] if since and since > now else lifecycle.backend.status_history(
        params["name"],
        since=since.timestamp() if since else None,
        until=until.timestamp() if until else None,
    )
    if not records and lifecycle.backend.inspect(params["name"]).status == ABSENT:
        raise ContainerNotFound(params["name"], "no such container, and the engine has no history under that name")
    records = _history.select_records(
        records, since=since, until=until, from_status=params["from_status"], to_status=params["to_status"]
    )
    ordered = _history.sort_records(records, params["sort_by"], params["sort_order"])
    logs, pagination = _history.paginate(ordered, params["page"], params["limit"], params["all_pages"])
    return {
        "changed": False,
        "logs": logs,
        "pagination": pagination,
        "stats": _history.compute_stats(records),
    }


def main() -> None:
    LifecycleModule(ARGUMENT_SPEC).run(run)


if __name__ == "__main__":
    main()
