"""_tls and the REST client's TLS: the options hold whatever REQUESTS_CA_BUNDLE says; TLS failures said and final.

Every connection is real: a TLS server on 127.0.0.1 with certificates made by ``openssl`` (tests/certificates.py),
with REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and SSL_CERT_FILE set to the system bundle, as on many machines.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import requests

from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import ConnectionFailed
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiClient
from ansible_collections.containerops.lifecycle.plugins.module_utils._tls import PinnedTLS, TlsFiles, default_trust
from ansible_collections.containerops.lifecycle.plugins.module_utils._unreachable import tls_problem
from tests.certificates import Authority, Issued

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class PinnedSession(PinnedTLS, requests.Session):
    pass


@pytest.fixture(autouse=True)
def bundle_variables(monkeypatch):
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.setenv(variable, SYSTEM_BUNDLE)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> SimpleNamespace:
    if not shutil.which("openssl"):
        pytest.skip("needs openssl to make certificates")
    directory = str(tmp_path_factory.mktemp("pki"))
    ca = Authority(directory, "ca")
    return SimpleNamespace(
        ca=ca,
        other=Authority(directory, "other"),
        server=ca.issue("server", ("IP:127.0.0.1",)),
        expired=ca.issue("expired", ("IP:127.0.0.1",), expired=True),
    )


@contextlib.contextmanager
def tls_server(cert: Issued) -> Iterator[SimpleNamespace]:
    """An HTTPS server on 127.0.0.1 answering ``{}`` to every request; ``accepted`` counts its connections."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    server = SimpleNamespace(accepted=0, url=f"https://127.0.0.1:{listener.getsockname()[1]}")

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            server.accepted += 1
            with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(65536)
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() the thread waits in
        listener.close()
        thread.join(5)


def client(url: str, **tls) -> ApiClient:
    return ApiClient(url, timeout=5, retries=3, what="the Hoody API", source="api_url", **tls)


def test_requests_lets_requests_ca_bundle_replace_a_session_s_ca_and_pinned_tls_puts_it_back(pki):
    with tls_server(pki.server) as server:
        plain = requests.Session()
        plain.verify = pki.ca.cert
        with pytest.raises(requests.exceptions.SSLError):  # the defect: the system bundle was used instead
            plain.get(server.url)
        pinned = PinnedSession()
        pinned.tls_files = TlsFiles(verify=True, ca=pki.ca.cert)
        assert pinned.get(server.url).json() == {}


def test_pinned_tls_honours_no_verification_and_keeps_the_environment_s_proxies(pki, monkeypatch):
    with tls_server(pki.server) as server:
        pinned = PinnedSession()
        pinned.tls_files = TlsFiles(verify=False)
        assert pinned.get(server.url).json() == {}
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    pinned.tls_files = TlsFiles(verify=True, ca="/etc/tls/ca.pem", cert="/etc/tls/cert.pem", key="/etc/tls/key.pem")
    settings = pinned.merge_environment_settings("https://engine.example:2376/", {}, None, None, None)
    assert settings["proxies"]["https"] == "http://proxy.example:3128"
    assert settings["verify"] == "/etc/tls/ca.pem" and settings["cert"] == ("/etc/tls/cert.pem", "/etc/tls/key.pem")


def test_without_a_ca_the_environment_s_bundle_decides():
    tls = TlsFiles(verify=True)
    assert tls.requests_verify(SYSTEM_BUNDLE) == SYSTEM_BUNDLE
    assert tls.requests_verify(None) is True and tls.requests_verify(False) is True
    assert TlsFiles(verify=False, ca="/ca.pem").requests_verify(SYSTEM_BUNDLE) is False
    assert TlsFiles(verify=True, ca="/ca.pem").requests_verify(SYSTEM_BUNDLE) == "/ca.pem"
    assert TlsFiles(verify=True, cert="/c.pem").requests_cert == "/c.pem"


def test_the_files_are_described_with_what_supplied_them():
    environ = {"REQUESTS_CA_BUNDLE": SYSTEM_BUNDLE}
    assert TlsFiles(verify=True).described(environ) == (
        f"CA: no ca_path, so the bundle {SYSTEM_BUNDLE} (REQUESTS_CA_BUNDLE); no client certificate"
    )
    assert default_trust({"CURL_CA_BUNDLE": "/b.pem"}) == "the bundle /b.pem (CURL_CA_BUNDLE)"
    assert default_trust({}) == "the certifi bundle of requests"
    from_dir = TlsFiles(verify=True, ca="/d/ca.pem", cert="/d/cert.pem", key="/d/key.pem",
                        origin={"ca": "DOCKER_CERT_PATH /d", "cert": "DOCKER_CERT_PATH /d"})  # fmt: skip
    assert from_dir.described(environ) == (
        "CA /d/ca.pem (DOCKER_CERT_PATH /d); client certificate /d/cert.pem (DOCKER_CERT_PATH /d)"
    )
    assert TlsFiles(verify=False).described(environ) == "the server's certificate not verified; no client certificate"


def test_the_rest_client_uses_ca_path_whatever_requests_ca_bundle_says(pki):
    with tls_server(pki.server) as server:
        api = client(server.url, ca_path=pki.ca.cert)
        assert api.json("GET", "/containers") == {}
        assert api.warnings == []


def test_the_rest_client_honours_validate_certs_false_with_a_warning(pki):
    with tls_server(pki.server) as server:
        api = client(server.url, validate_certs=False)
        assert api.json("GET", "/containers") == {}
    assert api.warnings == [
        f"TLS certificates of the Hoody API at {server.url} (api_url) are not verified (validate_certs is false): "
        "anyone on the network path can pose as it; give ca_path and validate_certs: true"
    ]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_tls_failure_is_final_and_says_what_failed_and_which_files(pki, method):
    with tls_server(pki.server) as server:
        with pytest.raises(ConnectionFailed) as raised:
            client(server.url).request(method, "/containers")
        assert server.accepted == 1  # not retried (retries=3), and a POST is not "failed in flight"
    assert str(raised.value) == (
        f"TLS to the Hoody API at {server.url} (api_url) failed: the server's certificate is not signed by a CA "
        f"trusted here (unable to get local issuer certificate); CA: no ca_path, so the bundle {SYSTEM_BUNDLE} "
        "(REQUESTS_CA_BUNDLE); no client certificate"
    )


def failure(url: str, **kwargs) -> BaseException:
    try:
        requests.get(url, timeout=5, **kwargs)
    except requests.exceptions.RequestException as exc:
        return exc
    raise AssertionError("the request succeeded")


def test_tls_problems_in_plain_words(pki):
    with tls_server(pki.server) as server, tls_server(pki.expired) as expired:
        assert tls_problem(failure(server.url, verify=pki.other.cert)).startswith(
            "the server's certificate is not signed by a CA trusted here ("
        )
        assert tls_problem(failure(server.url.replace("127.0.0.1", "localhost"), verify=pki.ca.cert)) == (
            "the server's certificate is not valid for the name or address connected to (Hostname mismatch, "
            "certificate is not valid for 'localhost'.)"
        )
        assert tls_problem(failure(expired.url, verify=pki.ca.cert)) == (
            "the server's certificate has expired (certificate has expired)"
        )


def test_not_a_tls_failure_is_none_and_plain_http_is_a_wrong_version():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert tls_problem(failure(f"https://127.0.0.1:{port}")) is None  # connection refused
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def answer_plain_http() -> None:
            conn, _ = listener.accept()
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

        thread = threading.Thread(target=answer_plain_http, daemon=True)
        thread.start()
        assert tls_problem(failure(f"https://127.0.0.1:{listener.getsockname()[1]}")) == (
            "the server does not speak TLS there (wrong version number)"
        )
        thread.join(5)
