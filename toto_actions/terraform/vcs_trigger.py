"""Whether HCP Terraform starts a run on a VCS-connected workspace for a push or a pull
request: the rules of its documentation, as plain logic.

Sources (hashicorp/web-unified-docs, content/terraform-docs-common/docs/cloud-docs/):
`workspaces/run/ui.mdx` ("Automatically Starting Runs", "Rules for Triggering Pull Request
Plans"), `workspaces/settings/vcs.mdx` ("Automatic Run Triggering", "VCS Branch", "Glob Patterns
for Automatic Run Triggering") and `api-docs/workspaces.mdx` (the attributes). Where they are
silent or ambiguous, the reading that expects a run is taken: a wrong "no run" would end the
step while HCP Terraform applies, a wrong "a run" only waits as the step always did.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

# GitHub reports at most 300 changed files; past that (or without a list) HCP Terraform starts
# runs in every workspace connected to the repository (ui.mdx, vcs.mdx).
CHANGED_FILES_LIMIT = 300

EventKind = Literal["branch", "tag", "pull_request"]


class WorkspaceVcs(NamedTuple):
    """A workspace's VCS settings, as the workspaces API shows them."""

    name: str
    connected: bool  # `vcs-repo` is set
    branch: str  # `vcs-repo.branch`; "" means the repository's default branch
    tags_regex: str | None  # `vcs-repo.tags-regex`: runs on matching git tags only
    file_triggers_enabled: bool
    trigger_patterns: tuple[str, ...]
    trigger_prefixes: tuple[str, ...]
    working_directory: str
    speculative_enabled: bool
    has_runs: bool  # the workspace ever had a run (`latest-run` is set)
    queue_all_runs: bool


class VcsEvent(NamedTuple):
    """What the VCS told HCP Terraform: a push to a branch or a tag, or a pull request (ref is
    then its base branch); files: the changed files, from the repository root, or None when
    unknown."""

    kind: EventKind
    ref: str
    default_branch: str | None
    files: tuple[str, ...] | None
    from_fork: bool = False


def accepts_vcs_runs(workspace: WorkspaceVcs) -> bool:
    """A workspace with no runs accepts none from a VCS webhook until one is queued by hand
    (ui.mdx), unless `queue-all-runs` (workspaces.mdx)."""
    return workspace.has_runs or workspace.queue_all_runs


def no_run_reason(workspace: WorkspaceVcs, event: VcsEvent | None) -> str | None:
    """Why HCP Terraform starts no run on the workspace for the event; None when it may."""
    if not workspace.connected:
        return f"{workspace.name} is not connected to a VCS repository"
    if event is None:
        return None
    if event.kind == "pull_request":
        return _pull_request_reason(workspace, event)
    if event.files is not None and len(event.files) >= CHANGED_FILES_LIMIT:
        return None  # every connected workspace runs
    if event.kind == "tag":
        return _tag_reason(workspace, event.ref)
    return _branch_push_reason(workspace, event)


def _branch_push_reason(workspace: WorkspaceVcs, event: VcsEvent) -> str | None:
    if workspace.tags_regex:
        return (
            f"{workspace.name} starts runs for git tags matching {workspace.tags_regex!r} only, "
            f"not for a push to branch {event.ref}"
        )
    return _branch_reason(workspace, event, "a push to") or _files_reason(workspace, event.files)


def _pull_request_reason(workspace: WorkspaceVcs, event: VcsEvent) -> str | None:
    if not workspace.speculative_enabled:
        return f"{workspace.name} has automatic speculative plans turned off"
    if event.from_fork:
        return "HCP Terraform runs no speculative plan for a pull request from a fork"
    reason = _branch_reason(workspace, event, "a pull request into")
    if reason or event.files is None or len(event.files) >= CHANGED_FILES_LIMIT:
        return reason
    return _files_reason(workspace, event.files)


def _branch_reason(workspace: WorkspaceVcs, event: VcsEvent, what: str) -> str | None:
    branch = workspace.branch or event.default_branch
    if branch is None or branch == event.ref:
        return None  # the default branch unknown: it may be this one
    return f"{workspace.name} follows branch {branch}, not {what} {event.ref}"


def _tag_reason(workspace: WorkspaceVcs, tag: str) -> str | None:
    if not workspace.tags_regex:
        return None  # the documentation does not say how a branch workspace treats tags
    try:
        matched = re.search(workspace.tags_regex, tag)
    except re.error:
        return None
    if matched:
        return None
    return f"tag {tag} does not match the tag pattern {workspace.tags_regex!r} of {workspace.name}"


def _files_reason(workspace: WorkspaceVcs, files: tuple[str, ...] | None) -> str | None:
    """Trigger patterns when set, else the working directory and the trigger prefixes
    (`file-triggers-enabled`, workspaces.mdx); an empty list of files decides nothing."""
    if not files or not workspace.file_triggers_enabled:
        return None
    if workspace.trigger_patterns:
        if any(matches_trigger_pattern(p, f) for p in workspace.trigger_patterns for f in files):
            return None
        listed = ", ".join(workspace.trigger_patterns)
        return f"none of the {_count(files)} changed matches the trigger patterns ({listed})"
    directories = [d.strip("/") for d in (workspace.working_directory, *workspace.trigger_prefixes)]
    # A prefix is compared as text, the wider reading: `modules` also takes `modules-old/`.
    if any(not d or f.startswith(d) for d in directories for f in files):
        return None
    listed = ", ".join(d for d in directories if d)
    return (
        f"none of the {_count(files)} changed is under the working directory or the trigger "
        f"prefixes ({listed})"
    )


def _count(files: tuple[str, ...]) -> str:
    return "1 file" if len(files) == 1 else f"{len(files)} files"


def matches_trigger_pattern(pattern: str, path: str) -> bool:
    """Whether the file (a path from the repository root) matches the trigger pattern, as
    vcs.mdx describes them: rooted at the repository (a leading `/` or not), `*` any characters
    within a directory, `**` any number of directories, `?` "one or more characters" (the
    page's words; its `*.???` example reads as exactly one, so the wider reading is taken);
    hidden files match like any other."""
    return _pattern_regex(pattern).fullmatch(path.lstrip("/")) is not None


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    rest = pattern.lstrip("/")
    while rest:
        if rest.startswith("**/"):
            parts.append("(?:[^/]*/)*")
            rest = rest[3:]
        elif rest.startswith("**"):
            parts.append(".*")
            rest = rest[2:]
        elif rest[0] == "*":
            parts.append("[^/]*")
            rest = rest[1:]
        elif rest[0] == "?":
            parts.append("[^/]+")
            rest = rest[1:]
        else:
            parts.append(re.escape(rest[0]))
            rest = rest[1:]
    return re.compile("".join(parts))
