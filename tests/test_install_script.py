"""actions/install.sh, run as the composite actions run it, from a copy of this repository.

Real subprocesses and real installs from PyPI, from the session's copy of the checkout (the
fixture `checkout`, tests/conftest.py): the module shares one cold install (the fixture
`first_install`), and every later cold install builds a changed copy of the checkout with the
download cache that first install filled, so only the first (and the pip one, and the bootstrap
of uv) download wheels.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.background import wait_for_processes_naming
from testing.checkout import changed_copy
from testing.install_lock import UV_LOCK, read_pins
from tests.conftest import clean_environment
from toto_actions import __version__

VENV_BIN = Path(sys.executable).parent
BASH = shutil.which("bash") or "/bin/bash"
UV_ON_PATH = (VENV_BIN / "uv").exists() or shutil.which("uv") is not None
# A runner without uv: the system's directories on PATH, and the interpreter the test venv was
# made from (which has pip, and no uv module).
PATH_WITHOUT_UV = "/usr/bin:/bin"
BASE_PYTHON = str(Path(sys.base_prefix, "bin", "python{}.{}".format(*sys.version_info)))
ZERO_HASH = "sha256:" + "0" * 64


@dataclass(frozen=True)
class Install:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def command(self) -> Path:
        """The one line the script prints on stdout: the installed `toto-actions`."""
        (line,) = self.stdout.splitlines()
        return Path(line)

    @property
    def environment(self) -> Path:
        return self.command.parent.parent


def install_environment(cache: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without Actions or TOTO_ACTIONS_ variables, the test venv
    first on PATH (its python3, and uv when the test extras installed it), plus extra."""
    environment = {
        key: value
        for key, value in clean_environment().items()
        if not key.startswith("TOTO_ACTIONS_")
    }
    environment["PATH"] = f"{VENV_BIN}{os.pathsep}{environment.get('PATH', '')}"
    environment["TOTO_ACTIONS_CACHE"] = str(cache)
    environment.update(extra or {})
    return environment


def run_install(checkout: Path, cache: Path, **extra: str) -> Install:
    """Run CHECKOUT/actions/install.sh as an action step does, from another directory."""
    started = time.perf_counter()
    completed = subprocess.run(
        [BASH, str(checkout / "actions" / "install.sh")],
        cwd=cache.parent,
        env=install_environment(cache, extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    seconds = time.perf_counter() - started
    return Install(completed.returncode, completed.stdout, completed.stderr, seconds)


def with_wrong_hashes(checkout: Path, destination: Path, lock: str, package: str) -> Path:
    """A copy of checkout whose actions/LOCK gives PACKAGE's pin only wrong hashes."""
    shutil.copytree(checkout, destination, symlinks=True)
    path = destination / "actions" / lock
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{package}=="))
    end = next(i for i in range(start + 1, len(lines)) if "--hash=" not in lines[i])
    for i in range(start + 1, end):
        lines[i] = re.sub(r"sha256:[0-9a-f]{64}", ZERO_HASH, lines[i])
    path.write_text("".join(lines), encoding="utf-8")
    return destination


def site_packages(environment: Path) -> Path:
    (path,) = environment.glob("lib/python3*/site-packages")
    return path


def installed_versions(python: Path) -> dict[str, str]:
    """Every distribution installed in the environment of python, by canonical name."""
    listed = subprocess.run(
        [
            str(python),
            "-I",
            "-c",
            "import importlib.metadata as m\n"
            "for d in m.distributions(): print(d.metadata['Name'], d.version)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    names = (line.split() for line in listed.splitlines())
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in names}


def installed_errors_module(install: Install) -> str:
    (path,) = install.environment.glob("lib/python3*/site-packages/toto_actions/errors.py")
    return path.read_text(encoding="utf-8")


def version_of(command: Path) -> str:
    completed = subprocess.run(
        [str(command), "--version"], capture_output=True, text=True, check=True, timeout=60
    )
    return completed.stdout.strip()


def leftovers(cache: Path) -> list[str]:
    """Temporary directories of installs (finished or interrupted) still in the cache."""
    return sorted(p.name for p in (cache / "envs").glob(".*"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("install-cache") / "toto-actions"


@pytest.fixture(scope="module")
def first_install(checkout: Path, cache: Path) -> Install:
    """The module's one cold install from PyPI, as under GitHub Actions."""
    install = run_install(checkout, cache, GITHUB_ACTIONS="true")
    assert install.exit_code == 0, install.stderr
    return install


def test_a_first_install_prints_only_the_path_of_a_working_command(
    first_install: Install, cache: Path
) -> None:
    assert first_install.command.name == "toto-actions"
    assert first_install.environment.parent == cache / "envs"
    assert first_install.environment.name.startswith(f"py{sys.version_info[0]}.")
    assert version_of(first_install.command) == f"toto-actions {__version__}"
    assert leftovers(cache) == []


def test_under_github_actions_the_install_progress_is_one_log_group(
    first_install: Install, checkout: Path
) -> None:
    lines = first_install.stderr.splitlines()
    assert lines[0] == f"::group::Installing toto-actions from {checkout.resolve()}"
    assert lines[-1] == "::endgroup::"
    assert [line for line in lines if line.startswith("::")] == [lines[0], lines[-1]]
    assert f"toto-actions {__version__}" in lines  # the check of the install, inside the group


def test_uv_installs_when_it_is_on_path(first_install: Install) -> None:
    assert UV_ON_PATH, "uv is in the test extras: run scripts/test, which installs it"
    assert " with uv " in first_install.stderr


def test_the_dependencies_bytecode_is_compiled_after_the_path_is_printed(
    first_install: Install,
) -> None:
    """The package's own bytecode is compiled by the install; the dependencies' (a second and
    more) beside the first command, by a process that holds none of the step's output."""
    site = site_packages(first_install.environment)
    assert list((site / "toto_actions" / "__pycache__").glob("cli.*.pyc"))
    deadline = time.monotonic() + 60
    while not list((site / "yaml" / "__pycache__").glob("__init__.*.pyc")):
        assert time.monotonic() < deadline, "yaml's bytecode was never compiled"
        time.sleep(0.2)
    assert version_of(first_install.command) == f"toto-actions {__version__}"


def test_the_install_is_a_copy_of_the_checkout_templates_included(
    first_install: Install, checkout: Path
) -> None:
    located = subprocess.run(
        [
            str(first_install.command.with_name("python")),
            "-I",
            "-c",
            "import toto_actions, pathlib; print(pathlib.Path(toto_actions.__file__).parent)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    package = Path(located.stdout.strip())
    assert package.is_relative_to(first_install.environment)  # not an editable link
    for source, installed in (
        (checkout / "toto_actions", package),
        (checkout / "workflows-templates", package / "workflows_templates"),
    ):
        expected = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
        for relative in expected:
            assert (installed / relative).read_bytes() == (source / relative).read_bytes()
    assert (package / "workflows_templates" / "microservice.yml.j2").is_file()


def test_the_environment_holds_exactly_the_locked_versions(
    first_install: Install, checkout: Path
) -> None:
    lock = (checkout / "actions" / "requirements.txt").read_text(encoding="utf-8")
    locked = {str(pin.name): str(pin.version) for pin in read_pins(lock) if pin.applies_here()}
    installed = installed_versions(first_install.command.with_name("python"))
    assert installed == {**locked, "toto-actions": __version__}


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_file_whose_hash_is_not_the_locked_one_fails_the_install(
    first_install: Install, checkout: Path, cache: Path, tmp_path: Path, installer: str
) -> None:
    # actions-toolkit: the first pin, so that pip fails before it downloads the rest.
    wrong = with_wrong_hashes(checkout, tmp_path / "wrong", "requirements.txt", "actions-toolkit")
    before = sorted((cache / "envs").iterdir())
    install = run_install(wrong, cache, TOTO_ACTIONS_INSTALLER=installer)
    assert install.exit_code != 0
    assert install.stdout == ""
    mismatch = {
        "uv": "Hash mismatch for `actions-toolkit==",
        "pip": "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE",
    }[installer]
    assert mismatch in install.stderr
    assert install.stderr.splitlines()[-1].startswith("error: toto-actions could not be installed")
    assert sorted((cache / "envs").iterdir()) == before
    assert leftovers(cache) == []


def test_a_changed_lock_gives_a_new_environment(
    first_install: Install, checkout: Path, cache: Path, tmp_path: Path
) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(checkout, changed, symlinks=True)
    with (changed / "actions" / "requirements.txt").open("a", encoding="utf-8") as file:
        file.write("# relocked\n")
    install = run_install(changed, cache)
    assert install.exit_code == 0, install.stderr
    assert install.environment != first_install.environment
    assert "toto-actions: installed in " in install.stderr


def test_without_uv_a_hash_checked_uv_is_bootstrapped_once(
    first_install: Install, checkout: Path, cache: Path, tmp_path: Path
) -> None:
    assert shutil.which("uv", path=PATH_WITHOUT_UV) is None
    has_uv = subprocess.run([BASE_PYTHON, "-c", "import uv"], capture_output=True, check=False)
    assert has_uv.returncode != 0, f"{BASE_PYTHON} has uv: this test needs one without"
    (pin,) = read_pins(UV_LOCK.read_text(encoding="utf-8"))
    tools = cache / "tools" / f"uv-{pin.version}-{platform.machine()}"
    without_uv = {"PATH": PATH_WITHOUT_UV, "TOTO_ACTIONS_PYTHON": BASE_PYTHON}

    install = run_install(
        changed_copy(checkout, tmp_path / "one", "bootstrap"), cache, **without_uv
    )
    assert install.exit_code == 0, install.stderr
    lines = install.stderr.splitlines()
    assert lines[0] == (
        f"toto-actions: uv is neither on PATH nor a module of {BASE_PYTHON}: "
        f"installing uv {pin.version} (hash-checked) into {tools}"
    )
    assert f" with uv {pin.version} " in install.stderr
    assert "installing it with pip" not in install.stderr  # fetched straight from PyPI
    assert version_of(install.command) == f"toto-actions {__version__}"
    assert sorted(p.name for p in (cache / "tools").iterdir()) == [tools.name]

    again = run_install(
        changed_copy(checkout, tmp_path / "two", "bootstrap 2"), cache, **without_uv
    )
    assert again.exit_code == 0, again.stderr
    assert "installing uv" not in again.stderr
    assert f" with uv {pin.version} " in again.stderr


def test_a_uv_whose_hash_is_not_the_locked_one_is_refused(checkout: Path, tmp_path: Path) -> None:
    wrong = with_wrong_hashes(checkout, tmp_path / "wrong", "uv-requirements.txt", "uv")
    cache = tmp_path / "cache"
    install = run_install(
        wrong,
        cache,
        PATH=PATH_WITHOUT_UV,
        TOTO_ACTIONS_PYTHON=BASE_PYTHON,
        TOTO_ACTIONS_INSTALLER="uv",
    )
    assert install.exit_code == 1
    assert install.stdout == ""
    (pin,) = read_pins(UV_LOCK.read_text(encoding="utf-8"))
    refused = f"fetch_uv: no wheel of uv {pin.version} in the lock fits {platform.machine()}"
    assert refused in install.stderr.splitlines()  # no wheel PyPI serves has a wrong hash
    assert "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE" in install.stderr
    assert install.stderr.splitlines()[-1].startswith(
        f"error: toto-actions install: TOTO_ACTIONS_INSTALLER=uv but uv is neither on PATH nor "
        f"a module of {BASE_PYTHON}, and installing it from "
    )
    assert list((cache / "tools").iterdir()) == []
    assert not (cache / "envs").exists()


def test_when_uv_cannot_be_bootstrapped_pip_installs_and_checks_the_hashes_too(
    checkout: Path, tmp_path: Path
) -> None:
    wrong = with_wrong_hashes(checkout, tmp_path / "wrong", "uv-requirements.txt", "uv")
    shutil.rmtree(tmp_path / "wrong")
    wrong = with_wrong_hashes(
        with_wrong_hashes(checkout, tmp_path / "uv", "uv-requirements.txt", "uv"),
        tmp_path / "wrong",
        "requirements.txt",
        "actions-toolkit",
    )
    install = run_install(
        wrong, tmp_path / "cache", PATH=PATH_WITHOUT_UV, TOTO_ACTIONS_PYTHON=BASE_PYTHON
    )
    assert install.exit_code != 0
    assert "toto-actions: uv could not be installed (see above): installing with pip, slower" in (
        install.stderr.splitlines()
    )
    assert f"installing into {tmp_path / 'cache' / 'envs'}" in install.stderr
    assert " with pip " in install.stderr
    # pip stopped at the first pin: it checks the lock's hashes as uv does.
    assert "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE" in install.stderr
    assert "actions-toolkit" in install.stderr.split("DO NOT MATCH THE HASHES")[1]


@pytest.mark.parametrize(
    ("damage", "reported"),
    [
        # a dependency's package folder, as in the issue
        (["yaml"], r"yaml/\S+ of pyyaml-[\d.]+\.dist-info is missing"),
        # a whole distribution, as `pip uninstall` would leave it
        (["yaml", "_yaml", "pyyaml-*.dist-info"], r"pyyaml-[\d.]+\.dist-info/RECORD is missing"),
        # one module of the package itself
        (
            ["toto_actions/commands/render_workflow.py"],
            r"toto_actions/commands/render_workflow\.py of toto_actions-\S+ is missing",
        ),
    ],
    ids=["dependency-folder", "whole-distribution", "own-module"],
)
def test_a_damaged_environment_is_rebuilt_not_reused(
    first_install: Install,
    changed_checkout: Path,
    cache: Path,
    *,
    damage: list[str],
    reported: str,
) -> None:
    changed = changed_checkout
    install = run_install(changed, cache)
    assert install.exit_code == 0, install.stderr
    command = [str(install.command), "render-workflow", "--help"]  # imports PyYAML
    wait_for_processes_naming(str(install.environment))  # its bytecode compile, first
    for path in (p for pattern in damage for p in site_packages(install.environment).glob(pattern)):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    broken = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert broken.returncode == 1, broken.stderr  # what every step met before

    again = run_install(changed, cache, GITHUB_ACTIONS="true")

    assert again.exit_code == 0, again.stderr
    assert again.stdout == install.stdout
    first, *_ = again.stderr.splitlines()
    assert re.fullmatch(
        f"::warning::toto-actions: the cached environment {re.escape(str(install.environment))} "
        f"is damaged \\({reported}.*\\): rebuilding it",
        first,
    ), first
    assert "toto-actions: installed in " in again.stderr
    subprocess.run(command, capture_output=True, timeout=60, check=True)
    third = run_install(changed, cache)
    assert third.stderr == f"toto-actions: reusing the cached environment {install.environment}\n"
    assert leftovers(cache) == []


def test_a_second_run_reuses_the_environment_without_any_installer(
    first_install: Install, checkout: Path, cache: Path
) -> None:
    # An installer that does not exist: the script fails if it gets as far as choosing one.
    again = run_install(
        checkout, cache, GITHUB_ACTIONS="true", TOTO_ACTIONS_INSTALLER="not-an-installer"
    )
    assert again.exit_code == 0, again.stderr
    assert again.stdout == first_install.stdout
    assert again.stderr == (
        f"toto-actions: reusing the cached environment {first_install.environment}\n"
    )
    assert again.seconds < 1.0


def test_a_changed_file_of_the_package_gives_a_new_environment(
    first_install: Install, checkout: Path, cache: Path, tmp_path: Path
) -> None:
    changed = changed_copy(checkout, tmp_path / "changed", "a new version")
    # Outside GitHub Actions, with the interpreter named and no uv on PATH: `python -m uv`.
    install = run_install(
        changed, cache, TOTO_ACTIONS_PYTHON=sys.executable, PATH=f"{tmp_path}{os.pathsep}/bin"
    )
    assert install.exit_code == 0, install.stderr
    assert install.environment != first_install.environment
    assert installed_errors_module(install).endswith("# a new version\n")
    assert not installed_errors_module(first_install).endswith("# a new version\n")
    assert "::" not in install.stderr
    lines = install.stderr.splitlines()
    assert lines[0].startswith(f"toto-actions: installing into {install.environment} with ")
    assert lines[-1].startswith("toto-actions: installed in ")
    if UV_ON_PATH:  # the test extras install uv as a module of the test venv too
        assert " with uv " in install.stderr
    assert version_of(install.command) == f"toto-actions {__version__}"
    assert version_of(first_install.command) == f"toto-actions {__version__}"
    assert leftovers(cache) == []


def test_old_environments_beyond_the_last_few_are_pruned(
    first_install: Install, checkout: Path, cache: Path, tmp_path: Path
) -> None:
    envs = cache / "envs"
    two_hours_ago = time.time() - 7200
    unused = envs / "py3.11-0123456789abcdef"  # complete, unused for two hours
    (unused / "bin").mkdir(parents=True)
    (unused / "bin" / "toto-actions").touch(mode=0o755)
    (unused / ".toto-actions-env").touch()
    os.utime(unused / ".toto-actions-env", (two_hours_ago, two_hours_ago))
    interrupted, running = envs / ".build-py3.11-interrupted-1", envs / ".build-py3.11-running-2"
    interrupted.mkdir()
    running.mkdir()
    two_days_ago = time.time() - 2 * 86400
    os.utime(interrupted, (two_days_ago, two_days_ago))

    changed = changed_copy(checkout, tmp_path / "changed", "pruning")
    install = run_install(changed, cache, TOTO_ACTIONS_KEEP="1")

    assert install.exit_code == 0, install.stderr
    assert f"removing the old environment {unused}" in install.stderr
    assert not unused.exists()
    assert not interrupted.exists()
    assert running.exists()  # another job's install in progress, for all we know
    # Beyond the one to keep but used within the hour: a running job may be using it.
    assert first_install.command.exists()
    running.rmdir()


def test_two_installs_at_once_leave_one_complete_environment(
    first_install: Install, checkout: Path, cache: Path, tmp_path: Path
) -> None:
    changed = changed_copy(checkout, tmp_path / "changed", "two at once")
    script = str(changed / "actions" / "install.sh")
    environment = install_environment(cache)
    processes = [
        subprocess.Popen(
            [BASH, script],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], results
    (path,) = {stdout for stdout, _ in results}
    command = Path(path.strip())
    assert version_of(command) == f"toto-actions {__version__}"
    assert leftovers(cache) == []


def test_an_interrupted_install_leaves_no_half_environment(
    first_install: Install, checkout: Path, cache: Path, tmp_path: Path
) -> None:
    changed = changed_copy(checkout, tmp_path / "changed", "interrupted")
    before = set((cache / "envs").iterdir())
    process = subprocess.Popen(
        [BASH, str(changed / "actions" / "install.sh")],
        env=install_environment(cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as the runner signals a step's
    )
    deadline = time.monotonic() + 120
    while not leftovers(cache) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    interrupted = process.poll() is None
    if interrupted:
        os.killpg(process.pid, signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)

    assert leftovers(cache) == []
    for environment in set((cache / "envs").iterdir()) - before:  # none, or a complete one
        assert (environment / ".toto-actions-env").is_file()
        assert version_of(environment / "bin" / "toto-actions") == f"toto-actions {__version__}"
    if interrupted and process.returncode != 0:
        assert stdout == ""
        assert stderr.splitlines()[-1].startswith("error: toto-actions could not be installed")

    again = run_install(changed, cache)
    assert again.exit_code == 0, again.stderr
    assert version_of(again.command) == f"toto-actions {__version__}"


def test_pip_installs_when_uv_is_not_wanted(
    first_install: Install, checkout: Path, cache: Path, tmp_path: Path
) -> None:
    changed = changed_copy(checkout, tmp_path / "changed", "with pip")
    install = run_install(changed, cache, TOTO_ACTIONS_INSTALLER="pip")
    assert install.exit_code == 0, install.stderr
    assert " with pip " in install.stderr
    assert installed_errors_module(install).endswith("# with pip\n")
    assert version_of(install.command) == f"toto-actions {__version__}"
    (shebang, *_) = install.command.read_text(encoding="utf-8").splitlines()
    assert shebang == f"#!{install.environment}/bin/python"  # renamed into place, not the build's
    assert leftovers(cache) == []


@pytest.mark.parametrize(
    ("github_actions", "prefix"), [("true", "::error::"), ("false", "error: ")]
)
def test_without_python_3_11_it_fails_with_one_error_line(
    checkout: Path, tmp_path: Path, github_actions: str, prefix: str
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    install = run_install(
        checkout, tmp_path / "cache", PATH=str(empty), GITHUB_ACTIONS=github_actions
    )
    assert install.exit_code == 1
    assert install.stdout == ""
    (line,) = install.stderr.splitlines()
    assert line.startswith(f"{prefix}toto-actions install: no Python 3.11 or newer found")
    assert "TOTO_ACTIONS_PYTHON" in line
    assert not (tmp_path / "cache").exists()


OLD_PYTHON_STAND_IN = """#!{python}
# A stand-in for an interpreter older than 3.11 (none can be installed here): the real one,
# running the -c program it is given as Python 3.9.18 would report itself.
import sys

program = sys.argv[sys.argv.index("-c") + 1]
sys.argv = ["-c", *sys.argv[sys.argv.index("-c") + 2 :]]
sys.version_info = (3, 9, 18, "final", 0)
sys.version = "3.9.18 (stand-in)"
exec(compile(program, "<string>", "exec"), {{"__name__": "__main__"}})
"""


def older_python(directory: Path) -> str:
    """The stand-in older interpreter, written into directory."""
    path = directory / "python3.9"
    path.write_text(OLD_PYTHON_STAND_IN.format(python=sys.executable), encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def test_an_older_python_is_named_in_the_error(checkout: Path, tmp_path: Path) -> None:
    python = older_python(tmp_path)
    install = run_install(checkout, tmp_path / "cache", TOTO_ACTIONS_PYTHON=python)
    assert install.exit_code == 1
    (line,) = install.stderr.splitlines()
    assert f"{python} is Python 3.9.18" in line
