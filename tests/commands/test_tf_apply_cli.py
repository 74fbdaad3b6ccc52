"""`toto-actions tf-apply --engine cli` with the real terraform binary, S3 state on moto."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

from testing.broken_configuration import add_an_undeclared_variable_reference
from testing.local_stack import MotoServer
from testing.terraform_configurations import (
    AWS_PROVIDER_CLI_CONFIG,
    BACKEND,
    CONFIG,
    SLOW_RESOURCE,
    TERRAFORM,
    drifting_resources,
)
from testing.tf_apply_checks import (
    approved_first_apply,
    assert_a_second_run_changes_nothing,
    assert_no_review_for_a_plan_only_run_nor_without_changes,
    refused_review,
)
from testing.tf_apply_step import Reviewer, TfApplyStep, outputs_of
from tests.conftest import CliRunner

SECRET = "pw-1"
STATE_KEY = "env:/core-dev/core/terraform.tfstate"
LOCK_KEY = f"{STATE_KEY}.tflock"


class Core(TfApplyStep):
    """A configuration with an S3 backend on moto, and tf-apply run on it as a step would."""

    def __init__(self, root: Path, cli: CliRunner, moto_server: MotoServer) -> None:
        self.bucket = bucket = f"toto-state-{uuid.uuid4().hex[:12]}"
        self.s3 = moto_server.s3_client()
        self.s3.create_bucket(Bucket=bucket)
        (root / "main.tf").write_text(CONFIG, encoding="utf-8")
        (root / "backend.hcl").write_text(
            BACKEND.format(bucket=bucket, key="core/terraform.tfstate"), encoding="utf-8"
        )
        (root / "terraformrc").write_text("", encoding="utf-8")
        env = {
            **moto_server.env,
            "TF_CLI_CONFIG_FILE": str(root / "terraformrc"),
            "CHECKPOINT_DISABLE": "1",
        }
        super().__init__(cli, root, "cli", env)

    def engine_options(self) -> list[str]:
        return ["--backend-config", str(self.root / "backend.hcl"), "--workspace", "core-dev"]


@pytest.fixture
def core(tmp_path: Path, cli: CliRunner, moto_server: MotoServer) -> Core:
    root = tmp_path / "core"
    root.mkdir()
    return Core(root, cli, moto_server)


def test_an_apply_writes_the_outputs_in_terraform_output_json_form(core: Core) -> None:
    result = core("--var", "image_tag=abc1234")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert outputs_of(result) | {"outputs-file": ""} == {
        "status": "applied",
        "add": "2",
        "change": "0",
        "destroy": "0",
        "run-id": "",
        "run-url": "",
        "outputs-file": "",
    }
    outputs = core.outputs()
    assert outputs["image_tag"] == {"sensitive": False, "type": "string", "value": "abc1234"}
    assert outputs["db_password"]["sensitive"] is True
    assert outputs["db_password"]["value"] == SECRET
    assert outputs["subnets"]["value"] == ["subnet-1", "subnet-2"]
    assert oct(core.outputs_file.stat().st_mode & 0o777) == "0o600"
    assert SECRET not in result.stdout + result.stderr


def test_a_second_apply_without_changes_says_so(core: Core) -> None:
    assert_a_second_run_changes_nothing(core)


def test_a_changed_variable_is_an_update(core: Core) -> None:
    assert core().exit_code == 0
    result = core("--var", "image_tag=v2")
    assert result.exit_code == 0, result.stderr
    assert (outputs_of(result)["status"], outputs_of(result)["change"]) == ("applied", "1")
    assert core.outputs()["image_tag"]["value"] == "v2"


def test_a_plan_that_replaces_a_resource_is_refused_and_nothing_changes(core: Core) -> None:
    assert core().exit_code == 0
    result = core("--var", "generation=2")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the plan destroys or replaces terraform_data.generation (replace): not applied; "
        "pass --allow-destroy true to apply it\n"
    )
    assert outputs_of(result)["status"] == "refused"
    again = core()
    assert outputs_of(again)["status"] == "no-changes"  # generation 1 still stands
    allowed = core("--var", "generation=2", "--allow-destroy", "true")
    assert allowed.exit_code == 0, allowed.stderr
    assert core.outputs()["db_password"]["value"] == "pw-2"


def test_plan_only_reports_and_applies_nothing(core: Core, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.touch()
    result = core("--plan-only", "true", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 0, result.stderr
    assert outputs_of(result)["status"] == "planned"
    markdown = summary.read_text(encoding="utf-8")
    assert "**2 to add, 0 to change, 0 to destroy.**" in markdown
    assert "| create | `terraform_data.image` |" in markdown
    assert outputs_of(core())["status"] == "applied"  # the plan-only run applied nothing


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--var", "novalue"], "--var: line 1 is not NAME=VALUE"),
        (["--var", "1bad=x"], "variable '1bad' is not a Terraform variable name"),
        (["--var-file", "absent.tfvars"], "--var-file 'absent.tfvars' does not exist"),
        (
            ["--plan-timeout", "soon"],
            "--plan-timeout 'soon': expected a number of seconds from 1 to 86400",
        ),
        (["--plan-only", "maybe"], "--plan-only 'maybe': expected true or false"),
        (["--refresh-only", "yes"], "--refresh-only 'yes': expected true or false"),
        (
            ["--plan-only", "true", "--detailed-exitcode", "1"],
            "--detailed-exitcode '1': expected true or false",
        ),
        (["--refresh-only", "true"], "--refresh-only needs --plan-only true"),
        (["--detailed-exitcode", "true"], "--detailed-exitcode needs --plan-only true"),
        (
            ["--lock-timeout", "soon"],
            "--lock-timeout 'soon': expected a duration such as 30s, 5m or 1h",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(core: Core, arguments: list[str], message: str) -> None:
    result = core(*arguments)
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")
    assert not (core.root / ".terraform").exists()  # found before terraform init ran


def test_the_cli_engine_does_not_check_the_cloud_s_address(core: Core) -> None:
    """TF_CLOUD_ADDRESS may be set for the whole job: only the cloud engine reads it."""
    result = core("--plan-timeout", "soon", env={"TF_CLOUD_ADDRESS": "not a url"})
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --plan-timeout 'soon': expected a number of seconds from 1 to 86400\n",
    )


def test_a_configuration_error_is_one_line_and_the_log_tail(core: Core) -> None:
    add_an_undeclared_variable_reference(core.root)
    result = core()
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "Reference to undeclared input variable" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_no_terraform_binary_is_one_line(core: Core) -> None:
    result = core(env={"PATH": "/nonexistent"})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no terraform binary")


def test_a_new_output_alone_is_applied(core: Core) -> None:
    assert core().exit_code == 0
    with (core.root / "main.tf").open("a", encoding="utf-8") as handle:
        handle.write('\noutput "cluster_arn" {\n  value = "arn:aws:ecs:us-east-1:1:cluster/t"\n}\n')
    result = core()
    assert result.exit_code == 0, result.stderr
    assert outputs_of(result)["status"] == "applied"
    assert core.outputs()["cluster_arn"]["value"] == "arn:aws:ecs:us-east-1:1:cluster/t"
    assert "arn:aws:ecs:us-east-1:1:cluster/t" not in result.stdout.replace(
        "::add-mask::arn:aws:ecs:us-east-1:1:cluster/t", ""
    )


def test_an_option_of_the_other_engine_is_refused(core: Core) -> None:
    result = core("--tfc-organization", "acme")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --tfc-organization applies to the cloud engine only\n",
    )


def test_a_forgotten_resource_is_shown_as_forget_and_applied(core: Core, tmp_path: Path) -> None:
    """A `removed` block with `destroy = false`: terraform plans ["forget"], destroys nothing,
    and counts it in none of its numbers; the summary still names it, and it is applied."""
    assert core().exit_code == 0
    config = (core.root / "main.tf").read_text(encoding="utf-8")
    kept = 'resource "terraform_data" "generation" {\n  triggers_replace = [var.generation]\n}\n'
    assert kept in config
    forgetting = (
        "removed {\n  from = terraform_data.generation\n"
        "  lifecycle {\n    destroy = false\n  }\n}\n"
    )
    (core.root / "main.tf").write_text(
        config.replace(kept, forgetting).replace("pw-${var.generation}", "pw-1"), encoding="utf-8"
    )
    summary = tmp_path / "summary.md"
    summary.touch()

    result = core(env={"GITHUB_STEP_SUMMARY": str(summary)})

    assert result.exit_code == 0, result.stdout + result.stderr
    outputs = outputs_of(result)
    assert (outputs["status"], outputs["add"], outputs["destroy"]) == ("applied", "0", "0")
    markdown = summary.read_text(encoding="utf-8")
    assert "| forget | `terraform_data.generation` |" in markdown
    assert outputs_of(core())["status"] == "no-changes"  # it left the state


# Stands in front of the real terraform binary: just before `terraform apply` runs, another run
# takes the state lock (S3 native locking: the `.tflock` object) and holds it for two seconds.
LOCK_TAKING_TERRAFORM = """\
#!{python}
import json, os, subprocess, sys
import boto3
if sys.argv[1:2] == ["apply"]:
    boto3.client("s3").put_object(Bucket={bucket!r}, Key={lock_key!r}, Body={lock_info!r})
    release = "import time, boto3; time.sleep(2); boto3.client('s3').delete_object(" + (
        "Bucket={bucket!r}, Key={lock_key!r})"
    )
    subprocess.Popen([sys.executable, "-c", release], start_new_session=True)
os.execv({terraform!r}, [{terraform!r}, *sys.argv[1:]])
"""


def test_the_apply_waits_up_to_the_lock_timeout_for_a_lock_taken_after_the_plan(
    core: Core, tmp_path: Path
) -> None:
    lock_key = LOCK_KEY
    lock_info = {"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Who": "other@ci"}
    wrapper = tmp_path / "bin" / "terraform"
    wrapper.parent.mkdir()
    wrapper.write_text(
        LOCK_TAKING_TERRAFORM.format(
            python=sys.executable,
            bucket=core.bucket,
            lock_key=lock_key,
            lock_info=json.dumps(lock_info),
            terraform=TERRAFORM,
        ),
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    path = f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"

    started = time.monotonic()
    result = core("--lock-timeout", "30s", env={"PATH": path})

    assert result.exit_code == 0, result.stdout + result.stderr
    assert outputs_of(result)["status"] == "applied"
    assert time.monotonic() - started >= 2  # it waited for the other run's lock


# Stands in front of the real terraform binary: the text a one-process apply shows before its
# approval prompt says a verb this version does not know (as a newer terraform might).
REWORDING_TERRAFORM = """\
#!{python}
import os, subprocess, sys
if sys.argv[1:3] == ["apply", "-input=true"]:
    child = subprocess.Popen([{terraform!r}, *sys.argv[1:]], stdout=subprocess.PIPE)
    while chunk := os.read(child.stdout.fileno(), 65536):
        for known in (b"will be updated in-place", b"will be created"):
            chunk = chunk.replace(known, b"will be reshaped")
        os.write(1, chunk)
    sys.exit(child.wait())
os.execv({terraform!r}, [{terraform!r}, *sys.argv[1:]])
"""


def rewording_terraform(directory: Path) -> dict[str, str]:
    """The environment that puts REWORDING_TERRAFORM first on PATH."""
    wrapper = directory / "terraform"
    directory.mkdir()
    wrapper.write_text(
        REWORDING_TERRAFORM.format(python=sys.executable, terraform=TERRAFORM), encoding="utf-8"
    )
    wrapper.chmod(0o755)
    return {"PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}


def test_a_plan_text_this_version_cannot_read_is_declined_and_planned_the_exact_way(
    core: Core, tmp_path: Path
) -> None:
    assert core().exit_code == 0

    result = core("--var", "image_tag=v2", env=rewording_terraform(tmp_path / "bin"))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "the plan's text is not one this version reads: planning again" in result.stdout
    outputs = outputs_of(result)
    assert (outputs["status"], outputs["change"]) == ("applied", "1")
    assert outputs_of(core("--var", "image_tag=v2"))["status"] == "no-changes"


# ------------------------------------------------------------------------------------------------
# Timeouts: terraform is interrupted (SIGINT), stops cleanly and releases the state lock


def state_objects(core: Core) -> list[str]:
    listing = core.s3.list_objects_v2(Bucket=core.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_an_apply_that_outlasts_the_apply_timeout_is_interrupted_and_the_state_stays_usable(
    core: Core,
) -> None:
    with (core.root / "main.tf").open("a", encoding="utf-8") as handle:
        handle.write(SLOW_RESOURCE)

    started = time.monotonic()
    result = core("--var", "delay=60", "--apply-timeout", "3")

    assert time.monotonic() - started < 30  # not the 60 s of the provisioner's sleep
    assert (result.exit_code, result.stderr) == (
        1,
        "error: terraform apply timed out after 3 s: interrupted, it stopped cleanly\n",
    )
    assert "Interrupt received." in result.stdout
    assert state_objects(core) == [STATE_KEY]  # the state written, and no lock left behind
    # The next run takes the lock at once, and replaces the resource the interrupt left tainted.
    again = core("--var", "delay=0", "--lock-timeout", "0s", "--allow-destroy", "true")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert outputs_of(again)["status"] == "applied"


def test_a_plan_that_outlasts_the_plan_timeout_is_interrupted(core: Core) -> None:
    """The plan waits for a lock another run holds, longer than --plan-timeout allows."""
    assert core().exit_code == 0  # the workspace exists: selecting it takes no lock
    other_lock = {"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Who": "other@ci"}
    core.s3.put_object(Bucket=core.bucket, Key=LOCK_KEY, Body=json.dumps(other_lock))

    started = time.monotonic()
    result = core("--plan-timeout", "2", "--lock-timeout", "60s")

    assert time.monotonic() - started < 30
    assert (result.exit_code, result.stderr) == (
        1,
        "error: terraform plan timed out after 2 s: interrupted, it stopped cleanly\n",
    )
    assert "status=" not in result.stdout  # nothing planned, nothing applied
    assert state_objects(core) == [STATE_KEY, LOCK_KEY]  # the other run's lock, untouched


# ------------------------------------------------------------------------------------------------
# Masking: every output value is masked before anything prints it

# Outputs whose values terraform knows only once the apply has created the resources: a
# resource's ID, as a plain output and as a sensitive one.
KNOWN_AFTER_APPLY = """
output "id_after_apply" {
  value = terraform_data.image.id
}

output "secret_id" {
  value     = terraform_data.generation.id
  sensitive = true
}
"""


@pytest.mark.parametrize(
    ("runs", "exact_path"),
    [(1, False), (2, False), (1, True), (2, True)],
    ids=["first-apply", "second-apply", "first-apply-exact-path", "second-apply-exact-path"],
)
def test_an_output_known_only_after_the_apply_is_masked_before_anything_prints_it(
    core: Core, tmp_path: Path, runs: int, *, exact_path: bool
) -> None:
    """Through the one-process apply, and through the exact path (a saved plan, its JSON) that
    a plan text the guard cannot read falls back on."""
    with (core.root / "main.tf").open("a", encoding="utf-8") as handle:
        handle.write(KNOWN_AFTER_APPLY)
    step_outputs = tmp_path / "github-output"
    step_outputs.touch()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(step_outputs)}
    if exact_path:
        env |= rewording_terraform(tmp_path / "bin")
    if runs == 2:  # the plan and the apply now read the resources, and their IDs, from the state
        assert core(env=env).exit_code == 0
    result = core("--var", f"image_tag=run-{runs}", env=env)

    assert result.exit_code == 0, result.stdout + result.stderr
    declined = "the plan's text is not one this version reads: planning again"
    assert (declined in result.stdout) is exact_path
    lines = result.stdout.splitlines()
    for name in ("id_after_apply", "secret_id"):
        value = core.outputs()[name]["value"]
        mask_line = lines.index(f"::add-mask::{value}")
        assert not [line for line in lines[:mask_line] if value in line], name
        assert [line for line in lines if value in line] == [f"::add-mask::{value}"], name
        assert value not in result.stderr


def test_a_variable_without_a_value_is_one_error_and_no_answer(core: Core) -> None:
    """The one-process apply answers terraform's approval only: a variable terraform would ask
    for gets no answer, and the step fails at once with terraform's error."""
    with (core.root / "main.tf").open("a", encoding="utf-8") as handle:
        handle.write('variable "required_here" {\n  type = string\n}\n')

    started = time.monotonic()
    result = core()

    assert time.monotonic() - started < 60
    assert result.exit_code == 1
    assert "No value for required variable" in result.stderr
    assert result.stderr.startswith("error: terraform plan failed: ")


# ------------------------------------------------------------------------------------------------
# The outputs file: always a new file, readable by its owner only


def test_an_outputs_file_already_there_is_replaced_by_an_owner_only_one(core: Core) -> None:
    core.outputs_file.write_text('{"stale": {"value": "old"}}', encoding="utf-8")
    core.outputs_file.chmod(0o644)
    before = core.outputs_file.stat().st_ino

    result = core()

    assert result.exit_code == 0, result.stdout + result.stderr
    assert oct(core.outputs_file.stat().st_mode & 0o777) == "0o600"
    assert core.outputs_file.stat().st_ino != before  # a new file, not the old one rewritten
    assert set(core.outputs()) == {"image_tag", "db_password", "subnets", "tags"}
    assert sorted(p.name for p in core.outputs_file.parent.iterdir()) == [
        "core",
        core.outputs_file.name,
    ]  # and no temporary file left beside it


def test_a_symbolic_link_at_the_outputs_file_is_replaced_and_its_target_untouched(
    core: Core, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("someone else's file\n", encoding="utf-8")
    elsewhere.chmod(0o644)
    core.outputs_file.symlink_to(elsewhere)

    result = core()

    assert result.exit_code == 0, result.stdout + result.stderr
    assert not core.outputs_file.is_symlink()
    assert oct(core.outputs_file.stat().st_mode & 0o777) == "0o600"
    assert core.outputs()["db_password"]["value"] == SECRET
    assert elsewhere.read_text(encoding="utf-8") == "someone else's file\n"
    assert oct(elsewhere.stat().st_mode & 0o777) == "0o644"


def test_the_default_outputs_file_is_a_new_file_of_its_own_in_runner_temp(
    core: Core, cli: CliRunner, tmp_path: Path
) -> None:
    """Without --outputs-file, a file made for this step in RUNNER_TEMP, whatever a predictable
    name there would point at (a link planted by another job on a shared runner)."""
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    planted = tmp_path / "planted.txt"
    planted.write_text("not for outputs\n", encoding="utf-8")
    (runner_temp / "terraform-outputs.json").symlink_to(planted)  # the name used before
    arguments = ["--engine", "cli", "--working-directory", str(core.root)]

    result = cli(
        "tf-apply",
        *arguments,
        *core.engine_options(),
        env={**core.env, "RUNNER_TEMP": str(runner_temp)},
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    written = Path(outputs_of(result)["outputs-file"])
    assert written.parent == runner_temp
    assert written.name.startswith("terraform-outputs-") and written.suffix == ".json"
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    assert json.loads(written.read_text(encoding="utf-8"))["db_password"]["value"] == SECRET
    assert planted.read_text(encoding="utf-8") == "not for outputs\n"


def test_an_outputs_file_that_is_a_directory_is_a_usage_error(core: Core) -> None:
    core.outputs_file.mkdir()
    result = core()
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: --outputs-file {str(core.outputs_file)!r} is a directory\n",
    )
    assert not (core.root / ".terraform").exists()


def test_detailed_exitcode_with_plan_only_is_3_for_changes_and_0_for_none(core: Core) -> None:
    planned = core("--plan-only", "true", "--detailed-exitcode", "true")
    assert planned.exit_code == 3, planned.stderr
    assert outputs_of(planned)["status"] == "planned"
    assert core().exit_code == 0
    unchanged = core("--plan-only", "true", env={"INPUT_DETAILED-EXITCODE": "true"})
    assert unchanged.exit_code == 0, unchanged.stderr
    assert outputs_of(unchanged)["status"] == "no-changes"


def test_a_refresh_only_plan_finds_drift_and_not_the_configuration_s_changes(
    core: Core, tmp_path: Path, moto_server: MotoServer
) -> None:
    parameter = f"/toto/drift-{uuid.uuid4().hex[:8]}"
    (core.root / "drift.tf").write_text(drifting_resources(parameter), encoding="utf-8")
    (core.root / "terraformrc").write_text(AWS_PROVIDER_CLI_CONFIG, encoding="utf-8")
    assert core().exit_code == 0
    drift_check = ("--plan-only", "true", "--refresh-only", "true", "--detailed-exitcode", "true")
    summary = tmp_path / "summary.md"
    summary.touch()
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    # A change of the configuration's own is not drift.
    quiet = core(*drift_check, "--var", "image_tag=v2", env=env)
    assert quiet.exit_code == 0, quiet.stdout + quiet.stderr
    assert outputs_of(quiet)["status"] == "no-changes"
    assert "**0 resources changed outside Terraform.**" in summary.read_text(encoding="utf-8")
    moto_server.boto3_client("ssm").put_parameter(
        Name=parameter, Value="changed-by-hand", Type="String", Overwrite=True
    )
    drifted = core(*drift_check, env=env)
    assert drifted.exit_code == 3, drifted.stdout + drifted.stderr
    assert outputs_of(drifted)["status"] == "planned"
    markdown = summary.read_text(encoding="utf-8")
    assert "**1 resource changed outside Terraform.**" in markdown
    assert "| changed | `aws_ssm_parameter.drift` |" in markdown
    assert "planned: 1 changed outside Terraform" in drifted.stdout
    assert "changed-by-hand" not in markdown
    # The check applied nothing: the state still holds v1, and an apply puts it back.
    assert outputs_of(core())["change"] == "1"
    value = moto_server.boto3_client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    assert value == "v1"


# ------------------------------------------------------------------------------------------------
# The engine's review: asked once before an apply, a reason refuses the plan


def state_image_tag(core: Core) -> str:
    state = json.loads(core.s3.get_object(Bucket=core.bucket, Key=STATE_KEY)["Body"].read())
    tag: str = state["outputs"]["image_tag"]["value"]
    return tag


@pytest.mark.parametrize("exact_path", [False, True], ids=["one-process", "saved-plan"])
def test_a_review_s_reason_refuses_the_plan_and_nothing_is_applied(
    core: Core, tmp_path: Path, exact_path: bool
) -> None:
    assert core().exit_code == 0
    env = rewording_terraform(tmp_path / "bin") if exact_path else {}

    result = refused_review(core, env)

    # A review compares planned values, which only the saved plan's JSON holds: the one
    # process that approves the plan's text is not used, reworded or not.
    declined = "the plan's text is not one this version reads: planning again"
    assert declined not in result.stdout
    assert state_image_tag(core) == "v1"
    assert outputs_of(core("--var", "image_tag=v2"))["change"] == "1"  # still to apply


def test_a_review_without_a_reason_lets_the_plan_apply(core: Core) -> None:
    result = approved_first_apply(core)

    assert outputs_of(result)["status"] == "applied"
    assert state_image_tag(core) == "v2"


def test_a_review_is_not_asked_for_a_plan_only_run_nor_without_changes(core: Core) -> None:
    assert_no_review_for_a_plan_only_run_nor_without_changes(core)


def test_the_destroy_guard_refuses_before_a_review_is_asked(core: Core) -> None:
    assert core().exit_code == 0
    reviewer = Reviewer(None)
    result = core.reviewed(reviewer.review, "--var", "generation=2")
    assert result.exit_code == 1
    assert "terraform_data.generation (replace): not applied" in result.stderr
    assert reviewer.shown == []
