"""The `toto-actions` command line: parse the arguments, dispatch, and report errors once.

Each subcommand lives in toto_actions/commands/<name>.py and exposes OPTIONS and
run(given_options). Only the chosen command's module is imported, so that `toto-actions --help`
starts about as fast as a bare interpreter whatever the commands import.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from toto_actions import __version__
from toto_actions.errors import TotoError, UsageError

# `typing` is not imported at run time: it is a tenth of what `--help` costs. Mypy reads this
# block as if TYPE_CHECKING were true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

COMMANDS = {
    "build-push": "Build the service image and push it to ECR or a v2 registry, building nothing "
    "twice.",
    "render-workflow": "Render the Toto workflow (microservice or core) into a repository's "
    ".github/workflows/.",
    "tf-apply": "Plan and apply one Terraform workspace on HCP Terraform or with the CLI, "
    "refusing destructive plans unless allowed.",
    "sync-secrets": "Write Terraform outputs as secrets and variables of the service repositories, "
    "changed values only.",
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are a UsageError: one line, exit 2, no usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    # An explicit width spares argparse its import of shutil (and of bz2 and lzma with it).
    columns = os.environ.get("COLUMNS", "")
    try:
        width = int(columns) if columns.isdigit() else os.get_terminal_size().columns
    except OSError:  # not a terminal
        width = 80
    return argparse.HelpFormatter(prog, width=max(width - 2, 40))


def build_parser(chosen: str | None) -> argparse.ArgumentParser:
    """The parser of every command; only the chosen command's options are loaded."""
    parser = _Parser(
        prog="toto-actions",
        formatter_class=_help_formatter,
        description=(
            "Build, push, apply and sync for the Toto flow on AWS. "
            "Each option --foo-bar may also be given as the environment variable INPUT_FOO-BAR."
        ),
    )
    parser.add_argument("--version", action="version", version=f"toto-actions {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks [env: RUNNER_DEBUG=1]"
    )
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for name, summary in COMMANDS.items():
        sub = subcommands.add_parser(
            name, help=summary, description=summary, formatter_class=_help_formatter
        )
        sub.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show tracebacks [env: RUNNER_DEBUG=1]",
        )
        if name == chosen:
            command = command_module(name)
            for option in command.OPTIONS:
                option.add_to(sub)
            sub.set_defaults(command=command)
    return parser


def command_module(name: str) -> ModuleType:
    return importlib.import_module(f"toto_actions.commands.{name.replace('-', '_')}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code: 0 ok, 1 the operation failed, 2 bad usage."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    chosen = next((argument for argument in arguments if argument in COMMANDS), None)
    try:
        parsed = build_parser(chosen).parse_args(arguments)
        command: ModuleType | None = getattr(parsed, "command", None)
        if command is None:
            raise UsageError(f"no command given: choose one of {', '.join(COMMANDS)} (see --help)")
        from toto_actions.options import resolve

        exit_code: int = command.run(resolve(command.OPTIONS, parsed, os.environ))
        return exit_code
    except TotoError as problem:
        _report(problem, problem.title, str(problem), _debug(arguments))
        return problem.exit_code
    except KeyboardInterrupt:
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
