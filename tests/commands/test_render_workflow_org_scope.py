"""render-workflow with the core secrets as organization secrets (`secrets-scope organization`,
toto-secrets.yml `scope: organization`): each environment's jobs read `<ENV>_<NAME>`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_render_workflow import CORE, MICROSERVICE, load, steps_by_uses
from tests.conftest import CliRunner, snapshot, write_toto_yml

ORGANIZATION_CONFIG = (
    "version: 1\nscope: organization\nrepositories: [acme/toto-ms-games]\n"
    "secrets: {ECS_SUBNET_1: ecs_subnet_1}\n"
)
SERVICE = ("--kind", "microservice", "--service", "toto-ms-games")
CORE_ARGUMENTS = ("--kind", "core", "--service", "toto-terra-aws", "--service-repositories")
# Every job that passes the core secrets to Terraform, and its environment.
SECRET_JOBS = {
    "deploy-dev": "DEV",
    "deploy-prod": "PROD",
    "redeploy-dev": "DEV",
    "redeploy-prod": "PROD",
    "plan-dev": "DEV",
    "plan-prod": "PROD",
    "drift-dev": "DEV",
    "drift-prod": "PROD",
}


def tf_apply_env(job: dict[str, Any]) -> dict[str, str]:
    """The env of the job's Terraform step (the last tf-apply: a redeploy's first one only
    reads the current outputs)."""
    env = [
        step.get("env", {}) for step in job["steps"] if "/actions/tf-apply@" in step.get("uses", "")
    ]
    return {key: value for key, value in env[-1].items() if key.startswith("TF_VAR_")}


def token_permissions(workflow: Path, job: str = "apply-dev") -> dict[str, str]:
    token = steps_by_uses(load(workflow)["jobs"][job])["actions/create-github-app-token"]["with"]
    return {key: value for key, value in token.items() if key.startswith("permission-")}


def header(workflow: Path) -> str:
    text = workflow.read_text(encoding="utf-8")
    return text[: text.index("\nname: ")]


def test_each_job_reads_its_environments_organization_secrets(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    result = inline_cli("render-workflow", *SERVICE, "--secrets-scope", "organization")
    assert result.exit_code == 0, result.stderr
    jobs = load(tmp_path / MICROSERVICE)["jobs"]
    # The redeploy handler (no environment, no Terraform) reads no secret at all.
    assert set(SECRET_JOBS) == set(jobs) - {"redeploy-dispatch"}
    assert "secrets." not in str(jobs["redeploy-dispatch"])
    for job, prefix in SECRET_JOBS.items():
        env = tf_apply_env(jobs[job])
        assert env["TF_VAR_ecs_subnet_1"] == f"${{{{ secrets.{prefix}_ECS_SUBNET_1 }}}}", job
        assert env["TF_VAR_alb_listener_arn"] == f"${{{{ secrets.{prefix}_ALB_LISTENER_ARN }}}}"
        assert len(env) == 8, job
    assert "secrets.ECS_SUBNET_1 " not in (tmp_path / MICROSERVICE).read_text(encoding="utf-8")


def test_the_header_lists_the_organization_secrets_of_each_environment(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    write_toto_yml(
        tmp_path,
        "secrets-scope: organization\ncore-secrets: [ECS_SUBNET_1, db_host]\n"
        "environments: {dev: main, staging: staging, prod: release/**}\n",
    )
    assert inline_cli("render-workflow", *SERVICE).exit_code == 0
    lines = header(tmp_path / MICROSERVICE).splitlines()
    start = next(i for i, line in enumerate(lines) if "organization secrets" in line)
    assert lines[start + 2 : start + 8] == [
        "#     dev:",
        "#       DEV_ECS_SUBNET_1, DEV_DB_HOST",
        "#     staging:",
        "#       STAGING_ECS_SUBNET_1, STAGING_DB_HOST",
        "#     prod:",
        "#       PROD_ECS_SUBNET_1, PROD_DB_HOST",
    ]
    # The name Terraform sees is the same as in the environment scope: the name, lower-cased.
    env = tf_apply_env(load(tmp_path / MICROSERVICE)["jobs"]["deploy-staging"])
    assert env == {
        "TF_VAR_ecs_subnet_1": "${{ secrets.STAGING_ECS_SUBNET_1 }}",
        "TF_VAR_db_host": "${{ secrets.STAGING_DB_HOST }}",
    }


def test_the_environment_scope_stays_the_default(inline_cli: CliRunner, tmp_path: Path) -> None:
    assert inline_cli("render-workflow", *SERVICE).exit_code == 0
    workflow = tmp_path / MICROSERVICE
    assert tf_apply_env(load(workflow)["jobs"]["plan-prod"])["TF_VAR_ecs_subnet_1"] == (
        "${{ secrets.ECS_SUBNET_1 }}"
    )
    assert "PROD_" not in workflow.read_text(encoding="utf-8")


def test_the_core_token_asks_for_the_organization_permissions(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "toto-secrets.yml").write_text(ORGANIZATION_CONFIG, encoding="utf-8")
    result = inline_cli("render-workflow", *CORE_ARGUMENTS, "acme/toto-ms-games")
    assert result.exit_code == 0, result.stderr
    workflow = tmp_path / CORE
    assert token_permissions(workflow) == {
        "permission-actions-variables": "read",  # the repositories' own count with the org's
        "permission-metadata": "read",
        "permission-organization-actions-variables": "write",
        "permission-organization-plan": "read",  # on GitHub Free, no private repository
        "permission-organization-secrets": "write",
    }
    token = steps_by_uses(load(workflow)["jobs"]["apply-prod"])["actions/create-github-app-token"]
    # The organization's installation: organization permissions act on the owner's secrets.
    assert (token["with"]["owner"], token["with"]["repositories"]) == ("acme", "toto-ms-games\n")
    assert (
        "Organization variables: write, Organization plan: read, Organization secrets: write"
        in (header(workflow))
    )


def test_the_core_syncs_no_plan_environment_at_organization_scope(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    """Organization secrets reach every job of the selected repositories, <env>-plan's too."""
    (tmp_path / "toto-secrets.yml").write_text(ORGANIZATION_CONFIG, encoding="utf-8")
    assert (
        inline_cli(
            "render-workflow", *CORE_ARGUMENTS, "toto-ms-games", "--sync-dispatch=c"
        ).exit_code
        == 0
    )
    for job in ("apply-dev", "apply-prod"):
        steps = load(tmp_path / CORE)["jobs"][job]["steps"]
        syncs = [step for step in steps if "/actions/sync-secrets@" in step.get("uses", "")]
        assert [sync["with"]["environment"] for sync in syncs] == [job.removeprefix("apply-")]
        assert syncs[0]["with"]["dispatch"] == "c"
        assert syncs[0]["name"] == (
            "Write the core outputs as organization secrets of the service repositories"
        )
    assert token_permissions(tmp_path / CORE)["permission-contents"] == "write"


def test_without_toto_secrets_yml_the_option_decides_for_the_core(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    result = inline_cli(
        "render-workflow", *CORE_ARGUMENTS, "toto-ms-games", "--secrets-scope", "organization"
    )
    assert result.exit_code == 0, result.stderr
    assert set(token_permissions(tmp_path / CORE)) == {
        "permission-actions-variables",
        "permission-metadata",
        "permission-organization-actions-variables",
        "permission-organization-plan",
        "permission-organization-secrets",
    }


def test_a_token_secret_is_told_the_organization_permissions(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "toto-secrets.yml").write_text(ORGANIZATION_CONFIG, encoding="utf-8")
    result = inline_cli("render-workflow", "--kind=core", "--service=core", "--sync-auth=token")
    assert result.exit_code == 0, result.stderr
    assert re.search(
        r"secret TOTO_SYNC_TOKEN: a fine-grained token of the organization on the service\n"
        r"#\s+repositories with these permissions: Variables: read, Metadata: read, "
        r"Organization variables: write, Organization plan: read, Organization secrets: "
        r"write\n",
        header(tmp_path / CORE),
    )


@pytest.mark.parametrize(
    ("arguments", "files", "message"),
    [
        (
            [*CORE_ARGUMENTS, "toto-ms-games", "--secrets-scope", "organization"],
            {"toto-secrets.yml": ORGANIZATION_CONFIG.replace("organization", "environment")},
            "secrets-scope organization does not match scope environment of toto-secrets.yml: "
            "make them the same",
        ),
        (
            [*CORE_ARGUMENTS, "toto-ms-games"],
            {"toto-secrets.yml": ORGANIZATION_CONFIG, "toto.yml": "secrets-scope: environment\n"},
            "secrets-scope environment does not match scope organization of toto-secrets.yml: "
            "make them the same",
        ),
        (
            [*CORE_ARGUMENTS, "toto-ms-games", "--create-environments"],
            {"toto-secrets.yml": ORGANIZATION_CONFIG},
            "create-environments has no use in scope organization (organization secrets belong "
            "to no environment): leave it out",
        ),
        (
            [*SERVICE, "--secrets-scope", "organization", "--environments", "dev-eu=main"],
            {},
            "environment 'dev-eu' cannot prefix organization secret names: 'DEV-EU_VPC_ID' is "
            "not a valid secret or variable name: letters, digits and '_', not starting with "
            "a digit",
        ),
        (
            [*SERVICE, "--environments", "dev=main;github=release/**"],
            {"toto.yml": "secrets-scope: organization\ncore-secrets: [DB_HOST]\n"},
            "environment 'github' cannot prefix organization secret names: 'GITHUB_DB_HOST' "
            "starts with GITHUB_, which GitHub reserves",
        ),
        (
            [*CORE_ARGUMENTS, "toto-ms-games", "--environments", "dev-eu=main"],
            {"toto-secrets.yml": ORGANIZATION_CONFIG},
            "environment 'dev-eu' cannot prefix organization secret names: 'DEV-EU_X' is not a "
            "valid secret or variable name: letters, digits and '_', not starting with a digit",
        ),
        (
            [*SERVICE],
            {"toto.yml": "secrets-scope: organisation\n"},
            "secrets-scope 'organisation' is not one of environment, organization",
        ),
    ],
)
def test_a_scope_that_cannot_work_is_one_line_exit_2_and_writes_nothing(
    inline_cli: CliRunner, tmp_path: Path, arguments: list[str], files: dict[str, str], message: str
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    before = snapshot(tmp_path)
    result = inline_cli("render-workflow", *arguments)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {message}\n")
    assert snapshot(tmp_path) == before


def test_the_environment_scope_takes_any_environment_name(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    """The prefix is checked only where it is used."""
    result = inline_cli("render-workflow", *SERVICE, "--environments", "dev-eu=main")
    assert result.exit_code == 0, result.stderr
