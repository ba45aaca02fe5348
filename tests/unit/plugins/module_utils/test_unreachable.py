"""_unreachable: why a connection failed, read from the exceptions real connections raise.

Every case connects for real, on 127.0.0.1 or a Unix socket (and ``nonexistent.invalid``, which never
resolves), through the libraries the backends use: requests (Hoody, Dockhand) and the Docker SDK.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading

import docker
import pytest
import requests

from ansible_collections.containerops.lifecycle.plugins.module_utils._unreachable import causes, why_unreachable


def raised(call) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("the call succeeded")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def listener(answer=None):
    """A TCP server on 127.0.0.1 that hands each connection to ``answer`` (None: accept, never answer)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if answer is not None:
                answer(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        for conn in held:
            with contextlib.suppress(OSError):
                conn.close()


def close_at_once(conn):
    conn.close()


def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.recv(1024)
    conn.close()


def plain_http(conn):
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    conn.close()


def test_connection_refused():
    exc = raised(lambda: requests.get(f"http://127.0.0.1:{closed_port()}/", timeout=5))
    assert "Max retries exceeded" in str(exc)  # what users saw before
    assert why_unreachable(exc) == "connection refused"


def test_name_not_resolved():
    assert why_unreachable(raised(lambda: requests.get("http://nonexistent.invalid/", timeout=5))) == (
        "name not resolved"
    )


def test_no_answer_in_time():
    with listener() as port:
        assert why_unreachable(raised(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=0.2))) == "timed out"


def test_closed_without_an_answer():
    with listener(close_at_once) as port:
        exc = raised(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=5))
    assert why_unreachable(exc) in ("the connection was closed without an answer", "connection reset")


def test_connection_reset():
    with listener(reset) as port:
        exc = raised(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=5))
    assert why_unreachable(exc) == "connection reset"


def test_tls_to_a_server_that_does_not_speak_it():
    with listener(plain_http) as port:
        exc = raised(lambda: requests.get(f"https://127.0.0.1:{port}/", timeout=5))
    assert why_unreachable(exc) == "TLS handshake failed: wrong version number"


@pytest.fixture
def self_signed(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("needs openssl to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)  # fmt: skip
    return str(cert), str(key)


def test_tls_certificate_not_trusted(self_signed):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)

    def handshake(conn):
        with contextlib.suppress(OSError):
            context.wrap_socket(conn, server_side=True).close()

    with listener(handshake) as port:
        exc = raised(lambda: requests.get(f"https://127.0.0.1:{port}/", timeout=5))
    assert why_unreachable(exc) == "TLS certificate not accepted: self-signed certificate"


def test_docker_socket_missing(tmp_path):
    exc = raised(lambda: docker.APIClient(base_url=f"unix://{tmp_path}/none.sock", version="auto", timeout=5))
    assert why_unreachable(exc) == "no such socket file"


def test_docker_socket_nobody_listens_on(tmp_path):
    path = str(tmp_path / "dead.sock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(path)  # the file stays, nobody listens
    exc = raised(lambda: docker.APIClient(base_url=f"unix://{path}", version="auto", timeout=5))
    assert why_unreachable(exc) == "connection refused"


# The child only connects and writes to a pipe; the threads forked away (other tests' listeners) hold no lock it needs.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_docker_socket_permission_denied():
    """As a user outside the socket's group: a forked child drops to ``nobody`` when the test runs as root."""
    directory = tempfile.mkdtemp(prefix="containerops-unreachable-")
    os.chmod(directory, 0o755)
    path = os.path.join(directory, "docker.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    os.chmod(path, 0)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            exc = raised(lambda: docker.APIClient(base_url=f"unix://{path}", version="auto", timeout=5))
            os.write(write_end, why_unreachable(exc).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        said = pipe.read()
    os.waitpid(child, 0)
    server.close()
    shutil.rmtree(directory)
    assert said == "permission denied"


def test_docker_tcp_refused_and_unresolved():
    refused = raised(lambda: docker.APIClient(base_url=f"tcp://127.0.0.1:{closed_port()}", version="auto", timeout=5))
    assert why_unreachable(refused) == "connection refused"
    unresolved = raised(lambda: docker.APIClient(base_url="tcp://nonexistent.invalid:2375", version="auto", timeout=5))
    assert why_unreachable(unresolved) == "name not resolved"


def test_docker_tcp_no_answer_in_time():
    with listener() as port:
        exc = raised(lambda: docker.APIClient(base_url=f"tcp://127.0.0.1:{port}", version="auto", timeout=0.2))
    assert why_unreachable(exc) == "timed out"


def test_an_unknown_fault_is_its_own_text_made_safe():
    assert why_unreachable(ValueError("odd \x1b[2J answer\nhere")) == "odd \\x1b[2J answer here"
    assert why_unreachable(ValueError()) == "ValueError"
    assert why_unreachable(OSError(errno.EIO, "Input/output error")) == "input/output error"


def test_causes_follow_arguments_reasons_causes_and_contexts_once():
    inner = ConnectionRefusedError(errno.ECONNREFUSED, "refused")

    class Wrapper(Exception):
        def __init__(self, reason):
            super().__init__("wrapped")
            self.reason = reason

    outer = RuntimeError("outer", Wrapper(inner))
    outer.__cause__ = inner
    assert [type(link) for link in causes(outer)] == [RuntimeError, Wrapper, ConnectionRefusedError]
