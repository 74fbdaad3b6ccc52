"""`toto-actions tf-apply --engine cloud` against the stand-in HCP Terraform server, whose runs
are planned and applied by the real terraform binary."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import yaml

from testing.broken_configuration import add_an_undeclared_variable_reference
from testing.local_stack import MotoServer
from testing.terraform_configurations import (
    AWS_PROVIDER_CLI_CONFIG,
    SLOW_RESOURCE,
    drifting_resources,
)
from testing.terraform_configurations import CLOUD_CONFIG as CONFIG
from testing.tf_apply_checks import (
    REASON,
    approved_first_apply,
    assert_a_second_run_changes_nothing,
    assert_no_review_for_a_plan_only_run_nor_without_changes,
    refused_review,
)
from testing.tf_apply_step import Reviewer, TfApplyStep, outputs_of
from testing.tfc.model import ARCHIVIST
from testing.tfc.server import FINAL_STATUSES, TfcServer
from tests.conftest import CLI, REPO_ROOT, CliRunner, clean_environment
from toto_actions.commands import tf_apply
from toto_actions.terraform.archive import config_archive

TOKEN = "team-token-0123456789.atlasv1.abcdef"
ORG = "acme"


class Service(TfApplyStep):
    def __init__(self, root: Path, cli: CliRunner, tfc: TfcServer, workspace: str) -> None:
        self.tfc, self.workspace = tfc, workspace
        (root / "main.tf").write_text(CONFIG, encoding="utf-8")
        env = {"TF_API_TOKEN": TOKEN, "TF_CLOUD_ORGANIZATION": ORG, "TF_CLOUD_ADDRESS": tfc.url}
        super().__init__(cli, root, "cloud", env)

    def engine_options(self) -> list[str]:
        return ["--workspace", self.workspace]


ServiceOn = Callable[..., Service]


@pytest.fixture
def service_on(tmp_path: Path, cli: CliRunner, tfc: TfcServer) -> ServiceOn:
    """Makes a service on a new workspace: `service_on(NAME, **settings of add_workspace)`."""

    def make(workspace: str, **settings: Any) -> Service:
        tfc.add_workspace(ORG, workspace, **settings)
        root = tmp_path / workspace
        root.mkdir()
        return Service(root, cli, tfc, workspace)

    return make


@pytest.fixture
def service(service_on: ServiceOn) -> Service:
    return service_on("toto-ms-x-dev")


def test_an_api_driven_run_is_applied_and_its_outputs_read(
    service: Service, tfc: TfcServer
) -> None:
    result = service(
        "--var",
        "image_tag=abc1234",
        env={"TF_VAR_ecs_subnet_1": "subnet-0aaa", "TF_VAR_undeclared": "ignored"},
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    outputs = outputs_of(result)
    assert (outputs["status"], outputs["add"], outputs["destroy"]) == ("applied", "2", "0")
    assert outputs["run-url"].endswith(
        f"/app/{ORG}/workspaces/toto-ms-x-dev/runs/{outputs['run-id']}"
    )
    assert tfc.run_status(outputs["run-id"]) == "applied"
    written = service.outputs()
    assert written["image_tag"]["value"] == "abc1234"
    assert written["subnet"]["value"] == "subnet-0aaa"  # a declared TF_VAR_ became a run variable
    assert written["db_password"] == {"sensitive": True, "type": "string", "value": "pw-1"}
    assert "pw-1" not in result.stdout + result.stderr


def test_a_run_without_changes_ends_planned_and_finished(service: Service) -> None:
    assert_a_second_run_changes_nothing(service)


def test_a_destroying_plan_is_discarded(service: Service, tfc: TfcServer) -> None:
    assert service().exit_code == 0
    result = service("--var", "generation=2")
    assert result.exit_code == 1
    assert "terraform_data.generation (replace): not applied" in result.stderr
    run_id = outputs_of(result)["run-id"]
    assert tfc.run_status(run_id) == "discarded"
    assert tfc.workspace_state_outputs(ORG, "toto-ms-x-dev")["db_password"]["value"] == "pw-1"


def test_plan_only_plans_and_applies_nothing(service: Service, tfc: TfcServer) -> None:
    result = service("--plan-only", "true")
    assert result.exit_code == 0, result.stderr
    assert (outputs_of(result)["status"], outputs_of(result)["add"]) == ("planned", "2")
    assert tfc.run_status(outputs_of(result)["run-id"]) in {"planned_and_finished", "discarded"}
    assert tfc.workspace_state_outputs(ORG, "toto-ms-x-dev") == {}


def test_detailed_exitcode_with_plan_only_is_3_for_changes_and_0_for_none(
    service: Service,
) -> None:
    planned = service("--plan-only", "true", "--detailed-exitcode", "true")
    assert (planned.exit_code, outputs_of(planned)["status"]) == (3, "planned"), planned.stderr
    assert service().exit_code == 0
    unchanged = service("--plan-only", "true", "--detailed-exitcode", "true")
    assert (unchanged.exit_code, outputs_of(unchanged)["status"]) == (0, "no-changes")


def test_an_errored_plan_says_why_with_its_log(service: Service) -> None:
    add_an_undeclared_variable_reference(service.root)
    result = service()
    assert result.exit_code == 1
    assert result.stderr.startswith("error: run ")
    assert "errored" in result.stderr
    assert "undeclared input variable" in result.stderr


@pytest.mark.parametrize(
    ("env", "workspace", "message"),
    [
        (
            {"TF_API_TOKEN": "wrong"},
            "toto-ms-x-dev",
            "workspace acme/toto-ms-x-dev: the HCP Terraform token was refused (401)",
        ),
        ({}, "absent", "workspace acme/absent not found, or the token cannot see it"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    service: Service, env: dict[str, str], workspace: str, message: str
) -> None:
    service.workspace = workspace
    result = service(env=env)
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")


@pytest.mark.parametrize(
    ("arguments", "env", "lines"),
    [
        (
            [],
            {"TF_API_TOKEN": ""},
            ["no HCP Terraform token: set TF_API_TOKEN (a user or team token)"],
        ),
        (
            [],
            {"TF_CLOUD_ORGANIZATION": ""},
            ["no HCP Terraform organization: pass --tfc-organization or set TF_CLOUD_ORGANIZATION"],
        ),
        (
            ["--tfc-address", "app.terraform.io"],
            {},
            ["--tfc-address 'app.terraform.io': expected an http or https URL with a host"],
        ),
        (
            ["--run-source", "vcs"],  # and no GITHUB_SHA
            {},
            ["--run-source vcs needs --commit (or GITHUB_SHA)"],
        ),
        (
            ["--run-source", "vcs", "--var", "a=1"],
            {"TF_API_TOKEN": "", "TF_CLOUD_ADDRESS": "ftp://tfe.example.com"},
            [
                "--var and --var-file cannot reach a run the VCS connection started",
                "no HCP Terraform token: set TF_API_TOKEN (a user or team token)",
                "--tfc-address 'ftp://tfe.example.com': expected an http or https URL with a host",
                "--run-source vcs needs --commit (or GITHUB_SHA)",
            ],
        ),
        (
            [
                "--run-source",
                "vcs",
                "--commit",
                "abc",
                "--plan-only",
                "true",
                "--refresh-only",
                "true",
            ],
            {},
            ["--refresh-only cannot change a run the VCS connection started"],
        ),
        (
            ["--refresh-only", "yes", "--detailed-exitcode", "true"],
            {},
            [
                "--refresh-only 'yes': expected true or false",
            ],
        ),
        (
            ["--plan-timeout", "soon", "--queue-timeout", "nan", "--allow-destroy", "yes"],
            {},
            [
                "--allow-destroy 'yes': expected true or false",
                "--queue-timeout 'nan': expected a number of seconds from 1 to 86400",
                "--plan-timeout 'soon': expected a number of seconds from 1 to 86400",
            ],
        ),
    ],
    ids=[
        "no-token",
        "no-organization",
        "bad-address",
        "vcs-without-commit",
        "all-at-once",
        "refresh-only-of-a-vcs-run",
        "refresh-only-not-a-boolean",
        "every-bad-option-at-once",
    ],
)
def test_a_usage_error_is_reported_before_any_request(
    service: Service, tfc: TfcServer, arguments: list[str], env: dict[str, str], lines: list[str]
) -> None:
    """Every usage error is found while the settings are built, all of them at once: HCP
    Terraform hears nothing, and nothing is written."""
    result = service(*arguments, env=env)
    assert result.exit_code == 2
    assert result.stderr == "".join(f"error: {line}\n" for line in lines)
    assert tfc.requests == []
    assert not service.outputs_file.exists()


def test_an_organization_token_cannot_run(service: Service, tfc: TfcServer) -> None:
    tfc.add_token("org-token", "organization")
    result = service(env={"TF_API_TOKEN": "org-token"})
    assert result.exit_code == 2
    assert "not an organization token" in result.stderr


def test_a_rate_limited_server_is_waited_out(service: Service, tfc: TfcServer) -> None:
    # Two a second: the step's first requests come back to back, so some are refused however
    # slow a loaded machine makes the step (at 8 a second, loaded runs met no 429 at all).
    tfc.rate_limit(2)
    result = service()
    assert result.exit_code == 0, result.stderr
    assert any(r.status == 429 for r in tfc.requests)


def test_a_soft_failed_policy_fails_the_step_and_frees_the_workspace(
    service_on: ServiceOn, tfc: TfcServer
) -> None:
    result = service_on("guarded", policies="soft_fail")()
    assert result.exit_code == 1
    assert "stopped at policy_override: a policy or run task needs a person's decision" in (
        result.stderr
    )
    (run,) = tfc.runs(ORG, "guarded")
    assert tfc.run_status(run.id) == "discarded"


def _started_step(service: Service, *arguments: str) -> subprocess.Popen[str]:
    """The step as its own process, as the runner starts it (and signals it)."""
    return subprocess.Popen(
        [
            str(CLI),
            "tf-apply",
            "--engine",
            "cloud",
            "--working-directory",
            str(service.root),
            "--workspace",
            service.workspace,
            *arguments,
        ],
        env=clean_environment(service.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_run(tfc: TfcServer, workspace: str) -> str:
    deadline = time.monotonic() + 30
    while not tfc.runs(ORG, workspace):
        assert time.monotonic() < deadline, "no run was created"
        time.sleep(0.05)
    return tfc.runs(ORG, workspace)[0].id


def _cancel_as_the_runner(process: subprocess.Popen[str]) -> tuple[str, str]:
    """What the runner does to a cancelled (or timed-out) job's step: SIGINT, then SIGTERM
    (7.5 s later on GitHub; here while the step still releases its run); its output."""
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=60)


def test_a_cancelled_job_discards_the_run_it_started(service: Service, tfc: TfcServer) -> None:
    """The SIGTERM that follows the SIGINT lands while the step discards its run (each request
    answered a second late): it must not cut the discard short."""
    tfc.lock_workspace(ORG, "toto-ms-x-dev")  # the run stays pending
    process = _started_step(service)
    run_id = _first_run(tfc, "toto-ms-x-dev")
    time.sleep(1.0)  # following it now
    tfc.latency_seconds = 1.0
    stdout, stderr = _cancel_as_the_runner(process)
    assert process.returncode == 130, stderr
    assert tfc.wait_for_run(run_id, {"discarded"}) == "discarded", stdout + stderr
    assert f"run {run_id}: discarded, so it does not hold the workspace" in stderr


def test_a_cancelled_job_leaves_an_applying_run_to_finish(service: Service, tfc: TfcServer) -> None:
    """Stopping terraform midway through an apply leaves resources half changed: once the run
    applies, the step says so, with the run's address, and leaves it be."""
    with (service.root / "main.tf").open("a", encoding="utf-8") as handle:
        handle.write(SLOW_RESOURCE)
    process = _started_step(service, "--var", "delay=4")
    run_id = _first_run(tfc, "toto-ms-x-dev")
    assert tfc.wait_for_run(run_id, {"applying"}, timeout=60) == "applying"
    _, stderr = _cancel_as_the_runner(process)
    assert process.returncode == 130, stderr
    url = f"{tfc.url}/app/{ORG}/workspaces/toto-ms-x-dev/runs/{run_id}"
    assert f"run {run_id} is applying: left to finish" in stderr
    assert url in stderr
    assert tfc.wait_for_run(run_id, {"applied"}, timeout=60) == "applied"
    assert [r.id for r in tfc.runs(ORG, "toto-ms-x-dev")] == [run_id]


def test_a_locked_workspace_is_named_not_a_timeout(service: Service, tfc: TfcServer) -> None:
    tfc.lock_workspace(ORG, "toto-ms-x-dev", reason="maintenance window")
    result = service("--queue-timeout", "60")
    assert result.exit_code == 1
    assert "workspace toto-ms-x-dev is locked by users" in result.stderr
    assert "maintenance window" in result.stderr
    (run,) = tfc.runs(ORG, "toto-ms-x-dev")
    assert tfc.run_status(run.id) == "discarded"  # the step does not leave its run queued


def test_a_list_variable_reaches_the_run_as_hcl(service: Service) -> None:
    with (service.root / "main.tf").open("a", encoding="utf-8") as handle:
        handle.write(
            '\nvariable "subnets" {\n  type    = list(string)\n  default = []\n}\n'
            'output "subnets" {\n  value = var.subnets\n}\n'
        )
    result = service("--var", 'subnets=["subnet-a","subnet-b"]')
    assert result.exit_code == 0, result.stderr
    assert service.outputs()["subnets"]["value"] == ["subnet-a", "subnet-b"]


def test_a_vcs_run_for_the_commit_is_followed(service: Service, tfc: TfcServer) -> None:
    run_id = tfc.queue_vcs_run(
        ORG, "toto-ms-x-dev", config_archive(service.root), commit_sha="abc1234"
    )
    result = service("--run-source", "vcs", "--commit", "abc1234")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert outputs_of(result)["run-id"] == run_id
    assert tfc.run_status(run_id) == "applied"


def test_without_the_json_plan_the_counts_still_guard(service: Service, tfc: TfcServer) -> None:
    assert service().exit_code == 0
    tfc.fail_path(r"json-output", 403, times=None)
    result = service("--var", "generation=2")
    assert result.exit_code == 1
    assert "not applied" in result.stderr
    assert tfc.run_status(outputs_of(result)["run-id"]) == "discarded"


def test_a_plan_only_run_leaves_the_workspace_s_configuration_alone(
    service: Service, tfc: TfcServer
) -> None:
    """A pull request's plan must not become what UI runs and run triggers plan: plan-only
    uploads are speculative (configuration-versions API, `speculative`)."""
    assert service().exit_code == 0
    applied = tfc.current_configuration_version(ORG, "toto-ms-x-dev")
    assert applied is not None
    result = service("--plan-only", "true", "--var", "image_tag=pr-42")
    assert result.exit_code == 0, result.stderr
    assert outputs_of(result)["status"] == "planned"
    assert tfc.current_configuration_version(ORG, "toto-ms-x-dev") == applied


def test_an_upload_becomes_the_workspace_s_configuration_only_once_applied(
    service: Service, tfc: TfcServer
) -> None:
    """Apply uploads are provisional (configuration-versions API, `provisional`): a refused
    plan leaves the applied configuration current."""
    assert service().exit_code == 0
    applied = tfc.current_configuration_version(ORG, "toto-ms-x-dev")
    assert service("--var", "generation=2").exit_code == 1  # destroys: refused, discarded
    assert tfc.current_configuration_version(ORG, "toto-ms-x-dev") == applied
    assert service("--var", "image_tag=v2").exit_code == 0
    assert tfc.current_configuration_version(ORG, "toto-ms-x-dev") not in {None, applied}


def test_a_json_plan_not_ready_yet_is_waited_for(service: Service, tfc: TfcServer) -> None:
    """json-output answers 204 No Content until the JSON plan exists (plans API, "Retrieve the
    JSON execution plan"): an empty answer is not a plan that changes nothing."""
    assert service().exit_code == 0
    tfc.json_plan_delay_seconds = 1.5
    result = service("--var", "generation=2")
    assert result.exit_code == 1
    assert "terraform_data.generation (replace): not applied" in result.stderr
    assert tfc.run_status(outputs_of(result)["run-id"]) == "discarded"


def test_a_json_plan_never_ready_falls_back_to_the_counts(service: Service, tfc: TfcServer) -> None:
    assert service().exit_code == 0
    tfc.json_plan_delay_seconds = 3600
    result = service("--var", "generation=2")
    assert result.exit_code == 1
    assert "warning: the JSON plan is not ready: using the plan's counts" in result.stderr
    assert "not applied" in result.stderr
    assert outputs_of(result)["destroy"] == "1"
    assert tfc.run_status(outputs_of(result)["run-id"]) == "discarded"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"policies": "hard_fail"}, "hard_failed"),
        # Policies that policy checks do not report (Sentinel after 0.40, OPA) are read from the
        # run's task stages (policy-evaluations API), down to the policy that failed.
        ({"policy_evaluations": "mandatory_fail"}, "toto-guardrails/restrict-destroy (mandatory)"),
    ],
    ids=["policy-check", "policy-evaluation"],
)
def test_a_failed_policy_is_named(
    service_on: ServiceOn, settings: dict[str, str], named: str
) -> None:
    result = service_on("governed", **settings)()
    assert result.exit_code == 1
    assert f"policies failed: {named}" in result.stderr


@pytest.mark.parametrize(
    ("unreadable", "own_error", "warning"),
    [
        (r"^/api/v2/plans/[^/]+$", "errored", "its log could not be read"),
        (
            r"/(policy-checks|task-stages)$",
            "undeclared input variable",
            "policy results could not be read",
        ),
    ],
    ids=["log", "policies"],
)
def test_what_cannot_be_read_is_a_warning_beside_the_run_s_own_error(
    service: Service, tfc: TfcServer, unreadable: str, own_error: str, warning: str
) -> None:
    add_an_undeclared_variable_reference(service.root)
    tfc.fail_path(unreadable, 404, times=None)
    result = service()
    assert result.exit_code == 1
    assert own_error in result.stderr
    assert warning in result.stderr


def test_only_a_vcs_run_is_said_to_apply_by_itself(service_on: ServiceOn, tfc: TfcServer) -> None:
    """The run's own auto-apply (runs API: it defaults to the workspace's) is false on the runs
    this step creates, so only a run the VCS connection started applies by itself."""
    service = service_on("automatic", auto_apply=True)
    uploaded = service()
    assert uploaded.exit_code == 0, uploaded.stderr
    assert "applies its runs by itself" not in uploaded.stderr
    tfc.queue_vcs_run(ORG, "automatic", config_archive(service.root), commit_sha="abc1234")
    followed = service("--run-source", "vcs", "--commit", "abc1234")
    assert followed.exit_code == 0, followed.stderr
    assert "automatic applies its runs by itself" in followed.stderr


@pytest.mark.parametrize(("status", "retry_after"), [(403, None), (500, "0")], ids=["403", "500"])
def test_a_refused_upload_fails_at_once_naming_its_status(
    service: Service, tfc: TfcServer, status: int, retry_after: str | None
) -> None:
    """A refused upload leaves the configuration version pending for ever: the step fails at
    once rather than at the queue timeout (a server error after its retries)."""
    tfc.fail_path(f"^{ARCHIVIST}/", status, times=None, method="PUT", retry_after=retry_after)
    started = time.monotonic()
    result = service("--queue-timeout", "30")
    assert time.monotonic() - started < 20
    assert result.exit_code == 1
    assert result.stderr.endswith(f"error: upload the configuration: {status} injected fault\n")
    assert tfc.runs(ORG, "toto-ms-x-dev") == []


def test_an_unreadable_log_is_a_warning_not_the_log(service: Service, tfc: TfcServer) -> None:
    """An error page where the log should be is not shown as the log."""
    add_an_undeclared_variable_reference(service.root)
    tfc.fail_path(f"^{ARCHIVIST}/", 403, times=None, method="GET")
    result = service()
    assert result.exit_code == 1
    assert "its log could not be read: read a log: 403 injected fault" in result.stderr
    assert re.search(r"^error: run \S+ errored\n\Z", result.stderr, re.MULTILINE)
    assert "errors" not in result.stderr


def test_a_run_created_under_a_lost_answer_is_followed_not_doubled(
    service: Service, tfc: TfcServer
) -> None:
    """The connection drops after HCP Terraform created the run: the run of the step's own
    configuration version is that run, followed to its end; no second one holds the queue."""
    tfc.drop_answers(r"^/api/v2/runs$", method="POST")
    result = service()
    assert result.exit_code == 0, result.stderr
    (run,) = tfc.runs(ORG, "toto-ms-x-dev")
    assert outputs_of(result)["run-id"] == run.id
    assert tfc.run_status(run.id) == "applied"
    assert f"the run was created: following {run.id}" in result.stderr
    assert len(tfc.requests_to("/api/v2/runs", "POST")) == 1


def test_a_run_never_created_is_asked_for_again(service: Service, tfc: TfcServer) -> None:
    tfc.fail_path(r"^/api/v2/runs$", 503, method="POST")  # refused before any run is made
    result = service()
    assert result.exit_code == 0, result.stderr
    (run,) = tfc.runs(ORG, "toto-ms-x-dev")
    assert tfc.run_status(run.id) == "applied"
    assert "no run was created: asking again" in result.stderr


def test_a_run_created_under_a_lost_answer_is_discarded_when_the_step_fails(
    service: Service, tfc: TfcServer
) -> None:
    """The answer is lost and the step cannot tell (the runs cannot be listed at first): it
    fails, and on its way out finds the run its configuration version has and discards it."""
    tfc.lock_workspace(ORG, "toto-ms-x-dev")  # the run stays pending
    tfc.drop_answers(r"^/api/v2/runs$", method="POST")
    tfc.fail_path(r"^/api/v2/workspaces/[^/]+/runs$", 403, method="GET")
    result = service()
    assert result.exit_code == 1
    (run,) = tfc.runs(ORG, "toto-ms-x-dev")
    assert tfc.wait_for_run(run.id, {"discarded"}) == "discarded"
    assert result.stderr.endswith(
        "error: create a run: no answer ConnectionError, and its runs cannot be listed: "
        "runs of toto-ms-x-dev: 403 injected fault\n"
    )
    assert f"run {run.id}: discarded, so it does not hold the workspace" in result.stderr


@pytest.mark.parametrize("kind", ["microservice", "core"])
def test_the_rendered_job_outlasts_the_step_s_own_timeouts(
    cli: CliRunner, tmp_path: Path, kind: str
) -> None:
    """The job's timeout-minutes must not cut a run that tf-apply's queue, plan and apply
    timeouts still allow: those fire first, and release the run."""
    (tmp_path / "package.json").write_text('{"name": "toto-ms-x"}', encoding="utf-8")
    services = ["--service-repositories", "toto-ms-x"] if kind == "core" else []
    arguments = ("--kind", kind, "--aws-region", "eu-west-1", "--style", "inline", *services)
    result = cli("render-workflow", *arguments)
    assert result.exit_code == 0, result.stderr
    inline = yaml.safe_load((tmp_path / f".github/workflows/toto-{kind}.yml").read_text())
    # The reusable workflow's jobs, one of each kind, from the same templates.
    published = yaml.safe_load((REPO_ROOT / f".github/workflows/toto-{kind}.yml").read_text())
    defaults = {option.key: option.default for option in tf_apply.OPTIONS}
    jobs = [*inline["jobs"].items(), *published["jobs"].items()]
    for name, job in jobs:
        if not any("tf-apply" in step.get("uses", "") for step in job.get("steps", [])):
            continue  # redeploy-dispatch only finds a commit and starts a run; route and test
        # The plan and drift jobs plan only: no apply phase.
        plans_only = name.startswith(("plan", "drift"))
        # The deploys apply, then wait for the ECS rollout.
        phases = ("queue", "plan") if plans_only else ("queue", "plan", "apply", "wait")
        step_seconds = sum(float(str(defaults[f"{phase}-timeout"])) for phase in phases)
        assert job["timeout-minutes"] * 60 >= step_seconds + 15 * 60, name


def test_a_refresh_only_plan_sends_the_attribute_and_reports_drift_alone(
    tmp_path: Path, cli: CliRunner, moto_server: MotoServer
) -> None:
    """The stand-in's runs reach moto through the workspace's environment variables, and the
    AWS provider through a mirror, so a parameter changed by hand is drift."""
    with TfcServer(
        step_seconds=0.02, state_processing_seconds=0.3, cli_config=AWS_PROVIDER_CLI_CONFIG
    ) as tfc:
        tfc.add_organization(ORG)
        tfc.add_token(TOKEN, "team")
        tfc.add_workspace(ORG, "core-dev", environment=moto_server.env)
        root = tmp_path / "core-dev"
        root.mkdir()
        core = Service(root, cli, tfc, "core-dev")
        parameter = f"/toto/drift-{uuid.uuid4().hex[:8]}"
        (root / "drift.tf").write_text(drifting_resources(parameter), encoding="utf-8")
        assert core().exit_code == 0
        summary = tmp_path / "summary.md"
        summary.touch()
        env = {"GITHUB_STEP_SUMMARY": str(summary)}
        drift_check = (
            "--plan-only",
            "true",
            "--refresh-only",
            "true",
            "--detailed-exitcode",
            "true",
        )
        # A change of the configuration's own is not drift.
        quiet = core(*drift_check, "--var", "image_tag=v2", env=env)
        assert quiet.exit_code == 0, quiet.stdout + quiet.stderr
        assert outputs_of(quiet)["status"] == "no-changes"
        moto_server.boto3_client("ssm").put_parameter(
            Name=parameter, Value="changed-by-hand", Type="String", Overwrite=True
        )
        drifted = core(*drift_check, env=env)
        assert drifted.exit_code == 3, drifted.stdout + drifted.stderr
        markdown = summary.read_text(encoding="utf-8")
        assert "| changed | `aws_ssm_parameter.drift` |" in markdown
        assert "changed-by-hand" not in markdown
        runs = tfc.runs(ORG, "core-dev")
        assert [(run.plan_only, run.refresh_only) for run in runs] == [
            (False, False),
            (True, True),
            (True, True),
        ]
        assert tfc.workspace_state_outputs(ORG, "core-dev")["image_tag"]["value"] == "v1"
        assert tfc.errors == []


# ------------------------------------------------------------------------------------------------
# The engine's review: asked once before an apply, a reason discards the run

DISCARD = "/api/v2/runs/:run_id/actions/discard"


def test_a_review_s_reason_discards_the_run_and_applies_nothing(
    service: Service, tfc: TfcServer
) -> None:
    assert service().exit_code == 0

    result = refused_review(service)

    run_id = outputs_of(result)["run-id"]
    # A discard is accepted (202) and then carried out: the step, run in this process, may
    # return before the stand-in's worker has moved the run on.
    assert tfc.wait_for_run(run_id, {"discarded"}, timeout=10) == "discarded"
    [discard] = tfc.requests_to(DISCARD, "POST")
    assert discard.body == {"comment": f"not applied: {REASON}"}
    assert tfc.workspace_state_outputs(ORG, "toto-ms-x-dev")["image_tag"]["value"] == "v1"


def test_a_review_without_a_reason_lets_the_run_apply(service: Service, tfc: TfcServer) -> None:
    result = approved_first_apply(service)

    assert tfc.run_status(outputs_of(result)["run-id"]) == "applied"
    assert tfc.workspace_state_outputs(ORG, "toto-ms-x-dev")["image_tag"]["value"] == "v2"


def test_a_review_is_not_asked_for_a_plan_only_run_nor_without_changes(service: Service) -> None:
    assert_no_review_for_a_plan_only_run_nor_without_changes(service)


def test_a_refused_run_that_applies_by_itself_fails_the_step(
    service_on: ServiceOn, tfc: TfcServer
) -> None:
    service = service_on("automatic", auto_apply=True)
    run_id = tfc.queue_vcs_run(ORG, "automatic", config_archive(service.root), commit_sha="abc1234")

    result = service.reviewed(Reviewer(REASON).review, "--run-source", "vcs", "--commit", "abc1234")

    assert result.exit_code == 1
    assert f"run {run_id} was refused ({REASON}) and could not be discarded" in result.stderr
    assert tfc.run_status(run_id) == "applied"


# ------------------------------------------------------------------------------------------------
# A pull request's plan on a VCS-connected workspace: its own speculative run, followed


def test_a_pull_request_s_speculative_run_is_followed_and_nothing_uploaded(
    service: Service, tfc: TfcServer
) -> None:
    archive = config_archive(service.root)
    # The head commit, pushed to a deploy branch too: its run waits for a confirmation.
    pushed = tfc.queue_vcs_run(ORG, "toto-ms-x-dev", archive, commit_sha="head123")
    assert tfc.wait_for_run(pushed, {"planned"}) == "planned"
    speculative = tfc.queue_vcs_run(
        ORG, "toto-ms-x-dev", archive, commit_sha="head123", branch="feature", pull_request=7
    )

    result = service(
        "--plan-only", "true", "--run-source", "vcs", "--commit", "head123",
        "--detailed-exitcode", "true",
    )  # fmt: skip

    assert result.exit_code == 3, result.stdout + result.stderr
    outputs = outputs_of(result)
    assert (outputs["run-id"], outputs["status"], outputs["add"]) == (speculative, "planned", "2")
    assert tfc.run_status(speculative) == "planned_and_finished"
    assert tfc.run_status(pushed) == "planned"  # neither discarded nor applied
    sent = {(r.method, r.route) for r in tfc.requests if r.method != "GET"}
    assert sent == set()  # no configuration version, no run, no action: only reads
    # Plan-only runs are listed only when filter[operation] asks for them (runs API).
    [listed] = tfc.requests_to("/api/v2/workspaces/:workspace_id/runs", "GET")
    query = dict(parse_qsl(listed.query))
    assert (query["search[commit]"], query["filter[operation]"]) == ("head123", "plan_only")


def test_a_cancelled_job_leaves_the_pull_request_s_run_alone(
    service: Service, tfc: TfcServer
) -> None:
    """The speculative run is the VCS connection's, reported on the pull request by HCP
    Terraform itself: a cancelled step neither cancels nor discards it."""
    tfc.step_seconds = 1.0  # the run is still on its way when the job is cancelled
    run_id = tfc.queue_vcs_run(
        ORG, "toto-ms-x-dev", config_archive(service.root), commit_sha="head789", pull_request=9
    )
    process = _started_step(
        service, "--plan-only", "true", "--run-source", "vcs", "--commit", "head789"
    )
    time.sleep(1.5)  # following it now
    assert tfc.run_status(run_id) not in FINAL_STATUSES
    stdout, stderr = _cancel_as_the_runner(process)
    assert process.returncode == 130, stdout + stderr
    assert tfc.wait_for_run(run_id, {"planned_and_finished"}, 60) == "planned_and_finished"
    assert [r for r in tfc.requests if r.method != "GET"] == []


def test_a_pull_request_without_changes_exits_0(service: Service, tfc: TfcServer) -> None:
    assert service().exit_code == 0
    speculative = tfc.queue_vcs_run(
        ORG, "toto-ms-x-dev", config_archive(service.root), commit_sha="head456", pull_request=8
    )
    result = service(
        "--plan-only", "true", "--run-source", "vcs", "--commit", "head456",
        "--detailed-exitcode", "true", "--queue-timeout", "20",
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (outputs_of(result)["run-id"], outputs_of(result)["status"]) == (
        speculative,
        "no-changes",
    )
