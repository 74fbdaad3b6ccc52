"""terraform's warnings, told apart from the rest of what it prints, so that a step reports
them as warnings (`::warning::`) and never within an error.

terraform prints a diagnostic in one of three forms: a machine-readable `diagnostic` message
(`-json`, json_ui.py) whose severity says which; a box on stderr (`╷`, `│ Warning: SUMMARY`,
`│` lines of detail, `╵`); or, in `-no-color` text on stdout, a `Warning: SUMMARY` line, a blank
line and its detail paragraphs, which end where terraform's next part begins (another
diagnostic, the `─` rule, the approval question, the counts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

WarningSink = Callable[[str], None]  # a warning: its summary, then its detail lines

_PREFIX = "Warning: "
_BOX_START, _BOX_LINE, _BOX_END = "╷", "│", "╵"
# Lines that begin what follows an unboxed diagnostic in terraform's text.
_AFTER_DIAGNOSTIC = (
    "Warning: ",
    "Error: ",
    _BOX_START,
    "─",
    "Do you want to perform these actions",
    "Plan: ",
    "No changes.",
    "Changes to Outputs",
    "Saved the plan to:",
    "Apply complete!",
    "Outputs:",
)


def warning_text(lines: Iterable[str]) -> str:
    """A diagnostic's lines as one warning: its summary without `Warning: `, then its detail,
    blank lines at either end dropped."""
    texts = [line.rstrip() for line in lines]
    if texts and texts[0].startswith(_PREFIX):
        texts[0] = texts[0].removeprefix(_PREFIX)
    while texts and not texts[-1].strip():
        texts.pop()
    return "\n".join(texts)


class WarningFilter:
    """Reads terraform's text line by line: each warning goes whole to on_warning once it
    ends, and every other line is handed back, in order."""

    def __init__(self, on_warning: WarningSink) -> None:
        self._on_warning = on_warning
        self._box: list[str] | None = None  # the lines of an open box
        self._unboxed: list[str] | None = None  # the lines of an unboxed warning

    def feed(self, line: str) -> list[str]:
        """The lines to pass on (none while a box or a warning is open)."""
        if self._box is not None:
            return self._in_box(line)
        if self._unboxed is not None:
            if not line.startswith(_AFTER_DIAGNOSTIC):
                self._unboxed.append(line)
                return []
            self._end_unboxed()
        if line.startswith(_BOX_START):
            self._box = [line]
            return []
        if line.startswith(_PREFIX):
            self._unboxed = [line]
            return []
        return [line]

    def close(self) -> list[str]:
        """At the end of the output: an open warning is reported; an unclosed box handed back."""
        self._end_unboxed()
        box, self._box = self._box or [], None
        return box

    def _in_box(self, line: str) -> list[str]:
        box = self._box if self._box is not None else []
        box.append(line)
        if not line.startswith(_BOX_END):
            return []
        self._box = None
        content = [text.removeprefix(_BOX_LINE).removeprefix(" ") for text in box[1:-1]]
        if content and content[0].startswith(_PREFIX):
            self._on_warning(warning_text(content))
            return []
        return box

    def _end_unboxed(self) -> None:
        if self._unboxed is not None:
            self._on_warning(warning_text(self._unboxed))
            self._unboxed = None


def without_warnings(lines: Iterable[str], on_warning: WarningSink) -> list[str]:
    """The lines that are not part of a warning; each warning to on_warning."""
    found = WarningFilter(on_warning)
    kept = [kept for line in lines for kept in found.feed(line)]
    return kept + found.close()


def warnings_apart(
    lines: Iterable[tuple[str, bool]],
    read: Callable[[str, WarningSink], list[str]],
    on_warning: WarningSink | None,
) -> Iterator[tuple[str, bool]]:
    """The (line, waiting at a prompt) pairs of terraform's output without its warnings, each
    line first made into its log lines by read (which hands a machine-readable warning to the
    sink it is given). Each warning goes to on_warning; with none, it comes back as lines
    (`Warning: SUMMARY`, its detail), still kept out of an error's first line. A line waiting
    at a prompt comes at once, whatever warning is still open."""
    warnings: list[str] = []
    found = WarningFilter(warnings.append)

    def flushed() -> Iterator[tuple[str, bool]]:
        for text in warnings:
            if on_warning is not None:
                on_warning(text)
            else:
                yield from ((line, False) for line in f"{_PREFIX}{text}".splitlines())
        warnings.clear()

    for line, waiting in lines:
        if waiting:
            yield from ((text, False) for text in found.close())
            yield from flushed()
            yield line, True
            continue
        for text in read(line, warnings.append):
            yield from ((kept, False) for kept in found.feed(text))
        yield from flushed()
    yield from ((text, False) for text in found.close())
    yield from flushed()
