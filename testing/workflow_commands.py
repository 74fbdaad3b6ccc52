"""What a step printed on stdout, split into the values it asked the runner to mask
(`::add-mask::VALUE`, actions/toolkit docs/commands.md, "Masking a value in log") and the lines
the log shows."""

from __future__ import annotations

MASK = "::add-mask::"


def masks(stdout: str) -> set[str]:
    """The values the step registered as secrets."""
    return {line.removeprefix(MASK) for line in stdout.splitlines() if line.startswith(MASK)}


def shown_lines(stdout: str) -> list[str]:
    """The lines of stdout other than the mask commands: what the log shows."""
    return [line for line in stdout.splitlines() if not line.startswith(MASK)]
