"""The GitHub Actions runtime: outputs, job summary, masks, groups and annotations.

This is the only module that speaks the runner's protocol (workflow commands on stdout, the
GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files). Outside Actions every call degrades to plain text,
so the same command runs on a laptop. The escaping and heredoc framing come from
actions-toolkit's low-level modules; its `core` module is not used because it imports requests
at start-up and falls back to the deprecated `::set-output` command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from actions_toolkit.command import issue_command
from actions_toolkit.file_command import prepare_key_value_message

REDACTED = "***"
# Shorter values are not masked: see mask().
MIN_MASKED_LENGTH = 4

# Values registered with mask(); kept so that our own messages are redacted outside Actions too.
_masked_values: set[str] = set()


def in_actions() -> bool:
    """True when running as a step of a GitHub Actions job (or under act)."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def toolkit_checkout() -> Path | None:
    """The checkout of toto-actions the running action comes from (TOTO_ACTIONS_CHECKOUT, which
    a composite action sets from its own path), None when no action set it."""
    checkout = os.environ.get("TOTO_ACTIONS_CHECKOUT", "")
    return Path(checkout) if checkout else None


def debug_enabled() -> bool:
    """True when the runner's debug logging is on (RUNNER_DEBUG=1, as a debug re-run sets)."""
    return os.environ.get("RUNNER_DEBUG") == "1"


def maskable(value: str) -> bool:
    """Whether mask() hides this value: MIN_MASKED_LENGTH characters or more, spaces aside."""
    return len(value.strip()) >= MIN_MASKED_LENGTH


def mask(value: str) -> bool:
    """Register a sensitive value so the runner replaces it with *** in every later log line.

    Call it before anything could print the value. A multi-line value is masked whole and line by
    line, because the runner matches masks within single log lines. This is the one masking rule
    of every command: a value (or line) shorter than MIN_MASKED_LENGTH characters is not
    registered, because the runner would hide it inside every unrelated line ("1" hides every
    digit 1) and drop every step output that contains it. Returns whether the value was masked;
    the commands never print a value they handle as secret either way.
    """
    pieces = {value, *value.splitlines()}
    for piece in sorted(pieces, key=len, reverse=True):
        if not maskable(piece) or piece in _masked_values:
            continue
        _masked_values.add(piece)
        if in_actions():
            issue_command("add-mask", {}, piece)
    sys.stdout.flush()
    return maskable(value)


def redact(text: str) -> str:
    """Return text with every masked value replaced, longest first."""
    for value in sorted(_masked_values, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def info(message: str) -> None:
    """Print a line of the log."""
    print(redact(message), flush=True)


def warning(message: str, title: str | None = None) -> None:
    """Report a warning: an annotation under Actions, `warning: ...` on stderr elsewhere."""
    _annotate("warning", redact(message), title)


def notice(message: str, title: str | None = None) -> None:
    _annotate("notice", redact(message), title)


def event() -> tuple[str | None, str | None]:
    """The event that started the workflow and the file of its payload, as the runner sets
    them (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH); (None, None) outside Actions."""
    return os.environ.get("GITHUB_EVENT_NAME") or None, os.environ.get("GITHUB_EVENT_PATH") or None


def repository() -> str | None:
    """The repository the workflow runs in (GITHUB_REPOSITORY, owner/name)."""
    return os.environ.get("GITHUB_REPOSITORY") or None


def run_id() -> str | None:
    """This workflow run's id (GITHUB_RUN_ID); None outside Actions."""
    return os.environ.get("GITHUB_RUN_ID") or None


def workflow_ref() -> str | None:
    """The workflow file this run runs, as owner/name/path@ref (GITHUB_WORKFLOW_REF)."""
    return os.environ.get("GITHUB_WORKFLOW_REF") or None


def job_url() -> str | None:
    """The link to this workflow run's page; None outside Actions."""
    parts = [os.environ.get(n) for n in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if not all(parts):
        return None
    server, repository, run_id = parts
    return f"{server}/{repository}/actions/runs/{run_id}"


def error(message: str, title: str | None = None) -> None:
    """Report an error: one `::error title=...::` annotation under Actions, else `error: ...`."""
    _annotate("error", redact(message), title)


def _annotate(level: str, message: str, title: str | None) -> None:
    if in_actions():
        properties = {"title": title} if title else {}
        issue_command(level, properties, message)
        sys.stdout.flush()
        return
    for line in message.splitlines() or [""]:
        print(f"{level}: {line}", file=sys.stderr, flush=True)


@contextmanager
def group(title: str) -> Iterator[None]:
    """Fold everything printed inside the block under one title in the log."""
    if in_actions():
        issue_command("group", {}, redact(title))
    else:
        print(f"== {redact(title)}", flush=True)
    try:
        yield
    finally:
        if in_actions():
            issue_command("endgroup", {}, "")
        sys.stdout.flush()


def set_output(name: str, value: str) -> None:
    """Set a step output: into $GITHUB_OUTPUT (heredoc form), or printed as name=value elsewhere."""
    output_file = os.environ.get("GITHUB_OUTPUT")
    if output_file:
        with Path(output_file).open("a", encoding="utf-8", newline="") as handle:
            handle.write(prepare_key_value_message(name, value) + os.linesep)
        return
    if "\n" in value:
        print(f"{name}<<EOF\n{value}\nEOF", flush=True)
    else:
        print(f"{name}={value}", flush=True)


def add_summary(markdown: str) -> None:
    """Append Markdown to the job summary; outside Actions there is no summary to write."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary_file:
        return
    with Path(summary_file).open("a", encoding="utf-8") as handle:
        handle.write(redact(markdown).rstrip("\n") + "\n\n")
