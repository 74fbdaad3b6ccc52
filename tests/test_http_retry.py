"""Retry rules and write pacing."""

from __future__ import annotations

import itertools
import random
import threading
import time

import pytest

from toto_actions.http_retry import RetryPolicy, WritePacer, is_transient, retry_delay

POLICY = RetryPolicy(attempts=5, base_delay=1.0, max_delay=30.0)


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


def test_retry_after_wins() -> None:
    delay = retry_delay(
        1, {"Retry-After": "7", "X-RateLimit-Reset": "999"}, POLICY, 0, random.Random(1)
    )
    assert 7 <= delay <= 7.1


def test_the_reset_time_is_waited_for_when_the_quota_is_spent() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1012"}
    assert 12 <= retry_delay(1, headers, POLICY, 1000, random.Random(1)) <= 13


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    jitter = random.Random(1)
    delays = [retry_delay(attempt, {}, POLICY, 0, jitter) for attempt in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(POLICY.base_delay * 2 ** (attempt - 1), POLICY.max_delay)
        assert ceiling / 2 <= delay <= ceiling


def test_the_pacer_spaces_writes_across_threads() -> None:
    pacer = WritePacer(0.05)
    moments: list[float] = []
    lock = threading.Lock()

    def write() -> None:
        pacer.wait_turn()
        with lock:
            moments.append(time.monotonic())

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    moments.sort()
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    assert min(gaps) >= 0.045
