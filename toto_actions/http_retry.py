"""Retrying transient HTTP failures and pacing requests: the rules, free of any HTTP client.

GitHub's REST guidance: retry 5xx, 429 and 403 secondary rate limits; wait `Retry-After` seconds
when given, else until `X-RateLimit-Reset` when the quota is spent, else (a secondary limit) at
least a minute, growing exponentially; and make content-creating requests one at a time, about
a second apart. HCP Terraform's API follows the same conventions, so its adapter uses these
rules too. A request that may have taken effect is repeated only when doing it twice is the same
as doing it once (may_repeat).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import NamedTuple

from toto_actions.errors import OperationError

SECONDARY_LIMIT_WAIT = 60.0  # GitHub: "wait for at least one minute before retrying"
# RFC 9110 9.2.2: the methods whose repetition has the effect of one request.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class RequestFailed(OperationError):
    """A request that failed for good (after its retries, or at once when retrying cannot help):
    `<what>: <status, or no answer> <detail>`. Each adapter raises a subclass of its own."""

    def __init__(self, what: str, status: int | None, detail: str) -> None:
        super().__init__(f"{what}: {status or 'no answer'} {detail}".rstrip())
        self.status = status


def succeeded(request: Callable[[], object], *, unless: int) -> bool:
    """Make the request: True once it returns, False when it failed with the status `unless`,
    the answer that means no (404: not there; 409: no longer possible). Other failures raise."""
    try:
        request()
    except RequestFailed as problem:
        if problem.status != unless:
            raise
        return False
    return True


class RetryPolicy(NamedTuple):
    """How often and how long to retry.

    Server errors back off from base_delay, doubling. A rate limit is waited out as the server
    says, unless that is longer than max_wait: then retrying cannot help this run. A request
    that got no answer at all (refused, cut, timed out) is retried only while the time spent on
    it stays within no_answer_budget: a server that cannot be reached is reported in seconds.
    """

    attempts: int = 6
    base_delay: float = 1.0
    max_wait: float = 300.0
    no_answer_budget: float = 10.0


def is_transient(status: int, headers: Mapping[str, str], message: str) -> bool:
    """Whether a failed response is worth retrying: a server error or a rate limit."""
    if status >= 500 or status == 429:
        return True
    if status == 403:
        lowered = _lower(headers)
        return (
            "rate limit" in message.lower()
            or "retry-after" in lowered
            or lowered.get("x-ratelimit-remaining") == "0"
        )
    return False


def may_repeat(method: str, status: int | None, sent: bool, replay_safe: bool = False) -> bool:
    """Whether a request that failed transiently may be sent again.

    Always when repeating it cannot do anything twice: an idempotent method, or a request the
    caller vouches for (`replay_safe`: say, a create the server refuses to repeat with a 409).
    Otherwise (a POST that sends an event, starts a run) only when it cannot have taken effect:
    it was never sent (`sent` False: the connection was refused or never opened), or the server
    refused it for a rate limit (429, or 403), which it does before acting on it. A 5xx or a
    lost answer may come after the server acted: the request is not repeated.
    """
    if method.upper() in IDEMPOTENT_METHODS or replay_safe:
        return True
    if status is None:
        return not sent
    return status in {403, 429}


def retry_delay(
    attempt: int,
    status: int | None,
    headers: Mapping[str, str],
    *,
    policy: RetryPolicy,
    now: float,
    jitter: random.Random,
    elapsed: float | None = None,
) -> float | None:
    """Seconds to wait before retry number `attempt` (1 for the first), or None: give up now.

    `Retry-After` wins; then `X-RateLimit-Reset` (an epoch time) when the quota is spent; then,
    for a rate limit that says neither, a minute doubling per attempt; else (a server error or
    no answer) exponential backoff from base_delay. Jitter spreads concurrent workers apart.
    Given `elapsed` (seconds spent on the request so far) and no status (no answer), None once
    the wait would take it past the policy's no_answer_budget.
    """
    lowered = _lower(headers)
    retry_after = _number(lowered.get("retry-after"))
    reset = _number(lowered.get("x-ratelimit-reset"))
    if retry_after is not None:
        wait = max(retry_after, 0.0) + jitter.uniform(0, 0.1)
    elif reset is not None and lowered.get("x-ratelimit-remaining") == "0":
        wait = max(reset - now, 0.0) + jitter.uniform(0, 1.0)
    elif status in {403, 429}:
        wait = SECONDARY_LIMIT_WAIT * 2.0 ** (attempt - 1) * jitter.uniform(1.0, 1.2)
    else:
        wait = policy.base_delay * 2.0 ** (attempt - 1) * jitter.uniform(0.5, 1.0)
        if status is None and elapsed is not None and elapsed + wait > policy.no_answer_budget:
            return None
    return wait if wait <= policy.max_wait else None


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class RequestPacer:
    """Makes the requests it paces one at a time, each starting `interval` seconds after the
    previous ended, across every thread that shares it: GitHub's writes, every HCP Terraform
    request."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._next_turn = 0.0

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the only turn to send for the duration of the block."""
        with self._lock:
            delay = self._next_turn - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                yield
            finally:
                self._next_turn = time.monotonic() + self._interval
