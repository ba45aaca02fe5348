# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Docker engine to connect to, and with which TLS files, read as the docker CLI reads them.

The order is the CLI's: ``docker_context`` (its ``--context``), ``docker_host`` (its ``--host``; both given is an
error), ``DOCKER_HOST``, ``DOCKER_CONTEXT``, the ``currentContext`` of ``config.json``, else the default socket.
The context ``default`` is ``DOCKER_HOST`` or the default socket.

The CLI's context store lives in its configuration directory (``DOCKER_CONFIG``, else ``~/.docker``):
``contexts/meta/<sha256 of the name>/meta.json`` holds a context's endpoint
(``{"Name": ..., "Endpoints": {"docker": {"Host": ..., "SkipTLSVerify": ...}}}``) and
``contexts/tls/<sha256 of the name>/docker/{ca,cert,key}.pem`` its TLS material. A context with TLS material
or ``SkipTLSVerify`` is reached over TLS; ``DOCKER_TLS_VERIFY`` and ``DOCKER_CERT_PATH`` do not apply to it.

Without a context, TLS is on when ``tls`` or ``validate_certs`` is true, or ``DOCKER_TLS`` or ``DOCKER_TLS_VERIFY``
is set to any non-empty value (``DOCKER_TLS_VERIFY=0`` verifies too, as in the CLI); the files are
``ca.pem``, ``cert.pem`` and ``key.pem`` of ``DOCKER_CERT_PATH`` (else the configuration directory) where
they exist. The options ``validate_certs``, ``ca_path``, ``client_cert`` and ``client_key`` always win.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._tls import TlsFiles

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_CONTEXT = "default"
# The options that name a TLS file, and the file's name in a certificate directory or a context's store.
TLS_FILES = (("ca", "ca_path", "ca.pem"), ("cert", "client_cert", "cert.pem"), ("key", "client_key", "key.pem"))
# Schemes whose connection can be TLS.
TLS_SCHEMES = ("tcp", "https")


@dataclass(frozen=True)
class Context:
    """One context of the Docker CLI's store: its Docker endpoint and where its TLS material is (if any)."""

    name: str
    host: str
    skip_tls_verify: bool
    tls_dir: Optional[str]


@dataclass(frozen=True)
class Endpoint:
    """Where the Docker backend connects (``host``), what said so (``source``), its TLS (None: no TLS), and the
    Docker context it comes from, if any."""

    host: str
    source: str
    tls: Optional[TlsFiles]
    context: Optional[str] = None

    def option(self) -> dict[str, str]:
        """The connection option that leads here again: ``docker_context`` for a context's, else ``docker_host``."""
        return {"docker_context": self.context} if self.context else {"docker_host": self.host}


def config_dir(environ: Mapping[str, str]) -> str:
    """The Docker CLI's configuration directory: ``DOCKER_CONFIG``, else ``~/.docker``."""
    return environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def known_contexts(config: str) -> list[str]:
    """The contexts of the store in ``config``, ``default`` first, the others by name."""
    meta_root = os.path.join(config, "contexts", "meta")
    names = set()
    for entry in sorted(os.listdir(meta_root)) if os.path.isdir(meta_root) else ():
        try:
            with open(os.path.join(meta_root, entry, "meta.json"), encoding="utf-8") as meta_file:
                name = json.load(meta_file).get("Name")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(name, str):
            names.add(name)
    return [DEFAULT_CONTEXT, *sorted(names - {DEFAULT_CONTEXT})]


def read_context(name: str, config: str, named_by: str) -> Context:
    """The context ``name`` of the store in ``config``; ``BadInput`` naming the known ones when it is not there.

    ``named_by`` says what named it (``docker_context``, ``DOCKER_CONTEXT``), for the message.
    """
    digest = _digest(name)
    path = os.path.join(config, "contexts", "meta", digest, "meta.json")
    try:
        with open(path, encoding="utf-8") as meta_file:
            meta = json.load(meta_file)
    except FileNotFoundError:
        known = ", ".join(known_contexts(config))
        raise BadInput(
            f"Docker context {name!r} ({named_by}) is not in the Docker CLI's context store "
            f"{os.path.join(config, 'contexts')}; known contexts: {known}"
        ) from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"Docker context {name!r} ({named_by}) cannot be read from {path}: {exc}") from None
    endpoint = ((meta.get("Endpoints") if isinstance(meta, dict) else None) or {}).get("docker") or {}
    host = endpoint.get("Host") if isinstance(endpoint, dict) else None
    if not isinstance(host, str) or not host:
        raise BadInput(f"Docker context {name!r} ({named_by}) has no Docker endpoint in {path}")
    tls_dir = os.path.join(config, "contexts", "tls", digest, "docker")
    return Context(name, host, endpoint.get("SkipTLSVerify") is True, tls_dir if os.path.isdir(tls_dir) else None)


def current_context(environ: Mapping[str, str], config: str) -> tuple[str, str]:
    """The CLI's current context and what named it: ``DOCKER_CONTEXT``, else ``currentContext`` in
    ``config.json``, else ``default``."""
    if environ.get("DOCKER_CONTEXT"):
        return environ["DOCKER_CONTEXT"], "DOCKER_CONTEXT"
    path = os.path.join(config, "config.json")
    try:
        with open(path, encoding="utf-8") as config_file:
            current = json.load(config_file).get("currentContext")
    except FileNotFoundError:
        return DEFAULT_CONTEXT, "the default"
    except (OSError, ValueError, AttributeError) as exc:
        raise BadInput(f"the Docker CLI's configuration {path} cannot be read: {exc}") from None
    if isinstance(current, str) and current:
        return current, f"currentContext in {path}"
    return DEFAULT_CONTEXT, "the default"


def _present(path: Optional[str]) -> Optional[str]:
    return path if path and os.path.isfile(path) else None


def _tls_files(params: dict[str, Any], verify: bool, found: dict[str, Optional[str]], found_in: str,
               unverified: str) -> TlsFiles:  # fmt: skip
    """TLS files: each option given, else the file ``found`` (from ``found_in``); a client certificate only
    with its key. ``unverified`` says why, when ``verify`` is false (``origin["verify"]``)."""
    files: dict[str, Optional[str]] = {}
    origin = {}
    if not verify:
        origin["verify"] = "validate_certs is false" if params.get("validate_certs") is False else unverified
    for role, option, _filename in TLS_FILES:
        files[role] = params.get(option) or found.get(role)
        origin[role] = option if params.get(option) else found_in
    if not (files["cert"] and files["key"]):
        files["cert"] = files["key"] = None
    return TlsFiles(verify=verify, origin=origin, **files)


def _host_endpoint(host: str, source: str, params: dict[str, Any], environ: Mapping[str, str]) -> Endpoint:
    """An endpoint named by a URL (the default context): TLS from the options and ``DOCKER_TLS*`` variables."""
    if urlsplit(host).scheme not in TLS_SCHEMES:
        return Endpoint(host, source, None)
    verify = params.get("validate_certs")
    if verify is None:
        verify = bool(environ.get("DOCKER_TLS_VERIFY"))
    tls = params.get("tls")
    if tls is None:
        tls = bool(environ.get("DOCKER_TLS") or environ.get("DOCKER_TLS_VERIFY"))
    if not (tls or verify or urlsplit(host).scheme == "https"):
        return Endpoint(host, source, None)
    cert_dir = environ.get("DOCKER_CERT_PATH")
    found_in = f"DOCKER_CERT_PATH {cert_dir}" if cert_dir else f"{config_dir(environ)}, as DOCKER_CERT_PATH is unset"
    cert_dir = cert_dir or config_dir(environ)
    found = {role: _present(os.path.join(cert_dir, name)) for role, _option, name in TLS_FILES}
    unverified = "tls is true without validate_certs" if params.get("tls") else "DOCKER_TLS without DOCKER_TLS_VERIFY"
    if urlsplit(host).scheme == "https" and not tls:
        unverified = "an https:// docker_host without validate_certs"
    return Endpoint(host, source, _tls_files(params, bool(verify), found, found_in, unverified))


def _context_endpoint(name: str, named_by: str, params: dict[str, Any], environ: Mapping[str, str]) -> Endpoint:
    """An endpoint from the context store: its host and TLS material, the options still winning."""
    if name == DEFAULT_CONTEXT:
        if environ.get("DOCKER_HOST"):
            return _host_endpoint(environ["DOCKER_HOST"], "docker_host, from DOCKER_HOST", params, environ)
        return _host_endpoint(DEFAULT_HOST, f"Docker context 'default', from {named_by}", params, environ)
    context = read_context(name, config_dir(environ), named_by)
    source = f"Docker context {name!r}, from {named_by}"
    verify = params.get("validate_certs")
    if verify is None:
        verify = not context.skip_tls_verify
    uses_tls = bool(context.tls_dir or context.skip_tls_verify or params.get("tls") or params.get("validate_certs"))
    if urlsplit(context.host).scheme not in TLS_SCHEMES or not uses_tls:
        return Endpoint(context.host, source, None, name)
    tls_dir = context.tls_dir or ""
    found = {role: _present(os.path.join(tls_dir, filename)) for role, _option, filename in TLS_FILES}
    tls = _tls_files(params, verify, found, f"Docker context {name!r}", f"Docker context {name!r} skips verification")
    return Endpoint(context.host, source, tls, name)


def endpoint(params: dict[str, Any], environ: Mapping[str, str]) -> Endpoint:
    """Where the connection options (``docker_host``, ``docker_context``, TLS) and the environment lead."""
    host, context = params.get("docker_host"), params.get("docker_context")
    for option, value in (("docker_host", host), ("docker_context", context)):
        if value is not None and not value.strip():
            raise BadInput(f"{option} is empty (a template that rendered to nothing?): give it a value or leave it out")
    if host and context:
        raise BadInput(
            f"docker_host ({host}) and docker_context ({context}) are both given: give one of them "
            "(a context holds its own endpoint and TLS files)"
        )
    if context:
        return _context_endpoint(context, "docker_context", params, environ)
    if host:
        return _host_endpoint(host, "docker_host", params, environ)
    if environ.get("DOCKER_HOST"):
        return _host_endpoint(environ["DOCKER_HOST"], "docker_host, from DOCKER_HOST", params, environ)
    name, named_by = current_context(environ, config_dir(environ))
    if name == DEFAULT_CONTEXT:
        return _host_endpoint(DEFAULT_HOST, "docker_host's default", params, environ)
    return _context_endpoint(name, named_by, params, environ)
