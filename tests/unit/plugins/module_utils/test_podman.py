"""The Podman backend: its libpod client over tcp:// (``responses``), and its decisions as pure functions."""

from __future__ import annotations

import pytest
import responses

from ansible_collections.containerops.lifecycle.plugins.module_utils import _podman
from ansible_collections.containerops.lifecycle.plugins.module_utils._errors import BadInput
from ansible_collections.containerops.lifecycle.plugins.module_utils._podman import (
    LibpodClient,
    PodmanApiError,
    PodmanUnreachable,
)

HOST = "tcp://127.0.0.1:9"
API = "http://127.0.0.1:9/v4.0.0/libpod"


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)


# The client ----------------------------------------------------------------------------------------


@responses.activate
def test_call_returns_the_json_of_a_path_under_the_libpod_root():
    responses.get(
        f"{API}/containers/json",
        json=[{"Id": "a" * 64}],
        match=[responses.matchers.query_param_matcher({"all": "True"})],
    )
    assert LibpodClient(HOST, 5, 0).call("GET", "/containers/json", {"all": True}) == [{"Id": "a" * 64}]


@responses.activate
def test_an_empty_answer_is_none_and_a_plain_text_one_its_text():
    responses.post(f"{API}/containers/x/start", status=204)
    responses.get(f"{API}/_ping", body="OK", content_type="text/plain")
    client = LibpodClient(HOST, 5, 0)
    assert client.call("POST", "/containers/x/start") is None
    assert client.call("GET", "/_ping") == "OK"


@responses.activate
def test_an_error_answer_is_a_podman_api_error_with_libpods_message_made_safe():
    responses.post(
        f"{API}/containers/x/pause",
        status=500,
        json={
            "cause": "container state improper",
            "message": '\x1b[2J"x" is not running: container state improper',
            "response": 500,
        },
    )
    with pytest.raises(PodmanApiError) as caught:
        LibpodClient(HOST, 5, 3).call("POST", "/containers/x/pause")
    assert caught.value.status == 500
    assert caught.value.message == '\\x1b[2J"x" is not running: container state improper'
    assert len(responses.calls) == 1  # a request that changes something is never sent again


@responses.activate
def test_a_read_is_retried_on_a_transient_answer_and_a_change_is_not(no_sleep):
    responses.get(f"{API}/containers/json", status=503, json={"message": "busy"})
    responses.get(f"{API}/containers/json", json=[])
    responses.post(f"{API}/containers/x/stop", status=503, json={"message": "busy"})
    client = LibpodClient(HOST, 5, 2)
    assert client.call("GET", "/containers/json") == []
    with pytest.raises(PodmanApiError) as caught:
        client.call("POST", "/containers/x/stop")
    assert caught.value.status == 503 and len(responses.calls) == 3


@responses.activate
def test_a_malformed_answer_is_a_podman_api_error():
    responses.get(f"{API}/containers/x/json", body="{not json", content_type="application/json")
    with pytest.raises(PodmanApiError, match="the answer is not JSON"):
        LibpodClient(HOST, 5, 0).call("GET", "/containers/x/json")


@responses.activate
def test_stream_yields_each_json_line_and_skips_blank_ones():
    responses.get(f"{API}/events", body='{"Action": "start"}\n\n{"Action": "died"}\n', content_type="application/json")
    assert list(LibpodClient(HOST, 5, 0).stream("GET", "/events", {"stream": "true"})) == [
        {"Action": "start"},
        {"Action": "died"},
    ]


def test_a_missing_socket_is_unreachable_in_plain_words_and_nothing_was_in_flight(tmp_path):
    client = LibpodClient(f"unix://{tmp_path}/podman.sock", 2, 0)
    with pytest.raises(PodmanUnreachable) as caught:
        client.call("POST", "/containers/x/stop")
    assert str(caught.value) == f"cannot reach the Podman service at unix://{tmp_path}/podman.sock: no such socket file"
    assert not caught.value.in_flight and not caught.value.timed_out


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("http://h:1", "must be a unix:// or tcp:// URL"),
        ("ssh://me@h/run/podman/podman.sock", "ssh:// is not supported by backend podman"),
        ("unix://run/podman.sock", "absolute path"),
        ("tcp://h", "must be tcp://host:port"),
        ("tcp://h:port", "must be a unix:// or tcp:// URL"),
    ],
)
def test_a_host_the_client_cannot_use_is_refused_before_anything_is_sent(host, words):
    with pytest.raises(BadInput, match=words):
        _podman.check_host(host)
