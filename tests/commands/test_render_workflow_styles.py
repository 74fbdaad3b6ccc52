"""render-workflow's two styles, run as a user runs it (the console script): the reusable style's
short caller of the toolkit's reusable workflow (the default), the inline style's whole pipeline,
and how a repository's style is chosen and kept across a toolkit upgrade."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from testing.cli import clean_environment
from testing.workflow_linters import actionlint
from tests.commands.test_render_workflow import besides_the_sync_warning
from tests.conftest import REPO_ROOT, CliRunner, snapshot, write_toto_yml
from tests.e2e.act import copy_checkout
from toto_actions.workflows.caller import CALLER_PERMISSIONS

MICROSERVICE = Path(".github/workflows/toto-microservice.yml")
CORE = Path(".github/workflows/toto-core.yml")
SHA = "0123456789abcdef0123456789abcdef01234567"
MS = ("--kind", "microservice", "--service", "toto-ms-expenses")
CORE_ARGUMENTS = (
    "--kind",
    "core",
    "--service",
    "toto-terra-aws",
    "--service-repositories",
    "toto-ms-a,toto-ms-b",
)
INLINE_KEPT = "notice: toto-microservice.yml is an inline render, so it stays inline: "


def load(path: Path) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def caller_job(workflow: dict[Any, Any]) -> dict[Any, Any]:
    """The one job of a caller."""
    (job,) = workflow["jobs"].values()
    assert isinstance(job, dict)
    return job


def is_caller(path: Path) -> bool:
    """Whether the workflow is a caller: one job, which uses a reusable workflow."""
    jobs = list(load(path)["jobs"].values())
    return len(jobs) == 1 and "uses" in jobs[0]


def declared_inputs(kind: str) -> dict[str, Any]:
    """on.workflow_call.inputs of the reusable workflow this repository commits."""
    workflow = load(REPO_ROOT / ".github" / "workflows" / f"toto-{kind}.yml")
    inputs: dict[str, Any] = workflow[True]["workflow_call"]["inputs"]  # PyYAML reads `on` as True
    return inputs


_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "number": (int, float),
}


class CallerCase(NamedTuple):
    arguments: Sequence[str]
    path: Path
    inputs: dict[str, object]  # the caller's whole `with:`, as YAML reads it
    secrets: dict[str, str] | None  # the caller's `secrets:` (None: none)


CALLER_CASES = {
    "microservice": CallerCase(
        [
            *MS,
            "--terraform-engine",
            "cli",
            "--runs-on",
            '["self-hosted","linux"]',
            "--test-command",
            "npm test -- --ci",
            "--build-args",
            "NODE_ENV=production\nGREETING=hello world",
            "--require-reviewed-plan",
            "prod",
            "--platforms",
            "linux/amd64,linux/arm64",
        ],
        MICROSERVICE,
        {
            "service": "toto-ms-expenses",
            "terraform-engine": "cli",
            "runs-on": '["self-hosted", "linux"]',
            "test-command": "npm test -- --ci",
            "build-args": "NODE_ENV=production\nGREETING=hello world\n",
            "require-reviewed-plan": "prod",
            "platforms": "linux/amd64,linux/arm64",
        },
        {"TOTO_REGISTRY_PASSWORD": "${{ secrets.TOTO_REGISTRY_PASSWORD }}"},
    ),
    "core": CallerCase(
        [*CORE_ARGUMENTS, "--create-environments", "--sync-dispatch", "infra-changed"],
        CORE,
        {
            "service": "toto-terra-aws",
            "service-repositories": "toto-ms-a,toto-ms-b",
            "create-environments": True,
            "sync-dispatch": "infra-changed",
        },
        None,
    ),
    "microservice-every-other-setting": CallerCase(
        [
            "--kind",
            "microservice",
            "--service",
            "toto-ms-games",
            "--environments",
            "dev=develop;qa=main;prod=release/**",
            "--aws-region",
            "eu-central-1",
            "--aws-role-arn",
            "arn:aws:iam::123456789012:role/deploy",
            "--aws-plan-role-arn",
            "arn:aws:iam::123456789012:role/plan",
            "--tfc-organization",
            "acme",
            "--terraform-dir",
            "infra",
            "--terraform-version",
            "1.9.8",
            "--image-repository",
            "shared",
            "--context",
            "app",
            "--dockerfile",
            "app/Dockerfile.prod",
            "--target",
            "runtime",
            "--runs-on",
            "gpu-runner",
        ],
        MICROSERVICE,
        {
            "service": "toto-ms-games",
            "environments": "dev=develop;qa=main;prod=release/**",
            "image-repository": "shared",
            "terraform-dir": "infra",
            "terraform-version": "1.9.8",
            "tfc-organization": "acme",
            "aws-region": "eu-central-1",
            "aws-role-arn": "arn:aws:iam::123456789012:role/deploy",
            "aws-plan-role-arn": "arn:aws:iam::123456789012:role/plan",
            "runs-on": "gpu-runner",
            "context": "app",
            "dockerfile": "app/Dockerfile.prod",
            "target": "runtime",
        },
        {"TOTO_REGISTRY_PASSWORD": "${{ secrets.TOTO_REGISTRY_PASSWORD }}"},
    ),
    "core-every-other-setting": CallerCase(
        [
            *CORE_ARGUMENTS[:4],
            "--service-repositories",
            "acme/toto-ms-a",
            "--sync-auth",
            "token",
            "--run-source",
            "vcs",
            "--tfc-organization",
            "acme",
        ],
        CORE,
        {
            "service": "toto-terra-aws",
            "tfc-organization": "acme",
            "run-source": "vcs",
            "sync-auth": "token",
            "service-repositories": "toto-ms-a",
            "service-owner": "acme",
        },
        None,
    ),
}


def kind_of(case: CallerCase) -> str:
    return case.arguments[case.arguments.index("--kind") + 1]


@pytest.mark.parametrize("name", sorted(CALLER_CASES))
def test_the_default_render_is_a_short_caller_of_the_reusable_workflow(
    cli: CliRunner, tmp_path: Path, name: str
) -> None:
    case = CALLER_CASES[name]
    kind = kind_of(case)
    result = cli("render-workflow", *case.arguments)
    assert (result.exit_code, besides_the_sync_warning(result.stderr)) == (0, "")
    text = (tmp_path / case.path).read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 80
    assert not re.search(r"^\s*secrets:\s*inherit", text, re.MULTILINE)  # a comment may name it
    workflow = load(tmp_path / case.path)
    assert workflow["permissions"] == {}
    job = caller_job(workflow)
    assert job["uses"] == f"toto/actions/.github/workflows/toto-{kind}.yml@v1"
    assert job["permissions"] == {
        permission: access for permission, access, _ in CALLER_PERMISSIONS[kind]
    }
    assert job["with"] == case.inputs
    assert_declared_by_the_reusable_workflow(kind, job["with"])
    assert job.get("secrets") == case.secrets


def assert_declared_by_the_reusable_workflow(kind: str, inputs: dict[str, object]) -> None:
    """Each input is one the committed reusable workflow declares, a value of its type and not
    its default."""
    declared = declared_inputs(kind)
    for given, value in inputs.items():
        assert given in declared, f"{given} is not an input of toto-{kind}.yml"
        assert isinstance(value, _TYPES[declared[given]["type"]]), (given, value)
        assert value != declared[given].get("default"), f"{given} is given its default"


TRIGGER_CASES = {
    "microservice-defaults": MS,
    "microservice-no-drift-no-dispatch": (
        *MS,
        "--drift-schedule",
        "none",
        "--sync-dispatch",
        "none",
    ),
    "microservice-three-environments": (
        *MS,
        "--environments",
        "dev=develop,feature/**;staging=main;prod=release-*",
        "--drift-schedule",
        "*/30 6-18 * * mon-fri",
        "--sync-dispatch",
        "core: changed",
    ),
    "core-defaults": CORE_ARGUMENTS,
    "core-no-drift-no-dispatch": (
        *CORE_ARGUMENTS,
        "--drift-schedule",
        "none",
        "--sync-dispatch",
        "none",
    ),
}


@pytest.mark.parametrize("name", sorted(TRIGGER_CASES))
def test_the_callers_triggers_are_the_inline_workflows(
    cli: CliRunner, tmp_path: Path, name: str
) -> None:
    rendered = {}
    for style in ("reusable", "inline"):
        repository = tmp_path / style
        repository.mkdir()
        arguments = ("--style", style, "--output-dir", str(repository), *TRIGGER_CASES[name])
        assert cli("render-workflow", *arguments).exit_code == 0
        (rendered[style],) = (repository / ".github" / "workflows").glob("*.yml")
    assert is_caller(rendered["reusable"]) and not is_caller(rendered["inline"])
    assert load(rendered["reusable"])[True] == load(rendered["inline"])[True]


def test_the_actions_repository_and_ref_apply_to_the_callers_uses(
    cli: CliRunner, tmp_path: Path
) -> None:
    arguments = ("--actions-repo", "acme/fork", "--actions-ref", SHA, "--pin-actions")
    assert cli("render-workflow", *MS, *arguments).exit_code == 0
    job = caller_job(load(tmp_path / MICROSERVICE))
    assert job["uses"] == f"acme/fork/.github/workflows/toto-microservice.yml@{SHA}"


def test_a_committed_inline_render_stays_inline_until_toto_yml_says_otherwise(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert cli("render-workflow", *MS, "--style", "inline").exit_code == 0
    (tmp_path / "toto.yml").unlink()  # rendered before renders kept their options in toto.yml
    inline = (tmp_path / MICROSERVICE).read_bytes()
    assert not is_caller(tmp_path / MICROSERVICE)

    kept = cli("render-workflow", *MS)
    assert kept.exit_code == 0
    assert kept.stderr.startswith(INLINE_KEPT) and kept.stderr.count("\n") == 1
    assert "set style: reusable in toto.yml" in kept.stderr
    assert (tmp_path / MICROSERVICE).read_bytes() == inline
    checked = cli("render-workflow", *MS, "--check")
    assert checked.exit_code == 0, checked.stderr

    write_toto_yml(tmp_path, "style: inline\n")
    silenced = cli("render-workflow", *MS)
    assert (silenced.exit_code, silenced.stderr) == (0, "")
    assert (tmp_path / MICROSERVICE).read_bytes() == inline

    write_toto_yml(tmp_path, "style: reusable\n")
    moved = cli("render-workflow", *MS)
    assert (moved.exit_code, moved.stderr) == (0, "")
    assert is_caller(tmp_path / MICROSERVICE)
    caller = (tmp_path / MICROSERVICE).read_bytes()

    (tmp_path / "toto.yml").unlink()
    again = cli("render-workflow", *MS)
    assert (again.exit_code, again.stderr) == (0, "")
    assert (tmp_path / MICROSERVICE).read_bytes() == caller
    assert cli("render-workflow", *MS, "--check").exit_code == 0


def test_in_actions_the_inline_workflow_kept_is_a_notice_annotation(
    cli: CliRunner, tmp_path: Path
) -> None:
    repository = tmp_path / "service"
    repository.mkdir()
    assert cli("render-workflow", *MS, "--style", "inline", cwd=repository).exit_code == 0
    (repository / "toto.yml").unlink()  # rendered before renders kept their options
    runner_files = {"GITHUB_OUTPUT": "output", "GITHUB_STEP_SUMMARY": "summary"}
    environment = {name: str(tmp_path / file) for name, file in runner_files.items()}
    result = cli(
        "render-workflow", *MS, cwd=repository, env={"GITHUB_ACTIONS": "true", **environment}
    )
    assert (result.exit_code, result.stderr) == (0, "")
    (annotation,) = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotation.startswith(
        "::notice title=Inline workflow kept::toto-microservice.yml is an inline render, so it "
        "stays inline: set style: reusable in toto.yml"
    )
    assert "(microservice, inline, environments dev, prod)" in (tmp_path / "summary").read_text(
        encoding="utf-8"
    )


INLINE_ONLY = {
    "secrets-scope organization": (
        ("--secrets-scope", "organization"),
        "secrets-scope organization: a called workflow reads only the secrets its caller passes "
        "or its environments hold, and the organization secrets' names vary with the environments",
    ),
    "core-secrets": (
        ("--core-secrets", "A,B"),
        "core-secrets other than the default ones: the reusable workflow declares those by name",
    ),
}


@pytest.mark.parametrize("name", sorted(INLINE_ONLY))
def test_settings_only_the_inline_workflow_runs_render_inline_with_a_notice(
    cli: CliRunner, tmp_path: Path, name: str
) -> None:
    arguments, why = INLINE_ONLY[name]
    result = cli("render-workflow", *MS, *arguments)
    assert result.exit_code == 0
    assert result.stderr == f"notice: rendered inline: the reusable workflow cannot run {why}\n"
    assert "deploy-prod" in load(tmp_path / MICROSERVICE)["jobs"]


@pytest.mark.parametrize("name", sorted(INLINE_ONLY))
def test_the_reusable_style_refuses_settings_only_the_inline_workflow_runs(
    cli: CliRunner, tmp_path: Path, name: str
) -> None:
    arguments, why = INLINE_ONLY[name]
    result = cli("render-workflow", *MS, *arguments, "--style", "reusable")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"error: --style reusable cannot run {why}: use --style inline\n"
    assert snapshot(tmp_path) == {}


# The escape hatches' bad values, refused in either style: arguments -> the one line shown.
BAD_INPUTS: dict[tuple[str, ...], str] = {
    (*MS, "--style", "other"): "toto-actions render-workflow: argument --style: invalid choice: "
    "'other' (choose from 'reusable', 'inline') (see --help)",
    (*MS, "--runs-on", "[1"): "runs-on '[1' is not a JSON list of labels: Expecting ',' "
    "delimiter: line 1 column 3 (char 2)",
    (*MS, "--runs-on", '["a b"]'): "runs-on '[\"a b\"]': expected a runner label (ubuntu-latest) "
    "or a list of labels ([self-hosted, linux])",
    (*MS, "--build-args", "no-equals"): "build-args: 'no-equals' is not NAME=VALUE",
    (*CORE_ARGUMENTS, "--test-command", "make test"): "--test-command is a setting of the "
    "microservice workflow: leave it out of a core render",
    (*MS, "--context", "../x"): "context '../x' must be a path inside the repository",
    (*MS, "--target", "a b"): "target 'a b' is not a build stage name",
    (*MS, "--test-command", "echo ${{ github.head_ref }}"): "test-command: no ${{ }} expression: "
    "the workflow would paste its value into the script",
    (*MS, "--terraform-version", "v1"): "terraform-version 'v1' is not a terraform version "
    "(1.11.4, or latest)",
}


@pytest.mark.parametrize("style", ["reusable", "inline"])
@pytest.mark.parametrize("arguments", list(BAD_INPUTS), ids=" ".join)
def test_a_bad_escape_hatch_is_one_line_exit_2_and_writes_nothing(
    cli: CliRunner, tmp_path: Path, style: str, arguments: tuple[str, ...]
) -> None:
    (tmp_path / "toto.yml").write_text(f"style: {style}\n", encoding="utf-8")
    before = snapshot(tmp_path)
    result = cli("render-workflow", *arguments)
    message = BAD_INPUTS[arguments]
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {message}\n")
    assert snapshot(tmp_path) == before


def test_a_build_argument_read_from_a_secret_never_gives_a_caller_github_refuses(
    cli: CliRunner, tmp_path: Path
) -> None:
    """A build argument read from a secret, as the inline style's build step reads it: a caller's
    `with:` may not read the secrets context (actionlint: 'context "secrets" is not allowed
    here'; github/docs, contexts: context availability, jobs.<job_id>.with.<with_id>). Without a
    style it renders inline, with a notice, and actionlint accepts it; --style reusable is
    refused (exit 2, one line, nothing written). FAILED on 009eeee: a caller, exit 0."""
    argument = ("--build-args", "NPM_TOKEN=${{ secrets.NPM_TOKEN }}")
    refused = cli("render-workflow", *MS, *argument, "--style", "reusable")
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert refused.stderr == (
        "error: --style reusable cannot run an expression in build-args: a caller's with: "
        "cannot read the secrets context, and passes other values as text: use --style inline\n"
    )
    assert snapshot(tmp_path) == {}
    result = cli("render-workflow", *MS, *argument)
    assert result.exit_code == 0, result.stderr
    assert "notice: rendered inline: the reusable workflow cannot run an expression" in (
        result.stderr
    )
    assert actionlint(tmp_path / MICROSERVICE) == []


@pytest.mark.parametrize("style", ["reusable", "inline"])
def test_check_passes_on_a_current_render_and_names_a_drifted_one(
    cli: CliRunner, tmp_path: Path, style: str
) -> None:
    arguments = (*MS, "--style", style, "--test-command", "npm test")
    assert cli("render-workflow", *arguments).exit_code == 0
    current = cli("render-workflow", *arguments, "--check")
    assert (current.exit_code, current.stderr) == (0, "")
    assert f"{MICROSERVICE.as_posix()} is up to date" in current.stdout

    workflow = tmp_path / MICROSERVICE
    workflow.write_text(
        workflow.read_text(encoding="utf-8").replace("npm test", "npm test --ci"), encoding="utf-8"
    )
    drifted = cli("render-workflow", *arguments, "--check")
    assert drifted.exit_code == 1
    assert drifted.stderr == (
        f"error: {MICROSERVICE.as_posix()} differs from what render-workflow writes: "
        "run toto-actions render-workflow to update it\n"
    )
    assert f"{MICROSERVICE.as_posix()} (committed)" in drifted.stdout
    assert "npm test --ci" in drifted.stdout


# A step the upgraded toolkit adds to the deploy job, before the build.
ADDED_STEP = "      - name: Scan the dependencies (a toolkit upgrade)\n        run: echo scanned\n"
BUILD_STEP = "      - name: Build the image and push it\n"


def upgraded_toolkit(destination: Path) -> Path:
    """A copy of this checkout whose microservice pipeline has one more step."""
    toolkit = copy_checkout(destination)
    jobs = toolkit / "workflows-templates" / "_microservice_jobs.j2"
    template = jobs.read_text(encoding="utf-8")
    assert template.count(BUILD_STEP) == 1
    jobs.write_text(template.replace(BUILD_STEP, ADDED_STEP + BUILD_STEP), encoding="utf-8")
    return toolkit


def run_toolkit(toolkit: Path, cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """python ARGUMENTS with the toolkit copy's package first on the path."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=cwd,
        env=clean_environment({"PYTHONPATH": str(toolkit)}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_toolkit_upgrade_that_changes_the_pipeline_leaves_the_caller_as_it_is(
    cli: CliRunner, tmp_path: Path
) -> None:
    service = tmp_path / "service"
    service.mkdir()
    arguments = (*MS, "--test-command", "npm test")
    assert cli("render-workflow", *arguments, cwd=service).exit_code == 0
    caller = (service / MICROSERVICE).read_bytes()
    toolkit = upgraded_toolkit(tmp_path / "toolkit")

    imported = run_toolkit(
        toolkit, service, "-c", "import toto_actions; print(toto_actions.__file__)"
    )
    assert imported.stdout.strip() == str(toolkit / "toto_actions" / "__init__.py"), imported
    out = tmp_path / "published"
    published = run_toolkit(toolkit, service, "-m", "toto_actions.workflows.published", str(out))
    assert published.returncode == 0, published.stderr
    committed = (REPO_ROOT / MICROSERVICE).read_text(encoding="utf-8")
    called = (out / MICROSERVICE).read_text(encoding="utf-8")
    assert ADDED_STEP not in committed
    assert ADDED_STEP in called  # the called workflow changed

    rendered = run_toolkit(toolkit, service, "-m", "toto_actions", "render-workflow", *arguments)
    assert (rendered.returncode, rendered.stderr) == (0, "")
    assert (service / MICROSERVICE).read_bytes() == caller
    checked = run_toolkit(
        toolkit, service, "-m", "toto_actions", "render-workflow", *arguments, "--check"
    )
    assert (checked.returncode, checked.stderr) == (0, "")
