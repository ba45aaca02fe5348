"""The suite's own Podman service: ``podman system service`` on a socket, storage and network of its own.

``PodmanService`` keeps everything under one temporary directory: the unix socket, ``--root`` and ``--runroot``
(so the user's Podman containers and images are never listed nor touched; the same in a ``storage.conf`` for
``CONTAINERS_STORAGE_CONF``), and a ``containers.conf`` (``CONTAINERS_CONF``) with its own tmp dir, file locks,
events log and CNI config dir, the rlimits runc needs here, cgroupfs and the file events logger (no systemd), and
a start-up of 0.1 s (0.2 s more to load the test image). Its default network has a bridge and subnet of its own
(Podman's default one would share ``cni-podman0`` with every other Podman on the host). The test image is copied
in from the Docker engine (``docker save | podman load``). ``close`` removes every trace: containers, networks,
the service and its conmons, mounts, the directory, its bridge and the CNI address leases of its networks.

    python -m tests.integration.podman_service COMMAND [ARG...]

starts one, runs COMMAND with ``CONTAINEROPS_PODMAN_DIR`` naming its directory (the ``podman_service`` fixture
then uses it instead of starting another: one service for all the pytest runs of a ``make test`` lane), removes
it and exits with COMMAND's status. Needs root (rootful Podman, ``ip link``).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Iterator, Optional

import docker

from tests.integration.private_engine import NETWORKS_LOCK, _free_network, end_process

IMAGE = "containerops/busybox:test"
# What ``podman create`` gives a container; one created through the Docker-compatible API gets 0 (Podman 4.3), so
# the tests' containers are given it (``stop_timeout``), to stop as users' containers stop.
STOP_TIMEOUT = 10
START_WAIT = 60
# The compatibility API's version the Docker SDK speaks to the service (tests read containers through it).
COMPAT_VERSION = "1.41"
DIR_VARIABLE = "CONTAINEROPS_PODMAN_DIR"
# The networks the tests' own networks are taken from (Podman picks a /24 of it for each).
SUBNET_POOL = "10.216.0.0/16"

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[network]
network_backend = "cni"
network_config_dir = "{workdir}/networks"
default_network = "{network}"
default_subnet = "{subnet}"
default_subnet_pools = [{{"base" = "{pool}", "size" = 24}}]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{workdir}/events.log"
tmp_dir = "{workdir}/tmp"
static_dir = "{workdir}/root/libpod"
volume_path = "{workdir}/root/volumes"
lock_type = "file"
"""

# The same storage for any podman command given CONTAINERS_STORAGE_CONF (e.g. the Podman collection's modules, which
# run the podman CLI without --root).
STORAGE_CONF = """\
[storage]
driver = "{driver}"
graphroot = "{workdir}/root"
runroot = "{workdir}/runroot"
"""


class PodmanService:
    """One suite-owned ``podman system service``; ``close`` removes every trace of it."""

    def __init__(self, name: str = "pm", storage_driver: str = "overlay", workdir: Optional[str] = None) -> None:
        """``name`` prefixes its directory and bridge (at most 5 characters); ``workdir``: attach to a running one
        (``CONTAINEROPS_PODMAN_DIR``) instead of making a new one. ``storage_driver``: overlay (here a container's
        create, start and removal took 0.31 s, vfs's 0.33 s, with the small test image; vfs copies the image for
        every container)."""
        self.owner = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"{name}-podman-", dir="/tmp")
        self.socket = os.path.join(self.workdir, "podman.sock")
        self.host = f"unix://{self.socket}"
        self.conf = os.path.join(self.workdir, "containers.conf")
        self.storage_conf = os.path.join(self.workdir, "storage.conf")
        self.log_path = os.path.join(self.workdir, "service.log")
        settings_path = os.path.join(self.workdir, "settings.json")
        if self.owner:
            tag = f"{name}{os.getpid() % 100000}"
            self.settings = {"storage_driver": storage_driver, "network": f"{tag}-net", "bridge": f"{tag}br"}
            with open(settings_path, "w") as handle:
                json.dump(self.settings, handle)
        else:
            with open(settings_path) as handle:
                self.settings = json.load(handle)
        self.network = self.settings["network"]
        self.bridge = self.settings["bridge"]
        self.process: Optional[subprocess.Popen] = None
        self.had_networks: tuple[str, ...] = ()  # what ``close`` removed, for ``leftovers``
        self.client = docker.DockerClient(base_url=self.host, version=COMPAT_VERSION, timeout=120)

    # ------------------------------------------------------------------ the podman command on its storage
    def env(self) -> dict[str, str]:
        """The environment in which a podman command works on this service's storage, as its configuration says."""
        return dict(os.environ, CONTAINERS_CONF=self.conf, CONTAINERS_STORAGE_CONF=self.storage_conf)

    def podman(self, *args: str, stdin: Any = None, check: bool = True) -> subprocess.CompletedProcess:
        """``podman ARGS`` on this service's storage and configuration (output captured as text unless ``stdin``
        is a stream)."""
        command = [
            "podman",
            "--root",
            os.path.join(self.workdir, "root"),
            "--runroot",
            os.path.join(self.workdir, "runroot"),
            "--storage-driver",
            self.settings["storage_driver"],
            *args,
        ]
        process = subprocess.run(command, env=self.env(), stdin=stdin, capture_output=True, text=stdin is None)
        if check and process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {process.stderr}")
        return process

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        """Its configuration and default network, then the service, waited for until it answers."""
        if shutil.which("podman") is None:
            raise RuntimeError("podman not found: install podman (apt-get install podman; tests/setup.sh does)")
        for directory in ("networks", "tmp"):
            os.makedirs(os.path.join(self.workdir, directory), exist_ok=True)
        with open(NETWORKS_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            subnet = _free_network("10.215.0.0/24", 200)
            with open(self.conf, "w") as handle:
                handle.write(
                    CONTAINERS_CONF.format(workdir=self.workdir, network=self.network, subnet=subnet, pool=SUBNET_POOL)
                )
            self._create_default_network(str(subnet))
        with open(self.storage_conf, "w") as handle:
            handle.write(STORAGE_CONF.format(driver=self.settings["storage_driver"], workdir=self.workdir))
        log = open(self.log_path, "a")  # noqa: SIM115 - the service writes to it after we return
        self.process = subprocess.Popen(
            [
                "podman",
                "--root",
                os.path.join(self.workdir, "root"),
                "--runroot",
                os.path.join(self.workdir, "runroot"),
                "--storage-driver",
                self.settings["storage_driver"],
                "system",
                "service",
                "--time=0",
                self.host,
            ],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_WAIT
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the suite's podman service did not start; its log:\n{self.log_tail()}")
            time.sleep(0.05)

    def _create_default_network(self, subnet: str) -> None:
        """The default network's CNI config, written before Podman would make its own on the host's shared
        ``cni-podman0``: what ``podman network create`` writes, with a bridge of its own."""
        gateway = str(next(ipaddress.ip_network(subnet).hosts()))
        config = {
            "cniVersion": "0.4.0",
            "name": self.network,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": True,
                    "ipMasq": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "ranges": [[{"subnet": subnet, "gateway": gateway}]],
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
                {"type": "firewall", "backend": ""},
                {"type": "tuning"},
            ],
        }
        with open(os.path.join(self.workdir, "networks", f"{self.network}.conflist"), "w") as handle:
            json.dump(config, handle, indent=2)

    def answers(self) -> bool:
        try:
            return self.client.ping() is True
        except Exception:  # anything but an answer means no
            return False

    def log_tail(self, lines: int = 30) -> str:
        with open(self.log_path) as handle:
            return "".join(handle.readlines()[-lines:])

    def load_image(self, main: docker.DockerClient) -> None:
        """The test image from ``main`` (``docker save | podman load``), unless it is there already."""
        if self.podman("image", "exists", IMAGE, check=False).returncode == 0:
            return
        with tempfile.TemporaryFile() as archive:
            for chunk in main.api.get_image(IMAGE):
                archive.write(chunk)
            archive.seek(0)
            self.podman("load", stdin=archive)

    # ------------------------------------------------------------------ containers
    def remove_containers(self, prefix: str = "") -> None:
        for container in self.client.containers.list(all=True):
            if container.name.startswith(prefix):
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True)

    def remove_network(self, name: str) -> None:
        """A network a test made, with its containers and its CNI address leases."""
        self.podman("network", "rm", "--force", name, check=False)
        self._forget_leases(name)

    # ------------------------------------------------------------------ teardown
    def _networks(self) -> dict[str, str]:
        """This service's networks (its default one and those the tests made): name -> bridge."""
        found = {}
        directory = os.path.join(self.workdir, "networks")
        for entry in os.listdir(directory) if os.path.isdir(directory) else ():
            if entry.endswith(".conflist"):
                with (
                    contextlib.suppress(OSError, ValueError, KeyError, IndexError),
                    open(os.path.join(directory, entry)) as handle,
                ):
                    config = json.load(handle)
                    found[config["name"]] = config["plugins"][0]["bridge"]
        return found

    def close(self) -> None:
        """Stop everything it started and remove every trace of it."""
        networks = self._networks()
        self.had_networks = tuple(networks)
        with contextlib.suppress(Exception):
            self.podman("rm", "--all", "--force", "--time", "0", check=False)
            for network in networks:
                if network != self.network:
                    self.podman("network", "rm", "--force", network, check=False)
        if self.process is not None and self.process.poll() is None:
            end_process(self.process)
        self.client.close()
        self._kill_leftovers()
        self._unmount()
        shutil.rmtree(self.workdir, ignore_errors=True)
        if subprocess.run(["ip", "link", "show", self.bridge], capture_output=True).returncode == 0:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        for network in networks:
            self._forget_leases(network)

    def _forget_leases(self, network: str) -> None:
        """CNI's host-local address leases of ``network`` (/var/lib/cni/networks/NAME): all of them for the default
        network, whose name is this service's own; for a network a test named, once no lease is left (its lock and
        last-reserved files), as another Podman may use that name."""
        directory = os.path.join("/var/lib/cni/networks", network)
        with contextlib.suppress(OSError):
            if network == self.network or all(
                entry == "lock" or entry.startswith("last_reserved_ip") for entry in os.listdir(directory)
            ):
                shutil.rmtree(directory)

    def _kill_leftovers(self) -> None:
        """Processes of this service still alive (the service, conmons): found by its directory in their command
        line."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmdline = handle.read().decode("utf-8", "replace")
            except OSError:
                continue
            if self.workdir in cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry), signal.SIGKILL)

    def _mounts(self) -> list[str]:
        with open("/proc/self/mountinfo") as handle:
            return [line.split()[4] for line in handle if line.split()[4].startswith(self.workdir)]

    def _unmount(self) -> None:
        for point in sorted(self._mounts(), key=len, reverse=True):
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)

    def leftovers(self) -> list[str]:
        """What of this service is still on the host (for the teardown check)."""
        found = [self.workdir] if os.path.exists(self.workdir) else []
        found += self._mounts()
        if subprocess.run(["ip", "link", "show", self.bridge], capture_output=True).returncode == 0:
            found.append(f"bridge {self.bridge}")
        # Per network: CNI's address leases, and the dnsmasq and files of CNI's dnsname plugin (kept for a network
        # with DNS until its last container leaves).
        for network in {self.network, *self.had_networks}:
            places = (os.path.join(kept, network) for kept in ("/var/lib/cni/networks", "/run/containers/cni/dnsname"))
            found += [path for path in places if os.path.exists(path)]
        return found


@contextlib.contextmanager
def podman_service(main: Optional[docker.DockerClient] = None) -> Iterator[PodmanService]:
    """The lane's service when ``CONTAINEROPS_PODMAN_DIR`` names one that answers (left running), else one of its
    own (removed at the end); with the test image from ``main`` loaded."""
    shared = os.environ.get(DIR_VARIABLE)
    if shared and os.path.exists(os.path.join(shared, "settings.json")):
        service = PodmanService(workdir=shared)
        if service.answers():
            if main is not None:
                service.load_image(main)
            yield service
            service.client.close()
            return
    if os.geteuid() != 0:
        raise PermissionError("the suite's Podman service needs root (rootful podman, a bridge of its own)")
    service = PodmanService()
    try:
        service.start()
        if main is not None:
            service.load_image(main)
        yield service
    finally:
        service.close()
    left = service.leftovers()
    assert not left, f"the suite's Podman service left these behind: {left}"


def _terminate(signum, _frame) -> None:
    raise SystemExit(128 + signum)  # runs the ``finally`` that removes the service


def main(command: list[str]) -> int:
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    with podman_service() as service:
        print(
            f"podman service: {service.host} ({time.monotonic() - started:.1f} s to start)", file=sys.stderr, flush=True
        )
        return subprocess.run(command, env=dict(os.environ, **{DIR_VARIABLE: service.workdir})).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
