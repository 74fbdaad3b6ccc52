"""The faults a stand-in server can be told to inject: requests answered with an error status,
or served and left unanswered (a lost answer)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote


@dataclass
class PathFailure:
    """Requests to fail: those whose percent-decoded path the pattern finds (re.search), and
    whose method is `method` if given."""

    pattern: re.Pattern[str]
    method: str | None
    status: int
    remaining: int | None  # None: for ever
    retry_after: str | None
    message: str | None = None
    reset_seconds: float = 0.0


@dataclass
class AnswerDrop:
    """Requests served but left unanswered: those whose percent-decoded path the pattern finds
    (re.search), and whose method is `method` if given."""

    pattern: re.Pattern[str]
    method: str | None
    remaining: int | None  # None: for ever

    def takes(self, method: str, decoded_path: str) -> bool:
        """Whether it takes this request, counted."""
        if self.remaining == 0 or self.method not in {None, method}:
            return False
        if not self.pattern.search(decoded_path):
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


def take_failure(failures: list[PathFailure], method: str, path: str) -> PathFailure | None:
    """The first of the failures that takes this request (its path as sent), counted."""
    decoded_path = unquote(path)
    for failure in failures:
        if failure.remaining == 0 or failure.method not in {None, method}:
            continue
        if failure.pattern.search(decoded_path):
            if failure.remaining is not None:
                failure.remaining -= 1
            return failure
    return None
