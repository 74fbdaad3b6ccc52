"""Retry rules for a request that got no answer at all: given up within the policy's budget."""

from __future__ import annotations

import random

from toto_actions.http_retry import RetryPolicy, retry_delay

POLICY = RetryPolicy(attempts=6, base_delay=1.0, no_answer_budget=10.0)


def delay(attempt: int, status: int | None, elapsed: float | None) -> float | None:
    return retry_delay(
        attempt, status, {}, policy=POLICY, now=0, jitter=random.Random(1), elapsed=elapsed
    )


def test_no_answer_is_retried_while_the_wait_stays_within_the_budget() -> None:
    wait = delay(1, None, elapsed=0.1)
    assert wait is not None and 0.5 <= wait <= 1.0


def test_no_answer_is_given_up_once_the_wait_would_pass_the_budget() -> None:
    assert delay(4, None, elapsed=6.0) is None  # 4 to 8 s more: past 10 s
    assert delay(1, None, elapsed=12.0) is None  # one silent request took the budget


def test_the_budget_is_for_no_answer_only() -> None:
    assert delay(4, 502, elapsed=60.0) is not None  # a server error keeps the backoff
    assert delay(4, None, elapsed=None) is not None  # a caller that does not count: as before
