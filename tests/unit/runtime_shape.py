# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documented shape of container_info's ``runtime`` (``_shapes``), which every backend fills: the tests of
each backend's runtime check their answers with ``assert_runtime_shape``."""

from __future__ import annotations

from ansible_collections.containerops.lifecycle.plugins.module_utils import _shapes

KEYS = _shapes.runtime_keys()


def assert_runtime_shape(runtime: dict) -> None:
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
