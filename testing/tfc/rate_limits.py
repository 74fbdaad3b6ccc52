"""HCP Terraform's rate limit: so many requests a second per token, 429 beyond, and the
X-RateLimit headers on every answer while a limit is set."""

from __future__ import annotations

import time
from dataclasses import dataclass

from testing.http_stand_in import Reply


@dataclass
class _RateWindow:
    start: float
    count: int = 0


def rate_limit_headers(limit: float, remaining: int, reset: float) -> tuple[tuple[str, str], ...]:
    """HashiCorp's headers; the reset is in seconds, a float (e.g. 0.734)."""
    return (
        ("X-RateLimit-Limit", f"{limit:g}"),
        ("X-RateLimit-Remaining", str(max(remaining, 0))),
        ("X-RateLimit-Reset", f"{max(reset, 0.0):.3f}"),
    )


def too_many_requests(headers: tuple[tuple[str, str], ...]) -> Reply:
    """The documentation's 429 document (its `status` is a number there)."""
    body = {
        "errors": [
            {
                "detail": "You have exceeded the API's rate limit.",
                "status": 429,
                "title": "Too many requests",
            }
        ]
    }
    return Reply(429, body, headers)


class RateLimits:
    """per_second requests in each one-second window, per token (unauthenticated requests share
    one window); None: no limit. Used under the server's lock."""

    def __init__(self, per_second: float | None = None) -> None:
        self.per_second = per_second
        self._windows: dict[str, _RateWindow] = {}

    def refusal(self, token: str | None) -> Reply | None:
        """429 when this request goes beyond the limit (it counts either way)."""
        if self.per_second is None:
            return None
        window = self._window(token)
        window.count += 1
        if window.count <= self.per_second:
            return None
        reset = window.start + 1.0 - time.monotonic()
        return too_many_requests(rate_limit_headers(self.per_second, 0, reset))

    def with_headers(self, reply: Reply, token: str | None) -> Reply:
        if self.per_second is None or reply.status == 429:
            return reply
        window = self._window(token)
        remaining = int(self.per_second) - window.count
        reset = window.start + 1.0 - time.monotonic()
        headers = rate_limit_headers(self.per_second, remaining, reset)
        return Reply(reply.status, reply.body, reply.headers + headers, reply.content_type)

    def _window(self, token: str | None) -> _RateWindow:
        key = token or "unauthenticated"
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or now - window.start >= 1.0:
            window = self._windows[key] = _RateWindow(now)
        return window


class RunsListLimit:
    """The runs lists' own limit: "30 requests per minute" per token (api-docs/run.mdx, "List
    Runs in a Workspace"), counted over the last 60 s; 429 beyond, with the seconds until the
    oldest request leaves the minute as X-RateLimit-Reset. Used under the server's lock."""

    def __init__(self, per_minute: int = 30) -> None:
        self.per_minute = per_minute
        self._calls: dict[str, list[float]] = {}

    def refusal(self, token: str | None) -> Reply | None:
        now = time.monotonic()
        calls = [t for t in self._calls.get(token or "", []) if now - t < 60.0]
        if len(calls) >= self.per_minute:
            self._calls[token or ""] = calls
            return too_many_requests(rate_limit_headers(self.per_minute, 0, calls[0] + 60 - now))
        self._calls[token or ""] = [*calls, now]
        return None
