"""container_info's ``runtime``: one shape from every backend (``_shapes``), filled honestly (null when unknown).

Docker and Dockhand build it from inspect data (``_docker_model``), Hoody from ``runtime_info`` and its stats
(``_hoody``); HTTP is faked with ``responses``. tests/integration/test_backends.py checks the same shape
through the three real (or test) engines.
"""

from __future__ import annotations

import pytest
import responses

from ansible_collections.containerops.lifecycle.plugins.module_utils import _shapes
from ansible_collections.containerops.lifecycle.plugins.module_utils._backend import ContainerState
from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import (
    network_runtime,
    resource_usage,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._hoody import (
    HoodyBackend,
    hoody_networks,
    hoody_ports,
)
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiClient

API = "https://hoody.test"
CID = "0123456789abcdef01234567"
URL = f"{API}/api/v1/containers/{CID}"
KEYS = _shapes.runtime_keys()


def assert_shape(runtime: dict) -> None:
    """The documented keys, each of its documented type or null."""
    assert set(runtime) - {"error"} == set(KEYS["runtime"])
    assert runtime["processes"] is None or all(isinstance(p, dict) for p in runtime["processes"])
    if runtime["ports"] is not None:
        for port, bindings in runtime["ports"].items():
            number, _, protocol = port.partition("/")
            assert number.isdigit() and protocol in ("tcp", "udp", "sctp"), port
            assert bindings is None or all(set(b) == {"HostIp", "HostPort"} for b in bindings)
    for network in (runtime["networks"] or {}).values():
        assert tuple(network) == KEYS["networks"]
        assert isinstance(network["aliases"], list)
        assert all(network[key] is None or isinstance(network[key], str)
                   for key in ("ip_address", "gateway", "mac_address"))  # fmt: skip
    if runtime["resource_usage"] is not None:
        assert tuple(runtime["resource_usage"]) == KEYS["resource_usage"]


# ------------------------------------------------------------------ Docker and Dockhand (inspect data)

INSPECT = {
    "NetworkSettings": {
        "Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32768"}], "9000/tcp": None},
        "Networks": {
            "bridge": {"IPAddress": "172.17.0.2", "Gateway": "172.17.0.1", "MacAddress": "02:42:ac:11:00:02",
                       "Aliases": None},
            "shop": {"IPAddress": "", "Gateway": "", "MacAddress": "", "Aliases": ["web", "0123456789ab"]},
        },
    },
}


def test_inspect_data_gives_ports_and_networks_in_the_documented_shape():
    runtime = network_runtime(INSPECT, "running")
    assert_shape(runtime)
    assert runtime["ports"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32768"}], "9000/tcp": None}
    assert runtime["networks"] == {
        "bridge": {"ip_address": "172.17.0.2", "gateway": "172.17.0.1", "mac_address": "02:42:ac:11:00:02",
                   "aliases": []},
        "shop": {"ip_address": None, "gateway": None, "mac_address": None, "aliases": ["web", "0123456789ab"]},
    }  # fmt: skip
    assert runtime["resource_usage"] is None


@pytest.mark.parametrize(("status", "processes"), [("running", None), ("paused", None), ("stopped", []),
                                                   ("failed", [])])  # fmt: skip
def test_processes_are_empty_only_when_there_are_none_and_null_when_not_read(status, processes):
    assert network_runtime(INSPECT, status)["processes"] == processes


def test_inspect_data_without_network_settings_is_empty_not_an_error():
    runtime = network_runtime({}, "stopped")
    assert_shape(runtime)
    assert runtime == {"processes": [], "ports": {}, "networks": {}, "resource_usage": None}


def test_docker_stats_give_the_documented_usage_and_no_cpu_percentage():
    stats = {"memory_stats": {"usage": 712704, "limit": 2147483648},
             "cpu_stats": {"cpu_usage": {"total_usage": 18728843}}, "pids_stats": {"current": 2}}  # fmt: skip
    assert resource_usage(stats) == {"memory_usage_bytes": 712704, "memory_limit_bytes": 2147483648,
                                     "cpu_total_usage_ns": 18728843, "cpu_usage_percent": None, "pids": 2}  # fmt: skip
    assert resource_usage({}) == dict.fromkeys(KEYS["resource_usage"])


# ------------------------------------------------------------------ Hoody (runtime_info and stats)


def test_hoody_listening_sockets_become_unpublished_ports():
    sockets = [{"protocol": "tcp", "port": 22}, {"protocol": "tcp6", "port": "22"}, {"protocol": "UDP", "port": 53},
               {"protocol": None, "port": 8080}, {"protocol": "tcp", "port": None}, {"protocol": "tcp", "port": "x"}]
    assert hoody_ports(sockets) == {"22/tcp": None, "53/udp": None, "8080/tcp": None}
    assert list(hoody_ports(sockets)) == ["22/tcp", "53/udp", "8080/tcp"]


def test_hoody_interfaces_become_networks_without_what_hoody_does_not_say():
    interfaces = [
        {"interface": "lo", "addresses": ["127.0.0.1/8"], "type": "loopback"},
        {"interface": "eth0", "addresses": ["fd00::5/64", "10.0.0.5/24"], "type": "ethernet"},
        {"interface": "eth1", "addresses": [{"address": "192.168.1.9", "family": "inet"}]},
        {"interface": "wg0", "addresses": None},
        {"interface": None, "addresses": ["10.9.9.9"]},
    ]
    networks = hoody_networks(interfaces)
    assert networks == {
        "eth0": {"ip_address": "10.0.0.5", "gateway": None, "mac_address": None, "aliases": []},
        "eth1": {"ip_address": "192.168.1.9", "gateway": None, "mac_address": None, "aliases": []},
        "wg0": {"ip_address": None, "gateway": None, "mac_address": None, "aliases": []},
    }
    assert_shape({"processes": None, "ports": None, "networks": networks, "resource_usage": None})


def envelope(data):
    return {"statusCode": 200, "message": "ok", "data": data}


def item(status="running", **extra):
    return dict({"id": CID, "name": "web", "status": status, "project_id": "f" * 24}, **extra)


@pytest.fixture
def hoody():
    backend = HoodyBackend(ApiClient(API, timeout=5, retries=0), "token", realm=None, poll_interval=0.01)
    yield backend
    backend.close()


STATS = {"processes": 3, "cpu": {"usage": 123456, "allocated_time": None, "usage_percent": 1.5},
         "memory": {"usage": 1048576.0, "total": 536870912}, "network": [
             {"interface": "lo", "addresses": ["127.0.0.1/8"], "type": "loopback"},
             {"interface": "eth0", "addresses": ["10.0.0.5/24"], "type": "ethernet"}]}  # fmt: skip


@responses.activate
def test_hoody_runtime_of_a_running_container_in_the_documented_shape(hoody):
    services = [{"name": "sshd", "status": "running", "pid": 12}]
    sockets = [{"protocol": "tcp", "port": 22, "ip": "0.0.0.0", "pid": 12, "program": "sshd"}]
    responses.get(URL, json=envelope(item(runtime_info={"services": services, "network_services": sockets})))
    responses.get(f"{URL}/stats", json=envelope(STATS))
    state = ContainerState(CID, "web", "running", "running", details=item())
    runtime = hoody.describe(state, runtime=True)["runtime"]
    assert_shape(runtime)
    assert runtime == {
        "processes": services,
        "ports": {"22/tcp": None},
        "networks": {"eth0": {"ip_address": "10.0.0.5", "gateway": None, "mac_address": None, "aliases": []}},
        "resource_usage": {"memory_usage_bytes": 1048576, "memory_limit_bytes": 536870912,
                           "cpu_total_usage_ns": None, "cpu_usage_percent": 1.5, "pids": 3},
    }  # fmt: skip
    assert isinstance(runtime["resource_usage"]["memory_usage_bytes"], int)
    assert responses.calls[0].request.params == {"runtime": "true"}


@pytest.mark.parametrize(("status", "processes", "ports"), [("stopped", [], {}), ("running", None, None),
                                                            ("paused", None, None)])  # fmt: skip
@responses.activate
def test_hoody_runtime_when_nothing_was_measured(hoody, status, processes, ports):
    responses.get(URL, json=envelope(item(status, runtime_info=None)))
    responses.get(f"{URL}/stats", json=envelope({"processes": None, "cpu": None, "memory": None, "network": []}))
    runtime = hoody.describe(ContainerState(CID, "web", status, status, details=item(status)), runtime=True)["runtime"]
    assert_shape(runtime)
    assert runtime["processes"] == processes and runtime["ports"] == ports
    if status == "running":  # the stats say nothing: every figure is null, not zero
        assert runtime["networks"] == {}
        assert runtime["resource_usage"] == dict.fromkeys(KEYS["resource_usage"])
    else:  # stats are read for a running container only
        assert runtime["networks"] is None and runtime["resource_usage"] is None
        assert [call.request.url.split("?")[0] for call in responses.calls] == [URL]


@responses.activate
def test_hoody_unreadable_stats_leave_networks_and_usage_null(hoody):
    responses.get(URL, json=envelope(item(runtime_info={"services": [], "network_services": []})))
    responses.get(f"{URL}/stats", status=404, json={"statusCode": 404, "message": "Not found"})
    runtime = hoody.describe(ContainerState(CID, "web", "running", "running", details=item()), runtime=True)["runtime"]
    assert_shape(runtime)
    assert runtime["processes"] == [] and runtime["ports"] == {}
    assert runtime["networks"] is None and runtime["resource_usage"] is None and runtime["error"]


# ------------------------------------------------------------------ the shapes themselves


def test_public_keeps_only_the_documented_keys():
    docker_snapshot = {"name": "containerops-snapshot/web:a", "alias": "a", "container": "web", "created_at": None,
                       "stateful": False, "size": 1, "private": {"image_id": "sha256:0"}}  # fmt: skip
    hoody_snapshot = dict(docker_snapshot, name="snap-1", private={"k": 1})
    for snapshot in (docker_snapshot, hoody_snapshot):
        assert set(_shapes.public(_shapes.Snapshot, snapshot)) == {"name", "alias", "container", "created_at",
                                                                   "stateful", "size"}  # fmt: skip
    holder = {"name": "web", "id": CID, "in_sync": True, "private": {"id": "a" * 24}}
    assert _shapes.public(_shapes.AliasHolder, holder) == {"name": "web", "id": CID, "in_sync": True}


def test_runtime_keys_are_the_documented_ones():
    assert KEYS == {
        "runtime": ("processes", "ports", "networks", "resource_usage"),
        "networks": ("ip_address", "gateway", "mac_address", "aliases"),
        "resource_usage": ("memory_usage_bytes", "memory_limit_bytes", "cpu_total_usage_ns", "cpu_usage_percent",
                           "pids"),
    }  # fmt: skip
