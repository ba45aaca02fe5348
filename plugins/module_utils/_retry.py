# Copyright: containerops.lifecycle contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retries for transient faults, decided in one place.

Only reads (and other idempotent calls) go through here. A lifecycle operation is never resent
blindly: the driver re-reads the container's status and plans again instead.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")

BASE_DELAY = 0.25
MAX_DELAY = 30.0
# HTTP answers that say "try again later", from a REST API or the Docker Engine alike.
TRANSIENT_STATUS = (429, 502, 503, 504)


def backoff_delay(attempt: int, base: float = BASE_DELAY, retry_after: Optional[float] = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): exponential with jitter, capped.

    A server's ``Retry-After`` wins when given.
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_DELAY)
    return min(base * (2 ** (attempt - 1)) + random.uniform(0, base), MAX_DELAY)


def call_with_retries(
    call: Callable[[], T],
    retries: int,
    transient: Callable[[Exception], Optional[float]],
    sleep: Optional[Callable[[float], None]] = None,
) -> T:
    """Run ``call``; on an exception ``transient`` recognises, wait and try again up to ``retries`` times.

    ``transient(exc)`` returns ``None`` for a fault that must not be retried, ``0`` for a transient
    one, or the server-requested delay in seconds (``Retry-After``).
    """
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            retry_after = transient(exc)
            if retry_after is None or attempt >= retries:
                raise
            attempt += 1
            (sleep or time.sleep)(backoff_delay(attempt, retry_after=retry_after or None))


def poll(
    read: Callable[[], Any],
    done: Callable[[Any], bool],
    timeout: float,
    first_delay: float,
    max_delay: float = 5.0,
    looks: int = 1,
) -> Any:
    """Call ``read`` until ``done(result)``, sleeping from ``first_delay`` with 1.5x backoff.

    At least ``looks`` reads are made, however long they take (a slow engine or a loaded machine must not
    cut the looking short). Returns the last result when done; raises ``TimeoutError`` with the last result
    as its argument.
    """
    deadline = time.monotonic() + timeout
    delay = first_delay
    made = 0
    while True:
        result = read()
        made += 1
        if done(result):
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0 and made >= looks:
            raise TimeoutError(result)
        time.sleep(min(delay, remaining) if made >= looks else delay)  # past its looks, not past the window
        delay = min(delay * 1.5, max_delay)
