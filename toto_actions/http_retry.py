"""Retrying transient HTTP failures and pacing writes: the rules, free of any HTTP client.

GitHub's REST guidance: retry 5xx, 429 and 403 secondary rate limits; wait `Retry-After` seconds
when given, else until `X-RateLimit-Reset` when the quota is spent, else back off exponentially;
and make content-creating requests one at a time, about a second apart. HCP Terraform's API
follows the same conventions, so its adapter uses these rules too.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from typing import NamedTuple


class RetryPolicy(NamedTuple):
    """How often and how long to retry: delays double from base_delay, capped at max_delay."""

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0


def is_transient(status: int, headers: Mapping[str, str], message: str) -> bool:
    """Whether a failed response is worth retrying: a server error or a rate limit."""
    if status >= 500 or status == 429:
        return True
    if status == 403:
        lowered = {name.lower(): value for name, value in headers.items()}
        return (
            "rate limit" in message.lower()
            or "retry-after" in lowered
            or lowered.get("x-ratelimit-remaining") == "0"
        )
    return False


def retry_delay(
    attempt: int,
    headers: Mapping[str, str],
    policy: RetryPolicy,
    now: float,
    jitter: random.Random,
) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry).

    `Retry-After` wins; then `X-RateLimit-Reset` (an epoch time) when the quota is spent; else
    exponential backoff. Jitter spreads the retries of concurrent workers apart.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    retry_after = _number(lowered.get("retry-after"))
    if retry_after is not None:
        return min(max(retry_after, 0.0), policy.max_delay) + jitter.uniform(0, 0.1)
    reset = _number(lowered.get("x-ratelimit-reset"))
    if reset is not None and lowered.get("x-ratelimit-remaining") == "0":
        return min(max(reset - now, 0.0), policy.max_delay) + jitter.uniform(0, 1.0)
    backoff = min(policy.base_delay * 2.0 ** (attempt - 1), policy.max_delay)
    return backoff * jitter.uniform(0.5, 1.0)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class WritePacer:
    """Spaces writes at least `interval` seconds apart, across every thread that shares it."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._next_write = 0.0

    def wait_turn(self) -> None:
        """Block until this caller may write; callers are served one at a time."""
        with self._lock:
            now = time.monotonic()
            if now < self._next_write:
                time.sleep(self._next_write - now)
            self._next_write = time.monotonic() + self._interval
