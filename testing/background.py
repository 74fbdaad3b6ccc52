"""Waiting for what a command left running on its own: install.sh compiles the dependencies'
bytecode in a detached process once it has printed its path."""

from __future__ import annotations

import time
from pathlib import Path


def wait_for_processes_naming(text: str, timeout: float = 120.0) -> None:
    """Return once no process of this machine has text in its command line (Linux /proc)."""
    deadline = time.monotonic() + timeout
    while _command_lines_naming(text):
        if time.monotonic() > deadline:
            raise TimeoutError(f"processes naming {text!r} still run after {timeout:g} s")
        time.sleep(0.05)


def _command_lines_naming(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        if text in line:
            found.append(line)
    return found
