"""render-workflow's pull-request plans, drift checks and the core flow's run source (issue 19):
the console script in a subprocess, its rendered workflow read back."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from tests.commands.test_render_workflow import (
    CORE,
    MICROSERVICE,
    load,
    microservice_named,
    steps_by_uses,
)
from tests.conftest import CliRunner, write_toto_yml

SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"
FORK = "github.event.pull_request.head.repo.full_name != github.repository"
# A run Dependabot starts gets no Actions secrets (see test_render_workflow_dependabot).
DEPENDABOT = f"{SAME_REPOSITORY} && github.actor == 'dependabot[bot]'"
PLANNED = f"{SAME_REPOSITORY} && github.actor != 'dependabot[bot]'"
GITHUB_API_URL = "${{ vars.TOTO_GITHUB_API_URL || github.api_url }}"
CORE_APP = ("--kind=core", "--service=toto-terra-aws", "--service-repositories=acme/toto-ms-a")


def test_a_pull_request_plans_the_service_in_the_plan_environment(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    assert inline_cli("render-workflow", *microservice_named("toto-ms-x")).exit_code == 0
    plan = load(tmp_path / MICROSERVICE)["jobs"]["plan-dev"]
    assert plan["if"] == (
        "github.event_name == 'pull_request' && "
        "(startsWith(github.base_ref, 'feature/') || github.base_ref == 'main')"
    )
    assert plan["environment"] == "dev-plan"
    assert plan["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "id-token": "write",  # build-push reads the registry with AWS credentials
    }
    assert plan["concurrency"] == {
        "group": "toto-ms-x-plan-dev-${{ github.event.pull_request.number }}",
        "cancel-in-progress": True,
    }
    notice, dependabot_notice, *steps = plan["steps"]
    assert notice["if"] == FORK
    assert notice["run"].startswith('echo "::notice title=No plan for a fork::')
    assert dependabot_notice["if"] == DEPENDABOT  # see test_render_workflow_dependabot
    assert [step["if"] for step in steps] == [PLANNED] * len(steps)
    by_uses = steps_by_uses(plan)
    assert list(by_uses) == [
        "actions/checkout",
        "aws-actions/configure-aws-credentials",
        "toto/actions/actions/build-push",
        "toto/actions/actions/tf-apply",
    ]
    build = by_uses["toto/actions/actions/build-push"]
    assert (build["id"], build["with"]["push"]) == ("build", False)
    apply = by_uses["toto/actions/actions/tf-apply"]
    assert apply["with"]["plan-only"] is True
    assert apply["with"]["workspace"] == "toto-ms-x-dev"
    assert apply["with"]["github-api-url"] == GITHUB_API_URL
    tag = "${{ steps.build.outputs.inputs-tag || steps.build.outputs.tag }}"
    assert apply["with"]["var"] == (
        f"image_tag={tag}\nimage=${{{{ steps.build.outputs.registry }}}}/toto-ms-x/dev:{tag}\n"
    )
    assert not {
        "refresh-only",
        "detailed-exitcode",
        "pr-comment",
        "github-token",
        "wait-for-services",
    } & set(apply["with"])
    assert apply["env"]["TF_VAR_alb_listener_arn"] == "${{ secrets.ALB_LISTENER_ARN }}"
    assert load(tmp_path / MICROSERVICE)["jobs"]["plan-prod"]["if"] == (
        "github.event_name == 'pull_request' && (startsWith(github.base_ref, 'release/'))"
    )


def test_a_multi_platform_plan_computes_the_tag_for_the_platforms_without_building(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    arguments = (*microservice_named("toto-ms-x"), "--platforms=linux/amd64,linux/arm64")
    assert inline_cli("render-workflow", *arguments).exit_code == 0
    plan = steps_by_uses(load(tmp_path / MICROSERVICE)["jobs"]["plan-dev"])
    assert plan["toto/actions/actions/build-push"]["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert "docker/setup-qemu-action" not in plan and "docker/setup-buildx-action" not in plan


def test_the_core_plan_on_the_cli_engine_takes_aws_credentials_unless_from_a_fork(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    arguments = ("--kind=core", "--service=toto-terra-aws", "--sync-auth=token")
    assert inline_cli("render-workflow", *arguments, "--terraform-engine=cli").exit_code == 0
    plan = load(tmp_path / CORE)["jobs"]["plan-dev"]
    assert plan["if"] == "github.event_name == 'pull_request' && (github.base_ref == 'main')"
    assert plan["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
        "id-token": "write",
    }
    assert [(step["name"], step["if"]) for step in plan["steps"]] == [
        ("No plan for a pull request from a fork", FORK),
        ("No plan for a run Dependabot started", DEPENDABOT),
        ("Check out the pull request", PLANNED),
        ("Configure AWS credentials (OIDC)", PLANNED),
        ("Set up Terraform", PLANNED),
        ("Plan the core Terraform and comment on the pull request", PLANNED),
    ]
    apply = plan["steps"][-1]["with"]
    assert (apply["engine"], apply["plan-only"], apply["github-api-url"]) == (
        "cli",
        True,
        GITHUB_API_URL,
    )
    assert "run-source" not in apply and "commit" not in apply


@pytest.mark.parametrize(
    ("engine", "permissions", "uses"),
    [
        ("cloud", {"contents": "read"}, ["actions/checkout", "toto/actions/actions/tf-apply"]),
        (
            "cli",
            {"contents": "read", "id-token": "write"},
            [
                "actions/checkout",
                "aws-actions/configure-aws-credentials",
                "hashicorp/setup-terraform",
                "toto/actions/actions/tf-apply",
            ],
        ),
    ],
)
def test_the_drift_check_is_a_scheduled_refresh_only_plan_that_fails_on_drift(
    inline_cli: CliRunner, tmp_path: Path, engine: str, permissions: dict[str, str], uses: list[str]
) -> None:
    arguments = (*microservice_named("toto-ms-x"), f"--terraform-engine={engine}")
    assert inline_cli("render-workflow", *arguments).exit_code == 0
    drift = load(tmp_path / MICROSERVICE)["jobs"]["drift-prod"]
    assert drift["if"] == "github.event_name == 'schedule'"
    assert drift["environment"] == "prod-plan"
    assert drift["permissions"] == permissions
    assert drift["concurrency"] == {"group": "toto-ms-x-drift-prod", "cancel-in-progress": True}
    steps = steps_by_uses(drift)
    assert list(steps) == uses
    apply = steps["toto/actions/actions/tf-apply"]
    assert {
        key: apply["with"][key] for key in ("plan-only", "refresh-only", "detailed-exitcode")
    } == {
        "plan-only": True,
        "refresh-only": True,
        "detailed-exitcode": True,
    }
    assert apply["with"]["workspace"] == "toto-ms-x-prod"
    # Any values: never compared.
    assert apply["with"]["var"] == "image_tag=drift-check\nimage=drift-check\n"
    assert apply["env"]["TF_VAR_ecs_cluster_arn"] == "${{ secrets.ECS_CLUSTER_ARN }}"
    text = (tmp_path / MICROSERVICE).read_text(encoding="utf-8")
    assert "does not compare\n          # the configuration" in text


@pytest.mark.parametrize(
    ("given", "toto_yml", "cron"),
    [
        ([], "", "23 5 * * *"),
        (["--drift-schedule", "0  3 * * mon-fri"], "", "0 3 * * mon-fri"),
        ([], "drift-schedule: '*/30 6-18 * JAN,JUL *'\n", "*/30 6-18 * JAN,JUL *"),
        (["--drift-schedule=17 4 1 * *"], "drift-schedule: none\n", "17 4 1 * *"),
    ],
)
def test_the_drift_schedule(
    inline_cli: CliRunner, tmp_path: Path, given: list[str], toto_yml: str, cron: str
) -> None:
    write_toto_yml(tmp_path, toto_yml)
    assert inline_cli("render-workflow", *CORE_APP, *given).exit_code == 0
    workflow = load(tmp_path / CORE)
    assert workflow[True]["schedule"] == [{"cron": cron}]
    assert [job for job in workflow["jobs"] if job.startswith("drift-")] == [
        "drift-dev",
        "drift-prod",
    ]


@pytest.mark.parametrize(
    ("given", "toto_yml"),
    [(["--drift-schedule", "none"], ""), ([], "drift-schedule: none\n")],
)
def test_drift_schedule_none_leaves_the_schedule_out(
    inline_cli: CliRunner, tmp_path: Path, given: list[str], toto_yml: str
) -> None:
    write_toto_yml(tmp_path, toto_yml)
    assert inline_cli("render-workflow", *microservice_named("toto-ms-x"), *given).exit_code == 0
    workflow = load(tmp_path / MICROSERVICE)
    assert list(workflow[True]) == [
        "push",
        "pull_request",
        "workflow_dispatch",
        "repository_dispatch",
    ]
    assert not [job for job in workflow["jobs"] if job.startswith("drift-")]
    assert "schedule" not in (tmp_path / MICROSERVICE).read_text(encoding="utf-8")


def test_run_source_vcs_follows_the_workspaces_own_runs(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    assert inline_cli("render-workflow", *CORE_APP, "--run-source", "vcs").exit_code == 0
    jobs = load(tmp_path / CORE)["jobs"]
    apply = steps_by_uses(jobs["apply-dev"])["toto/actions/actions/tf-apply"]["with"]
    assert apply["run-source"] == "vcs"
    assert "commit" not in apply  # the action's default: the pushed commit, github.sha
    plan = steps_by_uses(jobs["plan-dev"])["toto/actions/actions/tf-apply"]["with"]
    assert (plan["run-source"], plan["commit"]) == (
        "vcs",
        "${{ github.event.pull_request.head.sha }}",
    )
    assert plan["plan-only"] is True
    drift = steps_by_uses(jobs["drift-dev"])["toto/actions/actions/tf-apply"]["with"]
    assert "run-source" not in drift and drift["refresh-only"] is True


def test_run_source_upload_is_the_default_and_renders_no_run_source(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    assert inline_cli("render-workflow", *CORE_APP).exit_code == 0
    default = (tmp_path / CORE).read_text(encoding="utf-8")
    assert "run-source" not in default and "commit:" not in default
    assert inline_cli("render-workflow", *CORE_APP, "--run-source=upload").exit_code == 0
    assert (tmp_path / CORE).read_text(encoding="utf-8") == default


def test_a_repository_scope_sync_writes_no_plan_environment(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    write_toto_yml(
        tmp_path,
        "version: 1\nscope: repository\nrepositories: [acme/toto-ms-a]\nsecrets: {A: a}\n",
        "toto-secrets.yml",
    )
    assert inline_cli("render-workflow", *CORE_APP, "--sync-dispatch=core-changed").exit_code == 0
    steps = load(tmp_path / CORE)["jobs"]["apply-prod"]["steps"]
    syncs = [step["with"] for step in steps if "sync-secrets" in step["uses"]]
    assert [sync["environment"] for sync in syncs] == ["prod"]


def test_the_plan_environment_sync_sends_no_second_dispatch(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    arguments = (*CORE_APP, "--sync-dispatch=core-changed", "--create-environments")
    assert inline_cli("render-workflow", *arguments).exit_code == 0
    steps = load(tmp_path / CORE)["jobs"]["apply-prod"]["steps"]
    syncs = [step for step in steps if "sync-secrets" in step["uses"]]
    assert [sync["name"] for sync in syncs] == [
        "Write the core outputs as secrets of the service repositories",
        "Write them into the plan environment prod-plan too",
    ]
    first, second = (sync["with"] for sync in syncs)
    assert (first["environment"], first["dispatch"]) == ("prod", "core-changed")
    assert second["environment"] == "prod-plan" and "dispatch" not in second
    assert second["create-environments"] is True
    # A pull request's workflow can read the plan environment: no sensitive output goes there.
    assert second["skip-sensitive"] is True and "skip-sensitive" not in first
    assert {k: v for k, v in first.items() if k not in {"environment", "dispatch"}} == {
        k: v for k, v in second.items() if k not in {"environment", "skip-sensitive"}
    }


class Combination(NamedTuple):
    kind: str
    engine: str
    drift: str
    run_source: str


COMBINATIONS = [
    Combination(kind, engine, drift, run_source)
    for kind in ("microservice", "core")
    for engine in ("cloud", "cli")
    for drift in ("default", "none")
    for run_source in ("default", "vcs")
    if run_source == "default" or (kind, engine) == ("core", "cloud")
]


QA_REF = "startsWith(github.ref, 'refs/heads/qa-')"


@pytest.mark.parametrize("combination", COMBINATIONS, ids="-".join)
def test_every_combination_guards_each_job_to_its_event(
    inline_cli: CliRunner, tmp_path: Path, combination: Combination
) -> None:
    """Per environment: the push job on push (and a manual run) only, the plan on a pull request
    into its branch, the drift check on the schedule; never pull_request_target."""
    kind, engine, drift, run_source = combination
    arguments = [f"--kind={kind}", "--service=toto-x", f"--terraform-engine={engine}"]
    arguments += ["--sync-auth=token"] if kind == "core" else []
    arguments += ["--drift-schedule=none"] if drift == "none" else []
    arguments += [f"--run-source={run_source}"] if run_source != "default" else []
    arguments += ["--environments=dev=main;qa=qa-*"]
    assert inline_cli("render-workflow", *arguments).exit_code == 0
    path = tmp_path / (CORE if kind == "core" else MICROSERVICE)
    assert "pull_request_target" not in path.read_text(encoding="utf-8")
    jobs = load(path)["jobs"]
    push_job = "apply" if kind == "core" else "deploy"
    push_events = (
        "github.event_name == 'push'"
        if kind == "core"
        else "(github.event_name == 'push' || (github.event_name == 'workflow_dispatch' && "
        "inputs.redeploy != true))"
    )
    expected = {
        f"{push_job}-dev": f"{push_events} && (github.ref == 'refs/heads/main')",
        f"{push_job}-qa": f"{push_events} && (startsWith(github.ref, 'refs/heads/qa-'))",
        "plan-dev": "github.event_name == 'pull_request' && (github.base_ref == 'main')",
        "plan-qa": "github.event_name == 'pull_request' && (startsWith(github.base_ref, 'qa-'))",
    }
    if drift == "default":
        expected |= {f"drift-{env}": "github.event_name == 'schedule'" for env in ("dev", "qa")}
    if kind == "microservice":  # a core change redeploys each environment's deployed commit
        conditions = {"dev": "github.ref == 'refs/heads/main'", "qa": QA_REF}
        expected |= {
            f"redeploy-{env}": "github.event_name == 'workflow_dispatch' && inputs.redeploy == "
            f"true && ({condition})"
            for env, condition in conditions.items()
        }
        expected["redeploy-dispatch"] = "github.event_name == 'repository_dispatch'"
    assert {name: job["if"] for name, job in jobs.items()} == expected
    jobs.pop("redeploy-dispatch", None)  # no environment, no Terraform: see the redeploy tests
    for name, job in jobs.items():
        uses_aws = engine == "cli" or (kind == "microservice" and not name.startswith("drift-"))
        assert ("id-token" in job["permissions"]) == uses_aws, name
        if name.startswith("redeploy-"):
            assert job["environment"] == name.split("-", 1)[1], name
            assert job["permissions"]["deployments"] == "write", name  # records the commit
            assert "pull-requests" not in job["permissions"], name
        elif not name.startswith(push_job):
            assert job["environment"] == f"{name.split('-', 1)[1]}-plan", name
            assert ("pull-requests" in job["permissions"]) == name.startswith("plan-"), name
        else:
            assert job["permissions"]["pull-requests"] == "read"
        tf_apply = steps_by_uses(job)["toto/actions/actions/tf-apply"]["with"]
        vcs = run_source == "vcs" and not name.startswith("drift-")
        assert ("run-source" in tf_apply) == vcs, name


def test_check_follows_the_new_settings(inline_cli: CliRunner, tmp_path: Path) -> None:
    arguments = (*CORE_APP, "--drift-schedule=5 4 * * *", "--run-source=vcs")
    assert inline_cli("render-workflow", *arguments).exit_code == 0
    assert inline_cli("render-workflow", *arguments, "--check").exit_code == 0
    assert inline_cli("render-workflow", "--check").exit_code == 0  # toto.yml keeps them
    assert inline_cli("render-workflow", "--run-source=upload", "--check").exit_code == 1
    assert inline_cli("render-workflow", "--drift-schedule=none", "--check").exit_code == 1


def test_require_reviewed_plan_names_the_environments_whose_apply_needs_it(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    write_toto_yml(tmp_path, "require-reviewed-plan: [prod]\n")
    assert inline_cli("render-workflow", *CORE_APP).exit_code == 0

    def tf_apply_inputs(path: Path, job: str) -> dict[str, object]:
        steps = steps_by_uses(load(tmp_path / path)["jobs"][job])
        return dict(steps["toto/actions/actions/tf-apply"]["with"])

    assert tf_apply_inputs(CORE, "apply-prod")["require-reviewed-plan"] is True
    for job in ("apply-dev", "plan-prod", "drift-prod"):
        assert "require-reviewed-plan" not in tf_apply_inputs(CORE, job), job
    (tmp_path / "toto.yml").unlink()
    assert (
        inline_cli(
            "render-workflow", *microservice_named("ms"), "--require-reviewed-plan=dev"
        ).exit_code
        == 0
    )
    assert tf_apply_inputs(MICROSERVICE, "deploy-dev")["require-reviewed-plan"] is True
    assert "require-reviewed-plan" not in tf_apply_inputs(MICROSERVICE, "deploy-prod")
