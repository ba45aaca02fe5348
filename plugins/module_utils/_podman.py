# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Podman backend: Podman's own libpod REST API (``podman system service``), not its Docker-compatible one.

The client is ours (``LibpodClient``): requests over the unix socket through the Docker SDK's transport
adapter, both already runtime dependencies, rather than the ``podman`` package from PyPI, which would add a
dependency (and its own pins of requests and urllib3) for a handful of calls. Paths are relative to the
libpod root ``/v4.0.0/libpod``, which every Podman since 4.0 serves.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import time
from typing import Any, Generator, Iterator, Mapping, Optional
from urllib.parse import quote, unquote, urlsplit

from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    FULL_ID,
    ContainerState,
    Wait,
    exactly,
    matching,
    wait_timed_out,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import Connection, Option
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import (
    DockerShapedBackend,
    event_is_of,
    info_from_inspect,
    label_filters,
    listed_facts,
    network_runtime,
    resource_usage,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ConnectionFailed,
    ContainerNotFound,
    ContainerOpsError,
    EngineLost,
    OperationConflict,
    OperationFailed,
    OperationRejected,
    Unsupported,
    WaitTimeout,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    ABSENT,
    FAILED,
    PAUSED,
    RUNNING,
    STOPPED,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman_events import PodmanFeed
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman_history import (
    AFTERMATH_NS,
    PODMAN_EVENT_ACTIONS,
    records_from_podman_events,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import TRANSIENT_STATUS, call_with_retries
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import (
    ContainerInfo,
    Runtime,
    StatusLogRecord,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._text import engine_text
from ansible_collections.containerops.lifecycle.plugins.module_utils._unreachable import why_unreachable

try:
    import requests
    import urllib3
    from docker.transport import UnixHTTPAdapter

    REQUESTS_IMPORT_ERROR: Optional[str] = None
except ImportError as _exc:  # pragma: no cover - reported by the module through missing_required_lib
    REQUESTS_IMPORT_ERROR = str(_exc)

#: How far before ``since`` a status history reads libpod's events, for the context of the first records.
HISTORY_CONTEXT_S = 60
#: Where the libpod API lives on the service; 4.0.0 is the oldest version every Podman 4 answers.
LIBPOD_ROOT = "/v4.0.0/libpod"
PODMAN_HOST_SCHEMES = ("unix", "tcp")
# The base URL requests sees for a unix socket; the adapter mounted on it connects to the socket instead.
_UNIX_BASE = "http+docker://localhost"
IDEMPOTENT = ("GET", "HEAD")
# What libpod answers a start of a running container or a stop of a stopped one: done already, no body.
NOT_MODIFIED = 304


class PodmanApiError(Exception):
    """An error answer of the libpod API: its HTTP status and what it said (made safe by ``engine_text``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class PodmanUnreachable(ConnectionFailed):
    """The service could not be reached, or stopped answering; ``reason`` says why in plain words
    (``_unreachable.why_unreachable``), ``timed_out`` whether it merely did not answer in time, ``in_flight``
    whether a request that changes something may have reached it."""

    def __init__(self, where: str, reason: str, timed_out: bool, in_flight: bool) -> None:
        super().__init__(f"cannot reach {where}: {reason}")
        self.reason = reason
        self.timed_out = timed_out
        self.in_flight = in_flight


def socket_path(podman_host: str) -> Optional[str]:
    """The socket file of a ``unix://`` host; None for another scheme."""
    parts = urlsplit(podman_host)
    return unquote(parts.netloc + parts.path) if parts.scheme == "unix" else None


def check_host(podman_host: str, source: str = "podman_host") -> None:
    """``BadInput`` unless ``podman_host`` is a ``unix:///path`` or ``tcp://host:port`` URL the client can use."""
    try:
        parts = urlsplit(podman_host)
        port = parts.port if parts.scheme == "tcp" else None
    except ValueError:
        parts, port = None, -1
    if parts is not None and parts.scheme == "ssh":
        raise BadInput(
            f"podman_host {podman_host!r} ({source}): ssh:// is not supported by backend podman; forward the "
            "remote socket (ssh -L /tmp/podman.sock:/run/podman/podman.sock host) and use its unix:// path"
        )
    if parts is None or parts.scheme not in PODMAN_HOST_SCHEMES or port == -1:
        raise BadInput(f"podman_host must be a unix:// or tcp:// URL, got {podman_host!r} ({source})")
    if parts.scheme == "unix" and not (socket_path(podman_host) or "").startswith("/"):
        raise BadInput(f"podman_host {podman_host!r} ({source}) must name the socket by its absolute path")
    if parts.scheme == "tcp" and (not parts.hostname or not port or parts.path not in ("", "/")):
        raise BadInput(f"podman_host {podman_host!r} ({source}) must be tcp://host:port")


def _error_message(response: Any) -> str:
    """What an error answer says: libpod's ``{"cause", "message", "response"}``, else its text."""
    try:
        body = response.json()
    except ValueError:
        return engine_text(response.text or response.reason or "")
    if isinstance(body, dict):
        return engine_text(body.get("message") or body.get("cause") or response.reason or "")
    return engine_text(body)


class LibpodClient:
    """One HTTP session to a libpod service, shared by the worker threads of a task.

    A 2xx answer, or 304 (nothing to do: already started, already stopped), is an answer. ``call`` and ``stream``
    raise ``PodmanApiError`` for an error answer (or one that is not JSON), and ``PodmanUnreachable`` when the
    service cannot be reached or stops answering. Reads (GET) are retried on transient faults; a request that
    changes something never is.
    """

    def __init__(self, podman_host: str, timeout: float, retries: int, pool_size: int = 1, where: str = "") -> None:
        check_host(podman_host)
        self.podman_host = podman_host
        self.timeout = timeout
        self.retries = retries
        self.where = where or f"the Podman service at {podman_host}"
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": "containerops.lifecycle", "Accept": "application/json"})
        self.session.trust_env = False  # no proxy from the environment, for a socket or a tcp:// service alike
        path = socket_path(podman_host)
        if path is not None:
            adapter = UnixHTTPAdapter(path, timeout=timeout, max_pool_size=max(pool_size, 1) + 2)
            self.session.mount(_UNIX_BASE, adapter)
            self.base_url = _UNIX_BASE + LIBPOD_ROOT
        else:
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(pool_size, 1) + 2, max_retries=0)
            self.session.mount("http://", adapter)
            self.base_url = f"http://{urlsplit(podman_host).netloc}{LIBPOD_ROOT}"

    def _send(
        self,
        method: str,
        path: str,
        params: Optional[dict[str, Any]],
        body: Any,
        timeout: Optional[float],
        stream: bool,
    ) -> Any:
        """The response of a 2xx answer; ``PodmanApiError`` for any other, ``PodmanUnreachable`` for none."""
        method = method.upper()
        idempotent = method in IDEMPOTENT
        wait = self.timeout if timeout is None else timeout

        def send() -> Any:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                timeout=wait,
                stream=stream,
                allow_redirects=False,
            )
            if idempotent and response.status_code in TRANSIENT_STATUS:
                message = _error_message(response)
                response.close()
                raise PodmanApiError(response.status_code, message)
            return response

        def transient(exc: Exception) -> Optional[float]:
            if isinstance(exc, PodmanApiError) or (idempotent and isinstance(exc, requests.ConnectionError)):
                return 0
            return None

        try:
            response = call_with_retries(send, self.retries, transient)
        except requests.RequestException as exc:
            raise self.unreachable(exc, wait, in_flight=not idempotent) from None
        if response.status_code >= 300 and response.status_code != NOT_MODIFIED:
            message = _error_message(response)
            response.close()
            raise PodmanApiError(response.status_code, message)
        return response

    def unreachable(self, exc: BaseException, waited: float, in_flight: bool) -> PodmanUnreachable:
        """The ``PodmanUnreachable`` for a transport fault; a request that was never sent was not in flight."""
        reason = why_unreachable(exc)
        timed_out = reason == "timed out"
        if timed_out:
            reason = f"no answer within {waited:g}s (timeout)"
        never_sent = (
            isinstance(exc, requests.ConnectionError)
            and not isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ReadTimeout))
            and reason in ("connection refused", "no such socket file", "permission denied", "name not resolved")
        )
        return PodmanUnreachable(self.where, reason, timed_out, in_flight and not never_sent)

    def call(
        self,
        method: str,
        path: str,
        params: Optional[dict[str, Any]] = None,
        body: Any = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """One request; its answer's JSON, None for an empty body, the text of a plain-text one (``/_ping``)."""
        response = self._send(method, path, params, body, timeout, stream=False)
        if not response.content:
            return None
        if "json" not in response.headers.get("Content-Type", "json"):
            return response.text
        try:
            return response.json()
        except ValueError:
            malformed = f"the answer is not JSON: {engine_text(response.text, 100)}"
            raise PodmanApiError(response.status_code, malformed) from None

    def stream(
        self, method: str, path: str, params: Optional[dict[str, Any]] = None, timeout: Optional[float] = None
    ) -> Generator[Any, None, None]:
        """A streamed answer (``/events?stream=true``), one parsed JSON line at a time; each read waits at most
        ``timeout`` (else the ``timeout`` option). Closing the iterator closes the connection."""
        wait = self.timeout if timeout is None else timeout
        response = self._send(method, path, params, None, wait, stream=True)
        try:
            for line in response.iter_lines():
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError:
                        malformed = f"a streamed line is not JSON: {engine_text(line, 100)}"
                        raise PodmanApiError(response.status_code, malformed) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self.unreachable(exc, wait, in_flight=False) from None
        finally:
            response.close()

    def close(self) -> None:
        self.session.close()


# The backend ------------------------------------------------------------------------------------------

# libpod's ``State.Status`` (and a listing's ``State``) onto the canonical vocabulary; anything else is failed.
STATUS_MAP = {
    "configured": STOPPED,
    "created": STOPPED,
    "exited": STOPPED,
    "stopped": STOPPED,
    "running": RUNNING,
    "paused": PAUSED,
    "restarting": "restarting",
    "stopping": "stopping",
    "removing": "removing",
}
# The health a listing's ``Status`` may say; anything else there is no health.
HEALTH_STATUSES = ("healthy", "unhealthy", "starting")
# The exit code of a process ended by SIGKILL (128 + 9), and the ways a stop signal may name SIGKILL.
SIGKILL_EXIT_CODE = 137
SIGKILL_NAMES = ("9", "KILL", "SIGKILL")
# What libpod says of an operation the container's state does not allow, and of a container without a cgroup
# of its own (rootless on cgroup v1, or run with --cgroups=disabled): it cannot be paused there.
STATE_IMPROPER = "container state improper"
NO_CGROUP = "does not have a cgroup"
# What to check, by why the service could not be reached.
_CHECK = {
    "no such socket file": "Check that the Podman service runs (podman system service) and that podman_host names "
    "its socket",
    "connection refused": "Check that the Podman service runs and listens there",
    "permission denied": "Check that this user may use its socket (root's, or this user's own rootless one)",
}


def default_host(euid: int, environ: Mapping[str, str]) -> str:
    """Where Podman's service listens when nothing says: root's socket, else this user's rootless one."""
    if euid == 0:
        return "unix:///run/podman/podman.sock"
    runtime_dir = environ.get("XDG_RUNTIME_DIR") or f"/run/user/{euid}"
    return f"unix://{runtime_dir}/podman/podman.sock"


def podman_host(connection: Connection) -> str:
    """``podman_host`` as the task, ``CONTAINER_HOST`` or the default for this user gives it."""
    return connection.params.get("podman_host") or default_host(os.geteuid(), connection.environ)


def state_from_inspect(data: dict[str, Any]) -> ContainerState:
    """A ``ContainerState`` from ``GET /containers/{id}/json``; the inspect data stays in ``details``.

    libpod says no health check as an empty health status: that is None, as on every engine.
    """
    state = data["State"]
    engine_status = state.get("Status") or ("running" if state.get("Running") else "exited")
    return ContainerState(
        id=data["Id"],
        name=data["Name"].lstrip("/"),
        status=STATUS_MAP.get(engine_status, FAILED),
        engine_status=engine_status,
        health=(state.get("Health") or {}).get("Status") or None,
        details=data,
    )


def state_from_summary(summary: dict[str, Any]) -> ContainerState:
    """A ``ContainerState`` from one entry of ``GET /containers/json``; the entry stays in ``details["summary"]``."""
    engine_status = summary.get("State")
    health = summary.get("Status")
    return ContainerState(
        id=summary["Id"],
        name=(summary.get("Names") or [summary["Id"][:12]])[0],
        status=STATUS_MAP.get(engine_status or "", FAILED),
        engine_status=engine_status,
        health=health if health in HEALTH_STATUSES else None,
        details={"summary": summary},
    )


def processes_from_top(top: Any) -> list[dict[str, Any]]:
    """libpod's ``/top`` (``Titles`` and one row of fields per process) as one dict per process."""
    titles = top.get("Titles") or [] if isinstance(top, dict) else []
    rows = top.get("Processes") or [] if isinstance(top, dict) else []
    return [dict(zip(titles, row)) for row in rows if isinstance(row, list)]


def stop_forced(exit_code: Any, stop_signal: Any, elapsed: float, grace: float) -> bool:
    """Whether a graceful stop (or the stop of a restart) ended the container's process with SIGKILL.

    libpod says nothing of it (its ``kill`` event carries no signal, and may be missing). The process died of
    SIGKILL (exit code 137), and either SIGKILL is its stop signal or the engine waited out the whole grace
    period first: a process that ended of its own accord within the grace period was not forced.
    """
    return exit_code == SIGKILL_EXIT_CODE and (str(stop_signal).upper() in SIGKILL_NAMES or elapsed >= grace)


def _next_event(events: Iterator[Any]) -> bool:
    """Whether another event came; a stream that ends, goes quiet, breaks or is malformed says no."""
    try:
        next(events)
    except (StopIteration, PodmanApiError, PodmanUnreachable):
        return False
    return True


def _listed_labels(state: ContainerState) -> dict[str, str]:
    return state.details["summary"].get("Labels") or {}


class PodmanBackend(DockerShapedBackend):
    """Podman through libpod: its inspect and listing are Docker's shapes, its operations its own."""

    name = "podman"
    events = PodmanFeed
    connection_options = (Option("podman_host", env=("CONTAINER_HOST",), identifies=True),)
    library = (
        "requests and docker (Docker SDK for Python >= 7.0, for its unix socket transport)",
        REQUESTS_IMPORT_ERROR,
    )

    @classmethod
    def validate_options(cls, connection: Connection) -> None:
        """``podman_host`` must be a ``unix://`` or ``tcp://`` URL; TLS options are refused: libpod's service
        speaks plain HTTP."""
        check_host(podman_host(connection), connection.source("podman_host"))
        given = [option for option in ("validate_certs", "ca_path", "client_cert", "client_key")
                 if connection.params.get(option) is not None]  # fmt: skip
        if given:
            raise BadInput(
                f"{', '.join(given)}: backend podman takes no TLS options, since Podman's service speaks plain HTTP "
                "(on tcp://, put it behind a TLS proxy, or reach its socket over ssh); unset them"
            )

    @classmethod
    def from_options(cls, connection: Connection) -> PodmanBackend:
        params = connection.params
        host = podman_host(connection)
        given = connection.origin("podman_host") is None
        return cls(
            LibpodClient(
                host,
                timeout=params["timeout"],
                retries=params["retries"],
                pool_size=params.get("parallel") or 1,
                where=f"the Podman service at {host}" + ("" if given else f" ({connection.source('podman_host')})"),
            )
        )

    @classmethod
    def address(cls, connection: Connection) -> tuple[dict[str, Any], str]:
        host = podman_host(connection)
        given = connection.origin("podman_host") is None
        return {"podman_host": host}, host if given else f"{host} ({connection.source('podman_host')})"

    @classmethod
    def listed_facts(cls, state: ContainerState) -> dict[str, Any]:
        summary = state.details.get("summary") or {}
        return listed_facts(summary.get("Labels"), summary.get("Image"), state.health)

    def __init__(self, api: LibpodClient) -> None:
        self.api = api
        self.where = api.where
        self.timeout = api.timeout
        # Imported here: the parts' file imports this one.
        from ansible_collections.containerops.lifecycle.plugins.module_utils import _podman_parts

        self.settings = _podman_parts.PodmanSettings(self)
        self.snapshots = snapshots = _podman_parts.PodmanSnapshots(self)
        self._release_image = snapshots.release_image
        self.aliases = _podman_parts.PodmanAliases(self)
        self.health = _podman_parts.PodmanHealth(self)

    # The edge ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _engine(self, what: str, operation: Optional[str] = None) -> Iterator[None]:
        """Translate libpod's error answers and a lost service into the domain error that says what happened.

        ``what`` says what was being done (``inspecting container 'web'``); ``operation`` names the lifecycle
        operation in flight, if any: its refusal is that operation's, and losing the service leaves its outcome
        unknown (``EngineLost``).
        """
        try:
            yield
        except PodmanApiError as exc:
            raise self._refused(exc, what, operation) from None
        except PodmanUnreachable as exc:
            raise self._lost(exc, what, operation) from None

    def _refused(self, exc: PodmanApiError, what: str, operation: Optional[str]) -> ContainerOpsError:
        status, message = exc.status, exc.message
        if operation is None:
            return OperationFailed(f"{self.where} answered {status} while {what}: {message}")
        if STATE_IMPROPER in message:  # libpod's 500 for a state that does not allow it
            return OperationConflict(f"{operation} refused by the engine: {message}")
        if 400 <= status < 500 and status not in (404, 408, 429):
            return OperationRejected(f"the engine rejected the {operation} ({status}): {message}")
        return OperationFailed(f"{operation} failed: {message}")

    def _lost(self, exc: PodmanUnreachable, what: str, operation: Optional[str]) -> ContainerOpsError:
        if operation is None or not exc.in_flight:
            check = "" if exc.timed_out else f". {_CHECK.get(exc.reason, 'Check that the Podman service runs')}."
            return ConnectionFailed(f"cannot reach {self.where} while {what}: {exc.reason}{check}")
        if exc.timed_out:
            return self._no_answer(
                operation,
                self.timeout,
                OperationFailed(
                    f"{operation} got no answer within {self.timeout}s (timeout), although the engine still "
                    "answers; its outcome is read again"
                ),
            )
        return EngineLost(
            f"engine lost during {operation}: cannot reach {self.where}: {exc.reason}; whether the {operation} took "
            "effect is unknown"
        )

    def _answers(self) -> bool:
        """Whether the service still answers (a ping, within ``timeout``)."""
        try:
            self.api.call("GET", "/_ping")
        except PodmanUnreachable:
            return False
        except PodmanApiError:
            return True  # an error answer is an answer
        return True

    def _no_answer(self, operation: str, waited: float, if_alive: ContainerOpsError) -> ContainerOpsError:
        """The error for an operation whose answer did not come within ``waited`` seconds: ``if_alive`` when the
        service still answers a ping, else ``EngineLost``."""
        if self._answers():
            return if_alive
        return EngineLost(
            f"engine lost during {operation}: {self.where} did not answer it within {waited:.0f}s, nor a ping "
            f"within {self.timeout}s (timeout); whether the {operation} took effect is unknown"
        )

    # Reads -------------------------------------------------------------------------------------

    def look_up(self, ref: str) -> ContainerState:
        """libpod's inspect of ``ref``; it resolves id prefixes, so ``inspect`` keeps the answer only when ``ref``
        names the container exactly."""
        shown = ref[:12] if FULL_ID.fullmatch(ref) else ref
        with self._engine(f"inspecting container {shown!r}"):
            try:
                data = self.api.call("GET", f"/containers/{quote(ref, safe='')}/json")
            except PodmanApiError as exc:
                if exc.status == 404:
                    return ContainerState.absent(ref)
                raise
            return self._state(data, f"inspecting container {shown!r}")

    def _state(self, data: Any, what: str) -> ContainerState:
        try:
            return state_from_inspect(data)
        except (KeyError, TypeError, AttributeError) as exc:
            raise OperationFailed(f"{self.where} sent a malformed answer while {what}: {type(exc).__name__}: {exc}"
                                  ) from None  # fmt: skip

    def list(self, filters: dict[str, Any]) -> builtins.list[ContainerState]:
        labels = label_filters(filters)
        params: dict[str, Any] = {"all": "true"}
        if labels:
            params["filters"] = json.dumps({"label": labels})
        with self._engine("listing containers"):
            summaries = self.api.call("GET", "/containers/json", params)
            try:
                listed = [state_from_summary(summary) for summary in summaries or []]
            except (KeyError, TypeError, AttributeError, IndexError) as exc:
                raise OperationFailed(f"{self.where} sent a malformed listing: {type(exc).__name__}: {exc}") from None
        return matching(listed, dict(filters, label=labels), _listed_labels)

    def observe(self, container: ContainerState) -> ContainerState:
        return exactly(self.look_up(container.ref), container.ref)

    def watch(self, container: ContainerState, wait: Wait) -> ContainerState:
        """Re-inspect on every libpod event of the container until ``wait.over(state)``; one read when it already is.

        A subscription replays the events since just before it (libpod reads them from its log), so nothing
        between a look and the subscription is missed; each read waits at most the ``timeout`` option's seconds
        (or what is left of the wait), so a service that stops answering ends it and the next look says so.
        """
        started = time.monotonic()
        state = self.observe(container)
        done = wait.over(state)
        filters = json.dumps({"type": ["container"], "container": [container.ref]})
        while not done:
            remaining = wait.timeout - (time.monotonic() - started)
            if remaining <= 0:
                raise wait_timed_out(wait.still(state), started)
            params = {"stream": "true", "since": f"{time.time() - 1:.6f}", "filters": filters}
            subscribed = time.monotonic()
            events = self.api.stream("GET", "/events", params, timeout=min(remaining, self.timeout))
            try:
                while not done and _next_event(events) and time.monotonic() - started < wait.timeout:
                    state = self.observe(container)
                    done = wait.over(state)
            finally:
                events.close()
            if not done:
                state = self.observe(container)  # the stream ended: quiet, broken, or the service gone
                done = wait.over(state)
            if not done and time.monotonic() - subscribed < min(remaining, 1.0):
                time.sleep(min(0.5, max(wait.timeout - (time.monotonic() - started), 0)))  # no busy loop
        return state

    # Operations --------------------------------------------------------------------------------

    def stop_timeout_in_force(self, container: ContainerState, stop_timeout: Optional[int]) -> int:
        return self.own_stop_timeout(container) if stop_timeout is None else stop_timeout

    def perform(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> bool:
        path = f"/containers/{quote(container.ref, safe='')}"
        with self._engine(f"asking for the {operation} of {container.name!r}", operation):
            try:
                if operation == "start":
                    self.api.call("POST", f"{path}/start")
                elif operation in ("stop", "restart"):
                    return self._stop_or_restart(container, operation, stop_timeout)
                elif operation == "force-stop":
                    self._kill(container)
                    return True
                elif operation in ("pause", "resume"):
                    self._pause_or_resume(container, operation)
                elif operation == "delete":
                    self._delete(container)
                else:
                    raise BadInput(f"unknown operation {operation!r}")
            except PodmanApiError as exc:
                if exc.status == 404:
                    raise ContainerNotFound(container.name, f"it disappeared during {operation}") from None
                raise
        return False

    def _stop_or_restart(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> bool:
        """A graceful stop or restart with the grace period in force, always given as libpod's ``timeout``: its
        restart without one kills at once. Whether it needed SIGKILL (``stop_forced``) is the answer."""
        before = self.inspected(container)
        grace = self.stop_timeout_in_force(before, stop_timeout)
        deadline = self.stop_deadline(before, stop_timeout)
        path = f"/containers/{quote(before.ref, safe='')}/{operation}"
        began, since = time.monotonic(), time.time()
        try:
            self.api.call("POST", path, {"timeout": grace}, timeout=deadline)
        except PodmanUnreachable as exc:
            if not exc.timed_out:
                raise
            raise self._no_answer(
                operation,
                deadline,
                WaitTimeout(
                    f"graceful {operation} did not finish within {grace}s (stop_timeout) plus a "
                    f"{deadline - grace:.0f}s margin"
                ),
            ) from None
        if before.status not in (RUNNING, PAUSED, "restarting"):
            return False  # nothing was running: nothing could be killed
        return self._was_killed(before, operation, time.monotonic() - began, grace, since)

    def _was_killed(self, before: ContainerState, operation: str, elapsed: float, grace: int, since: float) -> bool:
        """Whether the stop or restart that just returned needed SIGKILL: after a stop the exit code tells; after
        a restart, which runs the container again, the exit code of its ``died`` event since ``since``."""
        stop_signal = (before.details.get("Config") or {}).get("StopSignal")
        try:
            if operation == "stop":
                exit_code = (self.inspected(self.inspect(before.ref)).details.get("State") or {}).get("ExitCode")
            else:
                exit_code = self._died_with(before.ref, since)
        except ContainerOpsError:
            return False  # the operation itself succeeded; only whether it was forced is unknown
        return stop_forced(exit_code, stop_signal, elapsed, grace)

    def _died_with(self, container_id: str, since: float) -> Optional[int]:
        """The exit code of the container's last ``died`` event since ``since`` (seconds), if there is one."""
        params = {
            "stream": "false",
            "since": str(int(since)),
            "filters": json.dumps({"container": [container_id], "type": ["container"], "event": ["died"]}),
        }
        with self._engine(f"reading the events of {container_id[:12]!r}"):
            events = builtins.list(self.api.stream("GET", "/events", params))  # one JSON line per event
        codes = [
            (event.get("timeNano") or 0, (event.get("Actor") or {}).get("Attributes", {}).get("containerExitCode"))
            for event in events
            if isinstance(event, dict) and (event.get("timeNano") or 0) >= int(since * 1e9)
        ]
        return int(max(codes)[1]) if codes and str(max(codes)[1]).isdigit() else None

    def _kill(self, container: ContainerState) -> None:
        """SIGKILL, then wait until the engine no longer counts it as running."""
        path = f"/containers/{quote(container.ref, safe='')}"
        self.api.call("POST", f"{path}/kill", {"signal": "SIGKILL"})
        try:
            self.api.call("POST", f"{path}/wait", {"condition": ["exited", "stopped"]}, timeout=self.timeout)
        except PodmanUnreachable as exc:
            if not exc.timed_out:
                raise
            raise self._no_answer(
                "force-stop",
                self.timeout,
                WaitTimeout(f"force-stop: still not stopped {self.timeout}s (timeout) after SIGKILL"),
            ) from None

    def _pause_or_resume(self, container: ContainerState, operation: str) -> None:
        """Pause or unpause; where Podman cannot freeze the container (no cgroup of its own: rootless Podman on
        cgroup v1, or a container run with --cgroups=disabled) it is refused in those words."""
        action = "pause" if operation == "pause" else "unpause"
        try:
            self.api.call("POST", f"/containers/{quote(container.ref, safe='')}/{action}")
        except PodmanApiError as exc:
            if NO_CGROUP not in exc.message:
                raise
            raise Unsupported(
                f"backend podman cannot {operation} {container.name!r}: Podman freezes a container through its "
                "own cgroup, which it has not here (rootless Podman pauses only on cgroup v2; a container run "
                f"with --cgroups=disabled never); the engine said: {exc.message}"
            ) from None

    def _delete(self, container: ContainerState) -> None:
        """Remove the container; libpod answers 200 with one report per container removed, an error in ``Err``.
        The image of a removed snapshot it was restored from goes with it (``PodmanSnapshots.release_image``)."""
        reports = self.api.call("DELETE", f"/containers/{quote(container.ref, safe='')}")
        for report in reports if isinstance(reports, builtins.list) else []:
            if isinstance(report, dict) and report.get("Err"):
                raise OperationFailed(f"delete failed: {engine_text(report['Err'])}")
        self._release_image(container.details.get("Image"))

    # Reports -----------------------------------------------------------------------------------

    def describe(self, container: ContainerState, runtime: bool) -> ContainerInfo:
        """The ``container_info`` entry; ``ContainerNotFound`` when it was removed since it was listed."""
        with self._engine(f"reading container {container.name!r}"):
            inspected = self.inspected(container)
            if inspected.status == ABSENT:
                raise ContainerNotFound(container.name, "it was removed before it could be read")
            info = info_from_inspect(inspected)
            if runtime:
                info["runtime"] = self._runtime(inspected)
        return info

    def _runtime(self, container: ContainerState) -> Runtime:
        """Ports and networks, and for a running container its processes (libpod's ``/top``, one field per
        column) and resource usage; what could not be read of the latter is said in ``error``."""
        runtime = network_runtime(container.details, container.status)
        if container.status != RUNNING:
            return runtime
        path = f"/containers/{quote(container.ref, safe='')}"
        try:
            with self._engine(f"reading the runtime details of {container.name!r}"):
                try:
                    top = self.api.call("GET", f"{path}/top")
                    stats = self.api.call("GET", f"{path}/stats", {"stream": "false"})
                except PodmanApiError as exc:
                    if exc.status == 404:
                        raise ContainerNotFound(container.name, "it was removed while it was being read") from None
                    raise
                processes = processes_from_top(top)
                usage = resource_usage(stats if isinstance(stats, dict) else {})
        except OperationFailed as exc:  # an error answer (not running any more) or a malformed one
            runtime["error"] = str(exc)
            return runtime
        runtime["processes"] = processes
        runtime["resource_usage"] = usage
        return runtime

    def status_history(
        self, ref: str, since: Optional[float], until: Optional[float]
    ) -> builtins.list[StatusLogRecord]:
        """libpod's events of the container folded by ``_podman_history``, from ``HISTORY_CONTEXT_S`` before
        ``since`` (a kill before its ``died``) to ``AFTERMATH_NS`` after ``until`` (the cleanups that tell a stop
        from a crash), cut here: with the file logger libpod answers a past ``until`` with nothing."""
        state = self.inspect(ref)
        filters = {"type": ["container"], "event": list(PODMAN_EVENT_ACTIONS), "container": [state.id or ref]}
        params = {"stream": "false", "filters": json.dumps(filters)}
        if since is not None:
            params["since"] = f"{max(since - HISTORY_CONTEXT_S, 0):.6f}"
        until_ns = None if until is None else int(until * 10**9) + AFTERMATH_NS
        with self._engine(f"reading the engine's events for {ref!r}"):
            events = [
                event for event in self.api.stream("GET", "/events", params)
                if isinstance(event, dict) and event_is_of(event, state, ref)
                and (until_ns is None or int(event.get("timeNano") or 0) <= until_ns)
            ]  # fmt: skip
        return records_from_podman_events(events)

    def close(self) -> None:
        self.api.close()
