"""Retries: transient faults only, bounded, backing off, honouring Retry-After."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import (
    MAX_DELAY,
    backoff_delay,
    call_with_retries,
)


class Transient(Exception):
    pass


def flaky(failures: int, exc: Exception):
    calls = {"n": 0}

    def call():
        calls["n"] += 1
        if calls["n"] <= failures:
            raise exc
        return "ok"

    return call, calls


def classify(exc):
    return 0 if isinstance(exc, Transient) else None


def test_transient_faults_are_retried_until_success():
    call, calls = flaky(2, Transient())
    sleeps = []
    assert call_with_retries(call, 3, classify, sleep=sleeps.append) == "ok"
    assert calls["n"] == 3 and len(sleeps) == 2
    # Each wait doubles the base (0.25 s) and adds up to one base of jitter, so the bands never overlap.
    assert 0.25 <= sleeps[0] <= 0.5 <= sleeps[1] <= 0.75


def test_retries_are_bounded():
    call, calls = flaky(10, Transient())
    with pytest.raises(Transient):
        call_with_retries(call, 2, classify, sleep=lambda s: None)
    assert calls["n"] == 3


def test_other_faults_are_not_retried():
    call, calls = flaky(1, ValueError("bad"))
    with pytest.raises(ValueError):
        call_with_retries(call, 5, classify, sleep=lambda s: None)
    assert calls["n"] == 1


def test_retry_after_wins_and_is_capped():
    sleeps = []
    call, _ = flaky(1, Transient())
    call_with_retries(call, 1, lambda exc: 7.0, sleep=sleeps.append)
    assert sleeps == [7.0]
    assert backoff_delay(1, retry_after=3600) == MAX_DELAY
    assert backoff_delay(30) == MAX_DELAY
