"""_docker_context: the endpoint and TLS files, read as the docker CLI reads them, from a temporary context store.

The store is laid out as ``docker context create`` lays it out (checked against docker 28: ``contexts/meta/<sha256
of the name>/meta.json``, ``contexts/tls/<sha256>/docker/{ca,cert,key}.pem``, ``currentContext`` in config.json);
tests/integration/test_tls.py uses a store made by the real CLI.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import yaml

from ansible_collections.containerops.lifecycle.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_context import (
    DEFAULT_HOST,
    config_dir,
    current_context,
    endpoint,
    known_contexts,
    read_context,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import CONNECTION_SPEC

OPTIONS = ("docker_host", "docker_context", "tls", "validate_certs", "ca_path", "client_cert", "client_key")


def params(**given):
    return {option: given.get(option) for option in OPTIONS}


def add_context(config, name, host, tls_files=(), skip_verify=False):
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta_dir = os.path.join(config, "contexts", "meta", digest)
    os.makedirs(meta_dir)
    with open(os.path.join(meta_dir, "meta.json"), "w") as handle:
        json.dump({"Name": name, "Metadata": {},
                   "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_verify}}}, handle)  # fmt: skip
    if tls_files:
        tls_dir = os.path.join(config, "contexts", "tls", digest, "docker")
        os.makedirs(tls_dir)
        for filename in tls_files:
            with open(os.path.join(tls_dir, filename), "w") as handle:
                handle.write("pem\n")
        return tls_dir
    return None


def set_current(config, name):
    with open(os.path.join(config, "config.json"), "w") as handle:
        json.dump({"auths": {}, "currentContext": name}, handle)


@pytest.fixture
def config(tmp_path):
    path = str(tmp_path / "docker-config")
    os.makedirs(path)
    return path


@pytest.fixture
def store(config):
    """A store with a mutual-TLS context ``prod``, a context ``lab`` that skips verification, a socket ``local``."""
    tls_dir = add_context(config, "prod", "tcp://10.0.0.5:2376", ("ca.pem", "cert.pem", "key.pem"))
    add_context(config, "lab", "tcp://10.0.0.6:2376", skip_verify=True)
    add_context(config, "local", "unix:///run/other.sock")
    return {"config": config, "prod_tls": tls_dir, "environ": {"DOCKER_CONFIG": config}}


def test_the_configuration_directory_is_docker_config_else_home(monkeypatch):
    monkeypatch.setenv("HOME", "/home/ops")
    assert config_dir({"DOCKER_CONFIG": "/etc/docker-cli"}) == "/etc/docker-cli"
    assert config_dir({}) == "/home/ops/.docker"


def test_the_known_contexts_are_default_then_the_store_by_name(store, config):
    assert known_contexts(config) == ["default", "lab", "local", "prod"]
    assert known_contexts(os.path.join(config, "none")) == ["default"]


def test_a_context_is_read_with_its_tls_material(store, config):
    prod = read_context("prod", config, "docker_context")
    assert (prod.host, prod.skip_tls_verify, prod.tls_dir) == ("tcp://10.0.0.5:2376", False, store["prod_tls"])
    lab = read_context("lab", config, "docker_context")
    assert (lab.skip_tls_verify, lab.tls_dir) == (True, None)


def test_an_unknown_context_is_an_error_listing_the_known_ones(store, config):
    with pytest.raises(BadInput) as raised:
        read_context("prdo", config, "DOCKER_CONTEXT")
    assert str(raised.value) == (
        f"Docker context 'prdo' (DOCKER_CONTEXT) is not in the Docker CLI's context store {config}/contexts; "
        "known contexts: default, lab, local, prod"
    )


def test_a_context_without_a_docker_endpoint_or_unreadable_is_an_error(config):
    add_context(config, "empty", "")
    with pytest.raises(BadInput, match="Docker context 'empty' \\(docker_context\\) has no Docker endpoint in "):
        read_context("empty", config, "docker_context")
    broken = os.path.join(config, "contexts", "meta", hashlib.sha256(b"broken").hexdigest())
    os.makedirs(broken)
    with open(os.path.join(broken, "meta.json"), "w") as handle:
        handle.write("{not json")
    with pytest.raises(BadInput, match="Docker context 'broken' \\(docker_context\\) cannot be read from "):
        read_context("broken", config, "docker_context")


def test_the_current_context_is_docker_context_then_config_json_then_default(store, config):
    assert current_context({}, config) == ("default", "the default")
    set_current(config, "prod")
    assert current_context({}, config) == ("prod", f"currentContext in {config}/config.json")
    assert current_context({"DOCKER_CONTEXT": "lab"}, config) == ("lab", "DOCKER_CONTEXT")


def test_an_unreadable_config_json_is_an_error(config):
    with open(os.path.join(config, "config.json"), "w") as handle:
        handle.write("{")
    with pytest.raises(BadInput, match=r"the Docker CLI's configuration .*config\.json cannot be read"):
        current_context({}, config)


# Which endpoint, in the docker CLI's order --------------------------------------------------------------------------


def test_nothing_given_nothing_set_is_the_default_socket(config):
    found = endpoint(params(), {"DOCKER_CONFIG": config})
    assert (found.host, found.source, found.tls, found.context) == (DEFAULT_HOST, "docker_host's default", None, None)
    assert found.option() == {"docker_host": DEFAULT_HOST}


def test_the_options_first_and_never_both(store):
    environ = dict(store["environ"], DOCKER_HOST="tcp://env:2375", DOCKER_CONTEXT="lab")
    named = endpoint(params(docker_context="prod"), environ)
    assert (named.host, named.source, named.context) == ("tcp://10.0.0.5:2376", "Docker context 'prod', from "
                                                         "docker_context", "prod")  # fmt: skip
    assert named.option() == {"docker_context": "prod"}
    given = endpoint(params(docker_host="tcp://given:2375"), environ)
    assert (given.host, given.source) == ("tcp://given:2375", "docker_host")
    with pytest.raises(BadInput) as raised:
        endpoint(params(docker_host="tcp://given:2375", docker_context="prod"), environ)
    assert str(raised.value) == (
        "docker_host (tcp://given:2375) and docker_context (prod) are both given: give one of them "
        "(a context holds its own endpoint and TLS files)"
    )


@pytest.mark.parametrize("option", ["docker_host", "docker_context"])
def test_an_empty_option_is_refused_not_taken_as_unset(config, option):
    with pytest.raises(BadInput, match=f"^{option} is empty "):
        endpoint(params(**{option: " "}), {"DOCKER_CONFIG": config})


def test_docker_host_wins_over_docker_context_and_the_current_context(store):
    set_current(store["config"], "prod")
    environ = dict(store["environ"], DOCKER_HOST="unix:///run/env.sock", DOCKER_CONTEXT="lab")
    found = endpoint(params(), environ)
    assert (found.host, found.source) == ("unix:///run/env.sock", "docker_host, from DOCKER_HOST")


def test_docker_context_wins_over_the_current_context(store):
    set_current(store["config"], "prod")
    found = endpoint(params(), dict(store["environ"], DOCKER_CONTEXT="local"))
    assert (found.host, found.source, found.tls) == ("unix:///run/other.sock", "Docker context 'local', from "
                                                     "DOCKER_CONTEXT", None)  # fmt: skip


def test_the_current_context_of_config_json(store):
    set_current(store["config"], "prod")
    found = endpoint(params(), store["environ"])
    assert found.source == f"Docker context 'prod', from currentContext in {store['config']}/config.json"
    assert found.host == "tcp://10.0.0.5:2376"


def test_the_default_context_is_docker_host_or_the_socket(store):
    set_current(store["config"], "default")
    assert endpoint(params(), store["environ"]).host == DEFAULT_HOST
    named = endpoint(params(docker_context="default"), dict(store["environ"], DOCKER_HOST="tcp://env:2375"))
    assert (named.host, named.source) == ("tcp://env:2375", "docker_host, from DOCKER_HOST")
    assert endpoint(params(docker_context="default"), store["environ"]).source == (
        "Docker context 'default', from docker_context"
    )


def test_an_unknown_current_context_is_named_with_what_named_it(store):
    set_current(store["config"], "gone")
    with pytest.raises(BadInput, match=r"Docker context 'gone' \(currentContext in .*config.json\) is not in"):
        endpoint(params(), store["environ"])


# TLS ------------------------------------------------------------------------------------------------------------


def test_a_context_s_tls_material_is_used_and_the_options_still_win(store):
    prod = endpoint(params(docker_context="prod"), store["environ"]).tls
    tls_dir = store["prod_tls"]
    assert (prod.verify, prod.ca, prod.cert, prod.key) == (
        True, f"{tls_dir}/ca.pem", f"{tls_dir}/cert.pem", f"{tls_dir}/key.pem")  # fmt: skip
    assert set(prod.origin.values()) == {"Docker context 'prod'"}
    given = endpoint(params(docker_context="prod", ca_path="/etc/tls/ca.pem", validate_certs=False),
                     store["environ"]).tls  # fmt: skip
    assert (given.verify, given.ca, given.origin["ca"], given.cert) == (False, "/etc/tls/ca.pem", "ca_path",
                                                                        f"{tls_dir}/cert.pem")  # fmt: skip


def test_a_context_that_skips_verification_is_tls_without_verification(store):
    lab = endpoint(params(docker_context="lab"), store["environ"]).tls
    assert (lab.verify, lab.ca, lab.cert) == (False, None, None)
    assert lab.origin["verify"] == "Docker context 'lab' skips verification"


@pytest.mark.parametrize(("given", "environ", "why"), [
    ({"validate_certs": False, "tls": True}, {}, "validate_certs is false"),
    ({"tls": True}, {}, "tls is true without validate_certs"),
    ({}, {"DOCKER_TLS": "1"}, "DOCKER_TLS without DOCKER_TLS_VERIFY"),
])  # fmt: skip
def test_why_a_certificate_is_not_verified_is_said(config, given, environ, why):
    tls = endpoint(params(docker_host="tcp://10.0.0.5:2376", **given), dict(environ, DOCKER_CONFIG=config)).tls
    assert tls.verify is False and tls.origin["verify"] == why
    assert "verify" not in endpoint(params(docker_host="tcp://10.0.0.5:2376", validate_certs=True),
                                    {"DOCKER_CONFIG": config}).tls.origin  # fmt: skip


def test_docker_tls_variables_do_not_apply_to_a_context(store):
    environ = dict(store["environ"], DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH="/nowhere")
    assert endpoint(params(docker_context="local"), environ).tls is None
    assert endpoint(params(docker_context="lab"), environ).tls.verify is False


@pytest.mark.parametrize("value", ["1", "0", "false", "no"])
def test_docker_tls_verify_set_to_anything_means_verify(config, value):
    tls = endpoint(params(docker_host="tcp://10.0.0.5:2376"), {"DOCKER_CONFIG": config, "DOCKER_TLS_VERIFY": value}).tls
    assert tls is not None and tls.verify is True


def test_docker_tls_verify_empty_is_unset_and_docker_tls_is_tls_without_verification(config):
    environ = {"DOCKER_CONFIG": config, "DOCKER_TLS_VERIFY": ""}
    assert endpoint(params(docker_host="tcp://10.0.0.5:2376"), environ).tls is None
    tls = endpoint(params(docker_host="tcp://10.0.0.5:2376"), dict(environ, DOCKER_TLS="1")).tls
    assert tls is not None and tls.verify is False
    assert endpoint(params(docker_host="tcp://10.0.0.5:2376", tls=False), dict(environ, DOCKER_TLS="1")).tls is None


def test_the_options_win_over_the_docker_tls_variables(config):
    environ = {"DOCKER_CONFIG": config, "DOCKER_TLS_VERIFY": "1"}
    tls = endpoint(params(docker_host="tcp://10.0.0.5:2376", validate_certs=False), environ).tls
    assert tls is not None and tls.verify is False


def write(directory, *names):
    os.makedirs(directory, exist_ok=True)
    for name in names:
        with open(os.path.join(directory, name), "w") as handle:
            handle.write("pem\n")


def test_the_files_come_from_docker_cert_path_where_they_exist(config, tmp_path):
    certs = str(tmp_path / "certs")
    write(certs, "ca.pem", "cert.pem", "key.pem")
    environ = {"DOCKER_CONFIG": config, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certs}
    tls = endpoint(params(docker_host="tcp://10.0.0.5:2376"), environ).tls
    assert (tls.ca, tls.cert, tls.key) == (f"{certs}/ca.pem", f"{certs}/cert.pem", f"{certs}/key.pem")
    assert tls.origin["ca"] == f"DOCKER_CERT_PATH {certs}"
    given = endpoint(params(docker_host="tcp://10.0.0.5:2376", client_cert="/c.pem", client_key="/k.pem"), environ).tls
    assert (given.ca, given.cert, given.key, given.origin["cert"]) == (f"{certs}/ca.pem", "/c.pem", "/k.pem",
                                                                      "client_cert")  # fmt: skip


def test_without_docker_cert_path_the_files_come_from_the_configuration_directory(config):
    write(config, "ca.pem", "cert.pem")  # a certificate without its key is not used
    tls = endpoint(params(docker_host="tcp://10.0.0.5:2376"), {"DOCKER_CONFIG": config, "DOCKER_TLS_VERIFY": "1"}).tls
    assert (tls.ca, tls.cert, tls.key) == (f"{config}/ca.pem", None, None)
    assert tls.origin["ca"] == f"{config}, as DOCKER_CERT_PATH is unset"


def test_a_socket_or_ssh_never_gets_tls_from_the_variables(config):
    environ = {"DOCKER_CONFIG": config, "DOCKER_TLS_VERIFY": "1"}
    assert endpoint(params(docker_host="unix:///run/docker.sock"), environ).tls is None
    assert endpoint(params(docker_host="ssh://ops@web-3"), environ).tls is None


def test_an_https_host_is_tls(config):
    tls = endpoint(params(docker_host="https://10.0.0.5:2376"), {"DOCKER_CONFIG": config}).tls
    assert tls is not None and tls.verify is False


def test_the_connection_fragment_and_spec_document_docker_context():
    docker = yaml.safe_load(ModuleDocFragment.DOCKER)["options"]
    assert docker["docker_context"]["type"] == "str" and "default" not in docker["docker_host"]
    assert CONNECTION_SPEC["docker_context"] == {"type": "str"} and "default" not in CONNECTION_SPEC["docker_host"]
