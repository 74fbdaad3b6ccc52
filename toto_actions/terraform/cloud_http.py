"""HCP Terraform's HTTP side: one session with the token, a pacer that keeps under the API's
30 requests a second, and retries of 429 and 5xx honouring Retry-After and HashiCorp's
X-RateLimit-Reset (seconds until the reset, not an epoch time). cloud_api.py builds the
endpoints on it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from toto_actions.errors import UsageError
from toto_actions.http_retry import RequestFailed, RequestPacer, RetryPolicy, retry_delay

JSON_API = "application/vnd.api+json"
REQUESTS_PER_SECOND = 30  # HashiCorp's documented limit per token


class TfcError(RequestFailed):
    """An HCP Terraform API request that failed for good."""

    @property
    def unanswered(self) -> bool:
        """No answer, or a server error: the request may or may not have been carried out."""
        return self.status is None or self.status >= 500


class TfcTransport:
    """Requests to one HCP Terraform address with one token, paced and retried."""

    def __init__(
        self, address: str, token: str, organization: str, retry: RetryPolicy | None = None
    ) -> None:
        self.address = address.rstrip("/")
        self.organization = organization
        self._session = requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bearer {token}", "Content-Type": JSON_API, "Accept": JSON_API}
        )
        self._pacer = RequestPacer(1 / REQUESTS_PER_SECOND)
        self._retry = retry or RetryPolicy()
        self._jitter = random.Random()  # noqa: S311 - spreads retries; no secret

    def _get(self, path: str, what: str) -> dict[str, Any]:
        return self._send("GET", path, what)

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        body: Mapping[str, Any] | None = None,
        *,
        creates: bool = False,
        accept: str = JSON_API,
    ) -> dict[str, Any]:
        def request() -> requests.Response:
            return self._session.request(
                method, self.address + path, json=body, timeout=60, headers={"Accept": accept}
            )

        answer = self._with_retries(what, request, creates=creates)
        if answer.status_code == 403 and "organization token" in error_detail(answer):
            raise UsageError(
                f"{what}: refused (403): runs need a user or team token, not an organization token"
            )
        if answer.status_code >= 400:
            raise TfcError(what, answer.status_code, error_detail(answer))
        if not answer.content:
            return {}
        document: dict[str, Any] = answer.json()
        return document

    def _with_retries(
        self, what: str, request: Callable[[], requests.Response], *, creates: bool = False
    ) -> requests.Response:
        """Send, retrying 429s and, unless the request creates something (a second POST of a
        run could make a second run), server errors and lost connections."""
        for attempt in range(1, self._retry.attempts + 1):
            with self._pacer.turn():
                try:
                    answer = request()
                except requests.RequestException as failure:
                    answer, problem = None, type(failure).__name__
            if answer is not None and answer.status_code != 429 and answer.status_code < 500:
                return answer
            if creates and (answer is None or answer.status_code != 429):
                detail = error_detail(answer) if answer is not None else problem
                raise TfcError(what, answer.status_code if answer is not None else None, detail)
            status = answer.status_code if answer is not None else None
            headers = _absolute_reset(dict(answer.headers) if answer is not None else {})
            wait = retry_delay(
                attempt,
                None if status == 429 else status,
                headers,
                policy=self._retry,
                now=time.time(),
                jitter=self._jitter,
            )
            if attempt == self._retry.attempts or wait is None:
                detail = error_detail(answer) if answer is not None else problem
                raise TfcError(what, status, detail)
            time.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _absolute_reset(headers: dict[str, str]) -> dict[str, str]:
    """HashiCorp's X-RateLimit-Reset counts seconds from now; the retry rules take an epoch."""
    lowered = {k.lower(): v for k, v in headers.items()}
    reset = lowered.get("x-ratelimit-reset")
    try:
        if reset is not None:
            lowered["x-ratelimit-reset"] = str(time.time() + float(reset))
            lowered.setdefault("x-ratelimit-remaining", "0")
    except ValueError:
        lowered.pop("x-ratelimit-reset")
    return lowered


def require_success(what: str, answer: requests.Response) -> None:
    """Raise TfcError naming the status unless the answer is a success (2xx)."""
    if not 200 <= answer.status_code < 300:
        raise TfcError(what, answer.status_code, error_detail(answer))


def error_detail(answer: requests.Response) -> str:
    try:
        errors = answer.json().get("errors") or []
    except ValueError:
        return answer.reason or ""
    parts = [str(e.get("detail") or e.get("title") or "") for e in errors if isinstance(e, dict)]
    return "; ".join(p for p in parts if p) or (answer.reason or "")
