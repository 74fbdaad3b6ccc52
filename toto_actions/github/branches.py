"""GitHub's branches, through PyGithub: which branches contain a commit, and a workflow_dispatch
run on one of them.

A branch contains a commit when GitHub's comparison of the branch (base) with the commit (head),
GET /repos/{owner}/{repo}/compare/{branch}...{sha}, says `identical` (the branch's head is the
commit) or `behind` (the commit is an ancestor of the branch's head); `ahead` and `diverged` mean
the commit is not on the branch, and a commit GitHub does not know is a 404. The branches are
listed with GET /repos/{owner}/{repo}/branches (paged). Both need Contents: read. A
workflow_dispatch event (POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches,
body {"ref", "inputs"}) starts the workflow file on a branch; it needs Actions: write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from toto_actions.github.pull_requests import guarded

if TYPE_CHECKING:
    from github.Repository import Repository

CONTAINED = frozenset({"identical", "behind"})


def branch_names(repo: Repository, repository: str) -> list[str]:
    """Every branch of the repository (OWNER/NAME, for messages), by name (all pages)."""
    names = guarded(f"the branches of {repository}", lambda: [b.name for b in repo.get_branches()])
    return sorted(names)


def contains(repo: Repository, repository: str, branch: str, sha: str) -> bool:
    """Whether the branch holds the commit (its head, or an ancestor of its head); False too for
    a commit GitHub does not know."""
    from github import GithubException

    def status() -> str | None:
        try:
            answer: str = repo.compare(branch, sha).status
        except GithubException as failure:
            if failure.status == 404:  # an unknown commit, or no common history
                return None
            raise
        return answer

    return guarded(f"comparing {branch} of {repository} with {sha}", status) in CONTAINED


def dispatch_workflow(
    repo: Repository, repository: str, workflow: str, branch: str, inputs: Mapping[str, str]
) -> None:
    """Start the workflow file on the branch with these inputs (a workflow_dispatch event)."""
    workflow_file = repo.get_workflow(workflow)  # lazy: no request, the file name is the id

    def dispatch() -> None:
        workflow_file.create_dispatch(ref=branch, inputs=dict(inputs), throw=True)

    guarded(f"starting {workflow} on {branch} of {repository}", dispatch)
