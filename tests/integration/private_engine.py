"""A second, private Docker engine for the tests that kill or freeze one: never the main engine.

``private_engine`` (session-scoped) starts one ``dockerd`` with everything of its own: a unix socket,
``--data-root``, ``--exec-root`` (where it runs its managed containerd), ``--pidfile`` and config file
under one temporary directory, and a bridge made for it (``ip link add``) with iptables, masquerading
and IP forwarding left alone. Never ``--bridge none``: that deletes the main engine's ``docker0``. The
test image is copied in from the main engine. Teardown leaves nothing: containers, dockerd, its
containerd and shims, mounts, the directory and the bridge all go.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any, Iterator, Optional

import docker
import pytest

from tests.integration.conftest import IMAGE

START_WAIT = 60
# Held while an engine picks its networks and claims them with its bridge: engines started at once by other
# processes (``make test``'s lanes, tests running beside them) would otherwise see the same networks free.
NETWORKS_LOCK = "/tmp/containerops-private-engine-networks.lock"


def _answers(client: docker.APIClient) -> bool:
    try:
        return client.ping() is True
    except Exception:  # anything but an answer means no
        return False


def _read_pid(path: str) -> Optional[int]:
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _free_network(first: str, count: int) -> ipaddress.IPv4Network:
    """The first of ``count`` networks from ``first`` on (each the size of ``first``) that no route on this host
    overlaps, searched from a place that depends on the process, so that two test processes rarely pick the same
    one at the same moment."""
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    used = []
    for line in routes.splitlines():
        with contextlib.suppress(ValueError, IndexError):
            used.append(ipaddress.ip_network(line.split()[0], strict=False))
    base = ipaddress.ip_network(first)
    start = os.getpid() % count
    for step in range(count):
        candidate = ipaddress.ip_network((int(base.network_address) + ((start + step) % count) * base.num_addresses,
                                          base.prefixlen))
        if not any(candidate.overlaps(network) for network in used if network.prefixlen > 0):
            return candidate
    raise RuntimeError(f"no free network among the {count} from {first} for a private engine")


class PrivateEngine:
    """One private dockerd: start, freeze, thaw, kill and restart it; ``close`` removes every trace."""

    def __init__(self, name: str = "ef", networks: bool = False, listen: tuple[str, ...] = (),
                 storage_driver: str = "vfs") -> None:
        """``name`` prefixes its directory in /tmp and its bridge (at most 5 characters: a link name has 15).

        ``listen``: more of dockerd's arguments for where and how it listens besides its socket (``--host
        tcp://127.0.0.1:PORT``, ``--tlsverify``, ``--tlscacert`` ...).

        ``networks``: containers may talk to each other, on its bridge and on the networks it creates. Its bridge
        and networks then come from a /16 of its own, and one iptables rule (first in FORWARD, removed by
        ``close``) lets traffic within that /16 through: with ``--iptables=false`` it adds none, and the main
        engine's FORWARD policy (DROP) would stop bridged traffic between containers.

        ``storage_driver``: dockerd's; vfs (a full copy of the image per container) works on any file system.
        """
        self.networks = networks
        self.pool: Optional[ipaddress.IPv4Network] = None  # its /16 with ``networks``, from ``create_bridge`` on
        self.listen = listen
        self.storage_driver = storage_driver
        self.workdir = tempfile.mkdtemp(prefix=f"{name}-dockerd-", dir="/tmp")
        self.socket = os.path.join(self.workdir, "docker.sock")
        self.host = f"unix://{self.socket}"
        self.bridge = f"{name}-br{os.getpid() % 100000}"
        # Its containers' cgroups live under a parent of their own, so teardown can find every process.
        self.cgroup_parent = os.path.basename(self.workdir)
        self.log_path = os.path.join(self.workdir, "dockerd.log")
        self.process: Optional[subprocess.Popen] = None
        self.frozen = False
        with open(os.path.join(self.workdir, "daemon.json"), "w") as handle:
            handle.write("{}\n")  # not the host's /etc/docker/daemon.json
        self.client = docker.APIClient(base_url=self.host, version="1.41", timeout=30)

    @property
    def pid(self) -> int:
        assert self.process is not None, "the private engine is not running"
        return self.process.pid

    def forward_rule(self) -> list[str]:
        assert self.pool is not None
        return ["FORWARD", "-s", str(self.pool), "-d", str(self.pool), "-m", "comment", "--comment", self.workdir,
                "-j", "ACCEPT"]

    def create_bridge(self) -> None:
        """Its bridge, on the first free subnet (of its own /16 with ``networks``), picked and claimed under
        ``NETWORKS_LOCK``."""
        with open(NETWORKS_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.networks:
                self.pool = _free_network("10.214.0.0/16", 10)
                subnet = next(self.pool.subnets(new_prefix=24))
                subprocess.run(["iptables", "-w", "-I", *self.forward_rule()], check=True)
            else:
                subnet = _free_network("10.213.200.0/24", 56)
            subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
            subprocess.run(["ip", "addr", "add", f"{next(subnet.hosts())}/{subnet.prefixlen}", "dev", self.bridge],
                           check=True)
            subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)

    def start(self) -> None:
        """Start dockerd (again, after ``kill``) and wait until it answers."""
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise RuntimeError("dockerd not found: install docker.io (apt-get install docker.io)")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.workdir, "docker.pid"))  # left by a killed dockerd
        log = open(self.log_path, "a")  # noqa: SIM115 - the daemon writes to it after we return
        self.process = subprocess.Popen(
            [
                dockerd,
                "--config-file", os.path.join(self.workdir, "daemon.json"),
                "--host", self.host,
                "--data-root", os.path.join(self.workdir, "data"),
                "--exec-root", os.path.join(self.workdir, "exec"),
                "--pidfile", os.path.join(self.workdir, "docker.pid"),
                "--bridge", self.bridge,
                "--iptables=false", "--ip-masq=false", "--ip-forward=false",
                "--storage-driver", self.storage_driver,
                "--exec-opt", "native.cgroupdriver=cgroupfs",
                "--cgroup-parent", f"/{self.cgroup_parent}",
                "--log-level", "warn",
                *self.listen,
                *(["--default-address-pool", f"base={self.pool},size=24"] if self.pool else []),
            ],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_WAIT
        while not _answers(self.client):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the private dockerd did not start; its log:\n{self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        with open(self.log_path) as handle:
            return "".join(handle.readlines()[-lines:])

    def load_image(self, main: docker.DockerClient) -> None:
        self.client.load_image(main.api.get_image(IMAGE))

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.frozen:
            os.kill(self.pid, signal.SIGCONT)
            self.frozen = False

    @contextlib.contextmanager
    def frozen_engine(self) -> Iterator[None]:
        self.freeze()
        try:
            yield
        finally:
            self.thaw()

    def kill(self) -> None:
        """SIGKILL dockerd; its managed containerd dies with it, the shims and containers live on."""
        self.thaw()
        containerd_pidfile = os.path.join(self.workdir, "exec", "containerd", "containerd.pid")
        containerd = _read_pid(containerd_pidfile)
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        # containerd is reparented to init, which may never reap it: a zombie would pass the next
        # dockerd's "is containerd still running?" check and never answer. Forget it once it is dead.
        deadline = time.monotonic() + 30
        while containerd and _alive(containerd) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(containerd_pidfile)

    def ensure_running(self) -> None:
        """Start it again if a test killed it; thaw it if a test left it frozen."""
        self.thaw()
        if self.process is None or self.process.poll() is not None:
            self.start()

    def remove_containers(self, prefix: str = "") -> None:
        for summary in self.client.containers(all=True):
            names = [name.lstrip("/") for name in summary.get("Names") or []]
            if any(name.startswith(prefix) for name in names):
                with contextlib.suppress(docker.errors.NotFound):
                    self.client.remove_container(summary["Id"], force=True)

    def close(self) -> None:
        """Stop everything it started and remove every trace of it."""
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            with contextlib.suppress(Exception):
                self.remove_containers()
            end_process(self.process)
        self.client.close()
        self._kill_leftovers()
        self._unmount()
        shutil.rmtree(self.workdir, ignore_errors=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        if self.pool is not None:
            subprocess.run(["iptables", "-w", "-D", *self.forward_rule()], capture_output=True)

    def _cgroups(self) -> list[str]:
        """This engine's cgroup directories (v1: one per controller; v2: one), deepest first."""
        roots = [os.path.join("/sys/fs/cgroup", self.cgroup_parent)]
        with contextlib.suppress(OSError):
            roots += [os.path.join("/sys/fs/cgroup", c, self.cgroup_parent) for c in os.listdir("/sys/fs/cgroup")]
        found = []
        for root in roots:
            if os.path.isdir(root):
                found += [path for path, _dirs, _files in os.walk(root, topdown=False)]
        return found

    def _kill_leftovers(self) -> None:
        """Processes of this engine still alive: in its containers' cgroups, or containerd and shims
        (found by our directory in their command line); then its cgroups go."""
        for path in self._cgroups():
            with contextlib.suppress(OSError), open(os.path.join(path, "cgroup.procs")) as handle:
                for pid in handle.read().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmdline = handle.read().decode("utf-8", "replace")
            except OSError:
                continue
            if self.workdir in cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry), signal.SIGKILL)
        deadline = time.monotonic() + 10
        for path in self._cgroups():
            while time.monotonic() < deadline:
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy until the killed processes are gone
                    time.sleep(0.05)

    def _unmount(self) -> None:
        with open("/proc/self/mountinfo") as handle:
            points = [line.split()[4] for line in handle]
        for point in sorted((p for p in points if p.startswith(self.workdir)), key=len, reverse=True):
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)

    def leftovers(self) -> list[str]:
        """What of this engine is still on the host (for the teardown check)."""
        found = []
        if os.path.exists(self.workdir):
            found.append(self.workdir)
        with open("/proc/self/mountinfo") as handle:
            found += [line.split()[4] for line in handle if line.split()[4].startswith(self.workdir)]
        if subprocess.run(["ip", "link", "show", self.bridge], capture_output=True).returncode == 0:
            found.append(f"bridge {self.bridge}")
        found += self._cgroups()
        if self.pool is not None and subprocess.run(["iptables", "-w", "-C", *self.forward_rule()],
                                                    capture_output=True).returncode == 0:
            found.append(f"iptables rule {' '.join(self.forward_rule())}")
        return found


# Fixture functions are named apart from their fixtures, so a test module can import them (pytest
# finds fixtures in its namespace) without its test arguments shadowing the imports.
#
# Every module that imports the session fixture gets a fixture definition of its own, but they all share
# one engine: started by the first, closed (and checked for leftovers) when the last one is finalized.
_SHARED: dict[str, Any] = {"engine": None, "users": 0}


def end_process(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, and SIGKILL when ``process`` has not ended ``timeout`` seconds later."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@pytest.fixture(scope="session", name="private_engine")
def private_engine_fixture(engine) -> Iterator[PrivateEngine]:
    """The private engine, started once for the session, with the test image loaded."""
    if os.geteuid() != 0:
        pytest.skip("the private Docker engine needs root (it runs dockerd and creates a bridge)")
    if _SHARED["engine"] is None:
        private = PrivateEngine()
        try:
            private.create_bridge()
            private.start()
            private.load_image(engine)
        except BaseException:
            private.close()
            raise
        _SHARED["engine"] = private
    _SHARED["users"] += 1
    try:
        yield _SHARED["engine"]
    finally:
        _SHARED["users"] -= 1
        if _SHARED["users"] == 0:
            private, _SHARED["engine"] = _SHARED["engine"], None
            private.close()
            left = private.leftovers()
            assert not left, f"the private engine left these behind: {left}"


@pytest.fixture(name="private")
def private_fixture(private_engine) -> Iterator[PrivateEngine]:
    """The private engine, running and answering, for one test; its ``ef-`` containers removed after."""
    private_engine.ensure_running()
    yield private_engine
    private_engine.ensure_running()
    private_engine.remove_containers("ef-")
