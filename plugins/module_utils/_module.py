# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module shares: option specs, building the backend, target selection, one exit for errors.

The target specs here mirror ``plugins/doc_fragments/targets.py``; the connection options are each backend's
declarations (``_connection``), which ``plugins/doc_fragments/connection.py`` documents.
"""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable, Collection, Mapping, Optional

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib

from ansible_collections.containerops.lifecycle.plugins.module_utils import _docker, _dockhand, _hoody, _podman
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import (
    Backend,
    ContainerState,
    refusal,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import (
    Bounds,
    Connection,
    argument_spec,
    check_bounds,
    secrets_in,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ContainerNotFound,
    ContainerOpsError,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._lifecycle import ABSENT, STATUSES
from ansible_collections.containerops.lifecycle.plugins.module_utils._text import safe_text

# The registry of engines: the ``backend`` option's choices, in the order the docs give them. A class
# brings its own name, connection options and capabilities (see ``Backend``).
BACKEND_CLASSES: dict[str, type[Backend]] = {
    cls.name: cls
    for cls in (_docker.DockerBackend, _hoody.HoodyBackend, _dockhand.DockhandBackend, _podman.PodmanBackend)
}
BACKENDS = tuple(BACKEND_CLASSES)

# The connection options of every backend (``_connection.argument_spec``: each backend's declarations).
CONNECTION_SPEC: dict[str, dict[str, Any]] = argument_spec(BACKEND_CLASSES.values())
# Every name the connection options answer to, aliases included.
CONNECTION_NAMES = tuple(
    name for option, entry in CONNECTION_SPEC.items() for name in (option, *entry.get("aliases", ()))
)

TARGET_SPEC: dict[str, dict[str, Any]] = {
    "name": {"type": "list", "elements": "str", "aliases": ["names", "id"]},
    "filters": {"type": "dict"},
    "parallel": {"type": "int", "default": 8},
}

# container_snapshot and container_alias work on one container.
CONTAINER_SPEC: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True, "aliases": ["id"]},
}

FILTER_KEYS = ("name", "label", "status", "project")

# The documented range of the number options of the modules and plugins beyond the connection's (those are
# declared with them: ``_connection.Option.bounds``), checked with ``_connection.check_bounds``.
BOUNDS: dict[str, Bounds] = {
    "parallel": (1, 1000, ""),
    "stop_timeout": (0, 86400, " seconds"),
    "wait_timeout": (1, 86400, " seconds"),
    "poll_interval": (0.05, 60, " seconds"),
}


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BadInput(message)


def _given_options(keys: tuple[str, ...]) -> set[str]:
    """Which of ``keys`` the task set explicitly, null included (Ansible's params cannot tell)."""
    try:
        raw = _load_params()
    except Exception:  # pragma: no cover - the arguments were read once already by AnsibleModule
        return set()
    return {key for key in keys if key in raw}


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _string_list(filters: dict[str, Any], key: str) -> Optional[list[str]]:
    """``filters[key]`` as a list of non-empty strings (one string is a list of one); None when not given."""
    value = filters.get(key)
    if isinstance(value, str):
        value = [value]
    _require(
        value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value)),
        f"filters.{key} must be a list of strings, got {value!r}",
    )
    blank = [v for v in value or [] if not v.strip() or v.startswith("=")]
    _require(not blank, f"filters.{key} holds an empty entry {blank[0]!r}" if blank else "")
    return value


def validated_filters(filters: Any, backend_class: type[Backend]) -> dict[str, Any]:
    """The filters with lists normalised; an empty one, an empty value, or one the engine cannot apply is
    refused by name."""
    allowed = ", ".join(FILTER_KEYS)
    _require(isinstance(filters, dict), f"filters must be a dict with keys among {allowed}")
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    _require(not unknown, f"filters: unknown key(s) {', '.join(unknown)}; allowed: {allowed}")
    _require(
        bool(filters),
        f"filters is empty, which would select every container on the engine; give at least one of {allowed}",
    )
    empty = [key for key in FILTER_KEYS if key in filters and _empty(filters[key])]
    _require(
        not empty,
        f"filters.{', filters.'.join(empty)} is empty (a template that rendered to nothing?); an empty filter "
        "would select every container, so give it a value or leave the key out",
    )
    result = dict(filters, label=_string_list(filters, "label"), status=_string_list(filters, "status"))
    bad = sorted(set(result.get("status") or []) - set(STATUSES))
    _require(not bad, f"filters.status: unknown status(es) {', '.join(bad)}; allowed: {', '.join(STATUSES)}")
    for key in ("name", "project"):
        _require(
            result.get(key) is None or isinstance(result[key], str),
            f"filters.{key} must be a string, got {result.get(key)!r}",
        )
    _require(
        not result.get("label") or backend_class.has_labels,
        refusal(
            backend_class.name,
            "apply filters.label",
            "its containers have no labels; select them by filters.name, filters.status or filters.project",
        ),
    )
    project = result.get("project")
    _require(
        project is None or backend_class.project_pattern.fullmatch(project) is not None,
        f"filters.project {project!r} is not a project backend {backend_class.name} allows: "
        f"{backend_class.project_rule}",
    )
    return result


def missing_library(backend: str) -> Optional[tuple[str, str]]:
    """The Python library ``backend`` needs and its import error, when it cannot be imported."""
    library, error = BACKEND_CLASSES[backend].library
    return (library, error) if error else None


# Keys of a result whose dicts are the engine's data by its own names (a label may be called ``error``).
_DATA_KEYS = ("labels", "environment_vars", "metadata", "private")


def safe_result(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with the text a user reads as it is (``msg``, every ``error`` at any depth: a container's, an
    action's, a runtime's) made safe for a terminal (``_text.safe_text``): the last door for an engine's text
    that reached a message unescaped. The engine's data (labels, environment, ...) is returned as it is."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: safe_text(item) if key in ("msg", "error") and isinstance(item, str)
                    else item if key in _DATA_KEYS else clean(item)
                    for key, item in value.items()}  # fmt: skip
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    return clean(result)


def connection_of(params: Mapping[str, Any], given: Optional[Collection[str]] = None) -> Connection:
    """The connection the options in ``params`` describe, on the backend their ``backend`` option names; ``given``
    names the options set explicitly (None: every option with a value), so the others say where they came from.

    Its secrets include those given for options this backend does not use (an ``api_token`` given for Docker)."""
    connection = Connection.of(BACKEND_CLASSES[params["backend"]], params, given)
    connection.secrets.update(secrets_in(params, CONNECTION_SPEC))
    return connection


def connect(params: Mapping[str, Any], secret_found: Callable[[str], None]) -> Backend:
    """The backend the options in ``params`` describe, connected, for a caller holding plain options;
    ``secret_found`` is told every secret among them, so the caller can keep it out of its output."""
    connection = connection_of(params)
    for secret in connection.secrets:
        secret_found(secret)
    return connection.connect()


class LifecycleModule:
    """Owns the ``AnsibleModule``: merges the shared options in and sends every error out one door."""

    def __init__(
        self,
        argument_spec: dict[str, Any],
        with_targets: bool = False,
        supports_check_mode: bool = True,
        **kwargs: Any,
    ) -> None:
        spec = dict(CONNECTION_SPEC)
        if with_targets:
            spec.update(TARGET_SPEC)
            kwargs.setdefault("required_one_of", []).append(["name", "filters"])
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=supports_check_mode, **kwargs)
        self.params = self.module.params
        self._backend: Optional[Backend] = None
        self.connection = connection_of(self.params, _given_options(CONNECTION_NAMES))
        # Secrets from the environment or written into a URL: masked before anything can fail and echo them.
        self.module.no_log_values.update(self.connection.secrets)

    @property
    def backend_class(self) -> type[Backend]:
        """The class of the backend the options select: its rules, before anything is connected."""
        return self.connection.backend_class

    def validate(self) -> None:
        """What Ansible's type checks cannot express, refused before anything is read or changed."""
        params = self.params
        self.connection.check()
        check_bounds(params, BOUNDS)
        if "filters" in params:
            self._validate_targets()
        elif isinstance(params.get("name"), str):
            self.valid_ref(params["name"])

    def _validate_targets(self) -> None:
        """A selection never widens by accident: every given name and filter must say something."""
        params = self.params
        given = _given_options(("name", "names", "id", "filters"))
        if params["name"] is not None or given & {"name", "names", "id"}:
            names = params["name"]
            _require(
                bool(names),
                f"name is {'empty' if names is not None else 'null'}: give the containers to work on, "
                "or leave name out and use filters",
            )
            for name in names:
                self.valid_ref(name)
        if params["filters"] is not None or "filters" in given:
            _require(params["filters"] is not None, "filters is null: give at least one of " + ", ".join(FILTER_KEYS))
            params["filters"] = validated_filters(params["filters"], self.backend_class)

    def valid_ref(self, ref: Any) -> str:
        """``ref`` when it is a container name or id this backend allows; else a ``BadInput`` naming it."""
        backend_class = self.backend_class
        _require(
            isinstance(ref, str) and bool(ref.strip()),
            f"name must not be empty or blank, got {ref!r}: give a container name or id",
        )
        _require(
            backend_class.ref_pattern.fullmatch(ref) is not None,
            f"name {ref!r} is not a container name or id: backend {backend_class.name} allows {backend_class.ref_rule}",
        )
        return ref

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = self._make_backend()
        return self._backend

    def _make_backend(self) -> Backend:
        missing = missing_library(self.params["backend"])
        if missing:
            library, error = missing
            self.module.fail_json(msg=missing_required_lib(library), exception=error)
        return self.connection.connect()

    def select_targets(self) -> list[ContainerState]:
        """The containers named (in order, each once), then those the filters match on the engine.

        Names that do not exist come back with status ``absent``; the caller decides what that means.
        """
        names = self.params.get("name") or []
        named = self.backend.resolve(names) if names else []
        matched = self.backend.list(self.params["filters"]) if self.params.get("filters") else []
        targets: list[ContainerState] = []
        seen: set[str] = set()
        for state in named + matched:
            key = state.id or state.name
            if key not in seen:
                seen.add(key)
                targets.append(state)
        return targets

    def the_container(self, must_exist: bool = True) -> ContainerState:
        """The one container named by ``name``; a missing one fails unless ``must_exist`` is false."""
        name = self.valid_ref(self.params["name"])
        container = self.backend.inspect(name)
        if must_exist and container.status == ABSENT:
            raise ContainerNotFound(name)
        return container

    def run(self, main: Callable[[LifecycleModule], dict[str, Any]]) -> None:
        """Validate, run ``main`` and exit; any error ends in one clear ``fail_json``, warnings kept."""
        started = time.monotonic()
        try:
            self.validate()
            result = main(self)
            result["elapsed"] = round(time.monotonic() - started, 3)
        except ContainerOpsError as exc:
            result = {"failed": True, "msg": str(exc)}
        except Exception as exc:  # a bug: still one clear message, with the traceback kept for -vvv
            result = {
                "failed": True,
                "msg": f"unexpected {type(exc).__name__}: {exc} (a bug in containerops.lifecycle; please report it)",
                "exception": traceback.format_exc(),
            }
        finally:
            self._close_backend()
        if self._backend is not None:
            for warning in self._backend.warnings:
                self.module.warn(safe_text(warning))
        result = safe_result(result)
        if result.pop("failed", False):
            self.module.fail_json(**result)
        self.module.exit_json(**result)

    def _close_backend(self) -> None:
        if self._backend is None:
            return
        try:
            self._backend.close()
        except Exception as exc:  # closing must never hide the task's own result
            self._backend.warn(f"closing the connection to the engine failed: {exc}")
