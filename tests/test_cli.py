"""The top level of the command line (toto_actions/cli.py): help, version, the command's name,
read without argparse so that `toto-actions --help` starts about as fast as the interpreter."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CliRunner
from toto_actions import __version__
from toto_actions.cli import COMMANDS, DEBUG_HELP, DESCRIPTION, PROG


def argparse_help(width: int) -> str:
    """What argparse prints for the same top level (the parser cli.py used to build)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        formatter_class=lambda prog: argparse.HelpFormatter(prog, width=width),
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        commands.add_parser(name, help=summary)
    return parser.format_help()


@pytest.mark.parametrize("columns", [12, 42, 45, 50, 59, 60, 66, 70, 72, 80, 100, 200])
def test_the_help_is_laid_out_as_argparse_lays_it_out(cli: CliRunner, columns: int) -> None:
    result = cli("--help", env={"COLUMNS": str(columns)})
    assert result.exit_code == 0
    assert result.stderr == ""
    # The width given to the formatter: two columns less, at least 40.
    assert result.stdout == argparse_help(max(columns - 2, 40))


def test_help_and_version_import_neither_argparse_nor_re() -> None:
    program = (
        "import sys\n"
        "from toto_actions.cli import main\n"
        "for arguments in (['--help'], ['--version'], ['--debug', '-h']):\n"
        "    assert main(arguments) == 0\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    modules = set(completed.stderr.split())
    assert not modules & {"argparse", "re", "enum", "gettext", "textwrap", "typing", "shutil"}
    assert completed.stdout.count("usage: toto-actions [-h]") == 2
    assert f"toto-actions {__version__}\n" in completed.stdout


def test_the_version(cli: CliRunner) -> None:
    result = cli("--version")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"toto-actions {__version__}\n",
        "",
    )


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (
            [],
            "no command given: choose one of build-push, render-workflow, tf-apply, sync-secrets, "
            "deployed-commit, doctor",
        ),
        (
            ["deploy"],
            "toto-actions: argument COMMAND: invalid choice: 'deploy' (choose from 'build-push', "
            "'render-workflow', 'tf-apply', 'sync-secrets', 'deployed-commit', 'doctor')",
        ),
        (["--bogus", "render-workflow"], "toto-actions: unrecognized arguments: --bogus"),
        (
            # The value is never shown (it may be a secret), a close option is suggested.
            ["render-workflow", "--kind", "core", "--bogus", "x"],
            "toto-actions render-workflow: unrecognized arguments: --bogus",
        ),
        (
            ["render-workflow", "--knd=core", "--servce", "x"],
            "toto-actions render-workflow: unrecognized arguments: --knd --servce; "
            "did you mean --kind?",
        ),
        (
            ["tf-apply", "--workspce", "toto-dev"],
            "toto-actions tf-apply: unrecognized arguments: --workspce; did you mean --workspace?",
        ),
        (
            ["sync-secrets", "--dry-rnu"],
            "toto-actions sync-secrets: unrecognized arguments: --dry-rnu; did you mean --dry-run?",
        ),
        (
            ["render-workflow", "--test-command", "npm", "test"],
            "toto-actions render-workflow: 1 argument(s) no option takes: quote a value that "
            "holds spaces",
        ),
        (
            ["--verison"],
            "toto-actions: unrecognized arguments: --verison; did you mean --version?",
        ),
        (
            ["render-workflw"],
            "toto-actions: argument COMMAND: invalid choice: 'render-workflw' (choose from "
            "'build-push', 'render-workflow', 'tf-apply', 'sync-secrets', 'deployed-commit', "
            "'doctor'); did you mean render-workflow?",
        ),
        (
            ["render-workflow", "--kind", "service"],
            "toto-actions render-workflow: argument --kind: invalid choice: 'service' "
            "(choose from 'microservice', 'core')",
        ),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(cli: CliRunner, arguments: list[str], line: str) -> None:
    result = cli(*arguments)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"error: {line} (see --help)"]


@pytest.mark.parametrize("before", [[], ["--debug"]])
def test_a_command_has_its_own_help(cli: CliRunner, before: list[str]) -> None:
    result = cli(*before, "render-workflow", "--help", env={"COLUMNS": "2000"})
    assert result.exit_code == 0
    usage, _, description, *_ = result.stdout.splitlines()
    assert usage.startswith(
        "usage: toto-actions render-workflow [-h] [--debug] [--kind {microservice,core}]"
    )
    assert description == COMMANDS["render-workflow"]
    assert re.search(rf"^  --debug +{re.escape(DEBUG_HELP)}$", result.stdout, flags=re.MULTILINE)


def test_a_commands_help_shows_each_choice_and_an_example_that_works(
    cli: CliRunner, tmp_path: Path
) -> None:
    from toto_actions.commands import render_workflow

    result = cli("render-workflow", "--help", env={"COLUMNS": "1000"})
    assert result.exit_code == 0
    choices = [option for option in render_workflow.OPTIONS if option.choices]
    assert len(choices) >= 7
    for option in choices:
        listed = re.escape(f"  {option.flag} {{{','.join(option.choices)}}}")
        assert re.search(rf"^{listed}(\n| )", result.stdout, re.MULTILINE), option.flag
    assert result.stdout.endswith(f"\nexample:\n  {render_workflow.EXAMPLE}\n")
    program, *arguments = shlex.split(render_workflow.EXAMPLE)
    assert program == "toto-actions"
    example = cli(*arguments, "--output-dir", str(tmp_path))
    assert (example.exit_code, example.stderr) == (0, "")
    workflow = yaml.safe_load(
        (tmp_path / ".github/workflows/toto-microservice.yml").read_text(encoding="utf-8")
    )
    assert workflow[True]["push"]["branches"] == ["main", "release/**"]  # `on:` read as True
