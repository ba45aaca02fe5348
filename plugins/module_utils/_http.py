# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP session per task for the REST backends: keep-alive, TLS, retries, and secrets kept in.

Credentials are attached per request and only to the API's own origin; redirects are never followed,
so a token cannot leak to another host. Idempotent calls (GET, PUT, DELETE) are retried on transient
faults; a POST is retried only on 429 (the server did not process it) and otherwise reported as
``OutcomeUnknown`` so the caller can re-read the state and decide.
"""

from __future__ import annotations

import email.utils
import math
import os
import threading
import time
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ConnectionFailed,
    ContainerOpsError,
    OutcomeUnknown,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import (
    MAX_DELAY,
    TRANSIENT_STATUS,
    call_with_retries,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._text import engine_text
from ansible_collections.containerops.lifecycle.plugins.module_utils._tls import TlsFiles, unverified_warning
from ansible_collections.containerops.lifecycle.plugins.module_utils._unreachable import tls_problem, why_unreachable

try:
    import requests
    from requests.adapters import HTTPAdapter

    REQUESTS_IMPORT_ERROR: Optional[str] = None
except ImportError as _exc:  # pragma: no cover - reported by the module through missing_required_lib
    REQUESTS_IMPORT_ERROR = str(_exc)

IDEMPOTENT = ("GET", "HEAD", "PUT", "DELETE")
USER_AGENT = "containerops.lifecycle"
# First delay between two looks at a container on a REST engine, when the task does not say.
DEFAULT_POLL_INTERVAL = 0.5


class ApiError(ContainerOpsError):
    """The API answered with an error status; ``message`` is the server's text made safe (``engine_text``),
    never a credential; ``body`` the decoded answer as it came."""

    def __init__(self, method: str, path: str, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"{method} {path} answered HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.body = body


def _retry_after(response: Any) -> float:
    """Seconds the server asks us to wait (``Retry-After``: seconds or an HTTP date); 0 when absent or unusable."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
            seconds = moment.timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return 0.0  # "soon" and its kind: as if the header were not there
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


def _wait_asked(seconds: float) -> str:
    asked = f"the server asks to wait {seconds:.0f}s before trying again"
    try:
        until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + seconds))
    except (OverflowError, OSError, ValueError):  # beyond any date this platform can show
        return asked
    return f"{asked} (until {until})"


def _error_text(response: Any) -> tuple[str, Any]:
    """What an error answer says (its message, else its body, else the reason phrase), fit for a message."""
    try:
        body = response.json()
    except ValueError:
        return engine_text(response.text or response.reason or ""), None
    if isinstance(body, dict):
        return engine_text(body.get("message") or body.get("error") or response.reason or ""), body
    return engine_text(body), body


class _Transient(Exception):
    def __init__(self, response: Any) -> None:
        super().__init__(response.status_code)
        self.response = response


def _answered(method: str, path: str, response: Any, ok: tuple[int, ...]) -> Any:
    """The response of a successful answer (2xx, or a status in ``ok``); ``ApiError`` for any other."""
    if 300 <= response.status_code < 400:
        raise ApiError(method, path, response.status_code,
                       f"redirect to {engine_text(response.headers.get('Location'))!r} not followed")  # fmt: skip
    if response.status_code >= 400 and response.status_code not in ok:
        text, body = _error_text(response)
        wait = _retry_after(response) if response.status_code in TRANSIENT_STATUS else 0
        if wait:
            text = f"{text}; {_wait_asked(wait)}"
        raise ApiError(method, path, response.status_code, text, body)
    return response


class ApiClient:
    """A ``requests.Session`` bound to one API base URL; thread-safe for the worker pool."""

    @classmethod
    def from_options(cls, api_url: str, params: dict[str, Any], what: str = "the API", source: str = "api_url"
                     ) -> ApiClient:  # fmt: skip
        """A client as the connection options in ``params`` say (``validate_certs`` unset means verify).

        ``what`` names the API in messages, ``source`` the option (and variable) that gave ``api_url``
        (``Backend.source``): ``cannot reach the Hoody API at URL (api_url, from HOODY_API_URL): ...``.
        """
        return cls(
            api_url,
            what=what,
            source=source,
            timeout=params["timeout"],
            retries=params["retries"],
            validate_certs=params["validate_certs"] is not False,
            ca_path=params["ca_path"],
            client_cert=params["client_cert"],
            client_key=params["client_key"],
            pool_size=params.get("parallel") or 1,
        )

    def __init__(
        self,
        base_url: str,
        timeout: int,
        retries: int,
        validate_certs: bool = True,
        ca_path: Optional[str] = None,
        client_cert: Optional[str] = None,
        client_key: Optional[str] = None,
        pool_size: int = 8,
        what: str = "the API",
        source: str = "api_url",
    ) -> None:
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            shown = (base_url or "").replace(f"{parts.netloc}", parts.netloc.rpartition("@")[2], 1)
            raise BadInput(f"api_url must be an http:// or https:// URL, got {shown!r}")
        # Requests go to the URL without a user:password written into it (messages name it so too); those
        # go as HTTP basic credentials, for a proxy in front of the API, when no token or session is ours.
        host = parts.netloc.rpartition("@")[2]
        self.base_url = base_url.rstrip("/").replace(parts.netloc, host, 1)
        self.origin = (parts.scheme, host)
        self._basic = (unquote(parts.username or ""), unquote(parts.password or "")) if parts.username else None
        self.timeout = timeout
        self.retries = retries
        self.where = f"{what} at {self.base_url} ({source})"
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1) + 2, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # Given with each request, where requests' environment (REQUESTS_CA_BUNDLE...) cannot override them.
        self.tls = TlsFiles(verify=bool(validate_certs), ca=ca_path, cert=client_cert, key=client_key)
        self.warnings = (
            []
            if validate_certs or parts.scheme != "https"
            else [unverified_warning(self.where, "validate_certs is false")]
        )
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self._auth_lock = threading.Lock()
        self._authorization: Optional[str] = None
        self._cookies: dict[str, str] = {}

    # Credentials ---------------------------------------------------------------------------------

    def set_bearer(self, token: str) -> None:
        self._authorization = f"Bearer {token}"

    def set_cookie(self, name: str, value: str) -> None:
        with self._auth_lock:
            self._cookies = {name: value}

    def _credentials(self, url: str) -> tuple[dict[str, str], dict[str, str]]:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self.origin:  # never hand a secret to another origin
            return {}, {}
        headers = {"Authorization": self._authorization} if self._authorization else {}
        return headers, dict(self._cookies)

    # Requests --------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        params: Optional[dict[str, Any]] = None,
        json: Any = None,
        timeout: Optional[float] = None,
        ok: tuple[int, ...] = (),
    ) -> Any:
        """Send one request and return the ``requests.Response`` of a 2xx answer (or a status in ``ok``).

        Raises ``ApiError`` for other answers, ``ConnectionFailed`` when the API cannot be reached by
        an idempotent call, and ``OutcomeUnknown`` when a POST or PATCH failed in flight.
        """
        method = method.upper()
        url = self.base_url + path
        idempotent = method in IDEMPOTENT

        def send() -> Any:
            headers, cookies = self._credentials(url)
            if json is not None:
                headers["Content-Type"] = "application/json"
            basic = None if "Authorization" in headers else self._basic
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                headers=headers,
                cookies=cookies,
                auth=basic,
                timeout=timeout or self.timeout,
                allow_redirects=False,
                verify=self.tls.requests_verify(None),
                cert=self.tls.requests_cert,
            )
            if response.status_code in TRANSIENT_STATUS and (idempotent or response.status_code == 429):
                raise _Transient(response)
            return response

        def transient(exc: Exception) -> Optional[float]:
            if isinstance(exc, _Transient):
                wait = _retry_after(exc.response)
                return None if wait > MAX_DELAY else wait  # longer than any retry here: fail at once
            if idempotent and isinstance(exc, requests.exceptions.ConnectionError) and tls_problem(exc) is None:
                return 0
            return None

        try:
            response = call_with_retries(send, self.retries, transient)
        except _Transient as exc:
            response = exc.response
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            problem = tls_problem(exc)
            if problem:  # the handshake failed: nothing was sent, and trying again cannot help
                raise ConnectionFailed(f"TLS to {self.where} failed: {problem}; {self.tls.described(os.environ)}"
                                       ) from None  # fmt: skip
            reason = why_unreachable(exc)
            if reason == "timed out":
                reason = f"no answer within {timeout or self.timeout:g}s (timeout)"
            if not idempotent and not isinstance(exc, requests.exceptions.SSLError):
                raise OutcomeUnknown(f"{method} {path} failed in flight ({reason})") from None
            raise ConnectionFailed(f"cannot reach {self.where}: {reason}") from None
        return _answered(method, path, response, ok)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` and decode the JSON body (``None`` for an empty one)."""
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(method, path, response.status_code, "the answer is not JSON") from None

    def close(self) -> None:
        self.session.close()
