"""The `toto-actions` command line: parse the arguments, dispatch, and report errors once.

Each subcommand lives in toto_actions/commands/<name>.py and exposes OPTIONS and
run(given_options). The top level (--help, --version, --debug, the command's name) is read here
by hand and argparse parses the chosen command's options only: `import argparse` (with `re`,
`enum` and `gettext`) costs three quarters of a bare interpreter's start, so `toto-actions
--help` starts about as fast as the interpreter whatever the commands import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from types import ModuleType

from toto_actions import __version__
from toto_actions.errors import TotoError, UsageError

# `typing` and `argparse` are not imported at run time before a command is chosen. Mypy reads
# this block as if TYPE_CHECKING were true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import NoReturn

PROG = "toto-actions"
DESCRIPTION = (
    "Build, push, apply and sync for the Toto flow on AWS. "
    "Each option --foo-bar may also be given as the environment variable INPUT_FOO-BAR."
)
DEBUG_HELP = "show tracebacks [env: RUNNER_DEBUG=1]"
COMMANDS = {
    "build-push": "Build the service image and push it to ECR or a v2 registry, building nothing "
    "twice.",
    "render-workflow": "Render the Toto workflow (microservice or core) into a repository's "
    ".github/workflows/.",
    "tf-apply": "Plan and apply one Terraform workspace on HCP Terraform or with the CLI, "
    "refusing destructive plans unless allowed.",
    "sync-secrets": "Write Terraform outputs as secrets and variables of the service repositories, "
    "changed values only.",
    "deployed-commit": "Find the commit of an environment's latest successful deployment on "
    "GitHub.",
    "doctor": "Tell what a repository still lacks for its rendered workflow: environments, "
    "variables, secrets, workspaces.",
}


def _help_width() -> int:
    # Given to argparse explicitly, which spares it its import of shutil (and bz2 and lzma).
    columns = os.environ.get("COLUMNS", "")
    try:
        width = int(columns) if columns.isdigit() else os.get_terminal_size().columns
    except OSError:  # not a terminal
        width = 80
    return max(width - 2, 40)


def _is_letter(character: str) -> bool:
    return character.isalpha() or character == "_"


def _chunks(word: str) -> list[str]:
    """word cut after each hyphen that textwrap may break a line at (one between two letters
    and two more letters, as in INPUT_FOO-BAR), so that lines break where argparse's do."""
    chunks, start = [], 0
    for i in range(2, len(word) - 2):
        if (
            word[i] == "-"
            and _is_letter(word[i - 2])
            and _is_letter(word[i - 1])
            and _is_letter(word[i + 1])
            and _is_letter(word[i + 2])
        ):
            chunks.append(word[start : i + 1])
            start = i + 1
    return [*chunks, word[start:]]


def _wrap(
    words: Sequence[str],
    width: int,
    indent: int,
    first: str = "",
    *,
    gap: int = 2,
    hyphens: bool = True,
) -> list[str]:
    """The words, joined by spaces, in lines of at most width (breaking after a hyphen where
    textwrap would), each indented by indent spaces; the first line starts with first, or first
    stands on a line of its own when it does not leave gap spaces before the indent."""
    lines = []
    if len(first) > indent - gap and first:
        lines.append(first)
        first = ""
    line, empty = first.ljust(indent), True
    for word in words:
        for number, chunk in enumerate(_chunks(word) if hyphens else [word]):
            space = " " if number == 0 and not empty else ""
            if not empty and len(line) + len(space) + len(chunk) > width:
                lines.append(line)
                line, space = " " * indent, ""
            line += space + chunk
            empty = False
    return [*lines, line]


def _usage(width: int) -> list[str]:
    """argparse's usage line; wrapped, the options and the command each start a line."""
    prefix, options, command = f"usage: {PROG}", ["[-h]", "[--version]", "[--debug]"], "COMMAND ..."
    line = " ".join([prefix, *options, command])
    if len(line) <= width:
        return [line]
    indent = len(prefix) + 1
    return [
        *_wrap(options, width, indent, prefix, gap=1, hyphens=False),
        *_wrap([command], width, indent, hyphens=False),
    ]


def top_help() -> str:
    """The help of `toto-actions --help`, laid out as argparse lays out a command's."""
    width = _help_width()
    options = (
        ("-h, --help", "show this help message and exit"),
        ("--version", "show program's version number and exit"),
        ("--debug", DEBUG_HELP),
    )
    lines = [*_usage(width), "", *_wrap(DESCRIPTION.split(), width, 0), "", "options:"]
    for flags, text in options:
        lines += _wrap(text.split(), width, 19, f"  {flags}")
    lines += ["", "commands:", "  COMMAND"]
    for name, summary in COMMANDS.items():
        lines += _wrap(summary.split(), width, 19, f"    {name}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def command_parser(name: str, command: ModuleType) -> argparse.ArgumentParser:
    """The parser of one command's options (its --help included)."""
    import argparse

    class Parser(argparse.ArgumentParser):
        """Its mistakes are a UsageError: one line, exit 2, no usage dump."""

        def error(self, message: str) -> NoReturn:
            raise UsageError(f"{self.prog}: {message} (see --help)")

        def format_help(self) -> str:
            example = getattr(command, "EXAMPLE", None)
            text = super().format_help()
            return text if example is None else f"{text}\nexample:\n  {example}\n"

    width = _help_width()
    parser = Parser(
        prog=f"{PROG} {name}",
        description=COMMANDS[name],
        formatter_class=lambda prog: argparse.HelpFormatter(prog, width=width),
    )
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    for option in command.OPTIONS:
        option.add_to(parser)
    return parser


def command_module(name: str) -> ModuleType:
    from importlib import import_module

    return import_module(f"toto_actions.commands.{name.replace('-', '_')}")


TOP_FLAGS = ("--help", "--version", "--debug")


def _unrecognized(prog: str, arguments: Sequence[str], known: Sequence[str]) -> UsageError:
    """One line naming the unknown options, never a value (one may be a secret), and the known
    option closest to the first one (`--knd` -> `--kind`)."""
    flags = [argument.partition("=")[0] for argument in arguments if argument.startswith("-")]
    if not flags:
        return UsageError(
            f"{prog}: {len(arguments)} argument(s) no option takes: quote a value that holds "
            "spaces (see --help)"
        )
    return UsageError(
        f"{prog}: unrecognized arguments: {' '.join(flags)}{_closest(flags[0], known)} (see --help)"
    )


def _closest(word: str, known: Sequence[str]) -> str:
    """`; did you mean X?` for the known word closest to word, or nothing."""
    import difflib  # only on the way out: start-up does not pay for it

    matches = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean {matches[0]}?" if matches else ""


def run(arguments: Sequence[str]) -> int:
    """Read the top-level options and the command's name, then parse and run the command."""
    for position, argument in enumerate(arguments):
        if argument in ("-h", "--help"):
            sys.stdout.write(top_help())
            return 0
        if argument == "--version":
            print(f"{PROG} {__version__}")
            return 0
        if argument == "--debug":  # read again by _debug(), on the way out
            continue
        if argument.startswith("-"):
            raise _unrecognized(PROG, [argument], TOP_FLAGS)
        if argument not in COMMANDS:
            choices = ", ".join(repr(name) for name in COMMANDS)
            raise UsageError(
                f"{PROG}: argument COMMAND: invalid choice: {argument!r} (choose from {choices})"
                f"{_closest(argument, list(COMMANDS))} (see --help)"
            )
        command = command_module(argument)
        parser = command_parser(argument, command)
        parsed, unknown = parser.parse_known_args(arguments[position + 1 :])
        if unknown:
            flags = ["--help", "--debug", *(option.flag for option in command.OPTIONS)]
            raise _unrecognized(parser.prog, unknown, flags)
        from toto_actions.options import resolve

        exit_code: int = command.run(resolve(command.OPTIONS, parsed, os.environ))
        return exit_code
    raise UsageError(f"no command given: choose one of {', '.join(COMMANDS)} (see --help)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code: 0 ok, 1 the operation failed, 2 bad usage."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(arguments)
    except TotoError as problem:
        _report(problem, problem.title, str(problem), _debug(arguments))
        return problem.exit_code
    except KeyboardInterrupt as interrupted:
        from toto_actions.interrupts import Interrupted

        if isinstance(interrupted, Interrupted):  # SIGINT or SIGTERM: 128 + its number
            _report(None, "Cancelled", str(interrupted), debug=False)
            return interrupted.exit_code
        _report(None, "Cancelled", "interrupted", debug=False)
        return 130
    except Exception as problem:  # an unexpected failure still gets one line, not a traceback
        message = f"{type(problem).__name__}: {problem}"
        debug = _debug(arguments)
        if not debug:
            message += " (run with --debug or RUNNER_DEBUG=1 for the traceback)"
        _report(problem, "Internal error", message, debug)
        return 1


def _debug(arguments: Sequence[str]) -> bool:
    """Whether a failure shows its traceback: --debug, the debug input, or the runner's debug
    logging (a debug re-run). Asked on the way out only: start-up does not import the runtime."""
    from toto_actions import actions_runtime

    return (
        "--debug" in arguments
        or actions_runtime.debug_enabled()
        or os.environ.get("INPUT_DEBUG", "").lower() == "true"
    )


def _report(problem: BaseException | None, title: str, message: str, debug: bool) -> None:
    import traceback  # only on the way out: start-up does not pay for it

    from toto_actions import actions_runtime

    if debug and problem is not None:
        print(
            actions_runtime.redact("".join(traceback.format_exception(problem))),
            file=sys.stderr,
            flush=True,
        )
    actions_runtime.error(message, title=title)
