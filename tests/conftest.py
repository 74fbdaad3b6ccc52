"""Shared fixtures: run the installed `toto-actions` console script as a user's shell would."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.checkout import changed_copy, copy_tracked_files
from testing.cli import CLI, CliResult, CliRunner, clean_environment, make_cli_runner

__all__ = [
    "CLI",
    "REPO_ROOT",
    "CliResult",
    "CliRunner",
    "changed_checkout",
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


def write_toto_yml(directory: Path, text: str, name: str = "toto.yml") -> None:
    """A repository's toto.yml (or the settings file name), as its owner writes it."""
    (directory / name).write_text(text, encoding="utf-8")


@pytest.fixture(scope="session")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this repository's tracked files, made once per session (per xdist worker) for
    the tests of actions/install.sh: they read it, and copy it to change it."""
    return copy_tracked_files(tmp_path_factory.mktemp("checkout"))


@pytest.fixture(scope="module")
def changed_checkout(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A changed copy of `checkout` (a new version of the package: an environment of its own),
    one per module, for the cases that damage an installed environment and check that the next
    install rebuilds it: each leaves it rebuilt and intact (its last install reuses it), so the
    next finds it complete, as a later job would, and only the first pays for a cold install."""
    return changed_copy(checkout, tmp_path_factory.mktemp("changed") / "checkout", "changed")


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under directory and its bytes: to prove that a command wrote nothing."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


# Modules that run workflows under act, the slowest of the suite (a flow takes a minute or more).
_ACT_MODULES = ("tests/e2e/", "tests/workflows/test_release.py")
# Modules without act that take two minutes or more on one worker (scripts/test --durations on
# the 2-core machine): collected last by name, they used to end the run while the other worker
# had nothing left to take.
_LONG_MODULES = (
    "tests/test_install_script.py",
    "tests/test_install_untrusted.py",
    "tests/workflows/test_rendered_workflows_lint.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Collect the modules that run act first, in their order, then the other long ones, then
    the rest in their order: the two workers of scripts/test (--dist loadfile, a module at a
    time, in this order) start on the longest modules, and the quick ones fill in after."""
    items.sort(key=_start_rank)


def _start_rank(item: pytest.Item) -> int:
    """0 for a module that runs act, 1 for another long one, 2 for the rest."""
    path = item.path.relative_to(REPO_ROOT).as_posix()
    if path.startswith(_ACT_MODULES):
        return 0
    return 1 if path in _LONG_MODULES else 2
