# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Hoody API v1 backend.

Lifecycle calls (``POST /api/v1/containers/{id}/{operation}``) are asynchronous: the API accepts them
and the container moves later, so every wait polls ``GET /api/v1/containers/{id}`` with backoff. A
POST that fails in flight is never resent blindly: the backend re-reads the container for evidence
that the operation took effect and only then lets the driver plan again.

Every answer is checked where it is read (``_Answer``): an empty body, text that is not JSON or a
document of another shape is an error naming the endpoint and what came, never "absent" and never a
KeyError. Only a 404 (or the status ``deleted``) means a container is absent. Every path segment built
from user or server data is percent-quoted.
"""

from __future__ import annotations

import builtins
import re
import threading
import time
from typing import Any, Callable, Optional, Union
from urllib.parse import quote

from ansible_collections.containerops.lifecycle.plugins.module_utils import _history, _paging
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    Backend,
    ContainerState,
    Evidence,
    Wait,
    matching,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import (
    Connection,
    Option,
    declared,
    required,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ConnectionFailed,
    ContainerNotFound,
    ContainerOpsError,
    OperationConflict,
    OperationFailed,
    OperationRejected,
    OutcomeUnknown,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody_events import HoodyFeed
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import (
    DEFAULT_POLL_INTERVAL,
    REQUESTS_IMPORT_ERROR,
    ApiClient,
    ApiError,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    ABSENT,
    FAILED,
    PAUSED,
    RUNNING,
    STOPPED,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import backoff_delay
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import (
    ContainerInfo,
    NetworkRuntime,
    PortBinding,
    ResourceUsage,
    Runtime,
    StatusLogRecord,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._text import engine_text

# Hoody's nine statuses onto the canonical vocabulary.
STATUS_MAP = {
    "running": RUNNING,
    "stopped": STOPPED,
    "paused": PAUSED,
    "failed": FAILED,
    "creating": "creating",
    "copying": "copying",
    "claiming": "claiming",
    "deleting": "deleting",
    "deleted": ABSENT,
}

PAGE_LIMIT = 100
# From this many containers waited on at once, polls share one listing per round.
SHARED_POLL_WAITERS = 4
MAX_PAGES = 1000
# Reads of a paged listing before one whose pages add up (see _paging) is given up on.
LISTING_READS = 3
_ID = re.compile(r"^[0-9a-f]{24}$")


def _data(body: Any) -> Any:
    """The payload of Hoody's ``{statusCode, message, data}`` envelope (or the body itself)."""
    if isinstance(body, dict) and "data" in body and isinstance(body.get("statusCode"), int):
        return body["data"]
    return body


def _q(segment: Any) -> str:
    """One URL path segment, percent-quoted whole (``/`` included)."""
    return quote(str(segment), safe="")


class _Unreadable:
    """A body that is no JSON document."""

    def __init__(self, words: str) -> None:
        self.words = words


EMPTY_BODY = _Unreadable("an empty body")
NOT_JSON = _Unreadable("text that is not JSON")

NULL = type(None)
NUMBER = (int, float)
Kinds = Union[type, tuple[type, ...]]
# What the collection reads from each answer: key -> JSON kind(s); a kind list with NULL makes the key optional.
CONTAINER: dict[str, Kinds] = {"id": str, "status": str, "name": (str, NULL)}
LISTING: dict[str, Kinds] = {"containers": list, "pagination": (dict, NULL)}
PAGINATION: dict[str, Kinds] = {"total": (int, NULL), "totalPages": (int, NULL), "limit": (int, NULL)}
LOGS: dict[str, Kinds] = {"logs": list, "pagination": (dict, NULL)}
LOG: dict[str, Kinds] = {"id": str, "from_status": (str, NULL), "to_status": str, "transition_time": str,
                         "duration_ms": (int, float, NULL), "metadata": (dict, NULL)}  # fmt: skip
SNAPSHOT: dict[str, Kinds] = {"name": str, "alias": (str, NULL)}
ALIAS: dict[str, Kinds] = {"id": str, "alias": (str, NULL), "container_id": str, "program": (str, NULL),
                           "index": (int, NULL), "target_path": (str, NULL), "url": (str, NULL)}  # fmt: skip
_WORDS = ((bool, "a boolean"), (int, "a number"), (float, "a number"), (str, "a string"), (list, "a list"),
          (dict, "an object"), (NULL, "null"))  # fmt: skip


def _describe(value: Any) -> str:
    """What a JSON value is, in words (never the value itself: it could be anything)."""
    if isinstance(value, _Unreadable):
        return value.words
    return next((words for kind, words in _WORDS if isinstance(value, kind)), type(value).__name__)


def _is(value: Any, kinds: Kinds) -> bool:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)


def _kind_words(kinds: Kinds) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    words = [words for kind, words in _WORDS if kind in kinds and kind is not NULL]
    return " or ".join(dict.fromkeys(words)) + (" (or null)" if NULL in kinds else "")


class _Answer:
    """One Hoody answer, checked where it is read: a mismatch raises ``error`` naming the endpoint and what came."""

    def __init__(self, method: str, path: str, error: type[ContainerOpsError] = OperationFailed) -> None:
        self.where = f"{method} {path}"
        self.error = error

    def bad(self, expected: str, got: str) -> ContainerOpsError:
        return self.error(f"Hoody answered {self.where} with an unexpected body: expected {expected}, got {got}")

    def object(self, value: Any, name: str, spec: Optional[dict[str, Kinds]] = None) -> dict[str, Any]:
        """``value`` as an object whose keys match ``spec`` (``name`` is where it sits in the answer)."""
        spec = spec or {}
        required = [key for key, kinds in spec.items() if not _is(None, kinds)]
        if not isinstance(value, dict):
            wanted = f"an object with {', '.join(f'{name}.{key}' for key in required)}" if required else None
            raise self.bad(wanted or f"{name} to be an object", _describe(value))
        for key, kinds in spec.items():
            if key in required and value.get(key) is None:
                raise self.bad(f"an object with {name}.{key}", f"an object without {name}.{key}")
            if not _is(value.get(key), kinds):
                raise self.bad(f"{name}.{key} to be {_kind_words(kinds)}", _describe(value[key]))
        return value

    def objects(self, value: Any, name: str, spec: Optional[dict[str, Kinds]] = None) -> list[dict[str, Any]]:
        """``value`` as a list of objects, each matching ``spec``."""
        if not isinstance(value, list):
            raise self.bad(f"{name} to be a list", _describe(value))
        return [self.object(item, f"{name}[{index}]", spec) for index, item in enumerate(value)]


def _status(raw: Optional[str]) -> Optional[str]:
    return None if raw is None else STATUS_MAP.get(raw, FAILED)


def _whole(value: Any) -> Optional[int]:
    return None if value is None else int(value)


def hoody_ports(sockets: list[dict[str, Any]]) -> dict[str, Optional[list[PortBinding]]]:
    """``runtime.ports`` from ``runtime_info.network_services``: each listening port, published nowhere (None).

    ``tcp6``/``udp6`` sockets are the same ports as ``tcp``/``udp``; a socket without a port number is left out.
    """
    ports: dict[str, Optional[list[PortBinding]]] = {}
    for socket in sockets:
        port = str(socket.get("port") or "")
        protocol = (socket.get("protocol") or "tcp").lower().rstrip("46") or "tcp"
        if port.isdigit():
            ports[f"{int(port)}/{protocol}"] = None
    return dict(sorted(ports.items(), key=lambda item: (int(item[0].split("/")[0]), item[0])))


def _address(item: Any) -> Optional[str]:
    """One entry of a stats interface's ``addresses``: ``10.0.0.2/24``, ``10.0.0.2`` or ``{address|ip|addr}``."""
    if isinstance(item, dict):
        item = item.get("address") or item.get("ip") or item.get("addr")
    return (item.split("/", 1)[0] or None) if isinstance(item, str) else None


def hoody_networks(interfaces: list[dict[str, Any]]) -> dict[str, NetworkRuntime]:
    """``runtime.networks`` from the stats' ``network[]``, keyed by interface; the loopback is left out.

    ``ip_address`` is the first IPv4 address (else the first address); Hoody gives no gateway, MAC address
    or network aliases.
    """
    networks: dict[str, NetworkRuntime] = {}
    for interface in interfaces:
        name = interface.get("interface")
        if not name or name == "lo" or interface.get("type") == "loopback":
            continue
        addresses = [address for address in map(_address, interface.get("addresses") or []) if address]
        ipv4 = [address for address in addresses if ":" not in address]
        networks[name] = {
            "ip_address": (ipv4 or addresses)[0] if addresses else None,
            "gateway": None,
            "mac_address": None,
            "aliases": [],
        }
    return networks


class HoodyBackend(Backend):
    name = "hoody"
    events = HoodyFeed
    settles_at_once = False  # an accepted operation is carried out after the answer
    has_labels = False
    # The proxy's own rule for alias names (they become host names).
    alias_pattern = re.compile(r"[a-z0-9][a-z0-9-]{1,59}[a-z0-9]")
    alias_rule = "3 to 61 lowercase letters, digits and hyphens, no hyphen at either end"

    connection_options = (
        Option("api_url", env=("HOODY_API_URL", "HOODY_BASE_URL"), default="https://api.hoody.icu", identifies=True),
        Option("api_token", env=("HOODY_TOKEN", "HOODY_API_TOKEN"), secret=True),
        Option("api_realm", env=("HOODY_REALM", "HOODY_REALM_ID"), identifies=True),
    )
    library = ("requests", REQUESTS_IMPORT_ERROR)

    @classmethod
    def from_options(cls, connection: Connection) -> HoodyBackend:
        params = connection.params
        return cls(
            ApiClient.from_options(params["api_url"], params, "the Hoody API", connection.source("api_url")),
            token=params["api_token"],
            realm=params["api_realm"],
            poll_interval=params.get("poll_interval") or DEFAULT_POLL_INTERVAL,
            token_named=connection.named("api_token"),
        )

    @classmethod
    def listed_facts(cls, state: ContainerState) -> dict[str, Any]:
        """Hoody containers have no labels; the project is Hoody's own."""
        item = state.details
        return {"labels": {}, "image": item.get("container_image"), "health": state.health,
                "project": item.get("project_id")}  # fmt: skip

    def __init__(
        self,
        client: ApiClient,
        token: Optional[str],
        realm: Optional[str],
        poll_interval: float,
        token_named: str = "api_token",
    ) -> None:
        """``token_named`` says where the token came from, for the message when Hoody rejects it."""
        if not token:
            raise required(self.name, declared(type(self))["api_token"])
        self.client = client
        for warning in client.warnings:  # TLS not verified
            self.warn(warning)
        self.realm = realm
        self.poll_interval = poll_interval
        self._token_named = token_named
        client.set_bearer(token)
        self._directory: Optional[list[dict[str, Any]]] = None
        self._waiters = 0
        self._snapshot_lock = threading.Lock()
        self._snapshot: tuple[float, dict[str, dict[str, Any]]] = (float("-inf"), {})
        self._directory_lock = threading.Lock()
        # Imported here: the parts' file imports this one.
        from ansible_collections.containerops.lifecycle.plugins.module_utils import _hoody_parts

        self.settings = _hoody_parts.HoodySettings(self)
        self.snapshots = _hoody_parts.HoodySnapshots(self)
        self.aliases = _hoody_parts.HoodyAliases(self)

    # Requests ------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; the answer's payload: ``data`` of the envelope, else the body, else EMPTY_BODY or NOT_JSON."""
        try:
            response = self.client.request(method, path, **kwargs)
        except ApiError as exc:
            if exc.status == 401:
                raise ConnectionFailed(
                    f"Hoody rejected the credentials (401: {exc.message}); check {self._token_named}"
                ) from None
            if exc.status == 403:
                raise ConnectionFailed(
                    f"Hoody denied {method} {path} (403: {exc.message}); check the token's permissions and api_realm"
                ) from None
            raise
        if not response.content.strip():
            return EMPTY_BODY
        try:
            return _data(response.json())
        except ValueError:
            return NOT_JSON

    def _read(
        self,
        method: str,
        path: str,
        spec: dict[str, Kinds],
        error: type[ContainerOpsError] = OperationFailed,
        **kwargs: Any,
    ) -> tuple[_Answer, dict[str, Any]]:
        """One request whose payload must be an object matching ``spec``; also its checker, for what is inside."""
        answer = _Answer(method, path, error)
        return answer, answer.object(self._call(method, path, **kwargs), "data", spec)

    def _get_container(self, container_id: str) -> Optional[dict[str, Any]]:
        """The container object; None only when Hoody says there is none (404, or 400 for an impossible id).

        An answer that is not that container's object is a ``ConnectionFailed``: nothing is known about it.
        """
        path = f"/api/v1/containers/{_q(container_id)}"
        try:
            answer, data = self._read("GET", path, CONTAINER, ConnectionFailed)
        except ApiError as exc:
            if exc.status in (400, 404):
                return None
            raise OperationFailed(f"cannot read container {container_id}: {exc}") from None
        if data["id"] != container_id:
            raise answer.bad(f"data.id to be {container_id}", f"another container's id ({data['id']})")
        return data

    @staticmethod
    def _page(answer: _Answer, data: dict[str, Any], items: list[dict[str, Any]]) -> _paging.Page:
        """What ``_paging`` needs of one page: its ids and its pagination block."""
        pagination = answer.object(data.get("pagination") or {}, "data.pagination", PAGINATION)
        return _paging.Page(tuple(item["id"] for item in items), pagination.get("total"),
                            pagination.get("limit") or PAGE_LIMIT, pagination.get("totalPages"))  # fmt: skip

    def _read_pages(
        self,
        what: str,
        read_page: Callable[[int], tuple[list[dict[str, Any]], _paging.Page]],
        error: type[ContainerOpsError],
        enough: Optional[Callable[[list[dict[str, Any]]], bool]] = None,
    ) -> list[dict[str, Any]]:
        """Every entry of a paged listing once, newest first; read again while it moves under the pages.

        ``read_page(n)`` reads page n (sorted newest first, see ``_paging``); ``enough(items)`` may end the
        read early. Pages that do not add up ``LISTING_READS`` times running are an ``error`` naming ``what``
        and what changed: never a listing with a gap.
        """
        why = ""
        for attempt in range(LISTING_READS):
            if attempt:
                time.sleep(backoff_delay(attempt))
            pages: list[_paging.Page] = []
            entries: dict[str, dict[str, Any]] = {}  # a repeat keeps its first place and its newest copy
            while len(pages) < MAX_PAGES:
                items, page = read_page(len(pages) + 1)
                pages.append(page)
                step, why = _paging.verdict(pages)
                if step == _paging.REREAD:
                    break
                entries.update((item["id"], item) for item in items)
                if step == _paging.DONE or (enough is not None and enough(items)):
                    return list(entries.values())
            else:
                raise error(f"{what} has more than {MAX_PAGES} pages of {pages[-1].limit}; it was not read whole")
        raise error(f"{what} kept changing while it was read ({LISTING_READS} times), so it could not be read "
                    f"whole: {why}")  # fmt: skip

    def _list_pages(self, path: str, **extra: Any) -> list[dict[str, Any]]:
        """Every container of a paginated listing once, oldest first; a page that cannot be read, or pages
        that never add up, are a ``ConnectionFailed``."""
        params: dict[str, Any] = {"limit": PAGE_LIMIT, "sort_by": "created_at", "sort_order": "desc", **extra}
        if self.realm and path == "/api/v1/containers/":
            params["realm_id"] = self.realm

        def read_page(number: int) -> tuple[list[dict[str, Any]], _paging.Page]:
            answer, data = self._read("GET", path, LISTING, ConnectionFailed, params=dict(params, page=number))
            items = answer.objects(data["containers"], "data.containers", CONTAINER)
            return items, self._page(answer, data, items)

        newest_first = self._read_pages(f"Hoody's container listing (GET {path})", read_page, ConnectionFailed)
        return newest_first[::-1]

    def _all_containers(self) -> list[dict[str, Any]]:
        """Every container, listed once per task (names resolve against it; statuses are re-read)."""
        with self._directory_lock:
            if self._directory is None:
                self._directory = self._list_pages("/api/v1/containers/")
            return self._directory

    @staticmethod
    def _state(data: dict[str, Any]) -> ContainerState:
        return ContainerState(
            id=data["id"],
            name=data.get("name") or data["id"],
            status=_status(data.get("status")) or FAILED,
            engine_status=data.get("status"),
            details=data,
        )

    # Reads -----------------------------------------------------------------------------------------

    def _resolve(self, ref: str) -> Optional[str]:
        if _ID.match(ref):
            return ref
        matches = [item["id"] for item in self._all_containers() if item.get("name") == ref]
        if len(matches) > 1:
            raise BadInput(f"name {ref!r} matches {len(matches)} Hoody containers ({', '.join(matches)}); use the id")
        return matches[0] if matches else None

    def look_up(self, ref: str) -> ContainerState:
        container_id = self._resolve(ref)
        data = self._get_container(container_id) if container_id else None
        if data is None or data.get("status") == "deleted":
            return ContainerState.absent(ref)
        return self._state(data)

    def list(self, filters: dict[str, Any]) -> list[ContainerState]:
        if filters.get("project"):
            items = self._list_pages(f"/api/v1/projects/{_q(filters['project'])}/containers")
        else:
            items = self._all_containers()
        return matching([self._state(item) for item in items if item.get("status") != "deleted"], filters)

    # Operations ------------------------------------------------------------------------------------

    def perform(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> bool:
        if stop_timeout is not None and operation in ("stop", "restart"):
            self.warn(
                "backend hoody has no stop timeout: the platform's own grace period applies; "
                "stop_timeout only bounds how long force_on_timeout waits"
            )
        path = f"/api/v1/containers/{quote(container.id or '', safe='')}"
        try:
            if operation == "delete":
                self._call("DELETE", path)
                return False
            data = self._call("POST", f"{path}/{operation}")
        except ApiError as exc:
            if exc.status == 404:
                raise ContainerNotFound(container.name, f"it disappeared during {operation}") from None
            if exc.status == 409:
                raise OperationConflict(f"Hoody refused {operation}: {exc.message}") from None
            if exc.status in (408, 502, 503, 504):
                raise OutcomeUnknown(f"POST {operation} answered HTTP {exc.status}") from None
            if 400 <= exc.status < 500:
                raise OperationRejected(f"Hoody rejected {operation} ({exc.status}: {exc.message})") from None
            raise OperationFailed(f"{operation} failed: {exc}") from None
        # An answer that cannot be read leaves the outcome open: the driver looks for the operation's effect.
        answer = _Answer("POST", f"{path}/{operation}", OutcomeUnknown)
        try:
            data = answer.object(data, "data", {"error": (bool, NULL), "message": (str, NULL)})
        except OutcomeUnknown as exc:
            self.warn(f"{exc}; the {operation} counts only once the container shows its effect")
            raise
        if data.get("error"):
            said = engine_text(data.get("message") or "data.error is true")
            raise OperationConflict(f"Hoody refused {operation}: {said}")
        return operation == "force-stop"

    def evidence_mark(self, container: ContainerState, operation: str) -> Evidence:
        """Before a restart, the newest status-log record: the restart's own record will be newer."""
        if operation != "restart":
            return super().evidence_mark(container, operation)
        return Evidence(operation, self._newest_log_id(container))

    def shows_effect(self, container: ContainerState, evidence: Evidence) -> Optional[bool]:
        """A restart shows as a status-log record newer than the one ``evidence`` saw; anything else as its
        status."""
        if evidence.operation == "restart":
            return self._restarted(container, evidence.before)
        return super().shows_effect(container, evidence)

    def _newest_log(self, container: ContainerState) -> Optional[dict[str, Any]]:
        """The newest status-log record (evidence of a restart): an unreadable answer is a ``ConnectionFailed``."""
        answer, data = self._read(
            "GET", f"/api/v1/containers/{_q(container.id)}/status-logs", LOGS, ConnectionFailed,
            params={"limit": 1, "page": 1, "sort_by": "transition_time", "sort_order": "desc"},
        )  # fmt: skip
        logs = answer.objects(data["logs"], "data.logs", LOG)
        return logs[0] if logs else None

    def _newest_log_id(self, container: ContainerState) -> Optional[str]:
        newest = self._newest_log(container)
        return newest.get("id") if newest else None

    def _restarted(self, container: ContainerState, mark: Optional[str]) -> bool:
        """Whether a restart record newer than ``mark`` (the newest record before the POST) exists."""
        newest = self._newest_log(container)
        return newest is not None and newest.get("id") != mark and _history.operation_of(newest) == "restart"

    # Waits -----------------------------------------------------------------------------------------

    def watch(self, container: ContainerState, wait: Wait) -> ContainerState:
        """Polls, counted: from ``SHARED_POLL_WAITERS`` waiters on, they share one listing per round."""
        with self._snapshot_lock:
            self._waiters += 1
        try:
            return super().watch(container, wait)
        finally:
            with self._snapshot_lock:
                self._waiters -= 1

    def observe(self, container: ContainerState) -> ContainerState:
        """One poll: a direct read, or with many waiters, a look-up in one listing shared by all of them.

        The shared listing is refreshed at most once per ``poll_interval``, so N workers waiting at once
        cost one list call per round instead of N reads.
        """
        if self._waiters < SHARED_POLL_WAITERS:
            return self.inspect(container.ref)
        with self._snapshot_lock:
            taken_at, by_id = self._snapshot
            if time.monotonic() - taken_at >= self.poll_interval:
                items = self._list_pages("/api/v1/containers/", include_deleting="true")
                by_id = {item["id"]: item for item in items}
                self._snapshot = (time.monotonic(), by_id)
        item = by_id.get(container.id) if container.id else None
        if item is None or item.get("status") == "deleted":
            return self.inspect(container.ref)  # gone, or too new for the listing: read it directly
        return self._state(item)

    # Reports ---------------------------------------------------------------------------------------

    def describe(self, container: ContainerState, runtime: bool) -> ContainerInfo:
        data = container.details if "status" in container.details else self.inspect(container.ref).details
        info: ContainerInfo = {
            "exists": True,
            "id": data["id"],
            "name": container.name,
            "status": container.status,
            "engine_status": data.get("status"),
            "health": None,
            "autostart": bool(data.get("autostart")),
            "image": data.get("container_image"),
            "labels": {},
            "project_id": data.get("project_id"),
            "started_at": None,
            "finished_at": None,
            "exit_code": None,
        }
        if runtime:
            info["runtime"] = self._runtime(container)
        return info

    def _runtime(self, container: ContainerState) -> Runtime:
        """Processes and ports from ``runtime_info``; networks and resource usage from the stats of a running one.

        Hoody's processes are its service units and its ports the sockets they listen on (published on no
        host: proxy aliases reach them). What Hoody does not say (gateways, MAC addresses, CPU time) is None.
        """
        path = f"/api/v1/containers/{_q(container.id)}"
        answer, details = self._read("GET", path, {"runtime_info": (dict, NULL)}, params={"runtime": "true"})
        measured = details.get("runtime_info")
        runtime_info = answer.object(
            measured or {},
            "data.runtime_info",
            {"services": (list, NULL), "network_services": (list, NULL)},
        )
        sockets = answer.objects(runtime_info.get("network_services") or [], "data.runtime_info.network_services",
                                 {"port": (int, str, NULL), "protocol": (str, NULL)})  # fmt: skip
        # Nothing measured means no processes only when the container has none to measure.
        nothing: Optional[builtins.list[dict[str, Any]]] = [] if container.status in (STOPPED, FAILED) else None
        runtime: Runtime = {
            "processes": (runtime_info.get("services") or []) if measured is not None else nothing,
            "ports": hoody_ports(sockets) if measured is not None else (None if nothing is None else {}),
            "networks": None,
            "resource_usage": None,
        }
        if container.status != RUNNING:
            return runtime
        try:  # resource usage is a bonus: when it cannot be had, say why and report the rest
            runtime["networks"], runtime["resource_usage"] = self._stats(path)
        except ApiError as exc:
            runtime["error"] = exc.message
        except OperationFailed as exc:
            runtime["error"] = str(exc)
        return runtime

    def _stats(self, path: str) -> tuple[dict[str, NetworkRuntime], ResourceUsage]:
        """The networks and resource usage of a running container, from ``GET .../stats``."""
        spec: dict[str, Kinds] = {"memory": (dict, NULL), "cpu": (dict, NULL), "network": (list, NULL),
                                  "processes": (int, NULL)}  # fmt: skip
        answer, stats = self._read("GET", f"{path}/stats", spec)
        memory = answer.object(stats.get("memory") or {}, "data.memory", {"usage": (*NUMBER, NULL),
                                                                          "total": (*NUMBER, NULL)})  # fmt: skip
        cpu = answer.object(stats.get("cpu") or {}, "data.cpu", {"usage_percent": (*NUMBER, NULL)})
        networks = answer.objects(stats.get("network") or [], "data.network",
                                  {"interface": (str, NULL), "addresses": (list, NULL), "type": (str, NULL)})
        usage: ResourceUsage = {
            "memory_usage_bytes": _whole(memory.get("usage")),
            "memory_limit_bytes": _whole(memory.get("total")),
            "cpu_total_usage_ns": None,  # Hoody's cpu.usage has no documented unit
            "cpu_usage_percent": cpu.get("usage_percent"),
            "pids": stats.get("processes"),
        }
        return hoody_networks(networks), usage

    def status_history(
        self, ref: str, since: Optional[float], until: Optional[float]
    ) -> builtins.list[StatusLogRecord]:
        container_id = self._resolve(ref)
        if container_id is None:
            raise ContainerNotFound(ref, "Hoody keeps status logs by id; give the id of a deleted container")
        # Newest first: records added during the read (a restart storm) only move the others down.
        params = {"limit": PAGE_LIMIT, "sort_by": "transition_time", "sort_order": "desc"}
        path = f"/api/v1/containers/{_q(container_id)}/status-logs"

        def read_page(number: int) -> tuple[list[dict[str, Any]], _paging.Page]:
            try:
                answer, data = self._read("GET", path, LOGS, params=dict(params, page=number))
            except ApiError as exc:
                if exc.status == 404:
                    raise ContainerNotFound(ref) from None
                raise OperationFailed(f"cannot read the status logs of {ref!r}: {exc}") from None
            logs = answer.objects(data["logs"], "data.logs", LOG)
            for index, log in enumerate(logs):
                try:
                    _history.parse_iso(log["transition_time"])
                except ValueError:
                    raise answer.bad(
                        f"data.logs[{index}].transition_time to be an ISO 8601 time", "a string that is not one"
                    ) from None
            return logs, self._page(answer, data, logs)

        def older_than_since(logs: list[dict[str, Any]]) -> bool:
            """Whether the page reaches past ``since`` (its last record is its oldest)."""
            oldest = _history.parse_iso(logs[-1]["transition_time"]).timestamp() if logs else None
            return since is not None and oldest is not None and oldest < since

        logs = self._read_pages(f"the status logs of {ref!r} (GET {path})", read_page, OperationFailed,
                                older_than_since)  # fmt: skip
        return [self._record(log, container_id) for log in logs]

    @staticmethod
    def _record(log: dict[str, Any], container_id: str) -> StatusLogRecord:
        """One status log (validated as ``LOG``) as a ``_history`` record of the container ``container_id``."""
        metadata = dict(log.get("metadata") or {})
        record: StatusLogRecord = {
            "id": log["id"],
            "container_id": log.get("container_id") or container_id,
            "from_status": _status(log.get("from_status")),
            "to_status": STATUS_MAP.get(log["to_status"], FAILED),
            "transition_time": log["transition_time"],
            "duration_ms": log.get("duration_ms"),
            "triggered_by": log.get("triggered_by"),
            "metadata": metadata,
        }
        metadata.setdefault("operation", _history.operation_of(record))
        return record

    # Writes ----------------------------------------------------------------------------------------

    def _change(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """A write call; Hoody's refusals become the collection's errors, naming ``what`` was attempted."""
        try:
            return self._call(method, path, **kwargs)
        except ApiError as exc:
            if exc.status == 409:
                raise OperationConflict(f"Hoody refused to {what} (409: {exc.message})") from None
            raise OperationFailed(f"could not {what}: {exc}") from None

    def close(self) -> None:
        self.client.close()
