"""Shared fixtures: run the installed `toto-actions` console script as a user's shell would."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.checkout import copy_tracked_files
from testing.cli import CLI, CliResult, CliRunner, clean_environment, make_cli_runner

__all__ = [
    "CLI",
    "REPO_ROOT",
    "CliResult",
    "CliRunner",
    "checkout",
    "clean_environment",
    "cli",
    "make_cli_runner",
    "snapshot",
]

pytest_plugins = ["testing.local_stack.fixtures"]

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    """The console script, run in tmp_path."""
    return make_cli_runner(tmp_path)


@pytest.fixture(scope="session")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this repository's tracked files, made once per session (per xdist worker) for
    the tests of actions/install.sh: they read it, and copy it to change it."""
    return copy_tracked_files(tmp_path_factory.mktemp("checkout"))


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under directory and its bytes: to prove that a command wrote nothing."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


# Modules that run workflows under act, the slowest of the suite (a flow takes a minute or more).
_ACT_MODULES = ("tests/e2e/", "tests/workflows/test_release.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Collect the modules that run act first, in their order, then the others in theirs: the
    two workers of scripts/test start on the longest modules, and the quick ones fill in after."""
    items.sort(key=lambda item: not _runs_act(item))


def _runs_act(item: pytest.Item) -> bool:
    return item.path.relative_to(REPO_ROOT).as_posix().startswith(_ACT_MODULES)
