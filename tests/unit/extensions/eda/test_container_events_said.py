"""What the event source logs when its engine cannot be reached, or answers with escape sequences.

Real connections, on 127.0.0.1 and a Unix socket path that does not exist; the escape sequences come from a
``responses`` answer. The followers run their own loop until their first wait after a failure.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
import requests
import responses

from ansible_collections.containerops.lifecycle.extensions.eda.plugins.event_source import container_events as ce

TOKEN = "hdy_event_source_secret"
EVIL = "boom \x1b]0;pwned\x07 \x1b[2J \u202egnp.exe"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_loss(follower: ce.Source, caplog) -> str:
    """Run ``follower`` until it first waits to try again; the warning it logged."""

    async def stop(seconds: float) -> None:
        raise asyncio.CancelledError

    follower._pause = stop  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="containerops.lifecycle.container_events"), pytest.raises(
        asyncio.CancelledError
    ):
        asyncio.run(follower.run())
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    return warnings[0]


def test_a_hoody_api_from_the_environment_that_refuses_is_named_with_its_variable(monkeypatch, caplog):
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HOODY_API_URL", url)
    options = ce.parse_options({"backend": "hoody", "api_token": TOKEN, "retries": 0})
    said = first_loss(ce.Source(options, asyncio.Queue()), caplog)
    assert f"cannot reach the Hoody API at {url} (api_url, from HOODY_API_URL): connection refused" in said
    assert "Max retries" not in said and TOKEN not in said


def test_a_docker_socket_that_is_not_there_is_said_plainly(tmp_path, caplog):
    host = f"unix://{tmp_path}/docker.sock"
    options = ce.parse_options({"docker_host": host, "retries": 0})
    said = first_loss(ce.Source(options, asyncio.Queue()), caplog)
    assert f"cannot reach the Docker engine at {host} (docker_host): no such socket file" in said
    assert "FileNotFoundError" not in said


@responses.activate
def test_an_engine_answering_escape_sequences_is_logged_escaped(caplog):
    api = "http://hoody.test"
    responses.get(f"{api}/api/v1/containers/", status=400,
                  json={"statusCode": 400, "error": "Bad Request", "message": EVIL})  # fmt: skip
    options = ce.parse_options({"backend": "hoody", "api_url": api, "api_token": TOKEN, "retries": 0})
    said = first_loss(ce.Source(options, asyncio.Queue()), caplog)
    assert "boom \\x1b]0;pwned\\x07 \\x1b[2J \\u202egnp.exe" in said
    assert not [ch for ch in said if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch == "\u202e"]


def test_said_is_our_message_or_why_unreachable_never_a_library_text():
    assert ce.said(ce.ContainerOpsError("cannot reach X: connection refused")) == "cannot reach X: connection refused"
    try:
        requests.get(f"http://127.0.0.1:{closed_port()}/", timeout=5)
    except requests.exceptions.ConnectionError as exc:
        assert ce.said(exc) == "connection refused"
