# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance window's decisions as plain data and pure functions.

The role ``maintenance_window`` runs the steps (plan, snapshot, stop, configure, start, verify, roll back)
with the collection's modules; everything it decides between them lives here, behind the filters of
``plugins/filter/__maintenance_window.py``: which containers are the targets, which settings each gets, the
batches, and the per-container state, one entry per container, that becomes ``maintenance_window_summary``.

The state is a list of entries (``new_entry``), in the order the containers were given. Every ``record_*``
function takes the state and a registered task result and returns a new state; none changes its arguments
or talks to an engine, so the unit tests can cover every branch.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Optional

from ansible_collections.containerops.lifecycle.plugins.plugin_utils import _journal

Entry = dict[str, Any]
State = list[Entry]

# Values the role's argument spec cannot bound: name -> smallest value allowed.
MINIMUMS = {
    "maintenance_window_batch_size": 1,
    "maintenance_window_stop_timeout": 0,
    "maintenance_window_wait_timeout": 1,
    "maintenance_window_probe_retries": 1,
}

# The steps a container can fail at (its ``failed_step``), in the order they run.
STEPS = ("plan", "snapshot", "stop", "configure", "start", "verify", "probe")
# Failed at one of these, the container was touched: roll it back (start it again) ...
TOUCHED = ("stop", "configure", "start", "verify", "probe")
# ... and at one of these its settings may have changed: restore the snapshot, re-apply the previous settings.
RECONFIGURED = ("configure", "start", "verify", "probe")
# Failed at one of these, nothing was changed.
UNTOUCHED = ("plan", "snapshot")

# Outcomes (the summary's ``outcome``).
CHANGED = "changed"
UNCHANGED = "unchanged"
PLANNED = "planned"
ROLLED_BACK = "rolled_back"
FAILED = "failed"
NOT_ATTEMPTED = "not_attempted"

NO_HEALTH_CHECK = "it has no health check, and maintenance_window_healthy is true"
UNREVERTABLE = "container_config cannot unset a setting that had no value"


# ---------------------------------------------------------------- helpers


def merge(base: dict, update: dict) -> dict:
    """``base`` with ``update`` merged over it, dicts recursively, anything else replaced
    (Ansible's ``combine(recursive=true)``)."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _loop_item(result: dict) -> Any:
    """The loop item a result of a looped task was registered for."""
    return result.get(result.get("ansible_loop_var", "item"))


def _loop_results(registered: Optional[dict]) -> list[dict]:
    """The per-item results of a looped task, without the skipped ones."""
    return [result for result in (registered or {}).get("results") or [] if not result.get("skipped")]


def _results_by_container(registered: Optional[dict], entries: dict[str, dict]) -> list[tuple[str, dict]]:
    """``(name, result)`` of a task looped over container names, for the containers the window knows."""
    return [(_loop_item(result), result) for result in _loop_results(registered) if _loop_item(result) in entries]


def _by_name(entries: Optional[list]) -> dict[str, dict]:
    """Per-container entries of a module result (``containers``), by name; the first of a name wins."""
    found: dict[str, dict] = {}
    for entry in entries or []:
        found.setdefault(entry.get("name"), entry)
    return found


def _operations(entry: dict) -> list[str]:
    """The operations a container_state / container_config entry reports in ``actions``."""
    return [action.get("operation") for action in entry.get("actions") or []]


def _update(state: State, updates: dict[str, dict]) -> State:
    """The state with each ``{name: changes}`` merged (recursively) into that container's entry."""
    return [merge(entry, updates[entry["name"]]) if entry["name"] in updates else entry for entry in state]


def _entries(state: State) -> dict[str, Entry]:
    return {entry["name"]: entry for entry in state}


def _text(value: Any) -> str:
    """A value as a template renders it into text (null as empty)."""
    return "" if value is None else str(value)


def new_entry(name: str) -> Entry:
    """A container's summary entry before anything is known about it."""
    return {
        "name": name,
        "id": None,
        "outcome": NOT_ATTEMPTED,
        "changes": [],
        "before": None,
        "snapshot": None,
        "actions": [],
        "failed_step": None,
        "error": None,
        "rolled_back": False,
        "rollback_error": None,
        "status": None,
        "resumed_from": None,
    }


# ---------------------------------------------------------------- selecting and planning


def out_of_range(values: dict[str, Any]) -> list[str]:
    """One message per variable of ``MINIMUMS`` in ``values`` that is below its minimum (a value that is not
    a number counts as 0, as Jinja's ``int`` has it)."""
    messages = []
    for name, minimum in MINIMUMS.items():
        if name not in values:
            continue
        try:
            number = int(values[name])
        except (TypeError, ValueError):
            number = 0
        if number < minimum:
            messages.append(f"{name} must be {minimum} or more, got {_text(values[name])}")
    return messages


def targets(given: Any, selected: Optional[dict] = None, journaled: Optional[list[str]] = None) -> list[str]:
    """The containers the window works on: the names (or ids) given - a list, or a comma-separated string -
    then those a ``container_info`` result (``selected``) lists, then those the window's journal names
    (``journal_names``), each once, in that order."""
    names = [name.strip() for name in given.split(",")] if isinstance(given, str) else list(given or [])
    names += [entry.get("name") for entry in (selected or {}).get("containers") or []]
    names += list(journaled or [])
    return list(dict.fromkeys(names))


def settings_of(name: str, config: Optional[dict], config_by_container: Optional[dict]) -> dict:
    """The settings one container must get: the common ones with its own merged over them."""
    return merge(config or {}, (config_by_container or {}).get(name) or {})


def settings_groups(names: list[str], config: Optional[dict], config_by_container: Optional[dict]) -> list[dict]:
    """The containers grouped by the settings each must get, ``[{settings, names}]`` in the order the first
    container of each group comes, so that one ``container_config`` task serves a whole group."""
    groups: dict[str, dict] = {}
    for name in names:
        settings = settings_of(name, config, config_by_container)
        key = json.dumps(settings, sort_keys=True)
        groups.setdefault(key, {"settings": settings, "names": []})["names"].append(name)
    return list(groups.values())


def config_entries(registered: Optional[dict]) -> dict[str, dict]:
    """The per-container entries of a looped ``container_config`` task (one item per settings group), by the
    name the engine reports. The containers of an item that failed as a whole (no ``containers``) get its
    message as their error."""
    found: dict[str, dict] = {}
    for result in (registered or {}).get("results") or []:
        if result.get("skipped"):
            continue
        if "containers" in result:
            for entry in result.get("containers") or []:
                found[entry.get("name")] = entry
        else:
            for name in (_loop_item(result) or {}).get("names") or []:
                found[name] = {"name": name, "error": result.get("msg", "container_config failed")}
    return found


def _entry_for(given: str, entries: dict[str, dict]) -> dict:
    """The entry of a container given by name, or by id (or the start of one)."""
    if given in entries:
        return entries[given]
    for entry in entries.values():
        if entry.get("id") and str(entry["id"]).startswith(given):
            return entry
    return {"name": given, "error": "container_config reported nothing for it"}


def plan(names: list[str], registered: Optional[dict]) -> State:
    """The state after the plan (``container_config`` in check mode over ``settings_groups``): one entry per
    container, from here on known by the name the engine reports. A container with ``changes`` needs the
    window (``not_attempted`` until its batch runs), one without is ``unchanged``, one the plan could not
    read has ``failed`` at ``plan``."""
    entries = config_entries(registered)
    state: dict[str, Entry] = {}
    for given in names:
        found = _entry_for(given, entries)
        error = found.get("error")
        changes = [] if error is not None else list(found.get("changes") or [])
        entry = new_entry(found["name"])
        entry.update(
            id=found.get("id"),
            outcome=FAILED if error is not None else NOT_ATTEMPTED if changes else UNCHANGED,
            changes=changes,
            before=copy.deepcopy(found.get("before")),
            failed_step="plan" if error is not None else None,
            error=error,
            status=found.get("status"),
        )
        # The same container given twice (by name and by id): the later plan, at the first place.
        state[entry["name"]] = entry
    return list(state.values())


# ---------------------------------------------------------------- the journal (see _journal.py)

WORKFLOW = "maintenance_window"
# Steps written to the journal before the step's action: ``planned`` (the container is claimed), then the
# steps of the batch.
JOURNAL_STEPS = ("planned", "snapshot", "stop", "configure", "start", "verify", "rollback")


def journal_names(entries: list[dict], window: str) -> list[str]:
    """The containers the journal says this window was working on: a rerun works on them even where the
    filters no longer select them (a stopped container no longer matches ``status: [running]``)."""
    return [entry.get("name") for entry in _journal.of_window(entries, WORKFLOW, window)]


def resume(state: State, entries: list[dict], window: str) -> State:
    """The state after the plan, with what the journal (``entries``, each with its ``holder``) says of each
    container: one another live run works on, or an interrupted blue-green switch left, fails at ``plan``
    (nothing is touched); one an interrupted maintenance window (this one, or another) had touched
    (``_journal.resume_action``: FINISH) goes through the window again, even where its settings already
    match, with the changes and the ``before`` and snapshot of the interrupted run, and ``resumed_from`` its
    step."""
    resumed = []
    for entry in state:
        found = _journal.find(entries, entry["id"], entry["name"], WORKFLOW, window)
        entry = copy.deepcopy(entry)
        if found is not None and found.get("holder") == _journal.LIVE:
            entry.update(outcome=FAILED, failed_step="plan", error=_journal.busy_message(entry["name"], found))
        elif found is not None and found.get("workflow") != WORKFLOW:
            entry.update(outcome=FAILED, failed_step="plan", error=_journal.left_message(entry["name"], found))
        elif found is not None and _journal.resume_action(
                found.get("step"), entry["status"], entry["failed_step"] != "plan") == _journal.FINISH:
            data = found.get("data") or {}
            entry.update(outcome=NOT_ATTEMPTED, resumed_from=found.get("step"),
                         changes=list(dict.fromkeys([*(data.get("changes") or []), *entry["changes"]])),
                         before=copy.deepcopy(data.get("before", entry["before"])), snapshot=data.get("snapshot"))
        resumed.append(entry)
    return resumed


def _finished(entry: Entry) -> bool:
    """Whether a container's part of the window is over, so its journal entry goes: done, rolled back, nothing
    to do, gone, failed at its snapshot (nothing touched yet), or never attempted (a batch before it failed)
    and not left by an interrupted run. A container that failed after it was touched (not rolled back) keeps
    its entry for the next run to finish; so does one the plan could not read (the engine did not answer)."""
    if entry["outcome"] in (CHANGED, ROLLED_BACK, UNCHANGED) or entry["status"] == "absent":
        return True
    if entry["outcome"] == NOT_ATTEMPTED:
        return entry["resumed_from"] is None and entry["failed_step"] is None
    return entry["failed_step"] == "snapshot"


def journal_changes(state: State, step: str, names: Optional[list[str]] = None) -> dict[str, list[dict]]:
    """What to write to the journal: before ``step`` (``JOURNAL_STEPS``), an entry (``{name, id, step, data}``)
    for each container of ``names`` (every container when not given) that has an id, is in the window (not
    settled yet) and has not failed (at ``rollback``: the failed ones); at ``clear``, the containers of
    ``names`` whose part is over (``{name, id}``). ``planned`` also clears the containers that need nothing."""
    if step not in (*JOURNAL_STEPS, "clear"):
        raise ValueError(f"unknown journal step {step!r}; expected one of {', '.join((*JOURNAL_STEPS, 'clear'))}")
    chosen = [entry for entry in state if names is None or entry["name"] in names]
    write, clear = [], []
    for entry in chosen:
        if not entry["id"]:
            continue
        if step == "clear" or (step == "planned" and entry["outcome"] != NOT_ATTEMPTED):
            if _finished(entry):
                clear.append({"name": entry["name"], "id": entry["id"]})
        elif entry["outcome"] == NOT_ATTEMPTED and (entry["failed_step"] is not None) == (step == "rollback"):
            data = {key: copy.deepcopy(entry[key]) for key in ("changes", "before", "snapshot", "failed_step")}
            write.append({"name": entry["name"], "id": entry["id"], "step": step, "data": data})
    return {"write": write, "clear": clear}


def record_busy(state: State, busy: dict[str, str]) -> State:
    """The containers another run claimed first (``{name: message}``) fail at ``plan``."""
    return [dict(entry, outcome=FAILED, failed_step="plan", error=busy[entry["name"]])
            if entry["name"] in busy else entry for entry in state]


def record_health_checks(state: State, registered: Optional[dict]) -> State:
    """Refuse, before anything is stopped, the containers without a health check when verification needs
    one: a running container with a health check always reports a health status (a stopped one may not)."""
    updates = {
        seen["name"]: {"outcome": FAILED, "failed_step": "plan", "error": NO_HEALTH_CHECK}
        for seen in (registered or {}).get("containers") or []
        if seen.get("status") == "running" and "health" in seen and seen["health"] is None
    }
    return _update(state, updates)


def pending(state: State) -> list[str]:
    """The containers that need the window and have not been through it."""
    return [entry["name"] for entry in state if entry["outcome"] == NOT_ATTEMPTED]


def batches(state: State, size: int) -> list[list[str]]:
    """The pending containers in batches of ``size``. Nothing is attempted once any container has failed
    (at plan, nothing at all)."""
    size = int(size)
    if size < 1:
        raise ValueError(f"the batch size must be 1 or more, got {size}")
    names = pending(state)
    return [names[start:start + size] for start in range(0, len(names), size)]


def may_run(batch: list[str], state: State) -> bool:
    """Whether a batch may run: no container outside it has failed (at plan, or in an earlier batch). It stays
    true while the batch's own containers fail, so the batch finishes (rollback, outcomes) once started."""
    return not any(entry["failed_step"] is not None for entry in state if entry["name"] not in batch)


def alive(batch: list[str], state: State) -> list[str]:
    """The containers of the batch that have not failed (yet): the next step works on these."""
    entries = _entries(state)
    return [name for name in batch if name in entries and entries[name]["failed_step"] is None]


# ---------------------------------------------------------------- recording the steps


def record_snapshots(state: State, registered: Optional[dict], alias: str) -> State:
    """Record a looped ``container_snapshot`` task (one item per container)."""
    entries = _entries(state)
    updates = {}
    for name, result in _results_by_container(registered, entries):
        if result.get("failed"):
            updates[name] = {"failed_step": "snapshot", "error": result.get("msg", "snapshot failed")}
        else:
            updates[name] = {"snapshot": alias, "actions": [*entries[name]["actions"], "snapshot"]}
    return _update(state, updates)


def record_operations(state: State, step: str, registered: Optional[dict], names: list[str]) -> State:
    """Record a ``container_state`` task (``step``: ``stop`` or ``start``) over ``names``: the operations it
    performed, the status, and the error of a container that failed. A task that failed as a whole (no
    entry for a container) fails every container it was given. A skipped task changes nothing."""
    if not registered or registered.get("skipped"):
        return state
    entries = _entries(state)
    reported = _by_name(registered.get("containers"))
    updates = {}
    for name in names:
        if name not in entries:
            continue
        found = reported.get(name, {"error": registered.get("msg", "no result")})
        update = {"actions": entries[name]["actions"] + _operations(found),
                  "status": found.get("status", entries[name]["status"])}
        if found.get("error") is not None:
            update.update(failed_step=step, error=found["error"])
        updates[name] = update
    return _update(state, updates)


def record_configure(state: State, registered: Optional[dict], names: list[str]) -> State:
    """Record the looped ``container_config`` task that applied the settings (one item per settings group)."""
    entries = _entries(state)
    reported = config_entries(registered)
    updates = {}
    for name in names:
        if name not in entries:
            continue
        found = reported.get(name, {"error": "container_config reported nothing for it"})
        if found.get("error") is None:
            resumed = entries[name]["resumed_from"] is not None
            updates[name] = {
                # A resumed container may already have the settings: what it had before is in the journal.
                "before": entries[name]["before"] if resumed else found.get("before") or entries[name]["before"],
                "changes": list(dict.fromkeys([*(entries[name]["changes"] if resumed else []),
                                               *(found.get("changes") or [])])),
                "actions": [*entries[name]["actions"], "configure", *_operations(found)],
            }
        else:
            updates[name] = {"failed_step": "configure", "error": found["error"],
                             "actions": [*entries[name]["actions"], "configure"]}
    return _update(state, updates)


def address(seen: Optional[dict], network: str = "") -> str:
    """A container's IP address (``container_info`` with ``runtime``) on ``network``, or on its first network
    that has one; empty when it has none."""
    networks = ((seen or {}).get("runtime") or {}).get("networks") or {}
    if network:
        return (networks.get(network) or {}).get("ip_address") or ""
    return next((net.get("ip_address") for net in networks.values() if (net or {}).get("ip_address")), "")


def probe_url(name: str, info: Optional[dict], url: str, network: str = "") -> str:
    """The probe URL of a container: ``{name}`` its name, ``{ip}`` its address (see ``address``)."""
    seen = _by_name((info or {}).get("containers")).get(name)
    return url.replace("{name}", name).replace("{ip}", address(seen, network))


def record_verify(state: State, info: Optional[dict], names: list[str], healthy: bool = False,
                  probe: bool = False, url: str = "", network: str = "") -> State:
    """Record what ``container_info`` (with ``runtime`` when probing) shows of ``names`` after the start:
    a container not running (or not healthy when ``healthy``) failed at ``verify``; one that runs but has no
    address for the ``{ip}`` of the probe URL failed at ``probe``."""
    info = info or {}
    entries = _entries(state)
    reported = _by_name(info.get("containers"))
    updates = {}
    for name in names:
        if name not in entries:
            continue
        seen = reported.get(name, {})
        if info.get("failed") or seen.get("status") != "running" or (healthy and seen.get("health") != "healthy"):
            error = info["msg"] if "msg" in info else (
                f"status {_text(seen.get('status', 'unknown'))}, health {_text(seen.get('health', 'none'))}")
            updates[name] = {"failed_step": "verify", "status": seen.get("status"), "error": error}
        elif probe and "{ip}" in url and not address(seen, network):
            where = f"on network {network}" if network else "on any network"
            updates[name] = {"failed_step": "probe", "error": (
                f"no IP address {where} for the probe URL {url} (container_info reports none): "
                "set maintenance_window_probe_url to an explicit URL")}
    return _update(state, updates)


def record_probes(state: State, registered: Optional[dict], status_code: list[int], contains: str = "") -> State:
    """Record a looped ``ansible.builtin.uri`` task (one item per container, ``until`` it passes): a probe that
    failed, or whose body lacks ``contains``, fails its container at ``probe``."""
    entries = _entries(state)
    updates = {}
    for name, result in _results_by_container(registered, entries):
        actions = [*entries[name]["actions"], "probe"]
        if result.get("failed") or (contains and contains not in _text(result.get("content", ""))):
            if result.get("status", -1) in status_code:
                why = f"status {_text(result.get('status'))} but the body does not contain {json.dumps(contains)}"
            else:
                why = _text(result.get("msg", "failed"))
            error = (f"probe of {_text(result.get('url', '?'))} failed after "
                     f"{_text(result.get('attempts', 1))} attempt(s): {why}")
            updates[name] = {"failed_step": "probe", "actions": actions, "error": error}
        elif entries[name]["failed_step"] is None:
            updates[name] = {"actions": actions}
    return _update(state, updates)


# ---------------------------------------------------------------- rolling back


def rollback_plan(state: State, batch: list[str]) -> dict[str, list[str]]:
    """What rolling back the batch's failed containers takes: ``restore`` (the snapshot of each container
    whose settings may have changed and that has one), ``reconfigure`` (the previous settings of each whose
    settings may have changed) and ``start`` (every container that was touched: a failed snapshot touched
    nothing)."""
    entries = _entries(state)
    failed = [entries[name] for name in batch if name in entries and entries[name]["failed_step"] in TOUCHED]
    reverted = [entry for entry in failed if entry["failed_step"] in RECONFIGURED]
    return {
        "restore": [entry["name"] for entry in reverted if entry["snapshot"]],
        "reconfigure": [entry["name"] for entry in reverted],
        "start": [entry["name"] for entry in failed],
    }


def _setting(settings: Optional[dict], path: str) -> Any:
    """One setting (``autostart``, ``resources.memory``, ``environment_vars.X``) of nested settings."""
    head, _dot, tail = path.partition(".")
    value = (settings or {}).get(head)
    return (value or {}).get(tail) if tail else value


def previous_settings(name: str, state: State) -> dict:
    """The ``container_config`` settings that put back what the window changed on a container: each changed
    setting as it was before (a variable that had no value is removed: null). Settings the window did not
    change are left out."""
    entry = _entries(state)[name]
    before = entry["before"] or {}
    changes = entry["changes"] or []
    settings: dict[str, Any] = {}
    if "autostart" in changes and before.get("autostart") is not None:
        settings["autostart"] = before["autostart"]
    if any(change.startswith("resources.") for change in changes):
        settings["resources"] = {key: _setting(before, f"resources.{key}") if f"resources.{key}" in changes else None
                                 for key in ("memory", "cpus")}
    environment = {change[len("environment_vars."):]: _setting(before, change)
                   for change in changes if change.startswith("environment_vars.")}
    if environment:
        settings["environment_vars"] = environment
    return settings


def _result_for(registered: Optional[dict], name: str) -> Optional[dict]:
    """The item of a looped task registered for container ``name``, or None."""
    return next((result for result in _loop_results(registered) if _loop_item(result) == name), None)


def record_rollback(state: State, names: list[str], restored: Optional[dict], reconfigured: Optional[dict],
                    started: Optional[dict]) -> State:
    """Record the rollback of ``names`` (``rollback_plan``'s ``start``): the looped ``container_snapshot``
    restore, the looped ``container_config`` re-apply of ``previous_settings`` and the ``container_state``
    start. The rollback is complete when each step that ran passed and every changed setting is what it was
    before the window; otherwise ``rollback_error`` says what is not."""
    entries = _entries(state)
    reported = _by_name((started or {}).get("containers"))
    updates = {}
    for name in names:
        if name not in entries:
            continue
        entry = entries[name]
        restore = _result_for(restored, name)
        reapply = _result_for(reconfigured, name)
        again = reported.get(name, {"error": (started or {}).get("msg", "start failed")})
        problems = []
        if restore is not None and restore.get("failed"):
            problems.append(f"restore: {_text(restore.get('msg', 'failed'))}")
        if reapply is not None and reapply.get("failed"):
            problems.append(f"re-applying the previous settings: {_text(reapply.get('msg', 'failed'))}")
        # Only where the re-apply answered: a failed one is reported as such.
        after = (reapply or {}).get("config") or {}
        unreverted = [change for change in entry["changes"] or []
                      if after and _setting(after, change) != _setting(entry["before"], change)]
        if unreverted:
            problems.append(f"still not as before the window: {', '.join(unreverted)} ({UNREVERTABLE})")
        if again.get("error") is not None:
            problems.append(f"start: {_text(again['error'])}")
        actions = list(entry["actions"])
        if restore is not None:
            actions.append("restore")
        if reapply is not None and reapply.get("changed"):
            actions.append("reconfigure")
        updates[name] = {
            "rolled_back": not problems,
            "rollback_error": "; ".join(problems) if problems else None,
            "status": again.get("status", entry["status"]),
            "actions": actions + _operations(again),
        }
    return _update(state, updates)


def settle(state: State, batch: list[str], check_mode: bool = False) -> State:
    """The outcome of each container of a batch that ran: ``changed`` (``planned`` in check mode),
    ``rolled_back`` or ``failed``."""
    entries = _entries(state)
    updates = {}
    for name in batch:
        if name not in entries:
            continue
        entry = entries[name]
        if entry["failed_step"] is None:
            outcome = PLANNED if check_mode else CHANGED
        else:
            outcome = ROLLED_BACK if entry["rolled_back"] else FAILED
        updates[name] = {"outcome": outcome}
    return _update(state, updates)


# The steps ``record`` records.
RECORDED_STEPS = ("health", "snapshot", "stop", "configure", "start", "verify", "probe", "rollback", "outcome")


def record(state: State, step: str, result: Optional[dict] = None, names: Optional[list[str]] = None,
           alias: Optional[str] = None, healthy: bool = False, probe: bool = False, probe_url: str = "",
           probe_network: str = "", probe_status_code: Optional[list[int]] = None, probe_contains: str = "",
           check_mode: bool = False) -> State:
    """Record one step of the window into the state (the role's ``window_record`` filter):

    - ``health``: ``container_info`` of the pending containers (``record_health_checks``);
    - ``snapshot``: the looped ``container_snapshot`` (``record_snapshots``, ``alias``);
    - ``stop``, ``start``: ``container_state`` over ``names`` (``record_operations``);
    - ``configure``: the looped ``container_config`` over ``names`` (``record_configure``);
    - ``verify``: ``container_info`` of ``names`` (``record_verify``, ``healthy``, ``probe``, ``probe_url``,
      ``probe_network``);
    - ``probe``: the looped ``ansible.builtin.uri`` (``record_probes``, ``probe_status_code``, ``probe_contains``);
    - ``rollback``: ``{restore, reconfigure, start}`` results for ``names`` (``record_rollback``);
    - ``outcome``: the outcome of the containers of the batch ``names`` (``settle``, ``check_mode``).
    """
    names = list(names or [])
    if step == "health":
        return record_health_checks(state, result)
    if step == "snapshot":
        return record_snapshots(state, result, alias or "")
    if step in ("stop", "start"):
        return record_operations(state, step, result, names)
    if step == "configure":
        return record_configure(state, result, names)
    if step == "verify":
        return record_verify(state, result, names, healthy, probe, probe_url, probe_network)
    if step == "probe":
        return record_probes(state, result, list(probe_status_code or [200]), probe_contains)
    if step == "rollback":
        result = result or {}
        return record_rollback(state, names, result.get("restore"), result.get("reconfigure"), result.get("start"))
    if step == "outcome":
        return settle(state, names, check_mode)
    raise ValueError(f"unknown step {step!r}; expected one of {', '.join(RECORDED_STEPS)}")


# ---------------------------------------------------------------- the report


def _fate(entry: Entry) -> str:
    if entry["failed_step"] in UNTOUCHED:
        return "nothing changed"
    if entry["rolled_back"]:
        return "rolled back"
    if entry["rollback_error"]:
        return f"rollback incomplete: {entry['rollback_error']}"
    return "not rolled back"


def report(summary: State) -> str:
    """The role's failure message: a count, one sentence per failed container (where it failed, why, whether
    it was rolled back, the status it was left in), the containers not attempted. Empty when none failed."""
    failed = [entry for entry in summary if entry["outcome"] in (FAILED, ROLLED_BACK)]
    if not failed:
        return ""
    skipped = [entry["name"] for entry in summary if entry["outcome"] == NOT_ATTEMPTED]
    text = (f"maintenance window failed: {len(failed)} of {len(summary)} container(s) failed "
            f"({sum(1 for entry in failed if entry['rolled_back'])} rolled back)")
    text += f", {len(skipped)} not attempted. " if skipped else ". "
    for entry in failed:
        left = f", left {entry['status']}" if entry["status"] else ""
        text += (f" {entry['name']}: failed at {_text(entry['failed_step'])}: {_text(entry['error'])}; "
                 f"{_fate(entry)}{left}. ")
    return text + " " + (f"Not attempted: {', '.join(skipped)}." if skipped else "")
