# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event source ``containerops.lifecycle.container_events``: one event per lifecycle transition.

The engine's own event feed (its backend's ``events``, an ``_events.EventFeed``) reads the transitions: Docker's
event stream, Hoody's status logs, Dockhand's activity log; Docker's and Dockhand's events are folded into
transitions by the same rules as ``container_status_logs`` (``module_utils/_docker_events.py``), so an event names
the operation that caused the transition:

- ``stop``: the engine was asked to stop it (``docker stop``, the modules, Dockhand's stop: a SIGTERM
  through the engine, then die and stop); ``force-stop``: the engine was asked to SIGKILL it (``docker kill``,
  ``force: true``); ``restart``: ``docker restart`` (stop and start folded into one running -> running event).
- ``exit``: the process ended and nobody asked the engine for it (a crash, ``kill -9`` of the process from the
  host, ``exit 0`` of its own); ``exit_code`` says how. ``oom``: the kernel's OOM killer ended it.
- ``start``, ``pause``, ``resume``, ``create``, ``delete`` as the engine reports them.
- ``health``: a health check's verdict changed (``health``: ``healthy`` or ``unhealthy``), where the engine
  reports it.
- ``engine-stop``: the engine itself stopped it as it restarted (told once the source is back: the engine's
  events of it are gone; ``_events.missed_operation`` is the rule).

A stop or a start is emitted once the engine's report of it is complete: a ``restart`` may still fold it, so it
waits up to ``SETTLE`` seconds for one. An ``exit`` or ``oom`` is complete when it comes and is emitted at once.

This file is the plumbing: it checks the arguments, runs the feed's blocking calls in a thread, reconnects with
backoff when the engine goes away (the feed resumes from the last event seen, nothing emitted twice), filters and
shapes the events (``_events.py``) and keeps the feed's position in ``cursor_file`` (``_position.py``), written
after every emission: a source started again resumes from there and emits what happened while it was away, once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from typing import Any, Callable, Optional

DOCUMENTATION = r"""
---
short_description: Lifecycle transitions of Docker, Podman, Hoody or Dockhand containers as events.
description:
  - "One event per transition, C({\"containerops\": {engine, id, name, from_status, to_status, operation,
    transition_time, duration_ms, exit_code, health, triggered_by, record_id, labels, connection}}), with the
    collection's canonical statuses and operation names."
  - A health check's change is an event too (Docker, Podman, Dockhand), with C(operation=health), C(health=healthy) or
    C(health=unhealthy), running to running.
  - Docker and Podman follow the engine's event stream; Hoody polls each container's status logs and Dockhand polls
    the environment's activity log, every O(poll_interval) seconds, less often while nothing happens.
  - When the engine goes away it reconnects with exponential backoff and resumes from the last event seen,
    without duplicates.
  - When the engine restarted meanwhile (Docker, when it no longer holds the last event seen), it reconciles instead
    from a listing, once - a container it knew running and finds down is C(engine-stop) (exit code 143 or 137),
    C(oom) or C(exit) (any other); one whose requested stop began within 15 s before the engine was lost and that
    is still down is C(engine-stop) (the engine's shutdown); a user's earlier stop is left alone.
options:
  backend:
    description: C(docker), C(podman), C(hoody) or C(dockhand); and every other connection option of the modules
      (C(docker_host), C(podman_host), C(tls), C(api_url), C(api_token), ...), with the same environment fallbacks.
    default: docker
  filters:
    description:
      - The modules' target filters; without them, every container of the engine.
      - C(label) (Docker, Dockhand), C(project), C(name) (a glob) select containers; C(status) keeps the
        transitions whose C(to_status) is one of the statuses given.
    type: dict
  poll_interval:
    description: Hoody and Dockhand, seconds between polls while transitions come; up to 8 times as long
      (at most 60 s) while none do.
    type: float
    default: 2.0
  cursor_file:
    description:
      - A file where the source keeps its position in the engine's history (written after every emission,
        atomically; its directory is created). Started again, the source resumes from it and emits what happened
        while it was away, once (Docker as far back as the engine's event buffer reaches).
      - Without it the source starts from the present. A file kept for another engine, or unreadable, is warned
        about and the source starts from the present (and keeps its position there from then on).
    type: path
"""

EXAMPLES = r"""
- name: Crashed containers
  hosts: all
  sources:
    - containerops.lifecycle.container_events:
        filters:
          label: [containerops.autoheal=true]
  rules:
    - name: A container crashed
      condition: event.containerops.operation in ["exit", "oom"]
      action:
        print_event:
"""


def _put_collection_on_path() -> None:
    """ansible-rulebook runs this file with ``runpy`` from an installed collection, outside any package:
    put that collection tree first on ``sys.path`` so ``module_utils`` come from the same copy as this file."""
    tree = os.path.abspath(__file__)
    for _ in range(7):  # event_source, plugins, eda, extensions, lifecycle, containerops, ansible_collections
        tree = os.path.dirname(tree)
    if os.path.basename(tree) == "ansible_collections":
        root = os.path.dirname(tree)
        if root not in sys.path:
            sys.path.insert(0, root)


_put_collection_on_path()

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402

from ansible_collections.containerops.lifecycle.plugins.module_utils import (  # noqa: E402
    _module,
    _position,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import refusal  # noqa: E402
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import (  # noqa: E402
    Connection,
    check_bounds,
    mask,
    secrets_in,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (  # noqa: E402
    BadInput,
    ContainerOpsError,
    Unsupported,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._events import (  # noqa: E402
    HEARTBEAT_S,
    EventFeed,
    Timing,
    Transition,
    event_of,
    iso,
    wanted,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import backoff_delay  # noqa: E402
from ansible_collections.containerops.lifecycle.plugins.module_utils._text import safe_text  # noqa: E402
from ansible_collections.containerops.lifecycle.plugins.module_utils._unreachable import why_unreachable  # noqa: E402

logger = logging.getLogger("containerops.lifecycle.container_events")

#: First and longest wait before reconnecting.
RECONNECT_BASE_S = 0.5
RECONNECT_MAX_S = 30.0

SOURCE_SPEC: dict[str, dict[str, Any]] = dict(
    _module.CONNECTION_SPEC,
    filters={"type": "dict"},
    poll_interval={"type": "float", "default": 2.0},
    cursor_file={"type": "path"},
)
#: What the cursor file keeps of each container's last event (the autoheal playbook heals from it).
LAST_EVENT_KEYS = ("name", "engine", "to_status", "operation", "health", "exit_code", "transition_time")
# Arguments ansible-rulebook itself adds to every source's.
RULEBOOK_ARGS = ("eda_feedback_queue",)


# ---------------------------------------------------------------------------------------------
# options


class Options:
    """The source's arguments, checked: its ``link`` to the engine (``_connection.Connection``: its secrets, its
    public view, how messages name it), ``filters``, ``poll_interval``, ``cursor_file``; ``params`` as given."""

    def __init__(self, link: Connection, params: dict[str, Any], filters: dict[str, Any]) -> None:
        self.link = link
        self.params = params
        self.filters = filters
        self.secrets = link.secrets
        self.backend = link.backend
        self.poll_interval: float = params["poll_interval"]
        self.cursor_file: Optional[str] = params.get("cursor_file") or None

    def secret_found(self, value: str) -> None:
        """``connect`` reports each secret it reads from the environment here."""
        if value:
            self.secrets.add(value)

    def mask(self, text: Any) -> str:
        """``text`` with every known secret replaced."""
        return self.link.mask(text)

    def connection(self) -> dict[str, Any]:
        """The connection without secrets (``Connection.public``): what a playbook needs to reach the engine."""
        return self.link.public()

    def engine_key(self) -> str:
        """Which engine this is, as a cursor file records it: its address, not its timeouts."""
        return json.dumps(self.link.identity(), sort_keys=True)

    def where(self) -> str:
        """The engine, for log messages."""
        return self.link.where()


def parse_options(args: dict[str, Any]) -> Options:
    """Check the source's arguments as the modules check theirs; ``BadInput`` names what is wrong."""
    given = {key: value for key, value in (args or {}).items() if key not in RULEBOOK_ARGS}
    result = ArgumentSpecValidator(SOURCE_SPEC).validate(given)
    if result.error_messages:  # the secrets given are masked: the messages may echo the arguments
        secrets = secrets_in(given, SOURCE_SPEC)
        raise BadInput(mask("container_events: " + "; ".join(result.error_messages), secrets))
    params = result.validated_parameters
    try:
        link = _module.connection_of(params, given)
        link.check()
        check_bounds(params, {"poll_interval": _module.BOUNDS["poll_interval"]})
        filters = params["filters"]
        if filters is not None:
            filters = _module.validated_filters(filters, link.backend_class)
    except BadInput as exc:
        raise BadInput(f"container_events: {exc}") from None
    missing = _module.missing_library(link.backend)
    if missing:
        raise BadInput(f"container_events: backend {link.backend} needs the Python library {missing[0]}: "
                       f"{missing[1]}")  # fmt: skip
    return Options(link, params, filters or {})


# ---------------------------------------------------------------------------------------------
# the source


def said(exc: BaseException) -> str:
    """Why following the engine stopped: our own message for a translated error, else why the engine could not
    be reached (``why_unreachable``), never a library's raw text."""
    return str(exc) if isinstance(exc, ContainerOpsError) else why_unreachable(exc)


class Source:
    """Runs the engine's event feed in a thread and puts its events in ansible-rulebook's queue."""

    def __init__(
        self,
        options: Options,
        queue: Any,
        connect: Callable[..., Any] = _module.connect,
        reconnect_base: float = RECONNECT_BASE_S,
        **timing: Any,
    ) -> None:
        feed_class = _module.BACKEND_CLASSES[options.backend].events
        if feed_class is None:
            why = refusal(options.backend, "follow its containers' events", "it has no feed of them")
            raise Unsupported(f"container_events: {why}")
        self.options = options
        self.queue = queue
        self.reconnect_base = reconnect_base
        self.failures = 0
        self.announced = False
        self.resume_told = False
        self.connection = options.connection()
        self._cursor_problem = ""
        settings = {
            "poll_interval": options.poll_interval,
            "heartbeat": min(HEARTBEAT_S, max(float(options.params["timeout"]), 1.0)),
            **timing,
        }
        self.feed: EventFeed = feed_class(
            lambda: connect(options.params, options.secret_found),
            options.filters,
            self.stored_position(feed_class.well_formed),
            Timing(**settings),
        )
        self.run_id = time.time_ns()  # this run of the source, as the cursor file says (the autoheal playbook reads it)
        self.containers: dict[str, dict[str, Any]] = self.stored_containers()
        self.kept = self.cursor_text(self.feed.position())

    async def run(self) -> None:
        """Follow the engine until cancelled, reconnecting whenever it goes away."""
        try:
            while True:
                reason = await self._follow()
                await self._pause(self.lost(reason))
        finally:
            self.feed.close()

    async def _follow(self) -> str:
        """Connect and read until the engine is lost; why it was."""
        try:
            self.connected(await asyncio.to_thread(self.feed.open))
            while True:
                await self.emit(await asyncio.to_thread(self.feed.read))
        except BadInput:
            raise
        except self.feed.lost as exc:
            return said(exc)

    async def _pause(self, seconds: float) -> None:
        """Wait before reconnecting; what the feed held back still comes out when due."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            await self.emit(await asyncio.to_thread(self.feed.wait, until - time.monotonic()))

    async def emit(self, transitions: list[Transition]) -> None:
        """Put the events the filters want in the queue, then keep the feed's position."""
        self._tell_resume()
        for transition in transitions:
            event = event_of(transition, self.options.backend, self.connection)
            if wanted(event, self.options.filters):
                await self.queue.put(event)
                self.remember(event["containerops"])
        self.keep_position(self.feed.position())

    def remember(self, fields: dict[str, Any]) -> None:
        """Keep a container's last event for the cursor file (a deleted one is forgotten)."""
        if fields["to_status"] in ("absent", "deleted"):
            self.containers.pop(fields["id"], None)
        else:
            self.containers[fields["id"]] = {key: fields[key] for key in LAST_EVENT_KEYS}

    def lost(self, reason: Any) -> float:
        """Log why the engine was lost and return how long to wait before trying again."""
        self.failures += 1
        delay = min(backoff_delay(self.failures, self.reconnect_base), RECONNECT_MAX_S)
        logger.warning(
            "containerops.lifecycle.container_events: %s: %s; trying again in %.1fs (attempt %d)",
            safe_text(self.options.where()), safe_text(self.options.mask(reason)), delay, self.failures,
        )  # fmt: skip
        return delay

    def connected(self, what: str) -> None:
        """Log the first connection and every recovery, once each."""
        if self.failures:
            logger.warning(
                "containerops.lifecycle.container_events: %s again, %s", what, safe_text(self.options.where())
            )
        elif not self.announced:
            logger.info("containerops.lifecycle.container_events: %s, %s", what, safe_text(self.options.where()))
        self.announced = True
        self.failures = 0
        self._tell_resume()

    def _tell_resume(self) -> None:
        if self.feed.resumed_ns is not None and not self.resume_told:
            self.resume_told = True
            logger.info("containerops.lifecycle.container_events: resuming from %s: what happened since %s",
                        safe_text(self.options.cursor_file), iso(self.feed.resumed_ns))  # fmt: skip

    def stored_position(self, well_formed: Callable[[Any], bool]) -> Optional[dict[str, Any]]:
        """The position ``cursor_file`` keeps for this engine; None without one (a file that cannot be used is
        warned about: the source starts from the present and writes its own position there)."""
        path = self.options.cursor_file
        if not path or not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                position, why = _position.decode(handle.read(), self.options.engine_key(), well_formed)
        except (OSError, UnicodeDecodeError) as exc:
            position, why = None, f"it cannot be read ({exc.strerror or exc})"
        if position is None:
            logger.warning(
                "containerops.lifecycle.container_events: cursor_file %s cannot be used: %s; starting from the "
                "present", safe_text(path), safe_text(self.options.mask(why)),
            )  # fmt: skip
        return position

    def stored_containers(self) -> dict[str, dict[str, Any]]:
        """The containers' last events ``cursor_file`` keeps for this engine (none when it cannot be used)."""
        path = self.options.cursor_file
        try:
            with open(path or "", encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, UnicodeDecodeError, ValueError):
            return {}
        kept = (
            data.get("containers")
            if isinstance(data, dict) and data.get("engine") == self.options.engine_key()
            else None
        )
        return {key: value for key, value in kept.items() if isinstance(value, dict)} if isinstance(kept, dict) else {}

    def cursor_text(self, position: dict[str, Any]) -> str:
        """What ``cursor_file`` holds: the feed's position, and besides it each container's last event and this
        run of the source, for the autoheal playbook."""
        return _position.encode(self.options.engine_key(), position, containers=self.containers, run=self.run_id)

    def keep_position(self, position: dict[str, Any]) -> None:
        """Write ``position`` (and the containers' last events) to ``cursor_file`` (atomically) when they changed; a
        failure is warned about once, never fatal."""
        path = self.options.cursor_file
        text = self.cursor_text(position)
        if not path or text == self.kept:
            return
        temporary = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, path)
            self.kept, self._cursor_problem = text, ""
        except OSError as exc:
            problem = f"cursor_file {path} cannot be written ({exc.strerror or exc})"
            if problem != self._cursor_problem:
                logger.warning("containerops.lifecycle.container_events: %s; a restarted source would not resume "
                               "from here", safe_text(problem))  # fmt: skip
            self._cursor_problem = problem


async def main(queue: Any, args: dict[str, Any]) -> None:
    """ansible-rulebook's entry point: emit events into ``queue`` until cancelled."""
    await Source(parse_options(args), queue).run()


if __name__ == "__main__":
    # A quick look without ansible-rulebook: print the events of the local engine (or DOCKER_HOST) until ^C.

    class _Printer:
        async def put(self, event: dict[str, Any]) -> None:
            print(event, flush=True)

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_Printer(), {}))
