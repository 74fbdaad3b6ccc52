"""tf-apply --outputs-only: the outputs of a workspace's current state, on either engine, with
no plan, no apply, no run and no state lock (what a redeploy reads to find what runs now).

cli: `terraform init`, the workspace selected (never created), `terraform output -json`, which
reads the state without locking it. cloud: the workspace's current state version outputs
(`GET /workspaces/:id/current-state-version-outputs`), the read the engine makes after an apply.
A state without outputs is an OperationError: there is nothing deployed to read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toto_actions import actions_runtime
from toto_actions.errors import OperationError
from toto_actions.terraform.binary import TerraformCli
from toto_actions.terraform.cli_engine import CliSettings

if TYPE_CHECKING:
    from toto_actions.terraform.cloud_engine import CloudSettings

NOT_FOUND = 404  # HCP Terraform: a workspace without any state version


def cli_outputs(settings: CliSettings) -> dict[str, Any]:
    """The outputs of the selected workspace's state, as `terraform output -json` has them."""
    terraform = TerraformCli(settings.directory, on_warning=actions_runtime.warning)
    with actions_runtime.group("terraform init"):
        terraform.init(settings.backend_config, actions_runtime.info)
        if settings.workspace:
            terraform.select_workspace(settings.workspace, actions_runtime.info, create=False)
    return _some(terraform.outputs(), settings.workspace or "default")


def cloud_outputs(settings: CloudSettings) -> dict[str, Any]:
    """The outputs of the workspace's current state version, sensitive values included."""
    from toto_actions.terraform.cloud_api import TfcClient
    from toto_actions.terraform.cloud_http import TfcError

    actions_runtime.mask(settings.token)
    client = TfcClient(settings.address, settings.token, settings.organization)
    workspace = client.workspace(settings.workspace)
    try:
        outputs = client.outputs(workspace, settings.choices.apply_timeout)
    except TfcError as problem:
        if problem.status != NOT_FOUND:
            raise
        outputs = {}
    return _some(outputs, settings.workspace)


def _some(outputs: dict[str, Any], workspace: str) -> dict[str, Any]:
    if not outputs:
        raise OperationError(
            f"workspace {workspace} has no outputs in its state: nothing deployed to read"
        )
    return outputs
