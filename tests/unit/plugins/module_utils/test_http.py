"""The REST client's edge: Retry-After in every form servers send, the retry budget, what messages show."""

from __future__ import annotations

import time

import pytest
import responses

from ansible_collections.containerops.lifecycle.plugins.module_utils import _errors as errors
from ansible_collections.containerops.lifecycle.plugins.module_utils._http import ApiClient, ApiError, _retry_after

API = "http://127.0.0.1:9"


class Answer:
    def __init__(self, retry_after):
        self.headers = {"Retry-After": retry_after} if retry_after is not None else {}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, 0.0),
        ("", 0.0),
        ("2", 2.0),
        ("1.5", 1.5),
        ("soon", 0.0),
        ("nan", 0.0),
        ("inf", 0.0),
        ("-5", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("Mon, 99 Foo 2015", 0.0),
        ("99999999999999999999", 1e20),
    ],
)
def test_retry_after_in_every_form_is_a_number_or_absent(header, expected):
    assert _retry_after(Answer(header)) == expected


def test_retry_after_as_a_future_date():
    moment = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 <= _retry_after(Answer(moment)) <= 61


@responses.activate
def test_a_wait_longer_than_the_retry_budget_fails_at_once_saying_until_when(monkeypatch):
    sleeps = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    responses.get(
        f"{API}/x",
        status=429,
        json={"error": "Too many failed authentication attempts"},
        headers={"Retry-After": "300"},
    )
    with pytest.raises(ApiError) as caught:
        ApiClient(API, timeout=5, retries=3).request("GET", "/x")
    assert caught.value.status == 429 and sleeps == [] and len(responses.calls) == 1
    assert "asks to wait 300s before trying again (until " in str(caught.value)


@responses.activate
def test_an_unusable_retry_after_is_retried_with_backoff(monkeypatch):
    sleeps = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    responses.get(f"{API}/x", status=429, headers={"Retry-After": "soon"})
    responses.get(f"{API}/x", json={"ok": True})
    assert ApiClient(API, timeout=5, retries=3).json("GET", "/x") == {"ok": True}
    assert len(sleeps) == 1 and 0 < sleeps[0] < 1


@responses.activate
def test_a_body_that_is_not_json_names_the_endpoint():
    responses.get(f"{API}/api/things", body="<html>oops", status=200)
    with pytest.raises(ApiError, match=r"GET /api/things answered HTTP 200: the answer is not JSON"):
        ApiClient(API, timeout=5, retries=0).json("GET", "/api/things")


def test_a_password_in_api_url_is_never_shown():
    client = ApiClient("http://user:s3cret@127.0.0.1:9/base", timeout=1, retries=0)
    assert client.base_url == "http://127.0.0.1:9/base"
    with pytest.raises(errors.ConnectionFailed) as caught:
        client.request("GET", "/x")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(errors.BadInput) as caught:
        ApiClient("ftp://user:s3cret@host", timeout=1, retries=0)
    assert "s3cret" not in str(caught.value)


@responses.activate
def test_credentials_in_api_url_go_as_basic_auth_only_without_a_token():
    responses.get(f"{API}/x", json={})
    client = ApiClient("http://proxy-user:s3cret@127.0.0.1:9", timeout=5, retries=0)
    client.request("GET", "/x")
    assert responses.calls[-1].request.headers["Authorization"].startswith("Basic ")
    assert responses.calls[-1].request.url == f"{API}/x"
    client.set_bearer("tok")
    client.request("GET", "/x")
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer tok"


@responses.activate
def test_a_wait_beyond_any_date_is_still_said_plainly(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda _: None)
    responses.get(f"{API}/x", status=429, headers={"Retry-After": str(10**18)})
    with pytest.raises(ApiError, match=r"asks to wait 1000000000000000000s before trying again$"):
        ApiClient(API, timeout=5, retries=3).request("GET", "/x")
