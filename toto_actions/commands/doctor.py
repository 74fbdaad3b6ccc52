"""`toto-actions doctor`: what a repository still lacks for its rendered Toto workflow.

Reads the workflow render-workflow wrote in the repository (a caller: its inputs, and the jobs
of the reusable workflow it calls as this toolkit renders it), asks GitHub what the repository
holds, and optionally HCP Terraform about the workspaces; prints one line per missing thing, with
where to set it. Names only: no value is asked for or printed. Exit 0 ready, 1 something missing,
2 bad usage.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from toto_actions import __version__, actions_runtime
from toto_actions.errors import UsageError
from toto_actions.github import API_URL_OPTION, DEFAULT_API_URL
from toto_actions.options import URL, GivenOptions, Option
from toto_actions.workflows.github_names import repository as checked_repository
from toto_actions.workflows.readiness import (
    MISSING,
    OPTIONAL,
    WARNING,
    Finding,
    RepositorySetup,
    WorkspaceState,
    findings,
    workspace_findings,
)
from toto_actions.workflows.repository_files import refuse_links
from toto_actions.workflows.requirements import REUSABLE, WorkflowNeeds, workflow_needs
from toto_actions.workflows.settings_file import read_settings_file

KINDS = ("microservice", "core")
SECRETS_FILE = "toto-secrets.yml"
DEFAULT_TFC_ADDRESS = "https://app.terraform.io"

OPTIONS = (
    Option(
        "--output-dir",
        "the repository's root, where render-workflow wrote (default .)",
        metavar="DIR",
    ),
    Option(
        "--repository",
        "the repository on GitHub, OWNER/REPO (default: the workflow's)",
        fallback_variable="GITHUB_REPOSITORY",
        required=True,
    ),
    Option(
        "--github-token",
        "a token that reads the repository's environments and the names of its secrets and "
        "variables (Actions, Environments, Secrets and Variables: read; see docs/doctor.md)",
        fallback_variable="GITHUB_TOKEN",
        required=True,
        sensitive=True,
    ),
    API_URL_OPTION,
    Option(
        "--tfc-token",
        "also check the HCP Terraform workspaces with this user or team token (with "
        "--tfc-organization)",
        sensitive=True,
    ),
    Option("--tfc-organization", "the HCP Terraform organization of the workspaces"),
    Option(
        "--tfc-address",
        f"HCP Terraform or Enterprise address (default {DEFAULT_TFC_ADDRESS})",
        kind=URL,
        default=DEFAULT_TFC_ADDRESS,
    ),
)


def run(given: GivenOptions) -> int:
    """Print what the repository lacks; 1 when a required thing is missing."""
    repo_dir = Path(given.text("output-dir") or ".")
    if not repo_dir.is_dir():
        raise UsageError(f"output directory {str(repo_dir)!r} is not a directory")
    repository = checked_repository(given.text("repository"), "--repository")
    hcp = _hcp_settings(given)
    path, kind = _workflow_file(repo_dir)
    needs = workflow_needs((repo_dir / path).read_text(encoding="utf-8"), kind, _called)
    setup = _read_github(given, repository, needs)
    found = findings(needs, setup)
    if kind == "core" and not (repo_dir / SECRETS_FILE).is_file():
        found.insert(
            0,
            Finding(
                MISSING,
                f"file {SECRETS_FILE}: the core flow's sync reads the "
                "service repositories from it (render-workflow prints a start)",
            ),
        )
    if hcp is not None:
        found += _workspace_findings(needs, *hcp)
    _report(repository, path, needs, found)
    return 1 if any(finding.level == MISSING for finding in found) else 0


def _hcp_settings(given: GivenOptions) -> tuple[str, str, str] | None:
    """(address, token, organization) to check the workspaces with; None without a token."""
    token, organization = given.text("tfc-token"), given.text("tfc-organization")
    if bool(token) != bool(organization):
        raise UsageError("--tfc-token and --tfc-organization go together: give both, or neither")
    if not token or not organization:
        return None
    return given.text("tfc-address") or DEFAULT_TFC_ADDRESS, token, organization


def _workflow_file(repo_dir: Path) -> tuple[PurePosixPath, str]:
    """The rendered workflow and its kind: the one present, or toto.yml's kind."""
    settings = read_settings_file(repo_dir, _setting_keys())
    kinds = [settings["kind"]] if settings.get("kind") in KINDS else list(KINDS)
    present = []
    for kind in kinds:
        path = PurePosixPath(f".github/workflows/toto-{kind}.yml")
        refuse_links(repo_dir, path)
        if (repo_dir / path).is_file():
            present.append((path, kind))
    if len(present) != 1:
        problem = "none" if not present else "both kinds (set kind: in toto.yml)"
        raise UsageError(
            f"{repo_dir}: expected one rendered workflow .github/workflows/toto-<kind>.yml, found "
            f"{problem}: run toto-actions render-workflow first"
        )
    return present[0]


def _setting_keys() -> list[str]:
    from toto_actions.commands.render_workflow import SETTING_OPTIONS

    return [option.key for option in SETTING_OPTIONS]


def _called(kind: str) -> str:
    """The reusable workflow of kind as this toolkit renders it (what published.py writes into
    the toolkit's repository): what a caller's jobs are."""
    from toto_actions.workflows.render import render_reusable

    return render_reusable(kind).content


def _read_github(given: GivenOptions, repository: str, needs: WorkflowNeeds) -> RepositorySetup:
    from toto_actions.github.api import GitHubSettings
    from toto_actions.github.repository_setup import SetupClient
    from toto_actions.http_retry import RetryPolicy

    settings = GitHubSettings(
        token=given.text("github-token") or "",
        api_url=given.text("github-api-url") or DEFAULT_API_URL,
        max_concurrency=1,
        write_interval=0.0,  # reads only
        retry=RetryPolicy(),
    )
    return SetupClient(settings).repository_setup(repository, needs.environments)


def _workspace_findings(
    needs: WorkflowNeeds, address: str, token: str, organization: str
) -> list[Finding]:
    from toto_actions.terraform.cloud_api import TfcClient

    client = TfcClient(address, token, organization)
    states: dict[str, WorkspaceState | None] = {
        use.name: client.workspace_readiness(use.name) for use in needs.workspaces
    }
    return workspace_findings(needs, organization, states)


def _report(
    repository: str, path: PurePosixPath, needs: WorkflowNeeds, found: list[Finding]
) -> None:
    style = needs.style
    if style == REUSABLE:
        style += f", calling {needs.called} (its jobs as toto-actions {__version__} renders them)"
    actions_runtime.info(f"{repository}: {path} ({needs.kind}, {style})")
    actions_runtime.info(f"environments: {', '.join(needs.environments) or 'none'}")
    for level in (MISSING, OPTIONAL, WARNING):
        for finding in found:
            if finding.level == level:
                actions_runtime.info(f"{finding.level}: {finding.text}")
    missing = sum(finding.level == MISSING for finding in found)
    if missing:
        actions_runtime.info(f"not ready: {missing} required thing{'s' * (missing > 1)} missing")
    else:
        actions_runtime.info("ready: every environment, variable and secret the jobs need is set")
