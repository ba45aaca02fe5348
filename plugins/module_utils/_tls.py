# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS as the connection options say, whatever ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` or ``SSL_CERT_FILE`` say.

requests lets ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``) replace the CA a session was given, and turns a
session's ``verify = False`` back into verification against that bundle (``Session.merge_environment_settings``
prefers the environment over ``session.verify``). ``PinnedTLS`` puts the options back after that merge, so
``ca_path``, the client certificate and ``validate_certs: false`` are what each request uses, while proxies and
the rest of the environment still apply. Only when verification is on and no CA was given does the
environment's bundle decide: it is this machine's trust store.

``TlsFiles`` says which files are used and which option or variable supplied each one, for messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

# The variables requests reads for its CA bundle, in its order.
BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@dataclass(frozen=True)
class TlsFiles:
    """Whether the server's certificate is verified, against which CA, with which client certificate.

    ``origin`` names, per file (``ca``, ``cert``), the option or variable that supplied it (``ca_path``,
    ``DOCKER_CERT_PATH``, ``docker context 'prod'``).
    """

    verify: bool
    ca: Optional[str] = None
    cert: Optional[str] = None
    key: Optional[str] = None
    origin: Mapping[str, str] = field(default_factory=dict)

    def requests_verify(self, from_environment: Union[bool, str, None]) -> Union[bool, str]:
        """requests' ``verify`` for a request: the CA given, ``False``, or (verifying without a CA given) the
        environment's bundle as requests chose it."""
        if not self.verify:
            return False
        return self.ca or (from_environment if isinstance(from_environment, str) else True)

    @property
    def requests_cert(self) -> Union[str, tuple[str, str], None]:
        """requests' ``cert``: the client certificate and its key, when given."""
        if not self.cert:
            return None
        return (self.cert, self.key) if self.key else self.cert

    def described(self, environ: Mapping[str, str]) -> str:
        """Which files are used and where they came from, for a TLS error: ``CA /etc/tls/ca.pem (ca_path);
        client certificate /etc/tls/cert.pem (client_cert)``."""
        if not self.verify:
            trust = "the server's certificate not verified"
        elif self.ca:
            trust = f"CA {self.ca} ({self.origin.get('ca', 'ca_path')})"
        else:
            trust = f"CA: no ca_path, so {default_trust(environ)}"
        if not self.cert:
            return f"{trust}; no client certificate"
        return f"{trust}; client certificate {self.cert} ({self.origin.get('cert', 'client_cert')})"


def default_trust(environ: Mapping[str, str]) -> str:
    """The trust store requests verifies against when no CA is given."""
    for variable in BUNDLE_VARIABLES:
        if environ.get(variable):
            return f"the bundle {environ[variable]} ({variable})"
    return "the certifi bundle of requests"


def unverified_warning(where: str, reason: str) -> str:
    """The one warning for a connection whose server certificate is not verified."""
    return (
        f"TLS certificates of {where} are not verified ({reason}): anyone on the network path can pose as it; "
        "give ca_path and validate_certs: true"
    )


class PinnedTLS:
    """A ``requests.Session`` mixin whose every request uses ``tls_files``, whatever the environment says.

    Put it before the session class: ``class Session(PinnedTLS, requests.Session)``. ``tls_files`` set to
    None leaves the session as requests made it.
    """

    tls_files: Optional[TlsFiles] = None

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
                                   ) -> dict[str, Any]:  # fmt: skip
        settings: dict[str, Any] = super().merge_environment_settings(url, proxies, stream, verify, cert)  # type: ignore[misc]
        if self.tls_files is not None:
            settings["verify"] = self.tls_files.requests_verify(settings["verify"])
            settings["cert"] = self.tls_files.requests_cert
        return settings
