# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker Engine backend (Docker SDK for Python, low-level ``APIClient``).

Docker's lifecycle calls are synchronous: ``stop`` returns once the container has exited. Waits that
remain (transitional states, health) follow the engine's event stream, bounded by ``until``, so
nothing sleeps in fixed steps.

Every engine fault is translated once, here, at the backend's edge (``_engine``): what leaves this
module is a ``ContainerOpsError``, never the SDK's, requests', urllib3's or the JSON parser's own
exceptions. A read the engine does not answer is ``ConnectionFailed`` (naming ``docker_host`` and the
timeout); an operation in flight when the engine stops answering is ``EngineLost``, since its outcome
was not observed; an error answer or a malformed one is ``OperationFailed`` naming what was read.

The SDK's public calls serve everywhere but three places, which use its request helpers (``_post``,
``_get``, ``_post_json``) for what no public call offers: a stop or restart whose HTTP timeout is the
grace period plus a margin (``stop()`` adds the client timeout, ``restart()`` always sends ``t=10``),
an event subscription whose reads time out (``events()`` blocks), and an update with ``NanoCpus``.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import http.client
import json
import os
import re
import time
from typing import Any, Callable, Iterator, Optional
from urllib.parse import urlsplit

from ansible_collections.containerops.lifecycle.plugins.module_utils import (
    _docker_context,
    _docker_events,
    _docker_history,
    _ssh,
)
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
    STATUS_MAP,
    DockerHealth,
    DockerShapedBackend,
    event_is_of,
    info_from_inspect,
    label_filters,
    listed_facts,
    network_runtime,
    resource_usage,
    state_from_inspect,
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
    WaitTimeout,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import (
    ABSENT,
    FAILED,
    RUNNING,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import TRANSIENT_STATUS, call_with_retries
from ansible_collections.containerops.lifecycle.plugins.module_utils._shapes import (
    ContainerInfo,
    Runtime,
    StatusLogRecord,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._text import engine_text
from ansible_collections.containerops.lifecycle.plugins.module_utils._tls import PinnedTLS, TlsFiles, unverified_warning
from ansible_collections.containerops.lifecycle.plugins.module_utils._unreachable import (
    causes,
    tls_problem,
    why_unreachable,
)

try:
    import docker
    import requests
    import urllib3
    from docker.errors import APIError, DockerException, NotFound
    from docker.tls import TLSConfig
    from docker.utils import convert_filters

    class TlsPinnedAPIClient(PinnedTLS, docker.APIClient):
        """The SDK's client, its TLS what the options say whatever REQUESTS_CA_BUNDLE says (``_tls.PinnedTLS``)."""

        def __init__(self, tls_files: Optional[TlsFiles], **kwargs: Any) -> None:
            self.tls_files = tls_files  # before the SDK's first request (the version check)
            self.engine_version: dict[str, Any] = {}
            super().__init__(**kwargs)

        def version(self, api_version: bool = True) -> Any:
            """The engine's ``/version``, kept: the SDK reads it once to choose the API version."""
            self.engine_version = super().version(api_version)
            return self.engine_version

    DOCKER_IMPORT_ERROR: Optional[str] = None
except ImportError as _exc:  # pragma: no cover - reported by the module through missing_required_lib
    DOCKER_IMPORT_ERROR = str(_exc)


# What a malformed answer makes the SDK or our parsing raise: JSON that does not parse (an empty body
# included), or JSON of another shape than Docker's.
_MALFORMED = (ValueError, KeyError, IndexError, TypeError, AttributeError)
DOCKER_HOST_SCHEMES = ("unix", "tcp", "ssh", "http", "https", "npipe")
# Docker's listing says a container's health only in its status text: "Up 2 minutes (healthy)".
HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy|health:\s*starting)\)", re.IGNORECASE)
# The events that can end a wait for a health check: a health status, or the end of the container's run.
HEALTH_EVENTS = ["health_status", "die", "destroy", "stop"]
#: The warning for a docker_host that is Podman's Docker-compatible socket.
PODMAN_BEHIND = (
    "{where} is Podman's Docker-compatible API (its /version names Podman Engine), which loses the status "
    "history (container_status_logs), the stop and kill events (the event source misses them) and snapshots; "
    "use backend: podman (podman_host: {host}) for Podman's own API"
)


def is_podman(version: Any) -> bool:
    """Whether a ``/version`` answer is Podman's (its components name ``Podman Engine``)."""
    components = version.get("Components") if isinstance(version, dict) else None
    return any(isinstance(c, dict) and c.get("Name") == "Podman Engine" for c in components or [])


def _transient(exc: Exception) -> Optional[float]:
    if isinstance(exc, requests.exceptions.ConnectionError) and tls_problem(exc) is None:
        return 0
    if isinstance(exc, APIError) and exc.status_code in TRANSIENT_STATUS:
        return 0
    return None


def _reason(exc: Exception) -> str:
    """What the engine said of an error, fit for a message (``engine_text``)."""
    return engine_text((exc.explanation or exc) if isinstance(exc, APIError) else exc)


def _is_transport_fault(exc: BaseException) -> bool:
    """A conversation with the engine broke, at whichever layer noticed: requests, urllib3 (event
    streams are read from the raw response), http.client or the socket itself."""
    return isinstance(
        exc, (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)
    )


def _listed_labels(state: ContainerState) -> dict[str, str]:
    return state.details["summary"].get("Labels") or {}


def _timed_out(exc: BaseException) -> bool:
    return why_unreachable(exc) == "timed out"


# What to check, by why the engine could not be reached.
_CHECK = {
    "no such socket file": "Check that dockerd is running and that docker_host names its socket",
    "connection refused": "Check that dockerd is running and listens there",
    "permission denied": "Check that this user may use its socket (the docker group, or root)",
}


def _malformed(exc: BaseException) -> str:
    """What was wrong with an answer that could not be read."""
    if isinstance(exc, json.JSONDecodeError):
        return "an empty body" if not exc.doc.strip() else f"not JSON ({exc.msg} at character {exc.pos})"
    if isinstance(exc, KeyError):
        return f"it has no {exc}"
    return f"{type(exc).__name__}: {exc}"


def _edge(what: str, operation: Optional[str] = None) -> Callable:
    """Decorate a public method of the backend or of one of its parts (``_docker_parts``): any engine fault it
    lets through is translated (see ``_engine``)."""

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
            backend = getattr(self, "backend", self)  # a part's edge is its backend's
            with backend._engine(what, operation):
                return method(self, *args, **kwargs)

        return guarded

    return decorate


class DockerBackend(DockerShapedBackend):
    name = "docker"
    events = _docker_events.DockerFeed
    # Docker's variables are read as the docker CLI reads them (_docker_context), not one after the other.
    connection_options = (
        Option("docker_host", env=("DOCKER_HOST",), engine_reads_env=True, identifies=True),
        Option("docker_context", env=("DOCKER_CONTEXT",), engine_reads_env=True, identifies=True),
        Option("tls", "bool", env=("DOCKER_TLS",), engine_reads_env=True),
        Option("validate_certs", "bool", env=("DOCKER_TLS_VERIFY",), aliases=("tls_verify",), engine_reads_env=True),
    )
    library = ("docker (Docker SDK for Python >= 7.0)", DOCKER_IMPORT_ERROR)

    @classmethod
    def validate_options(cls, connection: Connection) -> None:
        """The endpoint must be one the SDK can reach (a Docker context must exist, and not come with
        ``docker_host``); ``tls`` or ``validate_certs`` given for a socket are refused."""
        params = connection.params
        endpoint = _docker_context.endpoint(params, connection.environ)
        scheme = urlsplit(endpoint.host).scheme
        if scheme not in DOCKER_HOST_SCHEMES:
            raise BadInput(
                f"docker_host must be a {', '.join(s + '://' for s in DOCKER_HOST_SCHEMES)} URL, "
                f"got {endpoint.host!r} ({endpoint.source})"
            )
        if scheme == "unix" and (params["tls"] or params["validate_certs"]):
            raise BadInput(
                f"tls and validate_certs apply to a tcp:// docker_host, not to the socket {endpoint.host} "
                f"({endpoint.source}); unset them or use tcp://"
            )

    @classmethod
    def from_options(cls, connection: Connection) -> DockerBackend:
        params = connection.params
        endpoint = _docker_context.endpoint(params, connection.environ)
        return cls(
            docker_host=endpoint.host,
            docker_host_source=endpoint.source,
            timeout=params["timeout"],
            retries=params["retries"],
            pool_size=params.get("parallel") or 1,
            tls=endpoint.tls,
        )

    @classmethod
    def address(cls, connection: Connection) -> tuple[dict[str, Any], str]:
        """The endpoint as resolved: ``docker_host`` (given, from ``DOCKER_HOST`` or the default), or the Docker
        context it comes from; named with what chose it unless the task gave ``docker_host``."""
        endpoint = _docker_context.endpoint(connection.params, connection.environ)
        given = connection.origin("docker_host") is None
        return endpoint.option(), endpoint.host if given else f"{endpoint.host} ({endpoint.source})"

    @classmethod
    def listed_facts(cls, state: ContainerState) -> dict[str, Any]:
        summary = state.details.get("summary") or {}
        health = state.health or (summary.get("Health") or {}).get("Status")
        found = HEALTH_IN_STATUS.search(summary.get("Status") or "")
        if health is None and found:
            health = "starting" if "starting" in found[1].lower() else found[1].lower()
        return listed_facts(summary.get("Labels"), summary.get("Image"), health)

    def __init__(
        self,
        docker_host: str,
        timeout: int,
        retries: int,
        pool_size: int,
        tls: Optional[TlsFiles] = None,
        docker_host_source: str = "docker_host",
    ) -> None:
        """``docker_host_source`` says where ``docker_host`` came from (``_docker_context.Endpoint.source``), for
        messages; ``tls`` the TLS files (None: no TLS)."""
        self.docker_host = docker_host
        self.where = f"the Docker engine at {docker_host} ({docker_host_source})"
        self.timeout = timeout
        self.retries = retries
        self.tls = tls
        tls_config = None
        if tls is not None:
            cert = (tls.cert, tls.key) if tls.cert and tls.key else None
            try:
                tls_config = TLSConfig(client_cert=cert, ca_cert=tls.ca, verify=tls.verify)
            except DockerException as exc:
                raise BadInput(f"TLS settings for {self.where} are not usable: {exc}") from None
            if not tls.verify:
                self.warn(unverified_warning(self.where, tls.origin.get("verify", "validate_certs is false")))
        try:
            if urlsplit(docker_host).scheme == "ssh":
                self.api = _ssh.ssh_api_client(docker_host, timeout, max_pool_size=max(pool_size, 1) + 1)
            else:
                self.api = TlsPinnedAPIClient(
                    tls,
                    base_url=docker_host,
                    version="auto",
                    timeout=timeout,
                    tls=tls_config,
                    max_pool_size=max(pool_size, 1) + 1,
                )
        except _ssh.SshFailed as exc:
            raise ConnectionFailed(f"cannot reach {self.where}: {exc.reason}") from None
        except DockerException as exc:
            problem = tls_problem(exc)
            if problem and tls is not None:
                raise ConnectionFailed(f"TLS to {self.where} failed: {problem}; {tls.described(os.environ)}") from None
            if _timed_out(exc):
                raise ConnectionFailed(
                    f"{self.where} did not answer within {timeout}s (timeout). Check that dockerd is running and "
                    "not hung, or give it a longer timeout."
                ) from None
            reason = why_unreachable(exc)
            check = _CHECK.get(reason, "Check that dockerd is running and that this user may use its socket")
            raise ConnectionFailed(f"cannot reach {self.where}: {reason}. {check}.") from None
        if is_podman(getattr(self.api, "engine_version", None)):
            self.warn(PODMAN_BEHIND.format(where=self.where, host=docker_host))
        # Imported here: the parts' file imports this one.
        from ansible_collections.containerops.lifecycle.plugins.module_utils import _docker_parts

        self.settings = _docker_parts.DockerSettings(self)
        self.aliases = _docker_parts.DockerAliases(self)
        self.snapshots = _docker_parts.DockerSnapshots(self)
        self.health = DockerHealth(self)

    # The edge ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _engine(self, what: str, operation: Optional[str] = None) -> Iterator[None]:
        """Translate any engine fault raised inside into the domain error that says what happened.

        ``what`` says what was being done, for the message (``inspecting container 'web'``);
        ``operation`` names the lifecycle operation in flight, if any: losing the engine then leaves
        its outcome unknown (``EngineLost``), and an error answer refuses that operation.
        """
        try:
            yield
        except ContainerOpsError:
            raise
        except Exception as exc:
            fault = self._fault(exc, what, operation)
            if fault is None:
                raise
            raise fault from None

    def _fault(self, exc: Exception, what: str, operation: Optional[str]) -> Optional[ContainerOpsError]:
        """The domain error for an engine fault; None for an exception that is no engine fault."""
        host = self.docker_host
        if isinstance(exc, APIError):
            status, reason = exc.status_code, _reason(exc)
            if operation is None:
                return OperationFailed(f"the Docker engine at {host} answered {status} while {what}: {reason}")
            if status == 409:
                return OperationConflict(f"{operation} refused by the engine: {reason}")
            if status is not None and 400 <= status < 500 and status not in (404, 408, 429):
                return OperationRejected(f"the engine rejected the {operation} ({status}): {reason}")
            return OperationFailed(f"{operation} failed: {reason}")
        if isinstance(exc, _MALFORMED):  # before transport faults: requests' JSONDecodeError is both
            return OperationFailed(
                f"the Docker engine at {host} sent a malformed answer while {what}: {_malformed(exc)}"
            )
        if _is_transport_fault(exc) or (
            isinstance(exc, DockerException) and any(_is_transport_fault(link) for link in causes(exc))
        ):
            if _timed_out(exc):
                if operation is not None:
                    return self._no_answer(
                        operation,
                        self.timeout,
                        OperationFailed(
                            f"{operation} got no answer within {self.timeout}s (timeout), although the engine "
                            "still answers; its outcome is read again"
                        ),
                    )
                return ConnectionFailed(f"{self.where} did not answer within {self.timeout}s (timeout) while {what}")
            if operation is not None:
                return EngineLost(
                    f"engine lost during {operation}: cannot reach {self.where}: {why_unreachable(exc)}; "
                    f"whether the {operation} took effect is unknown"
                )
            return ConnectionFailed(f"cannot reach {self.where} while {what}: {why_unreachable(exc)}")
        if isinstance(exc, DockerException):
            return OperationFailed(f"{operation or what} failed: {exc}")
        return None

    def _answers(self) -> bool:
        """Whether the engine still answers a ping within ``timeout``."""
        try:
            return self.api.ping() is True
        except Exception:  # any failure to answer is the answer
            return False

    def _no_answer(self, operation: str, waited: float, if_alive: ContainerOpsError) -> ContainerOpsError:
        """The error for an operation whose answer did not come within ``waited`` seconds.

        A ping tells a slow operation on a live engine (``if_alive``) from an engine that stopped answering.
        """
        if self._answers():
            return if_alive
        return EngineLost(
            f"engine lost during {operation}: {self.where} did not answer it within "
            f"{waited:.0f}s, nor a ping within {self.timeout}s (timeout); whether the {operation} took effect "
            "is unknown"
        )

    # Reads -------------------------------------------------------------------------------------

    def _read(self, method, *args, **kwargs):
        """An idempotent call, retried on transient faults; the caller's ``_engine`` translates the rest."""
        return call_with_retries(lambda: method(*args, **kwargs), self.retries, _transient)

    def look_up(self, ref: str, shown_as: Optional[str] = None) -> ContainerState:
        """The container by name or id; ``shown_as`` names it in messages (a name rather than its id)."""
        shown = shown_as or (ref[:12] if FULL_ID.fullmatch(ref) else ref)
        with self._engine(f"inspecting container {shown!r}"):
            for _attempt in range(2):
                try:
                    state = state_from_inspect(self._read(self.api.inspect_container, ref))
                except NotFound:
                    return ContainerState.absent(ref)
                # A read that waited on the container while the engine removed it answers 'dead' once the
                # removal is over: read again, so that a removal is not taken for a failure.
                if state.engine_status != "dead":
                    break
            return state

    def list(self, filters: dict[str, Any]) -> list[ContainerState]:
        labels = label_filters(filters)
        with self._engine("listing containers"):
            summaries = self._read(self.api.containers, all=True, filters={"label": labels} if labels else None)
            listed = [
                ContainerState(
                    id=summary["Id"],
                    name=(summary.get("Names") or ["/" + summary["Id"][:12]])[0].lstrip("/"),
                    status=STATUS_MAP.get(summary.get("State"), FAILED),
                    engine_status=summary.get("State"),
                    # Under its own key: the summary's State is a string, inspect's a dict.
                    details={"summary": summary},
                )
                for summary in summaries
            ]
        return matching(listed, dict(filters, label=labels), _listed_labels)

    # Operations --------------------------------------------------------------------------------

    def stop_timeout_in_force(self, container: ContainerState, stop_timeout: Optional[int]) -> int:
        return self.own_stop_timeout(container) if stop_timeout is None else stop_timeout

    def perform(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> bool:
        ref = container.ref
        since = time.time()
        with self._engine(f"asking for the {operation} of {container.name!r}", operation):
            try:
                if operation == "start":
                    self.api.start(ref)
                elif operation in ("stop", "restart"):
                    self._stop_or_restart(container, operation, stop_timeout)
                    return self._was_killed(ref, since)
                elif operation == "force-stop":
                    self._kill(container)
                    return True
                elif operation == "pause":
                    self.api.pause(ref)
                elif operation == "resume":
                    self.api.unpause(ref)
                elif operation == "delete":
                    self.api.remove_container(ref)
                else:
                    raise BadInput(f"unknown operation {operation!r}")
            except NotFound:
                raise ContainerNotFound(container.name, f"it disappeared during {operation}") from None
        return False

    def _stop_or_restart(self, container: ContainerState, operation: str, stop_timeout: Optional[int]) -> None:
        # docker-py's restart() always sends t=10 and overrides the container's own StopTimeout; we
        # send ``t`` only when the user gave one (0 included) and size the HTTP timeout to match.
        # A restarting container (a crash loop) stops at once: the engine ends its restart loop.
        params = {} if stop_timeout is None else {"t": stop_timeout}
        if stop_timeout is None:
            container = self.inspected(container)  # its own StopTimeout, read once for both below
        grace = self.stop_timeout_in_force(container, stop_timeout)
        deadline = self.stop_deadline(container, stop_timeout)
        url = self.api._url(f"/containers/{{0}}/{operation}", container.ref)
        try:
            response = self.api._post(url, params=params, timeout=deadline)
        except requests.exceptions.ReadTimeout:
            raise self._no_answer(
                operation,
                deadline,
                WaitTimeout(
                    f"graceful {operation} did not finish within {grace}s (stop_timeout) "
                    f"plus a {deadline - grace:.0f}s margin"
                ),
            ) from None
        self.api._raise_for_status(response)

    def _kill(self, container: ContainerState) -> None:
        """SIGKILL, then wait until the engine no longer counts it as running."""
        try:
            self.api.kill(container.ref)
        except APIError as exc:
            if exc.status_code != 409 or "restarting" not in _reason(exc).lower():
                raise
            # Some engines refuse to signal a container between two runs of its restart loop; a stop
            # without grace period ends the loop as surely, and the restart policy leaves it stopped.
            self.api.stop(container.ref, timeout=0)
        try:
            self.api.wait(container.ref, timeout=self.timeout, condition="not-running")
        except requests.exceptions.ReadTimeout:
            raise self._no_answer(
                "force-stop",
                self.timeout,
                WaitTimeout(f"force-stop: still not stopped {self.timeout}s (timeout) after SIGKILL"),
            ) from None

    def _was_killed(self, ref: str, since: float) -> bool:
        """Whether the engine had to SIGKILL the container since ``since`` (a graceful stop escalated)."""
        try:
            with self._engine(f"reading the kill events of {ref!r}"), self._subscribe(
                {"container": ref, "event": "kill"}, since=since, until=time.time()
            ) as events:
                signals = [str(e.get("Actor", {}).get("Attributes", {}).get("signal")) for e in events]
        except ContainerOpsError:
            return False  # the stop itself succeeded; only whether it was forced is unknown
        return "9" in signals

    # Waits -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _subscribe(
        self, filters: dict[str, Any], since: Optional[float] = None, until: Optional[float] = None,
        read_timeout: Optional[float] = None,
    ) -> Iterator[Iterator[dict[str, Any]]]:
        """The engine's events matching ``filters``, subscribed on entry; the engine ends them at ``until``.

        Unlike the SDK's ``events()``, reads time out: the subscription's answer within ``timeout``, each
        read of the stream within ``read_timeout`` (else ``timeout``). A frozen engine cannot hold a
        wait, or a read of the history, forever.
        """
        params = {"since": since, "until": until, "filters": convert_filters(filters)}
        response = self.api._get(self.api._url("/events"), params=params, stream=True, timeout=self.timeout)
        try:
            self.api._raise_for_status(response)
            if read_timeout is not None:
                raw = self.api._get_raw_response_socket(response)
                for sock in (raw, getattr(raw, "_sock", None)):
                    settimeout = getattr(sock, "settimeout", None)
                    if settimeout is not None:
                        settimeout(read_timeout)
            yield self.api._stream_helper(response, decode=True)
        finally:
            response.close()

    @staticmethod
    def _next_event(events: Iterator[dict[str, Any]]) -> bool:
        """Whether another event came. A stream that ends, breaks or goes quiet ends the subscription:
        the inspect that follows says whether the engine is still there."""
        try:
            next(events)
        except StopIteration:
            return False
        except Exception as exc:
            if isinstance(exc, (DockerException, *_MALFORMED)) or _is_transport_fault(exc):
                return False
            raise
        return True

    def watch(self, container: ContainerState, wait: Wait) -> ContainerState:
        """Re-inspect on every engine event until ``wait.over(state)``; one read when it already is.

        One subscription lasts at most the ``timeout`` option's seconds, and its reads time out a little
        later, so an engine that stops answering ends the subscription and is noticed by the next
        request, instead of holding the wait until it comes back.
        """
        over, timeout = wait.over, wait.timeout
        started = time.monotonic()
        state = self.observe(container)
        done = over(state)
        filters: dict[str, Any] = {"container": container.ref, "type": "container"}
        if wait.health:
            filters["event"] = HEALTH_EVENTS
        while not done:
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                raise wait_timed_out(wait.still(state), started)
            window = min(remaining, self.timeout)
            subscribed = time.monotonic()
            with self._engine(f"following the events of {container.name!r}"), self._subscribe(
                filters, since=time.time() - 1, until=time.time() + window, read_timeout=window + 2
            ) as events:
                # Whatever happened before the subscription took effect is caught by this read.
                state = self.observe(container)
                done = over(state)
                while not done and self._next_event(events):
                    state = self.observe(container)
                    done = over(state)
            if not done and time.monotonic() - subscribed < min(window, 1.0):
                time.sleep(min(0.5, max(timeout - (time.monotonic() - started), 0)))  # a broken stream: no busy loop
        return state

    def observe(self, container: ContainerState) -> ContainerState:
        return exactly(self.look_up(container.ref, container.name), container.ref)

    # Reports -----------------------------------------------------------------------------------

    def describe(self, container: ContainerState, runtime: bool) -> ContainerInfo:
        """The ``container_info`` entry; ``ContainerNotFound`` when it was removed since it was listed."""
        with self._engine(f"reading container {container.name!r}"):
            container = self._existing(container, "it could be read")
            info = info_from_inspect(container)
            if runtime:
                info["runtime"] = self._runtime(container)
        return info

    def _runtime(self, container: ContainerState) -> Runtime:
        """Ports and networks, and for a running container processes and resource usage.

        An engine that cannot give the latter (the container stopped meanwhile, an empty or malformed
        answer) is reported in ``error``, with both None; a container removed meanwhile is ``ContainerNotFound``.
        """
        runtime = network_runtime(container.details, container.status)
        if container.status != RUNNING:
            return runtime
        try:
            with self._engine(f"reading the runtime details of {container.name!r}"):
                try:
                    top = self._read(self.api.top, container.ref)
                    stats = self._read(self.api.stats, container.ref, stream=False, one_shot=True)
                except NotFound:
                    raise ContainerNotFound(container.name, "it was removed while it was being read") from None
                titles = top.get("Titles") or []
                processes = [dict(zip(titles, row)) for row in top.get("Processes") or []]
                usage = resource_usage(stats)
        except OperationFailed as exc:  # an error answer (409: not running any more) or a malformed one
            runtime["error"] = str(exc)
            return runtime
        runtime["processes"] = processes
        runtime["resource_usage"] = usage
        return runtime

    def status_history(
        self, ref: str, since: Optional[float], until: Optional[float]
    ) -> builtins.list[StatusLogRecord]:
        state = self.inspect(ref)
        now = time.time()
        actions = list(_docker_history.DOCKER_EVENT_ACTIONS)
        filters = {"container": state.id or ref, "type": "container", "event": actions}
        with self._engine(f"reading the engine's events for {ref!r}"), self._subscribe(
            filters, since=since if since is not None else 0, until=min(until, now) if until is not None else now
        ) as events:
            # The engine's ``container`` filter matches id and name prefixes ('web' takes in 'web-1'): keep the
            # events of the container the ref names exactly, or of every earlier container of exactly that name.
            return _docker_history.records_from_docker_events(
                [event for event in events if event_is_of(event, state, ref)]
            )

    def _existing(self, container: ContainerState, doing: str) -> ContainerState:
        """The container with its inspect data; ``ContainerNotFound`` (by the name asked for) when it is gone."""
        inspected = self.inspected(container)
        if inspected.status == ABSENT:
            raise ContainerNotFound(container.name, f"it was removed before {doing}")
        return inspected

    def close(self) -> None:
        self.api.close()
