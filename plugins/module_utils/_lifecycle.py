# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container lifecycle as plain data and pure functions.

Every backend maps its engine's state onto ``STATUSES``; the planner then decides, from the
allowed-operations table alone, which operations lead from an observed status to a desired state.
Nothing here talks to an engine, so the unit tests can cover every combination.
"""

from __future__ import annotations

RUNNING = "running"
STOPPED = "stopped"
PAUSED = "paused"
FAILED = "failed"
ABSENT = "absent"

TRANSITIONAL = ("creating", "copying", "claiming", "restarting", "stopping", "removing", "deleting")
SETTLED = (RUNNING, STOPPED, PAUSED, FAILED, ABSENT)
STATUSES = SETTLED[:4] + TRANSITIONAL + (ABSENT,)

OPERATIONS = ("start", "stop", "force-stop", "restart", "pause", "resume", "delete")

ALLOWED_OPERATIONS = {
    RUNNING: ("stop", "force-stop", "restart", "pause"),
    STOPPED: ("start", "restart", "delete"),
    PAUSED: ("resume",),
    FAILED: ("delete",),
    ABSENT: (),
}
for _status in TRANSITIONAL:
    ALLOWED_OPERATIONS[_status] = ()
# A crash loop never settles: Docker stops or kills a restarting container at once (and its restart
# policy then leaves it stopped), so waiting for it to settle would only wait out the timeout.
ALLOWED_OPERATIONS["restarting"] = ("stop", "force-stop")

# The settled status each operation leads to.
RESULT_OF = {
    "start": RUNNING,
    "stop": STOPPED,
    "force-stop": STOPPED,
    "restart": RUNNING,
    "pause": PAUSED,
    "resume": RUNNING,
    "delete": ABSENT,
}

DESIRED_STATES = ("started", "stopped", "paused", "restarted", "absent")

# The status each desired state ends in.
TARGET_STATUS = {
    "started": RUNNING,
    "stopped": STOPPED,
    "paused": PAUSED,
    "restarted": RUNNING,
    "absent": ABSENT,
}

_GRACEFUL_PLANS = {
    ("started", RUNNING): (),
    ("started", STOPPED): ("start",),
    ("started", PAUSED): ("resume",),
    ("stopped", RUNNING): ("stop",),
    ("stopped", STOPPED): (),
    ("stopped", PAUSED): ("resume", "stop"),
    ("paused", RUNNING): ("pause",),
    ("paused", STOPPED): ("start", "pause"),
    ("paused", PAUSED): (),
    ("restarted", RUNNING): ("restart",),
    ("restarted", STOPPED): ("start",),
    ("restarted", PAUSED): ("resume", "restart"),
    ("absent", RUNNING): ("stop", "delete"),
    ("absent", STOPPED): ("delete",),
    ("absent", PAUSED): ("resume", "stop", "delete"),
    ("absent", FAILED): ("delete",),
    ("absent", ABSENT): (),
    # Transitional statuses are waited out, except where acting at once is the only way out.
    ("stopped", "restarting"): ("stop",),
    ("absent", "restarting"): ("stop", "delete"),
}

# With force, a graceful stop becomes an immediate kill; a forced restart is kill then start.
_FORCED = {"stop": ("force-stop",), "restart": ("force-stop", "start")}

_REFUSALS = {
    FAILED: "its last operation failed (status 'failed'); delete it (state: absent) or diagnose it first",
    ABSENT: "it does not exist",
}


class PlanRefused(Exception):
    """No sequence of allowed operations leads from the observed status to the desired state."""


def is_transitional(status: str) -> bool:
    return status in TRANSITIONAL


def must_settle(status: str, desired: str) -> bool:
    """Whether a container in ``status`` has to be waited out before planning for ``desired``."""
    return is_transitional(status) and (desired, status) not in _GRACEFUL_PLANS


def wait_over(status: str, wanted: tuple[str, ...], settles_at_once: bool) -> bool:
    """Whether a wait for one of the ``wanted`` statuses ends when the container shows ``status``.

    It ends on a wanted status, or on one that rules them out. On an engine whose operations are over
    when it answers, any settled status rules them out. An engine that carries an operation out after
    answering may still show the status from before it, so there only ``failed``, ``absent`` and a
    deletion under way (unless ``absent`` is wanted) end the wait early.
    """
    if status in wanted:
        return True
    if settles_at_once:
        return not is_transitional(status)
    return status in (FAILED, ABSENT) or (status == "deleting" and ABSENT not in wanted)


def plan(status: str, desired: str, force: bool = False) -> tuple[str, ...]:
    """Return the operations that drive a container in ``status`` to ``desired``.

    An empty tuple means nothing to do. Raises ``PlanRefused`` where no plan exists and
    ``ValueError`` for a transitional status (wait for it to settle, then plan) or unknown names.
    """
    if desired not in DESIRED_STATES:
        raise ValueError(f"unknown desired state {desired!r}; expected one of {', '.join(DESIRED_STATES)}")
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    if must_settle(status, desired):
        raise ValueError(f"status {status!r} is transitional: wait for it to settle before planning")
    try:
        operations = _GRACEFUL_PLANS[(desired, status)]
    except KeyError:
        raise PlanRefused(
            f"cannot reach state {desired!r}: {_REFUSALS[status]}"
        ) from None
    if not force:
        return operations
    forced: list[str] = []
    for operation in operations:
        forced.extend(_FORCED.get(operation, (operation,)))
    return tuple(forced)


def simulate(status: str, operations: tuple[str, ...]) -> str:
    """Apply ``operations`` to ``status`` through the allowed-operations table.

    Raises ``ValueError`` naming the first operation the table does not allow.
    """
    for operation in operations:
        if operation not in ALLOWED_OPERATIONS[status]:
            raise ValueError(f"operation {operation!r} is not allowed while {status!r}")
        status = RESULT_OF[operation]
    return status


def is_satisfied(status: str, desired: str) -> bool:
    """True when a container in ``status`` already is in the ``desired`` state (restarted never is)."""
    return desired != "restarted" and TARGET_STATUS[desired] == status
