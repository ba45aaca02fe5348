# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``ssh://`` Docker hosts through the system's ``ssh`` client, as the docker CLI reaches them.

Each HTTP connection of the Docker SDK is one ``ssh … docker system dial-stdio`` process whose standard
input and output are one end of a socket pair; the SDK talks HTTP over the other end, so streams (the
event stream of waits and status logs) and read timeouts behave as on a unix socket. ``~/.ssh/config``
(aliases, ports, keys, ProxyJump), the agent and ``known_hosts`` apply because ssh itself reads them;
paramiko is not needed. ``BatchMode`` keeps ssh from prompting: there is no terminal to answer it.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from typing import IO, Optional
from urllib.parse import urlsplit

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput, ConnectionFailed

#: How long a failed ssh may take to exit and say why, once its connection broke.
EXIT_GRACE = 2.0
#: How much of ssh's own error output a message quotes.
STDERR_LIMIT = 300
#: The SDK wants a base URL it can make an adapter for; requests never reach it (the ssh adapter replaces it).
UNUSED_SOCKET = "unix:///nonexistent/containerops-ssh"


@dataclass(frozen=True)
class SshTarget:
    """Where ``ssh://[user@]host[:port]`` leads; ``host`` may be an alias of the user's ssh config."""

    host: str
    user: Optional[str] = None
    port: Optional[int] = None

    @classmethod
    def parse(cls, url: str) -> SshTarget:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme != "ssh" or not parts.hostname or port == -1 or parts.path not in ("", "/") or parts.query:
            raise BadInput(f"docker_host {url!r} is not an ssh://[user@]host[:port] URL")
        if parts.password is not None:
            raise BadInput(f"docker_host {parts.hostname!r}: an ssh:// URL takes no password; use a key or the agent")
        return cls(host=parts.hostname, user=parts.username, port=port)

    def command(self, timeout: float) -> list[str]:
        """The ssh command line that opens the far side's Docker API on standard input and output."""
        options = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(int(timeout), 1)}", "-T"]
        options += ["-l", self.user] if self.user else []
        options += ["-p", str(self.port)] if self.port else []
        return ["ssh", *options, "--", self.host, "docker", "system", "dial-stdio"]

    def __str__(self) -> str:
        return f"ssh://{self.user + '@' if self.user else ''}{self.host}{':' + str(self.port) if self.port else ''}"


# What the far side's docker CLI and ssh say, and what it means for the user: the first match wins, so the
# far side's more specific answers (given after ssh connected) come first.
SSH_FAILURES = (
    ("permission denied while trying to connect to the docker daemon", "the ssh user may not use the far side's "
     "Docker socket: add it to the docker group there"),
    ("cannot connect to the docker daemon", "the docker CLI on the far side cannot reach its engine: check that "
     "dockerd runs there"),
    ("docker: command not found", "there is no docker CLI on the far side (docker system dial-stdio needs one)"),
    ("docker: not found", "there is no docker CLI on the far side (docker system dial-stdio needs one)"),
    ("host key verification failed", "its host key is not known here or has changed: check it, then add it to "
     "known_hosts (for example by running ssh {host} once)"),
    ("permission denied", "authentication was refused: check the user and that a key for it is in the agent or "
     "the ssh config"),
    ("could not resolve hostname", "its name does not resolve: check the host or the ssh config's HostName"),
    ("connection refused", "the connection was refused: no ssh server answers there"),
    ("timed out", "the connection timed out"),
    ("no route to host", "there is no route to it"),
)


def ssh_failure(stderr: str, returncode: Optional[int], host: str) -> str:
    """Why ``ssh … docker system dial-stdio`` failed, in the user's words, from its error output and exit code."""
    text = " ".join(stderr.split())
    lowered = text.lower()
    for needle, meaning in SSH_FAILURES:
        if needle in lowered:
            return meaning.format(host=host)
    if returncode == 127:
        return "there is no docker CLI on the far side (docker system dial-stdio needs one)"
    said = "".join(ch for ch in text if ch.isprintable())[:STDERR_LIMIT]
    return f"ssh exited with status {returncode}" + (f": {said}" if said else " without saying why")


class SshFailed(ConnectionFailed):
    """ssh or the far side's docker refused; ``reason`` says why in the user's words."""

    def __init__(self, target: SshTarget, reason: str) -> None:
        super().__init__(f"cannot reach the Docker engine at {target}: {reason}")
        self.reason = reason


# The SDK and its HTTP stack are optional at import time (ansible-test imports this file without them); a
# missing library is reported by the module through missing_required_lib before anything here runs.
try:
    import docker
    import requests.adapters
    import urllib3.connection
    import urllib3.connectionpool
    from docker.constants import MINIMUM_DOCKER_API_VERSION

    class _DialConnection(urllib3.connection.HTTPConnection):
        """One HTTP connection over one ``ssh … docker system dial-stdio``."""

        def __init__(self, target: SshTarget, timeout: float) -> None:
            super().__init__("localhost", timeout=timeout)
            self.target = target
            self.process: Optional[subprocess.Popen] = None
            self.stderr: Optional[IO[bytes]] = None

        def connect(self) -> None:
            """Start one ssh for this connection (again after a close: urllib3 reuses connection objects)."""
            ours, theirs = socket.socketpair()
            if self.stderr is not None:
                self.stderr.close()
            self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept past close(), until the next connect
            try:
                # run_command cannot hand a socket pair to a process that outlives the call
                self.process = subprocess.Popen(  # pylint: disable=ansible-bad-function
                    self.target.command(self.timeout if isinstance(self.timeout, (int, float)) else 60),
                    stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=self.stderr, start_new_session=True,
                )
            except FileNotFoundError:
                ours.close()
                raise SshFailed(
                    self.target, "there is no ssh client on this machine (install openssh-client)"
                ) from None
            finally:
                theirs.close()
            if isinstance(self.timeout, (int, float)):
                ours.settimeout(self.timeout)
            self.sock = ours

        def request(self, *args, **kwargs):
            try:
                return super().request(*args, **kwargs)
            except OSError:
                self._raise_failure()
                raise

        def getresponse(self, *args, **kwargs):
            try:
                return super().getresponse(*args, **kwargs)
            except (OSError, http.client.HTTPException):
                self._raise_failure()
                raise

        def _raise_failure(self) -> None:
            """When ssh has exited with an error, that error in place of the broken connection's."""
            failure = self.failure()
            if failure is not None:
                raise failure from None

        def failure(self) -> Optional[SshFailed]:
            """ssh's reason once it has exited with an error; None while it runs or when it ended well."""
            if self.process is None or self.stderr is None:
                return None
            try:
                returncode = self.process.wait(EXIT_GRACE)
            except subprocess.TimeoutExpired:
                return None
            if returncode == 0:
                return None
            self.stderr.seek(0)
            said = self.stderr.read().decode("utf-8", "replace")
            return SshFailed(self.target, ssh_failure(said, returncode, self.target.host))

        def close(self) -> None:
            super().close()
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(EXIT_GRACE)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            # ssh's error output is kept until the next connect: http.client closes a connection that broke before
            # the caller asks why (``failure``).

    class _DialPool(urllib3.connectionpool.HTTPConnectionPool):
        def __init__(self, target: SshTarget, timeout: float, maxsize: int) -> None:
            super().__init__("localhost", timeout=timeout, maxsize=maxsize)
            self.target = target
            self.dial_timeout = timeout

        def _new_conn(self) -> _DialConnection:
            return _DialConnection(self.target, self.dial_timeout)

    class SshAdapter(requests.adapters.HTTPAdapter):
        """A transport adapter for the Docker SDK's session: every request goes through ssh to ``target``."""

        def __init__(self, target: SshTarget, timeout: float, max_pool_size: int) -> None:
            self.target = target
            self.pool = _DialPool(target, timeout, max_pool_size)
            super().__init__()

        def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
            return self.pool

        def get_connection(self, url, proxies=None):  # requests before 2.32.2
            return self.pool

        def request_url(self, request, proxies):
            return request.path_url

        def close(self) -> None:
            super().close()
            self.pool.close()

    def ssh_api_client(url: str, timeout: float, max_pool_size: int) -> docker.APIClient:
        """A Docker SDK client whose every request goes through the system's ssh to ``url``'s far side.

        The SDK refuses ``ssh://`` without paramiko, so the client is made for a socket it never uses and the
        ssh adapter is mounted in its place; the API version is asked of the far side's engine through it.
        """
        adapter = SshAdapter(SshTarget.parse(url), timeout, max_pool_size)
        probe = docker.APIClient(base_url=UNUSED_SOCKET, version=MINIMUM_DOCKER_API_VERSION, timeout=timeout)
        probe.mount("http+docker://", adapter)
        version = probe.version(api_version=False)["ApiVersion"]
        client = docker.APIClient(base_url=UNUSED_SOCKET, version=version, timeout=timeout)
        client.mount("http+docker://", adapter)
        return client
except ImportError:  # pragma: no cover - see above
    pass
