# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One connection to an engine: the options a backend declares, the values a task gives them or the
environment holds, where each came from, the secrets among them, and what of it may be shown.

Each backend declares its own connection options (``Backend.connection_options``, a tuple of ``Option``); those
every engine takes are declared once here (``COMMON_OPTIONS``). The modules' argument spec is made from the
declarations (``argument_spec``), and ``plugins/doc_fragments/connection.py`` says the same thing (a unit test
holds them together). The modules, the inventory plugin and the event source build a ``Connection`` from their
options and use it for everything about the engine's connection: its checks (``check``), its secrets
(``secrets``, ``mask``), what a result or an event shows of it (``public``), how a message names it
(``where``, ``source``, ``named``) and the backend itself (``connect``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.validation import (
    check_type_bool,
    check_type_float,
    check_type_int,
    check_type_path,
    check_type_str,
)

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput

if TYPE_CHECKING:  # pragma: no cover - a backend is built by its class, which is handed in
    from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import Backend

#: What replaces a secret in every text shown.
MASK = "********"

#: A number option's documented range, inclusive, and its unit: ``(1, 3600, " seconds")``.
Bounds = tuple[float, float, str]

_CONVERT: dict[str, Callable[[Any], Any]] = {
    "str": check_type_str,
    "int": check_type_int,
    "bool": check_type_bool,
    "float": check_type_float,
    "path": check_type_path,
}


@dataclass(frozen=True)
class Option:
    """One connection option as a backend declares it."""

    name: str
    #: The Ansible type: ``str``, ``int``, ``bool``, ``float`` or ``path``.
    type: str = "str"
    #: Environment variables read, in order, when the option is not set: the first with a value gives it.
    env: tuple[str, ...] = ()
    #: The value when neither the option nor a variable gives one.
    default: Any = None
    #: The documented range of a number, checked before anything is read.
    bounds: Optional[Bounds] = None
    #: A secret: ``no_log``, never shown (``Connection.public``), masked in every message (``Connection.mask``).
    secret: bool = False
    #: The values allowed (the ``backend`` option's come from the registry of backends).
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    #: The engine reads ``env`` itself, by its own rules (Docker's, as the docker CLI reads them); the
    #: variables are still where the value came from (``Connection.origin``).
    engine_reads_env: bool = False
    #: Says which engine this is (its address, or a part of the engine), not how it is reached: what a cursor
    #: file's position is kept for (``Connection.identity``).
    identifies: bool = False


#: The connection options every engine takes. An engine may declare one of them again, to add variables of its
#: own (Docker reads ``DOCKER_TLS_VERIFY`` for ``validate_certs``).
COMMON_OPTIONS: tuple[Option, ...] = (
    Option("backend", env=("CONTAINEROPS_BACKEND",), default="docker", identifies=True),
    Option("validate_certs", "bool", aliases=("tls_verify",)),
    Option("ca_path", "path"),
    Option("client_cert", "path"),
    Option("client_key", "path"),
    Option("timeout", "int", env=("CONTAINEROPS_TIMEOUT",), default=60, bounds=(1, 3600, " seconds")),
    Option("retries", "int", default=3, bounds=(0, 10, "")),
)
_COMMON = {option.name: option for option in COMMON_OPTIONS}


def declared(backend_class: type[Backend]) -> dict[str, Option]:
    """Every connection option of ``backend_class``: the common ones, then its own (its declaration of a common
    one wins)."""
    options = dict(_COMMON)
    options.update((option.name, option) for option in backend_class.connection_options)
    return options


def argument_spec(backend_classes: Iterable[type[Backend]]) -> dict[str, dict[str, Any]]:
    """The Ansible argument spec of the connection options of ``backend_classes`` (in the order the ``backend``
    option offers them): each option once, with its type and aliases, ``no_log`` for a secret.

    A common option's default and variables hold for every engine, so they are Ansible's (``env_fallback``: a
    variable wins over the default, as the docs say). An engine's own variables and default are applied by
    ``Connection.of`` for that engine alone: ``api_url`` reads ``HOODY_API_URL`` on Hoody, ``DOCKHAND_URL`` on
    Dockhand.
    """
    classes = list(backend_classes)
    spec: dict[str, dict[str, Any]] = {}
    for option in (*COMMON_OPTIONS, *(option for cls in classes for option in cls.connection_options)):
        if option.name in spec:
            continue
        entry: dict[str, Any] = {"type": option.type}
        if option.aliases:
            entry["aliases"] = list(option.aliases)
        if option.secret:
            entry["no_log"] = True
        if option is _COMMON.get(option.name):
            if option.default is not None:
                entry["default"] = option.default
            if option.name == "backend":
                entry["choices"] = [cls.name for cls in classes]
            elif option.choices:
                entry["choices"] = list(option.choices)
            if option.env:
                entry["fallback"] = (env_fallback, list(option.env))
        spec[option.name] = entry
    return spec


def check_bounds(values: Mapping[str, Any], bounds: Mapping[str, Bounds]) -> None:
    """Every number in ``values`` within its documented range; ``BadInput`` with the range for one outside (10**12
    seconds is 31,700 years: a slip, refused before anything is read)."""
    for option, (low, high, unit) in bounds.items():
        value = values.get(option)
        if value is not None and not low <= value <= high:
            raise BadInput(f"{option} must be between {low:g} and {high:g}{unit}, got {value!r}")


def without_password(url: str) -> str:
    """``url`` with a password written into it left out, scheme, user, host and port kept
    (``https://ops:pw@dh:8443`` -> ``https://ops@dh:8443``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{host}" if parts.username else host))


def _url_password(value: Any) -> Optional[str]:
    try:
        return urlsplit(value).password if isinstance(value, str) and "://" in value else None
    except ValueError:  # not a URL after all (a port that is no number): nothing written into it
        return None


def secrets_in(values: Mapping[str, Any], spec: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The secrets among options not checked yet: the values of the ``no_log`` ones of ``spec`` and every password
    written into a URL, so that a message about them can leave them out."""
    found = {str(values[key]) for key, entry in spec.items() if entry.get("no_log") and values.get(key)}
    return found | {password for password in map(_url_password, values.values()) if password}


def mask(text: Any, secrets: Collection[str]) -> str:
    """``text`` with every secret replaced, longest first (a secret may hold another)."""
    text = str(text)
    for secret in sorted((secret for secret in secrets if secret), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def required(backend_name: str, option: Option) -> BadInput:
    """The error for a connection option that the engine needs and nothing gave."""
    variables = f" (or set {' / '.join(option.env)})" if option.env else ""
    return BadInput(f"{option.name} is required for backend {backend_name}{variables}")


class Connection:
    """A task's connection to one engine: its backend's options with their values, where each came from, the
    secrets among them.

    ``params`` are the task's options with this engine's connection options resolved (given, else the first of the
    option's variables that is set, else its default), and every other option as given (``parallel``,
    ``poll_interval``), for the backend's ``from_options``.
    """

    def __init__(
        self,
        backend_class: type[Backend],
        params: dict[str, Any],
        origins: dict[str, Optional[str]],
        environ: Mapping[str, str],
        slips: list[str],
    ) -> None:
        self.backend_class = backend_class
        self.options = declared(backend_class)
        self.params = params
        self.environ = environ
        self._origins = origins
        self._slips = slips
        self.secrets: set[str] = {str(params[name]) for name, option in self.options.items()
                                  if option.secret and params.get(name)}  # fmt: skip
        self.secrets.update(password for password in map(_url_password, params.values()) if password)

    @classmethod
    def of(
        cls,
        backend_class: type[Backend],
        params: Mapping[str, Any],
        given: Optional[Collection[str]] = None,
        environ: Optional[Mapping[str, str]] = None,
    ) -> Connection:
        """The connection ``params`` describe on ``backend_class``'s engine; ``given`` names the options the task
        set (aliases count; None: every option that has a value), so that the others say where they came from."""
        environ = os.environ if environ is None else environ
        options = declared(backend_class)
        if given is None:
            given = [name for name, value in params.items() if value is not None]
        given_names = {name for name, option in options.items() if {name, *option.aliases} & set(given)}
        values = dict(params)
        origins: dict[str, Optional[str]] = {}
        slips = []
        for name, option in options.items():
            value = values.get(name)
            if name in given_names and value is not None:
                origins[name] = None
                continue
            found = [variable for variable in option.env if environ.get(variable)]
            if value is not None:  # a common option's default, or a variable Ansible read (``env_fallback``)
                origins[name] = next((variable for variable in option.env if variable in environ), "default")
            elif option.engine_reads_env:
                origins[name] = found[0] if found else "default"
            elif found:
                origins[name] = found[0]
                try:
                    value = _CONVERT[option.type](environ[found[0]])
                except (TypeError, ValueError) as exc:
                    value = environ[found[0]]
                    slips.append(f"{name} (from {found[0]}) is not of type {option.type}: {exc}")
            else:
                value, origins[name] = option.default, "default"
            values[name] = value
        return cls(backend_class, values, origins, environ, slips)

    @property
    def backend(self) -> str:
        """The ``backend`` option's value: the engine's kind."""
        return self.backend_class.name

    # Where a value came from -----------------------------------------------------------------------------

    def origin(self, option: str) -> Optional[str]:
        """Where ``option``'s value came from when the task did not give it: the environment variable that gave it,
        or ``default``; None when the task gave it."""
        return self._origins.get(option, "default")

    def source(self, option: str) -> str:
        """``option`` and where its value came from, for messages: ``api_url`` (the task gave it),
        ``api_url, from HOODY_API_URL`` or ``api_url's default``."""
        origin = self.origin(option)
        if origin is None:
            return option
        return f"{option}'s default" if origin == "default" else f"{option}, from {origin}"

    def named(self, option: str) -> str:
        """``option`` for a message about its value: ``api_token``, or ``api_token (from HOODY_TOKEN)`` when the
        environment gave it."""
        origin = self.origin(option)
        return f"{option} (from {origin})" if origin not in (None, "default") else option

    def require(self, option: str) -> Any:
        """``option``'s value; ``BadInput`` naming its variables when nothing gave one."""
        value = self.params.get(option)
        if value is None or value == "":
            raise required(self.backend, self.options[option])
        return value

    # Checks ------------------------------------------------------------------------------------------------

    def check(self) -> None:
        """The connection options' rules beyond their types, before anything is read: each number within its
        bounds, the backend's own rules (``Backend.validate_options``), TLS files that go together and exist,
        a URL and a token that say something. ``BadInput`` names the slip, never a secret."""
        if self._slips:
            raise BadInput(mask(self._slips[0], self.secrets))
        check_bounds(self.params, {name: option.bounds for name, option in self.options.items() if option.bounds})
        self.backend_class.validate_options(self)
        params = self.params
        if bool(params.get("client_cert")) != bool(params.get("client_key")):
            raise BadInput("client_cert and client_key go together: give both, or neither")
        for option in ("ca_path", "client_cert", "client_key"):
            if params.get(option) and not os.path.isfile(params[option]):
                raise BadInput(f"{option} {params[option]!r} is not a readable file")
        if params.get("api_url") == "":
            raise BadInput("api_url is empty: give the API's base URL, or leave the option out")
        token = params.get("api_token")
        if token is not None and (token.strip() == "" or not token.isprintable() or " " in token):
            raise BadInput(
                f"{self.named('api_token')} is empty or holds spaces or control characters (a stray newline?); "
                "it is not shown here"
            )

    def mask(self, text: Any) -> str:
        """``text`` with every secret of this connection replaced."""
        return mask(text, self.secrets)

    # What is shown of it ---------------------------------------------------------------------------------

    def public(self) -> dict[str, Any]:
        """The connection as a result, a host variable or an event shows it: this engine's options that have a
        value, secrets left out, URLs without a password (scheme, host and port kept), the engine's address as
        resolved (``Backend.address``): enough for a playbook to reach the same engine."""
        shown = {name: self.params[name] for name, option in self.options.items()
                 if not option.secret and self.params.get(name) is not None}  # fmt: skip
        shown.update(self.backend_class.address(self)[0])
        return {name: without_password(value) if isinstance(value, str) else value for name, value in shown.items()}

    def identity(self) -> dict[str, Any]:
        """Which engine this is (``Option.identifies``), of ``public()``: its address, not its timeouts."""
        return {name: value for name, value in self.public().items() if self.options[name].identifies}

    def where(self) -> str:
        """The engine, for messages: ``dockhand at https://ops@dh.example.com:8443`` (given), ``hoody at
        https://api.hoody.icu (api_url's default)``, ``docker at tcp://10.0.0.5:2376 (Docker context 'edge',
        from DOCKER_CONTEXT)``."""
        address = self.backend_class.address(self)[1]
        return f"{self.backend} at {without_password(address)}" if address else self.backend

    def connect(self) -> Backend:
        """The backend this connection describes, connected (``Backend.from_options``)."""
        return self.backend_class.from_options(self)
