"""The Automation Platform / AWX credential types (``extensions/awx/credential_types/``) as a job uses them.

Each type's injectors are rendered as AWX renders them (Jinja in a sandbox over the credential's inputs; file
templates first, their paths as ``tower.filename``), into a private data directory laid out as AWX lays it out
(``env/extravars`` marked unsafe, the files beside it, a Machine credential's key in ``env/ssh_key``). The
playbook runs through ansible-runner with process isolation off, as a job's does, against real engines; then
every artifact and the output are searched for every secret of the credential.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import ansible_runner
import jinja2.sandbox
import yaml

from tests.integration.conftest import DOCKHAND_PASSWORD, DOCKHAND_USER, HOODY_TOKEN
from tests.integration.sshd import ssh_hosts  # noqa: F401 (a fixture)
from tests.integration.test_tls import pki, tls_engine  # noqa: F401 (fixtures)

TYPES = Path(__file__).resolve().parents[2] / "extensions" / "awx" / "credential_types"

# The job's playbook: the modules under the group module_defaults of the injected containerops_connection, as the
# collection's playbooks take it; each result written to result_file.
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/containerops.lifecycle.lifecycle: "{{ containerops_connection }}"
  tasks:
    - containerops.lifecycle.container_state:
        name: "{{ target }}"
        state: started
      register: started
    - containerops.lifecycle.container_info:
        name: "{{ target }}"
      register: info
    - ansible.builtin.copy:
        content: "{{ {'started': started, 'info': info} | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""


class Unsafe(str):
    """A string AWX writes as ``!unsafe``: Ansible never templates a credential's values."""


yaml.SafeDumper.add_representer(Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value)))


def credential_type(name: str) -> dict[str, Any]:
    return yaml.safe_load((TYPES / f"{name}.yml").read_text())


def inject(kind: dict[str, Any], inputs: dict[str, Any], private: Path) -> dict[str, Any]:
    """The extra variables ``kind``'s injectors give for ``inputs``, its files written under ``private/env``."""
    sandbox = jinja2.sandbox.SandboxedEnvironment()
    (private / "env").mkdir(parents=True, exist_ok=True)
    namespace = {field["id"]: inputs.get(field["id"], field.get("default", "")) for field in kind["inputs"]["fields"]}
    filenames = {}
    for key, template in kind["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=private / "env")
        with os.fdopen(handle, "w") as file:
            file.write(sandbox.from_string(template).render(**namespace))
        filenames[key.removeprefix("template.")] = path
    namespace["tower"] = {"filename": filenames}

    def render(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: render(value) for key, value in node.items()}
        return Unsafe(sandbox.from_string(node).render(**namespace))

    return {name: render(value) for name, value in kind["injectors"].get("extra_vars", {}).items()}


def run_job(
    tmp_path: Path,
    extra_vars: dict[str, Any],
    target: str,
    env: dict[str, str] | None = None,
    ssh_key: str | None = None,
    injected_env: dict[str, str] | None = None,
) -> tuple[Any, dict, Path]:
    """Run PLAYBOOK through ansible-runner as a job; its result, the registered results and its private dir."""
    private = tmp_path / "job"
    (private / "env").mkdir(parents=True, exist_ok=True)
    (private / "project").mkdir(exist_ok=True)
    (private / "project" / "job.yml").write_text(PLAYBOOK)
    result_file = tmp_path / "result.json"
    variables = dict(extra_vars, target=target, result_file=str(result_file))
    (private / "env" / "extravars").write_text(yaml.safe_dump(variables))
    if ssh_key:
        (private / "env" / "ssh_key").write_text(Path(ssh_key).read_text())
    environment = {name: os.environ[name] for name in ("PATH", "ANSIBLE_COLLECTIONS_PATH", "DOCKER_HOST", "HOME")
                   if name in os.environ}  # fmt: skip
    environment.update(env or {}, **(injected_env or {}))
    if "ANSIBLE_PYTHON_INTERPRETER" in os.environ:
        environment["ANSIBLE_PYTHON_INTERPRETER"] = os.environ["ANSIBLE_PYTHON_INTERPRETER"]
    (private / "env" / "envvars").write_text(yaml.safe_dump(environment))
    runner = ansible_runner.run(private_data_dir=str(private), playbook="job.yml", process_isolation=False,
                                quiet=True, inventory="localhost ansible_connection=local")  # fmt: skip
    results = json.loads(result_file.read_text()) if result_file.exists() else {}
    return runner, results, private


def leaked(private: Path, secrets: list[str]) -> list[str]:
    """Where any of ``secrets`` is written among the job's artifacts (ansible-runner's ``artifacts/``)."""
    found = []
    for path in sorted((private / "artifacts").rglob("*")):
        if path.is_file():
            text = path.read_text(errors="replace")
            found += [f"{path.relative_to(private)}: {secret[:6]}…" for secret in secrets if secret in text]
    return found


def succeeded(runner: Any, results: dict[str, Any]) -> None:
    assert runner.status == "successful" and results, runner.stdout.read()[-4000:]
    assert not results["started"].get("failed") and not results["info"].get("failed"), results
    assert results["info"]["containers"][0]["status"] == "running", results


def test_hoody_token_reaches_the_modules_and_no_artifact(hoody_server, make_containers, tmp_path):
    make_containers("awx-hoody")
    extra_vars = inject(credential_type("hoody"), {"api_url": hoody_server.url, "api_token": HOODY_TOKEN},
                        tmp_path / "job")  # fmt: skip
    runner, results, job = run_job(tmp_path, extra_vars, "awx-hoody")
    succeeded(runner, results)
    assert leaked(job, [HOODY_TOKEN]) == []


def test_the_same_token_injected_as_an_environment_variable_lands_in_the_artifacts(
    hoody_server, make_containers, tmp_path
):
    """Why the types inject no environment variable: ansible-runner writes the job's environment into
    ``artifacts/<id>/command`` whatever its settings say. This is the check above failing when that is done."""
    make_containers("awx-hoody-env")
    connection = {"backend": "hoody", "api_url": hoody_server.url}
    runner, results, job = run_job(tmp_path, {"containerops_connection": connection}, "awx-hoody-env",
                                   injected_env={"HOODY_TOKEN": HOODY_TOKEN})  # fmt: skip
    succeeded(runner, results)
    assert any(where.startswith("artifacts/") and "/command:" in where for where in leaked(job, [HOODY_TOKEN]))


def test_dockhand_login_reaches_the_modules_and_no_artifact(dockhand_server, make_containers, tmp_path):
    make_containers("awx-dockhand")
    inputs = {"api_url": dockhand_server.url, "api_environment": "1", "api_username": DOCKHAND_USER,
              "api_password": DOCKHAND_PASSWORD}  # fmt: skip
    runner, results, job = run_job(tmp_path, inject(credential_type("dockhand"), inputs, tmp_path / "job"),
                                   "awx-dockhand")  # fmt: skip
    succeeded(runner, results)
    assert leaked(job, [DOCKHAND_PASSWORD]) == []


def test_docker_over_mutual_tls_reaches_the_engine_and_no_artifact_holds_the_key(tls_engine, pki, tmp_path):  # noqa: F811
    inputs = {
        "docker_host": tls_engine.url,
        "ca_certificate": Path(pki.ca.cert).read_text(),
        "client_certificate": Path(pki.client.cert).read_text(),
        "client_key": Path(pki.client.key).read_text(),
    }
    key_body = "".join(inputs["client_key"].splitlines()[1:3])  # a stretch of the key, whatever the line breaks
    runner, results, job = run_job(
        tmp_path,
        inject(credential_type("docker_tls"), inputs, tmp_path / "job"),
        "hh-tls-web",
        env={"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"},
    )
    succeeded(runner, results)
    assert leaked(job, [key_body, inputs["client_key"].splitlines()[1]]) == []
    tls_engine.private.client.stop("hh-tls-web", timeout=1)


def test_docker_over_ssh_with_a_machine_credentials_key_in_the_jobs_agent(ssh_hosts, make_containers, tmp_path):  # noqa: F811
    """No type of ours: the Machine credential's key goes to the job's ssh-agent (ansible-runner's ``ssh_key``),
    the docker_host to the template's extra variables; the system ssh the modules run takes the key from the agent."""
    make_containers("awx-ssh")
    key = Path(ssh_hosts.client_key).read_text()
    runner, results, job = run_job(tmp_path, {"containerops_connection": {"docker_host": ssh_hosts.agent}},
                                   "awx-ssh", env=ssh_hosts.env, ssh_key=ssh_hosts.client_key)  # fmt: skip
    succeeded(runner, results)
    assert leaked(job, [key.splitlines()[1]]) == []


def test_without_the_machine_credential_the_ssh_job_is_refused_authentication(ssh_hosts, make_containers, tmp_path):  # noqa: F811
    """The agent is what carries the key: the same job without ``ssh_key`` fails, saying why."""
    make_containers("awx-ssh-nokey")
    runner, results, _ = run_job(tmp_path, {"containerops_connection": {"docker_host": ssh_hosts.agent}},
                                 "awx-ssh-nokey", env=ssh_hosts.env)  # fmt: skip
    assert runner.status == "failed" and not results
    assert "authentication was refused" in runner.stdout.read()
