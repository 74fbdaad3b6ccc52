"""actions/install.sh against what it must not trust (issue 28, point 7): the caller's working
directory (a checked-out service repository) and a cached environment whose files changed
after the install.

`python -m MODULE` puts the working directory first on sys.path, so a `uv/` or `pip/` package
there is what runs; `-P` (Python 3.11+, which install.sh requires) leaves it out
(python/cpython Doc/using/cmdline.rst, option -P, commit ada8b6d "Add -P cmdline option":
"python -m module command line: prepend the current working directory", "python script.py:
prepend the script's directory", "python -c code: prepend an empty string, which means the
current working directory"). `-I` implies it (the key, finish and rename scripts, fetch_uv.py).

A `.pth` file in site-packages runs its `import` lines at every start of the interpreter
(python/cpython Doc/library/site.rst: "Lines starting with import ... are executed").
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from testing.background import wait_for_processes_naming
from tests.test_install_script import (
    BASE_PYTHON,
    PATH_WITHOUT_UV,
    Install,
    install_environment,
    site_packages,
    with_wrong_hashes,
)

PLANTED = """import pathlib, sys
pathlib.Path({marker!r}).write_text(" ".join(sys.argv), encoding="utf-8")
sys.exit(1)
"""


def run_install_in(directory: Path, checkout: Path, cache: Path, **extra: str) -> Install:
    """Run CHECKOUT/actions/install.sh from directory, as a step runs it in the workspace."""
    completed = subprocess.run(
        ["bash", str(checkout / "actions" / "install.sh")],
        cwd=directory,
        env=install_environment(cache, extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Install(completed.returncode, completed.stdout, completed.stderr, 0.0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("install-cache") / "toto-actions"


def test_uv_and_pip_packages_in_the_working_directory_never_run(
    checkout: Path, tmp_path: Path
) -> None:
    """No uv on PATH nor in the interpreter, and the pinned uv's hashes wrong: install.sh asks
    `python -m uv`, then bootstraps uv (refused), then `python -m pip` (refused too), all
    from the working directory, which holds a `uv` and a `pip` package that would record
    their run and fail."""
    workspace = tmp_path / "service-repository"
    for name in ("uv", "pip"):
        (workspace / name).mkdir(parents=True)
        (workspace / name / "__init__.py").write_text("", encoding="utf-8")
        marker = tmp_path / f"{name}-ran"
        (workspace / name / "__main__.py").write_text(
            PLANTED.format(marker=str(marker)), encoding="utf-8"
        )
    broken_uv = with_wrong_hashes(checkout, tmp_path / "checkout", "uv-requirements.txt", "uv")

    install = run_install_in(
        workspace,
        broken_uv,
        tmp_path / "cache",
        TOTO_ACTIONS_PYTHON=BASE_PYTHON,
        TOTO_ACTIONS_INSTALLER="uv",
        PATH=PATH_WITHOUT_UV,
    )

    assert sorted(p.name for p in tmp_path.glob("*-ran")) == []  # neither planted one ran
    assert install.exit_code == 1, install.stderr
    assert "TOTO_ACTIONS_INSTALLER=uv but uv is neither on PATH nor a module" in install.stderr
    assert "DO NOT MATCH THE HASHES" in install.stderr  # the real pip ran, and refused uv


def tamper_module(site: Path) -> str:
    """Change one byte of an installed module of the package, keeping its size."""
    path = site / "toto_actions" / "errors.py"
    data = path.read_bytes()
    path.write_bytes(data[:-1] + b"#")
    return r"toto_actions/errors\.py of toto_actions-\S+\.dist-info does not match"


def half_write_dependency(site: Path) -> str:
    """Cut a dependency's module to half its size, as an interrupted copy or restore would."""
    path = site / "yaml" / "__init__.py"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return r"yaml/__init__\.py of pyyaml-[\d.]+\.dist-info does not match"


def plant_pth(site: Path) -> str:
    """Add a .pth file, which the interpreter runs at every start."""
    (site / "zz-planted.pth").write_text("import os\n", encoding="utf-8")
    return r"site-packages/zz-planted\.pth was not installed"


@pytest.mark.parametrize(
    "tamper",
    [tamper_module, half_write_dependency, plant_pth],
    ids=["same-size-edit", "half-written", "planted-pth"],
)
def test_a_cached_environment_whose_files_changed_is_rebuilt(
    changed_checkout: Path, cache: Path, tmp_path: Path, tamper: Callable[[Path], str]
) -> None:
    changed = changed_checkout
    install = run_install_in(tmp_path, changed, cache)
    assert install.exit_code == 0, install.stderr
    wait_for_processes_naming(str(install.environment))  # its bytecode compile, first
    reported = tamper(site_packages(install.environment))

    again = run_install_in(tmp_path, changed, cache, GITHUB_ACTIONS="true")

    assert again.exit_code == 0, again.stderr
    assert again.stdout == install.stdout
    first, *_ = again.stderr.splitlines()
    assert first.startswith(
        f"::warning::toto-actions: the cached environment {install.environment} is damaged ("
    ), first
    assert first.endswith("): rebuilding it"), first
    assert re.search(reported, first), first
    assert "toto-actions: installed in " in again.stderr
    third = run_install_in(tmp_path, changed, cache)
    assert third.stderr == f"toto-actions: reusing the cached environment {install.environment}\n"
