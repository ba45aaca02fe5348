"""The containers inventory plugin without engines: options, host names, groups, secrets, failures, parallel reads.

``Connection.connect`` is replaced by fake engines here; tests/integration/test_inventory.py reads real ones.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Optional

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader

from ansible_collections.containerops.lifecycle.plugins.inventory.containers import (
    InventoryModule,
    engine_connection,
    host_names,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._connection import Connection
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import (
    BadInput,
    ConnectionFailed,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._module import BACKEND_CLASSES

try:  # ansible-core 2.19+ templates only what the inventory file (trusted) says
    from ansible.template import trust_as_template as trusted
except ImportError:  # earlier: every string is a template

    def trusted(text: str) -> str:
        return text


TOKEN = "hdy_unit_secret_token"
PASSWORD = "dockhand-unit-secret"


def docker_state(
    name: str,
    status: str = "running",
    labels: Optional[dict[str, str]] = None,
    text: str = "Up 2 minutes",
    cid: Optional[str] = None,
) -> ContainerState:
    summary = {
        "Id": cid or name.encode().hex().ljust(64, "0"),
        "Names": [f"/{name}"],
        "Image": "busybox:test",
        "Labels": labels or {},
        "State": status,
        "Status": text,
    }
    canonical = {"exited": "stopped", "created": "stopped"}.get(status, status)
    return ContainerState(summary["Id"], name, canonical, status, details={"summary": summary})


def hoody_state(name: str, cid: str, status: str = "running") -> ContainerState:
    item = {"id": cid, "name": name, "status": status, "container_image": "alpine:3", "project_id": "ab" * 12}
    return ContainerState(cid, name, status, status, details=item)


class FakeEngine:
    """What ``connect`` returns: a listing, or a failure, and how it was asked."""

    def __init__(
        self,
        states: list[ContainerState],
        error: Optional[Exception] = None,
        barrier: Optional[threading.Barrier] = None,
    ) -> None:
        self.states = states
        self.error = error
        self.barrier = barrier
        self.filters: Optional[dict[str, Any]] = None
        self.closed = False

    def list(self, filters: dict[str, Any]) -> list[ContainerState]:
        self.filters = filters
        if self.barrier is not None:
            self.barrier.wait()  # every engine must be listing at the same time
        if self.error is not None:
            raise self.error
        return self.states

    def close(self) -> None:
        self.closed = True


OPTION_DEFAULTS = {
    "engines": [{"name": "local"}],
    "filters": None,
    "group_by_labels": [],
    "compose": {},
    "groups": {},
    "keyed_groups": [],
    "strict": False,
    "use_extra_vars": False,
    "leading_separator": True,
    "cache": False,
}


class Run:
    """One inventory parse with fake engines (keyed by docker_host or api_url)."""

    def __init__(self, monkeypatch, fakes: dict[str, Any], **options: Any) -> None:
        self.connected: list[dict[str, Any]] = []
        self.warnings: list[str] = []

        def fake_connect(connection: Connection) -> FakeEngine:
            params = connection.params
            self.connected.append(params)
            key = params["docker_host"] if params["backend"] == "docker" else params["api_url"]
            engine = fakes[key]
            if isinstance(engine, Exception):
                raise engine
            return engine

        monkeypatch.setattr(Connection, "connect", fake_connect)
        self.plugin = InventoryModule()
        self.plugin._options = dict(OPTION_DEFAULTS, **options)
        self.plugin._read_config_data = lambda path: None
        self.plugin._cache = {}
        monkeypatch.setattr(self.plugin.display, "warning", self.warnings.append)
        self.inventory = InventoryData()

    def parse(self, cache: bool = True) -> Run:
        self.plugin.parse(self.inventory, DataLoader(), "/nowhere/fleet.containers.yml", cache=cache)
        return self

    def hostvars(self, host: str) -> dict[str, Any]:
        return self.inventory.get_host(host).get_vars()

    def members(self, group: str) -> list[str]:
        return sorted(host.name for host in self.inventory.groups[group].get_hosts())


# Options -----------------------------------------------------------------------------------------------------


def test_an_engines_connection_takes_the_modules_defaults_and_environment(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2376")
    monkeypatch.setenv("CONTAINEROPS_TIMEOUT", "7")
    params = engine_connection({"name": "edge", "tls_verify": True}).params
    assert params["backend"] == "docker"
    assert params["docker_host"] is None  # read by the Docker backend, as the docker CLI reads DOCKER_HOST
    assert engine_connection({"name": "edge"}).public()["docker_host"] == "tcp://10.0.0.5:2376"
    assert params["timeout"] == 7 and params["retries"] == 3
    assert params["validate_certs"] is True  # the alias, resolved
    assert "name" not in params and "tls_verify" not in params


def test_an_engines_connection_refuses_unknown_options_and_values_out_of_range():
    with pytest.raises(BadInput, match="docker_hots"):
        engine_connection({"name": "x", "docker_hots": "unix:///x.sock"})
    with pytest.raises(BadInput, match="timeout must be between 1 and 3600"):
        engine_connection({"name": "x", "timeout": 0})
    with pytest.raises(BadInput, match="backend"):
        engine_connection({"name": "x", "backend": "containerd"})


def test_an_engines_connection_follows_the_modules_connection_rules():
    with pytest.raises(BadInput, match="tls and validate_certs apply to a tcp:// docker_host"):
        engine_connection({"name": "x", "docker_host": "unix:///x.sock", "tls": True})
    with pytest.raises(BadInput, match="docker_host must be"):
        engine_connection({"name": "x", "docker_host": "/var/run/docker.sock"})
    with pytest.raises(BadInput, match="api_token is empty or holds spaces") as refused:
        engine_connection({"name": "x", "backend": "hoody", "api_token": "hdy_secret with space"})
    assert "hdy_secret" not in str(refused.value)


def test_an_engines_public_connection_keeps_its_backends_options_and_no_secret(monkeypatch):
    monkeypatch.setenv("DOCKHAND_PASSWORD", PASSWORD)
    connection = engine_connection(
        {
            "name": "dh",
            "backend": "dockhand",
            "api_environment": 2,
            "api_token": TOKEN,
            "api_url": "https://ops:pw-in-url@dh.example.com:8443",
            "api_username": "ops",
        }
    )
    shown = connection.public()
    assert shown == {"backend": "dockhand", "api_url": "https://ops@dh.example.com:8443", "api_username": "ops",
                     "api_environment": 2, "timeout": 60, "retries": 3}  # fmt: skip
    assert not {TOKEN, PASSWORD, "pw-in-url"} & set(json.dumps(shown).split('"'))
    assert {TOKEN, PASSWORD, "pw-in-url"} <= connection.secrets


def test_an_engines_public_connection_names_the_url_really_used(monkeypatch):
    monkeypatch.delenv("HOODY_API_URL", raising=False)
    monkeypatch.setenv("HOODY_BASE_URL", "http://127.0.0.1:8123")
    assert engine_connection({"backend": "hoody"}).public()["api_url"] == "http://127.0.0.1:8123"
    monkeypatch.delenv("HOODY_BASE_URL")
    assert engine_connection({"backend": "hoody"}).public()["api_url"] == "https://api.hoody.icu"
    docker = engine_connection({}).public()
    assert docker == {"backend": "docker", "docker_host": "unix:///var/run/docker.sock", "timeout": 60, "retries": 3}


# What a listing entry says ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "health"), [
    ("Up 3 seconds (health: starting)", "starting"),
    ("Up 2 minutes (healthy)", "healthy"),
    ("Up 2 minutes (unhealthy)", "unhealthy"),
    ("Exited (0) 5 seconds ago", None),
])  # fmt: skip
def test_docker_facts_come_from_the_summary(text, health):
    state = docker_state("web", labels={"tier": "web", "com.docker.compose.project": "shop"}, text=text)
    assert BACKEND_CLASSES["docker"].listed_facts(state) == {
        "labels": {"tier": "web", "com.docker.compose.project": "shop"}, "image": "busybox:test",
        "health": health, "project": "shop",
    }  # fmt: skip


def test_dockhand_and_hoody_facts():
    item = {"id": "f" * 64, "name": "api", "state": "running", "health": "healthy", "image": "nginx:1",
            "labels": {"tier": "web"}}  # fmt: skip
    dockhand = ContainerState(item["id"], "api", "running", "running", health="healthy", details={"summary": item})
    assert BACKEND_CLASSES["dockhand"].listed_facts(dockhand) == {
        "labels": {"tier": "web"}, "image": "nginx:1", "health": "healthy", "project": None,
    }  # fmt: skip
    hoody = hoody_state("api", "a" * 24)
    assert BACKEND_CLASSES["hoody"].listed_facts(hoody) == {
        "labels": {}, "image": "alpine:3", "health": None, "project": "ab" * 12,
    }  # fmt: skip


# Host names --------------------------------------------------------------------------------------------------


HOODY_A, HOODY_B = "5" * 24, "6" * 24


def listed(engine: str, *containers: tuple[str, str]) -> dict[str, Any]:
    """An engine as read: its name and its containers' (name, id)."""
    return {"name": engine, "containers": [{"name": name, "id": cid} for name, cid in containers]}


@pytest.mark.parametrize(("engine", "several_engines", "expected"), [
    # One engine configured: the container's name.
    (listed("local", ("web", "1"), ("db", "2")), False, ["web", "db"]),
    # Several: always <name>@<engine>, whatever the other engines hold.
    (listed("a", ("web", "1"), ("db", "2")), True, ["web@a", "db@a"]),
    # A name held twice on one engine (Hoody): <id>@<engine> for each, the others unchanged.
    (listed("h", ("job", HOODY_A), ("job", HOODY_B), ("api", "7")), False, [f"{HOODY_A}@h", f"{HOODY_B}@h", "api"]),
    (listed("h", ("job", HOODY_A), ("job", HOODY_B), ("api", "7")), True, [f"{HOODY_A}@h", f"{HOODY_B}@h", "api@h"]),
    # A name that reads as another container's <id>@<engine> host name takes its own id instead.
    (listed("h", ("job", "5"), ("job", "6"), ("5@h", "7")), False, ["5@h", "6@h", "7@h"]),
    (listed("h", ("job", "5"), ("job", "6"), ("5", "7")), True, ["5@h", "6@h", "7@h"]),
    # ... but a name that reads as its own <id>@<engine> host name is kept.
    (listed("h", ("8", "8")), True, ["8@h"]),
    # Names with @ (Hoody allows them) keep the engine last.
    (listed("h", ("a@b", "9")), True, ["a@b@h"]),
    (listed("h", ("a@b", "9")), False, ["a@b"]),
    (listed("empty"), True, []),
])  # fmt: skip
def test_host_names_follow_the_documented_rule(engine, several_engines, expected):
    assert host_names(engine, several_engines) == expected


def test_host_names_are_unique_across_engines_that_share_names():
    engines = [listed("a", ("web", "1"), ("x@b", "2")), listed("b", ("web", "1"), ("x", "3")),
               listed("h", ("job", "4"), ("job", "5"), ("4@h", "6"), ("5", "7"))]  # fmt: skip
    names = [name for engine in engines for name in host_names(engine, True)]
    assert len(set(names)) == len(names) == 8, names


# The whole parse ---------------------------------------------------------------------------------------------


def test_hosts_groups_and_host_vars_of_several_engines(monkeypatch):
    engines = {
        "unix:///a.sock": FakeEngine(
            [docker_state("web-1", labels={"tier": "web"}), docker_state("batch-1", "exited", labels={"tier": "batch"})]
        ),
        "unix:///b.sock": FakeEngine([docker_state("web-1", "paused", labels={"tier": "web", "a.b/c": "x y"})]),
        "http://127.0.0.1:1": FakeEngine([hoody_state("job", "c" * 24, "stopped")]),
    }
    run = Run(
        monkeypatch,
        engines,
        group_by_labels=["tier", "a.b/c"],
        engines=[
            {"name": "edge-1", "docker_host": "unix:///a.sock"},
            {"name": "edge-2", "docker_host": "unix:///b.sock"},
            {"name": "hoody", "backend": "hoody", "api_url": "http://127.0.0.1:1", "api_token": TOKEN},
        ],
    ).parse()

    assert sorted(run.inventory.hosts) == ["batch-1@edge-1", "job@hoody", "web-1@edge-1", "web-1@edge-2"]
    assert run.members("status_running") == ["web-1@edge-1"]
    assert run.members("status_stopped") == ["batch-1@edge-1", "job@hoody"]
    assert run.members("status_paused") == ["web-1@edge-2"]
    assert run.members("engine_edge_1") == ["batch-1@edge-1", "web-1@edge-1"]
    assert run.members("engine_hoody") == ["job@hoody"]
    assert run.members("label_tier_web") == ["web-1@edge-1", "web-1@edge-2"]
    assert run.members("label_tier_batch") == ["batch-1@edge-1"]
    assert run.members("label_a_b_c_x_y") == ["web-1@edge-2"]
    assert run.members(f"project_{'ab' * 12}") == ["job@hoody"]

    web = run.hostvars("web-1@edge-2")
    assert {key: web[f"containerops_{key}"] for key in ("name", "status", "engine_status", "engine", "image")} == {
        "name": "web-1",
        "status": "paused",
        "engine_status": "paused",
        "engine": "edge-2",
        "image": "busybox:test",
    }
    assert web["containerops_connection"] == {"backend": "docker", "docker_host": "unix:///b.sock", "timeout": 60,
                                              "retries": 3}  # fmt: skip
    job = run.hostvars("job@hoody")
    assert job["containerops_id"] == "c" * 24 and job["containerops_labels"] == {}
    assert job["containerops_connection"]["api_url"] == "http://127.0.0.1:1"
    assert TOKEN not in json.dumps({host: run.hostvars(host) for host in run.inventory.hosts}, default=str)
    assert all(engine.closed for engine in engines.values())


def test_host_names_do_not_depend_on_which_engines_answered(monkeypatch):
    engines = [{"name": "local", "docker_host": "unix:///a.sock"}, {"name": "other", "docker_host": "unix:///b.sock"}]
    both = {"unix:///a.sock": FakeEngine([docker_state("web"), docker_state("db")]),
            "unix:///b.sock": FakeEngine([docker_state("web")])}  # fmt: skip
    answered = Run(monkeypatch, both, engines=engines).parse()
    assert sorted(answered.inventory.hosts) == ["db@local", "web@local", "web@other"]

    one_down = dict(both, **{"unix:///b.sock": FakeEngine([], error=ConnectionFailed("frozen"))})
    alone = Run(monkeypatch, one_down, engines=engines).parse()
    assert sorted(alone.inventory.hosts) == ["db@local", "web@local"]
    assert alone.members("engine_local") == answered.members("engine_local")


def test_filters_go_to_every_engine_unless_it_has_its_own(monkeypatch):
    engines = {"unix:///a.sock": FakeEngine([]), "http://127.0.0.1:1": FakeEngine([])}
    Run(monkeypatch, engines, filters={"label": "tier=web", "status": ["running"]}, engines=[
        {"name": "a", "docker_host": "unix:///a.sock"},
        {"name": "h", "backend": "hoody", "api_url": "http://127.0.0.1:1", "api_token": TOKEN,
         "filters": {"name": "job-*"}},
    ]).parse()  # fmt: skip
    given = {url: {key: value for key, value in engine.filters.items() if value} for url, engine in engines.items()}
    assert given == {"unix:///a.sock": {"label": ["tier=web"], "status": ["running"]},
                     "http://127.0.0.1:1": {"name": "job-*"}}  # fmt: skip


@pytest.mark.parametrize(("options", "message"), [
    ({"filters": {}}, "filters is empty"),
    ({"filters": {"status": ["up"]}}, "unknown status"),
    ({"engines": [{"name": "a"}, {"name": "a"}]}, "given twice"),
    ({"engines": [{"name": "bad name"}]}, "engines\\[0\\].name"),
    ({"engines": [{"docker_host": "unix:///a.sock"}]}, "engines\\[0\\].name"),
    ({"engines": [{"name": "a", "api_tokn": TOKEN}]}, "api_tokn"),
])  # fmt: skip
def test_a_configuration_mistake_is_an_error_before_any_engine_is_read(monkeypatch, options, message):
    run = Run(monkeypatch, {}, **options)
    with pytest.raises(AnsibleParserError, match=message):
        run.parse()
    assert run.connected == []


def test_an_engine_that_cannot_be_read_is_a_warning_naming_it_and_the_others_are_listed(monkeypatch):
    engines = {
        "unix:///a.sock": FakeEngine([docker_state("web-1")]),
        "unix:///down.sock": ConnectionFailed("cannot reach the Docker engine at unix:///down.sock"),
        "http://127.0.0.1:1": FakeEngine([], error=ConnectionFailed(f"Hoody rejected {TOKEN} (401)")),
    }
    run = Run(monkeypatch, engines, engines=[
        {"name": "a", "docker_host": "unix:///a.sock"},
        {"name": "down", "docker_host": "unix:///down.sock"},
        {"name": "h", "backend": "hoody", "api_url": "http://127.0.0.1:1", "api_token": TOKEN},
    ]).parse()  # fmt: skip
    assert list(run.inventory.hosts) == ["web-1@a"]
    assert len(run.warnings) == 2
    assert run.warnings[0].startswith("engine 'down' (docker at unix:///down.sock) cannot be read")
    assert "engine 'h' (hoody at http://127.0.0.1:1) cannot be read" in run.warnings[1]
    assert TOKEN not in run.warnings[1] and "********" in run.warnings[1]


def test_strict_makes_an_engine_that_cannot_be_read_an_error(monkeypatch):
    engines = {"unix:///a.sock": FakeEngine([docker_state("web-1")]),
               "unix:///down.sock": FakeEngine([], error=ConnectionFailed("no answer"))}  # fmt: skip
    run = Run(
        monkeypatch,
        engines,
        strict=True,
        engines=[{"name": "a", "docker_host": "unix:///a.sock"}, {"name": "down", "docker_host": "unix:///down.sock"}],
    )
    with pytest.raises(AnsibleParserError, match=r"engine 'down' .* cannot be read: no answer"):
        run.parse()


def test_a_bug_in_an_engine_is_still_named_and_a_bad_input_is_an_error(monkeypatch):
    engines = {"unix:///a.sock": FakeEngine([], error=KeyError("Names"))}
    run = Run(monkeypatch, engines, engines=[{"name": "a", "docker_host": "unix:///a.sock"}]).parse()
    assert "engine 'a' (docker at unix:///a.sock) cannot be read" in run.warnings[0]
    assert "KeyError" in run.warnings[0]
    engines = {"http://127.0.0.1:1": FakeEngine([], error=BadInput("api_token is required for backend hoody"))}
    run = Run(monkeypatch, engines, engines=[{"name": "h", "backend": "hoody", "api_url": "http://127.0.0.1:1"}])
    with pytest.raises(AnsibleParserError, match=r"engine 'h' .*api_token is required"):
        run.parse()


def test_a_filter_the_engine_cannot_apply_is_refused_before_any_engine_is_read(monkeypatch):
    engines = {"http://127.0.0.1:1": FakeEngine([])}
    run = Run(
        monkeypatch,
        engines,
        filters={"label": ["tier"]},
        engines=[{"name": "h", "backend": "hoody", "api_url": "http://127.0.0.1:1", "api_token": TOKEN}],
    )
    with pytest.raises(AnsibleParserError, match=r"engine 'h': backend hoody cannot apply filters\.label"):
        run.parse()
    assert run.connected == []


def test_engines_are_read_in_parallel(monkeypatch):
    barrier = threading.Barrier(3, timeout=10)  # breaks (and fails the test) unless all three list at once
    engines = {f"unix:///{n}.sock": FakeEngine([docker_state(f"c-{n}")], barrier=barrier) for n in "abc"}
    run = Run(monkeypatch, engines, strict=True,
              engines=[{"name": n, "docker_host": f"unix:///{n}.sock"} for n in "abc"]).parse()  # fmt: skip
    assert sorted(run.inventory.hosts) == ["c-a@a", "c-b@b", "c-c@c"]


def test_constructed_options_see_the_host_vars(monkeypatch):
    engines = {"unix:///a.sock": FakeEngine([docker_state("web-1", text="Up (unhealthy)"), docker_state("db-1")])}
    run = Run(
        monkeypatch,
        engines,
        strict=True,
        engines=[{"name": "a", "docker_host": "unix:///a.sock"}],
        compose={"sick": trusted("containerops_health == 'unhealthy'")},
        groups={"web": trusted("containerops_name.startswith('web')")},
        keyed_groups=[{"key": trusted("containerops_image | regex_replace(':.*$', '')"), "prefix": "image"}],
    )
    run.parse()
    assert run.hostvars("web-1")["sick"] is True and run.hostvars("db-1")["sick"] is False
    assert run.members("web") == ["web-1"]
    assert run.members("image_busybox") == ["db-1", "web-1"]


def test_the_cache_is_used_and_only_written_when_every_engine_was_read(monkeypatch):
    engines = {"unix:///a.sock": FakeEngine([docker_state("web-1")]),
               "unix:///b.sock": FakeEngine([], error=ConnectionFailed("down"))}  # fmt: skip
    options = {"cache": True, "engines": [{"name": "a", "docker_host": "unix:///a.sock"}]}
    first = Run(monkeypatch, engines, **options)
    first.parse(cache=False)  # a refresh (--flush-cache) reads the engines and writes the cache
    assert next(iter(first.plugin._cache.values()))[0]["containers"][0]["name"] == "web-1"

    engines["unix:///a.sock"].states = [docker_state("web-2")]
    second = Run(monkeypatch, engines, **options)
    second.plugin._cache = first.plugin._cache
    second.parse(cache=True)
    assert list(second.inventory.hosts) == ["web-1"] and second.connected == []  # from the cache

    partial = Run(
        monkeypatch,
        engines,
        cache=True,
        engines=[{"name": "a", "docker_host": "unix:///a.sock"}, {"name": "b", "docker_host": "unix:///b.sock"}],
    )
    partial.parse(cache=False)
    assert list(partial.inventory.hosts) == ["web-2@a"] and partial.plugin._cache == {}


def test_verify_file_wants_a_containers_yml(tmp_path):
    plugin = InventoryModule()
    for name, wanted in (("fleet.containers.yml", True), ("containers.yaml", True), ("fleet.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: containerops.lifecycle.containers\n")
        assert plugin.verify_file(str(path)) is wanted
