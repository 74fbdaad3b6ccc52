"""render-workflow and the trust model of issue 28: which role each job assumes (point 2), which
image repository each environment pushes to and deploys from (point 3), and where the credentials
live (point 5). The console script in a subprocess, its rendered workflow read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_render_workflow import (
    CORE,
    MICROSERVICE,
    besides_the_sync_warning,
    load,
    steps_by_uses,
)
from tests.conftest import CliRunner, snapshot, write_toto_yml

DEPLOY_ROLE = "arn:aws:iam::123456789012:role/toto-deploy"
PLAN_ROLE = "arn:aws:iam::123456789012:role/toto-plan"
ENVIRONMENT_VARIABLE = "${{ vars.AWS_ROLE_ARN }}"
AWS_STEP = "aws-actions/configure-aws-credentials"
SERVICE = ("--kind=microservice", "--service=expenses", "--terraform-engine=cli")
CORE_CLI = (
    "--kind=core",
    "--service=toto-terra-aws",
    "--service-repositories=acme/expenses",
    "--terraform-engine=cli",
)


def roles_by_job(workflow: dict[str, Any]) -> dict[str, str]:
    """The role each job that takes AWS credentials assumes."""
    return {
        name: steps_by_uses(job)[AWS_STEP]["with"]["role-to-assume"]
        for name, job in workflow["jobs"].items()
        if AWS_STEP in steps_by_uses(job)
    }


def changing(job: str) -> bool:
    """Whether a job changes its environment: a deploy, an apply or a redeploy."""
    return job.startswith(("deploy-", "apply-", "redeploy-"))


# Point 2 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("arguments", [SERVICE, CORE_CLI], ids=["microservice", "core"])
def test_the_deploy_role_reaches_only_the_jobs_that_change_an_environment(
    inline_cli: CliRunner, tmp_path: Path, arguments: tuple[str, ...]
) -> None:
    """--aws-role-arn is the deploy role: a plan or drift job runs for any branch author (a
    pull request's workflow is its own), so it reads its plan environment's AWS_ROLE_ARN."""
    result = inline_cli("render-workflow", *arguments, f"--aws-role-arn={DEPLOY_ROLE}")
    assert (result.exit_code, besides_the_sync_warning(result.stderr)) == (0, "")
    path = MICROSERVICE if arguments is SERVICE else CORE
    roles = roles_by_job(load(tmp_path / path))
    assert {job for job in roles if not changing(job)} == {
        "plan-dev",
        "plan-prod",
        "drift-dev",
        "drift-prod",
    }
    assert {job: role for job, role in roles.items() if changing(job)} == {
        job: DEPLOY_ROLE for job in roles if changing(job)
    }
    assert {job: role for job, role in roles.items() if not changing(job)} == {
        job: ENVIRONMENT_VARIABLE for job in roles if not changing(job)
    }
    for job in ("plan-dev", "drift-prod"):
        assert load(tmp_path / path)["jobs"][job]["environment"] == f"{job.split('-')[1]}-plan"


@pytest.mark.parametrize(
    ("arguments", "toto_yml"),
    [
        ((*SERVICE, f"--aws-plan-role-arn={PLAN_ROLE}"), ""),
        (SERVICE, f"aws-plan-role-arn: {PLAN_ROLE}\n"),
        ((*CORE_CLI, f"--aws-plan-role-arn={PLAN_ROLE}"), ""),
    ],
    ids=["microservice-option", "microservice-toto.yml", "core-option"],
)
def test_the_plan_role_goes_to_the_plan_and_drift_jobs(
    inline_cli: CliRunner, tmp_path: Path, arguments: tuple[str, ...], toto_yml: str
) -> None:
    if toto_yml:
        write_toto_yml(tmp_path, toto_yml)
    result = inline_cli("render-workflow", *arguments, f"--aws-role-arn={DEPLOY_ROLE}")
    assert (result.exit_code, besides_the_sync_warning(result.stderr)) == (0, "")
    path = CORE if "--kind=core" in arguments else MICROSERVICE
    roles = roles_by_job(load(tmp_path / path))
    assert {job: role for job, role in roles.items() if not changing(job)} == {
        "plan-dev": PLAN_ROLE,
        "plan-prod": PLAN_ROLE,
        "drift-dev": PLAN_ROLE,
        "drift-prod": PLAN_ROLE,
    }
    assert {role for job, role in roles.items() if changing(job)} == {DEPLOY_ROLE}
    header = (tmp_path / path).read_text(encoding="utf-8").split("\nname:")[0]
    assert "AWS_ROLE_ARN" not in header  # both roles rendered in: no variable is read


def test_without_a_rendered_role_each_environment_holds_its_own(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    assert inline_cli("render-workflow", *SERVICE).exit_code == 0
    header = (tmp_path / MICROSERVICE).read_text(encoding="utf-8").split("\nname:")[0]
    assert "#   variable AWS_ROLE_ARN of each environment <env>: the deploy role" in header
    assert (
        "#   variable AWS_ROLE_ARN of each environment <env>-plan: a read-only role for the plan "
        "and drift\n#            jobs, never the deploy role"
    ) in header
    assert set(roles_by_job(load(tmp_path / MICROSERVICE)).values()) == {ENVIRONMENT_VARIABLE}


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (
            (f"--aws-role-arn={DEPLOY_ROLE}", f"--aws-plan-role-arn={DEPLOY_ROLE}"),
            "aws-plan-role-arn is the deploy role (aws-role-arn): the plan and drift jobs need a "
            "read-only role of their own, or leave it out to read each plan environment's "
            "AWS_ROLE_ARN variable",
        ),
        (
            ("--aws-plan-role-arn=toto-plan",),
            "aws-plan-role-arn 'toto-plan' is not an IAM role ARN "
            "(arn:aws:iam::123456789012:role/NAME)",
        ),
    ],
    ids=["the-deploy-role", "not-an-arn"],
)
def test_a_bad_plan_role_is_refused_before_anything_is_written(
    inline_cli: CliRunner, tmp_path: Path, arguments: tuple[str, ...], line: str
) -> None:
    before = snapshot(tmp_path)
    result = inline_cli("render-workflow", *SERVICE, *arguments)
    assert (result.exit_code, result.stderr.strip().splitlines()[-1]) == (2, f"error: {line}")
    assert snapshot(tmp_path) == before


# Point 3 ----------------------------------------------------------------------------------------


def build_repositories(workflow: dict[str, Any]) -> dict[str, str]:
    """The repository each job's build-push step names."""
    return {
        name: steps_by_uses(job)["toto/actions/actions/build-push"]["with"]["repository"]
        for name, job in workflow["jobs"].items()
        if "toto/actions/actions/build-push" in steps_by_uses(job)
    }


def test_each_environment_pushes_to_and_plans_from_its_own_repository(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    """Whoever can push to dev (any writer, through feature/**) must not plant what prod
    deploys: prod's build-push looks up its inputs tag and layer cache in expenses/prod only."""
    assert inline_cli("render-workflow", *SERVICE).exit_code == 0
    workflow = load(tmp_path / MICROSERVICE)
    repositories = build_repositories(workflow)
    assert {job: repositories[job] for job in ("deploy-dev", "deploy-prod", "plan-dev")} == {
        "deploy-dev": "expenses/dev",
        "deploy-prod": "expenses/prod",
        "plan-dev": "expenses/dev",
    }
    assert {job for job, name in repositories.items() if name.endswith("/prod")} >= {
        "deploy-prod",
        "plan-prod",
    }
    header = (tmp_path / MICROSERVICE).read_text(encoding="utf-8").split("\nname:")[0]
    assert (
        "#   images: each environment pushes to its own repository and deploys only from it:\n"
        "#            dev: expenses/dev\n"
        "#            prod: expenses/prod\n"
    ) in header


@pytest.mark.parametrize(
    ("arguments", "toto_yml"),
    [(("--image-repository=shared",), ""), ((), "image-repository: shared\n")],
    ids=["option", "toto.yml"],
)
def test_a_shared_repository_is_an_opt_in(
    inline_cli: CliRunner, tmp_path: Path, arguments: tuple[str, ...], toto_yml: str
) -> None:
    if toto_yml:
        write_toto_yml(tmp_path, toto_yml)
    assert inline_cli("render-workflow", *SERVICE, *arguments).exit_code == 0
    assert set(build_repositories(load(tmp_path / MICROSERVICE)).values()) == {"expenses"}
    text = (tmp_path / MICROSERVICE).read_text(encoding="utf-8")
    assert (
        "#   images: one repository for every environment, expenses (image-repository: shared)"
    ) in text
    assert "expenses/dev" not in text


@pytest.mark.parametrize(
    ("arguments", "toto_yml", "line"),
    [
        (
            ("--environments=dev=main;qa--1=release/**",),
            "",
            "image repository 'expenses/qa--1' of environment 'qa--1' is not a valid ECR "
            "repository name (lowercase letters and digits, with '.', '_' or '-' between them, "
            "one at a time): rename the environment, or set image-repository: shared",
        ),
        (
            ("--image-repository=global",),
            "",
            "argument --image-repository: invalid choice: 'global' (choose from 'environment', "
            "'shared')",
        ),
        (
            ("--kind=core", "--service-repositories=acme/expenses"),
            "image-repository: shared\n",
            "image-repository (toto.yml) is a setting of the microservice workflow: leave it "
            "out of a core render",
        ),
    ],
    ids=["double-separator", "unknown-choice", "core"],
)
def test_a_bad_image_repository_is_refused_before_anything_is_written(
    inline_cli: CliRunner, tmp_path: Path, arguments: tuple[str, ...], toto_yml: str, line: str
) -> None:
    if toto_yml:
        write_toto_yml(tmp_path, toto_yml)
    before = snapshot(tmp_path)
    result = inline_cli("render-workflow", *SERVICE, *arguments)
    assert result.exit_code == 2
    assert line in result.stderr.strip().splitlines()[-1]
    assert snapshot(tmp_path) == before


def test_an_environment_named_in_upper_case_gets_a_lower_case_repository(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    """ECR repository names are lower case; GitHub environment names are unique regardless of
    case (render refuses two that differ only in case), so lower-casing merges none."""
    arguments = ("--environments=dev=main;Production=release/**",)
    assert inline_cli("render-workflow", *SERVICE, *arguments).exit_code == 0
    repositories = build_repositories(load(tmp_path / MICROSERVICE))
    assert repositories["deploy-Production"] == "expenses/production"


def test_an_environment_ecr_cannot_name_may_share_the_repository(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    arguments = ("--environments=dev=main;qa--1=release/**", "--image-repository=shared")
    assert inline_cli("render-workflow", *SERVICE, *arguments).exit_code == 0


def test_the_deploy_passes_the_image_by_digest_and_the_plan_by_tag(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    """build-push's `image` output is HOST/REPOSITORY@sha256:... (actions/build-push/action.yml,
    toto_actions/images/content_tag.report); with push false it has no digest to give for an
    image not pushed yet, so the plan names the image by the tag the deploy will push."""
    assert inline_cli("render-workflow", *SERVICE).exit_code == 0
    jobs = load(tmp_path / MICROSERVICE)["jobs"]
    tag = "${{ steps.build.outputs.inputs-tag || steps.build.outputs.tag }}"

    def var(job: str) -> str:
        value: str = steps_by_uses(jobs[job])["toto/actions/actions/tf-apply"]["with"]["var"]
        return value

    assert var("deploy-prod") == f"image_tag={tag}\nimage=${{{{ steps.build.outputs.image }}}}\n"
    assert var("plan-prod") == (
        f"image_tag={tag}\nimage=${{{{ steps.build.outputs.registry }}}}/expenses/prod:{tag}\n"
    )
    assert var("drift-dev") == "image_tag=drift-check\nimage=drift-check\n"


# Point 5 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sync_auth", "secret"),
    [("app", "TOTO_APP_PRIVATE_KEY"), ("token", "TOTO_SYNC_TOKEN")],
)
def test_the_core_header_keeps_the_sync_credential_in_the_apply_environments(
    inline_cli: CliRunner, tmp_path: Path, sync_auth: str, secret: str
) -> None:
    """GitHub: "if an organization, repository, and environment all have a secret with the same
    name, the environment-level secret takes precedence" (docs.github.com, Actions, Secrets
    reference, "Naming your secrets"; github/docs content/actions/reference/security/secrets.md).
    The docs are silent on a name the environment lacks; the safe reading, that the job then
    gets the repository's secret, is what the header warns against."""
    result = inline_cli("render-workflow", *CORE_CLI, f"--sync-auth={sync_auth}")
    assert (result.exit_code, besides_the_sync_warning(result.stderr)) == (0, "")
    text = (tmp_path / CORE).read_text(encoding="utf-8")
    header = text.split("\nname:")[0]
    assert f"environment secret {secret}" in header
    assert (
        f"# Where they live: {secret} and TOTO_FINGERPRINT_KEY are secrets of each environment\n"
        "# <env>, read only by its apply job."
    ) in header
    assert (
        "# AWS_ROLE_ARN: <env>'s for its apply job, <env>-plan's (read-only values of\n"
        "# their own) for its plan and drift jobs; each job must find them in its own "
        "environment.\n"
        "# Create none of these at repository level"
    ) in header
    assert f"but no {secret} or TOTO_FINGERPRINT_KEY" in header
    # Every job that reads the sync credential names an apply environment.
    jobs = load(tmp_path / CORE)["jobs"]
    readers = {name for name, job in jobs.items() if f"secrets.{secret}" in str(job)}
    assert readers == {"apply-dev", "apply-prod"}
    assert {jobs[name]["environment"] for name in readers} == {"dev", "prod"}


def test_the_service_header_says_where_each_credential_lives(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    assert inline_cli("render-workflow", "--kind=microservice", "--service=expenses").exit_code == 0
    header = (tmp_path / MICROSERVICE).read_text(encoding="utf-8").split("\nname:")[0]
    assert (
        "# Where they live: TF_API_TOKEN, TOTO_REGISTRY_PASSWORD, AWS_ROLE_ARN are of the "
        "environment <env>\n"
    ) in header
    assert "Create none of them at repository level" in header
