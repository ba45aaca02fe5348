"""Every module's EXAMPLES runs as written.

Each module's EXAMPLES block is read from its source (not imported) and written, unchanged, to a task file
that a play on localhost imports; a last task writes what the examples registered. Before the run, the
containers and networks the examples name are created on the real engine (``containerops/busybox:test``)
in the state the examples expect; the examples that say ``backend: hoody`` reach the Hoody test server
through the environment (``HOODY_API_URL``, ``HOODY_TOKEN``), as a user's would. After the run every
example task must have run (none skipped, none failed) and the engine must show what the examples did.

Examples name containers as a user would (``web-1``, ``db``, ``app``); this test labels everything it
creates ``containerops.test=examples`` and refuses to touch a container or network of the same name that it
did not create. Examples that select by filters scope the selection to containers of their own (a Compose
project, a name pattern), so copied as written they act on nothing else: the engine also holds look-alike
containers (``lookalikes.py``: labelled ``tier=web``, ``tier=batch``, ``app=api``; running, paused, never
started), and after each module's examples they must be exactly as they were and named in no result.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import time
from typing import Any, Callable

import docker
import pytest
import requests
import yaml

from tests.integration.conftest import HOODY_TOKEN, named, remove, run_playbook

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES_DIR = os.path.join(ROOT, "plugins", "modules")
OURS = {"containerops.test": "examples"}
# The Hoody id the examples use for a container on the platform.
HOODY_ID = "65f0c0ffee0123456789abcd"
HEALTHCHECK = {"test": ["CMD", "true"], "interval": 500_000_000, "timeout": 1_000_000_000, "retries": 1,
               "start_period": 0}
LIFECYCLE_MODULE = re.compile(r"^containerops\.lifecycle\.(\w+)$")

PLAY = """
- name: The EXAMPLES of {module}, as written
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Examples
      ansible.builtin.import_tasks: {examples}

    - name: What the examples registered
      ansible.builtin.copy:
        content: "{{{{ {registered} | to_json }}}}"
        dest: {result_file}
        mode: "0600"
      check_mode: false
"""


def module_names() -> list[str]:
    return sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and name != "__init__.py")


def examples_of(module: str) -> str:
    """The EXAMPLES string of ``plugins/modules/<module>.py``, read from its source."""
    with open(os.path.join(MODULES_DIR, f"{module}.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXAMPLES" for t in node.targets):
            return node.value.value
    raise AssertionError(f"plugins/modules/{module}.py has no EXAMPLES")


def example_tasks(text: str) -> list[dict[str, Any]]:
    tasks = yaml.safe_load(text)
    assert isinstance(tasks, list) and all(isinstance(task, dict) for task in tasks), "EXAMPLES is not a task list"
    return tasks


def module_args(task: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(short module name, its arguments) of a task calling one of this collection's modules, else ('', {})."""
    for key, value in task.items():
        match = LIFECYCLE_MODULE.match(key)
        if match:
            return match.group(1), value or {}
    return "", {}


def docker_names(tasks: list[dict[str, Any]]) -> set[str]:
    """The container names the Docker-backend examples use."""
    names: set[str] = set()
    for task in tasks:
        _module, args = module_args(task)
        if args and args.get("backend", "docker") == "docker":
            name = args.get("name")
            names.update([name] if isinstance(name, str) else name or [])
    return names


class Engine:
    """What this test creates on the real engine, labelled as ours; foreign objects are never touched."""

    def __init__(self, client: docker.DockerClient, make_containers: Callable[..., list[str]]):
        self.client = client
        self.make = make_containers
        self.networks: list[str] = []
        self.names: set[str] = set()

    def refuse_foreign(self, name: str) -> None:
        container = named(self.client, name)
        if container is not None and container.labels.get("containerops.test") != "examples":
            pytest.fail(f"a container named {name!r} exists that this test did not create; the examples "
                        "act on that name, so the test leaves it alone and stops here")

    def container(self, name: str, *, status: str = "running", labels: dict[str, str] | None = None,
                  **kwargs: Any) -> Any:
        """A container named ``name`` in ``status`` (running, stopped or paused)."""
        self.refuse_foreign(name)
        self.make(name, labels={**OURS, **(labels or {})}, **kwargs)
        self.names.add(name)
        container = self.client.containers.get(name)
        if status in ("running", "paused"):
            container.start()
        if status == "paused":
            container.pause()
        return container

    def network(self, name: str) -> Any:
        for network in self.client.networks.list(names=[name]):
            if network.name == name and (network.attrs.get("Labels") or {}).get("containerops.test") != "examples":
                pytest.fail(f"a network named {name!r} exists that this test did not create: not touching it")
            network.remove()
        self.networks.append(name)
        return self.client.networks.create(name, driver="bridge", labels=OURS)

    def close(self) -> None:
        for name in self.networks:
            for network in self.client.networks.list(names=[name]):
                if (network.attrs.get("Labels") or {}).get("containerops.test") == "examples":
                    with contextlib.suppress(docker.errors.APIError):
                        network.reload()
                        for container in network.containers:
                            network.disconnect(container, force=True)
                        network.remove()


@pytest.fixture
def examples_engine(engine, make_containers):
    created = Engine(engine, make_containers)
    yield created
    for name in created.names:  # before make_containers' teardown: they hold the networks
        remove(named(engine, name))
    created.close()
    for image in engine.images.list(filters={"label": "containerops.snapshot.container=app"}):
        with contextlib.suppress(docker.errors.APIError):
            engine.images.remove(image.id, force=True)


def run_examples(tmp_path, module: str, hoody_url: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Run ``module``'s EXAMPLES as written; assert each task ran; return (process, registered results)."""
    text = examples_of(module)
    tasks = example_tasks(text)
    examples = tmp_path / f"{module}-examples.yml"
    examples.write_text(text)  # verbatim
    registered = sorted({task["register"] for task in tasks if "register" in task})
    result_file = tmp_path / f"{module}-registered.json"
    play = tmp_path / f"{module}-play.yml"
    play.write_text(PLAY.format(
        module=module, examples=json.dumps(str(examples)), result_file=json.dumps(str(result_file)),
        registered="{" + ", ".join(f"'{name}': {name}" for name in registered) + "}",
    ))
    environment = {"HOODY_API_URL": hoody_url, "HOODY_TOKEN": HOODY_TOKEN} if hoody_url else {}
    with _environment(environment):
        process = run_playbook(str(play), {})
    output = process.stdout + process.stderr
    assert process.returncode == 0, f"the EXAMPLES of {module} failed as written:\n{output[-6000:]}"
    for task in tasks:
        name = task.get("name")
        assert name, f"an example of {module} has no name: {task}"
        found = re.search(rf"TASK \[{re.escape(name)}\][^\n]*\n(.*?)(?=\nTASK \[|\nPLAY RECAP)", process.stdout, re.S)
        assert found, f"example {name!r} of {module} did not run:\n{process.stdout[-4000:]}"
        assert re.search(r"^(ok|changed): \[localhost\]", found.group(1), re.M), \
            f"example {name!r} of {module} was not ok or changed:\n{found.group(0)}"
    return process, json.loads(result_file.read_text())


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def hoody_get(server, path: str) -> Any:
    response = requests.get(f"{server.url}/api/v1/{path}", headers={"Authorization": f"Bearer {HOODY_TOKEN}"},
                            timeout=30)
    response.raise_for_status()
    return response.json()["data"]


def wait_for(predicate: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


# ------------------------------------------------------------------ one setup and check per module
# The Compose project the examples' filters select.
SHOP = {"com.docker.compose.project": "shop"}


def prepare_container_state(engine: Engine, hoody) -> None:
    engine.container("web-1")
    engine.container("ex-batch-1", labels={**SHOP, "tier": "batch"})
    engine.container("ex-batch-2", labels={**SHOP, "tier": "batch"}, status="paused")
    engine.container("api-1", healthcheck=HEALTHCHECK)
    engine.container("api-2")
    engine.container("scratch", status="paused")


def check_container_state(engine: Engine, results: dict[str, Any], hoody) -> None:
    client = engine.client
    assert client.containers.get("web-1").status == "exited"
    assert [client.containers.get(n).status for n in ("ex-batch-1", "ex-batch-2")] == ["exited", "exited"]
    assert {entry["name"] for entry in results["stopped"]["containers"]} == {"api-1", "api-2"}
    assert client.containers.get("api-2").status == "exited"
    api_1 = client.containers.get("api-1")
    assert api_1.status == "running" and api_1.attrs["State"]["Health"]["Status"] == "healthy"
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("scratch")


def prepare_container_info(engine: Engine, hoody) -> None:
    engine.container("db")
    engine.container("ex-paused", labels=SHOP, status="paused")


def check_container_info(engine: Engine, results: dict[str, Any], hoody) -> None:
    assert results["db"]["container"]["status"] == "running"
    paused = {entry["name"]: entry for entry in results["paused"]["containers"]}
    assert "ex-paused" in paused and paused["ex-paused"]["status"] == "paused"
    assert "db" not in paused


def prepare_container_status_logs(engine: Engine, hoody) -> None:
    api_1 = engine.container("api-1")
    for _ in range(2):
        api_1.stop(timeout=5)
        api_1.start()
    api_1.stop(timeout=5)


def check_container_status_logs(engine: Engine, results: dict[str, Any], hoody) -> None:
    assert results["history"]["logs"], results["history"]
    stops = results["stops"]["logs"]
    # Its creation (from nothing to stopped), then the three stops made before the run, oldest first.
    transitions = [(log["from_status"], log["to_status"]) for log in stops]
    assert transitions == [(None, "stopped")] + [("running", "stopped")] * 3, stops
    assert [log["transition_time"] for log in stops] == sorted(log["transition_time"] for log in stops)
    assert results["stops"]["stats"]["stop"]["count"] == 3


def prepare_container_config(engine: Engine, hoody) -> None:
    engine.container("worker")
    engine.container("ex-api-1", labels={**SHOP, "app": "api"})
    engine.container("ex-api-2", labels={**SHOP, "app": "api"}, status="stopped")
    engine.container("ex-hoody-shop", labels={"hoody.id": HOODY_ID}, status="running")


def check_container_config(engine: Engine, results: dict[str, Any], hoody) -> None:
    client = engine.client
    worker = client.containers.get("worker").attrs["HostConfig"]
    assert worker["RestartPolicy"]["Name"] == "unless-stopped"
    assert worker["Memory"] == 512 * 1024 * 1024 and worker["NanoCpus"] == 1_500_000_000
    assert results["preview"]["changed"] is True  # autostart: false, in check mode: nothing changed
    for name in ("ex-api-1", "ex-api-2"):
        assert client.containers.get(name).attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert hoody_get(hoody, f"containers/{HOODY_ID}/env")["environment_vars"].get("LOG_LEVEL") == "debug"
    assert results["configured"]["changed"] is True


def prepare_container_snapshot(engine: Engine, hoody) -> None:
    app = engine.container("app")
    assert app.exec_run(["sh", "-c", "echo v1 > /release"]).exit_code == 0


def check_container_snapshot(engine: Engine, results: dict[str, Any], hoody) -> None:
    client = engine.client
    app = client.containers.get("app")
    assert app.status == "running"
    # Restored: the file written before the snapshot is back in the recreated container.
    assert app.exec_run(["cat", "/release"]).output.strip() == b"v1"
    # Dropped: no snapshot tag left (the restored container still runs from the image, so Docker keeps it untagged).
    snapshots = client.images.list(filters={"label": "containerops.snapshot.container=app"})
    assert [image.tags for image in snapshots if image.tags] == [], "the snapshot was not dropped"


def prepare_container_alias(engine: Engine, hoody) -> None:
    engine.network("app")
    engine.container("web-green", network="app")
    maintenance = engine.container("ex-maintenance", status="stopped")
    engine.client.networks.get("app").connect(maintenance, aliases=["maintenance"])
    maintenance.start()
    engine.container("ex-hoody-shop", labels={"hoody.id": HOODY_ID})


def _aliases(client: docker.DockerClient, name: str, network: str) -> list[str]:
    settings = client.containers.get(name).attrs["NetworkSettings"]["Networks"].get(network) or {}
    return settings.get("Aliases") or []


def check_container_alias(engine: Engine, results: dict[str, Any], hoody) -> None:
    client = engine.client
    assert "web" in _aliases(client, "web-green", "app")
    assert "maintenance" not in _aliases(client, "ex-maintenance", "app")
    aliases = hoody_get(hoody, f"proxy/aliases?container_id={HOODY_ID}")["aliases"]
    assert [alias["alias"] for alias in aliases] == ["shop"], aliases


SETUPS = {
    "container_alias": (prepare_container_alias, check_container_alias),
    "container_config": (prepare_container_config, check_container_config),
    "container_info": (prepare_container_info, check_container_info),
    "container_snapshot": (prepare_container_snapshot, check_container_snapshot),
    "container_state": (prepare_container_state, check_container_state),
    "container_status_logs": (prepare_container_status_logs, check_container_status_logs),
}


def test_every_module_has_runnable_examples():
    """A new module needs examples, and a setup here that lets them run."""
    modules = module_names()
    assert modules
    assert sorted(SETUPS) == modules, "add a prepare/check pair for each module to SETUPS in this file"
    for module in modules:
        assert example_tasks(examples_of(module)), f"{module} has no examples"


@pytest.mark.parametrize("module", module_names())
def test_examples_run_as_written(module, tmp_path, examples_engine, hoody_server, look_alikes):
    if module not in SETUPS:
        pytest.fail(f"no setup for the examples of {module}: add one to SETUPS")
    prepare, check = SETUPS[module]
    tasks = example_tasks(examples_of(module))
    names = docker_names(tasks)
    look_alikes_before = look_alikes.states()
    prepare(examples_engine, hoody_server)
    assert names <= examples_engine.names, f"the examples of {module} name containers the setup lacks: " \
        f"{sorted(names - examples_engine.names)}"
    uses_hoody = any(module_args(task)[1].get("backend") == "hoody" for task in tasks)
    _process, results = run_examples(tmp_path, module, hoody_server.url if uses_hoody else None)
    check(examples_engine, results, hoody_server)
    assert look_alikes.states() == look_alikes_before, f"the EXAMPLES of {module} changed containers they did " \
        "not create (status, StartedAt, FinishedAt): scope their filters to containers of their own"
    assert look_alikes.named_in(json.dumps(results)) == [], \
        f"the EXAMPLES of {module} selected containers they did not create: scope their filters"
