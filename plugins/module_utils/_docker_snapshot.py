# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker snapshots as data: how a committed image is named and labelled, and how the container's
configuration saved in it becomes the body that recreates the container.

A snapshot is ``docker commit`` of the container's filesystem into ``containerops-snapshot/<name>:<tag>``
(tagged, so ``docker image prune`` keeps it). Its labels name the container and alias; its comment
carries the container's configuration at that moment (JSON), which is what a restore recreates it
with. The comment, unlike labels, is not inherited by the containers created from the image.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Optional

REPOSITORY = "containerops-snapshot"
LABEL_CONTAINER = "containerops.snapshot.container"
LABEL_ALIAS = "containerops.snapshot.alias"
LABEL_CREATED = "containerops.snapshot.created"

# Inspect ``Config`` keys that are part of how a container was created (``Image`` is the snapshot's).
_CONFIG_KEYS = (
    "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts", "Tty",
    "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Volumes", "WorkingDir",
    "Entrypoint", "NetworkDisabled", "MacAddress", "OnBuild", "Labels", "StopSignal", "StopTimeout", "Shell",
)  # fmt: skip


def image_reference(container_name: str, alias: str) -> str:
    """``containerops-snapshot/<name>:<tag>``; the tag keeps the alias readable and unique."""
    repository = f"{REPOSITORY}/{re.sub(r'[^a-z0-9._-]', '-', container_name.lower()).strip('.-_') or 'container'}"
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", alias)[:100].lstrip(".-")
    if tag != alias:
        tag = f"{tag}-{hashlib.sha256(alias.encode()).hexdigest()[:8]}".lstrip("-")
    return f"{repository}:{tag}"


def saved_config(inspect: dict[str, Any], status: str) -> dict[str, Any]:
    """What a restore needs of the container: creation config, host config, networks, and its status."""
    config = {key: inspect["Config"].get(key) for key in _CONFIG_KEYS if key in inspect["Config"]}
    if config.get("Hostname") == inspect["Id"][:12]:
        del config["Hostname"]  # the engine's default, tied to the old id
    short_id = inspect["Id"][:12]
    networks = {}
    for network, endpoint in (inspect.get("NetworkSettings") or {}).get("Networks", {}).items():
        networks[network] = {
            "Aliases": [a for a in endpoint.get("Aliases") or [] if a != short_id] or None,
            "IPAMConfig": endpoint.get("IPAMConfig"),
            "Links": endpoint.get("Links"),
            "DriverOpts": endpoint.get("DriverOpts"),
        }
    host_config = dict(inspect.get("HostConfig") or {})
    host_config["Binds"] = list(host_config.get("Binds") or []) + _anonymous_volume_binds(inspect)
    return {
        "name": inspect["Name"].lstrip("/"),
        "status": status,
        "config": config,
        "host_config": host_config,
        "networks": networks,
    }


def _anonymous_volume_binds(inspect: dict[str, Any]) -> list[str]:
    """Volumes the engine created for the container: bound by name so a recreated container keeps them."""
    host_config = inspect.get("HostConfig") or {}
    declared = {bind.split(":")[1] for bind in host_config.get("Binds") or [] if ":" in bind}
    declared |= {mount.get("Target") for mount in host_config.get("Mounts") or []}
    binds = []
    for mount in inspect.get("Mounts") or []:
        if mount.get("Type") == "volume" and mount.get("Name") and mount.get("Destination") not in declared:
            binds.append(f"{mount['Name']}:{mount['Destination']}" + ("" if mount.get("RW", True) else ":ro"))
    return binds


def snapshot_labels(container_name: str, alias: str, created: str) -> dict[str, str]:
    return {LABEL_CONTAINER: container_name, LABEL_ALIAS: alias, LABEL_CREATED: created}


def comment_of(saved: dict[str, Any]) -> str:
    return json.dumps(saved, sort_keys=True, separators=(",", ":"))


def snapshot_from_image(image: dict[str, Any]) -> dict[str, Any]:
    """The module's view of a snapshot image (an ``images`` summary or an inspect)."""
    labels = image.get("Labels") or (image.get("Config") or {}).get("Labels") or {}
    tags = image.get("RepoTags") or []
    return {
        "name": tags[0] if tags else image["Id"],
        "alias": labels.get(LABEL_ALIAS),
        "container": labels.get(LABEL_CONTAINER),
        "created_at": labels.get(LABEL_CREATED),
        "stateful": False,
        "size": image.get("Size"),
        "private": {"image_id": image["Id"]},
    }


def saved_from_image(image: dict[str, Any]) -> Optional[dict[str, Any]]:
    """The configuration saved in a snapshot image's comment; None when it is not ours or is damaged."""
    try:
        saved = json.loads(image.get("Comment") or "")
    except ValueError:
        return None
    return saved if isinstance(saved, dict) and {"name", "config", "host_config"} <= set(saved) else None


def create_body(saved: dict[str, Any], image_id: str) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The ``/containers/create`` body, and the networks to connect after creation.

    The create call can join one network (the host config's ``NetworkMode``); the others are
    connected afterwards, each with its aliases, static address and links.
    """
    host_config = dict(saved["host_config"])
    body = dict(saved["config"], Image=image_id, HostConfig=host_config)
    mode = host_config.get("NetworkMode") or "default"
    primary = "bridge" if mode == "default" else mode
    networks = saved.get("networks") or {}
    if primary in networks and primary not in ("bridge", "host", "none"):
        body["NetworkingConfig"] = {"EndpointsConfig": {primary: _endpoint(networks[primary])}}
    later = [(name, _endpoint(endpoint)) for name, endpoint in networks.items() if name != primary]
    return body, later


def _endpoint(saved_endpoint: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in saved_endpoint.items() if value}
