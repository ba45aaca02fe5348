#!/usr/bin/env python3
"""A Hoody API v1 lifecycle server for tests, backed by the real Docker engine.

Every Hoody container is a real Docker container labelled ``hoody.project=<24-hex project id>``;
its Hoody id is the value of its ``hoody.id`` label when it has one (containers the server recreated
for a snapshot restore), else the first 24 hex characters of the Docker id. Lifecycle operations are
accepted at once and performed in a background thread after an acceptance delay, so clients must
poll, as they must against the real API. Transitions are recorded as status logs in SQLite.

Status mapping (Docker -> Hoody): running and restarting -> ``running`` (Hoody has no restarting
state), paused -> ``paused``, created and exited -> ``stopped``, dead -> ``failed``, removing ->
``deleting``. Server-side overrides win: ``failed`` (fault injection or a failed background Docker
call; sticky until delete or reset) and ``deleting`` (async delete). While an operation is pending,
the status accepted is held until the Docker call has finished and its log row is written.

Runtime details: ``GET /api/v1/containers/{id}?runtime=true`` (or a JSON object of sections, ``{}`` for all) adds
``runtime_info`` with ``services`` (the ``docker top`` processes as service units) and ``network_services`` (the
exposed and published ports as sockets listening on 0.0.0.0, with null pid/user/program), null unless the
container runs; the list ignores ``runtime``. ``GET /api/v1/containers/{id}/stats`` answers Docker's one-shot
stats in Hoody's shape: ``processes``, ``cpu {usage (ns), allocated_time: null, usage_percent (average since
the start)}``, ``memory {usage, total, usage_percent}`` and ``network[]`` (``lo``, then ``eth<n>`` per Docker
network with ``addresses`` as ``ip/prefix``); those are null (``network`` empty) unless it runs. Units are guesses.

Beyond the lifecycle: ``PUT /api/v1/containers/{id}`` (partial update; ``autostart`` becomes the Docker
restart policy ``unless-stopped``/``no``, ``name`` a Docker rename, the rest is kept in SQLite); the env
endpoints (the Hoody env lives in SQLite, seeded from Docker's ``Config.Env`` minus ``PATH``, since Docker
cannot change a container's env); snapshots (``docker commit`` to ``hoody-snapshots/<id>:<name>``, metadata
in SQLite; restore recreates the container from the image); proxy aliases (records in SQLite) and a real
proxy, ``GET /__proxy/<alias>/<path>`` (no auth, no faults, not in the request log), which forwards a GET to
the container's IP on its first network, port ``port`` or 80, and answers the upstream's status and body.

Run it: ``python tests/servers/hoody.py --port 0 --token T`` prints ``LISTENING http://host:port``;
or in-process: ``server = start_server(token="T")`` then ``server.url``, ``server.admin(...)``,
``server.stop()``.

Fault injection (no auth), JSON: ``POST /__admin/faults`` with any of ``status_503``, ``status_429``
+ ``retry_after``, ``delay_ms``, ``drop``, ``drop_after``, ``empty_body``, ``bad_body`` (+ ``bad_body_json``
or ``bad_body_text``), ``only_methods``, ``only_path``, ``invalid_state`` (409, 400 or ``"data_error"``),
``accept_delay``, ``snapshot_delay`` (seconds a snapshot create, restore or delete holds the container's
snapshot lock before calling Docker), ``max_snapshots`` (per-container cap, null for none), ``max_page_size``
(pages of container listings and status logs hold at most this many entries whatever ``limit`` asks, and
``pagination.limit`` says so), ``delete_after_page`` (``{page, ids}``: once that page of a container listing is
served, the containers of ``ids`` on it are deleted as ``DELETE`` would) and ``log_after_page`` (``{page,
count}``: once that page of a status log is served, ``count`` restarts ``running -> running`` are appended to
it); the two ``*_after_page`` changes happen once, before the next request;
``GET /__admin/faults``; ``POST /__admin/fail/<id>``; ``POST /__admin/reset`` (also forgets snapshots,
removing their images, env, updated fields and aliases); ``GET /__admin/requests``.
The counters (``status_503``, ``status_429``, ``drop``, ``drop_after``, ``empty_body``, ``bad_body``) count
down per API request they apply to; one request meets at most one of them (in that order: ``drop``,
``drop_after``, ``status_503``, ``status_429``, ``bad_body``, ``empty_body``), and only requests whose method
is in ``only_methods`` (null: any) and whose path contains ``only_path`` (null: any) meet faults or
``delay_ms``. ``drop`` closes the connection before the request is processed (the server does not act);
``drop_after`` processes it (a lifecycle operation is accepted and carried out) and then closes the
connection without answering. ``status_429`` answers with ``Retry-After: <retry_after>``, which may be a
number of seconds or any text (``"soon"``, ``"nan"``, an HTTP date). ``empty_body`` applies only to
``GET /api/v1/containers/<id>``: it answers 200 with an empty body (``Content-Type: application/json``).
``bad_body`` processes the request (so a POST still acts), then answers ``bad_body_status`` (200 unless set: a
status code, or a whole status line such as ``"500 Oops"`` whose reason phrase is sent as it is, control
characters included) with ``bad_body_text`` verbatim
(``text/plain``) when set, else with ``bad_body_json`` (any JSON document, default ``null``) as
``application/json``. The request log records each request's fault and the status answered (None when
the connection was dropped).

Guesses beyond the contract (check them against a live server): 404 for ``/api/v1/containers``
without the slash and for unknown routes (Fastify style); 401 codes MISSING_TOKEN / INVALID_TOKEN;
409 without a ``code`` for a disallowed operation, for a second operation while one is pending, and
for deleting a container that is not stopped or failed; validation 400s as ``querystring/<name> ...``
with ``data[{instancePath, message}]``; manage answers before acting, with the status at acceptance;
delete answers ``data: null`` and logs one row ``<status> -> deleted``; a failed Docker call logs
``-> failed`` (triggered_by ``user``, ``metadata.error``); status logs stay readable after deletion;
an unknown project lists as empty; ``totalPages`` is 0 when nothing matches.
Update and env: body validation 400s as ``body/<name> ...``; unknown body keys are 400 ``body must NOT
have additional properties``; a missing or non-object body where one is needed is 400 ``body must be
object`` (bodiless routes accept an empty body whatever the Content-Type); invalid JSON is 400
FST_ERR_CTP_INVALID_JSON_BODY; validation comes before the 403 for a read-only token, which comes before
the 404; ``environment_vars`` in an update is merged like ``PUT .../env``; env names must match
``[A-Za-z_][A-Za-z0-9_]*`` and ``HOODY_`` names (any case) are 400 (also in an update and on delete);
values are strings of at most 32768 chars; the container object's ``environment_vars`` is that same Hoody
env (so no ``PATH``); writes answer ``synced: true``; ``name`` must also be a valid Docker name (400) and
a name in use is 409; an update is 409 while the container is ``deleting`` or a snapshot restore runs, and
allowed in any other status; ``color`` is stored as ``#RRGGBB``/``#RGB`` uppercased; ``color``, ``ai``,
``ramdisk``, ``ramdisk_scope``, ``ssh_public_key`` and ``realm_ids`` are validated, stored and reported
only once set (``comment``, ``last_used_snapshot``, ``snapshot_count``, ``proxy_domains_count`` and
``has_proxy_domains`` always); ``autostart: true`` keeps an ``always`` policy; the ``hoody.image`` label
keeps ``container_image`` the original image after a restore.
Snapshots: create is synchronous and answers 200 with the snapshot; names are ``snap-<12 hex>``; the
``{name}`` path segment matches names only (an alias is 404); snapshots list oldest first;
``last_used_at`` starts equal to ``created_at``; ``size`` is the bytes of the committed layer;
``expires_at`` is recorded, never enforced; create and restore are 409 for a ``paused`` or ``deleting``
container and while a lifecycle operation is pending (they hold the status too, so a manage call or a
delete meanwhile is 409); create, restore and delete are 409 while another snapshot operation on the
container runs or while it is ``deleting``; alias updates never conflict; over ``max_snapshots`` is 409
CONTAINER_SNAPSHOT_LIMIT with ``data {container_id, snapshot_count, max_snapshots}``; restore is
synchronous: it kills the processes (``docker stop -t 0``), recreates the container from the snapshot
image with the same name, Hoody id (``hoody.id`` label), Hoody env, labels, mounts (anonymous volumes
re-attached), networks, ports and restart policy, starts it (also from ``stopped`` or ``failed``), sets
``last_used_snapshot`` and the snapshot's ``last_used_at``, logs ``<status> -> stopped`` (unless already
stopped) and ``stopped -> running`` with ``metadata {command: "restore", snapshot}``, and answers ``data
{success: true, message, snapshot}``; meanwhile the container keeps its name and Hoody id (status
``stopped`` between the two rows) and lists once; the restored Docker container carries the image's
``hoody.snapshot.*`` labels, and Docker's own env keeps keys of the snapshot image that the Hoody env has
since deleted; deleting a snapshot untags the image (Docker keeps it while the container runs from it);
deleting a container also deletes its snapshots, env, fields and aliases.
Proxy aliases: ``port`` is kept but not echoed, ``index`` is not used as a port; the program must be one
of terminal, files, code, browser, agent, display, exec, vnc, http, https, ssh or ``http(s)-<port>``;
``container_id``, ``project_id`` and ``realm_id`` queries must be 24-hex (``realm_id`` is ignored);
``expired`` absent lists both; lists are oldest first; an unknown ``container_id`` on create is 404; an
alias ``null``/``false``/absent on create (``null``/``false`` on update) gets a fresh 48-hex name; the
record's ``user_id`` and ``server_id`` are fixed per server, ``server_name`` is ``test-server``,
``subserver_name`` is null, and ``url`` is ``http://<host:port of the request>/__proxy/<alias>/``; get's
``project.alias`` is null; the proxy answers 404 for a disabled, expired or unknown alias and 502 when the
container has no IP or the upstream does not answer (2 s to connect, 10 s to read); ``target_path`` is
used when the request has no path or ``allow_path_override`` is false; get and the lists take
``include_proxy_domains`` (400 unless ``"true"``/``"false"``) and then add ``proxy_domains[]`` built from
these records.
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
from datetime import datetime, timedelta, timezone
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
ID_LABEL = "hoody.id"
IMAGE_LABEL = "hoody.image"
SNAPSHOT_LABEL_PREFIX = "hoody.snapshot."
SNAPSHOT_CONTAINER_LABEL = "hoody.snapshot.container"
SNAPSHOT_NAME_LABEL = "hoody.snapshot.name"
SNAPSHOT_REPOSITORY = "hoody-snapshots"
HEX24 = re.compile(r"[0-9a-f]{24}")
OPERATIONS = ("start", "stop", "force-stop", "restart", "pause", "resume")
ALLOWED_OPERATIONS = {
    "running": ("stop", "force-stop", "restart", "pause"),
    "stopped": ("start", "restart"),
    "paused": ("resume",),
}
DELETABLE = ("stopped", "failed")
SNAPSHOTTABLE = ("running", "stopped", "failed")
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
RUNTIME_SECTIONS = ("services", "network_services")  # of runtime_info; no displays or terminals here
LOG_SORTS = ("transition_time", "created_at", "to_status", "from_status")
INVALID_STATE_MODES = (409, 400, "data_error")
# The fault counters, in the order a request meets them (one at most per request).
COUNTERS = ("drop", "drop_after", "status_503", "status_429", "bad_body", "empty_body")
CONTAINER_PATH = re.compile(r"/api/v1/containers/[^/]+")
DROP_KEY = "hoody.drop"
DROP_AFTER_KEY = "hoody.drop_after"
DOCKER_TIMEOUT = 300
DEFAULT_STOP_TIMEOUT = 10
AUTH_ERRORS = {
    "missing": ("MISSING_TOKEN", "Authorization token required"),
    "malformed": ("INVALID_TOKEN", "Authorization header must be 'Bearer <token>'"),
    "invalid": ("INVALID_TOKEN", "Invalid or expired token"),
}
DOCKER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
COLOR = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_VALUE_MAX = 32768
SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9_-]+")
ALIAS_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,59}[a-z0-9]")
RESERVED_ALIASES = ("containers", "proxy", "workspaces")
PROGRAMS = ("terminal", "files", "code", "browser", "agent", "display", "exec", "vnc", "http", "https", "ssh")
PORT_PROGRAM = re.compile(r"(https?)-(\d{1,5})")
ALIAS_FIELDS = ("id", "user_id", "project_id", "container_id", "alias", "program", "index", "target_path",
                "allow_path_override", "expires_at", "enabled", "created_at", "updated_at", "server_id",
                "server_name", "subserver_name")  # fmt: skip
PROXY_DOMAIN_FIELDS = ("id", "alias", "program", "index", "target_path", "allow_path_override", "expires_at",
                       "enabled", "created_at", "updated_at")  # fmt: skip
SERVER_NAME = "test-server"
PROXY_CONNECT_TIMEOUT, PROXY_READ_TIMEOUT = 2.0, 10.0


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


def iso(moment: datetime) -> str:
    """A datetime as ISO 8601 UTC with milliseconds."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso() -> str:
    """The current time as ISO 8601 UTC with milliseconds."""
    return iso(datetime.now(timezone.utc))


def docker_time(value: Optional[str]) -> Optional[str]:
    """Docker's nanosecond RFC 3339 UTC timestamp as ISO 8601 with milliseconds; None for the zero time."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", value or "")
    if not match or match.group(1).startswith("0001-"):
        return None
    return f"{match.group(1)}.{(match.group(2) or '').ljust(3, '0')[:3]}Z"


def created_key(attrs: dict[str, Any]) -> str:
    """A sortable form of Docker's ``Created`` (its fraction has no trailing zeros, so pad it)."""
    match = re.fullmatch(r"([^.Z]+)(?:\.(\d+))?Z", attrs.get("Created") or "")
    return f"{match.group(1)}.{(match.group(2) or '').ljust(9, '0')}" if match else ""


def hoody_id(attrs: dict[str, Any]) -> str:
    """A Docker container's Hoody id: its ``hoody.id`` label, else the first 24 hex chars of its Docker id."""
    label = (attrs["Config"].get("Labels") or {}).get(ID_LABEL, "")
    return label if HEX24.fullmatch(label) else attrs["Id"][:24]


def project_of(attrs: dict[str, Any]) -> str:
    """A Docker container's ``hoody.project`` label ("" when missing)."""
    return (attrs["Config"].get("Labels") or {}).get(PROJECT_LABEL, "")


def validation_error(location: str, name: str, problem: str) -> ApiError:
    """A schema-validation style 400 naming the offending parameter."""
    return ApiError(400, f"{location}/{name} {problem}", data=[{"instancePath": f"/{name}", "message": problem}])


def body_error(problem: str) -> ApiError:
    """A schema-validation style 400 about the body as a whole."""
    return ApiError(400, f"body {problem}", data=[{"instancePath": "", "message": problem}])


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


def query_id(name: str) -> Optional[str]:
    """An optional 24-hex query parameter."""
    value = request.args.get(name)
    if value is not None and not HEX24.fullmatch(value):
        raise validation_error("querystring", name, 'must match pattern "^[0-9a-f]{24}$"')
    return value


def query_flag(name: str) -> Optional[bool]:
    """An optional ``"true"``/``"false"`` query parameter."""
    value = request.args.get(name)
    return None if value is None else query_choice(name, "", ("true", "false")) == "true"


def check_id(value: str) -> None:
    """Reject anything but a 24-char lowercase hex id with 400 INVALID_ID_FORMAT."""
    if not HEX24.fullmatch(value):
        raise ApiError(400, "Invalid ID format", "INVALID_ID_FORMAT")


def request_body(required: bool = True) -> dict[str, Any]:
    """The JSON object body; an empty body is ``{}`` unless one is required."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise body_error("must be object")
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(
            400, "Body is not valid JSON but content-type is set to 'application/json'", "FST_ERR_CTP_INVALID_JSON_BODY"
        ) from exc
    if not isinstance(body, dict):
        raise body_error("must be object")
    return body


def only_keys(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """400 when ``body`` has a key outside ``allowed``."""
    if set(body) - set(allowed):
        raise body_error("must NOT have additional properties")


def require_keys(body: dict[str, Any], *names: str) -> None:
    """400 for the first of ``names`` missing from ``body``."""
    for name in names:
        if name not in body:
            raise body_error(f"must have required property '{name}'")


def check_type(name: str, value: Any, kind: str, nullable: bool = False) -> None:
    """400 unless ``value`` is a JSON ``kind`` (string, boolean, integer, object, array), or null if allowed."""
    if value is None and nullable:
        return
    checks = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }
    if not checks[kind]:
        raise validation_error("body", name, f"must be {kind}")


def check_env(env: Any, location: str, prefix: str = "") -> dict[str, str]:
    """A validated env map: names per ENV_NAME and not ``HOODY_``, string values of at most 32768 chars."""
    if not isinstance(env, dict):
        raise validation_error(location, prefix.rstrip("/") or "environment_vars", "must be object")
    for key, value in env.items():
        check_env_name(key)
        if not isinstance(value, str):
            raise validation_error(location, f"{prefix}{key}", "must be string")
        if len(value) > ENV_VALUE_MAX:
            raise validation_error(location, f"{prefix}{key}", f"must NOT have more than {ENV_VALUE_MAX} characters")
    return dict(env)


def check_env_name(key: str) -> None:
    """400 for an invalid or reserved environment variable name."""
    if key.upper().startswith("HOODY_"):
        raise ApiError(400, f"Environment variable {key} is reserved: names starting with HOODY_ cannot be set")
    if not ENV_NAME.fullmatch(key):
        raise ApiError(400, f"Invalid environment variable name: {key}")


def parse_time(name: str, value: Any, numbers: bool) -> Optional[str]:
    """An ISO 8601 string (or, when ``numbers``, Unix seconds or milliseconds) as ISO with ms, or None."""
    if value is None:
        return None
    if numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return iso(datetime.fromtimestamp(seconds, timezone.utc))
        except (OverflowError, OSError, ValueError) as exc:
            raise validation_error("body", name, "must be a valid date") from exc
    if not isinstance(value, str):
        raise validation_error("body", name, "must be string")
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise validation_error("body", name, 'must match format "date-time"') from exc
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))


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


# Changes made once a given page has been served (test knobs): name -> the shape of its value.
PAGE_HOOKS = {"delete_after_page": "{page: n >= 1, ids: [container ids]}",
              "log_after_page": "{page: n >= 1, count: k >= 1}"}  # fmt: skip


def page_hook_ok(key: str, value: Any) -> bool:
    """Whether ``value`` has the shape ``PAGE_HOOKS[key]`` says."""
    if not isinstance(value, dict) or not isinstance(value.get("page"), int) or value["page"] < 1:
        return False
    if key == "delete_after_page":
        ids = value.get("ids")
        return set(value) == {"page", "ids"} and isinstance(ids, list) and all(isinstance(i, str) for i in ids)
    count = value.get("count")
    return set(value) == {"page", "count"} and isinstance(count, int) and not isinstance(count, bool) and count >= 1


def paginate(items: list[Any], page: int, limit: int) -> tuple[list[Any], dict[str, int]]:
    """One page of ``items`` and its pagination block."""
    pagination = {"total": len(items), "page": page, "limit": limit, "totalPages": math.ceil(len(items) / limit)}
    return items[(page - 1) * limit : page * limit], pagination


@dataclass
class Faults:
    """Injected faults and behaviour switches; counters count down per matching API request."""

    status_503: int = 0
    status_429: int = 0
    retry_after: Union[int, str] = 1
    delay_ms: int = 0
    drop: int = 0
    drop_after: int = 0
    empty_body: int = 0
    bad_body: int = 0
    bad_body_json: Any = None
    bad_body_text: Optional[str] = None
    bad_body_status: Union[int, str] = 200
    only_methods: Optional[list[str]] = None
    only_path: Optional[str] = None
    invalid_state: Union[int, str] = 409
    accept_delay: float = 0.3
    snapshot_delay: float = 0.0
    max_snapshots: Optional[int] = None
    max_page_size: Optional[int] = None
    delete_after_page: Optional[dict[str, Any]] = None
    log_after_page: Optional[dict[str, Any]] = None

    def update(self, changes: dict[str, Any]) -> None:
        """Validate ``changes`` completely, then apply them; ValueError names the first bad one."""
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if key in COUNTERS or key == "delay_ms":
                if not (number and isinstance(value, int) and value >= 0):
                    raise ValueError(f"{key} must be a non-negative integer")
            elif key == "retry_after":
                if not (isinstance(value, str) or (number and isinstance(value, int) and value >= 0)):
                    raise ValueError("retry_after must be a non-negative integer or a string")
            elif key == "bad_body_json":
                pass  # any JSON document
            elif key == "bad_body_status":
                code = value if number else str(value)[:3]
                if isinstance(value, bool) or not str(code).isdigit() or not 100 <= int(code) <= 599:
                    raise ValueError("bad_body_status must be a status code or a status line ('500 Oops')")
            elif key in ("bad_body_text", "only_path"):
                if value is not None and not isinstance(value, str):
                    raise ValueError(f"{key} must be a string or null")
            elif key in ("accept_delay", "snapshot_delay"):
                if not (number and value >= 0):
                    raise ValueError(f"{key} must be a non-negative number of seconds")
            elif key == "max_snapshots":
                if value is not None and not (number and isinstance(value, int) and value >= 0):
                    raise ValueError("max_snapshots must be a non-negative integer or null")
            elif key == "max_page_size":
                if value is not None and not (number and isinstance(value, int) and value >= 1):
                    raise ValueError("max_page_size must be a positive integer or null")
            elif key in PAGE_HOOKS:
                if value is not None and not page_hook_ok(key, value):
                    raise ValueError(f"{key} must be {PAGE_HOOKS[key]} or null")
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

    def take(self, method: str, path: str) -> tuple[float, Optional[str]]:
        """Consume the fault one request meets: (delay in seconds, the name of a counter in ``COUNTERS`` or None)."""
        if self.only_methods is not None and method not in self.only_methods:
            return 0.0, None
        if self.only_path is not None and self.only_path not in path:
            return 0.0, None
        for name in COUNTERS:
            if name == "empty_body" and not (method == "GET" and CONTAINER_PATH.fullmatch(path)):
                continue
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return self.delay_ms / 1000, name
        return self.delay_ms / 1000, None

    def bad_body_response(self) -> tuple[str, str, Union[int, str]]:
        """The body, mimetype and status ``bad_body`` answers with."""
        if self.bad_body_text is not None:
            return self.bad_body_text, "text/plain", self.bad_body_status
        return json.dumps(self.bad_body_json), "application/json", self.bad_body_status


class Database:
    """One shared SQLite connection guarded by a lock."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Execute one statement and commit; returns the number of rows changed."""
        with self._lock:
            changed = self._db.execute(sql, params).rowcount
            self._db.commit()
        return changed

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Every row of one query."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


class StatusLogStore:
    """Status-log rows in SQLite."""

    COLUMNS = ("id", "container_id", "from_status", "to_status", "transition_time", "duration_ms", "triggered_by",
               "metadata")  # fmt: skip

    def __init__(self, db: Database) -> None:
        self._db = db
        db.run(
            "CREATE TABLE IF NOT EXISTS status_logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
            " container_id TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL, transition_time TEXT NOT NULL,"
            " created_at TEXT NOT NULL, duration_ms INTEGER, triggered_by TEXT NOT NULL, metadata TEXT)"
        )

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
        self._db.run(
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

    def page(
        self, container_id: str, page: int, limit: int, sort_by: str, sort_order: str
    ) -> tuple[list[dict[str, Any]], int]:
        """One sorted page of a container's rows and the total count (sort_by/sort_order are whitelisted)."""
        direction = "ASC" if sort_order == "asc" else "DESC"
        total = self._db.rows("SELECT COUNT(*) FROM status_logs WHERE container_id = ?", (container_id,))[0][0]
        rows = self._db.rows(
            f"SELECT {', '.join(self.COLUMNS)} FROM status_logs WHERE container_id = ?"
            f" ORDER BY {sort_by} {direction}, seq {direction} LIMIT ? OFFSET ?",
            (container_id, limit, (page - 1) * limit),
        )
        logs = [dict(zip(self.COLUMNS, row)) for row in rows]
        for log in logs:
            log["metadata"] = None if log["metadata"] is None else json.loads(log["metadata"])
        return logs, total

    def clear(self) -> None:
        """Forget every row."""
        self._db.run("DELETE FROM status_logs")


class StateStore:
    """Per-container state Docker cannot hold, snapshots and proxy aliases, in SQLite."""

    SNAPSHOT_COLUMNS = ("name", "alias", "created_at", "last_used_at", "expires_at", "stateful", "size")

    def __init__(self, db: Database) -> None:
        self._db = db
        db.run("CREATE TABLE IF NOT EXISTS containers (container_id TEXT PRIMARY KEY, fields TEXT NOT NULL, env TEXT)")
        db.run(
            "CREATE TABLE IF NOT EXISTS snapshots (seq INTEGER PRIMARY KEY AUTOINCREMENT, container_id TEXT NOT NULL,"
            " name TEXT NOT NULL, alias TEXT, created_at TEXT NOT NULL, last_used_at TEXT NOT NULL, expires_at TEXT,"
            " stateful INTEGER NOT NULL, size INTEGER NOT NULL, image TEXT NOT NULL, UNIQUE (container_id, name))"
        )
        db.run(
            "CREATE TABLE IF NOT EXISTS proxy_aliases (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
            " alias TEXT NOT NULL UNIQUE, container_id TEXT NOT NULL, record TEXT NOT NULL)"
        )

    # -------------------------------------------------------------- container fields and env
    def fields(self, cid: str) -> dict[str, Any]:
        """The fields set through updates (comment, color, ..., last_used_snapshot)."""
        rows = self._db.rows("SELECT fields FROM containers WHERE container_id = ?", (cid,))
        return json.loads(rows[0][0]) if rows else {}

    def set_fields(self, cid: str, changes: dict[str, Any]) -> None:
        """Merge ``changes`` into the stored fields."""
        merged = {**self.fields(cid), **changes}
        self._db.run(
            "INSERT INTO containers (container_id, fields) VALUES (?, ?)"
            " ON CONFLICT (container_id) DO UPDATE SET fields = excluded.fields",
            (cid, json.dumps(merged)),
        )

    def env(self, cid: str) -> Optional[dict[str, str]]:
        """The stored Hoody env, or None when it was never seeded."""
        rows = self._db.rows("SELECT env FROM containers WHERE container_id = ?", (cid,))
        return json.loads(rows[0][0]) if rows and rows[0][0] is not None else None

    def set_env(self, cid: str, env: dict[str, str]) -> None:
        """Replace the stored Hoody env."""
        self._db.run(
            "INSERT INTO containers (container_id, fields, env) VALUES (?, '{}', ?)"
            " ON CONFLICT (container_id) DO UPDATE SET env = excluded.env",
            (cid, json.dumps(env)),
        )

    # -------------------------------------------------------------- snapshots
    def snapshots(self, cid: str) -> list[dict[str, Any]]:
        """A container's snapshots, oldest first, each with its ``image``."""
        rows = self._db.rows(
            f"SELECT {', '.join(self.SNAPSHOT_COLUMNS)}, image FROM snapshots WHERE container_id = ? ORDER BY seq",
            (cid,),
        )
        snapshots = [dict(zip((*self.SNAPSHOT_COLUMNS, "image"), row)) for row in rows]
        for snapshot in snapshots:
            snapshot["stateful"] = bool(snapshot["stateful"])
        return snapshots

    def snapshot(self, cid: str, name: str) -> Optional[dict[str, Any]]:
        """One snapshot by name, or None."""
        return next((snapshot for snapshot in self.snapshots(cid) if snapshot["name"] == name), None)

    def snapshot_count(self, cid: str) -> int:
        return self._db.rows("SELECT COUNT(*) FROM snapshots WHERE container_id = ?", (cid,))[0][0]

    def add_snapshot(self, cid: str, snapshot: dict[str, Any]) -> None:
        self._db.run(
            f"INSERT INTO snapshots (container_id, {', '.join(self.SNAPSHOT_COLUMNS)}, image)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cid, *(snapshot[column] for column in self.SNAPSHOT_COLUMNS), snapshot["image"]),
        )

    def update_snapshot(self, cid: str, name: str, column: str, value: Any) -> None:
        """Set ``alias`` or ``last_used_at`` of one snapshot."""
        assert column in ("alias", "last_used_at")
        self._db.run(f"UPDATE snapshots SET {column} = ? WHERE container_id = ? AND name = ?", (value, cid, name))

    def delete_snapshot(self, cid: str, name: str) -> None:
        self._db.run("DELETE FROM snapshots WHERE container_id = ? AND name = ?", (cid, name))

    # -------------------------------------------------------------- proxy aliases
    def aliases(self, container_id: Optional[str] = None) -> list[dict[str, Any]]:
        """Every alias record (with the internal ``port``), oldest first, or one container's."""
        if container_id is None:
            rows = self._db.rows("SELECT record FROM proxy_aliases ORDER BY seq")
        else:
            rows = self._db.rows(
                "SELECT record FROM proxy_aliases WHERE container_id = ? ORDER BY seq", (container_id,)
            )
        return [json.loads(row[0]) for row in rows]

    def alias(self, aid: str) -> Optional[dict[str, Any]]:
        rows = self._db.rows("SELECT record FROM proxy_aliases WHERE id = ?", (aid,))
        return json.loads(rows[0][0]) if rows else None

    def alias_named(self, name: str) -> Optional[dict[str, Any]]:
        rows = self._db.rows("SELECT record FROM proxy_aliases WHERE alias = ?", (name,))
        return json.loads(rows[0][0]) if rows else None

    def alias_count(self, cid: str) -> int:
        return self._db.rows("SELECT COUNT(*) FROM proxy_aliases WHERE container_id = ?", (cid,))[0][0]

    def save_alias(self, record: dict[str, Any]) -> None:
        """Insert or replace one alias record (keyed by id)."""
        self._db.run(
            "INSERT INTO proxy_aliases (id, alias, container_id, record) VALUES (?, ?, ?, ?) ON CONFLICT (id)"
            " DO UPDATE SET alias = excluded.alias, record = excluded.record",
            (record["id"], record["alias"], record["container_id"], json.dumps(record)),
        )

    def delete_alias(self, aid: str) -> None:
        self._db.run("DELETE FROM proxy_aliases WHERE id = ?", (aid,))

    # -------------------------------------------------------------- forgetting
    def forget(self, cid: Optional[str] = None) -> list[str]:
        """Forget one container's state (or everything); returns the snapshot images to remove."""
        where, params = ("", ()) if cid is None else (" WHERE container_id = ?", (cid,))
        images = [row[0] for row in self._db.rows(f"SELECT image FROM snapshots{where}", params)]
        for table in ("containers", "snapshots", "proxy_aliases"):
            self._db.run(f"DELETE FROM {table}{where}", params)
        return images


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
        self.db = Database(db)
        self._ephemeral = db == ":memory:"
        self.logs = StatusLogStore(self.db)
        self.store = StateStore(self.db)
        self._defaults = Faults()
        self._defaults.update({"accept_delay": accept_delay, "invalid_state": invalid_state})
        self.faults = replace(self._defaults)
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._overrides: dict[str, str] = {}  # Hoody id -> failed | deleting
        self._pending: dict[str, str] = {}  # Hoody id -> status held while an operation runs
        self._snapshot_ops: dict[str, str] = {}  # Hoody id -> snapshot operation running (create|restore|delete)
        self._held_names: dict[str, str] = {}  # Hoody id -> name shown while a restore renames containers
        self._touched: dict[str, str] = {}  # Hoody id -> time of the last server-side change
        self._threads: set[threading.Thread] = set()
        self.user_id = secrets.token_hex(12)
        self.server_id = secrets.token_hex(12)

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
            delay, fault = self.faults.take(method, path)
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
        """Back to the configured defaults: no faults, overrides, request log, status logs, snapshots (their
        images removed), env, updated fields or proxy aliases."""
        with self._lock:
            self.faults = replace(self._defaults)
            self._requests.clear()
            self._overrides.clear()
            self._touched.clear()
            self.logs.clear()
            images = self.store.forget()
        self._remove_images(images)

    def _remove_images(self, images: list[str], cid: Optional[str] = None) -> None:
        """Remove snapshot images (untag those a container still runs from), then unused dangling ones."""
        for image in images:
            with contextlib.suppress(DockerException, requests.RequestException):
                self.docker.api.remove_image(image, force=True)
        label = SNAPSHOT_CONTAINER_LABEL if cid is None else f"{SNAPSHOT_CONTAINER_LABEL}={cid}"
        with contextlib.suppress(DockerException, requests.RequestException):
            self.docker.api.prune_images(filters={"dangling": True, "label": label})

    # ------------------------------------------------------------------ containers
    def _inspect(self, cid: str) -> Optional[dict[str, Any]]:
        """Docker's inspect data for Hoody id ``cid``, or None when there is no such Hoody container.

        A container labelled ``hoody.id=<cid>`` wins (the newest, while a restore briefly has two); else the
        container whose Docker id starts with ``cid`` and that carries no other ``hoody.id``.
        """
        api = self.docker.api
        found = []
        for summary in api.containers(all=True, filters={"label": f"{ID_LABEL}={cid}"}):
            with contextlib.suppress(NotFound):
                found.append(api.inspect_container(summary["Id"]))
        found = [attrs for attrs in found if HEX24.fullmatch(project_of(attrs))]
        if found:
            return max(found, key=created_key)
        try:
            attrs = api.inspect_container(cid)
        except NotFound:
            return None
        if not attrs["Id"].startswith(cid) or hoody_id(attrs) != cid or not HEX24.fullmatch(project_of(attrs)):
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

    def _env(self, cid: str, attrs: dict[str, Any], seed: bool = False) -> dict[str, str]:
        """The Hoody env: stored, else Docker's ``Config.Env`` without PATH (stored now when ``seed``)."""
        env = self.store.env(cid)
        if env is None:
            env = dict(item.partition("=")[::2] for item in attrs["Config"].get("Env") or [])
            env.pop("PATH", None)
            if seed:
                self.store.set_env(cid, env)
        return env

    def to_hoody(self, attrs: dict[str, Any], proxy_domains: bool = False) -> dict[str, Any]:
        """The Hoody container object for one Docker inspect result."""
        cid, config, state = hoody_id(attrs), attrs["Config"], attrs["State"]
        labels = config.get("Labels") or {}
        created = docker_time(attrs["Created"])
        stamps = [
            created,
            docker_time(state.get("StartedAt")),
            docker_time(state.get("FinishedAt")),
            self._touched.get(cid),
        ]
        policy = (attrs["HostConfig"].get("RestartPolicy") or {}).get("Name") or "no"
        fields = self.store.fields(cid)
        alias_count = self.store.alias_count(cid)
        item = {
            "id": cid,
            "project_id": labels[PROJECT_LABEL],
            "name": self._held_names.get(cid) or attrs["Name"].lstrip("/"),
            "status": self._status(cid, state["Status"]),
            "container_image": labels.get(IMAGE_LABEL) or config.get("Image"),
            "autostart": policy in AUTOSTART_POLICIES,
            "environment_vars": self._env(cid, attrs),
            "comment": fields.pop("comment", None),
            "last_used_snapshot": fields.pop("last_used_snapshot", None),
            "snapshot_count": self.store.snapshot_count(cid),
            "proxy_domains_count": alias_count,
            "has_proxy_domains": alias_count > 0,
            **fields,
            "created_at": created,
            "updated_at": max(stamp for stamp in stamps if stamp),
        }
        if proxy_domains:
            item["proxy_domains"] = [
                {key: record[key] for key in PROXY_DOMAIN_FIELDS} for record in self.store.aliases(cid)
            ]
        return item

    def get(self, cid: str, proxy_domains: bool = False) -> dict[str, Any]:
        """One container object (404 when unknown)."""
        return self.to_hoody(self._require(cid), proxy_domains)

    def containers(
        self, project_id: Optional[str], include_deleting: bool, proxy_domains: bool = False
    ) -> list[dict[str, Any]]:
        """Every Hoody container, or a project's, without ``deleting`` ones unless asked.

        While a restore has two Docker containers for one Hoody id, the newer one stands for it.
        """
        label = PROJECT_LABEL if project_id is None else f"{PROJECT_LABEL}={project_id}"
        found = self.docker.containers.list(all=True, filters={"label": label}, ignore_removed=True)
        newest: dict[str, dict[str, Any]] = {}
        for container in found:
            attrs = container.attrs
            if not HEX24.fullmatch(container.labels.get(PROJECT_LABEL, "")):
                continue
            cid = hoody_id(attrs)
            if cid not in newest or created_key(attrs) > created_key(newest[cid]):
                newest[cid] = attrs
        items = [self.to_hoody(attrs, proxy_domains) for attrs in newest.values()]
        return [item for item in items if include_deleting or item["status"] != "deleting"]

    def page_size(self, asked: int) -> int:
        """The entries one listing page holds: ``limit``, capped by ``max_page_size``."""
        cap = self.faults.max_page_size
        return asked if cap is None else min(asked, cap)

    def after_list_page(self, page: int, served: list[str]) -> None:
        """``delete_after_page``: once its page of a container listing is served, delete its ``ids`` on that page."""
        with self._lock:
            hook = self.faults.delete_after_page
            if hook is None or hook["page"] != page:
                return
            self.faults.delete_after_page = None
        for cid in served:
            if cid in hook["ids"]:
                self.delete(cid)

    def after_log_page(self, cid: str, page: int) -> None:
        """``log_after_page``: once its page of a status log is served, append ``count`` restarts to that log."""
        with self._lock:
            hook = self.faults.log_after_page
            if hook is None or hook["page"] != page:
                return
            self.faults.log_after_page = None
            for _ in range(hook["count"]):
                self._transition(cid, "running", "running", 0, "user", {"command": "restart"})

    def status_logs(
        self, cid: str, page: int, limit: int, sort_by: str, sort_order: str
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of status logs; kept readable after deletion, 404 for a container never seen."""
        logs, total = self.logs.page(cid, page, limit, sort_by, sort_order)
        if total == 0:
            self._require(cid)
        return logs, total

    # ------------------------------------------------------------------ update and env
    def update(self, cid: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply a validated partial update: autostart and name in Docker, the rest in SQLite."""
        with self._lock:
            item = self.get(cid)
            if item["status"] == "deleting" or self._snapshot_ops.get(cid) == "restore":
                reason = "a snapshot restore is in progress" if item["status"] != "deleting" else "it is deleting"
                raise ApiError(409, f"Cannot update container {cid}: {reason}")
            attrs = self._require(cid)
            api = self.docker.api
            try:
                if "name" in changes and changes["name"] != item["name"]:  # first: the likeliest to be refused
                    try:
                        api.rename(attrs["Id"], changes["name"])
                    except docker.errors.APIError as exc:
                        if exc.status_code == 409:
                            raise ApiError(409, f"Container name '{changes['name']}' is already in use") from exc
                        raise
                if "autostart" in changes and changes["autostart"] != item["autostart"]:
                    policy = "unless-stopped" if changes["autostart"] else "no"
                    api.update_container(attrs["Id"], restart_policy={"Name": policy, "MaximumRetryCount": 0})
            except (DockerException, requests.RequestException) as exc:
                raise ApiError(500, f"Container update failed: {exc}") from exc
            if "environment_vars" in changes:
                self.store.set_env(cid, {**self._env(cid, attrs), **changes["environment_vars"]})
            docker_side = ("autostart", "name", "environment_vars")
            stored = {key: value for key, value in changes.items() if key not in docker_side}
            if stored:
                self.store.set_fields(cid, stored)
            self._touched[cid] = now_iso()
            return self.get(cid)

    def env(self, cid: str) -> dict[str, str]:
        """The Hoody env (seeded from Docker the first time)."""
        return self._env(cid, self._require(cid), seed=True)

    def change_env(self, cid: str, set_vars: dict[str, str], unset: tuple[str, ...] = ()) -> dict[str, Any]:
        """Merge ``set_vars`` into the Hoody env and drop ``unset``; returns the write response data."""
        with self._lock:
            env = {**self.env(cid), **set_vars}
            for key in unset:
                env.pop(key, None)
            self.store.set_env(cid, env)
            self._touched[cid] = now_iso()
        return {"environment_vars": env, "synced": True}

    # ------------------------------------------------------------------ snapshots
    def _snapshot_or_404(self, cid: str, name: str) -> dict[str, Any]:
        snapshot = self.store.snapshot(cid, name)
        if snapshot is None:
            raise ApiError(404, f"Snapshot {name} not found")
        return snapshot

    @staticmethod
    def _public(snapshot: dict[str, Any]) -> dict[str, Any]:
        return {key: snapshot[key] for key in StateStore.SNAPSHOT_COLUMNS}

    def _begin_snapshot_op(self, cid: str, operation: str, status: str) -> None:
        """Check (lock held) that a snapshot ``operation`` may start now and mark it running."""
        if cid in self._snapshot_ops:
            raise ApiError(409, f"Another snapshot operation is in progress on container {cid}")
        if status == "deleting":
            raise ApiError(409, f"Cannot {operation} a snapshot of container in status {status}")
        if operation in ("create", "restore"):
            if cid in self._pending:
                raise ApiError(409, f"Another operation is in progress on container {cid}")
            if status not in SNAPSHOTTABLE:
                raise ApiError(409, f"Cannot {operation} a snapshot of container in status {status}")
        self._snapshot_ops[cid] = operation

    def _end_snapshot_op(self, cid: str) -> None:
        with self._lock:
            self._snapshot_ops.pop(cid, None)
            self._pending.pop(cid, None)
            self._held_names.pop(cid, None)

    def snapshots(self, cid: str) -> dict[str, Any]:
        """The snapshot list response data."""
        item = self.get(cid)
        snapshots = [self._public(snapshot) for snapshot in self.store.snapshots(cid)]
        return {
            "container_id": cid,
            "project_id": item["project_id"],
            "snapshot_count": len(snapshots),
            "max_snapshots": self.faults.max_snapshots,
            "snapshots": snapshots,
        }

    def create_snapshot(self, cid: str, alias: Optional[str], expiry: Optional[int]) -> dict[str, Any]:
        """``docker commit`` the container into ``hoody-snapshots/<cid>:snap-<12 hex>`` (synchronous)."""
        with self._lock:
            item = self.get(cid)
            limit, count = self.faults.max_snapshots, self.store.snapshot_count(cid)
            if limit is not None and count >= limit:
                raise ApiError(
                    409,
                    f"Container {cid} has {count} snapshots; the limit is {limit}",
                    "CONTAINER_SNAPSHOT_LIMIT",
                    {"container_id": cid, "snapshot_count": count, "max_snapshots": limit},
                )
            self._begin_snapshot_op(cid, "create", item["status"])
            self._pending[cid] = item["status"]
            delay = self.faults.snapshot_delay
        try:
            time.sleep(delay)
            attrs = self._require(cid)
            name = f"snap-{secrets.token_hex(6)}"
            repository = f"{SNAPSHOT_REPOSITORY}/{cid}"
            labels = f"LABEL {SNAPSHOT_CONTAINER_LABEL}={cid} {SNAPSHOT_NAME_LABEL}={name}"
            api = self.docker.api
            try:
                image = api.commit(attrs["Id"], repository=repository, tag=name, changes=[labels], pause=True)["Id"]
                size = api.history(image)[0]["Size"]
            except (DockerException, requests.RequestException) as exc:
                raise ApiError(500, f"Snapshot creation failed: {exc}") from exc
            created = datetime.now(timezone.utc)
            snapshot = {
                "name": name,
                "alias": alias,
                "created_at": iso(created),
                "last_used_at": iso(created),
                "expires_at": None if expiry is None else iso(created + timedelta(days=expiry)),
                "stateful": bool(attrs["State"]["Running"]),
                "size": size,
                "image": f"{repository}:{name}",
            }
            self.store.add_snapshot(cid, snapshot)
            with self._lock:
                self._touched[cid] = now_iso()
        finally:
            self._end_snapshot_op(cid)
        return {"container_id": cid, "project_id": item["project_id"], "snapshot": self._public(snapshot)}

    def delete_snapshot(self, cid: str, name: str) -> dict[str, Any]:
        """Forget a snapshot and remove (or, while the container runs from it, untag) its image."""
        with self._lock:
            item = self.get(cid)
            snapshot = self._snapshot_or_404(cid, name)
            self._begin_snapshot_op(cid, "delete", item["status"])
            delay = self.faults.snapshot_delay
        try:
            time.sleep(delay)
            try:
                self.docker.api.remove_image(snapshot["image"], force=True)
            except NotFound:
                pass
            except (DockerException, requests.RequestException) as exc:
                raise ApiError(500, f"Snapshot deletion failed: {exc}") from exc
            self.store.delete_snapshot(cid, name)
            with self._lock:
                self._touched[cid] = now_iso()
        finally:
            self._end_snapshot_op(cid)
        return {"container_id": cid, "project_id": item["project_id"], "snapshot_name": name}

    def snapshot_alias(self, cid: str, name: str, alias: Optional[str]) -> dict[str, Any]:
        """Set or clear a snapshot's alias."""
        item = self.get(cid)
        self._snapshot_or_404(cid, name)
        self.store.update_snapshot(cid, name, "alias", alias)
        snapshot = self._snapshot_or_404(cid, name)
        return {"container_id": cid, "project_id": item["project_id"], "snapshot": self._public(snapshot)}

    def restore_snapshot(self, cid: str, name: str) -> dict[str, Any]:
        """Synchronously recreate the container from a snapshot image and start it (see ``_restore``)."""
        with self._lock:
            item = self.get(cid)
            snapshot = self._snapshot_or_404(cid, name)
            self._begin_snapshot_op(cid, "restore", item["status"])
            self._pending[cid] = item["status"]
            delay = self.faults.snapshot_delay
        try:
            time.sleep(delay)
            self._restore(cid, snapshot, item["status"])
        finally:
            self._end_snapshot_op(cid)
        snapshot = self._snapshot_or_404(cid, name)
        return {"success": True, "message": f"Snapshot {name} restored", "snapshot": self._public(snapshot)}

    def _restore(self, cid: str, snapshot: dict[str, Any], from_status: str) -> None:
        """Stop (kill) the container, recreate it from the snapshot image under the same name and Hoody id, start it.

        The old container is renamed out of the way and removed only once the new one exists, so the Hoody
        id always resolves; status rows: ``<from> -> stopped`` (unless stopped), ``stopped -> running``.
        """
        api = self.docker.api
        metadata = {"command": "restore", "snapshot": snapshot["name"]}
        started = time.monotonic()
        status = from_status
        attrs = self._require(cid)
        env = self._env(cid, attrs, seed=True)
        old_id, name = attrs["Id"], attrs["Name"].lstrip("/")
        self._held_names[cid] = name
        new_id: Optional[str] = None
        renamed = removed = False
        try:
            if attrs["State"]["Running"]:
                api.stop(old_id, timeout=0)
            if status != "stopped":
                with self._lock:
                    self._pending[cid] = "stopped"
                    self._transition(cid, status, "stopped", round((time.monotonic() - started) * 1000), "user",
                                     metadata)  # fmt: skip
                status = "stopped"
            started = time.monotonic()
            api.rename(old_id, f"{name}-restore-{secrets.token_hex(4)}")
            renamed = True
            body, extra_networks = self._restore_config(cid, attrs, snapshot["image"], env)
            new_id = api.create_container_from_config(body, name=name)["Id"]
            for network, endpoint in extra_networks.items():
                api.connect_container_to_network(new_id, network, **endpoint)
            api.remove_container(old_id, force=True)
            removed = True
            api.start(new_id)
            to_status = DOCKER_STATUS.get(api.inspect_container(new_id)["State"]["Status"], "failed")
        except (DockerException, requests.RequestException) as exc:
            if not removed:
                with contextlib.suppress(DockerException, requests.RequestException):
                    if new_id is not None:
                        api.remove_container(new_id, force=True)
                    if renamed:
                        api.rename(old_id, name)
            with self._lock:
                self._overrides[cid] = "failed"
                self._held_names.pop(cid, None)
                self._transition(cid, status, "failed", round((time.monotonic() - started) * 1000), "user",
                                 {**metadata, "error": str(exc)})  # fmt: skip
            raise ApiError(500, f"Snapshot restore failed: {exc}") from exc
        stamp = now_iso()
        self.store.update_snapshot(cid, snapshot["name"], "last_used_at", stamp)
        self.store.set_fields(cid, {"last_used_snapshot": snapshot["name"]})
        with self._lock:
            self._pending.pop(cid, None)
            self._overrides.pop(cid, None)
            self._held_names.pop(cid, None)
            self._transition(cid, status, to_status, round((time.monotonic() - started) * 1000), "user", metadata)

    @staticmethod
    def _restore_config(
        cid: str, attrs: dict[str, Any], image: str, env: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The create body recreating ``attrs`` from ``image``, and the networks to connect after creation."""
        config = dict(attrs["Config"])
        labels = {key: value for key, value in (config.get("Labels") or {}).items()
                  if not key.startswith(SNAPSHOT_LABEL_PREFIX)}  # fmt: skip
        labels[ID_LABEL] = cid
        labels.setdefault(IMAGE_LABEL, config.get("Image") or "")
        path = [item for item in config.get("Env") or [] if item.startswith("PATH=")]
        config.update(Image=image, Labels=labels, Env=path + [f"{key}={value}" for key, value in env.items()])
        host = dict(attrs["HostConfig"])
        binds = list(host.get("Binds") or [])
        covered = {bind.split(":")[1] for bind in binds if ":" in bind}
        covered |= {mount.get("Target") for mount in host.get("Mounts") or []}
        for mount in attrs.get("Mounts") or []:  # re-attach anonymous volumes instead of creating new ones
            if mount.get("Type") == "volume" and mount.get("Name") and mount.get("Destination") not in covered:
                binds.append(f"{mount['Name']}:{mount['Destination']}" + ("" if mount.get("RW", True) else ":ro"))
        host["Binds"] = binds or None
        networks = attrs["NetworkSettings"].get("Networks") or {}
        mode = host.get("NetworkMode") or "default"
        primary = "bridge" if mode == "default" else mode

        def endpoint(settings: dict[str, Any]) -> dict[str, Any]:
            """connect_container_to_network keywords: the aliases (but the old short id) and fixed addresses."""
            ipam = settings.get("IPAMConfig") or {}
            generated = {attrs["Id"][:12], attrs["Config"].get("Hostname")}  # Docker adds the short id
            aliases = [alias for alias in settings.get("Aliases") or [] if alias not in generated]
            return {"aliases": aliases or None, "ipv4_address": ipam.get("IPv4Address"),
                    "ipv6_address": ipam.get("IPv6Address")}  # fmt: skip

        body = {**config, "HostConfig": host}
        if primary in networks and primary not in ("bridge", "host", "none"):
            aliases = endpoint(networks[primary])["aliases"]
            endpoints = {primary: {"Aliases": aliases, "IPAMConfig": networks[primary].get("IPAMConfig")}}
            body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
        extras = {network: endpoint(settings) for network, settings in networks.items() if network != primary}
        return body, extras

    # ------------------------------------------------------------------ proxy aliases
    def _alias_or_404(self, aid: str) -> dict[str, Any]:
        record = self.store.alias(aid)
        if record is None:
            raise ApiError(404, "Proxy alias not found")
        return record

    @staticmethod
    def expired(record: dict[str, Any]) -> bool:
        return record["expires_at"] is not None and record["expires_at"] <= now_iso()

    def aliases(
        self,
        project_id: Optional[str],
        container_id: Optional[str],
        enabled: Optional[bool],
        expired: Optional[bool],
    ) -> list[dict[str, Any]]:
        """Alias records matching the filters (None: any)."""
        return [
            record
            for record in self.store.aliases(container_id)
            if (project_id is None or record["project_id"] == project_id)
            and (enabled is None or record["enabled"] == enabled)
            and (expired is None or self.expired(record) == expired)
        ]

    def alias(self, aid: str) -> dict[str, Any]:
        """One alias record with ``project {id, alias}`` and ``container {id, name}``."""
        record = self._alias_or_404(aid)
        attrs = self._inspect(record["container_id"])
        name = attrs["Name"].lstrip("/") if attrs else None
        return {
            **record,
            "project": {"id": record["project_id"], "alias": None},
            "container": {"id": record["container_id"], "name": name},
        }

    def _claim_alias_name(self, name: Optional[str], own_id: Optional[str] = None) -> str:
        """A free alias name (lock held): ``name``, or a fresh 48-hex one when None; 409 when taken."""
        if name is None:
            name = secrets.token_hex(24)
        holder = self.store.alias_named(name)
        if holder is not None and holder["id"] != own_id:
            raise ApiError(409, f"Proxy alias '{name}' is already in use on this server")
        return name

    def create_alias(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create an alias record from validated fields (404 for an unknown container, 409 for a taken name)."""
        with self._lock:
            item = self.get(fields["container_id"])
            stamp = now_iso()
            record = {
                "id": secrets.token_hex(12),
                "user_id": self.user_id,
                "project_id": item["project_id"],
                "container_id": item["id"],
                "alias": self._claim_alias_name(fields.get("alias")),
                "program": fields["program"],
                "index": fields.get("index", 1),
                "target_path": fields.get("target_path"),
                "allow_path_override": fields.get("allow_path_override", True),
                "expires_at": fields.get("expires_at"),
                "enabled": fields.get("enabled", True),
                "created_at": stamp,
                "updated_at": stamp,
                "server_id": self.server_id,
                "server_name": SERVER_NAME,
                "subserver_name": None,
                "port": fields.get("port"),
            }
            self.store.save_alias(record)
            self._touched[item["id"]] = stamp
        return record

    def update_alias(self, aid: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Apply validated fields to an alias (409 when renamed to a taken name)."""
        with self._lock:
            record = self._alias_or_404(aid)
            if "alias" in fields:
                fields = {**fields, "alias": self._claim_alias_name(fields["alias"], aid)}
            program = fields.get("program", record["program"])
            if fields.get("port", record["port"]) is not None and not is_web_program(program):
                raise validation_error("body", "port", "is only allowed for the http and https programs")
            record.update(fields, updated_at=now_iso())
            self.store.save_alias(record)
        return record

    def delete_alias(self, aid: str) -> None:
        with self._lock:
            self._alias_or_404(aid)
            self.store.delete_alias(aid)

    def proxy_target(self, name: str) -> tuple[dict[str, Any], Optional[str], int]:
        """For an enabled, unexpired alias: (record, container IP on its first network or None, port); else 404."""
        record = self.store.alias_named(name)
        if record is None or not record["enabled"] or self.expired(record):
            raise ApiError(404, f"No enabled proxy alias named '{name}'")
        port = record.get("port")
        embedded = PORT_PROGRAM.fullmatch(record["program"])
        if port is None and embedded:
            port = int(embedded.group(2))
        attrs = self._inspect(record["container_id"])
        if attrs is None:
            return record, None, port or 80
        networks = attrs["NetworkSettings"].get("Networks") or {}
        mode = attrs["HostConfig"].get("NetworkMode") or "default"
        first = "bridge" if mode == "default" else mode
        settings = networks.get(first) or next(iter(networks.values()), {})
        return record, settings.get("IPAddress") or None, port or 80

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
        attrs = self._inspect(cid)
        if attrs is None:
            if action == "delete":
                return
            raise DockerException(f"No Docker container for Hoody container {cid}")
        api, did = self.docker.api, attrs["Id"]
        if action == "start":
            api.start(did)
        elif action == "stop":
            api.stop(did)  # no ``t``: Docker uses the container's StopTimeout
        elif action == "force-stop":
            api.kill(did)
            api.wait(did, condition="not-running", timeout=DOCKER_TIMEOUT)
        elif action == "restart":
            stop_timeout = attrs["Config"].get("StopTimeout")
            api.restart(did, timeout=DEFAULT_STOP_TIMEOUT if stop_timeout is None else stop_timeout)
        elif action == "pause":
            api.pause(did)
        elif action == "resume":
            api.unpause(did)
        else:
            with contextlib.suppress(NotFound):
                api.remove_container(did, force=True)

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
        images: list[str] = []
        with self._lock:
            self._pending.pop(cid, None)
            if deleted:
                self._overrides.pop(cid, None)
                images = self.store.forget(cid)
                to_status = "deleted"
            elif attrs is None or "error" in metadata:
                self._overrides[cid] = to_status = "failed"
            else:
                to_status = self._status(cid, attrs["State"]["Status"])
            self._transition(cid, from_status, to_status, duration_ms, "user", metadata)
        if deleted:
            self._remove_images(images, cid)

    def delete(self, cid: str) -> None:
        """Mark the container ``deleting`` and remove it from Docker in the background."""
        with self._lock:
            item = self._claim(cid, "delete")
            self._overrides[cid] = "deleting"
            self._touched[cid] = now_iso()
            delay = self.faults.accept_delay
        self._spawn(self._run, cid, "delete", item["status"], delay)

    # ------------------------------------------------------------------ runtime details and stats
    def runtime_info(self, cid: str, sections: Optional[set[str]]) -> Optional[dict[str, Any]]:
        """``runtime_info`` (only ``sections``, None: all) of a running container, from Docker; else null.

        ``services`` are the processes ``docker top`` shows, as service units (one per process, named after its
        command); ``network_services`` are the container's exposed and published ports, as sockets listening on
        every address (Docker does not say which process listens, so ``pid``, ``user``, ``program``... are null).
        """
        attrs = self._require(cid)
        if not attrs["State"].get("Running") or attrs["State"].get("Paused"):
            return None
        info: dict[str, Any] = {}
        if sections is None or "services" in sections:
            try:
                top = self.docker.api.top(attrs["Id"])
            except docker.errors.APIError:  # stopped meanwhile: nothing measured
                return None
            titles = top.get("Titles") or []
            info["services"] = []
            for row in top.get("Processes") or []:
                process = dict(zip(titles, row))
                command = process.get("CMD") or process.get("COMMAND") or ""
                name = (command.split() or ["unknown"])[0].rsplit("/", 1)[-1]
                pid = int(process["PID"]) if str(process.get("PID", "")).isdigit() else None
                info["services"].append({
                    "name": name, "unit": f"{name}.service", "status": "running", "load": "loaded",
                    "active": "active", "sub": "running", "description": command, "pid": pid, "main_pid": pid,
                })  # fmt: skip
        if sections is None or "network_services" in sections:
            ports = set(attrs["Config"].get("ExposedPorts") or {}) | set(attrs["NetworkSettings"].get("Ports") or {})
            info["network_services"] = [
                {"protocol": protocol, "port": int(port), "ip": "0.0.0.0", "pid": None, "user": None,
                 "program": None, "path": None, "args": None}
                for port, protocol in sorted(key.split("/", 1) for key in ports)
            ]  # fmt: skip
        return info

    def stats(self, cid: str) -> dict[str, Any]:
        """``GET /containers/{id}/stats`` from Docker's one-shot stats; the measured parts are null unless running.

        ``cpu.usage`` is Docker's total CPU time in ns and ``cpu.usage_percent`` its average since the start
        (Hoody documents neither unit); ``network[]`` holds ``lo`` and one ``eth<n>`` per Docker network, in the
        order Docker lists them, with ``addresses`` as ``ip/prefix`` strings.
        """
        attrs = self._require(cid)
        state = attrs["State"]
        data: dict[str, Any] = {
            "id": cid, "project_id": project_of(attrs), "status": self._status(cid, state["Status"]),
            "started_at": docker_time(state.get("StartedAt")), "processes": None, "cpu": None, "memory": None,
            "network": [],
        }  # fmt: skip
        if not state.get("Running") or state.get("Paused"):
            return data
        try:
            raw = self.docker.api.stats(attrs["Id"], stream=False, one_shot=True)
        except docker.errors.APIError:  # stopped meanwhile
            return data
        memory, cpu = raw.get("memory_stats") or {}, raw.get("cpu_stats") or {}
        total = (cpu.get("cpu_usage") or {}).get("total_usage")
        started = datetime.fromisoformat(docker_time(state["StartedAt"]).replace("Z", "+00:00"))
        elapsed_ns = max((datetime.now(timezone.utc) - started).total_seconds(), 1e-3) * 1e9
        cpus = cpu.get("online_cpus") or 1
        data["processes"] = (raw.get("pids_stats") or {}).get("current")
        data["cpu"] = {"usage": total, "allocated_time": None,
                       "usage_percent": round(100 * total / elapsed_ns / cpus, 3) if total is not None else None}
        data["memory"] = {"usage": memory.get("usage"), "total": memory.get("limit"),
                          "usage_percent": round(100 * memory["usage"] / memory["limit"], 3)
                          if memory.get("usage") is not None and memory.get("limit") else None}  # fmt: skip
        counters = raw.get("networks") or {}
        interfaces = [{"interface": "lo", "addresses": ["127.0.0.1/8"], "counters": {}, "state": "up",
                       "type": "loopback"}]  # fmt: skip
        for index, settings in enumerate((attrs["NetworkSettings"].get("Networks") or {}).values()):
            addresses = []
            if settings.get("IPAddress"):
                addresses.append(f"{settings['IPAddress']}/{settings.get('IPPrefixLen') or 32}")
            if settings.get("GlobalIPv6Address"):
                addresses.append(f"{settings['GlobalIPv6Address']}/{settings.get('GlobalIPv6PrefixLen') or 128}")
            name = f"eth{index}"
            interfaces.append({"interface": name, "addresses": addresses, "counters": counters.get(name) or {},
                               "state": "up", "type": "ethernet"})  # fmt: skip
        data["network"] = interfaces
        return data

    def force_fail(self, cid: str) -> dict[str, Any]:
        """Fault injection: put the container into ``failed`` (logged as triggered by the system)."""
        with self._lock:
            status = self.get(cid)["status"]
            if status != "failed":
                self._overrides[cid] = "failed"
                self._transition(cid, status, "failed", None, "system", {"reason": "fault injection"})
            return self.get(cid)

    def close(self, timeout: float = 30) -> None:
        """Wait for background operations, then release the database (and the Docker client if ours).

        A server whose state lives only in memory removes the images of the snapshots it still holds.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
        if self._ephemeral:  # nobody can come back for these snapshots: their images go with the server
            with self._lock:
                images = self.store.forget()
            self._remove_images(images)
        if self._own_docker:
            self.docker.close()
        self.db.close()


def is_web_program(program: str) -> bool:
    """Whether ``program`` is http, https or http(s)-<port>, the programs that take a ``port``."""
    return program in ("http", "https") or PORT_PROGRAM.fullmatch(program) is not None


UPDATE_FIELDS = ("name", "color", "ai", "autostart", "ramdisk", "ramdisk_scope", "environment_vars", "ssh_public_key",
                 "comment", "realm_ids")  # fmt: skip
ALIAS_BODY_FIELDS = ("alias", "program", "port", "index", "target_path", "allow_path_override", "expires_at", "enabled")


def check_length(name: str, value: str, low: int, high: int) -> None:
    if len(value) < low:
        raise validation_error("body", name, f"must NOT have fewer than {low} characters")
    if len(value) > high:
        raise validation_error("body", name, f"must NOT have more than {high} characters")


def check_range(name: str, value: int, low: int, high: Optional[int] = None) -> None:
    if value < low:
        raise validation_error("body", name, f"must be >= {low}")
    if high is not None and value > high:
        raise validation_error("body", name, f"must be <= {high}")


def parse_update(body: dict[str, Any]) -> dict[str, Any]:
    """The validated fields of a container update (PUT /api/v1/containers/{id})."""
    only_keys(body, UPDATE_FIELDS)
    clean: dict[str, Any] = {}
    for key, value in body.items():
        if key == "name":
            check_type(key, value, "string")
            check_length(key, value, 1, 100)
            if not DOCKER_NAME.fullmatch(value):
                raise validation_error("body", key, 'must match pattern "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$"')
        elif key == "color":
            check_type(key, value, "string")
            match = COLOR.fullmatch(value)
            if not match:
                raise validation_error("body", key, 'must match pattern "^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"')
            value = "#" + match.group(1).upper()
        elif key in ("ai", "autostart", "ramdisk"):
            check_type(key, value, "boolean")
        elif key == "ramdisk_scope":
            if value not in ("container", "project"):
                raise validation_error("body", key, "must be equal to one of the allowed values")
        elif key == "environment_vars":
            value = check_env(value, "body", "environment_vars/")
        elif key == "ssh_public_key":
            check_type(key, value, "string", nullable=True)
        elif key == "comment":
            check_type(key, value, "string", nullable=True)
            if value is not None:
                check_length(key, value, 0, 16000)
        else:  # realm_ids
            check_type(key, value, "array")
            for position, realm in enumerate(value):
                if not (isinstance(realm, str) and HEX24.fullmatch(realm)):
                    raise validation_error("body", f"{key}/{position}", 'must match pattern "^[0-9a-f]{24}$"')
        clean[key] = value
    return clean


def parse_snapshot_alias(body: dict[str, Any]) -> Optional[str]:
    """A snapshot alias: a string of at most 100 chars, or null."""
    value = body.get("alias")
    check_type("alias", value, "string", nullable=True)
    if value is not None:
        check_length("alias", value, 0, 100)
    return value


def parse_snapshot_create(body: dict[str, Any]) -> tuple[Optional[str], Optional[int]]:
    """(alias, expiry days) of a snapshot create body."""
    only_keys(body, ("alias", "expiry"))
    expiry = body.get("expiry")
    if expiry is not None:
        check_type("expiry", expiry, "integer")
        check_range("expiry", expiry, 1, 3650)
    return parse_snapshot_alias(body), expiry


def parse_alias(body: dict[str, Any], creating: bool) -> dict[str, Any]:
    """The validated fields of a proxy-alias create (with ``container_id``) or update body."""
    only_keys(body, (("container_id",) if creating else ()) + ALIAS_BODY_FIELDS)
    if creating:
        require_keys(body, "container_id", "program")
    clean: dict[str, Any] = {}
    for key, value in body.items():
        if key == "container_id":
            check_type(key, value, "string")
            if not HEX24.fullmatch(value):
                raise validation_error("body", key, 'must match pattern "^[0-9a-f]{24}$"')
        elif key == "alias":
            if value is False or value is None:
                value = None
            else:
                check_type(key, value, "string")
                if not ALIAS_NAME.fullmatch(value):
                    raise validation_error("body", key, 'must match pattern "^[a-z0-9][a-z0-9-]{1,59}[a-z0-9]$"')
                if value in RESERVED_ALIASES or value.startswith(("proxy-", "workspaces-")):
                    raise ApiError(400, f"Alias '{value}' is reserved")
        elif key == "program":
            check_type(key, value, "string")
            embedded = PORT_PROGRAM.fullmatch(value)
            if value not in PROGRAMS and not (embedded and 1 <= int(embedded.group(2)) <= 65535):
                raise ApiError(400, f"Unknown program '{value}'")
        elif key == "port":
            check_type(key, value, "integer", nullable=True)
            if value is not None:
                check_range(key, value, 1, 65535)
        elif key == "index":
            check_type(key, value, "integer")
            check_range(key, value, 1)
        elif key == "target_path":
            check_type(key, value, "string", nullable=True)
            if value is not None and not value.startswith("/"):
                value = "/" + value
        elif key in ("allow_path_override", "enabled"):
            check_type(key, value, "boolean")
        else:  # expires_at
            value = parse_time(key, value, numbers=not creating)
        clean[key] = value
    if creating and clean.get("port") is not None and not is_web_program(clean["program"]):
        raise validation_error("body", "port", "is only allowed for the http and https programs")
    return clean


def create_app(platform: Platform) -> Flask:
    """The Flask app: the Hoody API under /api/v1 and the fault-injection API under /__admin."""
    app = Flask("hoody")

    @app.before_request
    def front_door() -> Optional[Response]:
        if request.path.startswith(("/__admin/", "/__proxy/")):
            return None
        auth = platform.classify(request.headers.get("Authorization"))
        g.entry, delay, fault = platform.intake(request.method, request.path, request.args.to_dict(), auth)
        if delay:
            time.sleep(delay)
        if fault == "drop":
            request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            request.environ[DROP_KEY] = True
            return Response()  # never sent: drop_connections() aborts the request
        if fault == "drop_after":
            request.environ[DROP_AFTER_KEY] = True  # processed as usual; drop_connections() drops the answer
        if fault == "bad_body":
            g.bad_body = platform.faults.bad_body_response()  # replaces the answer in finish()
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
        if entry is not None and entry["fault"] == "empty_body":
            response = Response(b"", 200, mimetype="application/json")
        elif entry is not None and entry["fault"] == "bad_body":
            body, mimetype, status = g.bad_body
            response = Response(body, status, mimetype=mimetype)
        if entry is not None and entry["fault"] not in ("drop", "drop_after"):
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
        limit = platform.page_size(query_int("limit", 50, 1, 100))
        sort_by = query_choice("sort_by", "created_at", CONTAINER_SORTS)
        sort_order = query_choice("sort_order", "desc", ("asc", "desc"))
        include_deleting = query_choice("include_deleting", "false", ("true", "false")) == "true"
        proxy_domains = query_choice("include_proxy_domains", "false", ("true", "false")) == "true"
        found = platform.containers(project_id, include_deleting, proxy_domains)
        items = sorted(found, key=lambda item: item["id"])
        items.sort(key=lambda item: item[sort_by], reverse=sort_order == "desc")
        containers, pagination = paginate(items, page, limit)
        platform.after_list_page(page, [item["id"] for item in containers])
        return ok({"containers": containers, "pagination": pagination}, "Containers retrieved successfully")

    @app.get("/api/v1/containers/")
    def list_containers() -> Response:
        return list_response(None)

    @app.get("/api/v1/projects/<project_id>/containers")
    def list_project_containers(project_id: str) -> Response:
        check_id(project_id)
        return list_response(project_id)

    def runtime_sections() -> Optional[set[str]]:
        """The ``runtime`` query: None when not asked, else the sections asked (``true`` or ``{}``: all)."""
        raw = request.args.get("runtime")
        if raw is None or raw == "false":
            return None
        if raw == "true":
            return set(RUNTIME_SECTIONS)
        try:
            asked = json.loads(raw)
        except ValueError:
            asked = None
        if not isinstance(asked, dict):
            raise validation_error("querystring", "runtime", 'must be "true", "false" or a JSON object')
        return {key for key, wanted in asked.items() if wanted and key in RUNTIME_SECTIONS} if asked else set(
            RUNTIME_SECTIONS)

    @app.get("/api/v1/containers/<cid>")
    def get_container(cid: str) -> Response:
        check_id(cid)
        proxy_domains = query_choice("include_proxy_domains", "false", ("true", "false")) == "true"
        sections = runtime_sections()
        item = platform.get(cid, proxy_domains)
        if sections is not None:
            item["runtime_info"] = platform.runtime_info(cid, sections)
        return ok(item, "Container retrieved successfully")

    @app.get("/api/v1/containers/<cid>/stats")
    def container_stats(cid: str) -> Response:
        check_id(cid)
        return ok(platform.stats(cid), "Container stats retrieved successfully")

    @app.put("/api/v1/containers/<cid>")
    def update_container(cid: str) -> Response:
        check_id(cid)
        changes = parse_update(request_body())
        require_write()
        return ok(platform.update(cid, changes), "Container updated successfully")

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
        limit = platform.page_size(query_int("limit", 10, 1, 100))
        sort_by = query_choice("sort_by", "transition_time", LOG_SORTS)
        sort_order = query_choice("sort_order", "desc", ("asc", "desc"))
        logs, total = platform.status_logs(cid, page, limit, sort_by, sort_order)
        pagination = {"total": total, "page": page, "limit": limit, "totalPages": math.ceil(total / limit)}
        platform.after_log_page(cid, page)
        return ok({"logs": logs, "pagination": pagination}, "Container status logs retrieved successfully")

    # ------------------------------------------------------------------ environment variables
    @app.get("/api/v1/containers/<cid>/env")
    def get_env(cid: str) -> Response:
        check_id(cid)
        return ok({"environment_vars": platform.env(cid)}, "Environment variables retrieved successfully")

    @app.put("/api/v1/containers/<cid>/env")
    def set_env(cid: str) -> Response:
        check_id(cid)
        env = check_env(request_body(), "body")
        require_write()
        return ok(platform.change_env(cid, env), "Environment variables updated successfully")

    @app.put("/api/v1/containers/<cid>/env/<key>")
    def set_env_var(cid: str, key: str) -> Response:
        check_id(cid)
        check_env_name(key)
        body = request_body()
        only_keys(body, ("value",))
        require_keys(body, "value")
        value = check_env({key: body["value"]}, "body")[key] if isinstance(body["value"], str) else None
        if value is None:
            raise validation_error("body", "value", "must be string")
        require_write()
        return ok(platform.change_env(cid, {key: value}), "Environment variable set successfully")

    @app.delete("/api/v1/containers/<cid>/env/<key>")
    def delete_env_var(cid: str, key: str) -> Response:
        check_id(cid)
        check_env_name(key)
        require_write()
        return ok(platform.change_env(cid, {}, (key,)), "Environment variable deleted successfully")

    # ------------------------------------------------------------------ snapshots
    def check_snapshot_name(name: str) -> None:
        if not SNAPSHOT_NAME.fullmatch(name):
            raise validation_error("params", "name", 'must match pattern "^[A-Za-z0-9_-]+$"')

    @app.get("/api/v1/containers/<cid>/snapshots")
    def list_snapshots(cid: str) -> Response:
        check_id(cid)
        return ok(platform.snapshots(cid), "Snapshots retrieved successfully")

    @app.post("/api/v1/containers/<cid>/snapshots")
    def create_snapshot(cid: str) -> Response:
        check_id(cid)
        alias, expiry = parse_snapshot_create(request_body(required=False))
        require_write()
        return ok(platform.create_snapshot(cid, alias, expiry), "Snapshot created successfully")

    @app.put("/api/v1/containers/<cid>/snapshots/<name>")
    def restore_snapshot(cid: str, name: str) -> Response:
        check_id(cid)
        check_snapshot_name(name)
        request_body(required=False)
        require_write()
        return ok(platform.restore_snapshot(cid, name), "Snapshot restored successfully")

    @app.delete("/api/v1/containers/<cid>/snapshots/<name>")
    def delete_snapshot(cid: str, name: str) -> Response:
        check_id(cid)
        check_snapshot_name(name)
        require_write()
        return ok(platform.delete_snapshot(cid, name), "Snapshot deleted successfully")

    @app.put("/api/v1/containers/<cid>/snapshots/<name>/alias")
    def snapshot_alias(cid: str, name: str) -> Response:
        check_id(cid)
        check_snapshot_name(name)
        body = request_body()
        only_keys(body, ("alias",))
        require_keys(body, "alias")
        alias = parse_snapshot_alias(body)
        require_write()
        return ok(platform.snapshot_alias(cid, name, alias), "Snapshot alias updated successfully")

    # ------------------------------------------------------------------ proxy aliases
    def render_alias(record: dict[str, Any]) -> dict[str, Any]:
        """An alias record as answered: every field but the internal ``port``, plus ``url``."""
        shown = {key: value for key, value in record.items() if key != "port"}
        return {**shown, "url": f"{request.host_url}__proxy/{record['alias']}/"}

    @app.get("/api/v1/proxy/aliases")
    def list_aliases() -> Response:
        project_id, container_id = query_id("project_id"), query_id("container_id")
        query_id("realm_id")
        enabled, expired = query_flag("enabled"), query_flag("expired")
        aliases = [render_alias(record) for record in platform.aliases(project_id, container_id, enabled, expired)]
        return ok({"aliases": aliases, "count": len(aliases)}, "Proxy aliases retrieved successfully")

    @app.post("/api/v1/proxy/aliases")
    def create_alias() -> Response:
        fields = parse_alias(request_body(), creating=True)
        require_write()
        return ok(render_alias(platform.create_alias(fields)), "Proxy alias created successfully", 201)

    @app.get("/api/v1/proxy/aliases/<aid>")
    def get_alias(aid: str) -> Response:
        check_id(aid)
        return ok(render_alias(platform.alias(aid)), "Proxy alias retrieved successfully")

    @app.patch("/api/v1/proxy/aliases/<aid>")
    def update_alias(aid: str) -> Response:
        check_id(aid)
        fields = parse_alias(request_body(), creating=False)
        require_write()
        return ok(render_alias(platform.update_alias(aid, fields)), "Proxy alias updated successfully")

    @app.patch("/api/v1/proxy/aliases/<aid>/state")
    def alias_state(aid: str) -> Response:
        check_id(aid)
        body = request_body()
        only_keys(body, ("enabled",))
        require_keys(body, "enabled")
        check_type("enabled", body["enabled"], "boolean")
        require_write()
        record = platform.update_alias(aid, {"enabled": body["enabled"]})
        return ok(render_alias(record), "Proxy alias state updated successfully")

    @app.delete("/api/v1/proxy/aliases/<aid>")
    def delete_alias(aid: str) -> Response:
        check_id(aid)
        require_write()
        platform.delete_alias(aid)
        return ok(None, "Proxy alias deleted successfully")

    # ------------------------------------------------------------------ the alias URLs (no auth, no faults)
    @app.get("/__proxy/<alias>/", defaults={"path": ""})
    @app.get("/__proxy/<alias>/<path:path>")
    def proxy(alias: str, path: str) -> Response:
        record, address, port = platform.proxy_target(alias)
        if address is None:
            return error_response(502, f"The container behind alias '{alias}' has no network address")
        if record["target_path"] and (not path or not record["allow_path_override"]):
            path = record["target_path"].lstrip("/")
        try:
            upstream = requests.get(
                f"http://{address}:{port}/{path}",
                params=list(request.args.items(multi=True)),
                timeout=(PROXY_CONNECT_TIMEOUT, PROXY_READ_TIMEOUT),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return error_response(502, f"The upstream of alias '{alias}' did not answer: {exc}")
        headers = {key: upstream.headers[key] for key in ("Content-Type", "Location") if key in upstream.headers}
        return Response(upstream.content, upstream.status_code, headers=headers)

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
        """Abort dropped requests before anything is written; werkzeug then closes the connection quietly.

        ``drop`` shut the socket before the request was processed; ``drop_after`` shuts it now, after.
        """
        response = flask_wsgi(environ, start_response)
        if environ.get(DROP_AFTER_KEY):
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        if environ.get(DROP_KEY) or environ.get(DROP_AFTER_KEY):
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
    parser.add_argument(
        "--db", default=":memory:", help="SQLite file for status logs, env, snapshots and aliases (default: in memory)"
    )
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
