"""`toto-actions render-workflow`: write (or --check) a repository's Toto workflow."""

from __future__ import annotations

import difflib
import tempfile
from pathlib import Path

from toto_actions import actions_runtime
from toto_actions.errors import OperationError, UsageError
from toto_actions.github.sync_permissions import ENVIRONMENT_SCOPE
from toto_actions.options import CHOICE, LINES, SWITCH, GivenOptions, Option
from toto_actions.workflows.caller import inline_only
from toto_actions.workflows.core_sync import SYNC_CONFIG_FILE, starting_sync_config
from toto_actions.workflows.cron import DEFAULT_SCHEDULE
from toto_actions.workflows.image_repositories import IMAGE_REPOSITORY_CHOICES
from toto_actions.workflows.kind_settings import ENVIRONMENT, ENVIRONMENTS
from toto_actions.workflows.render import render, render_caller, workflow_path
from toto_actions.workflows.repository_files import refuse_links
from toto_actions.workflows.reusable import DEFAULT_TERRAFORM_VERSION
from toto_actions.workflows.settings import (
    DEFAULT_CORE_SECRETS,
    STYLES,
    NoServiceRepositories,
    WorkflowSettings,
    load_settings,
)
from toto_actions.workflows.settings_file import (
    SETTINGS_FILE,
    read_settings_file,
    settings_changes,
    settings_text,
)

REUSABLE, INLINE = STYLES
# The first line of every render's header; an inline render's names no style.
_RENDERED_HEADER = "# Rendered by `toto-actions render-workflow --kind "

# Every option but output-dir and check may also be set in the target repository's toto.yml.
SETTING_OPTIONS = (
    Option(
        "--kind",
        "which workflow: a service's build and deploy, or the core infrastructure's",
        kind=CHOICE,
        choices=("microservice", "core"),
    ),
    Option(
        "--service",
        "the repository's name, used for the image repository and the workspaces "
        "(default: name in package.json or pyproject.toml, else the directory name)",
    ),
    Option(
        "--environments",
        "environments and their branches "
        "(default dev=feature/**,main;prod=release/** for a microservice, dev=main;prod=prod "
        "for core)",
        metavar="ENV=BRANCH,...;ENV=...",
    ),
    Option(
        "--environment",
        "one environment and its branches; give it once per environment, instead of "
        "--environments (no `;` for the shell to take)",
        kind=LINES,
        metavar="ENV=BRANCH,...",
    ),
    Option("--aws-region", "AWS region (default: the AWS_REGION variable)"),
    Option(
        "--aws-role-arn",
        "IAM role the deploy, apply and redeploy jobs assume through OIDC (default: the "
        "AWS_ROLE_ARN variable of each environment)",
    ),
    Option(
        "--aws-plan-role-arn",
        "read-only IAM role the pull-request plan and drift jobs assume (default: the "
        "AWS_ROLE_ARN variable of each plan environment <env>-plan); never the deploy role",
    ),
    Option(
        "--terraform-engine",
        "run Terraform on HCP Terraform or with the CLI (default cloud)",
        kind=CHOICE,
        choices=("cloud", "cli"),
    ),
    Option(
        "--tfc-organization",
        "HCP Terraform organization (default: the TF_CLOUD_ORGANIZATION variable)",
    ),
    Option("--terraform-dir", "the Terraform configuration's directory (default terraform)"),
    Option(
        "--core-secrets",
        "secrets a service's Terraform reads as TF_VAR_<name> "
        "(comma-separated; default the core flow's IDs)",
    ),
    Option(
        "--platforms",
        "microservice: build the image for these platforms, comma-separated (linux/amd64,"
        "linux/arm64); the workflow then sets up QEMU and buildx",
        metavar="OS/ARCH,...",
    ),
    Option(
        "--image-repository",
        "microservice: push each environment's images to a repository of its own, "
        "<service>/<env> (environment, the default), or every environment's to <service> "
        "(shared: an image pushed for one environment can be what another deploys)",
        kind=CHOICE,
        choices=IMAGE_REPOSITORY_CHOICES,
    ),
    Option(
        "--service-repositories",
        "core: the service repositories the sync writes to, as "
        "NAME or OWNER/NAME, comma-separated (scopes the GitHub App token; default: those "
        "toto-secrets.yml lists)",
    ),
    Option(
        "--sync-auth",
        "core: authenticate the sync as a GitHub App or with a fine-grained "
        "token secret (default app)",
        kind=CHOICE,
        choices=("app", "token"),
    ),
    Option(
        "--secrets-scope",
        "where the core flow's sync writes the core secrets: each service repository's "
        "environments, or organization secrets <ENV>_<NAME> selected for the service "
        "repositories; core: must match the scope of toto-secrets.yml, which decides when "
        "present (default environment)",
        kind=CHOICE,
        choices=("environment", "organization"),
    ),
    Option(
        "--sync-dispatch",
        "core: after a sync, send this repository_dispatch event type to each service "
        "repository where something changed (the token then asks for Contents: write); "
        "microservice: redeploy an environment's deployed commit on this event type (default "
        "toto-core-changed); none: neither",
        metavar="EVENT_TYPE",
    ),
    Option(
        "--create-environments",
        "core: let the sync create a missing GitHub environment (the token then asks for "
        "Administration: write, a repository-admin permission)",
        kind=SWITCH,
    ),
    Option(
        "--drift-schedule",
        "when to look for drift in every environment: a 5-field cron, in UTC (default "
        f"{DEFAULT_SCHEDULE!r}, daily), or none",
        metavar="CRON",
    ),
    Option(
        "--run-source",
        "core, cloud engine: upload the configuration (default), or follow the runs the "
        "workspaces' VCS connection starts for a push and a pull request",
        kind=CHOICE,
        choices=("upload", "vcs"),
    ),
    Option(
        "--require-reviewed-plan",
        "environments whose apply refuses changes other than the plan reviewed on the merged "
        "pull request, or no reviewed plan (default none: the apply only reports it)",
        metavar="ENV[,ENV...]",
    ),
    Option(
        "--style",
        "reusable: a short caller of the toolkit's reusable workflow (default); inline: the "
        "whole pipeline in the repository (a repository whose committed workflow is an inline "
        "render keeps inline until it says otherwise)",
        kind=CHOICE,
        choices=STYLES,
    ),
    Option(
        "--runs-on",
        "the runner of every job: a label, or a JSON list of labels (default ubuntu-latest)",
        metavar="LABEL|JSON",
    ),
    Option(
        "--terraform-version",
        f"cli engine: the terraform setup-terraform installs (default {DEFAULT_TERRAFORM_VERSION})",
    ),
    Option(
        "--test-command",
        "microservice: run this command (the service's tests) in a job of its own, with the "
        "contents read only, before any deploy",
        metavar="COMMAND",
    ),
    Option("--context", "microservice: the build context (default .)", metavar="DIR"),
    Option("--dockerfile", "microservice: the Dockerfile (default CONTEXT/Dockerfile)"),
    Option(
        "--build-args",
        "microservice: build arguments, NAME=VALUE, one a line",
        metavar="NAME=VALUE...",
    ),
    Option("--target", "microservice: the stage to build", metavar="STAGE"),
    Option(
        "--actions-repo",
        "repository of the toto actions (default toto/actions)",
        metavar="OWNER/REPO",
    ),
    Option("--actions-ref", "tag, branch or commit of the toto actions (default v1)"),
    Option(
        "--pin-actions",
        "name each third-party action by the commit SHA of its release, the release in a "
        "comment (pin --actions-ref to a commit too)",
        kind=SWITCH,
    ),
)
SETTING_KEYS = tuple(option.key for option in SETTING_OPTIONS)
OPTIONS = (
    *SETTING_OPTIONS,
    Option("--output-dir", "the target repository's root (default .)", metavar="DIR"),
    Option(
        "--check",
        "write nothing; exit 1 when the committed workflow differs from the render",
        kind=SWITCH,
    ),
)
# Shown under --help: a first render, each environment given on its own.
EXAMPLE = (
    "toto-actions render-workflow --kind microservice --aws-region eu-west-1 "
    "--environment dev=main --environment 'prod=release/**'"
)
_NEW_SETTINGS_FILE = (
    "# The settings of `toto-actions render-workflow` (each option a render was given is kept\n"
    "# here, so that a render or a --check with no option writes the same workflow).\n"
)


def run(given: GivenOptions) -> int:
    """Render the workflow, then write it, or compare it with the committed one under --check."""
    repo_dir = Path(given.text("output-dir") or ".")
    if not repo_dir.is_dir():
        problem = "is not a directory" if repo_dir.exists() else "does not exist"
        raise UsageError(f"output directory {str(repo_dir)!r} {problem}")
    try:
        settings = load_settings(given, repo_dir, SETTING_KEYS)
    except NoServiceRepositories as missing:
        if (repo_dir / SYNC_CONFIG_FILE).is_file():
            raise
        # A first core render: a file to start from, on stdout, and the one error line.
        starting = starting_sync_config(None, (), ENVIRONMENT_SCOPE, DEFAULT_CORE_SECRETS)
        actions_runtime.info(starting.rstrip("\n"))
        raise UsageError(f"{missing}; the one above is one to start from") from None
    refuse_links(repo_dir, workflow_path(settings.kind))
    style = choose_style(settings, repo_dir / workflow_path(settings.kind))
    rendered = render_caller(settings) if style == REUSABLE else render(settings)
    target = repo_dir / rendered.path
    if given.switch("check"):
        return _check(target, rendered.content, rendered.path.as_posix())
    _write(target, rendered.content)
    _keep_settings(repo_dir, given)
    if settings.kind == "core" and not (repo_dir / SYNC_CONFIG_FILE).is_file():
        _offer_sync_config(settings)
    actions_runtime.set_output("workflow-file", str(target))
    actions_runtime.add_summary(
        f"Rendered `{rendered.path}` ({settings.kind}, {style}, environments "
        f"{', '.join(e.name for e in settings.environments)})."
    )
    return 0


def _keep_settings(repo_dir: Path, given: GivenOptions) -> None:
    """Write the settings given (flags and inputs) into toto.yml, so that the next render, or a
    --check, with no option renders the same workflow: toto.yml is the file render already reads
    (and doctor after it), committed and reviewed beside the workflow."""
    current = read_settings_file(repo_dir, SETTING_KEYS)
    kept = {key: value for key, value in given.items() if key in SETTING_KEYS}
    alternatives = {ENVIRONMENTS: ENVIRONMENT, ENVIRONMENT: ENVIRONMENTS}
    changes = settings_changes(current, kept, alternatives)
    if not changes:
        return
    path = repo_dir / SETTINGS_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else _NEW_SETTINGS_FILE
    _write(path, settings_text(text, changes))


def _offer_sync_config(settings: WorkflowSettings) -> None:
    """Warn that the core's sync step has no mapping to read, and print one to start from."""
    actions_runtime.warning(
        f"{SYNC_CONFIG_FILE} is missing: the first push's sync step will fail without it; "
        f"start from the one below, saved as {SYNC_CONFIG_FILE} beside toto.yml",
        title=f"No {SYNC_CONFIG_FILE}",
    )
    actions_runtime.info(
        starting_sync_config(
            settings.service_owner,
            settings.service_repositories,
            settings.secrets_scope,
            settings.core_secrets,
        ).rstrip("\n")
    )


def _check(target: Path, content: str, shown_path: str) -> int:
    if not target.is_file():
        raise OperationError(
            f"{shown_path} is missing: run toto-actions render-workflow to write it"
        )
    committed = target.read_text(encoding="utf-8")
    if committed != content:
        with actions_runtime.group(f"{shown_path}: difference from the template"):
            diff = difflib.unified_diff(
                committed.splitlines(keepends=True),
                content.splitlines(keepends=True),
                f"{shown_path} (committed)",
                f"{shown_path} (rendered)",
            )
            actions_runtime.info("".join(diff).rstrip("\n"))
        raise OperationError(
            f"{shown_path} differs from what render-workflow writes: "
            "run toto-actions render-workflow to update it"
        )
    actions_runtime.info(f"{shown_path} is up to date")
    return 0


def _write(target: Path, content: str) -> None:
    if target.is_file() and target.read_text(encoding="utf-8") == content:
        actions_runtime.info(f"{target} is up to date")
        return
    temporary: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed, so an interrupted write leaves the old file whole.
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", delete=False
        ) as handle:
            temporary = Path(handle.name)
            handle.write(content)
        temporary.chmod(0o644)
        temporary.replace(target)
    except OSError as problem:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise OperationError(f"cannot write {target}: {problem.strerror}") from problem
    actions_runtime.info(f"wrote {target}")


def choose_style(settings: WorkflowSettings, committed: Path) -> str:
    """The style given (--style, style: in toto.yml), else inline for a repository whose committed
    workflow is an inline render or whose settings only the inline workflow runs, else reusable."""
    unsupported = inline_only(settings)
    if settings.style == REUSABLE and unsupported:
        raise UsageError(f"--style reusable cannot run {unsupported}: use --style inline")
    if settings.style is not None:
        return settings.style
    how_to_move = (
        "set style: reusable in toto.yml (or pass --style reusable) and render again for a short "
        "caller of the toolkit's reusable workflow"
    )
    if _is_inline_render(committed):
        actions_runtime.notice(
            f"{committed.name} is an inline render, so it stays inline: {how_to_move}, or set "
            "style: inline to keep it and silence this notice",
            title="Inline workflow kept",
        )
        return INLINE
    if unsupported:
        actions_runtime.notice(
            f"rendered inline: the reusable workflow cannot run {unsupported}",
            title="Inline workflow",
        )
        return INLINE
    return REUSABLE


def _is_inline_render(committed: Path) -> bool:
    if not committed.is_file():
        return False
    with committed.open(encoding="utf-8", errors="replace") as file:
        first_line = file.readline()
    return first_line.startswith(_RENDERED_HEADER) and "--style reusable" not in first_line
