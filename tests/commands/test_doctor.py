"""`toto-actions doctor` against the stand-in GitHub (and HCP Terraform): a repository rendered
with render-workflow, seeded as a user would set it up, and the lines and exit code the doctor
gives for what it lacks. The GitHub token holds exactly the permissions docs/doctor.md names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.cli import CliResult, make_cli_runner
from testing.github.server import GitHubServer
from testing.tfc.model import WorkspaceAccess
from testing.tfc.server import TfcServer
from tests.conftest import CliRunner
from toto_actions import __version__
from toto_actions.workflows.settings import DEFAULT_CORE_SECRETS

REPOSITORY = "acme/toto-ms-orders"
TOKEN = "github_pat_doctor"
# What docs/doctor.md asks of a fine-grained token (GitHub's keys: Variables is actions_variables).
READ_PERMISSIONS = {
    "actions": "read",
    "environments": "read",
    "secrets": "read",
    "actions_variables": "read",
}
ENVIRONMENTS = ("dev", "prod")
CORE_SECRETS = DEFAULT_CORE_SECRETS
SECRET_VALUE = "s3cr3t-value-never-printed"
ALL_ENVIRONMENTS = "environments dev, dev-plan, prod, prod-plan"
TFC_ORG = "acme"
TFC_TOKEN = "tfc-team-token.atlasv1.doctor"


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        server.add_organization("acme")
        server.add_repository(REPOSITORY)
        server.add_repository("acme/toto-ms-other")
        server.add_token(TOKEN, [REPOSITORY], READ_PERMISSIONS)
        yield server
        assert server.errors == []


def seed_ready(github: GitHubServer, *, leave_out: str | None = None) -> None:
    """What a microservice repository holds once set up: its environments and plan
    environments (but leave_out), each with its role, HCP token and the core values; the HCP
    organization as an organization variable shared with it."""
    github.set_organization_entry(
        "acme", "variables", "TF_CLOUD_ORGANIZATION", TFC_ORG, repositories=[REPOSITORY]
    )
    for environment in ENVIRONMENTS:
        for name in (environment, f"{environment}-plan"):
            if name == leave_out:
                continue
            github.add_environment(REPOSITORY, name)
            github.set_variable(REPOSITORY, "AWS_ROLE_ARN", f"arn:aws:iam::1:role/{name}", name)
            github.set_secret(REPOSITORY, "TF_API_TOKEN", SECRET_VALUE, name)
            for secret in CORE_SECRETS:
                github.set_secret(REPOSITORY, secret, SECRET_VALUE, name)


def rendered(cli: CliRunner, directory: Path, *options: str) -> Path:
    directory.mkdir()
    result = cli("render-workflow", "--output-dir", str(directory), *options)
    assert result.exit_code == 0, result.stderr
    return directory


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A microservice's caller, rendered once for the module (the doctor writes nothing)."""
    root = tmp_path_factory.mktemp("service")
    options = ("--kind", "microservice", "--service", "toto-ms-orders", "--aws-region", "eu-west-1")
    return rendered(make_cli_runner(root), root / "repository", *options)


def doctor(
    cli: CliRunner, github: GitHubServer, directory: Path, *arguments: str
) -> tuple[CliResult, list[str]]:
    result = cli(
        "doctor",
        "--output-dir",
        str(directory),
        "--repository",
        REPOSITORY,
        "--github-api-url",
        github.url,
        *arguments,
        env={"GITHUB_TOKEN": TOKEN},
    )
    # Names only: neither a secret's value nor a variable's (the roles' ARNs).
    assert SECRET_VALUE not in result.stdout + result.stderr
    assert "arn:aws:iam" not in result.stdout + result.stderr
    return result, result.stdout.splitlines()


def levels(lines: list[str], level: str) -> list[str]:
    return [line for line in lines if line.startswith(f"{level}: ")]


def test_a_ready_repository_is_exit_0_with_its_optional_knobs_and_warnings_apart(
    cli: CliRunner, github: GitHubServer, service_dir: Path
) -> None:
    seed_ready(github)
    # A deploy role at repository level: where a plan environment lacks its own, a plan job
    # would assume it.
    github.set_variable(REPOSITORY, "AWS_ROLE_ARN", "arn:aws:iam::1:role/deploy")
    result, lines = doctor(cli, github, service_dir)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert lines[0] == (
        f"{REPOSITORY}: .github/workflows/toto-microservice.yml (microservice, reusable, calling "
        "toto/actions/.github/workflows/toto-microservice.yml@v1 (its jobs as toto-actions "
        f"{__version__} renders them))"
    )
    assert lines[1] == "environments: dev, dev-plan, prod, prod-plan"
    assert levels(lines, "missing") == []
    assert [line.split(" is not set")[0] for line in levels(lines, "optional")] == [
        "optional: variable TOTO_REGISTRY",
        "optional: variable TOTO_REGISTRY_USERNAME",
        "optional: secret TOTO_REGISTRY_PASSWORD",
        "optional: variable TF_CLOUD_ADDRESS",
        "optional: variable TOTO_GITHUB_API_URL",
    ]
    assert (
        "optional: variable TOTO_REGISTRY is not set (push to this v2 registry instead of the "
        f"account's ECR registry); set in {ALL_ENVIRONMENTS}, or once in the repository (or its "
        "organization)"
    ) in lines
    assert levels(lines, "warning") == [
        "warning: repository variable AWS_ROLE_ARN is read by the plan jobs wherever dev-plan, "
        "prod-plan lacks it: set it in each environment and delete the repository's"
    ]
    assert lines[-1] == "ready: every environment, variable and secret the jobs need is set"
    # Reads only.
    assert {request.method for request in github.requests} == {"GET"}


def test_what_a_repository_lacks_is_one_line_each_with_where_to_set_it(
    cli: CliRunner, github: GitHubServer, service_dir: Path
) -> None:
    seed_ready(github, leave_out="prod-plan")
    # A called job reads its environment's secrets (and the passed ones) only: the repository's
    # TF_API_TOKEN serves no job of the reusable workflow.
    github.delete_secret(REPOSITORY, "TF_API_TOKEN", "prod")
    github.set_secret(REPOSITORY, "TF_API_TOKEN", SECRET_VALUE)
    # Shared with another repository only: not this one's.
    github.set_organization_entry(
        "acme", "variables", "TF_CLOUD_ORGANIZATION", TFC_ORG, repositories=["acme/toto-ms-other"]
    )
    for environment in ("dev", "dev-plan", "prod"):
        github.delete_secret(REPOSITORY, "VPC_ID", environment)
    # Every core value is missing where the environment is; VPC_ID everywhere.
    missing_core = [
        (name, ALL_ENVIRONMENTS if name == "VPC_ID" else "environment prod-plan")
        for name in CORE_SECRETS
    ]
    result, lines = doctor(cli, github, service_dir)
    assert result.exit_code == 1
    assert levels(lines, "missing") == [
        "missing: environment prod-plan: create it in the repository's settings",
        "missing: variable AWS_ROLE_ARN: set it in environment prod-plan, or once in the "
        "repository (or its organization)",
        "missing: variable TF_CLOUD_ORGANIZATION: set it in "
        f"{ALL_ENVIRONMENTS}, or once in the repository (or its organization)",
        "missing: secret TF_API_TOKEN: set it in environments prod, prod-plan",
        *[
            f"missing: secret {name}: missing in {where}; the core flow's sync writes it: run the "
            "core flow first (its toto-secrets.yml must list this repository)"
            for name, where in missing_core
        ],
    ]
    # The optional knobs apart, whatever is missing.
    assert len(levels(lines, "optional")) == 5
    assert lines[-1] == f"not ready: {4 + len(CORE_SECRETS)} required things missing"


def test_an_inline_workflow_reads_its_secrets_from_the_repository_too(
    cli: CliRunner, github: GitHubServer, tmp_path: Path
) -> None:
    directory = rendered(
        cli,
        tmp_path / "inline",
        "--kind",
        "microservice",
        "--service",
        "toto-ms-orders",
        "--style",
        "inline",
        "--tfc-organization",
        TFC_ORG,
        "--aws-region",
        "eu-west-1",
    )
    seed_ready(github)
    for environment in ("dev", "dev-plan", "prod"):
        github.delete_secret(REPOSITORY, "TF_API_TOKEN", environment)
    github.set_secret(REPOSITORY, "TF_API_TOKEN", SECRET_VALUE)
    github.delete_variable(REPOSITORY, "AWS_ROLE_ARN", "prod")
    result, lines = doctor(cli, github, directory)
    assert result.exit_code == 1, result.stdout
    assert "(microservice, inline)" in lines[0]
    assert levels(lines, "missing") == [
        "missing: variable AWS_ROLE_ARN: set it in environment prod, or once in the repository "
        "(or its organization)"
    ]


def test_the_workspaces_exist_and_can_be_planned(
    cli: CliRunner, github: GitHubServer, service_dir: Path, tfc: TfcServer
) -> None:
    seed_ready(github)
    lines = doctor_with_hcp(
        cli, github, service_dir, tfc, workspace="toto-ms-orders-dev", access="read"
    )
    assert levels(lines, "missing") == [
        "missing: workspace acme/toto-ms-orders-dev: the token cannot queue a plan "
        "(permissions.can-queue-run): give its team the plan permission",
        "missing: workspace acme/toto-ms-orders-prod: not found (create it, or give the token's "
        "team access to it)",
    ]


def test_a_core_repository_needs_its_secrets_file_and_workspaces_that_match_run_source(
    cli: CliRunner, github: GitHubServer, tmp_path: Path, tfc: TfcServer
) -> None:
    directory = rendered(
        cli,
        tmp_path / "core",
        "--kind",
        "core",
        "--service",
        "toto-core",
        "--service-repositories",
        "toto-ms-orders",
        "--environments",
        "dev=main",
        "--tfc-organization",
        TFC_ORG,
    )
    (directory / "toto-secrets.yml").unlink(missing_ok=True)
    github.add_environment(REPOSITORY, "dev")
    github.add_environment(REPOSITORY, "dev-plan")
    github.set_variable(REPOSITORY, "AWS_REGION", "eu-west-1")
    github.set_variable(REPOSITORY, "AWS_ROLE_ARN", "arn:aws:iam::1:role/plan", "dev-plan")
    github.set_variable(REPOSITORY, "TOTO_APP_ID", "12345", "dev")
    github.set_secret(REPOSITORY, "TF_API_TOKEN", SECRET_VALUE, "dev")
    github.set_secret(REPOSITORY, "TF_API_TOKEN", SECRET_VALUE, "dev-plan")
    tfc.add_workspace(TFC_ORG, "toto-core-dev")
    tfc.connect_vcs(TFC_ORG, "toto-core-dev", REPOSITORY)
    lines = doctor_with_hcp(cli, github, directory, tfc, access="plan")
    assert levels(lines, "missing") == [
        "missing: file toto-secrets.yml: the core flow's sync reads the service repositories "
        "from it (render-workflow prints a start)",
        "missing: secret TOTO_APP_PRIVATE_KEY: set it in environment dev",
        "missing: workspace acme/toto-core-dev: a VCS repository is connected to it, whose pushes "
        "start runs beside the uploaded ones: render with --run-source vcs, or disconnect it",
    ]


def doctor_with_hcp(
    cli: CliRunner,
    github: GitHubServer,
    directory: Path,
    tfc: TfcServer,
    *,
    workspace: str | None = None,
    access: WorkspaceAccess,
) -> list[str]:
    """The doctor with the workspace checks, by a team token of that access (and a workspace
    added first); exit 1, and no token in what it printed."""
    if workspace is not None:
        tfc.add_workspace(TFC_ORG, workspace)
    tfc.add_token(TFC_TOKEN, "team", access=access)
    options = ("--tfc-token", TFC_TOKEN, "--tfc-organization", TFC_ORG, "--tfc-address", tfc.url)
    result, lines = doctor(cli, github, directory, *options)
    assert result.exit_code == 1
    assert TFC_TOKEN not in result.stdout + result.stderr
    return lines


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (
            ["--repository", "not-a-repository"],
            "error: --repository 'not-a-repository' is not OWNER/REPO",
        ),
        (
            ["--tfc-token", "t"],
            "error: --tfc-token and --tfc-organization go together: give both, or neither",
        ),
        (
            ["--output-dir", "missing-dir"],
            "error: output directory 'missing-dir' is not a directory",
        ),
    ],
)
def test_bad_usage_is_exit_2_in_one_line_before_any_request(
    cli: CliRunner, github: GitHubServer, service_dir: Path, arguments: list[str], line: str
) -> None:
    result, lines = doctor(cli, github, service_dir, *arguments)
    assert (result.exit_code, result.stderr.splitlines(), lines) == (2, [line], [])
    assert github.requests == []


def test_a_directory_without_a_rendered_workflow_is_exit_2(
    cli: CliRunner, github: GitHubServer, tmp_path: Path
) -> None:
    result, _ = doctor(cli, github, tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path}: expected one rendered workflow .github/workflows/toto-<kind>.yml, "
        "found none: run toto-actions render-workflow first\n"
    )
    assert github.requests == []


def test_a_token_without_a_read_permission_is_exit_1_naming_it(
    cli: CliRunner, github: GitHubServer, service_dir: Path
) -> None:
    github.add_token("no-actions", [REPOSITORY], {**READ_PERMISSIONS, "actions": "none"})
    result = cli(
        "doctor",
        "--output-dir",
        str(service_dir),
        "--repository",
        REPOSITORY,
        "--github-api-url",
        github.url,
        env={"GITHUB_TOKEN": "no-actions"},
    )
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: list the environments of {REPOSITORY}: 403 Resource not accessible by "
        "integration (the token needs actions=read)\n",
    )
