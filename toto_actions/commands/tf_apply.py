"""`toto-actions tf-apply`: plan and apply one workspace, on HCP Terraform or with the CLI.

Safe by default: a plan that destroys or replaces anything is not applied unless
--allow-destroy; the plan is reported (counts and resources) whatever happens; the applied
outputs are written in `terraform output -json` form for sync-secrets, masked and never printed.

This module reads the options into settings (every usage error is found there, before any work
starts), hands them to an engine (toto_actions/terraform/cli_engine.py or cloud_engine.py) and
reports what the engine did.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from toto_actions import actions_runtime
from toto_actions.commands import tf_apply_github, tf_apply_vcs, tf_apply_wait
from toto_actions.errors import OperationError, UsageError
from toto_actions.options import CHOICE, LINES, SECONDS, SWITCH, GivenOptions, Option, check_url
from toto_actions.terraform import cli_engine
from toto_actions.terraform.cli_engine import CliSettings
from toto_actions.terraform.engine import EngineResult, RunChoices, StepStatus, mask_outputs
from toto_actions.terraform.plan import drift_markdown, plan_markdown
from toto_actions.terraform.variables import (
    declared_variables,
    is_duration,
    parse_variables,
    undeclared,
    undeclared_message,
)

if TYPE_CHECKING:  # the cloud engine's HTTP client costs the cli engine 70 ms to import
    from toto_actions.terraform.cloud_engine import CloudSettings

ENGINES = ("cloud", "cli")
OUTPUTS_ONLY = "outputs-only"  # the status output of an --outputs-only step
EXIT_CHANGES_PENDING = 3  # with --plan-only --detailed-exitcode, as `terraform plan` has it

OPTIONS = (
    Option(
        "--engine",
        "run Terraform on HCP Terraform (cloud) or with the CLI (default cloud)",
        kind=CHOICE,
        default="cloud",
        choices=ENGINES,
    ),
    Option(
        "--working-directory",
        "the Terraform configuration (default .)",
        default=".",
        metavar="DIR",
    ),
    Option(
        "--var",
        "a variable, NAME=VALUE; repeat it, or one per line in the action input",
        kind=LINES,
        metavar="NAME=VALUE",
    ),
    Option("--var-file", "a .tfvars file (cli engine)", metavar="FILE"),
    Option("--workspace", "the workspace (cloud: required; cli: selected, created when missing)"),
    Option(
        "--allow-destroy",
        "apply a plan that destroys or replaces resources (default false)",
        SWITCH,
        False,
    ),
    Option("--plan-only", "stop after the plan (default false)", SWITCH, False),
    Option(
        "--outputs-only",
        "only read the state's current outputs into the outputs file: no plan, apply, run or "
        "state lock; exit 1 when the state has none (default false)",
        SWITCH,
        False,
    ),
    Option(
        "--refresh-only",
        "with --plan-only: plan only what changed outside Terraform, "
        "listing the drifted resources (default false)",
        SWITCH,
        False,
    ),
    Option(
        "--detailed-exitcode",
        "with --plan-only: exit 3 when the plan has changes, 0 when it has none (default false)",
        SWITCH,
        False,
    ),
    Option(
        "--outputs-file",
        "where to write the applied outputs, as `terraform output -json` "
        "(default RUNNER_TEMP or the temporary directory)",
        metavar="PATH",
    ),
    Option(
        "--temp-dir",
        "the directory of the default outputs file (default RUNNER_TEMP, else the system's)",
        metavar="DIR",
        fallback_variable="RUNNER_TEMP",
    ),
    Option("--message", "the run's message (cloud)"),
    *(
        Option(flag, f"{what} (default {default:g})", SECONDS, default, low=1, high=86_400)
        for flag, what, default in (
            ("--queue-timeout", "seconds a run may wait to start planning", 1800.0),
            ("--plan-timeout", "seconds the plan may take", 1800.0),
            ("--apply-timeout", "seconds the apply may take", 3600.0),
        )
    ),
    Option("--backend-config", "a file of backend settings for init (cli)", metavar="FILE"),
    Option("--lock-timeout", "how long to wait for the state lock (cli), e.g. 5m"),
    Option(
        "--tfc-organization",
        "HCP Terraform organization",
        fallback_variable="TF_CLOUD_ORGANIZATION",
    ),
    Option(
        "--tfc-address",
        "HCP Terraform or Enterprise address (default https://app.terraform.io)",
        fallback_variable="TF_CLOUD_ADDRESS",
    ),
    Option("--tfc-token", "a user or team API token", fallback_variable="TF_API_TOKEN"),
    Option(
        "--run-source",
        "cloud: upload the directory (default), or follow the run the "
        "workspace's VCS connection started for --commit",
        kind=CHOICE,
        choices=("upload", "vcs"),
    ),
    Option(
        "--commit",
        "cloud, --run-source vcs: the commit whose run to follow",
        fallback_variable="GITHUB_SHA",
    ),
    *tf_apply_vcs.OPTIONS,
    *tf_apply_github.OPTIONS,
    *tf_apply_wait.OPTIONS,
)


class ApplySettings(NamedTuple):
    engine_settings: CliSettings | CloudSettings
    outputs_file: Path | None  # None: a new file in temp_dir
    temp_dir: Path
    outputs_only: bool = False  # read the state's outputs: no plan, apply, run or lock
    detailed_exitcode: bool = False
    github: tf_apply_github.GitHubSteps = tf_apply_github.GitHubSteps(None, None)
    wait: tf_apply_wait.WaitSettings = tf_apply_wait.NO_WAIT


def run(given: GivenOptions) -> int:
    """Plan and apply; exit 0, 1 when the run failed or was refused, 2 on bad input, 3 for a
    plan with changes under --plan-only --detailed-exitcode."""
    settings = _settings(given)
    if settings.outputs_only:
        return _outputs_only(settings)
    if isinstance(settings.engine_settings, CliSettings):
        result = cli_engine.plan_and_apply(settings.engine_settings)
    else:
        from toto_actions.terraform import cloud_engine

        result = cloud_engine.plan_and_apply(settings.engine_settings)
    return _report(settings, result)


def _settings(given: GivenOptions) -> ApplySettings:
    problems: list[str] = []
    directory = Path(given.text("working-directory") or ".")
    if not directory.is_dir():
        problems.append(f"working directory {str(directory)!r} is not a directory")
    variables = parse_variables(problems, given.pairs("var"))
    var_file = _existing(problems, given, "var-file")
    backend_config = _existing(problems, given, "backend-config")
    engine = given.text("engine")
    workspace = given.text("workspace")
    if engine == "cloud" and not workspace:
        problems.append("--workspace is required with the cloud engine")
    only = {
        "cli": ("var-file", "backend-config", "lock-timeout"),
        "cloud": ("tfc-organization", "tfc-token", "run-source"),
    }
    for other_engine, keys in only.items():
        if engine != other_engine:
            problems += [
                f"--{key} applies to the {other_engine} engine only" for key in keys if key in given
            ]
    lock_timeout = given.text("lock-timeout")
    if lock_timeout is not None and not is_duration(lock_timeout):
        problems.append(
            f"--lock-timeout {lock_timeout!r}: expected a duration such as 30s, 5m or 1h"
        )
    if given.text("run-source") == "vcs" and (variables or var_file):
        problems.append("--var and --var-file cannot reach a run the VCS connection started")
    problems += _plan_only_problems(given)
    problems += _outputs_only_problems(given)
    github = tf_apply_github.settings(
        given, problems, workspace=workspace or "default", commit=given.text("commit")
    )
    wait = tf_apply_wait.settings(given, problems)
    choices = RunChoices(
        plan_only=given.switch("plan-only"),
        allow_destroy=given.switch("allow-destroy"),
        plan_timeout=given.seconds("plan-timeout"),
        apply_timeout=given.seconds("apply-timeout"),
        refresh_only=given.switch("refresh-only"),
        review=github.review,
    )
    engine_settings: CliSettings | CloudSettings
    if engine == "cli":
        problems += _undeclared_problems(directory, variables)
        engine_settings = CliSettings(
            directory=directory,
            workspace=workspace,
            variables=variables,
            var_file=var_file,
            backend_config=backend_config,
            lock_timeout=lock_timeout,
            choices=choices,
        )
    else:
        from toto_actions.terraform.cloud_engine import CloudSettings

        address, token, organization = _cloud_connection(problems, given)
        vcs_commit = _vcs_commit(problems, given)
        engine_settings = CloudSettings(
            address=address,
            token=token,
            organization=organization,
            workspace=workspace or "",
            directory=directory,
            variables=variables,
            vcs_commit=vcs_commit,
            message=given.text("message") or "Applied by toto-actions tf-apply",
            choices=choices,
            queue_timeout=given.seconds("queue-timeout"),
            vcs_event=tf_apply_vcs.vcs_event(directory, vcs_commit) if vcs_commit else None,
            no_run_grace=given.seconds("no-run-grace"),
        )
    outputs_text = given.text("outputs-file")
    outputs_file = Path(outputs_text) if outputs_text else None
    if outputs_file is not None and outputs_file.is_dir():
        problems.append(f"--outputs-file {str(outputs_file)!r} is a directory")
    if problems:
        raise UsageError("\n".join(problems))
    temp_dir = Path(given.text("temp-dir") or tempfile.gettempdir())
    return ApplySettings(
        engine_settings,
        outputs_file,
        temp_dir,
        outputs_only=given.switch("outputs-only"),
        detailed_exitcode=given.switch("detailed-exitcode"),
        github=github,
        wait=wait,
    )


def _undeclared_problems(directory: Path, variables: Mapping[str, str]) -> list[str]:
    """The cli engine's variables reach terraform in a variables file, where an undeclared one
    is only a warning (as `-var` it was an error): refused here, before anything runs."""
    if not directory.is_dir():
        return []
    return [undeclared_message(n) for n in undeclared(variables, declared_variables(directory))]


def _plan_only_problems(given: GivenOptions) -> list[str]:
    """--refresh-only and --detailed-exitcode only qualify a plan: an apply would accept the
    drift into the state, and its exit code already says whether it changed anything."""
    problems = [
        f"--{key} needs --plan-only true"
        for key in ("refresh-only", "detailed-exitcode")
        if given.switch(key) and not given.switch("plan-only")
    ]
    if given.switch("refresh-only") and given.text("run-source") == "vcs":
        problems.append("--refresh-only cannot change a run the VCS connection started")
    return problems


def _outputs_only_problems(given: GivenOptions) -> list[str]:
    """--outputs-only reads what is deployed: an option of a plan or an apply goes against it."""
    if not given.switch("outputs-only"):
        return []
    switches = ("plan-only", "refresh-only", "detailed-exitcode", "allow-destroy")
    texts = ("var-file", "run-source")
    problems = [f"--{key} cannot go with --outputs-only" for key in switches if given.switch(key)]
    if given.pairs("var"):
        problems.append("--var cannot go with --outputs-only")
    problems += [f"--{key} cannot go with --outputs-only" for key in texts if given.text(key)]
    if (given.text("wait-for-services") or "none").strip() != "none":
        problems.append("--wait-for-services cannot go with --outputs-only")
    if given.switch("require-reviewed-plan"):
        problems.append("--require-reviewed-plan cannot go with --outputs-only")
    return problems


def _outputs_only(settings: ApplySettings) -> int:
    """Write the state's current outputs (masked) to the outputs file; nothing else is done."""
    from toto_actions.terraform import current_outputs

    engine = settings.engine_settings
    if isinstance(engine, CliSettings):
        outputs = current_outputs.cli_outputs(engine)
    else:
        outputs = current_outputs.cloud_outputs(engine)
    written = _write_outputs(settings.outputs_file, settings.temp_dir, outputs)
    actions_runtime.set_output("outputs-file", str(written))
    actions_runtime.set_output("status", OUTPUTS_ONLY)
    actions_runtime.info(f"{OUTPUTS_ONLY}: {len(outputs)} outputs of the current state read")
    actions_runtime.add_summary(
        f"Outputs only: the current state's {len(outputs)} outputs read, nothing planned."
    )
    return 0


def _existing(problems: list[str], given: GivenOptions, key: str) -> Path | None:
    text = given.text(key)
    if text is None:
        return None
    path = Path(text)
    if not path.is_file():
        problems.append(f"--{key} {str(path)!r} does not exist")
    return path


def _cloud_connection(problems: list[str], given: GivenOptions) -> tuple[str, str, str]:
    """The address, token and organization the cloud engine talks to HCP Terraform with."""
    token = given.text("tfc-token") or ""
    if not token:
        problems.append("no HCP Terraform token: set TF_API_TOKEN (a user or team token)")
    organization = given.text("tfc-organization") or ""
    if not organization:
        problems.append(
            "no HCP Terraform organization: pass --tfc-organization or set TF_CLOUD_ORGANIZATION"
        )
    from toto_actions.terraform.cloud_api import DEFAULT_ADDRESS

    address = given.text("tfc-address") or DEFAULT_ADDRESS
    # Checked here, not as a URL option: only the cloud engine reads TF_CLOUD_ADDRESS.
    problem = check_url(address)
    if problem:
        problems.append(f"--tfc-address {address!r}: {problem}")
    return address, token, organization


def _vcs_commit(problems: list[str], given: GivenOptions) -> str | None:
    """With --run-source vcs, the commit whose run to follow; None: the directory is uploaded."""
    if given.text("run-source") != "vcs":
        return None
    commit = given.text("commit") or ""
    if not commit:
        problems.append("--run-source vcs needs --commit (or GITHUB_SHA)")
    return commit


def _report(settings: ApplySettings, result: EngineResult) -> int:
    summary = result.summary
    if result.outputs is not None:
        written = _write_outputs(settings.outputs_file, settings.temp_dir, result.outputs)
        actions_runtime.set_output("outputs-file", str(written))
    values = {
        "status": result.status.value,
        "add": str(summary.add),
        "change": str(summary.change),
        "destroy": str(summary.destroy),
        "run-id": result.run_id or "",
        "run-url": result.run_url or "",
    }
    for name, value in values.items():
        actions_runtime.set_output(name, value)
    refresh_only = settings.engine_settings.choices.refresh_only
    markdown = drift_markdown if refresh_only else plan_markdown
    review = settings.github.review
    actions_runtime.add_summary(
        markdown(summary, result.run_url)
        + f"\n\nResult: **{result.status.value}**"
        + (f" ({result.reason})" if result.reason else "")
        + (review.summary_markdown() if review else "")
    )
    if refresh_only:
        drifted = str(len(summary.resources)) if summary.listed else "unknown resources"
        actions_runtime.info(f"{result.status.value}: {drifted} changed outside Terraform")
    else:
        actions_runtime.info(
            f"{result.status.value}: {summary.add} to add, {summary.change} to change, "
            f"{summary.destroy} to destroy"
        )
    if result.status is not StepStatus.NO_RUN:  # HCP Terraform reports a skipped plan itself
        tf_apply_github.after_plan(settings.github, result)
    if result.status is StepStatus.REFUSED:
        if result.refusal is not None:
            raise OperationError(result.refusal)
        destroyed = ", ".join(f"{r.address} ({r.action})" for r in summary.destroyed())
        raise OperationError(
            f"the plan destroys or replaces {destroyed}: not applied; pass "
            "--allow-destroy true to apply it"
        )
    tf_apply_wait.after_apply(settings.wait, result)
    planned = result.status is StepStatus.PLANNED
    return EXIT_CHANGES_PENDING if settings.detailed_exitcode and planned else 0


def _write_outputs(path: Path | None, temp_dir: Path, outputs: Mapping[str, Any]) -> Path:
    """Write the outputs (sensitive values included, for sync-secrets), masking every value
    first, into a new file readable by its owner only: with no path, a new file of its own in
    temp_dir; else one that then replaces path, so a file already there keeps neither its
    permissions nor its content, and a symbolic link there is replaced, not followed."""
    mask_outputs(outputs)
    # Not named after the workspace: a step output holding a masked text (`prod`) is dropped.
    directory = temp_dir if path is None else path.parent
    directory.mkdir(parents=True, exist_ok=True)
    prefix = "terraform-outputs-" if path is None else f".{path.name}."
    descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=".json", dir=directory)
    written = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(outputs, handle, indent=2)
        return written if path is None else written.replace(path)
    except BaseException:
        written.unlink(missing_ok=True)
        raise
