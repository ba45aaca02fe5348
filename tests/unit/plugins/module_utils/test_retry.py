"""Retries: transient faults only, bounded, backing off, honouring Retry-After."""

from __future__ import annotations

import pytest

from ansible_collections.containerops.lifecycle.plugins.module_utils._retry import (
    MAX_DELAY,
    backoff_delay,
    call_with_retries,
    poll,
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


def test_poll_makes_its_looks_even_when_the_window_is_already_over():
    reads = []
    with pytest.raises(TimeoutError) as raised:
        poll(lambda: reads.append(len(reads)) or len(reads), lambda seen: False, 0, 0.0001, looks=4)
    assert reads == [0, 1, 2, 3] and raised.value.args == (4,)
    reads.clear()
    with pytest.raises(TimeoutError):
        poll(lambda: reads.append(len(reads)), lambda seen: False, 0, 0.0001)
    assert reads == [0]  # one look by default


def test_poll_returns_the_first_result_that_is_done():
    answers = iter([None, None, "ok", "later"])
    assert poll(lambda: next(answers), lambda seen: seen is not None, 5, 0.0001) == "ok"
