# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One connection: every backend's declared options, where each value came from, its secrets, its bounds, what is
shown of it; and the doc fragments held to the declarations."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from ansible_collections.containerops.lifecycle.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.containerops.lifecycle.plugins.inventory import containers
from ansible_collections.containerops.lifecycle.plugins.module_utils import _module
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import (
    COMMON_OPTIONS,
    MASK,
    Connection,
    Option,
    check_bounds,
    declared,
    mask,
    secrets_in,
    without_password,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._dockhand import DockhandBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody import HoodyBackend
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import BACKEND_CLASSES, CONNECTION_SPEC

COMMON = {option.name for option in COMMON_OPTIONS}
# Every (backend, option) declared, common ones included.
DECLARED = [(name, option) for name, cls in BACKEND_CLASSES.items() for option in declared(cls).values()]
# Those whose variables the connection reads (not the engine itself, not Ansible's env_fallback).
READ_HERE = [(name, option) for name, option in DECLARED
             if option.env and not option.engine_reads_env and option.name not in COMMON]  # fmt: skip
EVERY_VARIABLE = sorted({variable for _name, option in DECLARED for variable in option.env})
SAMPLE = {"str": "value-1", "int": "7"}


def params(**values: Any) -> dict[str, Any]:
    """What Ansible hands over for options not given: the spec's defaults, None for the rest."""
    return dict({option: entry.get("default") for option, entry in CONNECTION_SPEC.items()}, **values)


def of(backend: str, environ: dict[str, str], given: tuple[str, ...] = (), **values: Any) -> Connection:
    return Connection.of(BACKEND_CLASSES[backend], params(backend=backend, **values), given, environ)


# The declarations --------------------------------------------------------------------------------------------


def test_every_declaration_of_an_option_agrees_on_what_the_option_is():
    for _backend, option in DECLARED:
        first = next(o for _b, o in DECLARED if o.name == option.name)
        assert (option.type, option.secret, option.aliases) == (first.type, first.secret, first.aliases), option


def test_the_argument_spec_is_made_from_the_declarations():
    assert list(CONNECTION_SPEC) == list(dict.fromkeys(option.name for _backend, option in DECLARED))
    for _backend, option in DECLARED:
        entry = CONNECTION_SPEC[option.name]
        assert entry["type"] == option.type and entry.get("no_log", False) == option.secret
        assert entry.get("aliases", []) == list(option.aliases)
    # A common option's variables and default hold on every engine: Ansible's. An engine's own are read for it.
    assert CONNECTION_SPEC["timeout"]["default"] == 60 and CONNECTION_SPEC["timeout"]["fallback"][1] == [
        "CONTAINEROPS_TIMEOUT"
    ]
    assert CONNECTION_SPEC["backend"]["choices"] == list(BACKEND_CLASSES)
    assert all("fallback" not in CONNECTION_SPEC[o.name] and "default" not in CONNECTION_SPEC[o.name]
               for _b, o in DECLARED if o.name not in COMMON)  # fmt: skip


def test_the_registry_is_what_the_backend_option_and_its_docs_offer():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["backend"]["choices"]
    assert list(BACKEND_CLASSES) == documented == CONNECTION_SPEC["backend"]["choices"]
    for name, backend_class in BACKEND_CLASSES.items():
        assert backend_class.name == name


# The doc fragments say what the declarations say ------------------------------------------------------------------


def documented() -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    for fragment in (
        ModuleDocFragment.DOCUMENTATION,
        ModuleDocFragment.DOCKER,
        ModuleDocFragment.PODMAN,
        ModuleDocFragment.REST,
    ):
        options.update(yaml.safe_load(fragment)["options"])
    return options


def inventory_documented() -> dict[str, dict[str, Any]]:
    engines = yaml.safe_load(containers.DOCUMENTATION)["options"]["engines"]["suboptions"]
    return {name: doc for name, doc in engines.items() if name not in ("name", "filters")}


def description(doc: dict[str, Any]) -> str:
    text = doc.get("description", "")
    return " ".join(text) if isinstance(text, list) else text


@pytest.mark.parametrize("docs", [documented(), inventory_documented()], ids=["doc_fragments", "inventory"])
def test_the_docs_name_every_declared_option_and_nothing_else(docs):
    assert set(docs) == {option.name for _b, option in DECLARED}


@pytest.mark.parametrize("docs", [documented(), inventory_documented()], ids=["doc_fragments", "inventory"])
@pytest.mark.parametrize(("backend", "option"), DECLARED, ids=lambda value: getattr(value, "name", value))
def test_the_docs_say_what_the_declaration_says(docs, backend, option):
    doc = docs[option.name]
    text = description(doc)
    assert doc["type"] == option.type
    assert doc.get("aliases", []) == list(option.aliases)
    # The variables, each as E(NAME), in the order they are read.
    places = [text.find(f"E({variable})") for variable in option.env]
    assert -1 not in places and places == sorted(places), f"{option.name}: {option.env} in {text!r}"
    if option.name == "backend":
        assert doc["choices"] == list(BACKEND_CLASSES)
    if option.default is not None and option.name not in COMMON:  # an engine's own default, said in words
        assert f"C({option.default})" in text, text


@pytest.mark.parametrize(("backend", "option"), DECLARED, ids=lambda value: getattr(value, "name", value))
def test_the_doc_fragments_give_the_common_defaults_and_say_a_secret_is_never_logged(backend, option):
    doc = documented()[option.name]
    if option.name in COMMON:
        assert doc.get("default") == option.default
    assert ("never logged" in description(doc).lower()) == option.secret
    assert CONNECTION_SPEC[option.name].get("no_log", False) == option.secret


# Where a value came from -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "option"), READ_HERE, ids=lambda value: getattr(value, "name", value))
def test_an_unset_option_takes_the_first_of_its_variables_that_has_a_value(backend, option):
    for first in range(len(option.env)):
        environ = {variable: f"{SAMPLE[option.type][:-1]}{index}" for index, variable in enumerate(option.env)
                   if index >= first}  # fmt: skip
        environ[option.env[0]] = environ.get(option.env[0], "")  # set and empty: not a value
        connection = of(backend, environ)
        expected = environ[option.env[first]]
        assert connection.params[option.name] == (int(expected) if option.type == "int" else expected)
        assert connection.origin(option.name) == option.env[first]
        assert connection.source(option.name) == f"{option.name}, from {option.env[first]}"
        assert connection.named(option.name) == f"{option.name} (from {option.env[first]})"


@pytest.mark.parametrize(("backend", "option"), READ_HERE, ids=lambda value: getattr(value, "name", value))
def test_an_option_the_task_gave_wins_over_every_variable_and_says_so(backend, option):
    value = 5 if option.type == "int" else "given"
    connection = of(backend, dict.fromkeys(EVERY_VARIABLE, "9"), (option.name,), **{option.name: value})
    assert connection.params[option.name] == value
    assert connection.origin(option.name) is None
    assert connection.source(option.name) == connection.named(option.name) == option.name


@pytest.mark.parametrize(("backend", "option"), READ_HERE, ids=lambda value: getattr(value, "name", value))
def test_an_option_nothing_gave_is_its_default(backend, option):
    connection = of(backend, {})
    assert connection.params[option.name] == option.default
    assert connection.origin(option.name) == "default"
    assert connection.source(option.name) == f"{option.name}'s default"
    assert connection.named(option.name) == option.name


def test_a_variable_of_another_engine_is_not_read():
    connection = of("docker", {"DOCKHAND_PASSWORD": "pw", "HOODY_TOKEN": "t", "HOODY_REALM": "r"})
    assert connection.params["api_password"] is None and connection.params["api_realm"] is None
    assert connection.secrets == set()


def test_a_common_option_ansible_read_or_defaulted_says_so():
    read = of("hoody", {"CONTAINEROPS_TIMEOUT": "7"}, timeout=7)
    assert (
        read.source("timeout") == "timeout, from CONTAINEROPS_TIMEOUT" and read.source("retries") == "retries's default"
    )
    assert of("hoody", {}, ("timeout",), timeout=7).source("timeout") == "timeout"
    assert of("hoody", {}, ("tls_verify",), validate_certs=False).origin("validate_certs") is None  # an alias counts


def test_without_given_every_option_with_a_value_counts_as_given():
    connection = Connection.of(HoodyBackend, params(backend="hoody", timeout=7), None, {"HOODY_BASE_URL": "http://e"})
    assert connection.source("timeout") == "timeout"
    assert connection.source("api_url") == "api_url, from HOODY_BASE_URL"


def test_a_variable_the_engine_reads_itself_is_left_to_it_but_named():
    connection = of("docker", {"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_TLS_VERIFY": "1"})
    assert connection.params["docker_host"] is None and connection.params["validate_certs"] is None
    assert connection.origin("docker_host") == "DOCKER_HOST" and connection.origin("docker_context") == "default"
    assert connection.public()["docker_host"] == "tcp://10.0.0.5:2376"


def test_a_variable_that_is_not_of_the_options_type_is_refused_naming_it():
    connection = of("dockhand", {"DOCKHAND_ENV": "prod"})
    with pytest.raises(BadInput, match=r"^api_environment \(from DOCKHAND_ENV\) is not of type int"):
        connection.check()


def test_a_required_option_names_its_variables():
    with pytest.raises(BadInput, match=r"^api_url is required for backend dockhand \(or set DOCKHAND_URL\)$"):
        of("dockhand", {}).require("api_url")
    assert of("dockhand", {"DOCKHAND_URL": "http://dh:8443"}).require("api_url") == "http://dh:8443"


def test_a_password_from_the_environment_without_a_username_names_the_variable():
    connection = of("dockhand", {"DOCKHAND_PASSWORD": "pw", "DOCKHAND_URL": "http://127.0.0.1:9"}, api_environment=1)
    with pytest.raises(BadInput) as caught:
        connection.connect()
    assert str(caught.value) == (
        "api_username and api_password go together for backend dockhand: api_password (from DOCKHAND_PASSWORD) "
        "is set, api_username is not; give both, or neither"
    )


def test_connect_builds_the_backend_from_the_connection():
    class Recorded(HoodyBackend):
        @classmethod
        def from_options(cls, connection):
            return connection

    connection = Connection.of(Recorded, params(backend="hoody"), (), {})
    assert connection.connect() is connection


# Secrets ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "option"), [(b, o) for b, o in DECLARED if o.secret],
                         ids=lambda value: getattr(value, "name", value))  # fmt: skip
def test_a_secret_given_or_read_is_known_masked_and_never_shown(backend, option):
    for connection in (of(backend, {}, (option.name,), **{option.name: "s3cret-given"}),
                       of(backend, {option.env[-1]: "s3cret-given"})):  # fmt: skip
        assert "s3cret-given" in connection.secrets
        assert connection.mask("401 for s3cret-given") == f"401 for {MASK}"
        assert option.name not in connection.public() and "s3cret-given" not in repr(connection.public())


def test_a_password_written_into_a_url_is_a_secret_wherever_it_came_from():
    given = of("dockhand", {}, ("api_url",), api_url="https://ops:pw-in-url@dh.example.com:8443")
    from_env = of("hoody", {"HOODY_API_URL": "https://ops:pw-in-env@hoody.test"})
    assert "pw-in-url" in given.secrets and "pw-in-env" in from_env.secrets
    assert secrets_in({"api_url": "http://u:p@h", "api_token": "t", "timeout": 5}, CONNECTION_SPEC) == {"p", "t"}


def test_a_secret_given_for_an_option_the_backend_does_not_use_is_still_masked():
    connection = _module.connection_of(params(backend="docker", api_token="not-dockers"), ("api_token",))
    assert connection.mask("got not-dockers") == f"got {MASK}"


def test_mask_replaces_the_longest_secret_first():
    assert mask("token abc-abcdef", {"abc", "abc-abcdef"}) == f"token {MASK}"
    assert mask("nothing", {""}) == "nothing"


# Bounds ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", [o for o in COMMON_OPTIONS if o.bounds], ids=lambda option: option.name)
def test_a_number_outside_its_bounds_is_refused_with_them(option):
    low, high, unit = option.bounds
    for inside in (low, high):
        of("hoody", {}, (option.name,), **{option.name: inside}).check()
    for outside in (low - 1, high + 1):
        with pytest.raises(BadInput, match=re.escape(f"{option.name} must be between {low:g} and {high:g}{unit}, "
                                                     f"got {outside!r}")):  # fmt: skip
            of("hoody", {}, (option.name,), **{option.name: outside}).check()


def test_every_number_option_has_its_bounds_in_one_place():
    assert not {o.name for o in COMMON_OPTIONS if o.bounds} & set(_module.BOUNDS)
    with pytest.raises(BadInput, match=r"^poll_interval must be between 0.05 and 60 seconds, got 0.01$"):
        check_bounds({"poll_interval": 0.01, "parallel": None}, _module.BOUNDS)


# The connection's rules ----------------------------------------------------------------------------------------


def test_tls_files_go_together_and_must_exist(tmp_path):
    with pytest.raises(BadInput, match="client_cert and client_key go together"):
        of("hoody", {}, ("client_cert",), client_cert=str(tmp_path)).check()
    with pytest.raises(BadInput, match=r"ca_path '/nowhere/ca.pem' is not a readable file"):
        of("hoody", {}, ("ca_path",), ca_path="/nowhere/ca.pem").check()


def test_an_empty_url_or_a_token_with_a_stray_newline_is_refused_without_showing_it():
    with pytest.raises(BadInput, match="api_url is empty"):
        of("hoody", {}, ("api_url",), api_url="").check()
    with pytest.raises(BadInput, match=r"^api_token \(from HOODY_TOKEN\) is empty or holds spaces") as caught:
        of("hoody", {"HOODY_TOKEN": "hdy_x\n"}).check()
    assert "hdy_x" not in str(caught.value)


# What is shown of it ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("https://ops:s3cret@dh.example.com:8443/base", "https://ops@dh.example.com:8443/base"),
    ("https://:s3cret@dh.example.com", "https://dh.example.com"),
    ("https://dh.example.com", "https://dh.example.com"),
    ("http://ops@127.0.0.1:9", "http://ops@127.0.0.1:9"),
])  # fmt: skip
def test_without_password(url, expected):
    assert without_password(url) == expected


@pytest.mark.parametrize("backend", ["hoody", "dockhand"])
def test_the_public_connection_keeps_scheme_host_and_port_and_drops_only_credentials(backend):
    connection = of(backend, {}, ("api_url", "api_token"), api_url="https://ops:pw@dh:8443", api_token="t0k")
    shown = connection.public()
    assert shown["api_url"] == "https://ops@dh:8443"  # the event source once sent playbooks to https://dh
    assert shown["backend"] == backend and "api_token" not in shown
    assert connection.where() == f"{backend} at https://ops@dh:8443"
    assert connection.identity() == {"backend": backend, "api_url": "https://ops@dh:8443"}


def test_the_public_connection_shows_only_this_engines_options_with_a_value():
    connection = of("hoody", {"HOODY_TOKEN": "t", "DOCKHAND_USERNAME": "ops"}, ("timeout",), timeout=5, parallel=3)
    assert connection.public() == {"backend": "hoody", "api_url": "https://api.hoody.icu", "timeout": 5, "retries": 3}
    assert connection.where() == "hoody at https://api.hoody.icu (api_url's default)"
    assert of("dockhand", {}).where() == "dockhand"  # no address: nothing to name


def test_the_identity_of_an_engine_is_its_address_and_the_part_of_it_not_its_timeouts():
    dockhand = of("dockhand", {"DOCKHAND_URL": "http://dh:3000", "DOCKHAND_ENV": "2"}, ("timeout",), timeout=9)
    assert dockhand.identity() == {"backend": "dockhand", "api_url": "http://dh:3000", "api_environment": 2}
    docker = of("docker", {"DOCKER_HOST": "tcp://10.0.0.5:2376"})
    assert docker.identity() == {"backend": "docker", "docker_host": "tcp://10.0.0.5:2376"}
    assert docker.where() == "docker at tcp://10.0.0.5:2376 (docker_host, from DOCKER_HOST)"
    assert of("docker", {}, ("docker_host",), docker_host="tcp://h:2375").where() == "docker at tcp://h:2375"


def test_an_engine_may_declare_a_common_option_again_with_variables_of_its_own():
    class Tls(HoodyBackend):
        connection_options = (Option("validate_certs", "bool", env=("ACME_VERIFY",), aliases=("tls_verify",)),)

    assert Connection.of(Tls, params(), (), {"ACME_VERIFY": "no"}).params["validate_certs"] is False
    assert declared(DockhandBackend)["validate_certs"].env == ()
