#!/usr/bin/env python3
"""A Hoody API v1 lifecycle server for tests, backed by the real Docker engine.

Every Hoody container is a real Docker container labelled ``hoody.project=<24-hex project id>``;
its Hoody id is the first 24 hex characters of the Docker id. Lifecycle operations are accepted at
once and performed in a background thread after an acceptance delay, so clients must poll, as they
must against the real API. Transitions are recorded as status logs in SQLite.

Status mapping (Docker -> Hoody): running and restarting -> ``running`` (Hoody has no restarting
state), paused -> ``paused``, created and exited -> ``stopped``, dead -> ``failed``, removing ->
``deleting``. Server-side overrides win: ``failed`` (fault injection or a failed background Docker
call; sticky until delete or reset) and ``deleting`` (async delete). While an operation is pending,
the status accepted is held until the Docker call has finished and its log row is written.

Run it: ``python tests/servers/hoody.py --port 0 --token T`` prints ``LISTENING http://host:port``;
or in-process: ``server = start_server(token="T")`` then ``server.url``, ``server.admin(...)``,
``server.stop()``.

Fault injection (no auth), JSON: ``POST /__admin/faults`` with any of ``status_503``, ``status_429``
+ ``retry_after``, ``delay_ms``, ``drop``, ``only_methods``, ``invalid_state`` (409, 400 or
``"data_error"``), ``accept_delay``; ``GET /__admin/faults``; ``POST /__admin/fail/<id>``;
``POST /__admin/reset``; ``GET /__admin/requests``.

Guesses beyond the contract (check them against a live server): 404 for ``/api/v1/containers``
without the slash and for unknown routes (Fastify style); 401 codes MISSING_TOKEN / INVALID_TOKEN;
409 without a ``code`` for a disallowed operation, for a second operation while one is pending, and
for deleting a container that is not stopped or failed; validation 400s as ``querystring/<name> ...``
with ``data[{instancePath, message}]``; manage answers before acting, with the status at acceptance;
delete answers ``data: null`` and logs one row ``<status> -> deleted``; a failed Docker call logs
``-> failed`` (triggered_by ``user``, ``metadata.error``); status logs stay readable after deletion;
an unknown project lists as empty; ``totalPages`` is 0 when nothing matches.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import secrets
import socket
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable, Optional, Union

import docker
import requests
from docker.errors import DockerException, NotFound
from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.serving import BaseWSGIServer, make_server

PROJECT_LABEL = "hoody.project"
HEX24 = re.compile(r"[0-9a-f]{24}")
OPERATIONS = ("start", "stop", "force-stop", "restart", "pause", "resume")
ALLOWED_OPERATIONS = {
    "running": ("stop", "force-stop", "restart", "pause"),
    "stopped": ("start", "restart"),
    "paused": ("resume",),
}
DELETABLE = ("stopped", "failed")
DOCKER_STATUS = {
    "running": "running",
    "restarting": "running",
    "paused": "paused",
    "created": "stopped",
    "exited": "stopped",
    "dead": "failed",
    "removing": "deleting",
}
AUTOSTART_POLICIES = ("always", "unless-stopped")
CONTAINER_SORTS = ("id", "name", "status", "created_at", "updated_at")
LOG_SORTS = ("transition_time", "created_at", "to_status", "from_status")
INVALID_STATE_MODES = (409, 400, "data_error")
DROP_KEY = "hoody.drop"
DOCKER_TIMEOUT = 300
DEFAULT_STOP_TIMEOUT = 10
AUTH_ERRORS = {
    "missing": ("MISSING_TOKEN", "Authorization token required"),
    "malformed": ("INVALID_TOKEN", "Authorization header must be 'Bearer <token>'"),
    "invalid": ("INVALID_TOKEN", "Invalid or expired token"),
}


class ApiError(Exception):
    """An error answered with the Hoody error envelope."""

    def __init__(self, status: int, message: str, code: Optional[str] = None, data: Any = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.data = status, message, code, data


class InvalidStateError(Exception):
    """An operation not allowed in the container's current status; answered per ``invalid_state``."""

    def __init__(self, message: str, data: dict[str, Any]) -> None:
        super().__init__(message)
        self.message, self.data = message, data


def now_iso() -> str:
    """The current time as ISO 8601 UTC with milliseconds."""
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def docker_time(value: Optional[str]) -> Optional[str]:
    """Docker's nanosecond RFC 3339 UTC timestamp as ISO 8601 with milliseconds; None for the zero time."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", value or "")
    if not match or match.group(1).startswith("0001-"):
        return None
    return f"{match.group(1)}.{(match.group(2) or '').ljust(3, '0')[:3]}Z"


def validation_error(location: str, name: str, problem: str) -> ApiError:
    """A schema-validation style 400 naming the offending parameter."""
    return ApiError(400, f"{location}/{name} {problem}", data=[{"instancePath": f"/{name}", "message": problem}])


def query_int(name: str, default: int, low: int, high: Optional[int] = None) -> int:
    """An integer query parameter within [low, high]."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?\d+", raw):
        raise validation_error("querystring", name, "must be integer")
    value = int(raw)
    if value < low:
        raise validation_error("querystring", name, f"must be >= {low}")
    if high is not None and value > high:
        raise validation_error("querystring", name, f"must be <= {high}")
    return value


def query_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """A query parameter restricted to ``choices``."""
    value = request.args.get(name, default)
    if value not in choices:
        raise validation_error("querystring", name, "must be equal to one of the allowed values")
    return value


def check_id(value: str) -> None:
    """Reject anything but a 24-char lowercase hex id with 400 INVALID_ID_FORMAT."""
    if not HEX24.fullmatch(value):
        raise ApiError(400, "Invalid ID format", "INVALID_ID_FORMAT")


def ok(data: Any, message: str, status: int = 200) -> Response:
    """The success envelope."""
    return Response(
        json.dumps({"statusCode": status, "message": message, "data": data}), status, mimetype="application/json"
    )


def error_response(
    status: int, message: str, code: Optional[str] = None, data: Any = None, headers: Optional[dict[str, str]] = None
) -> Response:
    """The error envelope: statusCode, error (reason phrase), message, and code/data when known."""
    body: dict[str, Any] = {"statusCode": status, "error": HTTPStatus(status).phrase, "message": message}
    if code is not None:
        body["code"] = code
    if data is not None:
        body["data"] = data
    return Response(json.dumps(body), status, headers=headers, mimetype="application/json")


def paginate(items: list[Any], page: int, limit: int) -> tuple[list[Any], dict[str, int]]:
    """One page of ``items`` and its pagination block."""
    pagination = {"total": len(items), "page": page, "limit": limit, "totalPages": math.ceil(len(items) / limit)}
    return items[(page - 1) * limit : page * limit], pagination


@dataclass
class Faults:
    """Injected faults and behaviour switches; counters count down per matching API request."""

    status_503: int = 0
    status_429: int = 0
    retry_after: int = 1
    delay_ms: int = 0
    drop: int = 0
    only_methods: Optional[list[str]] = None
    invalid_state: Union[int, str] = 409
    accept_delay: float = 0.3

    def update(self, changes: dict[str, Any]) -> None:
        """Validate ``changes`` completely, then apply them; ValueError names the first bad one."""
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if key in ("status_503", "status_429", "retry_after", "delay_ms", "drop"):
                if not (number and isinstance(value, int) and value >= 0):
                    raise ValueError(f"{key} must be a non-negative integer")
            elif key == "accept_delay":
                if not (number and value >= 0):
                    raise ValueError("accept_delay must be a non-negative number of seconds")
            elif key == "invalid_state":
                if isinstance(value, bool) or value not in INVALID_STATE_MODES:
                    raise ValueError("invalid_state must be 409, 400 or 'data_error'")
            elif key == "only_methods":
                if value is not None and not (isinstance(value, list) and all(isinstance(m, str) for m in value)):
                    raise ValueError("only_methods must be a list of HTTP methods or null")
                value = None if value is None else [method.upper() for method in value]
            else:
                raise ValueError(f"unknown fault {key!r}")
            clean[key] = value
        for key, value in clean.items():
            setattr(self, key, value)

    def take(self, method: str) -> tuple[float, Optional[str]]:
        """Consume the faults one request meets: (delay in seconds, 'drop' | 'status_503' | 'status_429' | None)."""
        if self.only_methods is not None and method not in self.only_methods:
            return 0.0, None
        for name in ("drop", "status_503", "status_429"):
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return self.delay_ms / 1000, name
        return self.delay_ms / 1000, None


class StatusLogStore:
    """Status-log rows in SQLite, one shared connection guarded by a lock."""

    COLUMNS = ("id", "container_id", "from_status", "to_status", "transition_time", "duration_ms", "triggered_by",
               "metadata")  # fmt: skip

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS status_logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
            " container_id TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL, transition_time TEXT NOT NULL,"
            " created_at TEXT NOT NULL, duration_ms INTEGER, triggered_by TEXT NOT NULL, metadata TEXT)"
        )
        self._db.commit()

    def record(
        self,
        container_id: str,
        from_status: Optional[str],
        to_status: str,
        duration_ms: Optional[int],
        triggered_by: str,
        metadata: Optional[dict[str, Any]],
    ) -> None:
        """Append one transition."""
        stamp = now_iso()
        with self._lock:
            self._db.execute(
                "INSERT INTO status_logs (id, container_id, from_status, to_status, transition_time, created_at,"
                " duration_ms, triggered_by, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    secrets.token_hex(12),
                    container_id,
                    from_status,
                    to_status,
                    stamp,
                    stamp,
                    duration_ms,
                    triggered_by,
                    None if metadata is None else json.dumps(metadata),
                ),
            )
            self._db.commit()

    def page(
        self, container_id: str, page: int, limit: int, sort_by: str, sort_order: str
    ) -> tuple[list[dict[str, Any]], int]:
        """One sorted page of a container's rows and the total count (sort_by/sort_order are whitelisted)."""
        direction = "ASC" if sort_order == "asc" else "DESC"
        with self._lock:
            total = self._db.execute(
                "SELECT COUNT(*) FROM status_logs WHERE container_id = ?", (container_id,)
            ).fetchone()[0]
            rows = self._db.execute(
                f"SELECT {', '.join(self.COLUMNS)} FROM status_logs WHERE container_id = ?"
                f" ORDER BY {sort_by} {direction}, seq {direction} LIMIT ? OFFSET ?",
                (container_id, limit, (page - 1) * limit),
            ).fetchall()
        logs = [dict(zip(self.COLUMNS, row)) for row in rows]
        for log in logs:
            log["metadata"] = None if log["metadata"] is None else json.loads(log["metadata"])
        return logs, total

    def clear(self) -> None:
        """Forget every row."""
        with self._lock:
            self._db.execute("DELETE FROM status_logs")
            self._db.commit()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


class Platform:
    """The Hoody side: containers mapped from Docker, async operations, overrides, faults, logs."""

    def __init__(
        self,
        token: str,
        readonly_token: Optional[str] = None,
        db: str = ":memory:",
        accept_delay: float = 0.3,
        invalid_state: Union[int, str] = 409,
        docker_client: Optional[docker.DockerClient] = None,
    ) -> None:
        self._tokens = {"admin": token, "readonly": readonly_token}
        self._own_docker = docker_client is None
        self.docker = docker_client or docker.from_env(timeout=DOCKER_TIMEOUT)
        self.logs = StatusLogStore(db)
        self._defaults = Faults()
        self._defaults.update({"accept_delay": accept_delay, "invalid_state": invalid_state})
        self.faults = replace(self._defaults)
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._overrides: dict[str, str] = {}  # Hoody id -> failed | deleting
        self._pending: dict[str, str] = {}  # Hoody id -> status held while an operation runs
        self._touched: dict[str, str] = {}  # Hoody id -> time of the last server-side change
        self._threads: set[threading.Thread] = set()

    # ------------------------------------------------------------------ requests, auth, faults
    def classify(self, header: Optional[str]) -> str:
        """Redact an Authorization header to: admin, readonly, invalid, malformed or missing."""
        if header is None:
            return "missing"
        match = re.fullmatch(r"Bearer (\S+)", header)
        if not match:
            return "malformed"
        for role, token in self._tokens.items():
            if token and secrets.compare_digest(match.group(1).encode(), token.encode()):
                return role
        return "invalid"

    def intake(
        self, method: str, path: str, query: dict[str, str], auth: str
    ) -> tuple[dict[str, Any], float, Optional[str]]:
        """Log one API request and consume the faults it meets: (log entry, delay, fault)."""
        with self._lock:
            delay, fault = self.faults.take(method)
            entry = {
                "time": now_iso(),
                "method": method,
                "path": path,
                "query": query,
                "auth": auth,
                "fault": fault,
                "status": None,
            }
            self._requests.append(entry)
        return entry, delay, fault

    def set_faults(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply fault settings (ValueError when invalid) and return them all."""
        with self._lock:
            self.faults.update(changes)
            return asdict(self.faults)

    def request_log(self) -> list[dict[str, Any]]:
        """A copy of the API request log."""
        with self._lock:
            return [dict(entry) for entry in self._requests]

    def reset(self) -> None:
        """Back to the configured defaults: no faults, overrides, request log or status logs."""
        with self._lock:
            self.faults = replace(self._defaults)
            self._requests.clear()
            self._overrides.clear()
            self._touched.clear()
            self.logs.clear()

    # ------------------------------------------------------------------ containers
    def _inspect(self, cid: str) -> Optional[dict[str, Any]]:
        """Docker's inspect data for Hoody id ``cid``, or None when there is no such Hoody container."""
        try:
            attrs = self.docker.api.inspect_container(cid)
        except NotFound:
            return None
        labels = attrs["Config"].get("Labels") or {}
        if not attrs["Id"].startswith(cid) or not HEX24.fullmatch(labels.get(PROJECT_LABEL, "")):
            return None
        return attrs

    def _require(self, cid: str) -> dict[str, Any]:
        """Like ``_inspect`` but 404 when missing."""
        attrs = self._inspect(cid)
        if attrs is None:
            raise ApiError(404, "Container not found")
        return attrs

    def _status(self, cid: str, docker_status: str) -> str:
        """The Hoody status: override, else the status held by a pending operation, else Docker's, mapped."""
        with self._lock:
            return self._overrides.get(cid) or self._pending.get(cid) or DOCKER_STATUS.get(docker_status, "failed")

    def to_hoody(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The Hoody container object for one Docker inspect result."""
        cid, config, state = attrs["Id"][:24], attrs["Config"], attrs["State"]
        created = docker_time(attrs["Created"])
        stamps = [
            created,
            docker_time(state.get("StartedAt")),
            docker_time(state.get("FinishedAt")),
            self._touched.get(cid),
        ]
        policy = (attrs["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no"
        return {
            "id": cid,
            "project_id": config["Labels"][PROJECT_LABEL],
            "name": attrs["Name"].lstrip("/"),
            "status": self._status(cid, state["Status"]),
            "container_image": config.get("Image"),
            "autostart": policy in AUTOSTART_POLICIES,
            "environment_vars": dict(item.partition("=")[::2] for item in config.get("Env") or []),
            "created_at": created,
            "updated_at": max(stamp for stamp in stamps if stamp),
        }

    def get(self, cid: str) -> dict[str, Any]:
        """One container object (404 when unknown)."""
        return self.to_hoody(self._require(cid))

    def containers(self, project_id: Optional[str], include_deleting: bool) -> list[dict[str, Any]]:
        """Every Hoody container, or a project's, without ``deleting`` ones unless asked."""
        label = PROJECT_LABEL if project_id is None else f"{PROJECT_LABEL}={project_id}"
        found = self.docker.containers.list(all=True, filters={"label": label}, ignore_removed=True)
        items = [self.to_hoody(c.attrs) for c in found if HEX24.fullmatch(c.labels.get(PROJECT_LABEL, ""))]
        return [item for item in items if include_deleting or item["status"] != "deleting"]

    def status_logs(
        self, cid: str, page: int, limit: int, sort_by: str, sort_order: str
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of status logs; kept readable after deletion, 404 for a container never seen."""
        logs, total = self.logs.page(cid, page, limit, sort_by, sort_order)
        if total == 0:
            self._require(cid)
        return logs, total

    # ------------------------------------------------------------------ transitions
    def _transition(
        self,
        cid: str,
        from_status: Optional[str],
        to_status: str,
        duration_ms: Optional[int],
        triggered_by: str,
        metadata: dict[str, Any],
    ) -> None:
        """Record one transition and stamp the container as updated."""
        self.logs.record(cid, from_status, to_status, duration_ms, triggered_by, metadata)
        self._touched[cid] = now_iso()

    def _claim(self, cid: str, action: str) -> dict[str, Any]:
        """Check that ``action`` (an operation or delete) is allowed now and mark the container busy.

        Call with the lock held; returns the container object as it was at acceptance.
        """
        item = self.get(cid)
        status = item["status"]
        allowed = status in DELETABLE if action == "delete" else action in ALLOWED_OPERATIONS.get(status, ())
        payload = {"operation": action, "container_id": cid, "project_id": item["project_id"], "status": status}
        if not allowed:
            raise InvalidStateError(f"Cannot {action} container in status {status}", payload)
        if cid in self._pending:
            raise InvalidStateError(f"Another operation is in progress on container {cid}", payload)
        self._pending[cid] = status
        return item

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        """Run ``target`` in a daemon thread that ``close`` waits for."""
        thread = threading.Thread(target=self._tracked, args=(target, *args), daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _tracked(self, target: Callable[..., None], *args: Any) -> None:
        try:
            target(*args)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def accept(self, cid: str, operation: str) -> dict[str, Any]:
        """Validate an operation, schedule it in the background, and return the manage response data."""
        with self._lock:
            item = self._claim(cid, operation)
            delay = self.faults.accept_delay
        self._spawn(self._run, cid, operation, item["status"], delay)
        return {
            "operation": operation,
            "container_id": cid,
            "project_id": item["project_id"],
            "message": f"Container {operation} operation accepted",
            "status": item["status"],
        }

    def _docker_call(self, cid: str, action: str) -> None:
        """The Docker call behind one operation or delete (returns once Docker has finished it)."""
        api = self.docker.api
        if action == "start":
            api.start(cid)
        elif action == "stop":
            api.stop(cid)  # no ``t``: Docker uses the container's StopTimeout
        elif action == "force-stop":
            api.kill(cid)
            api.wait(cid, condition="not-running", timeout=DOCKER_TIMEOUT)
        elif action == "restart":
            stop_timeout = api.inspect_container(cid)["Config"].get("StopTimeout")
            api.restart(cid, timeout=DEFAULT_STOP_TIMEOUT if stop_timeout is None else stop_timeout)
        elif action == "pause":
            api.pause(cid)
        elif action == "resume":
            api.unpause(cid)
        else:
            with contextlib.suppress(NotFound):
                api.remove_container(cid, force=True)

    def _run(self, cid: str, action: str, from_status: str, delay: float) -> None:
        """Background half of an operation or delete: wait, call Docker, then release the status and log it."""
        time.sleep(delay)
        started = time.monotonic()
        metadata: dict[str, Any] = {"command": action}
        try:
            self._docker_call(cid, action)
        except (DockerException, requests.RequestException) as exc:
            metadata["error"] = str(exc)
        duration_ms = round((time.monotonic() - started) * 1000)
        deleted = action == "delete" and "error" not in metadata
        try:
            attrs = None if deleted else self._inspect(cid)
        except (DockerException, requests.RequestException):
            attrs = None
        with self._lock:
            self._pending.pop(cid, None)
            if deleted:
                self._overrides.pop(cid, None)
                to_status = "deleted"
            elif attrs is None or "error" in metadata:
                self._overrides[cid] = to_status = "failed"
            else:
                to_status = self._status(cid, attrs["State"]["Status"])
            self._transition(cid, from_status, to_status, duration_ms, "user", metadata)

    def delete(self, cid: str) -> None:
        """Mark the container ``deleting`` and remove it from Docker in the background."""
        with self._lock:
            item = self._claim(cid, "delete")
            self._overrides[cid] = "deleting"
            self._touched[cid] = now_iso()
            delay = self.faults.accept_delay
        self._spawn(self._run, cid, "delete", item["status"], delay)

    def force_fail(self, cid: str) -> dict[str, Any]:
        """Fault injection: put the container into ``failed`` (logged as triggered by the system)."""
        with self._lock:
            status = self.get(cid)["status"]
            if status != "failed":
                self._overrides[cid] = "failed"
                self._transition(cid, status, "failed", None, "system", {"reason": "fault injection"})
            return self.get(cid)

    def close(self, timeout: float = 30) -> None:
        """Wait for background operations, then release the database (and the Docker client if ours)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
        if self._own_docker:
            self.docker.close()
        self.logs.close()


def create_app(platform: Platform) -> Flask:
    """The Flask app: the Hoody API under /api/v1 and the fault-injection API under /__admin."""
    app = Flask("hoody")

    @app.before_request
    def front_door() -> Optional[Response]:
        if request.path.startswith("/__admin/"):
            return None
        auth = platform.classify(request.headers.get("Authorization"))
        g.entry, delay, fault = platform.intake(request.method, request.path, request.args.to_dict(), auth)
        if delay:
            time.sleep(delay)
        if fault == "drop":
            request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            request.environ[DROP_KEY] = True
            return Response()  # never sent: drop_connections() aborts the request
        if fault == "status_503":
            return error_response(503, "Service temporarily unavailable")
        if fault == "status_429":
            return error_response(429, "Rate limit exceeded", headers={"Retry-After": str(platform.faults.retry_after)})
        if isinstance(request.routing_exception, RequestRedirect):  # no slash redirects, as in Fastify
            return error_response(404, f"Route {request.method}:{request.path} not found")
        if auth in AUTH_ERRORS:
            code, message = AUTH_ERRORS[auth]
            return error_response(401, message, code)
        g.auth = auth
        return None

    @app.after_request
    def finish(response: Response) -> Response:
        entry = g.get("entry")
        if entry is not None and entry["fault"] != "drop":
            entry["status"] = response.status_code
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.code, exc.data)

    @app.errorhandler(InvalidStateError)
    def invalid_state(exc: InvalidStateError) -> Response:
        mode = platform.faults.invalid_state
        if mode == "data_error" and exc.data["operation"] in OPERATIONS:
            return ok({"error": True, **exc.data, "message": exc.message}, exc.message)
        return error_response(400 if mode == 400 else 409, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if exc.code in (404, 405):
            return error_response(404, f"Route {request.method}:{request.path} not found")
        return error_response(exc.code or 500, exc.description or "")

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error_response(500, str(exc) or type(exc).__name__)

    def require_write() -> None:
        if g.auth != "admin":
            raise ApiError(403, "Token lacks the permission for this operation", "INSUFFICIENT_PERMISSIONS")

    def list_response(project_id: Optional[str]) -> Response:
        page = query_int("page", 1, 1)
        limit = query_int("limit", 50, 1, 100)
        sort_by = query_choice("sort_by", "created_at", CONTAINER_SORTS)
        sort_order = query_choice("sort_order", "desc", ("asc", "desc"))
        include_deleting = query_choice("include_deleting", "false", ("true", "false")) == "true"
        items = sorted(platform.containers(project_id, include_deleting), key=lambda item: item["id"])
        items.sort(key=lambda item: item[sort_by], reverse=sort_order == "desc")
        containers, pagination = paginate(items, page, limit)
        return ok({"containers": containers, "pagination": pagination}, "Containers retrieved successfully")

    @app.get("/api/v1/containers/")
    def list_containers() -> Response:
        return list_response(None)

    @app.get("/api/v1/projects/<project_id>/containers")
    def list_project_containers(project_id: str) -> Response:
        check_id(project_id)
        return list_response(project_id)

    @app.get("/api/v1/containers/<cid>")
    def get_container(cid: str) -> Response:
        check_id(cid)
        return ok(platform.get(cid), "Container retrieved successfully")

    @app.delete("/api/v1/containers/<cid>")
    def delete_container(cid: str) -> Response:
        check_id(cid)
        require_write()
        platform.delete(cid)
        return ok(None, "Container deletion started")

    @app.post("/api/v1/containers/<cid>/<operation>")
    def manage_container(cid: str, operation: str) -> Response:
        check_id(cid)
        if operation not in OPERATIONS:
            raise validation_error("params", "operation", "must be equal to one of the allowed values")
        require_write()
        data = platform.accept(cid, operation)
        return ok(data, data["message"])

    @app.get("/api/v1/containers/<cid>/status-logs")
    def status_logs(cid: str) -> Response:
        check_id(cid)
        page = query_int("page", 1, 1)
        limit = query_int("limit", 10, 1, 100)
        sort_by = query_choice("sort_by", "transition_time", LOG_SORTS)
        sort_order = query_choice("sort_order", "desc", ("asc", "desc"))
        logs, total = platform.status_logs(cid, page, limit, sort_by, sort_order)
        pagination = {"total": total, "page": page, "limit": limit, "totalPages": math.ceil(total / limit)}
        return ok({"logs": logs, "pagination": pagination}, "Container status logs retrieved successfully")

    # ------------------------------------------------------------------ fault injection (no auth)
    @app.get("/__admin/faults")
    def get_faults() -> Response:
        return Response(json.dumps(asdict(platform.faults)), mimetype="application/json")

    @app.post("/__admin/faults")
    def set_faults() -> Response:
        changes = request.get_json(force=True, silent=True)
        if not isinstance(changes, dict):
            raise ApiError(400, "body must be a JSON object")
        try:
            return Response(json.dumps(platform.set_faults(changes)), mimetype="application/json")
        except ValueError as exc:
            raise ApiError(400, str(exc)) from exc

    @app.post("/__admin/fail/<cid>")
    def fail_container(cid: str) -> Response:
        check_id(cid)
        return Response(json.dumps(platform.force_fail(cid)), mimetype="application/json")

    @app.post("/__admin/reset")
    def reset() -> Response:
        platform.reset()
        return get_faults()

    @app.get("/__admin/requests")
    def request_log() -> Response:
        return Response(json.dumps(platform.request_log()), mimetype="application/json")

    flask_wsgi = app.wsgi_app

    def drop_connections(environ: dict[str, Any], start_response: Any) -> Any:
        """Abort dropped requests before anything is written; werkzeug then closes the connection quietly."""
        response = flask_wsgi(environ, start_response)
        if environ.get(DROP_KEY):
            raise ConnectionAbortedError("connection dropped by fault injection")
        return response

    app.wsgi_app = drop_connections  # type: ignore[method-assign]
    return app


class HoodyServer:
    """A Hoody server serving from a background thread."""

    def __init__(self, platform: Platform, server: BaseWSGIServer) -> None:
        self.platform = platform
        self._server = server
        self.url = f"http://{server.host}:{server.port}"
        self._thread = threading.Thread(target=server.serve_forever, name="hoody-server", daemon=True)
        self._thread.start()

    def admin(self, path: str, json: Any = None, method: str = "POST") -> Any:
        """Call the fault-injection API, e.g. ``admin("faults", {"status_503": 2})``; returns the decoded body."""
        response = requests.request(method, f"{self.url}/__admin/{path.lstrip('/')}", json=json, timeout=30)
        response.raise_for_status()
        return response.json()

    def requests_log(self) -> list[dict[str, Any]]:
        """The API requests received so far (``GET /__admin/requests``)."""
        return self.admin("requests", method="GET")

    def stop(self) -> None:
        """Stop serving, wait for background operations, release resources."""
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self.platform.close()

    def __enter__(self) -> HoodyServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_server(
    token: str,
    readonly_token: Optional[str] = None,
    db: str = ":memory:",
    host: str = "127.0.0.1",
    port: int = 0,
    accept_delay: float = 0.3,
    invalid_state: Union[int, str] = 409,
    docker_client: Optional[docker.DockerClient] = None,
) -> HoodyServer:
    """Start a threaded server in the background (``port=0``: any free port) and return it."""
    platform = Platform(token, readonly_token, db, accept_delay, invalid_state, docker_client)
    return HoodyServer(platform, make_server(host, port, create_app(platform), threaded=True))


def main(argv: Optional[list[str]] = None) -> None:
    """Command line: serve until killed."""
    parser = argparse.ArgumentParser(description="Hoody API v1 lifecycle test server on the local Docker engine")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", required=True, help="admin token (full access)")
    parser.add_argument("--readonly-token", help="token that may only read (403 on manage and delete)")
    parser.add_argument("--db", default=":memory:", help="SQLite file for status logs (default: in memory)")
    parser.add_argument("--accept-delay", type=float, default=0.3, help="seconds before an operation starts")
    parser.add_argument("--invalid-state", choices=("409", "400", "data_error"), default="409")
    args = parser.parse_args(argv)
    invalid_state = args.invalid_state if args.invalid_state == "data_error" else int(args.invalid_state)
    platform = Platform(args.token, args.readonly_token, args.db, args.accept_delay, invalid_state)
    server = make_server(args.host, args.port, create_app(platform), threaded=True)
    print(f"LISTENING http://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        platform.close()


if __name__ == "__main__":
    main()
