"""Retry rules and write pacing."""

from __future__ import annotations

import itertools
import random
import threading
import time

import pytest

from toto_actions.http_retry import (
    RequestPacer,
    RetryPolicy,
    is_transient,
    may_repeat,
    retry_delay,
)

POLICY = RetryPolicy(attempts=5, base_delay=1.0, max_wait=300.0)


@pytest.mark.parametrize(
    ("status", "headers", "message", "expected"),
    [
        (502, {}, "", True),
        (429, {}, "", True),
        (403, {}, "You have exceeded a secondary rate limit", True),
        (403, {"Retry-After": "3"}, "", True),
        (403, {"X-RateLimit-Remaining": "0"}, "API rate limit exceeded", True),
        (403, {}, "Resource not accessible by integration", False),
        (404, {}, "Not Found", False),
        (422, {}, "Bad key", False),
    ],
)
def test_what_is_transient(
    status: int, headers: dict[str, str], message: str, expected: bool
) -> None:
    assert is_transient(status, headers, message) is expected


def delay(
    attempt: int, status: int | None, headers: dict[str, str], now: float = 0
) -> float | None:
    return retry_delay(attempt, status, headers, policy=POLICY, now=now, jitter=random.Random(1))


def test_retry_after_wins() -> None:
    assert 7 <= (delay(1, 403, {"Retry-After": "7", "X-RateLimit-Reset": "999"}) or 0) <= 7.1


def test_the_reset_time_is_waited_for_when_the_quota_is_spent() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1012"}
    assert 12 <= (delay(1, 403, headers, now=1000) or 0) <= 13


def test_a_secondary_limit_without_headers_waits_a_minute_and_more_each_time() -> None:
    first, second = delay(1, 403, {}), delay(2, 403, {})
    assert first is not None and second is not None
    assert 60 <= first <= 72 and 120 <= second <= 144


def test_a_wait_longer_than_the_policy_allows_gives_up_at_once() -> None:
    assert delay(1, 403, {"Retry-After": "3600"}) is None
    assert delay(1, 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5000"}) is None


def test_server_errors_back_off_exponentially_with_jitter() -> None:
    for attempt in range(1, 6):
        wait = delay(attempt, 502, {})
        ceiling = POLICY.base_delay * 2 ** (attempt - 1)
        assert wait is not None and ceiling / 2 <= wait <= ceiling


def test_the_pacer_makes_writes_serial_and_spaced() -> None:
    pacer = RequestPacer(0.03)
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def write() -> None:
        with pacer.turn():
            started = time.monotonic()
            time.sleep(0.01)  # the request itself
            ended = time.monotonic()
        with lock:
            spans.append((started, ended))

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans.sort()
    for (_, previous_end), (next_start, _) in itertools.pairwise(spans):
        assert next_start - previous_end >= 0.028


@pytest.mark.parametrize(
    ("method", "status", "sent", "replay_safe", "expected"),
    [
        ("GET", 502, True, False, True),
        ("PUT", None, True, False, True),  # idempotent: a second PUT leaves the same state
        ("DELETE", 503, True, False, True),
        ("POST", 502, True, False, False),  # GitHub may have acted before the proxy failed
        ("POST", None, True, False, False),  # the answer was lost: it may have landed
        ("POST", None, False, False, True),  # never sent: the connection was refused
        ("POST", 429, True, False, True),  # a rate limit refuses before acting
        ("POST", 403, True, False, True),  # (a secondary rate limit: only those are transient)
        ("PATCH", 502, True, False, False),
        ("PATCH", 502, True, True, True),  # the caller vouches: the PATCH sets a whole value
        ("post", 502, True, False, False),
    ],
)
def test_what_may_be_sent_again(
    method: str, status: int | None, sent: bool, replay_safe: bool, expected: bool
) -> None:
    assert may_repeat(method, status, sent, replay_safe) is expected
