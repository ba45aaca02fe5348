# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Dockhand backend: Docker containers behind Dockhand's REST API.

Dockhand answers ``200 {"success": true}`` with no state, 200 for a start of a running container, and
``500 "Failed to <action> container"`` for nearly every error. So the container is read before and
after every call (the driver does both), and a 500 is explained by reading the container again:
gone, in the wrong state, or a real failure.

What a real Dockhand 1.0.36 does besides (``contracts/dockhand.md`` (e)): its listing leaves out the
containers labelled ``dockhand.hidden=true`` (they are still read by name) and lists an environment
whose engine is down as empty, so an empty listing is checked with ``POST /api/environments/{id}/test``,
at most once per task. A stop says nothing of the SIGKILL it may have needed: the exit code (stop) or
the activity log (restart) tells. Each password login is a 24-hour session, ended by ``close()``.
"""

from __future__ import annotations

import builtins
import contextlib
import threading
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import quote

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    ContainerState,
    Evidence,
    matching,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import Connection, Option
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_history import records_from_docker_events
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import (
    STATUS_MAP,
    DockerHealth,
    DockerShapedBackend,
    info_from_inspect,
    label_filters,
    listed_facts,
    network_runtime,
    state_from_inspect,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._dockhand_events import (
    ACTIVITY_PAGE,
    DockhandFeed,
    docker_event,
    engine_time,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ConnectionFailed,
    ContainerNotFound,
    ContainerOpsError,
    OperationConflict,
    OperationFailed,
    OutcomeUnknown,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import (
    DEFAULT_POLL_INTERVAL,
    REQUESTS_IMPORT_ERROR,
    ApiClient,
    ApiError,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    ABSENT,
    ALLOWED_OPERATIONS,
    FAILED,
    PAUSED,
    RUNNING,
    STOPPED,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import ContainerInfo, StatusLogRecord
from ansible_collections.containerops.lifecycle.plugins.module_utils._text import engine_text

SESSION_COOKIE = "dockhand_session"
# Dockhand's action names for the lifecycle vocabulary.
ACTIONS = {"start": "start", "stop": "stop", "restart": "restart", "pause": "pause", "resume": "unpause"}
# The exit code of a process ended by SIGKILL (128 + 9), and how Docker's kill events name that signal.
SIGKILL_EXIT_CODE = 137
SIGKILL_NAMES = ("9", "KILL", "SIGKILL")
# Kill rows read from the activity log to tell whether a restart needed SIGKILL (a restart makes two).
KILL_ROWS = 20
LOGOUT_TIMEOUT = 10


def container_path(ref: str, action: str = "") -> str:
    """``/api/containers/{ref}[/{action}]``, the reference quoted so it stays one path segment."""
    return f"/api/containers/{quote(ref, safe='')}" + (f"/{action}" if action else "")


def _unexpected(endpoint: str, expected: str) -> OperationFailed:
    return OperationFailed(f"Dockhand's answer to {endpoint} is not {expected}: is api_url a Dockhand server?")


class DockhandBackend(DockerShapedBackend):
    name = "dockhand"
    events = DockhandFeed
    missing_operations = {
        "force-stop": (
            "Dockhand has no kill endpoint; use force: false (and no force_on_timeout), and bound a graceful "
            "stop with the container's own stop timeout (docker run --stop-timeout)"
        ),
    }

    connection_options = (
        Option("api_url", env=("DOCKHAND_URL",), identifies=True),
        Option("api_token", env=("DOCKHAND_TOKEN",), secret=True),
        Option("api_username", env=("DOCKHAND_USERNAME",)),
        Option("api_password", env=("DOCKHAND_PASSWORD",), secret=True),
        Option("api_environment", "int", env=("DOCKHAND_ENV",), identifies=True),
    )
    library = ("requests", REQUESTS_IMPORT_ERROR)

    @classmethod
    def from_options(cls, connection: Connection) -> DockhandBackend:
        params = connection.params
        return cls(
            ApiClient.from_options(
                connection.require("api_url"), params, "the Dockhand API", connection.source("api_url")
            ),
            environment_id=params["api_environment"],
            token=params["api_token"],
            username=params["api_username"],
            password=params["api_password"],
            poll_interval=params.get("poll_interval") or DEFAULT_POLL_INTERVAL,
            named={option: connection.named(option) for option in ("api_token", "api_username", "api_password")},
        )

    @classmethod
    def listed_facts(cls, state: ContainerState) -> dict[str, Any]:
        summary = state.details.get("summary") or {}
        return listed_facts(summary.get("labels"), summary.get("image"), state.health)

    def __init__(
        self,
        client: ApiClient,
        environment_id: Optional[int],
        token: Optional[str],
        username: Optional[str],
        password: Optional[str],
        poll_interval: float,
        named: Optional[dict[str, str]] = None,
    ) -> None:
        """``named`` says where each credential came from (``Backend.named``), for the messages about them."""
        self._named = {option: option for option in ("api_token", "api_username", "api_password")}
        self._named.update(named or {})
        if not environment_id:
            raise BadInput(
                "api_environment is required for backend dockhand: the id of a Dockhand environment "
                "(Settings > Environments, or GET /api/environments); or set DOCKHAND_ENV"
            )
        if bool(username) != bool(password):
            given, missing = ("api_username", "api_password") if username else ("api_password", "api_username")
            raise BadInput(
                f"api_username and api_password go together for backend dockhand: {self._named[given]} is set, "
                f"{missing} is not; give both, or neither"
            )
        self.client = client
        for warning in client.warnings:  # TLS not verified
            self.warn(warning)
        self.environment_id = environment_id
        self.poll_interval = poll_interval
        self._username = username
        self._password = password
        self._token_kind = None if not token else "dh_" if token.startswith("dh_") else "other"
        self._login_lock = threading.Lock()
        self._session_generation = 0
        self._logged_in = False
        self._environment: dict[str, Any] = {}
        self._engine_lock = threading.Lock()
        self._engine_trouble: Optional[str] = None
        if token:
            client.set_bearer(token)
        elif username:
            self._login()
        self._check_environment()
        # Imported here: the parts' file imports this one.
        from ansible_collections.containerops.lifecycle.plugins.module_utils import _dockhand_parts

        self.settings = _dockhand_parts.DockhandSettings(self)
        self.health = DockerHealth(self)

    # Requests --------------------------------------------------------------------------------------

    def _login(self) -> None:
        try:
            response = self.client.request(
                "POST", "/api/auth/login", json={"username": self._username, "password": self._password}
            )
        except ApiError as exc:
            if exc.status == 400:
                # Auth is off on this server: every endpoint is open, nothing to log in to.
                return
            raise ConnectionFailed(
                f"Dockhand login as {self._username!r} failed ({exc.status}: {exc.message}); check "
                f"{self._named['api_username']} and {self._named['api_password']}"
            ) from None
        cookie = response.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise ConnectionFailed("Dockhand accepted the login but set no dockhand_session cookie")
        self.client.set_cookie(SESSION_COOKIE, cookie)
        self._session_generation += 1
        self._logged_in = True

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request with ``env``; on 401 log in again once (sessions expire) and repeat it."""
        generation = self._session_generation
        try:
            return self.client.request(method, path, **kwargs)
        except ApiError as exc:
            if exc.status == 429:
                raise self._locked_out(exc) from None
            if exc.status != 401:
                raise
            if not self._username:
                raise self._unauthorized() from None
        with self._login_lock:
            if generation == self._session_generation:  # another worker may have logged in already
                self._login()
        try:
            return self.client.request(method, path, **kwargs)
        except ApiError as exc:
            if exc.status == 429:
                raise self._locked_out(exc) from None
            if exc.status == 401:
                raise ConnectionFailed("Dockhand rejected the session again after a fresh login (401)") from None
            raise

    def _unauthorized(self) -> ConnectionFailed:
        if self._token_kind is None:
            return ConnectionFailed(
                "Dockhand requires authentication (401): set api_token, or api_username and api_password"
            )
        hint = (
            "it is unknown, revoked or expired" if self._token_kind == "dh_"
            else "Dockhand API tokens start with dh_, and this one does not"
        )
        return ConnectionFailed(
            f"Dockhand rejected {self._named['api_token']} (401): {hint}. Mind that about 15 rejected tokens "
            "within a minute lock every token out of this address for 5 minutes"
        )

    def _locked_out(self, exc: ApiError) -> ConnectionFailed:
        """Dockhand's 429: a lockout of this address (bearer tokens) that retrying now cannot end."""
        why = (
            "After about 15 rejected API tokens within a minute, Dockhand refuses every token from an address, "
            f"valid ones included, for 5 minutes; check {self._named['api_token']} before trying again"
            if self._token_kind
            else "Dockhand limits how often one address may try"
        )
        return ConnectionFailed(f"Dockhand refuses requests from this address for now: {exc}. {why}")

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON answer (None for an empty one); an answer that is not JSON is an error naming it."""
        response = self._request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type") or "no content type"
            raise OperationFailed(
                f"Dockhand's answer to {method} {path} is not JSON ({kind}): is api_url a Dockhand server?"
            ) from None

    def _env(self, **params: Any) -> dict[str, Any]:
        return dict(params, env=self.environment_id)

    def _check_environment(self) -> None:
        path = f"/api/environments/{self.environment_id}"
        try:
            body = self._json("GET", path)
        except ApiError as exc:
            if exc.status == 404:
                raise BadInput(f"Dockhand has no environment {self.environment_id} (api_environment)") from None
            raise ConnectionFailed(f"cannot read Dockhand environment {self.environment_id}: {exc}") from None
        except OperationFailed as exc:
            raise ConnectionFailed(str(exc)) from None
        if not isinstance(body, dict):
            raise ConnectionFailed(str(_unexpected(f"GET {path}", "an environment")))
        self._environment = body

    def _environment_label(self) -> str:
        name = self._environment.get("name")
        return f"Dockhand environment {self.environment_id}" + (f" ({name})" if name else "")

    def _raise_if_engine_down(self) -> None:
        """Raise ``ConnectionFailed`` when the environment's engine does not answer; Dockhand is asked once.

        Dockhand lists such an environment as ``200 []`` and fails every read in it with a bare 500, so
        this is asked only when an answer looks like that, and the answer is kept for the task.
        """
        with self._engine_lock:
            if self._engine_trouble is None:
                self._engine_trouble = self._test_environment()
            trouble = self._engine_trouble
        if trouble:
            raise ConnectionFailed(
                f"{self._environment_label()} cannot reach its Docker engine: {trouble} "
                f"(POST /api/environments/{self.environment_id}/test). Dockhand lists the containers of such an "
                "environment as none and cannot read or change them"
            )

    def _test_environment(self) -> str:
        """Dockhand's own connection test: its error when the engine is down, else an empty string."""
        path = f"/api/environments/{self.environment_id}/test"
        try:
            body = self._json("POST", path)
        except (ApiError, OutcomeUnknown, OperationFailed) as exc:
            self.warn(f"could not ask Dockhand whether the engine of environment {self.environment_id} answers: {exc}")
            return ""
        if isinstance(body, dict) and body.get("success") is False:
            return engine_text(body.get("error") or "Dockhand gives no reason")
        return ""

    # Reads -----------------------------------------------------------------------------------------

    def look_up(self, ref: str) -> ContainerState:
        path = container_path(ref)
        try:
            data = self._json("GET", path, params=self._env())
        except ApiError as exc:
            if exc.status in (400, 404):
                return ContainerState.absent(ref)
            if exc.status >= 500:
                self._raise_if_engine_down()
            raise OperationFailed(f"cannot read container {ref!r} through Dockhand: {exc}") from None
        return _inspected_state(data, f"GET {path}")

    def list(self, filters: dict[str, Any]) -> list[ContainerState]:
        items = self._json("GET", "/api/containers", params=self._env())
        if not isinstance(items, list):
            raise _unexpected("GET /api/containers", "a list of containers")
        if not items:
            self._raise_if_engine_down()
        listed = []
        for item in items:
            if not (isinstance(item, dict) and isinstance(item.get("id"), str) and isinstance(item.get("name"), str)):
                raise _unexpected("GET /api/containers", "a list of containers (an entry has no id or name)")
            listed.append(ContainerState(
                id=item["id"],
                name=item["name"],
                status=STATUS_MAP.get(item.get("state") or "", FAILED),
                engine_status=item.get("state"),
                health=item.get("health"),
                details={"summary": item},  # the listing entry (labels, image), as Docker's listing keeps it
            ))  # fmt: skip
        return matching(listed, dict(filters, label=label_filters(filters)), _listed_labels)

    # Operations ------------------------------------------------------------------------------------

    def stop_timeout_in_force(self, container: ContainerState, stop_timeout: Optional[int]) -> int:
        """Dockhand never sends a timeout: the container's own StopTimeout always applies."""
        return self.own_stop_timeout(container)

    def perform(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> bool:
        """One operation; True when the engine had to SIGKILL the container (Dockhand does not say, so it is read).

        A request whose answer is lost raises ``OutcomeUnknown`` unchanged: the driver decides from what
        the engine shows.
        """
        stopping = operation in ("stop", "restart")
        if stop_timeout is not None and stopping:
            self.warn(
                "Dockhand ignores stop timeouts: the container's own StopTimeout applies (stop_timeout not sent)"
            )
        before = self.inspected(container) if stopping else container
        try:
            if operation == "delete":
                self._remove(container)
                return False
            self._request(
                "POST",
                container_path(container.ref, ACTIONS[operation]),
                params=self._env(),
                timeout=self.stop_deadline(before, None) if stopping else None,
            )
        except ApiError as exc:
            raise self._explain(container, operation, exc) from None
        return self._was_killed(before, operation) if stopping else False

    def _was_killed(self, before: ContainerState, operation: str) -> bool:
        """Whether the stop or restart that just returned ended the container's processes with SIGKILL.

        After a stop, the exit code tells (137). After a restart the container runs again, so the
        activity log tells: a kill with signal 9 between the start of the run the restart ended and
        the start of the new one (both times are the engine's, as the log's are).
        """
        if before.status not in (RUNNING, PAUSED):
            return False  # nothing was running: nothing could be killed
        try:
            after = self.inspect(before.ref)
            state = after.details.get("State") or {}
            if operation == "stop":
                return after.status == STOPPED and state.get("ExitCode") == SIGKILL_EXIT_CODE
            previous_start = (before.details.get("State") or {}).get("StartedAt")
            return self._killed_between(after.id, previous_start, state.get("StartedAt"))
        except ContainerOpsError:
            return False  # the wait that follows reads the container again and reports what is wrong

    def _killed_between(self, container_id: Optional[str], since: Any, until: Any) -> bool:
        begin, end = engine_time(since), engine_time(until)
        if not container_id or begin is None or end is None:
            return False
        body = self._json("GET", "/api/activity", params={
            "environmentId": self.environment_id, "containerId": container_id, "actions": "kill", "limit": KILL_ROWS,
        })  # fmt: skip
        rows = body.get("events") if isinstance(body, dict) else None
        for row in rows if isinstance(rows, list) else []:
            attributes = row.get("actorAttributes") if isinstance(row, dict) else None
            if not isinstance(attributes, dict) or str(attributes.get("signal")) not in SIGKILL_NAMES:
                continue
            moment = engine_time(row.get("timestamp"))
            if moment is not None and begin <= moment <= end:
                return True
        return False

    def evidence_mark(self, container: ContainerState, operation: str) -> Evidence:
        """Before a restart, when the container's current run started: the restart begins a new run."""
        if operation != "restart":
            return super().evidence_mark(container, operation)
        return Evidence(operation, (self.inspected(container).details.get("State") or {}).get("StartedAt"))

    def shows_effect(self, container: ContainerState, evidence: Evidence) -> Optional[bool]:
        """A restart shows as a run begun after the one ``evidence`` saw (its StartedAt); anything else as its
        status."""
        if evidence.operation != "restart":
            return super().shows_effect(container, evidence)
        if not evidence.before:
            return None
        state = self.inspect(container.ref)
        started = (state.details.get("State") or {}).get("StartedAt")
        return state.status == RUNNING and bool(started) and started != evidence.before

    def _remove(self, container: ContainerState) -> None:
        body = self._json(
            "POST",
            "/api/batch",
            params=self._env(),
            json={"operation": "remove", "entityType": "containers",
                  "items": [{"id": container.id or container.name, "name": container.name}]},
        )
        summary = body.get("summary") if isinstance(body, dict) else None
        if isinstance(summary, dict) and summary.get("success") == 1 and not summary.get("failed"):
            return
        # Failed, or an answer that does not say: the container itself tells whether it is gone.
        after = self.inspect(container.ref)
        if after.status != ABSENT:
            raise OperationFailed(f"Dockhand could not remove it (batch remove failed); it is {after.status!r}")

    def _explain(self, container: ContainerState, operation: str, exc: ApiError) -> Exception:
        """Turn Dockhand's generic answers into what really happened, by reading the container again."""
        if exc.status == 404:
            return ContainerNotFound(container.name, f"it disappeared during {operation}")
        after = self.inspect(container.ref)
        if after.status == ABSENT:
            return ContainerNotFound(container.name, f"it disappeared during {operation}")
        if operation not in ALLOWED_OPERATIONS.get(after.status, ()):
            return OperationConflict(
                f"Dockhand refused {operation} ({exc.status} {exc.message!r}): the container is {after.status!r}"
            )
        return OperationFailed(
            f"Dockhand answered {exc.status} {exc.message!r} to {operation}; the container is {after.status!r}"
        )

    # Reports ---------------------------------------------------------------------------------------

    def describe(self, container: ContainerState, runtime: bool) -> ContainerInfo:
        container = self.inspected(container)
        info = info_from_inspect(container)
        if runtime:
            # Dockhand exposes no process list or resource usage for one container: those stay None.
            info["runtime"] = network_runtime(container.details, container.status)
        return info

    def status_history(
        self, ref: str, since: Optional[float], until: Optional[float]
    ) -> builtins.list[StatusLogRecord]:
        """Dockhand's activity log holds the engine's events; turn them into records like Docker's."""
        state = self.inspect(ref)
        params: dict[str, Any] = {"environmentId": self.environment_id, "limit": ACTIVITY_PAGE}
        if state.id:
            params["containerId"] = state.id
        else:
            params["containerName"] = ref
        if since is not None:
            params["fromDate"] = _history.format_time(datetime.fromtimestamp(since, timezone.utc))
        if until is not None:
            params["toDate"] = _history.format_time(datetime.fromtimestamp(until, timezone.utc))
        events: list[dict[str, Any]] = []
        offset = 0
        while True:
            page, total = self.activity_page(dict(params, offset=offset))
            events.extend(item for item in page if state.id or item.get("containerName") == ref)
            offset += len(page)
            if not page or offset >= total:
                break
        self._warn_about_activity(found_any=bool(events))
        # Millisecond timestamps can tie (start and restart): feed them in id order, which is event order.
        events.sort(key=_activity_order)
        return records_from_docker_events([docker_event(item) for item in events])

    def activity_page(self, params: dict[str, Any]) -> tuple[builtins.list[dict[str, Any]], int]:
        """One page of ``GET /api/activity`` and the number of rows that match in all."""
        body = self._json("GET", "/api/activity", params=params)
        page = body.get("events") if isinstance(body, dict) else None
        if not isinstance(page, list) or not all(
            isinstance(item, dict) and isinstance(item.get("timestamp"), str) for item in page
        ):
            raise _unexpected("GET /api/activity", "a page of activity events (events, each with a timestamp)")
        total = body.get("total")
        return page, total if isinstance(total, int) else 0

    def _warn_about_activity(self, found_any: bool) -> None:
        """Say when the activity log cannot hold the history: collection off, or nothing ever collected."""
        label = self._environment_label()
        if self._environment.get("collectActivity") is False:
            self.warn(
                f"{label} has activity collection off (collectActivity: false): the activity log this history "
                "comes from may miss its containers' state changes"
            )
        if found_any:
            return
        try:
            _page, total = self.activity_page({"environmentId": self.environment_id, "limit": 1})
        except ContainerOpsError:
            return
        if total == 0:
            self.warn(
                f"Dockhand's activity log has never recorded an event for {label}: nothing collects its engine's "
                "events (activity collection off, or Dockhand's collection-worker not running), so the history "
                "is empty whatever happened to the container"
            )

    def close(self) -> None:
        """Release the client; a password login's session is ended first (it would live for 24 hours)."""
        if self._logged_in:
            # Logging out is a courtesy: whatever happens to it, close() goes on and releases the client.
            with contextlib.suppress(Exception):
                self.client.request("POST", "/api/auth/logout", timeout=min(self.client.timeout, LOGOUT_TIMEOUT))
            self._logged_in = False
        self.client.close()


def _inspected_state(data: Any, endpoint: str) -> ContainerState:
    """A ``ContainerState`` from Dockhand's copy of Docker's inspect JSON, which must have its shape."""
    if not (
        isinstance(data, dict)
        and isinstance(data.get("State"), dict)
        and isinstance(data.get("Id"), str)
        and isinstance(data.get("Name"), str)
    ):
        raise _unexpected(endpoint, "a container's inspect data (Id, Name, State)")
    return state_from_inspect(data)


def _listed_labels(state: ContainerState) -> dict[str, str]:
    labels = state.details["summary"].get("labels")
    return labels if isinstance(labels, dict) else {}


def _activity_order(item: dict[str, Any]) -> int:
    """An activity row's id: millisecond timestamps can tie, ids follow the order events happened in."""
    row_id = item.get("id")
    return row_id if isinstance(row_id, int) else 0
