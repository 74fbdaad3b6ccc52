"""A running terraform process and the signals scheduled for it (binary.py starts it).

terraform stops cleanly, releasing its state lock, on SIGINT; one that does not stop within the
grace period gets SIGTERM, then its whole process group the kill (a stuck child holding the
output pipe open must not keep the step waiting).
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator

# Seconds after that SIGTERM before the child's whole process group is killed.
KILL_DELAY = 5.0


class TerraformProcess:
    """A running terraform process, and the signals scheduled for it: its deadline's interrupt,
    and once interrupted, the SIGTERM and the kill that follow if it does not stop."""

    def __init__(self, process: subprocess.Popen[str], verb: str, grace: float) -> None:
        self.process = process
        self.verb = verb
        self.grace = grace
        self.interrupted = self.forced = False
        self.timed_out: float | None = None
        self._timers: list[threading.Timer] = []
        self._deadline: threading.Timer | None = None
        # Reentrant: cancel() may come from a signal handler while this thread holds it.
        self._lock = threading.RLock()
        self._finished = False

    def set_deadline(self, seconds: float | None) -> None:
        """Interrupt it, as cancel() does, if it still runs after seconds (None: no deadline);
        a deadline set before is dropped."""
        with self._lock:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = None
        if seconds is not None:
            self._deadline = self._later(seconds, self._time_out, seconds)

    def interrupt(self) -> None:
        """SIGINT now; SIGTERM after the grace period, then the kill, if it is still running.
        Only the first call signals: a second SIGINT would make terraform exit at once."""
        with self._lock:
            if self.interrupted or self.process.poll() is not None:
                return
            self.interrupted = True
            self.process.send_signal(signal.SIGINT)
        self._later(self.grace, self._terminate)

    def _time_out(self, seconds: float) -> None:
        if self.process.poll() is None and not self.interrupted:
            self.timed_out = seconds
        self.interrupt()

    def _terminate(self) -> None:
        if self.process.poll() is None:
            self.forced = True
            self.process.send_signal(signal.SIGTERM)
            self._later(KILL_DELAY, self._kill)

    def _kill(self) -> None:
        if self.process.poll() is None:  # the group's leader still runs: its group is its own
            os.killpg(self.process.pid, signal.SIGKILL)

    def _later(
        self, seconds: float, action: Callable[..., None], *arguments: object
    ) -> threading.Timer | None:
        with self._lock:
            if self._finished:
                return None
            timer = threading.Timer(seconds, action, arguments)
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
            return timer

    def stop_escalation(self) -> None:
        """Cancel every signal still to come: the process has exited."""
        with self._lock:
            self._finished = True
            for timer in self._timers:
                timer.cancel()


def lines_and_prompt(child: TerraformProcess, prompt: str) -> Iterator[tuple[str, bool]]:
    """Each line the process prints, and (with waiting True) each time it waits at prompt, a
    line without an end: read as it comes, not a line at a time."""
    stdout = child.process.stdout
    if stdout is None:
        raise AssertionError("unreachable: stdout is a pipe")
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pending = ""
    while chunk := os.read(stdout.fileno(), 65536):
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            yield line.rstrip("\r"), False
        if pending.strip() == prompt.strip():
            pending = ""
            yield "", True
    if pending:
        yield pending, False


def answer(child: TerraformProcess, approved: bool | None, apply_timeout: float | None) -> None:
    """Approve the plan (the apply's own timeout from now on), decline it, or (None) close the
    input unanswered."""
    stdin = child.process.stdin
    if stdin is None:
        raise AssertionError("unreachable: stdin is a pipe")
    if approved:
        child.verb = "terraform apply"
        child.set_deadline(apply_timeout)
    try:
        if approved is not None:
            stdin.write("yes\n" if approved else "no\n")
        stdin.close()
    except OSError:  # terraform ended first: its exit tells
        pass
