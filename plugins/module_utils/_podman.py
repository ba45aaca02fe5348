# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Podman backend: Podman's own libpod REST API (``podman system service``), not its Docker-compatible one.

The client is ours (``LibpodClient``): requests over the unix socket through the Docker SDK's transport
adapter, both already runtime dependencies, rather than the ``podman`` package from PyPI, which would add a
dependency (and its own pins of requests and urllib3) for a handful of calls. Paths are relative to the
libpod root ``/v4.0.0/libpod``, which every Podman since 4.0 serves.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Optional
from urllib.parse import unquote, urlsplit

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, ConnectionFailed
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import TRANSIENT_STATUS, call_with_retries
from ansible_collections.containerops.lifecycle.plugins.module_utils._text import engine_text
from ansible_collections.containerops.lifecycle.plugins.module_utils._unreachable import why_unreachable

try:
    import requests
    import urllib3
    from docker.transport import UnixHTTPAdapter

    REQUESTS_IMPORT_ERROR: Optional[str] = None
except ImportError as _exc:  # pragma: no cover - reported by the module through missing_required_lib
    REQUESTS_IMPORT_ERROR = str(_exc)

#: Where the libpod API lives on the service; 4.0.0 is the oldest version every Podman 4 answers.
LIBPOD_ROOT = "/v4.0.0/libpod"
PODMAN_HOST_SCHEMES = ("unix", "tcp")
# The base URL requests sees for a unix socket; the adapter mounted on it connects to the socket instead.
_UNIX_BASE = "http+docker://localhost"
IDEMPOTENT = ("GET", "HEAD")


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

    ``call`` and ``stream`` raise ``PodmanApiError`` for an error answer (or one that is not JSON), and
    ``PodmanUnreachable`` when the service cannot be reached or stops answering. Reads (GET) are retried on
    transient faults; a request that changes something never is.
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
                response.close()
                raise PodmanApiError(response.status_code, _error_message(response))
            return response

        def transient(exc: Exception) -> Optional[float]:
            if isinstance(exc, PodmanApiError) or (idempotent and isinstance(exc, requests.ConnectionError)):
                return 0
            return None

        try:
            response = call_with_retries(send, self.retries, transient)
        except requests.RequestException as exc:
            raise self.unreachable(exc, wait, in_flight=not idempotent) from None
        if response.status_code >= 300:
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
    ) -> Iterator[Any]:
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
