# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_docker_model: Docker's container model (Docker and Dockhand): the state, report, settings and ``runtime`` read
from inspect data and stats (in the documented shape, null when unknown), update fields and label filters.
tests/integration/test_backends.py checks the same shape through the three real (or test) engines.
"""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import (
    config_from_inspect,
    info_from_inspect,
    label_filters,
    listed_facts,
    network_runtime,
    resource_usage,
    state_from_inspect,
    update_body,
)
from tests.unit.runtime_shape import KEYS, assert_runtime_shape

INSPECT = {
    "NetworkSettings": {
        "Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32768"}], "9000/tcp": None},
        "Networks": {
            "bridge": {
                "IPAddress": "172.17.0.2",
                "Gateway": "172.17.0.1",
                "MacAddress": "02:42:ac:11:00:02",
                "Aliases": None,
            },
            "shop": {"IPAddress": "", "Gateway": "", "MacAddress": "", "Aliases": ["web", "0123456789ab"]},
        },
    },
}


def test_inspect_data_gives_ports_and_networks_in_the_documented_shape():
    runtime = network_runtime(INSPECT, "running")
    assert_runtime_shape(runtime)
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
    assert_runtime_shape(runtime)
    assert runtime == {"processes": [], "ports": {}, "networks": {}, "resource_usage": None}


def test_docker_stats_give_the_documented_usage_and_no_cpu_percentage():
    stats = {"memory_stats": {"usage": 712704, "limit": 2147483648},
             "cpu_stats": {"cpu_usage": {"total_usage": 18728843}}, "pids_stats": {"current": 2}}  # fmt: skip
    assert resource_usage(stats) == {"memory_usage_bytes": 712704, "memory_limit_bytes": 2147483648,
                                     "cpu_total_usage_ns": 18728843, "cpu_usage_percent": None, "pids": 2}  # fmt: skip
    assert resource_usage({}) == dict.fromkeys(KEYS["resource_usage"])


# The container, its report and its settings from inspect data; Docker's update fields and label filters


def inspected(status: str = "exited", **parts) -> dict:
    return {"Id": "c0ffee", "Name": "/web", "State": {"Status": status, "ExitCode": 0, "StartedAt":
            "2026-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"}, **parts}  # fmt: skip


@pytest.mark.parametrize(
    ("engine_status", "status"),
    [("created", "stopped"), ("exited", "stopped"), ("running", "running"), ("paused", "paused"),
     ("restarting", "restarting"), ("dead", "failed"), ("exploded", "failed")],
)  # fmt: skip
def test_docker_s_status_becomes_the_canonical_one_and_an_unknown_one_failed(engine_status, status):
    state = state_from_inspect(inspected(engine_status))
    assert (state.status, state.engine_status, state.name, state.id) == (status, engine_status, "web", "c0ffee")


def test_a_state_without_status_is_read_from_running_and_health_is_kept():
    data = {"Id": "c0ffee", "Name": "/web", "State": {"Running": True, "Health": {"Status": "healthy"}}}
    state = state_from_inspect(data)
    assert (state.status, state.engine_status, state.health) == ("running", "running", "healthy")
    assert state.details is data


def test_the_report_says_autostart_for_always_and_unless_stopped_and_never_for_year_one():
    data = inspected(HostConfig={"RestartPolicy": {"Name": "unless-stopped"}}, Config={"Image": "busybox"})
    info = info_from_inspect(state_from_inspect(data))
    assert info["autostart"] is True and info["image"] == "busybox" and info["labels"] == {}
    assert info["started_at"] == "2026-01-01T00:00:00Z" and info["finished_at"] is None
    on_failure = inspected(HostConfig={"RestartPolicy": {"Name": "on-failure"}})
    assert info_from_inspect(state_from_inspect(on_failure))["autostart"] is False


def test_settings_from_inspect_data():
    data = {"HostConfig": {"RestartPolicy": {"Name": "always"}, "Memory": 0, "NanoCpus": 1_500_000_000},
            "Config": {"Env": ["A=1", "B=x=y", "EMPTY"]}}  # fmt: skip
    assert config_from_inspect(data) == {"autostart": True, "environment_vars": {"A": "1", "B": "x=y", "EMPTY": ""},
                                         "resources.memory": None, "resources.cpus": 1.5}  # fmt: skip
    quota = {"HostConfig": {"CpuQuota": 50000, "CpuPeriod": 100000, "Memory": 1024}}
    assert config_from_inspect(quota)["resources.cpus"] == 0.5
    assert config_from_inspect(quota)["resources.memory"] == 1024
    assert config_from_inspect({}) == {"autostart": False, "environment_vars": {}, "resources.memory": None,
                                       "resources.cpus": None}  # fmt: skip


@pytest.mark.parametrize(
    ("host", "swap"),
    [({"Memory": 100, "MemorySwap": 150}, 250),  # the swap allowance it had (50) is kept
     ({"MemorySwap": -1}, -1),  # unlimited stays unlimited
     ({}, 400)],  # none: Docker's default, as much swap as memory
)  # fmt: skip
def test_a_memory_change_updates_the_swap_limit_with_it(host, swap):
    assert update_body(host, {"resources.memory": 200}) == {"Memory": 200, "MemorySwap": swap}


def test_update_fields_for_autostart_and_cpus_in_the_form_the_container_uses():
    assert update_body({}, {"autostart": True}) == {"RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0}}
    assert update_body({}, {"autostart": False})["RestartPolicy"]["Name"] == "no"
    assert update_body({}, {"resources.cpus": 0.5}) == {"NanoCpus": 500_000_000}
    assert update_body({"CpuQuota": 20000, "CpuPeriod": 50000}, {"resources.cpus": 0.5}) == {"CpuQuota": 25000}


def test_a_project_filter_is_the_compose_project_label_and_listed_facts_name_it():
    assert label_filters({"label": ["tier=web"], "project": "shop"}) == ["tier=web", "com.docker.compose.project=shop"]
    assert label_filters({}) == []
    facts = listed_facts({"com.docker.compose.project": "shop"}, "busybox", None)
    assert facts == {"labels": {"com.docker.compose.project": "shop"}, "image": "busybox", "health": None,
                     "project": "shop"}  # fmt: skip
    assert listed_facts(None, None, "healthy")["labels"] == {}
