"""`toto-actions tf-apply --outputs-only true`: the state's current outputs, nothing planned,
applied or locked (issue 28 point 1, step c of the redeploy in /work/briefs/interface28.md).

cli engine: the real terraform binary, S3 state on moto, `terraform output -json` after init
(terraform's docs, "Command: output": it reads the state and takes no lock). cloud engine: the
stand-in HCP Terraform's `GET /workspaces/:id/current-state-version-outputs` (HashiCorp's API
documentation, "State Version Outputs": the current state version's outputs), no run created.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.local_stack import MotoServer
from testing.tf_apply_step import outputs_of
from testing.tfc.server import TfcServer
from tests.commands.test_tf_apply_cli import LOCK_KEY, SECRET, STATE_KEY, Core
from tests.commands.test_tf_apply_cloud import ORG, Service
from tests.conftest import CliRunner


@pytest.fixture
def core(tmp_path: Path, cli: CliRunner, moto_server: MotoServer) -> Core:
    root = tmp_path / "core"
    root.mkdir()
    return Core(root, cli, moto_server)


def _state_object(core: Core) -> tuple[str, object]:
    head = core.s3.head_object(Bucket=core.bucket, Key=STATE_KEY)
    return str(head["ETag"]), head["LastModified"]


def test_cli_outputs_only_writes_the_state_outputs_and_plans_nothing(core: Core) -> None:
    assert core("--var", "image_tag=abc1234").exit_code == 0
    before = _state_object(core)
    # Another run holds the state lock (use_lockfile: the lock is the object STATE_KEY.tflock):
    # a plan or an apply would wait for it and fail; reading the outputs takes no lock.
    core.s3.put_object(Bucket=core.bucket, Key=LOCK_KEY, Body=b'{"ID": "someone-else"}')
    core.outputs_file.unlink()
    result = core("--outputs-only", "true")
    assert result.exit_code == 0, result.stdout + result.stderr
    outputs = core.outputs()
    assert outputs["image_tag"] == {"sensitive": False, "type": "string", "value": "abc1234"}
    assert outputs["db_password"]["value"] == SECRET
    assert SECRET not in result.stdout + result.stderr
    assert outputs_of(result)["status"] == "outputs-only"
    assert outputs_of(result)["outputs-file"] == str(core.outputs_file)
    assert "terraform plan" not in result.stdout and "terraform apply" not in result.stdout
    assert _state_object(core) == before  # no new state written
    lock = core.s3.get_object(Bucket=core.bucket, Key=LOCK_KEY)["Body"].read()
    assert lock == b'{"ID": "someone-else"}'  # the other run's lock untouched


def test_cli_outputs_only_of_a_state_without_outputs_is_exit_1(core: Core) -> None:
    assert core("--plan-only", "true").exit_code == 0  # the workspace exists, nothing applied
    result = core("--outputs-only", "true")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr == (
        "error: workspace core-dev has no outputs in its state: nothing deployed to read\n"
    )
    assert not core.outputs_file.exists()


def test_cli_outputs_only_never_creates_the_workspace(core: Core) -> None:
    """A missing workspace is terraform's error (`workspace select -or-create=false`), exit 1;
    no empty state is written for it."""
    result = core("--outputs-only", "true")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "core-dev" in result.stderr
    listed = core.s3.list_objects_v2(Bucket=core.bucket).get("Contents", [])
    assert [o["Key"] for o in listed] == []
    assert not core.outputs_file.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--plan-only", "true"], "--plan-only cannot go with --outputs-only"),
        (["--var", "image_tag=v2"], "--var cannot go with --outputs-only"),
        (["--allow-destroy", "true"], "--allow-destroy cannot go with --outputs-only"),
        (["--wait-for-services", "auto"], "--wait-for-services cannot go with --outputs-only"),
    ],
)
def test_outputs_only_with_an_option_of_a_plan_is_exit_2(
    core: Core, arguments: list[str], message: str
) -> None:
    result = core("--outputs-only", "true", *arguments)
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")
    assert not (core.root / ".terraform").exists()


@pytest.fixture
def service(tmp_path: Path, cli: CliRunner, tfc: TfcServer) -> Service:
    """A service on a new workspace of the stand-in HCP Terraform (as test_tf_apply_cloud's)."""
    tfc.add_workspace(ORG, "toto-ms-x-prod")
    root = tmp_path / "toto-ms-x-prod"
    root.mkdir()
    return Service(root, cli, tfc, "toto-ms-x-prod")


def test_cloud_outputs_only_reads_the_current_state_version_and_starts_no_run(
    service: Service, tfc: TfcServer
) -> None:
    assert service("--var", "image_tag=abc1234").exit_code == 0
    runs = tfc.runs(ORG, "toto-ms-x-prod")
    service.outputs_file.unlink()
    result = service("--outputs-only", "true")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert tfc.runs(ORG, "toto-ms-x-prod") == runs  # no run, no configuration uploaded
    written = service.outputs()
    assert written["image_tag"]["value"] == "abc1234"
    assert written["db_password"] == {"sensitive": True, "type": "string", "value": "pw-1"}
    assert "pw-1" not in result.stdout + result.stderr
    assert outputs_of(result)["status"] == "outputs-only"
    asked = [r.path for r in tfc.requests if "current-state-version-outputs" in r.path]
    assert asked, "the outputs came from the workspace's current state version"


def test_cloud_outputs_only_of_a_workspace_without_state_is_exit_1(
    service: Service, tfc: TfcServer
) -> None:
    result = service("--outputs-only", "true")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr == (
        "error: workspace toto-ms-x-prod has no outputs in its state: nothing deployed to read\n"
    )
    assert tfc.runs(ORG, "toto-ms-x-prod") == []
    assert not service.outputs_file.exists()
