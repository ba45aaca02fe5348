# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why an engine or server could not be reached, in a few plain words, from whatever the libraries raised.

requests, urllib3, the Docker SDK and http.client each wrap the socket's own error in their own (``Max
retries exceeded ... Caused by NewConnectionError(...)``); ``why_unreachable`` reads through the wrapping
to the cause and says it as a user would: ``connection refused``, ``no such socket file``, ``permission
denied``, ``timed out``, ``name not resolved``, ``TLS certificate not accepted: ...``, ``the answer was cut
off``. Standard library only.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
from typing import Iterator, Optional

from ansible_collections.containerops.lifecycle.plugins.module_utils._text import engine_text

# The socket errors a user can act on, by errno.
_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ENOENT: "no such socket file",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ETIMEDOUT: "timed out",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "connection closed",
}
_TIMEOUTS = (TimeoutError, socket.timeout)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (arguments, ``reason``, cause, context), outermost first, each once."""
    seen: set[int] = set()
    queue: list[Optional[BaseException]] = [exc]
    while queue:
        current = queue.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        queue.extend(arg for arg in current.args if isinstance(arg, BaseException))
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError keeps its cause here
        queue.append(reason if isinstance(reason, BaseException) else None)
        queue.extend((current.__cause__, current.__context__))


def _tls_words(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {engine_text(error.verify_message or error.reason or error, 200)}"
    detail = (error.reason or "").replace("_", " ").lower() or engine_text(error, 200)
    return f"TLS handshake failed: {detail}"


# OpenSSL's certificate verification codes, by what they tell a user about the server's certificate.
_UNTRUSTED = (2, 18, 19, 20, 21)  # no trusted issuer: a private CA not given, or the wrong one
_WRONG_NAME = (62, 64)  # hostname or IP address mismatch
_EXPIRED, _NOT_YET_VALID = 10, 9
# Alerts a server sends when it refuses the client's certificate (or its absence).
_CLIENT_REFUSED = ("ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_REQUIRED", "ALERT_UNKNOWN_CA",
                   "ALERT_CERTIFICATE_UNKNOWN", "ALERT_UNSUPPORTED_CERTIFICATE", "ALERT_ACCESS_DENIED",
                   "ALERT_CERTIFICATE_EXPIRED", "ALERT_CERTIFICATE_REVOKED")  # fmt: skip


def tls_problem(exc: BaseException) -> Optional[str]:
    """What failed in a TLS handshake, in plain words (an unknown CA, a name mismatch, an expired certificate, a
    client certificate refused); None when ``exc`` wraps no TLS failure."""
    for link in causes(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            detail = engine_text(link.verify_message or link.reason or link, 200)
            if link.verify_code in _UNTRUSTED:
                return f"the server's certificate is not signed by a CA trusted here ({detail})"
            if link.verify_code in _WRONG_NAME:
                return f"the server's certificate is not valid for the name or address connected to ({detail})"
            if link.verify_code == _EXPIRED:
                return f"the server's certificate has expired ({detail})"
            if link.verify_code == _NOT_YET_VALID:
                return f"the server's certificate is not valid yet ({detail})"
            return f"the server's certificate was not accepted ({detail})"
        if isinstance(link, ssl.SSLEOFError):
            return "the server closed the TLS handshake (as some servers do on refusing a client certificate)"
        if isinstance(link, ssl.SSLError):
            reason = link.reason or ""
            words = reason.replace("_", " ").lower() or engine_text(link, 200)
            if any(alert in reason for alert in _CLIENT_REFUSED):
                return f"the server refused the client certificate ({words})"
            if reason == "WRONG_VERSION_NUMBER":
                return "the server does not speak TLS there (wrong version number)"
            return f"the TLS handshake failed ({words})"
    return None


def why_unreachable(exc: BaseException) -> str:
    """What stopped a connection, in plain words; the innermost error's own text when it is none of the known ones.

    The most telling link wins: a TLS problem, a name that did not resolve, a socket error by its errno, a
    timeout, a connection closed without an answer.
    """
    links = list(causes(exc))
    for link in links:
        if isinstance(link, ssl.SSLError):
            return _tls_words(link)
    for link in links:
        if isinstance(link, socket.gaierror):
            return "name not resolved"
    for link in links:
        if isinstance(link, OSError) and link.errno in _ERRNO_WORDS:
            return _ERRNO_WORDS[link.errno]
    for link in links:  # the libraries' own timeouts by name: urllib3's NewConnectionError subclasses its timeout
        if isinstance(link, _TIMEOUTS) or "Timeout" in type(link).__name__:
            return "timed out"
    for link in links:
        if isinstance(link, http.client.RemoteDisconnected):
            return "the connection was closed without an answer"
        if isinstance(link, http.client.IncompleteRead):
            return "the answer was cut off"
    for link in links:
        if isinstance(link, OSError) and isinstance(link.errno, int) and link.strerror:
            return engine_text(link.strerror.lower(), 200)
    return engine_text(links[-1] if str(links[-1]) else type(links[-1]).__name__, 200)
