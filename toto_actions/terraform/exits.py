"""How a terraform run failed: its exit, and the one-line error (with the tail of its output)
that tf-apply reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from toto_actions.errors import OperationError

# Lines of a failed run's output that its error carries.
TAIL_LINES = 20


class TerraformError(OperationError):
    """A terraform run that failed; output_tail holds the last lines it printed."""

    def __init__(self, message: str, output_tail: Sequence[str]) -> None:
        text = "\n".join([message, *output_tail]) if output_tail else message
        super().__init__(text)
        self.output_tail = tuple(output_tail)


class Exit(NamedTuple):
    """How a terraform process exited: its exit code, its last non-blank lines and its first
    `Error:` line; timed_out, the limit it outlasted; forced, whether the interrupt was not
    enough to stop it."""

    verb: str
    code: int
    tail: tuple[str, ...]
    first_error: str | None
    timed_out: float | None = None
    forced: bool = False


def failure(exited: Exit, cancel_grace: float, *, cancelled: bool) -> TerraformError:
    """The error of a terraform process that failed: one line (its first error, else the exit
    code), then the tail of its output; for one that timed out, one line that says so."""
    if exited.timed_out is not None:
        limit = f"{exited.verb} timed out after {exited.timed_out:g} s"
        if exited.forced:
            return TerraformError(
                f"{limit} and did not stop within {cancel_grace:g} s of its "
                "interrupt: it was killed and may have left the state locked "
                "(terraform force-unlock)",
                (),
            )
        return TerraformError(f"{limit}: interrupted, it stopped cleanly", ())
    reason = exited.first_error or f"exit code {exited.code}"
    if cancelled:
        return TerraformError(f"{exited.verb} was cancelled: {reason}", exited.tail)
    return TerraformError(f"{exited.verb} failed: {reason}", exited.tail)
