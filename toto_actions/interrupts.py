"""A cancelled job's signals (SIGINT, then SIGTERM) unwind a command like a failure, so that
every `finally` runs and private files are removed. Python's default SIGTERM ends the process at
once, running none of them."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

_STOPPING = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A signal stopped the command: it exits 128 + the signal's number, as a shell reports it."""

    def __init__(self, number: int) -> None:
        super().__init__(f"received {signal.Signals(number).name}: stopped")
        self.exit_code = 128 + number


@contextmanager
def on_stopping_signals(handle: Callable[[int], None]) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM call handle(signal number). Once one came, the
    block's exit leaves both ignored instead of restoring Python's defaults: the process is
    ending, and the runner's next signal (SIGTERM, 7.5 s after SIGINT) must not kill it before
    it reports and exits with its own code."""
    received: list[int] = []

    def handler(number: int, frame: FrameType | None) -> None:
        received.append(number)
        handle(number)

    previous = {number: signal.signal(number, handler) for number in _STOPPING}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, signal.SIG_IGN if received else old)


@contextmanager
def unwind_on_signals() -> Iterator[None]:
    """While the block runs, the first SIGINT or SIGTERM raises Interrupted (in the main
    thread); later ones are ignored, so that they cannot cut the cleanup short (GitHub's runner
    sends SIGTERM 7.5 s after SIGINT)."""
    raised: list[int] = []

    def interrupt(number: int) -> None:
        if not raised:
            raised.append(number)
            raise Interrupted(number)

    with on_stopping_signals(interrupt):
        yield
