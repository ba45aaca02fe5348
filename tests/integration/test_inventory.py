"""The containers inventory plugin and playbooks/fleet.yml on real engines, through real ansible-inventory and
ansible-playbook.

Engines: the main Docker engine (``local``), a private second dockerd (``second``, ``private_engine.py``), the
Hoody test server and the Dockhand test server (both on 127.0.0.1, on top of the main engine), and the suite's Podman
service. Containers are ``inv-`` and ``fleet-`` (and ``shop-``, the names of the plugin's EXAMPLES); every one is
removed afterwards, on every engine.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shlex
import subprocess
from datetime import datetime
from typing import Any, Iterator, Optional

import docker
import pytest
import yaml

from tests.integration.conftest import (
    DOCKHAND_PASSWORD,
    DOCKHAND_USER,
    GRACEFUL,
    HOODY_TOKEN,
    IMAGE,
    PROJECT,
    podman_connection,
    recap,
    run_playbook,
)
from tests.integration.private_engine import PrivateEngine, private_engine_fixture  # noqa: F401 - the fixture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLEET = os.path.join(ROOT, "playbooks", "fleet.yml")
# A process that ignores SIGTERM: a graceful stop takes its whole stop_timeout.
DEAF = ["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"]
OTHER_PROJECT = "0f0f0f0f0f0f0f0f0f0f0f0f"
URL_PASSWORD = "urlpw-inventory-secret"
DOCKHAND_TOKEN = "dh_inventory_unreachable_secret"
# The main engine's address: the test suite's own engine under `make test`, whose address is in DOCKER_HOST.
MAIN_HOST = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def ansible_inventory(source: str, *args: str, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run(["ansible-inventory", "-i", source, *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))  # fmt: skip


def plain(text: str) -> dict[str, Any]:
    """JSON from ansible-inventory, with the values ansible-core 2.19 marks untrusted read as plain values."""
    return json.loads(text, object_hook=lambda d: d["__ansible_unsafe"] if set(d) == {"__ansible_unsafe"} else d)


def listing(process: subprocess.CompletedProcess) -> dict[str, Any]:
    """``ansible-inventory --list`` as data."""
    assert process.returncode == 0, process.stderr[-3000:]
    return plain(process.stdout)


def graph(process: subprocess.CompletedProcess) -> dict[str, set[str]]:
    """``ansible-inventory --graph`` as {group: its hosts}."""
    assert process.returncode == 0, process.stderr[-3000:]
    groups: dict[str, set[str]] = {}
    parents: list[str] = []
    for line in process.stdout.splitlines():
        depth = line.find("|--") // 3 + 1 if "|--" in line else 0
        entry = line.split("|--")[-1].strip()
        parents = parents[:depth]
        if entry.startswith("@"):
            parents.append(entry[1:].rstrip(":"))
            groups.setdefault(parents[-1], set())
        else:
            groups[parents[-1]].add(entry)
    return groups


def write_config(tmp_path, config: dict[str, Any], name: str = "fleet.containers.yml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


@pytest.fixture
def second(private_engine: PrivateEngine) -> Iterator[PrivateEngine]:
    """The private engine, answering; its ``inv-`` and ``fleet-`` containers removed afterwards."""
    private_engine.ensure_running()
    yield private_engine
    private_engine.remove_containers("inv-")
    private_engine.remove_containers("fleet-")


@pytest.fixture
def on_main(engine) -> Iterator:
    """Create and start containers on the main engine (no hoody.project label unless given); removed afterwards."""
    created: list[str] = []

    def run(name: str, labels: dict[str, str], command: Optional[list[str]] = None, start: bool = True) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            engine.containers.get(name).remove(force=True)
        container = engine.containers.create(IMAGE, command or GRACEFUL, name=name, labels=labels)
        created.append(name)
        if start:
            container.start()

    yield run
    for name in created:
        with contextlib.suppress(docker.errors.NotFound):
            engine.containers.get(name).remove(force=True)


def on_engine(private: PrivateEngine, name: str, labels: dict[str, str], command: Optional[list[str]] = None,
              status: str = "running") -> None:
    """A container on the private engine, left ``running``, ``paused`` or ``created``."""
    client = private.client
    with contextlib.suppress(docker.errors.NotFound):
        client.remove_container(name, force=True)
    client.create_container(IMAGE, command or GRACEFUL, name=name, labels=labels,
                            host_config=client.create_host_config(network_mode="none"))  # fmt: skip
    if status != "created":
        client.start(name)
    if status == "paused":
        client.pause(name)


def finished_at(client: docker.APIClient, name: str) -> datetime:
    return datetime.fromisoformat(client.inspect_container(name)["State"]["FinishedAt"][:26].rstrip("Z"))


def test_graph_of_two_docker_engines_and_hoody_by_status_engine_and_label(tmp_path, on_main, second, hoody_server):
    on_main("inv-web-1", {"tier": "web"})
    on_main("inv-batch-1", {"tier": "batch"})
    on_main("inv-batch-2", {"tier": "batch"}, start=False)
    on_main("inv-h-job", {"hoody.project": PROJECT})  # Hoody's; no tier label, so not the Docker engine's
    on_engine(second, "inv-web-1", {"tier": "web"})
    on_engine(second, "inv-batch-3", {"tier": "batch"})
    on_engine(second, "inv-batch-4", {"tier": "batch"}, status="paused")
    source = write_config(tmp_path, {
        "plugin": "containerops.lifecycle.containers",
        "engines": [
            {"name": "local"},
            {"name": "second", "docker_host": second.host},
            {"name": "hoody", "backend": "hoody", "api_url": hoody_server.url, "api_token": HOODY_TOKEN,
             "filters": {"name": "inv-*"}},
        ],
        "filters": {"name": "inv-*", "label": ["tier"]},
        "group_by_labels": ["tier"],
    })  # fmt: skip

    shown = ansible_inventory(source, "--graph")
    print(shown.stdout)
    groups = graph(shown)
    # Three engines configured: every host is <name>@<engine>.
    assert groups["status_running"] == {"inv-web-1@local", "inv-batch-1@local", "inv-web-1@second",
                                        "inv-batch-3@second", "inv-h-job@hoody"}  # fmt: skip
    assert groups["status_stopped"] == {"inv-batch-2@local"}
    assert groups["status_paused"] == {"inv-batch-4@second"}
    assert groups["engine_local"] == {"inv-web-1@local", "inv-batch-1@local", "inv-batch-2@local"}
    assert groups["engine_second"] == {"inv-web-1@second", "inv-batch-3@second", "inv-batch-4@second"}
    assert groups["engine_hoody"] == {"inv-h-job@hoody"}
    assert groups["label_tier_web"] == {"inv-web-1@local", "inv-web-1@second"}
    assert groups["label_tier_batch"] == {"inv-batch-1@local", "inv-batch-2@local", "inv-batch-3@second",
                                          "inv-batch-4@second"}  # fmt: skip
    assert groups[f"project_{PROJECT}"] == {"inv-h-job@hoody"}
    assert "[WARNING]" not in shown.stderr, shown.stderr

    listed = listing(ansible_inventory(source, "--list"))["_meta"]["hostvars"]
    batch = listed["inv-batch-3@second"]
    assert {key: batch[f"containerops_{key}"] for key in ("name", "status", "engine_status", "engine", "image")} == {
        "name": "inv-batch-3", "status": "running", "engine_status": "running", "engine": "second", "image": IMAGE}
    assert batch["containerops_labels"]["tier"] == "batch"
    assert batch["containerops_id"] == second.client.inspect_container("inv-batch-3")["Id"]
    assert batch["containerops_connection"] == {"backend": "docker", "docker_host": second.host, "timeout": 60,
                                                "retries": 3}  # fmt: skip
    job = listed["inv-h-job@hoody"]
    assert job["containerops_connection"] == {"backend": "hoody", "api_url": hoody_server.url, "timeout": 60,
                                              "retries": 3}  # fmt: skip
    assert job["containerops_image"] == IMAGE and len(job["containerops_id"]) == 24


@pytest.mark.podman
def test_podman_engine_beside_docker_in_the_graph_and_the_fleet(tmp_path, engine, on_main, podman_service,
                                                                make_podman_containers):
    """A Podman engine is one more engine: its containers grouped by status, engine and label, its hosts carrying
    ``backend: podman``, and fleet.yml drives them with one task beside the Docker engine's."""
    on_main("fleet-b1", {"tier": "batch"})
    on_main("fleet-web", {"tier": "web"})
    make_podman_containers("fleet-b1", "fleet-b2", labels={"tier": "batch"})
    make_podman_containers("fleet-idle", labels={"tier": "batch"})
    make_podman_containers("fleet-pweb", labels={"tier": "web"})
    podman = podman_service.client
    for name in ("fleet-b1", "fleet-b2", "fleet-pweb"):
        podman.containers.get(name).start()
    podman.containers.get("fleet-pweb").pause()
    source = write_config(tmp_path, {
        "plugin": "containerops.lifecycle.containers",
        "engines": [{"name": "local"}, {"name": "pm", **podman_connection(podman_service)}],
        "filters": {"name": "fleet-*"}, "group_by_labels": ["tier"],
    })  # fmt: skip

    shown = ansible_inventory(source, "--graph")
    groups = graph(shown)
    assert groups["engine_pm"] == {"fleet-b1@pm", "fleet-b2@pm", "fleet-idle@pm", "fleet-pweb@pm"}, shown.stdout
    assert groups["status_running"] == {"fleet-b1@local", "fleet-web@local", "fleet-b1@pm", "fleet-b2@pm"}
    assert groups["status_stopped"] == {"fleet-idle@pm"} and groups["status_paused"] == {"fleet-pweb@pm"}
    assert groups["label_tier_web"] == {"fleet-web@local", "fleet-pweb@pm"}
    assert "[WARNING]" not in shown.stderr, shown.stderr
    listed = listing(ansible_inventory(source, "--list"))["_meta"]["hostvars"]
    batch = listed["fleet-b2@pm"]
    assert batch["containerops_id"] == podman.containers.get("fleet-b2").id
    assert batch["containerops_labels"]["tier"] == "batch" and batch["containerops_status"] == "running"
    assert batch["containerops_connection"] == {**podman_connection(podman_service), "timeout": 60, "retries": 3}

    process = run_playbook(FLEET, {"fleet_state": "stopped", "containerops_hosts": "status_running:&label_tier_batch"},
                           "-i", source)  # fmt: skip
    counters = recap(process)
    assert set(counters) - {"localhost"} == {"fleet-b1@local", "fleet-b1@pm", "fleet-b2@pm"}, process.stdout[-4000:]
    assert re.search(r"pm: stopped fleet-b[12], fleet-b[12] \(2 container", process.stdout), process.stdout[-4000:]
    assert re.search(r"local: stopped fleet-b1 \(1 container", process.stdout), process.stdout[-4000:]
    assert [podman.containers.get(name).status for name in ("fleet-b1", "fleet-b2", "fleet-idle", "fleet-pweb")] == [
        "exited", "exited", "created", "paused"]
    assert [engine.containers.get(name).status for name in ("fleet-b1", "fleet-web")] == ["exited", "running"]


def test_dockhand_secrets_templates_failures_and_the_cache(tmp_path, on_main, hoody_server, dockhand_server):
    on_main("inv-dh-web", {"tier": "web", "inv.note": "{{ 6 * 7 }}", "hoody.project": PROJECT})
    cache_dir = tmp_path / "cache"
    engines = [
        # Password from DOCKHAND_PASSWORD (the modules' environment fallback), token through a template.
        {"name": "dh", "backend": "dockhand", "api_url": dockhand_server.url, "api_username": DOCKHAND_USER,
         "api_environment": 1},
        {"name": "hoody", "backend": "hoody", "api_url": hoody_server.url,
         "api_token": "{{ lookup('ansible.builtin.env', 'INV_HOODY_TOKEN') }}"},
    ]  # fmt: skip
    # DOCKHAND_PASSWORD applies to every Dockhand engine, so this one names its user too.
    unreachable = {"name": "gone", "backend": "dockhand", "api_url": f"http://ops:{URL_PASSWORD}@127.0.0.1:9",
                   "api_token": DOCKHAND_TOKEN, "api_username": "ops", "api_environment": 1, "timeout": 2,
                   "retries": 0}  # fmt: skip
    config = {"plugin": "containerops.lifecycle.containers", "engines": [*engines, unreachable],
              "filters": {"name": "inv-dh-*"}, "group_by_labels": ["tier"],
              "compose": {"note": "containerops_labels['inv.note'] | default('')"},
              "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
              "cache_connection": str(cache_dir)}  # fmt: skip
    env = {"DOCKHAND_PASSWORD": DOCKHAND_PASSWORD, "INV_HOODY_TOKEN": HOODY_TOKEN}
    secrets = (HOODY_TOKEN, DOCKHAND_PASSWORD, URL_PASSWORD, DOCKHAND_TOKEN)

    # One engine cannot be read: a warning naming it, the others listed, no secret anywhere, nothing cached.
    output = tmp_path / "list.json"
    shown = ansible_inventory(write_config(tmp_path, config), "--list", "-vvv", "--output", str(output), env=env)
    assert shown.returncode == 0, shown.stderr[-3000:]
    listed = plain(output.read_text())
    hostvars = listed["_meta"]["hostvars"]
    assert set(hostvars) == {"inv-dh-web@dh", "inv-dh-web@hoody"}
    assert re.search(r"\[WARNING\]: engine 'gone' \(dockhand at http://ops@127\.0\.0\.1:9\) cannot be read",
                     shown.stderr), shown.stderr[-3000:]  # fmt: skip
    assert not [secret for secret in secrets if secret in shown.stdout + shown.stderr + output.read_text()]
    web = hostvars["inv-dh-web@dh"]
    assert web["containerops_labels"]["tier"] == "web" and web["containerops_image"] == IMAGE
    assert web["containerops_connection"] == {"backend": "dockhand", "api_url": dockhand_server.url,
                                              "api_username": DOCKHAND_USER, "api_environment": 1,
                                              "timeout": 60, "retries": 3}  # fmt: skip
    assert web["note"] == "{{ 6 * 7 }}"  # a template in a label is data, never run
    assert listed["label_tier_web"]["hosts"] == ["inv-dh-web@dh"]  # Dockhand's labels; Hoody has none
    assert not cache_dir.exists() or not any(cache_dir.iterdir())

    # strict: the same engine is an error naming it, still without secrets.
    strict = ansible_inventory(write_config(tmp_path, dict(config, strict=True)), "--list",
                               env=dict(env, ANSIBLE_INVENTORY_UNPARSED_FAILED="true"))
    assert strict.returncode != 0
    assert "engine 'gone' (dockhand at http://ops@127.0.0.1:9) cannot be read" in strict.stderr
    assert "inv-dh-web" not in strict.stdout
    assert not [secret for secret in secrets if secret in strict.stdout + strict.stderr]

    # Every engine read: the cache is written (without secrets) and used until --flush-cache.
    source = write_config(tmp_path, dict(config, engines=engines))
    assert ansible_inventory(source, "--list", env=env).returncode == 0
    cached = "".join(path.read_text() for path in cache_dir.iterdir())
    assert "inv-dh-web" in cached and not [secret for secret in secrets if secret in cached]
    on_main("inv-dh-new", {"tier": "web"})  # not Hoody's: only Dockhand lists it
    from_cache = listing(ansible_inventory(source, "--list", env=env))["_meta"]["hostvars"]
    assert set(from_cache) == {"inv-dh-web@dh", "inv-dh-web@hoody"}
    fresh = listing(ansible_inventory(source, "--list", "--flush-cache", env=env))["_meta"]["hostvars"]
    assert set(fresh) == {"inv-dh-web@dh", "inv-dh-web@hoody", "inv-dh-new@dh"}


def test_fleet_playbook_stops_labelled_containers_on_three_engines_in_parallel(tmp_path, monkeypatch, engine,
                                                                                on_main, second, hoody_server):
    on_main("fleet-b1", {"tier": "batch"}, command=DEAF)
    on_main("fleet-web", {"tier": "web"})
    on_main("fleet-h1", {"hoody.project": PROJECT})
    on_main("fleet-h-other", {"hoody.project": OTHER_PROJECT})
    on_engine(second, "fleet-b2", {"tier": "batch"}, command=DEAF)
    on_engine(second, "fleet-web", {"tier": "web"})
    engines = tmp_path / "engines.yml"
    engines.write_text(yaml.safe_dump({"containerops_engines": {
        "vars": {"fleet_filters": {"name": "fleet-*", "label": ["tier=batch"], "status": ["running"]}},
        "hosts": {
            "local": {"containerops_connection": {"docker_host": MAIN_HOST}},
            "second": {"containerops_connection": {"docker_host": second.host}},
            "hoody": {"containerops_connection": {"backend": "hoody", "api_url": hoody_server.url},
                      "fleet_filters": {"project": PROJECT, "name": "fleet-*", "status": ["running"]}},
        },
    }}))  # fmt: skip
    monkeypatch.setenv("HOODY_TOKEN", HOODY_TOKEN)  # the token reaches the modules from the environment
    stop = {"fleet_state": "stopped", "fleet_stop_timeout": 4}

    first = run_playbook(FLEET, stop, "-i", str(engines))
    print(first.stdout[first.stdout.find("TASK [Report"):])
    assert {host: recap(first)[host]["changed"] for host in ("local", "second", "hoody")} == {
        "local": 1, "second": 1, "hoody": 1}, first.stdout[-4000:]
    assert engine.containers.get("fleet-b1").status == "exited"
    assert second.client.inspect_container("fleet-b2")["State"]["Status"] == "exited"
    assert engine.containers.get("fleet-h1").status == "exited"
    for name in ("fleet-web", "fleet-h-other"):
        assert engine.containers.get(name).status == "running"
    assert second.client.inspect_container("fleet-web")["State"]["Status"] == "running"
    # Both deaf containers took their 4 s stop timeout, at the same time: the engines ran in parallel.
    apart = abs((finished_at(engine.api, "fleet-b1") - finished_at(second.client, "fleet-b2")).total_seconds())
    assert apart < 3, f"the engines' stops ended {apart:.1f}s apart: not in parallel"

    again = run_playbook(FLEET, stop, "-i", str(engines))
    assert all(counters["changed"] == 0 and counters["failed"] == 0 for counters in recap(again).values())
    assert again.stdout.count("nothing to do") == 3


def test_fleet_playbook_on_inventory_hosts_acts_once_per_engine(tmp_path, engine, on_main, second):
    for index in (1, 2):
        on_main(f"fleet-b{index}", {"tier": "batch"})
        on_engine(second, f"fleet-b{index}", {"tier": "batch"})
    on_main("fleet-web", {"tier": "web"})
    on_engine(second, "fleet-idle", {"tier": "batch"}, status="created")
    source = write_config(tmp_path, {
        "plugin": "containerops.lifecycle.containers",
        "engines": [{"name": "local"}, {"name": "second", "docker_host": second.host}],
        "filters": {"name": "fleet-*"}, "group_by_labels": ["tier"],
    })  # fmt: skip

    process = run_playbook(FLEET, {"fleet_state": "stopped", "containerops_hosts": "status_running:&label_tier_batch"},
                           "-i", source)  # fmt: skip
    counters = recap(process)
    assert set(counters) - {"localhost"} == {"fleet-b1@local", "fleet-b2@local", "fleet-b1@second", "fleet-b2@second"}
    acting = sorted(host for host, counter in counters.items() if counter["changed"])
    assert len(acting) == 2 and {host.split("@")[1] for host in acting} == {"local", "second"}, process.stdout[-4000:]
    assert re.search(r"local: stopped fleet-b[12], fleet-b[12] \(2 container", process.stdout)
    assert re.search(r"second: stopped fleet-b[12], fleet-b[12] \(2 container", process.stdout)
    assert [engine.containers.get(f"fleet-b{i}").status for i in (1, 2)] == ["exited", "exited"]
    assert [second.client.inspect_container(f"fleet-b{i}")["State"]["Status"] for i in (1, 2)] == ["exited"] * 2
    assert engine.containers.get("fleet-web").status == "running"


def test_host_names_stay_the_same_when_another_engine_does_not_answer(tmp_path, engine, on_main, second):
    on_main("inv-web-1", {"tier": "web"})
    on_main("inv-db-1", {"tier": "db"})
    on_engine(second, "inv-web-1", {"tier": "web"})
    source = write_config(tmp_path, {
        "plugin": "containerops.lifecycle.containers",
        "engines": [{"name": "local"}, {"name": "second", "docker_host": second.host, "timeout": 2, "retries": 0}],
        "filters": {"name": "inv-*"},
    })  # fmt: skip
    answering = set(listing(ansible_inventory(source, "--list"))["_meta"]["hostvars"])
    assert answering == {"inv-web-1@local", "inv-db-1@local", "inv-web-1@second"}

    with second.frozen_engine():
        alone = ansible_inventory(source, "--list")
        assert "engine 'second' (docker at " in alone.stderr, alone.stderr[-3000:]
        assert set(listing(alone)["_meta"]["hostvars"]) == {"inv-web-1@local", "inv-db-1@local"}
        # The pattern written while both answered still names the same container, and acts on it.
        acted = run_playbook(FLEET, {"fleet_state": "stopped", "containerops_hosts": "inv-web-1@local"}, "-i", source)
        assert acted.returncode == 0, acted.stdout[-4000:] + acted.stderr[-2000:]
        assert recap(acted)["inv-web-1@local"]["changed"] == 1
        assert engine.containers.get("inv-web-1").status == "exited"
        # A pattern that matches no host fails, naming it, instead of skipping the play and exiting 0.
        typo = run_playbook(FLEET, {"fleet_state": "stopped", "containerops_hosts": "inv-web-1"}, "-i", source)
        assert typo.returncode != 0
        assert "containerops_hosts=inv-web-1 matches no host of the inventory" in typo.stdout + typo.stderr
    assert engine.containers.get("inv-db-1").status == "running"
    assert second.client.inspect_container("inv-web-1")["State"]["Status"] == "running"


def plugin_examples() -> str:
    """The inventory plugin's EXAMPLES, read from its source (not imported)."""
    path = os.path.join(ROOT, "plugins", "inventory", "containers.py")
    with open(path) as handle:
        tree = ast.parse(handle.read())
    return next(node.value.value for node in tree.body
                if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["EXAMPLES"])  # fmt: skip


def documented_command(examples: str, program: str) -> list[str]:
    """The command line of ``program`` written in the EXAMPLES' comments, continuation lines joined."""
    comments = "\n".join(line[2:] for line in examples.splitlines() if line.startswith("# "))
    found = re.search(rf"^{program} (?:.*\\\n)*.*$", comments, re.MULTILINE)
    assert found, f"EXAMPLES no longer show an {program} command"
    return shlex.split(found.group(0).replace("\\\n", " "))


def test_the_documented_fleet_command_acts_on_exactly_the_containers_it_names(tmp_path, engine, on_main, second,
                                                                                hoody_server):
    examples = plugin_examples()
    config = next(yaml.safe_load_all(examples))
    # The example's engines at this test's addresses; everything else (names, filters, the token's lookup, the
    # selection, the groups) as written.
    addresses = {"edge-1": {"docker_host": MAIN_HOST}, "edge-2": {"docker_host": second.host},
                 "hoody": {"api_url": hoody_server.url}}  # fmt: skip
    config["engines"] = [dict({key: value for key, value in entry.items()
                               if key not in ("docker_host", "tls", "validate_certs", "api_url")},
                              **addresses[entry["name"]]) for entry in config["engines"]]  # fmt: skip
    shop = {"com.example.fleet": "shop"}
    try:
        on_main("shop-batch-1", {**shop, "tier": "batch"})
        on_main("shop-batch-2", {**shop, "tier": "batch"}, start=False)
        on_main("shop-web-1", {**shop, "tier": "web"})
        on_main("shop-job", {"hoody.project": PROJECT})
        on_main("inv-own-batch", {"tier": "batch"})  # a user's own container, labelled like the example's
        on_engine(second, "shop-batch-1", {**shop, "tier": "batch"})
        on_engine(second, "shop-batch-3", {**shop, "tier": "batch"}, status="paused")
        on_engine(second, "inv-own-batch", {"tier": "batch"})
        write_config(tmp_path, config)
        env = dict(os.environ, HOODY_TOKEN=HOODY_TOKEN)

        def states() -> dict[str, tuple[str, str]]:
            on_first = {c.name: (c.status, c.attrs["State"]["StartedAt"]) for c in engine.containers.list(all=True)
                        if c.name.startswith(("shop-", "inv-own-"))}  # fmt: skip
            on_second = {f"{c['Names'][0][1:]}@second": (c["State"], "") for c in second.client.containers(all=True)}
            return {**on_first, **on_second}

        graph_command = documented_command(examples, "ansible-inventory")
        shown = subprocess.run(graph_command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        hosts = set().union(*graph(shown).values())
        named = re.search(r"every host is <container>@<engine>: (.*)\.", examples)
        assert named and set(named.group(1).split(", ")) <= hosts, hosts
        assert not {host for host in hosts if "inv-own-" in host}

        before = states()
        command = documented_command(examples, "ansible-playbook")
        process = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert process.returncode == 0, process.stdout[-4000:] + process.stderr[-2000:]
        changed = {host for host, counters in recap(process).items() if counters["changed"]}
        assert changed == {"shop-batch-1@edge-1", "shop-batch-1@edge-2"}, process.stdout[-4000:]
        after = states()
        assert after.pop("shop-batch-1")[0] == "exited" and before.pop("shop-batch-1")[0] == "running"
        assert after.pop("shop-batch-1@second")[0] == "exited"
        before.pop("shop-batch-1@second")
        assert after == before  # nothing else changed: the user's own, the web, the created, the paused, Hoody's
    finally:
        second.remove_containers("shop-")
