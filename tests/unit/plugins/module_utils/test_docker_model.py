# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_docker_model: container_info's ``runtime`` from Docker's inspect data and stats (Docker and Dockhand), in the
documented shape, null when unknown. tests/integration/test_backends.py checks the same shape through the three
real (or test) engines.
"""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._docker_model import (
    network_runtime,
    resource_usage,
)
from tests.unit.runtime_shape import KEYS, assert_runtime_shape

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

