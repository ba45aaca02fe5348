#!/usr/bin/env python3
"""A Dockhand v1.0.36 look-alike REST server for tests, backed by the real Docker engine.

It answers the container-lifecycle part of Dockhand's API with the status codes and bodies of the
shared contract (``contracts/dockhand.md``), quirks included: start/stop of a container already in
the target state is ``200``, stop of an unknown container is the only ``404``, every other failure
is ``500 {"error":"Failed to <action> container"}``, ``?t=`` is ignored so a stop blocks for the
container's own StopTimeout, and ``env`` is parsed like JavaScript's ``parseInt``. Every container
is a real Docker container and every transition really happens. A background collector per
environment streams Docker's container events into SQLite, as Dockhand's collector does, for
``GET /api/activity``.

Auth is off unless asked for. When on, it is a single local admin user: cookie sessions from
``POST /api/auth/login`` (each a 24-hour session until ``POST /api/auth/logout``), ``dh_`` API tokens from
``POST /api/auth/tokens``, the global ``401`` hook and Dockhand's limiters (login lockout; the Bearer
lockout: after 15 rejected tokens within a minute every Bearer token from that address, valid ones
included, gets ``429`` with ``Retry-After: 300`` for 5 minutes).

What the real 1.0.36 showed beyond the first contract (section (e)) is served too: the listing leaves out
containers labelled ``dockhand.hidden=true`` (``GET /api/containers/{id}`` still reads them); an
environment whose Docker engine cannot be reached lists as ``200 []`` while ``POST
/api/environments/{id}/test`` says ``{"success": false, "error": ...}``; and ``POST
/api/containers/{id}/update-runtime`` changes restart policy and resource limits in place. Started with
``collector=False`` (``--no-collector``) it runs as Dockhand does without its collection-worker: everything
works, but the activity log stays empty.

Guesses beyond the contract (read from Dockhand's source, not checked live): ``update-runtime`` takes a
JSON object of Docker's own ``POST /containers/{id}/update`` fields (``RestartPolicy``, ``Memory``,
``MemorySwap``, ``NanoCpus``, ``CpuQuota``, ... ``PidsLimit``; the others are dropped silently), passes it
to the engine and answers ``200 {"success": true, "warnings": [...]}`` (Docker's warnings); a body that is
not JSON is ``400 {"error": "Invalid JSON body"}``, one without a supported field ``400 {"error": "No
supported fields provided", "supportedFields": [...]}``, an unknown container ``404 {"error": "Container
not found"}``, any other failure ``500 {"error": <Docker's message>}``.

Test helpers, never authenticated: ``GET /__admin/requests`` (method, path, query, auth outcome and
status of every request; never credentials or bodies), ``POST /__admin/reset`` (clears that log and
the rate limiters), ``POST /__admin/expire-sessions`` (drops every session, as a timeout would),
``GET /__admin/sessions`` (how many login sessions are alive).

Run it: ``python tests/servers/dockhand.py --port 0 [--auth --username U --password P] [--db PATH]
[--no-collector]`` prints ``LISTENING http://host:port``; or in-process: ``server = start_server(auth=True)``,
then ``server.url``, ``server.expire_sessions()``, ``server.sessions()``, ``server.requests()``,
``server.stop()``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import signal
import sqlite3
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import quote

import docker
import requests
from docker.errors import DockerException
from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.serving import BaseWSGIServer, make_server


def local_socket() -> str:
    """The socket of the engine this server runs on: DOCKER_HOST's path when it is a unix:// URL (the test suite's
    own engine), else Docker's default; where a real Dockhand's local environment points."""
    host = os.environ.get("DOCKER_HOST", "")
    return host[len("unix://"):] if host.startswith("unix://") else "/var/run/docker.sock"


ACTIONS = ("start", "stop", "restart", "pause", "unpause")
# The fields of Docker's POST /containers/{id}/update that update-runtime passes on (Dockhand's allowlist).
IN_PLACE_UPDATE_FIELDS = (
    "RestartPolicy", "CpuShares", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus",
    "CpusetMems", "NanoCpus", "Memory", "MemorySwap", "MemoryReservation", "MemorySwappiness", "KernelMemory",
    "BlkioWeight", "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps", "PidsLimit",
)
BATCH_OPERATIONS = (*ACTIONS, "remove")
RECORDED_EVENTS = frozenset(
    {"create", "start", "stop", "die", "kill", "restart", "pause", "unpause", "destroy", "rename", "update", "oom",
     "health_status"}
)
CONNECTION_TYPES = ("socket", "direct", "hawser-standard", "hawser-edge")
INVALID_ID_PARTS = ("..", "/", "\\", "%", "\x00")
PUBLIC_PATHS = ("/api/auth/login", "/api/auth/logout", "/api/auth/session", "/api/auth/settings",
                "/api/auth/providers", "/api/auth/oidc", "/api/license", "/api/changelog", "/api/dependencies",
                "/api/health", "/api/settings/theme")
WEBHOOK_PATH = re.compile(r"/api/git/(stacks/\d+/webhook|webhook/\d+)")
UNAUTHORIZED = {"error": "Unauthorized", "message": "Authentication required"}
SESSION_COOKIE = "dockhand_session"
SESSION_SECONDS = 86400
LOGIN_MAX_FAILURES, LOGIN_WINDOW, LOGIN_LOCKOUT = 5, 15 * 60, 15 * 60
BEARER_MAX_FAILURES, BEARER_WINDOW, BEARER_COOLDOWN = 15, 60, 300
BEARER_MAX_HEADER = 207
MAX_TOKENS_PER_USER = 25
BATCH_CONCURRENCY = 3
DIRECT_TIMEOUT = 30.0
RECONNECT_MIN, RECONNECT_MAX = 5.0, 60.0
GZIP_MIN_BYTES = 1024
GZIP_TYPES = ("application/json", "text/plain", "text/html")
HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy|health:\s*starting)\)", re.IGNORECASE)
CONNECTION_MESSAGES = (
    ("Connection refused", "Docker socket not accessible"),
    ("Connection reset", "Connection lost"),
    ("timed out", "Connection timeout"),
    ("Name or service not known", "Host not found"),
    ("Temporary failure in name resolution", "Host not found"),
    ("No route to host", "Host unreachable"),
)
ADMIN_PERMISSIONS = {
    "containers": ["view", "create", "start", "stop", "restart", "remove", "exec", "logs", "inspect"],
    "images": ["view", "pull", "push", "remove", "build", "inspect"],
    "volumes": ["view", "create", "remove", "inspect"],
    "networks": ["view", "create", "remove", "inspect", "connect", "disconnect"],
    "stacks": ["view", "create", "start", "stop", "remove", "edit"],
    "environments": ["view", "create", "edit", "delete"],
    "registries": ["view", "create", "edit", "delete"],
    "notifications": ["view", "create", "edit", "delete", "test"],
    "configsets": ["view", "create", "edit", "delete"],
    "settings": ["view", "edit"],
    "users": ["view", "create", "edit", "delete"],
    "git": ["view", "create", "edit", "delete"],
    "license": ["manage"],
    "audit_logs": ["view"],
    "activity": ["view"],
    "schedules": ["view", "edit", "run"],
}
_JS_INT = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|\d+)")

SCHEMA = """
CREATE TABLE IF NOT EXISTS environments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS container_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id INTEGER,
    container_id TEXT NOT NULL,
    container_name TEXT,
    image TEXT,
    action TEXT NOT NULL,
    actor_attributes TEXT,
    timestamp TEXT NOT NULL,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP
);
"""
EVENT_SELECT = """
SELECT e.*, env.name AS environment_name, json_extract(env.doc, '$.icon') AS environment_icon
FROM container_events e LEFT JOIN environments env ON env.id = e.environment_id
"""


# --------------------------------------------------------------------------- small helpers


def parse_int(text: Optional[str]) -> Optional[int]:
    """JavaScript's ``parseInt(text)``: a leading integer (``1abc`` is 1), None for NaN or no text."""
    match = _JS_INT.match(text or "")
    if match is None:
        return None
    sign, digits = match.groups()
    value = int(digits, 16) if digits[:2].lower() == "0x" else int(digits)
    return -value if sign == "-" else value


def iso_ms(epoch_ms: int) -> str:
    """JavaScript's ``Date.toISOString()`` for a time in milliseconds since the epoch."""
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def sql_now() -> str:
    """SQLite's ``CURRENT_TIMESTAMP`` (UTC, seconds)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def reply(body: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Response:
    """A JSON response serialised like ``JSON.stringify`` (compact, key order kept)."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Response(text, status, headers, mimetype="application/json")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _undefined(value: Any) -> str:
    """A value as a JavaScript template string shows it (``undefined`` for a missing one)."""
    return "undefined" if value is None else str(value)


# --------------------------------------------------------------------------- Docker


class DockerError(Exception):
    """A failed Docker call: ``status`` is the engine's HTTP status, None when it was not reached."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class EnvironmentNotFound(DockerError):
    """The ``env`` id names no environment."""


class Engine:
    """The Docker Engine API of one environment, called the way Dockhand calls it (never with ``t``)."""

    API_VERSION = "1.41"

    def __init__(self, env: dict[str, Any]) -> None:
        self.edge = env["connectionType"] == "hawser-edge"
        if env["connectionType"] == "socket":
            base_url, timeout = f"unix://{env['socketPath']}", None
        else:
            base_url, timeout = f"tcp://{env['host']}:{env['port']}", DIRECT_TIMEOUT
        self.client = docker.APIClient(base_url=base_url, version=self.API_VERSION, timeout=timeout,
                                       tls=env["protocol"] == "https")
        if env["connectionType"] == "hawser-standard" and env.get("hawserToken"):
            self.client.headers["X-Hawser-Token"] = env["hawserToken"]

    def call(self, method: str, path: str, params: Optional[dict[str, str]] = None, ok: tuple[int, ...] = (),
             body: Any = None) -> Any:
        """One API call (``body`` sent as JSON); error statuses in ``ok`` count as success, and so does 304
        (already started/stopped)."""
        if ".." in path:
            raise DockerError("Invalid Docker API path")
        if self.edge:
            raise DockerError("Hawser Edge agent is not connected")
        url = f"{self.client.base_url}/v{self.API_VERSION}{path}"
        try:
            response = self.client.request(method, url, params=params, json=body, timeout=self.client.timeout)
        except requests.RequestException as exc:
            text = str(exc)
            message = next((m for needle, m in CONNECTION_MESSAGES if needle in text), "Connection error")
            raise DockerError(message) from exc
        if response.status_code >= 400 and response.status_code not in ok:
            try:
                message = response.json()["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text or f"Docker API error: HTTP {response.status_code}"
            raise DockerError(message, response.status_code)
        return response.json() if response.headers.get("Content-Type", "").startswith("application/json") else None

    def inspect(self, ref: str) -> dict[str, Any]:
        return self.call("GET", f"/containers/{quote(ref, safe='')}/json")

    def operate(self, ref: str, operation: str, force: bool = True) -> None:
        """A lifecycle action, or ``remove`` (where 404, already gone, counts as done)."""
        if operation == "remove":
            self.call("DELETE", f"/containers/{quote(ref, safe='')}", {"force": str(bool(force)).lower()}, ok=(404,))
        else:
            self.call("POST", f"/containers/{quote(ref, safe='')}/{operation}")


# --------------------------------------------------------------------------- SQLite


class Store:
    """Environments and container events in SQLite: one connection shared by all threads under a lock."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.executescript(SCHEMA)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        with self._lock:
            return self._db.execute(sql, params).lastrowid or 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def environments(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM environments ORDER BY id")
        return [{"id": row["id"], **json.loads(row["doc"])} for row in rows]

    def environment(self, env_id: Optional[int] = None, name: Optional[str] = None) -> Optional[dict[str, Any]]:
        rows = self._rows("SELECT * FROM environments WHERE id = ? OR name = ?", (env_id, name))
        return {"id": rows[0]["id"], **json.loads(rows[0]["doc"])} if rows else None

    def add_environment(self, doc: dict[str, Any]) -> dict[str, Any]:
        env_id = self._write("INSERT INTO environments (name, doc) VALUES (?, ?)", (doc["name"], json.dumps(doc)))
        return {"id": env_id, **doc}

    def add_event(self, env_id: int, event: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO container_events (environment_id, container_id, container_name, image, action,"
            " actor_attributes, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (env_id, event["containerId"], event["containerName"], event["image"], event["action"],
             json.dumps(event["actorAttributes"]) if event["actorAttributes"] else None, event["timestamp"]),
        )

    def events(self, where: list[str], params: list[Any], limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Matching events, newest first (ties broken by id), and how many match in all."""
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        total = self._rows(f"SELECT count(*) FROM container_events e{clause}", tuple(params))[0][0]
        rows = self._rows(f"{EVENT_SELECT}{clause} ORDER BY e.timestamp DESC, e.id DESC LIMIT ? OFFSET ?",
                          (*params, limit, offset))
        return [_event_record(row) for row in rows], total

    def event_container_names(self, env_id: Optional[int]) -> list[str]:
        rows = self._rows("SELECT DISTINCT container_name FROM container_events WHERE container_name IS NOT NULL"
                          " AND (? IS NULL OR environment_id = ?) ORDER BY container_name", (env_id, env_id))
        return [row[0] for row in rows if row[0]]

    def event_stats(self, env_id: Optional[int], since: str) -> dict[str, Any]:
        """Event counts: all, since ``since``, and per action (one query, so they agree)."""
        rows = self._rows("SELECT action, count(*), sum(timestamp >= ?) FROM container_events"
                          " WHERE ? IS NULL OR environment_id = ? GROUP BY action", (since, env_id, env_id))
        return {"total": sum(row[1] for row in rows), "today": sum(row[2] for row in rows),
                "byAction": {row[0]: row[1] for row in rows}}

    def clear_events(self) -> None:
        self._write("DELETE FROM container_events")


def _event_record(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "environmentId": row["environment_id"],
        "containerId": row["container_id"],
        "containerName": row["container_name"],
        "image": row["image"],
        "action": row["action"],
        "actorAttributes": json.loads(row["actor_attributes"]) if row["actor_attributes"] else None,
        "timestamp": row["timestamp"],
        "createdAt": row["created_at"],
        "environmentName": row["environment_name"],
        "environmentIcon": row["environment_icon"],
    }


# --------------------------------------------------------------------------- activity collector


class Collector(threading.Thread):
    """Streams one environment's Docker container events into the store, like Dockhand's event worker.

    Only state changes are kept (``RECORDED_EVENTS``; Docker reports health only when it changes). The first connection
    asks for events since the collector started, so nothing between start-up and subscription is lost.
    """

    def __init__(self, store: Store, env_id: int, engine: Engine) -> None:
        super().__init__(daemon=True, name=f"dockhand-events-{env_id}")
        self.store, self.env_id, self.engine = store, env_id, engine
        self.connected = threading.Event()
        self._stopping = threading.Event()
        self._stream: Any = None
        self._since: Optional[str] = f"{time.time():.9f}"

    def run(self) -> None:
        delay = RECONNECT_MIN
        while not self._stopping.is_set():
            try:
                self._stream = self.engine.client.events(since=self._since, filters={"type": "container"}, decode=True)
                if self._stopping.is_set():
                    self._stream.close()
                    return
                self._since = None
                self.connected.set()
                delay = RECONNECT_MIN
                for event in self._stream:
                    self._record(event)
            except (DockerException, requests.RequestException, OSError):
                pass
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, RECONNECT_MAX)

    def stop(self) -> None:
        self._stopping.set()
        if self._stream is not None:
            self._stream.close()

    def _record(self, event: dict[str, Any]) -> None:
        if event.get("Type") != "container":
            return
        actor = event.get("Actor") or {}
        container_id, attributes = actor.get("ID", ""), dict(actor.get("Attributes") or {})
        action = event.get("Action", "")
        if action.startswith("health_status"):
            action, attributes["healthStatus"] = "health_status", action.partition(":")[2].strip()
        if action not in RECORDED_EVENTS:
            return
        self.store.add_event(self.env_id, {
            "containerId": container_id,
            "containerName": attributes.get("name"),
            "image": attributes.get("image"),
            "action": action,
            "actorAttributes": attributes,
            "timestamp": iso_ms(event["timeNano"] // 1_000_000),
        })


# --------------------------------------------------------------------------- auth


@dataclass
class User:
    """A local user; the free edition makes every user an admin."""

    id: int
    username: str
    password_digest: str
    email: Optional[str] = None
    display_name: Optional[str] = None
    avatar: Optional[str] = None


@dataclass
class ApiToken:
    """A ``dh_`` API token; only its digest and its 8-character prefix are kept."""

    id: int
    user_id: int
    name: str
    prefix: str
    digest: str
    expires_at: Optional[datetime]
    active: bool = True


@dataclass
class LoginFailures:
    """Failed logins of one ``ip:username`` pair."""

    attempts: int
    last: float
    locked_until: Optional[float] = None


class Auth:
    """Users, cookie sessions, API tokens and Dockhand's login and Bearer limiters, all in memory."""

    def __init__(self, enabled: bool, username: str, password: str) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._users = {1: User(1, username, _digest(password))}
        self._sessions: dict[str, tuple[int, float]] = {}
        self._tokens: list[ApiToken] = []
        self._logins: dict[str, LoginFailures] = {}
        self._bearer_failures: dict[str, tuple[int, float]] = {}
        self._bearer_cooldowns: dict[str, float] = {}

    def check_password(self, username: Any, password: Any) -> Optional[User]:
        user = next((u for u in self._users.values() if u.username == username), None)
        if user is None or not hmac.compare_digest(user.password_digest, _digest(str(password))):
            return None
        return user

    def create_session(self, user: User) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session_id] = (user.id, time.time() + SESSION_SECONDS)
        return session_id

    def session_user(self, session_id: Optional[str]) -> Optional[User]:
        with self._lock:
            user_id, expires = self._sessions.get(session_id or "", (0, 0.0))
            if expires and expires < time.time():
                del self._sessions[session_id or ""]
                return None
            return self._users.get(user_id)

    def drop_session(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def expire_sessions(self) -> int:
        """Forget every session, as if they had all timed out; returns how many there were."""
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
        return count

    def live_sessions(self) -> int:
        """How many login sessions have neither expired nor been logged out."""
        now = time.time()
        with self._lock:
            return sum(1 for _user, expires in self._sessions.values() if expires >= now)

    def login_retry_after(self, key: str) -> Optional[int]:
        """Seconds left of a lockout of ``ip:username``, None when not locked out."""
        now = time.monotonic()
        with self._lock:
            entry = self._logins.get(key)
            if entry is None:
                return None
            if entry.locked_until and entry.locked_until > now:
                return math.ceil(entry.locked_until - now)
            if now - entry.last > LOGIN_WINDOW:
                del self._logins[key]
            return None

    def login_failed(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            entry = self._logins.get(key)
            if entry is None or now - entry.last > LOGIN_WINDOW:
                self._logins[key] = LoginFailures(1, now)
                return
            entry.attempts, entry.last = entry.attempts + 1, now
            if entry.attempts >= LOGIN_MAX_FAILURES:
                entry.locked_until = now + LOGIN_LOCKOUT

    def login_succeeded(self, key: str) -> None:
        with self._lock:
            self._logins.pop(key, None)

    def bearer_blocked(self, ip: str) -> bool:
        now = time.monotonic()
        with self._lock:
            until = self._bearer_cooldowns.get(ip)
            if until is not None and now > until:
                del self._bearer_cooldowns[ip]
            return ip in self._bearer_cooldowns

    def bearer_failed(self, ip: str) -> None:
        """Count a bad Bearer token; the 15th within a minute starts a 5-minute cooldown for the IP."""
        now = time.monotonic()
        with self._lock:
            count, first = self._bearer_failures.get(ip, (0, now))
            if count == 0 or now - first > BEARER_WINDOW:
                self._bearer_failures[ip] = (1, now)
            elif count + 1 >= BEARER_MAX_FAILURES:
                self._bearer_cooldowns[ip] = now + BEARER_COOLDOWN
                del self._bearer_failures[ip]
            else:
                self._bearer_failures[ip] = (count + 1, first)

    def reset_limits(self) -> None:
        with self._lock:
            self._logins.clear()
            self._bearer_failures.clear()
            self._bearer_cooldowns.clear()

    def create_token(self, user: User, name: str, expires_at: Optional[datetime]) -> tuple[ApiToken, str]:
        raw = "dh_" + secrets.token_urlsafe(32)
        with self._lock:
            token = ApiToken(len(self._tokens) + 1, user.id, name, raw[3:11], _digest(raw), expires_at)
            self._tokens.append(token)
        return token, raw

    def active_tokens(self, user: User) -> int:
        with self._lock:
            return sum(1 for token in self._tokens if token.user_id == user.id and token.active)

    def token_user(self, raw: str) -> Optional[User]:
        now = datetime.now(timezone.utc)
        with self._lock:
            for token in self._tokens:
                if not token.active or token.prefix != raw[3:11]:
                    continue
                if token.expires_at and token.expires_at < now:
                    token.active = False
                elif hmac.compare_digest(token.digest, _digest(raw)):
                    return self._users.get(token.user_id)
        return None


# --------------------------------------------------------------------------- server state


@dataclass
class Job:
    """A batch run in job mode, polled through ``GET /api/jobs/{id}``."""

    id: str
    status: str = "running"
    lines: list[dict[str, Any]] = field(default_factory=list)
    result: Optional[dict[str, Any]] = None


class State:
    """Everything one server instance holds."""

    def __init__(self, auth: Auth, db_path: str, collector: bool = True) -> None:
        self.auth = auth
        self.collector = collector
        self.store = Store(db_path)
        self.jobs: dict[str, Job] = {}
        self.request_log: list[dict[str, Any]] = []
        self._engines: dict[int, Engine] = {}
        self._collectors: list[Collector] = []
        self._lock = threading.Lock()

    def engine(self, env_id: Optional[int]) -> Engine:
        """The engine of environment ``env_id``; raises DockerError as Dockhand's lookup does."""
        if not env_id:
            raise DockerError("No environment specified")
        env = self.store.environment(env_id)
        if env is None:
            raise EnvironmentNotFound(f"Environment {env_id} not found")
        with self._lock:
            return self._engines.setdefault(env_id, Engine(env))

    def watch(self, env: dict[str, Any]) -> Optional[Collector]:
        """Start collecting the activity of ``env`` if it wants it (and is not an edge environment).

        Without a collector (Dockhand's collection-worker binary missing) nothing is ever collected.
        """
        if not self.collector or not (env["collectActivity"] or env["collectMetrics"]) \
                or env["connectionType"] == "hawser-edge":
            return None
        collector = Collector(self.store, env["id"], self.engine(env["id"]))
        with self._lock:
            self._collectors.append(collector)
        collector.start()
        return collector

    def reset(self) -> None:
        self.request_log.clear()
        self.auth.reset_limits()

    def close(self) -> None:
        for collector in self._collectors:
            collector.stop()
        for collector in self._collectors:
            collector.join(timeout=5)
        self.store.close()


def new_environment(data: dict[str, Any]) -> dict[str, Any]:
    """The stored document of a new environment, with Dockhand's defaults."""
    now = sql_now()
    return {
        "name": data["name"],
        "host": data.get("host"),
        "port": data.get("port") or 2375,
        "protocol": data.get("protocol") or "http",
        "tlsCa": data.get("tlsCa") or None,
        "tlsCert": data.get("tlsCert") or None,
        "tlsKey": data.get("tlsKey") or None,
        "tlsSkipVerify": data.get("tlsSkipVerify") or False,
        "icon": data.get("icon") or "globe",
        "collectActivity": data.get("collectActivity") is not False,
        "collectMetrics": data.get("collectMetrics") is not False,
        "highlightChanges": data.get("highlightChanges") is not False,
        "labels": data["labels"] if isinstance(data.get("labels"), list) else [],
        "connectionType": data.get("connectionType") or "socket",
        "socketPath": data.get("socketPath") or local_socket(),
        "hawserToken": data.get("hawserToken"),
        "hawserLastSeen": None,
        "hawserAgentId": None,
        "hawserAgentName": None,
        "hawserVersion": None,
        "hawserCapabilities": None,
        "createdAt": now,
        "updatedAt": now,
        "publicIp": data.get("publicIp") or None,
    }


def run_batch(state: State, env_id: Optional[int], operation: str, items: list[Any], force: bool,
              job: Optional[Job] = None) -> dict[str, Any]:
    """Run ``operation`` on every item, three at a time; in job mode, log Dockhand's progress lines."""
    total, counts, lock = len(items), {"success": 0, "failed": 0}, threading.Lock()

    def emit(data: dict[str, Any]) -> None:
        if job is not None:
            with lock:
                job.lines.append({"data": data})

    def work(index: int, item: Any) -> None:
        ref = _undefined(item.get("id") if isinstance(item, dict) else None)
        name = _undefined(item.get("name") if isinstance(item, dict) else None)
        progress = {"type": "progress", "id": ref, "name": name}
        emit({**progress, "status": "processing", "current": index + 1, "total": total})
        try:
            state.engine(env_id).operate(ref, operation, force)
        except DockerError as exc:
            emit({**progress, "status": "error", "error": str(exc) or "Unknown error", "current": index + 1,
                  "total": total})
            outcome = "failed"
        else:
            emit({**progress, "status": "success", "current": index + 1, "total": total})
            outcome = "success"
        with lock:
            counts[outcome] += 1

    emit({"type": "start", "total": total})
    with ThreadPoolExecutor(BATCH_CONCURRENCY) as pool:
        list(pool.map(work, range(total), items))
    summary = {"type": "complete", "summary": {"total": total, **counts}}
    emit(summary)
    if job is not None:
        job.result, job.status = summary, "done"
    return summary


# --------------------------------------------------------------------------- HTTP: hooks


api = Blueprint("dockhand", __name__)


def _state() -> State:
    return current_app.extensions["dockhand"]


def _query_int(name: str) -> Optional[int]:
    """``value ? parseInt(value) : undefined`` for a query parameter."""
    return parse_int(request.args.get(name) or None)


def _is_public(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS) or bool(WEBHOOK_PATH.fullmatch(path))


def authenticate() -> Optional[Response]:
    """Dockhand's global hook: session cookie first, else ``Bearer dh_...`` on /api/; 401 without either."""
    state, path = _state(), request.path
    g.user, g.auth = None, "off"
    if not state.auth.enabled or path.startswith("/__admin/"):
        return None
    session_id = request.cookies.get(SESSION_COOKIE)
    header = request.headers.get("Authorization", "")
    g.user = state.auth.session_user(session_id)
    g.auth = "cookie" if g.user else ("invalid" if session_id or header else "none")
    if g.user is None and path.startswith("/api/") and header.startswith("Bearer dh_") \
            and len(header) <= BEARER_MAX_HEADER:
        ip = request.remote_addr or ""
        if state.auth.bearer_blocked(ip):
            return reply({"error": "Too many failed authentication attempts"}, 429,
                         {"Retry-After": str(BEARER_COOLDOWN)})
        g.user = state.auth.token_user(header[7:])
        if g.user:
            g.auth = "bearer"
        else:
            state.auth.bearer_failed(ip)
    if g.user is None and path.startswith("/api/") and not _is_public(path):
        return reply(UNAUTHORIZED, 401)
    return None


def finish(response: Response) -> Response:
    """Gzip bodies over 1 KB when the client accepts it, and log the request (never its credentials)."""
    if "gzip" in request.headers.get("Accept-Encoding", "") and not response.direct_passthrough \
            and "Content-Encoding" not in response.headers \
            and any(t in (response.content_type or "") for t in GZIP_TYPES) \
            and len(response.get_data()) >= GZIP_MIN_BYTES:
        response.set_data(gzip.compress(response.get_data()))
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
    if not request.path.startswith("/__admin/"):
        _state().request_log.append({
            "method": request.method,
            "path": request.path,
            "query": request.args.to_dict(),
            "auth": g.get("auth", "off"),
            "status": response.status_code,
        })
    return response


def method_not_allowed(error: MethodNotAllowed) -> Response:
    """SvelteKit's answer to a method the route does not export: plain text."""
    return Response(f"{request.method} method not allowed", 405, {"Allow": ", ".join(error.valid_methods or [])},
                    mimetype="text/plain")


# --------------------------------------------------------------------------- HTTP: environments


def _environment_view(env: dict[str, Any], listing: bool = False) -> dict[str, Any]:
    if not listing:
        return env
    return {**env, "updateCheckEnabled": False, "updateCheckAutoUpdate": False, "imagePruneEnabled": False,
            "timezone": "UTC"}


@api.get("/api/environments")
def list_environments() -> Response:
    return reply([_environment_view(env, listing=True) for env in _state().store.environments()])


@api.post("/api/environments")
def create_environment() -> Response:
    state, data = _state(), request.get_json(force=True, silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return reply({"error": "Failed to create environment"}, 500)
    if state.store.environment(name=data["name"]):
        return reply({"error": "An environment with this name already exists"}, 409)
    connection_type = data.get("connectionType") or "socket"
    if connection_type not in CONNECTION_TYPES:
        return reply({"error": f"Invalid connection type: {connection_type}"}, 400)
    if connection_type in ("direct", "hawser-standard") and not data.get("host"):
        return reply({"error": "Host is required for this connection type"}, 400)
    env = state.store.add_environment(new_environment(data))
    state.watch(env)
    return reply(_environment_view(env))


@api.get("/api/environments/<env_id>")
def get_environment(env_id: str) -> Response:
    env = _state().store.environment(parse_int(env_id))
    return reply(_environment_view(env)) if env else reply({"error": "Environment not found"}, 404)


@api.post("/api/environments/<env_id>/test")
def probe_environment(env_id: str) -> Response:
    state, number = _state(), parse_int(env_id)
    if not number or state.store.environment(number) is None:
        return reply({"error": "Environment not found"}, 404)
    try:
        info = state.engine(number).call("GET", "/info")
    except DockerError as exc:
        return reply({"success": False, "error": str(exc)})
    return reply({
        "success": True,
        "info": {"serverVersion": info.get("ServerVersion"), "containers": info.get("Containers"),
                 "images": info.get("Images"), "name": info.get("Name"), "engine": "docker"},
        "hawser": None,
    })


# --------------------------------------------------------------------------- HTTP: containers


def _invalid_id(ref: str) -> Optional[Response]:
    if any(part in ref for part in INVALID_ID_PARTS):
        return reply({"error": "Invalid container ID"}, 400)
    return None


def _system_container(image: str) -> Optional[str]:
    """Dockhand marks its own and Hawser's containers by their image."""
    lowered = image.lower()
    return "hawser" if "hawser" in lowered else "dockhand" if "dockhand" in lowered else None


def _container_summary(container: dict[str, Any], engine: Engine) -> dict[str, Any]:
    """One element of ``GET /api/containers``, from Docker's list entry."""
    status, state = container.get("Status") or "", container.get("State")
    names = container.get("Names") or [""]
    summary: dict[str, Any] = {
        "id": container["Id"],
        "name": re.sub(r"^/", "", names[0]) or "unnamed",
        "image": container.get("Image"),
        "state": state,
        "status": container.get("Status"),
        "created": container.get("Created"),
        "ports": container.get("Ports") or [],
        "networks": {net: {"ipAddress": data.get("IPAddress") or ""}
                     for net, data in ((container.get("NetworkSettings") or {}).get("Networks") or {}).items()},
    }
    health = HEALTH_IN_STATUS.search(status)
    if health:
        summary["health"] = "starting" if "starting" in health[1].lower() else health[1].lower()
    restart_count = 0
    if state == "restarting":
        with contextlib.suppress(DockerError):
            restart_count = engine.inspect(container["Id"]).get("RestartCount") or 0
    summary["restartCount"] = restart_count
    if state == "exited":
        code = re.search(r"\((\d+)\)", status)
        summary["exitCode"] = int(code[1]) if code else -1
    summary["mounts"] = [
        {"type": m.get("Type") or "unknown", "source": m.get("Source") or "", "destination": m.get("Destination") or "",
         "mode": m.get("Mode") or "", "rw": True if m.get("RW") is None else m["RW"]}
        for m in container.get("Mounts") or []
    ]
    summary["labels"] = container.get("Labels") or {}
    summary["command"] = container.get("Command") or ""
    summary["systemContainer"] = _system_container(container.get("Image") or "")
    return summary


@api.get("/api/containers")
def list_containers() -> Response:
    state, env_id = _state(), _query_int("env")
    if not state.store.environments() or not env_id:
        return reply([])
    try:
        engine = state.engine(env_id)
        everything = "false" if request.args.get("all") == "false" else "true"
        containers = engine.call("GET", "/containers/json", {"all": everything})
    except EnvironmentNotFound:
        return reply({"error": "Environment not found"}, 404)
    except DockerError:
        return reply([])
    return reply([_container_summary(c, engine) for c in containers
                   if (c.get("Labels") or {}).get("dockhand.hidden") != "true"])


@api.get("/api/containers/<ref>")
def inspect_container(ref: str) -> Response:
    invalid = _invalid_id(ref)
    if invalid:
        return invalid
    try:
        return reply(_state().engine(_query_int("env")).inspect(ref))
    except DockerError as exc:
        if exc.status == 404:
            return reply({"error": str(exc)}, 404)
        return reply({"error": "Failed to inspect container"}, 500)


@api.get("/api/containers/<ref>/inspect")
def inspect_container_with_divergence(ref: str) -> Response:
    invalid = _invalid_id(ref)
    if invalid:
        return invalid
    try:
        engine = _state().engine(_query_int("env"))
        details = engine.inspect(ref)
    except DockerError:
        return reply({"error": "Failed to inspect container"}, 500)
    config = details.get("Config") or {}
    if config.get("Image"):
        try:
            image = engine.call("GET", f"/images/{quote(config['Image'], safe='/:@')}/json").get("Config") or {}
        except DockerError:
            return reply(details)
        image_env = dict(entry.partition("=")[::2] for entry in image.get("Env") or [])
        env = dict(entry.partition("=")[::2] for entry in config.get("Env") or [])
        image_labels, labels = image.get("Labels") or {}, config.get("Labels") or {}
        details["divergence"] = {
            "env": [key for key, value in env.items() if key in image_env and image_env[key] != value],
            "labels": [key for key, value in labels.items() if key in image_labels and image_labels[key] != value],
        }
    return reply(details)


@api.post("/api/containers/<path:ref>/<any(start, stop, restart, pause, unpause):action>")
def container_action(ref: str, action: str) -> Response:
    invalid = _invalid_id(ref)
    if invalid:
        return invalid
    try:
        engine = _state().engine(_query_int("env"))
        if action == "stop":
            engine.inspect(ref)
        engine.operate(ref, action)
    except DockerError as exc:
        if action == "stop" and exc.status == 404:
            return reply({"error": str(exc)}, 404)
        return reply({"error": f"Failed to {action} container"}, 500)
    return reply({"success": True})


@api.post("/api/containers/<path:ref>/update-runtime")
def update_runtime(ref: str) -> Response:
    """Docker's in-place update (restart policy, resource limits) with only the fields Dockhand lets through."""
    invalid = _invalid_id(ref)
    if invalid:
        return invalid
    data = request.get_json(force=True, silent=True)
    if data is None:
        return reply({"error": "Invalid JSON body"}, 400)
    fields = {key: value for key, value in (data.items() if isinstance(data, dict) else ())
              if key in IN_PLACE_UPDATE_FIELDS and value is not None}
    if not fields:
        return reply({"error": "No supported fields provided", "supportedFields": list(IN_PLACE_UPDATE_FIELDS)}, 400)
    try:
        answer = _state().engine(_query_int("env")).call("POST", f"/containers/{quote(ref, safe='')}/update",
                                                         body=fields)
    except DockerError as exc:
        if exc.status == 404:
            return reply({"error": "Container not found"}, 404)
        return reply({"error": str(exc) or "Update failed"}, 500)
    return reply({"success": True, "warnings": (answer or {}).get("Warnings") or []})


@api.delete("/api/containers/<ref>")
def remove_container(ref: str) -> Response:
    invalid = _invalid_id(ref)
    if invalid:
        return invalid
    try:
        _state().engine(_query_int("env")).operate(ref, "remove", force=request.args.get("force") == "true")
    except DockerError:
        return reply({"error": "Failed to remove container"}, 500)
    return reply({"success": True})


@api.post("/api/batch")
def batch() -> Response:
    state, data = _state(), request.get_json(force=True, silent=True)
    if data is None:
        return reply({"error": "Invalid JSON body"}, 400)
    data = data if isinstance(data, dict) else {}
    operation, items = data.get("operation"), data.get("items")
    if data.get("entityType") != "containers":
        entity = _undefined(data.get("entityType"))
        return reply({"error": f"Invalid entity type: {entity}. Supported: containers"}, 400)
    if operation not in BATCH_OPERATIONS:
        return reply({"error": f"Invalid operation '{_undefined(operation)}' for containers. "
                               f"Supported: {', '.join(BATCH_OPERATIONS)}"}, 400)
    if not isinstance(items, list) or not items:
        return reply({"error": "items array is required and must not be empty"}, 400)
    options = data.get("options") if isinstance(data.get("options"), dict) else {}
    force, env_id = options.get("force", True) is not False, _query_int("env")
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "text/event-stream" not in accept:
        return reply(run_batch(state, env_id, operation, items, force))
    job = Job(str(uuid.uuid4()))
    state.jobs[job.id] = job
    threading.Thread(target=run_batch, args=(state, env_id, operation, items, force, job), daemon=True).start()
    return reply({"jobId": job.id})


@api.get("/api/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    job = _state().jobs.get(job_id)
    if job is None:
        return reply({"error": "Job not found"}, 404)
    return reply({"id": job.id, "status": job.status, "lines": list(job.lines), "result": job.result})


# --------------------------------------------------------------------------- HTTP: activity


@api.get("/api/activity")
def activity() -> Response:
    store, args = _state().store, request.args
    limit, offset = _query_int("limit") or 100, _query_int("offset") or 0
    where: list[str] = []
    params: list[Any] = []
    env_id = _query_int("environmentId")
    labels = [label for label in (args.get("labels") or "").split(",") if label]
    if env_id:
        where.append("e.environment_id = ?")
        params.append(env_id)
    elif labels:
        env_ids = [env["id"] for env in store.environments() if set(labels) & set(env.get("labels") or [])]
        if not env_ids:
            return reply({"events": [], "total": 0, "limit": limit, "offset": offset})
        where.append(f"e.environment_id IN ({', '.join('?' * len(env_ids))})")
        params.extend(env_ids)
    actions = [action for action in (args.get("actions") or "").split(",") if action]
    for column, value in (("e.container_id = ?", args.get("containerId")),
                          ("e.container_name LIKE ?", args.get("containerName") and f"%{args['containerName']}%"),
                          ("e.timestamp >= ?", args.get("fromDate")), ("e.timestamp <= ?", args.get("toDate"))):
        if value:
            where.append(column)
            params.append(value)
    if actions:
        where.append(f"e.action IN ({', '.join('?' * len(actions))})")
        params.extend(actions)
    events, total = store.events(where, params, limit, offset)
    return reply({"events": events, "total": total, "limit": limit, "offset": offset})


@api.delete("/api/activity")
def clear_activity() -> Response:
    _state().store.clear_events()
    return reply({"success": True})


@api.get("/api/activity/containers")
def activity_containers() -> Response:
    return reply(_state().store.event_container_names(_query_int("environment_id") or None))


@api.get("/api/activity/stats")
def activity_stats() -> Response:
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    since = iso_ms(int(midnight.timestamp() * 1000))
    return reply(_state().store.event_stats(_query_int("environment_id") or None, since))


@api.get("/api/audit")
def audit_log() -> Response:
    return reply({"error": "Enterprise license required", "status": 403}, 403)


# --------------------------------------------------------------------------- HTTP: auth


def _session_cookie(value: str, max_age: int) -> dict[str, str]:
    return {"Set-Cookie": f"{SESSION_COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax"}


@api.post("/api/auth/login")
def login() -> Response:
    auth = _state().auth
    if not auth.enabled:
        return reply({"error": "Authentication is not enabled"}, 400)
    data = request.get_json(force=True, silent=True)
    if data is None:
        return reply({"error": "Login failed"}, 500)
    data = data if isinstance(data, dict) else {}
    username, password = data.get("username"), data.get("password")
    if not username or not password:
        return reply({"error": "Username and password are required"}, 400)
    key = f"{request.remote_addr}:{username}"
    retry_after = auth.login_retry_after(key)
    if retry_after:
        return reply({"error": f"Too many login attempts. Please try again in {retry_after} seconds."}, 429)
    provider = data.get("provider", "local")
    ldap = isinstance(provider, str) and provider.startswith("ldap")
    user = None if ldap else auth.check_password(username, password)
    if user is None:
        auth.login_failed(key)
        return reply({"error": "No LDAP configuration available" if ldap else "Invalid username or password"}, 401)
    auth.login_succeeded(key)
    body = {"success": True, "user": {"id": user.id, "username": user.username, "email": user.email,
                                      "displayName": user.display_name, "isAdmin": True}}
    return reply(body, headers=_session_cookie(auth.create_session(user), SESSION_SECONDS))


@api.get("/api/auth/session")
def session() -> Response:
    auth = _state().auth
    if not auth.enabled:
        return reply({"authenticated": False, "authEnabled": False})
    user = auth.session_user(request.cookies.get(SESSION_COOKIE))
    if user is None:
        return reply({"authenticated": False, "authEnabled": True})
    return reply({"authenticated": True, "authEnabled": True, "user": {
        "id": user.id, "username": user.username, "email": user.email, "displayName": user.display_name,
        "avatar": user.avatar, "isAdmin": True, "provider": "local", "permissions": ADMIN_PERMISSIONS,
    }})


@api.post("/api/auth/logout")
def logout() -> Response:
    _state().auth.drop_session(request.cookies.get(SESSION_COOKIE, ""))
    return reply({"success": True}, headers=_session_cookie("", 0))


@api.post("/api/auth/tokens")
def create_token() -> Response:
    auth = _state().auth
    if not auth.enabled:
        return reply({"error": "Authentication is not enabled"}, 400)
    if g.auth == "bearer":
        return reply({"error": "Token creation requires a session login, not a Bearer token"}, 403)
    data = request.get_json(force=True, silent=True)
    if data is None:
        return reply({"error": "Invalid request body"}, 400)
    data = data if isinstance(data, dict) else {}
    name, password, expires = data.get("name"), data.get("password"), data.get("expiresAt")
    if not password or not isinstance(password, str):
        return reply({"error": "Password is required to create an API token"}, 400)
    if auth.check_password(g.user.username, password) is None:
        return reply({"error": "Invalid password"}, 403)
    if auth.active_tokens(g.user) >= MAX_TOKENS_PER_USER:
        return reply({"error": f"Maximum of {MAX_TOKENS_PER_USER} API tokens per user"}, 400)
    if not isinstance(name, str) or not name.strip():
        return reply({"error": "Token name is required"}, 400)
    if len(name) > 255:
        return reply({"error": "Token name must be 255 characters or less"}, 400)
    expires_at = None
    if expires:
        try:
            expires_at = datetime.fromisoformat(str(expires))
        except ValueError:
            return reply({"error": "Invalid expiration date"}, 400)
        expires_at = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=timezone.utc)
        if expires_at <= datetime.now(timezone.utc):
            return reply({"error": "Expiration date must be in the future"}, 400)
    token, raw = auth.create_token(g.user, name.strip(), expires_at)
    return reply({"id": token.id, "token": raw, "tokenPrefix": token.prefix}, 201, {"Cache-Control": "no-store"})


# --------------------------------------------------------------------------- HTTP: test helpers


@api.get("/__admin/requests")
def admin_requests() -> Response:
    return reply(list(_state().request_log))


@api.post("/__admin/reset")
def admin_reset() -> Response:
    _state().reset()
    return reply({"success": True})


@api.post("/__admin/expire-sessions")
def admin_expire_sessions() -> Response:
    return reply({"expired": _state().auth.expire_sessions()})


@api.get("/__admin/sessions")
def admin_sessions() -> Response:
    return reply({"sessions": _state().auth.live_sessions()})


# --------------------------------------------------------------------------- running it


def create_app(state: State) -> Flask:
    """The Flask app serving ``state``."""
    app = Flask(__name__)
    app.extensions["dockhand"] = state
    app.before_request(authenticate)
    app.after_request(finish)
    app.register_error_handler(MethodNotAllowed, method_not_allowed)
    app.register_blueprint(api)
    return app


class DockhandServer:
    """A server running in a background thread, with helpers for tests."""

    def __init__(self, state: State, httpd: BaseWSGIServer, host: str) -> None:
        self.state = state
        self.url = f"http://{host}:{httpd.server_port}"
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, daemon=True, name="dockhand-http")
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self.state.close()

    def expire_sessions(self) -> int:
        """Drop every login session (clients must log in again); returns how many there were."""
        return self.state.auth.expire_sessions()

    def sessions(self) -> int:
        """How many login sessions are alive (neither expired nor logged out)."""
        return self.state.auth.live_sessions()

    def requests(self) -> list[dict[str, Any]]:
        """What clients sent so far: method, path, query, auth outcome, status."""
        return list(self.state.request_log)

    def reset(self) -> None:
        """Clear the request log and the rate limiters."""
        self.state.reset()


def start_server(auth: bool = False, username: str = "admin", password: str = "dockhand-test",
                 host: str = "127.0.0.1", port: int = 0, db_path: str = ":memory:",
                 local_environment: bool = True, socket_path: Optional[str] = None,
                 collector: bool = True) -> DockhandServer:
    """Start a server; with ``local_environment`` it has environment 1 ``local`` on ``socket_path`` (default:
    ``local_socket()``).

    Returns once the activity collectors are subscribed to Docker's events; ``collector=False`` runs
    none, as a Dockhand without its collection-worker does.
    """
    state = State(Auth(auth, username, password), db_path, collector)
    if local_environment and state.store.environment(name="local") is None:
        state.store.add_environment(new_environment({"name": "local", "socketPath": socket_path or local_socket()}))
    for collector in [state.watch(env) for env in state.store.environments()]:
        if collector is not None:
            collector.connected.wait(timeout=5)
    httpd = make_server(host, port, create_app(state), threaded=True)
    return DockhandServer(state, httpd, host)


def main(argv: Optional[list[str]] = None) -> None:
    """Command line: serve until killed."""
    parser = argparse.ArgumentParser(description="Dockhand v1.0.36 look-alike test server on the real Docker engine")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--auth", action="store_true", help="turn authentication on")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", help="the user's password (required with --auth)")
    parser.add_argument("--db", default=":memory:", help="SQLite file for environments and activity")
    parser.add_argument("--socket", default=local_socket(), help="Docker socket of environment 1 (DOCKER_HOST's)")
    parser.add_argument("--no-environment", action="store_true", help="start with no environment, like a fresh install")
    parser.add_argument("--no-collector", action="store_true",
                        help="collect no activity, like a Dockhand without its collection-worker")
    args = parser.parse_args(argv)
    if args.auth and not args.password:
        parser.error("--auth needs --password")
    server = start_server(auth=args.auth, username=args.username, password=args.password or "dockhand-test",
                          host=args.host, port=args.port, db_path=args.db,
                          local_environment=not args.no_environment, socket_path=args.socket,
                          collector=not args.no_collector)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"LISTENING {server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
