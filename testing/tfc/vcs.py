"""The stand-in's VCS-connected workspaces: their settings, and the runs a push or a pull request
starts (or does not) by the rules HashiCorp documents. Written from the documentation alone, not
from the toolkit's toto_actions/terraform/vcs_trigger.py, so that a test of one checks the other.

Sources (hashicorp/web-unified-docs, content/terraform-docs-common/docs/cloud-docs/):
- workspaces/run/ui.mdx: a workspace follows one branch; 300 or more changed files start runs in
  every connected workspace; a workspace with no runs accepts none from a webhook; a commit
  already processed into a run is not processed again; pull requests: speculative plans only
  where enabled, not from forks, only for the destination branch, only when relevant files change.
- workspaces/settings/vcs.mdx: trigger patterns (globs: `*`, `?` "one or more characters", `**`),
  trigger prefixes with the working directory, tag-triggered workspaces (any branch, tags only).
- api-docs/workspaces.mdx: the attributes (`vcs-repo.branch`, `vcs-repo.tags-regex`,
  `file-triggers-enabled`, `trigger-patterns`, `trigger-prefixes`, `working-directory`,
  `speculative-enabled`, `queue-all-runs`).
- api-docs/run.mdx: the runs list allows 30 requests a minute.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from testing.http_stand_in import Incoming, Reply
from testing.tfc.model import API, VcsRepo, Workspace, iso
from testing.tfc.rate_limits import RunsListLimit

if TYPE_CHECKING:
    from testing.tfc.routes import Endpoint
    from testing.tfc.state import State

RUNS_LIST = f"{API}/workspaces/:workspace_id/runs"
GITHUB_FILES_LIMIT = 300


def vcs_attributes(workspace: Workspace) -> dict[str, Any]:
    """The workspace document's attributes that describe its VCS connection."""
    vcs = workspace.vcs
    if vcs is None:
        return {"vcs-repo": None, "vcs-repo-identifier": None}
    return {
        "file-triggers-enabled": vcs.file_triggers_enabled,
        "queue-all-runs": vcs.queue_all_runs,
        "speculative-enabled": vcs.speculative_enabled,
        "trigger-patterns": list(vcs.trigger_patterns),
        "trigger-prefixes": list(vcs.trigger_prefixes),
        "working-directory": vcs.working_directory,
        "vcs-repo": {
            "branch": vcs.branch,
            "display-identifier": vcs.identifier,
            "identifier": vcs.identifier,
            "ingress-submodules": False,
            "oauth-token-id": "ot-tfcStandIn0001",
            "repository-http-url": f"https://github.com/{vcs.identifier}",
            "service-provider": "github",
            "tags-regex": vcs.tags_regex,
        },
        "vcs-repo-identifier": vcs.identifier,
    }


def pull_request_ingress(
    organization: str, name: str, number: int | None, title: str
) -> dict[str, Any]:
    """The ingress attributes that describe a pull request (null on a push), as the
    configuration-versions API's sample shows them; the repository is named after the
    workspace."""
    url = None if number is None else f"https://github.com/{organization}/{name}/pull/{number}"
    return {
        "pull-request-number": number,
        "pull-request-url": url,
        "pull-request-title": None if number is None else title,
        "compare-url": url,
    }


class Push(NamedTuple):
    """A push of commit_sha to ref; changed_files None: GitHub sent no list."""

    commit_sha: str
    ref: str = "refs/heads/main"
    changed_files: Sequence[str] | None = ()

    def starts_a_run(self, workspace: Workspace) -> bool:
        vcs = workspace.vcs
        if vcs is None or not _accepts_webhooks(workspace, vcs):
            return False
        processed = any(
            (run.configuration_version.ingress or {}).get("commit-sha") == self.commit_sha
            for run in workspace.runs
        )
        if processed:
            return False
        if self.ref.startswith("refs/tags/"):
            tag = self.ref.removeprefix("refs/tags/")
            return bool(vcs.tags_regex) and re.search(vcs.tags_regex or "", tag) is not None
        if vcs.tags_regex:
            return False
        if self.ref.removeprefix("refs/heads/") != (vcs.branch or vcs.default_branch):
            return False
        return _relevant(vcs, self.changed_files)


class PullRequest(NamedTuple):
    """Pull request `number`, opened or updated with head commit_sha, into base."""

    commit_sha: str
    number: int
    base: str = "main"
    changed_files: Sequence[str] | None = ()
    from_fork: bool = False

    def starts_a_run(self, workspace: Workspace) -> bool:
        vcs = workspace.vcs
        if vcs is None or not vcs.speculative_enabled or self.from_fork:
            return False
        if not _accepts_webhooks(workspace, vcs) or self.base != (vcs.branch or vcs.default_branch):
            return False
        return _relevant(vcs, self.changed_files)


class VcsConnections:
    """TfcServer's VCS side: connect a workspace, then deliver pushes and pull requests."""

    _state: State
    _runs_list_limit: RunsListLimit

    def _start_vcs(self) -> None:
        """Called once by the server's __init__."""
        self._runs_list_limit = RunsListLimit()

    def queue_vcs_run(
        self,
        organization: str,
        name: str,
        archive: bytes,
        *,
        commit_sha: str,
        branch: str = "main",
        message: str = "Merge pull request",
        pull_request: int | None = None,
    ) -> str:
        """A run as the VCS connection starts one: a configuration version from the commit
        (with its ingress attributes, configuration-versions API), uploaded, and a run queued
        from it. The run's id. For a push, a run that plans and applies; with pull_request, the
        speculative plan-only run HCP Terraform starts for a pull request's head commit (branch
        then names the pull request's head branch, message its title)."""
        speculative = pull_request is not None
        with self._state.cond:
            workspace = self._state.workspace(organization, name)
            version = self._state.create_configuration_version(
                workspace, auto_queue_runs=True, speculative=speculative
            )
            version.source = "github"
            version.archive = archive
            version.status = "uploaded"
            version.timestamps["uploaded-at"] = iso()
            version.ingress = {
                "id": self._state.new_id("ia"),
                "branch": branch,
                "commit-sha": commit_sha,
                "commit-message": message,
                "identifier": f"{organization}/{name}",
                "is-pull-request": speculative,
                "on-default-branch": branch == "main" and not speculative,
                **pull_request_ingress(organization, name, pull_request, message),
            }
            run = self._state.create_run(
                workspace,
                version,
                message=message,
                plan_only=speculative,
                auto_apply=workspace.auto_apply and not speculative,
                variables=[],
                source="tfe-configuration-version",
            )
            return run.id

    def connect_vcs(
        self, organization: str, name: str, identifier: str = "acme/infra", **settings: Any
    ) -> None:
        """Connect the workspace to a repository (whose default branch is `main` unless
        default_branch says otherwise), with VcsRepo's settings."""
        settings.setdefault("default_branch", "main")
        with self._state.cond:
            self._state.workspace(organization, name).vcs = VcsRepo(identifier, **settings)

    def vcs_webhook(
        self, organization: str, name: str, archive: bytes, event: Push | PullRequest
    ) -> str | None:
        """A push or pull request webhook for this workspace, `archive` the commit's
        configuration: the run it queued, or None when HCP Terraform starts none."""
        with self._state.cond:  # not reentrant: queue_vcs_run takes it again
            workspace = self._state.workspace(organization, name)
            if not event.starts_a_run(workspace):
                return None
        if isinstance(event, PullRequest):
            return self.queue_vcs_run(
                organization, name, archive, commit_sha=event.commit_sha, pull_request=event.number
            )
        branch = event.ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
        return self.queue_vcs_run(
            organization, name, archive, commit_sha=event.commit_sha, branch=branch
        )

    def _runs_list_refusal(self, incoming: Incoming[Endpoint]) -> Reply | None:
        """429 past the runs lists' 30 requests a minute (run.mdx)."""
        route = incoming.route
        if route is None or route.spec.template != RUNS_LIST or incoming.method != "GET":
            return None
        return self._runs_list_limit.refusal(incoming.token)


def _accepts_webhooks(workspace: Workspace, vcs: VcsRepo) -> bool:
    return bool(workspace.runs) or vcs.queue_all_runs


def _relevant(vcs: VcsRepo, files: Sequence[str] | None) -> bool:
    """Whether the changed files start a run: all do without a list, with 300 or more, or with
    file triggers off; else a trigger pattern, or the working directory or a trigger prefix."""
    if files is None or len(files) >= GITHUB_FILES_LIMIT or not vcs.file_triggers_enabled:
        return True
    if vcs.trigger_patterns:
        return any(
            _glob(p.strip("/").split("/"), f.split("/"))
            for p in vcs.trigger_patterns
            for f in files
        )
    if not vcs.working_directory.strip("/"):
        return True  # the repository's root is the working directory: every file is in it
    prefixes = [p.strip("/") for p in (vcs.working_directory, *vcs.trigger_prefixes)]
    return any(path.startswith(prefix) for prefix in prefixes for path in files)


def _glob(pattern: list[str], path: list[str]) -> bool:
    """Segment by segment: `**` stands for any number of directories."""
    if not pattern:
        return not path
    first, rest = pattern[0], pattern[1:]
    if first == "**":
        return any(_glob(rest, path[start:]) for start in range(len(path) + 1))
    return bool(path) and _segment(first, path[0]) and _glob(rest, path[1:])


def _segment(pattern: str, name: str) -> bool:
    wildcards = {"*": "[^/]*", "?": "[^/]+"}
    regex = "".join(wildcards.get(character, re.escape(character)) for character in pattern)
    return re.fullmatch(regex, name) is not None
