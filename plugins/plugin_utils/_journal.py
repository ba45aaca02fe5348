# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The journal of the workflow roles (``maintenance_window``, ``blue_green``): what a run is doing to each
container, kept on the controller so that a rerun after any interruption (Ctrl-C, SIGTERM, an engine or a
controller crash) finishes what the interrupted run started, and so that two runs never work on one
container at once.

One JSON file per container the run is working on, ``<directory>/<container id>.json`` (an id is unique
across engines, so one directory serves every engine and every host). An entry says which workflow and which
window (``window``) holds the container, the step it is at (written *before* the step's action, so an
interruption between two steps is always seen), what the step needs to resume (``data``) and who holds it
(``owner``: pid and host of the ``ansible-playbook`` process, since when). It is removed when the container's
part of the run is over (done, or rolled back).

The I/O is at the bottom (``read``, ``write``, ``remove``): atomic writes (a temporary file in the same
directory, fsync, rename), nothing else. What a rerun does with an entry is decided by the pure functions
above it, unit-tested over every step and every observed status.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import hashlib
import json
import os
import re
import socket
import tempfile
from typing import Any, Callable, Optional

JournalEntry = dict[str, Any]

DEFAULT_DIRECTORY = "~/.ansible/containerops/journal"

# How a rerun treats a container the journal says a run was working on (``resume_action``):
FRESH = "fresh"  # nothing was touched yet (the entry was written before the snapshot): plan it as usual
FINISH = "finish"  # it was stopped, reconfigured, started or rolled back: take it through the window again
FORGET = "forget"  # the container is gone: the entry has nothing left to finish
KEEP = "keep"  # its status could not be read: leave the entry for the next run

# Steps before which nothing of the container has changed (the run only claimed it, or snapshots it).
UNTOUCHED_STEPS = ("planned", "snapshot")

# Who holds an entry (``holder``): this run, a run that is no more (its pid is gone), another live run, or a
# run on another host (its pid cannot be checked there: it counts as live).
OURS = "ours"
STALE = "stale"
LIVE = "live"


# ---------------------------------------------------------------- decisions


def window_id(explicit: Optional[str], inputs: Any) -> str:
    """A window's identity: ``explicit`` when given, else a digest of the inputs that define the window (the
    containers and filters given, the settings, the host the modules run on), so that rerunning the same
    window finds its journal."""
    if explicit:
        return str(explicit)
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
    return f"auto-{digest[:16]}"


def holder(entry: JournalEntry, me: dict, pid_alive: bool) -> str:
    """Who holds ``entry`` seen from the run ``me`` (``{pid, host}``); ``pid_alive``: whether the entry's pid
    runs on this host (only meaningful when the entry's host is this one)."""
    owner = entry.get("owner") or {}
    if owner.get("host") != me.get("host"):
        return LIVE
    if owner.get("pid") == me.get("pid"):
        return OURS
    return LIVE if pid_alive else STALE


def busy_message(name: str, entry: JournalEntry) -> str:
    """The refusal for a container that another live run is working on."""
    owner = entry.get("owner") or {}
    what = "blue-green switch" if entry.get("workflow") == "blue_green" else "maintenance window"
    return (f"another {what} is working on {name} (window {entry.get('window')}, at step {entry.get('step')}, "
            f"pid {owner.get('pid')} on host {owner.get('host')}, since {owner.get('since')}); "
            "nothing was changed: wait for it to end, or, if that run is gone, remove "
            f"{entry.get('path') or 'its journal entry'}")


def takeover_warning(name: str, entry: JournalEntry) -> str:
    """The warning for an entry left by a run that is no more, taken over by this run."""
    owner = entry.get("owner") or {}
    return (f"{name}: taking over the journal entry of an interrupted run (window {entry.get('window')}, at "
            f"step {entry.get('step')}, pid {owner.get('pid')} on host {owner.get('host')}, since "
            f"{owner.get('since')}; that process is gone)")


def resume_action(step: Optional[str], status: Optional[str], readable: bool = True) -> str:
    """What a rerun does with a container the journal says a run was at ``step`` on, given the ``status`` it
    observes now (``readable``: whether the plan could read the container at all)."""
    if status == "absent":
        return FORGET
    if not readable:
        return KEEP
    if step in UNTOUCHED_STEPS:
        return FRESH
    return FINISH


def of_window(entries: list[JournalEntry], workflow: str, window: str) -> list[JournalEntry]:
    """The entries a run of ``workflow`` with identity ``window`` left."""
    return [entry for entry in entries if entry.get("workflow") == workflow and entry.get("window") == window]


def find(entries: list[JournalEntry], container_id: Optional[str], name: str, workflow: str,
         window: str) -> Optional[JournalEntry]:
    """The entry of a container: by its id (any workflow, any window), or else by its name within this window
    (a snapshot restore gives a container a new id)."""
    for entry in entries:
        if container_id and entry.get("id") == container_id:
            return entry
    return next((entry for entry in of_window(entries, workflow, window) if entry.get("name") == name), None)


def new_entry(workflow: str, window: str, name: str, container_id: str, step: str, data: dict, owner: dict,
              now: str) -> JournalEntry:
    """A journal entry: ``owner`` is ``{pid, host, since}``."""
    return {"workflow": workflow, "window": window, "name": name, "id": container_id, "step": step,
            "data": data, "owner": owner, "updated": now}


def left_message(name: str, entry: JournalEntry) -> str:
    """The refusal for a container an interrupted run of another workflow or window left mid-way."""
    owner = entry.get("owner") or {}
    what = "blue-green switch" if entry.get("workflow") == "blue_green" else "maintenance window"
    return (f"{name} was left at step {entry.get('step')} by an interrupted {what} (window {entry.get('window')}, "
            f"pid {owner.get('pid')} on host {owner.get('host')}, since {owner.get('since')}); nothing was changed: "
            f"run that {what} again to finish it, or remove {entry.get('path') or 'its journal entry'}")


SWITCH = "blue_green"
# Steps of a blue-green switch written to the journal: ``switch`` before green is started, ``rollback`` before
# the rollback; both containers carry the same step.
SWITCH_STEPS = ("switch", "rollback")


def switch_resume(entries: list[JournalEntry], containers: list[dict], window: str) -> dict:
    """What a blue-green run does given the journal (``entries``, each with its ``holder``) and its two
    containers (``[{name, id}]``): ``busy``, the refusals (another live run holds one; or an interrupted run
    of something else left one mid-way), and ``resumed_from``, the step an interrupted run of this switch had
    reached (``rollback`` wins: a rollback under way is finished, not turned into a switch again)."""
    busy, resumed = [], None
    for container in containers:
        found = find(entries, container.get("id"), container.get("name"), SWITCH, window)
        if found is None:
            continue
        if found.get("holder") == LIVE:
            busy.append(busy_message(container.get("name"), found))
        elif (found.get("workflow"), found.get("window")) != (SWITCH, window):
            busy.append(left_message(container.get("name"), found))
        elif resumed != "rollback":
            resumed = found.get("step")
    return {"busy": "; ".join(busy), "resumed_from": resumed}


def file_name(container_id: str) -> str:
    """The entry's file name: the id, with anything but letters, digits, ``-`` and ``_`` replaced."""
    if not container_id:
        raise ValueError("a journal entry needs the container's id")
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(container_id)) + ".json"


# ---------------------------------------------------------------- I/O


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def me(since: Optional[str] = None) -> dict:
    """This run: the ``ansible-playbook`` process (the parent of the worker process that runs filters and
    action plugins) and this host."""
    return {"pid": os.getppid(), "host": socket.gethostname(), "since": since or now()}


def pid_alive(pid: Any) -> bool:
    """Whether a process ``pid`` runs on this host."""
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError):
        return False
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def directory_of(directory: Optional[str]) -> str:
    return os.path.expanduser(directory or DEFAULT_DIRECTORY)


def read(directory: Optional[str]) -> list[JournalEntry]:
    """Every entry of the journal (an unreadable or half-written file is skipped: writes are atomic, so one
    only exists if something else wrote it), each with its ``path``."""
    path = directory_of(directory)
    entries = []
    with contextlib.suppress(FileNotFoundError):
        for name in sorted(os.listdir(path)):
            if not name.endswith(".json"):
                continue
            try:
                with open(os.path.join(path, name), encoding="utf-8") as handle:
                    entry = json.load(handle)
            except (OSError, ValueError):
                continue
            if isinstance(entry, dict):
                entries.append(dict(entry, path=os.path.join(path, name)))
    return entries


def write(directory: Optional[str], entry: JournalEntry, exclusive: bool = False) -> bool:
    """Write ``entry`` atomically (temporary file, fsync, rename, fsync of the directory). ``exclusive``: only
    if the container has no entry yet (a hard link, which fails on an existing file); False when it had."""
    path = directory_of(directory)
    os.makedirs(path, mode=0o700, exist_ok=True)
    target = os.path.join(path, file_name(entry["id"]))
    stored = {key: value for key, value in entry.items() if key != "path"}
    handle, temporary = tempfile.mkstemp(dir=path, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(stored, stream, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        if exclusive:
            try:
                os.link(temporary, target)
            except FileExistsError:
                return False
            finally:
                os.unlink(temporary)
        else:
            os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    return True


def remove(directory: Optional[str], container_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(directory_of(directory), file_name(container_id)))


def record(directory: Optional[str], workflow: str, window: str, step: str, records: list[dict],
           clear: list[str], warn: Callable[[str], None]) -> dict[str, str]:
    """Write an entry at ``step`` for each of ``records`` (``{name, id, data}``) and remove the entries of the
    ids in ``clear``, never touching an entry another live run holds. A new entry is created exclusively; an
    entry of a run that is gone is taken over (``warn`` says so). The containers another live run holds:
    ``{name: message}``."""
    me_now = me()
    existing = {entry.get("id"): entry for entry in read(directory)}
    busy = {}
    for wanted in records:
        found = existing.get(wanted["id"])
        if found is None:
            entry = new_entry(workflow, window, wanted["name"], wanted["id"], step, wanted["data"], me_now, now())
            if write(directory, entry, exclusive=True):
                continue
            found = next((seen for seen in read(directory) if seen.get("id") == wanted["id"]), {})
        held = holder(found, me_now, pid_alive((found.get("owner") or {}).get("pid")))
        if held == LIVE:
            busy[wanted["name"]] = busy_message(wanted["name"], found)
            continue
        if held == STALE:
            warn(takeover_warning(wanted["name"], found))
        owner = dict(me_now, since=(found.get("owner") or {}).get("since")) if held == OURS else me_now
        write(directory, new_entry(workflow, window, wanted["name"], wanted["id"], step, wanted["data"], owner, now()))
    for container_id in clear:
        found = existing.get(container_id)
        if found is not None and holder(found, me_now, pid_alive((found.get("owner") or {}).get("pid"))) != LIVE:
            remove(directory, container_id)
    return busy


def read_held(directory: Optional[str]) -> list[JournalEntry]:
    """Every entry of the journal, each with who holds it seen from this run (``holder``)."""
    me_now = me()
    return [dict(entry, holder=holder(entry, me_now, pid_alive((entry.get("owner") or {}).get("pid"))))
            for entry in read(directory)]
