"""The AWX credential types keep secrets out of environment variables and inject only the modules' own options."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.containerops.lifecycle.plugins.doc_fragments.connection import ModuleDocFragment

TYPES = sorted((Path(__file__).resolve().parents[4] / "extensions" / "awx" / "credential_types").glob("*.yml"))
CONNECTION_OPTIONS = {
    name: spec
    for fragment in (ModuleDocFragment.DOCUMENTATION, ModuleDocFragment.DOCKER, ModuleDocFragment.REST)
    for name, spec in yaml.safe_load(fragment)["options"].items()
}


def templates(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [text for value in node.values() for text in templates(value)]
    return [node]


def used_inputs(text: str) -> set[str]:
    return {name for expression in re.findall(r"{{(.*?)}}", text) for name in re.findall(r"[a-z_]+", expression)}


@pytest.fixture(params=TYPES, ids=lambda path: path.stem)
def kind(request) -> dict[str, Any]:
    return yaml.safe_load(request.param.read_text())


def test_there_is_one_per_secret_bearing_backend():
    assert [path.stem for path in TYPES] == ["docker_tls", "dockhand", "hoody"]


def test_nothing_goes_through_environment_variables(kind):
    """ansible-runner writes a job's whole environment into artifacts/<id>/command."""
    assert set(kind["injectors"]) <= {"extra_vars", "file"}, kind["injectors"]


def test_it_injects_only_containerops_connection_made_of_the_modules_connection_options(kind):
    connection = kind["injectors"]["extra_vars"]["containerops_connection"]
    assert list(kind["injectors"]["extra_vars"]) == ["containerops_connection"]
    assert set(connection) <= set(CONNECTION_OPTIONS), set(connection) - set(CONNECTION_OPTIONS)
    assert connection["backend"] in CONNECTION_OPTIONS["backend"]["choices"]


def test_every_input_is_used_and_every_used_name_is_an_input(kind):
    fields = {field["id"] for field in kind["inputs"]["fields"]}
    used = set().union(*(used_inputs(text) for text in templates(kind["injectors"])))
    assert fields <= used, fields - used
    assert used - fields <= {"tower", "filename", "ca", "cert", "key", "if", "else"}, used - fields
    assert set(kind["inputs"]["required"]) <= fields


# The connection options that carry a secret, and the file templates that do (a client key).
SECRET_OPTIONS = {"api_token", "api_password"}
SECRET_FILES = {"template.key"}


def test_every_input_a_secret_is_made_of_is_marked_secret(kind):
    """AWX encrypts and hides only the inputs marked ``secret``."""
    secrets = {field["id"] for field in kind["inputs"]["fields"] if field.get("secret")}
    injected = kind["injectors"]["extra_vars"]["containerops_connection"]
    made_of = [injected[option] for option in SECRET_OPTIONS & set(injected)]
    made_of += [template for name, template in kind["injectors"].get("file", {}).items() if name in SECRET_FILES]
    for template in made_of:
        assert used_inputs(template) <= secrets, template
