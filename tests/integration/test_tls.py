"""TLS as the options say, with REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and SSL_CERT_FILE set, on real parts.

A private dockerd listens on ``tcp://127.0.0.1:<port>`` with ``--tlsverify`` and certificates made here with
``openssl`` (a private CA, a server certificate for IP 127.0.0.1, a client certificate); it is reached from the
options, from the ``DOCKER_*`` variables and from a context made by the real docker CLI. An expired server
certificate is served by a socat TLS front before the same engine's socket, and the Hoody test server is reached
through a socat TLS front with the private CA. Each failure gives one message, asserted as a user reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.certificates import Authority, Issued
from tests.integration.conftest import (
    CONNECTED_PLAY,
    GRACEFUL,
    HOODY_TOKEN,
    IMAGE,
    hoody_connection,
    task_results,
    tasks_registering,
)
from tests.integration.private_engine import PrivateEngine
from tests.integration.test_eda import follow, next_event
from tests.integration.test_engine_faults import RAW_FAILURES
from tests.servers import hoody

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
WEB = "hh-tls-web"
# The variables the Docker backend reads for its endpoint; unset here unless a test sets them.
DOCKER_VARIABLES = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
READY_WAIT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> SimpleNamespace:
    """A private CA and another one; server certificates (valid, expired) for 127.0.0.1; client certificates."""
    if not shutil.which("openssl"):
        pytest.fail("openssl is missing: apt-get install -y openssl")
    directory = str(tmp_path_factory.mktemp("hh-pki"))
    ca, other = Authority(directory, "ca"), Authority(directory, "other")
    return SimpleNamespace(
        directory=directory, ca=ca, other=other,
        server=ca.issue("server", ("IP:127.0.0.1",)),
        expired=ca.issue("expired", ("IP:127.0.0.1",), expired=True),
        client=ca.issue("client", client=True),
        stranger=other.issue("stranger", client=True),
    )  # fmt: skip


@pytest.fixture(scope="module")
def tls_engine(engine, pki) -> Iterator[SimpleNamespace]:
    """A private dockerd on tcp://127.0.0.1:<port> with --tlsverify (its socket too, to set it up), holding WEB."""
    if os.geteuid() != 0:
        pytest.skip("the private Docker engine needs root (it runs dockerd and creates a bridge)")
    port = free_port()
    private = PrivateEngine("hhtls", listen=(
        "--host", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", pki.ca.cert,
        "--tlscert", pki.server.cert, "--tlskey", pki.server.key,
    ))  # fmt: skip
    try:
        private.create_bridge()
        private.start()
        private.load_image(engine)
        private.client.create_container(IMAGE, GRACEFUL, name=WEB)
        yield SimpleNamespace(private=private, url=f"tcp://127.0.0.1:{port}", port=port)
    finally:
        private.close()
    assert not private.leftovers()


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path) -> str:
    """The CA bundle variables set to the system bundle, as on many machines; no DOCKER_* variable; a Docker CLI
    configuration directory of the test's own. Returns that directory."""
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.setenv(variable, SYSTEM_BUNDLE)
    for variable in DOCKER_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    config = str(tmp_path / "docker-config")
    os.makedirs(config)
    monkeypatch.setenv("DOCKER_CONFIG", config)
    return config


@contextlib.contextmanager
def tls_front(cert: Issued, target: str, log_dir: str) -> Iterator[SimpleNamespace]:
    """socat serving TLS with ``cert`` on a free port of 127.0.0.1 and relaying each connection to ``target``
    (``UNIX-CONNECT:/path`` or ``TCP:127.0.0.1:port``); ``connections()`` counts the connections it accepted."""
    if not shutil.which("socat"):
        pytest.fail("socat is missing: apt-get install -y socat")
    port = free_port()
    log = os.path.join(log_dir, f"socat-{port}.log")
    with open(log, "w") as handle:
        process = subprocess.Popen(
            ["socat", "-d", "-d",
             f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={cert.cert},key={cert.key},verify=0", target],
            stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + READY_WAIT

        def logged() -> str:
            with open(log) as handle:
                return handle.read()

        while "listening on" not in logged():  # not probed by connecting: every connection is counted
            assert process.poll() is None and time.monotonic() < deadline, logged()
            time.sleep(0.05)

        def connections() -> int:
            return logged().count("accepting connection from")

        yield SimpleNamespace(port=port, url=f"https://127.0.0.1:{port}", connections=connections)
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(tmp_path, *tasks: tuple[str, str], connection: Any = None) -> dict[str, Any]:
    """The tasks in one ansible-playbook; their registered results, checked for raw failures."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    play = CONNECTED_PLAY.format(tasks=tasks_registering(*tasks))
    process, out = task_results(tmp_path, play, {"connection": connection or {}})
    output = process.stdout + process.stderr
    assert out, output[-4000:]
    assert not [raw for raw in (*RAW_FAILURES, "HTTPSConnectionPool", "Module failed") if raw in json.dumps(out)], out
    return out


def tls_options(url: str, ca: str, client: Any = None, **more: Any) -> str:
    """The connection options of one task, as YAML lines."""
    options = {"docker_host": url, "validate_certs": True, "ca_path": ca, **more}
    if client is not None:
        options.update(client_cert=client.cert, client_key=client.key)
    return "\n".join(f"{key}: {json.dumps(value)}" for key, value in options.items())


def status(private: PrivateEngine) -> str:
    return private.client.inspect_container(WEB)["State"]["Status"]


def test_mutual_tls_from_the_options_is_used_whatever_requests_ca_bundle_says(tls_engine, pki, tmp_path):
    options = tls_options(tls_engine.url, pki.ca.cert, pki.client)
    unverified = "\n".join(f"{key}: {json.dumps(value)}" for key, value in {
        "docker_host": tls_engine.url, "tls": True, "validate_certs": False,
        "client_cert": pki.client.cert, "client_key": pki.client.key}.items())  # fmt: skip
    out = run(tmp_path,
              ("container_state", f"name: {WEB}\nstate: started\n{options}"),
              ("container_state", f"name: {WEB}\nstate: started\n{options}"),
              ("container_info", f"name: {WEB}\n{unverified}"))  # fmt: skip
    started, again, unverified_info = out["0"], out["1"], out["2"]
    assert started["changed"] is True and not started.get("failed"), started
    assert again["changed"] is False and not again.get("failed"), again
    assert status(tls_engine.private) == "running"
    # validate_certs: false is honoured although REQUESTS_CA_BUNDLE is set, and said.
    assert not unverified_info.get("failed"), unverified_info
    assert unverified_info["containers"][0]["status"] == "running"
    assert any(f"TLS certificates of the Docker engine at {tls_engine.url} (docker_host) are not verified" in warning
               for warning in unverified_info.get("warnings", [])), unverified_info  # fmt: skip
    tls_engine.private.client.stop(WEB, timeout=1)


def test_each_tls_failure_says_what_failed_and_which_option_gave_the_files(tls_engine, pki, tmp_path):
    tls_engine.private.client.start(WEB)
    name_url = tls_engine.url.replace("127.0.0.1", "localhost")
    stop = f"name: {WEB}\nstate: stopped\nretries: 3"
    with tls_front(pki.expired, f"UNIX-CONNECT:{tls_engine.private.socket}", str(tmp_path)) as expired:
        expired_url = f"tcp://127.0.0.1:{expired.port}"
        out = run(tmp_path,
                  ("container_state", f"{stop}\n{tls_options(tls_engine.url, pki.other.cert, pki.client)}"),
                  ("container_state", f"{stop}\n{tls_options(name_url, pki.ca.cert, pki.client)}"),
                  ("container_state", f"{stop}\n{tls_options(tls_engine.url, pki.ca.cert)}"),
                  ("container_state", f"{stop}\n{tls_options(tls_engine.url, pki.ca.cert, pki.stranger)}"),
                  ("container_state", f"{stop}\n{tls_options(expired_url, pki.ca.cert)}"))  # fmt: skip
        assert expired.connections() == 1  # final: not tried again
    where = f"TLS to the Docker engine at {tls_engine.url} (docker_host) failed: "
    assert out["0"]["msg"] == (
        f"{where}the server's certificate is not signed by a CA trusted here (unable to get local issuer "
        f"certificate); CA {pki.other.cert} (ca_path); client certificate {pki.client.cert} (client_cert)"
    )
    assert out["1"]["msg"] == (
        f"TLS to the Docker engine at {name_url} (docker_host) failed: the server's certificate is not valid for the "
        "name or address connected to (Hostname mismatch, certificate is not valid for 'localhost'.); "
        f"CA {pki.ca.cert} (ca_path); client certificate {pki.client.cert} (client_cert)"
    )
    assert out["2"]["msg"] == (
        f"{where}the server refused the client certificate (sslv3 alert bad certificate); CA {pki.ca.cert} (ca_path); "
        "no client certificate"
    )
    assert out["3"]["msg"] == (
        f"{where}the server refused the client certificate (sslv3 alert bad certificate); CA {pki.ca.cert} (ca_path); "
        f"client certificate {pki.stranger.cert} (client_cert)"
    )
    assert out["4"]["msg"] == (
        f"TLS to the Docker engine at {expired_url} (docker_host) failed: the server's certificate "
        f"has expired (certificate has expired); CA {pki.ca.cert} (ca_path); no client certificate"
    )
    assert all(out[step]["failed"] for step in out)
    assert status(tls_engine.private) == "running"  # nothing was changed
    tls_engine.private.client.stop(WEB, timeout=1)


def test_the_docker_variables_are_read_as_the_docker_cli_reads_them(tls_engine, pki, tmp_path, monkeypatch):
    cert_path = tmp_path / "certs"
    cert_path.mkdir()
    for source, target in ((pki.ca.cert, "ca.pem"), (pki.client.cert, "cert.pem"), (pki.client.key, "key.pem")):
        shutil.copy(source, cert_path / target)
    monkeypatch.setenv("DOCKER_HOST", tls_engine.url)
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "0")  # any non-empty value means verify, as for the docker CLI
    monkeypatch.setenv("DOCKER_CERT_PATH", str(cert_path))
    out = run(tmp_path, ("container_info", f"name: {WEB}"))
    assert not out["0"].get("failed"), out["0"]
    assert out["0"]["containers"][0]["name"] == WEB and not out["0"].get("warnings"), out["0"]


def docker_cli(*args: str) -> None:
    process = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    assert process.returncode == 0, process.stderr


def test_a_docker_context_made_by_the_docker_cli_is_used_named_or_current(tls_engine, pki, tmp_path, environment):
    docker_cli("context", "create", "hh-tls", "--docker",
               f"host={tls_engine.url},ca={pki.ca.cert},cert={pki.client.cert},key={pki.client.key}")  # fmt: skip
    out = run(tmp_path / "named",
              ("container_info", f"name: {WEB}\ndocker_context: hh-tls"),
              ("container_info", f"name: {WEB}\ndocker_context: hh-nope"),
              ("container_info", f"name: {WEB}\ndocker_context: hh-tls\ndocker_host: {tls_engine.url}"))  # fmt: skip
    assert out["0"]["containers"][0]["name"] == WEB and not out["0"].get("failed"), out["0"]
    assert out["1"]["msg"] == (
        f"Docker context 'hh-nope' (docker_context) is not in the Docker CLI's context store {environment}/contexts; "
        "known contexts: default, hh-tls"
    )
    assert out["2"]["msg"] == (
        f"docker_host ({tls_engine.url}) and docker_context (hh-tls) are both given: give one of them "
        "(a context holds its own endpoint and TLS files)"
    )
    docker_cli("context", "use", "hh-tls")
    current = run(tmp_path / "current", ("container_info", f"name: {WEB}"))
    assert current["0"]["containers"][0]["name"] == WEB and not current["0"].get("failed"), current["0"]
    # The inventory plugin reaches it through the current context too, and says how to reach it again.
    source = tmp_path / "tls.containers.yml"
    source.write_text("plugin: containerops.lifecycle.containers\nengines:\n  - name: tls\n")
    process = subprocess.run(["ansible-inventory", "-i", str(source), "--list"], capture_output=True, text=True,
                             timeout=300)  # fmt: skip
    assert process.returncode == 0, process.stderr[-3000:]
    hostvars = json.loads(process.stdout)["_meta"]["hostvars"]
    host = hostvars.get(f"{WEB}@tls") or hostvars.get(WEB)
    assert host, process.stderr[-3000:]
    assert re.search(r"hh-tls\b", json.dumps(host["containerops_connection"])), host


def test_the_event_source_follows_the_engine_of_the_current_docker_context(tls_engine, pki, monkeypatch, caplog):
    docker_cli("context", "create", "hh-events", "--docker",
               f"host={tls_engine.url},ca={pki.ca.cert},cert={pki.client.cert},key={pki.client.key}")  # fmt: skip
    monkeypatch.setenv("DOCKER_CONTEXT", "hh-events")
    following = f"following the event stream, docker at {tls_engine.url} (Docker context 'hh-events', "

    async def scenario(queue: asyncio.Queue) -> dict[str, Any]:
        deadline = time.monotonic() + READY_WAIT
        while not any(following in record.getMessage() for record in caplog.records):  # subscribed: events count
            assert time.monotonic() < deadline, caplog.text[-3000:]
            await asyncio.sleep(0.05)
        await asyncio.to_thread(tls_engine.private.client.start, WEB)
        return await next_event(queue, WEB, "start", [])

    with caplog.at_level(logging.INFO, logger="containerops.lifecycle.container_events"):
        event = asyncio.run(follow({"filters": {"name": WEB}}, scenario))
    assert event["engine"] == "docker" and event["connection"]["docker_context"] == "hh-events", event
    tls_engine.private.client.stop(WEB, timeout=1)


def test_a_rest_api_behind_tls_with_a_private_ca(pki, engine, make_containers, tmp_path):
    make_containers("hh-tls-rest")
    # The server gets the suite's engine client: this file's autouse fixture unsets DOCKER_HOST, which names the
    # suite's engine, so a client of the server's own would look for /var/run/docker.sock.
    with (
        hoody.start_server(token=HOODY_TOKEN, accept_delay=0.2, docker_client=engine) as hoody_server,
        tls_front(pki.server, f"TCP:{hoody_server.url.removeprefix('http://')}", str(tmp_path)) as front,
    ):
        connection = dict(hoody_connection(hoody_server), api_url=front.url, retries=3)
        out = run(tmp_path,
                  ("container_info", f"name: hh-tls-rest\nca_path: {pki.ca.cert}"),
                  ("container_info", "name: hh-tls-rest\nvalidate_certs: false"),
                  connection=connection)  # fmt: skip
        before = front.connections()
        refused = run(tmp_path / "refused", ("container_info", "name: hh-tls-rest"), connection=connection)["0"]
        assert front.connections() == before + 1  # final: not tried again
    trusted, unverified = out["0"], out["1"]
    assert trusted["containers"][0]["name"] == "hh-tls-rest" and not trusted.get("failed"), trusted
    assert unverified["containers"][0]["name"] == "hh-tls-rest" and not unverified.get("failed"), unverified
    assert any(f"TLS certificates of the Hoody API at {front.url} (api_url) are not verified" in warning
               for warning in unverified["warnings"]), unverified  # fmt: skip
    assert refused["msg"] == (
        f"TLS to the Hoody API at {front.url} (api_url) failed: the server's certificate is not signed by a CA "
        "trusted here (unable to get local issuer certificate); CA: no ca_path, so the bundle "
        f"{SYSTEM_BUNDLE} (REQUESTS_CA_BUNDLE); no client certificate"
    )
