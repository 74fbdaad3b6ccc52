"""The stand-in GitHub's branches, comparisons and workflow dispatches: the list of a
repository's branches (GET /repos/{owner}/{repo}/branches, paged, `short-branch` documents), the
comparison of two commits (GET /repos/{owner}/{repo}/compare/{basehead}, `commit-comparison`,
its status computed from a commit graph the test seeds) and a workflow_dispatch event (POST
/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches, recorded, 204), with the
test-side seeding. Handlers run under the server's lock, as those of routes.py do.

What GitHub's OpenAPI description (npm @octokit/openapi, api.github.com.json) says and the routes
follow: the compare status is one of diverged, ahead, behind, identical; "This endpoint is
equivalent to running the `git log BASE..HEAD` command", so `ahead_by` counts the commits of head
that base lacks and `behind_by` those of base that head lacks: `behind` or `identical` means base
contains head. `basehead` is `BASE...HEAD` and may span segments (`x-multi-segment`, a branch
`release/2.0`). A workflow dispatch body is `ref` (required: "The git reference for the
workflow. The reference can be a branch or tag name.") and `inputs` (at most 25), answered 204
(200 only with `return_run_details`). The permissions (github/docs' server-to-server data,
testing/vendor/github-permissions.json): branches and compare need Contents: read, the dispatch
Actions: write.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from testing.github.documents import error, node_id
from testing.github.pull_routes import array_page
from testing.github.routes import Call, Handler
from testing.github.state import Repository, State
from testing.http_stand_in import BRACED_PARAMETERS, Reply, Route, RouteSpec, route

_SHA = re.compile(r"[0-9a-f]{40}")
_COMMIT_DATE = "2026-01-01T00:00:00Z"
_REPOSITORY = "/repos/{owner}/{repo}"
_SEGMENT = "[^/]+"


def commit_document(api_url: str, repository: Repository, sha: str) -> dict[str, Any]:
    """commit, as the comparison lists it (the stand-in's commits have no author account)."""
    api, html = (
        f"{api_url}/repos/{repository.full_name}",
        f"https://github.com/{repository.full_name}",
    )
    person = {"name": "toto", "email": "toto@example.com", "date": _COMMIT_DATE}
    return {
        "url": f"{api}/commits/{sha}",
        "sha": sha,
        "node_id": node_id("Commit", int(sha[:8], 16)),
        "html_url": f"{html}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": person,
            "committer": person,
            "message": f"commit {sha[:7]}",
            "comment_count": 0,
            "tree": {"sha": sha, "url": f"{api}/git/trees/{sha}"},
        },
        "author": None,
        "committer": None,
        "parents": [
            {"sha": parent, "url": f"{api}/commits/{parent}", "html_url": f"{html}/commit/{parent}"}
            for parent in repository.commits.get(sha, ())
        ],
    }


def _list_branches(call: Call) -> Reply:
    api = f"{call.api_url}/repos/{call.repository.full_name}"
    documents = [
        {"name": name, "commit": {"sha": sha, "url": f"{api}/commits/{sha}"}, "protected": False}
        for name, sha in sorted(call.repository.branches.items())
    ]
    return array_page(call, documents)


def ancestors(repository: Repository, sha: str) -> set[str]:
    """The commit and every commit it descends from."""
    seen: set[str] = set()
    pending = [sha]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(repository.commits.get(current, ()))
    return seen


def _resolve(repository: Repository, ref: str) -> str:
    """A branch's head, or a commit SHA the graph holds; 404 otherwise, as GitHub answers."""
    if ref in repository.branches:
        return repository.branches[ref]
    if _SHA.fullmatch(ref) and ref in repository.commits:
        return ref
    raise error(404, "Not Found")


def comparison_status(base: set[str], head: set[str], same: bool) -> str:
    """identical, behind (base contains head), ahead (head contains base) or diverged."""
    if same:
        return "identical"
    if head <= base:
        return "behind"
    if base <= head:
        return "ahead"
    return "diverged"


def _compare(call: Call) -> Reply:
    base_ref, separator, head_ref = call.params["basehead"].partition("...")
    if not separator:
        raise error(404, "Not Found")
    repository = call.repository
    base_sha, head_sha = _resolve(repository, base_ref), _resolve(repository, head_ref)
    base, head = ancestors(repository, base_sha), ancestors(repository, head_sha)
    common = base & head
    if not common:
        raise error(404, f"No common ancestor between {base_ref} and {head_ref}.")
    merge_base = max(common, key=lambda sha: len(ancestors(repository, sha)))
    ahead = sorted(head - base, key=lambda sha: len(ancestors(repository, sha)))  # oldest first
    api = f"{call.api_url}/repos/{repository.full_name}"
    html = f"https://github.com/{repository.full_name}"
    basehead = call.params["basehead"]
    page = array_page(call, [commit_document(call.api_url, repository, s) for s in ahead])
    document = {
        "url": f"{api}/compare/{basehead}",
        "html_url": f"{html}/compare/{basehead}",
        "permalink_url": f"{html}/compare/{base_sha}...{head_sha}",
        "diff_url": f"{html}/compare/{basehead}.diff",
        "patch_url": f"{html}/compare/{basehead}.patch",
        "base_commit": commit_document(call.api_url, repository, base_sha),
        "merge_base_commit": commit_document(call.api_url, repository, merge_base),
        "status": comparison_status(base, head, base_sha == head_sha),
        "ahead_by": len(head - base),
        "behind_by": len(base - head),
        "total_commits": len(ahead),
        "commits": page.body,
        "files": [],
    }
    return Reply(200, document, page.headers)


def _create_workflow_dispatch(call: Call) -> Reply:
    """A workflow_dispatch event on a branch (the stand-in holds no tags): recorded; another ref
    is GitHub's 422 "No ref found for: REF". The workflow file is taken as it is named."""
    ref: str = call.body["ref"]  # the description requires it, a string (checked before)
    if ref.removeprefix("refs/heads/") not in call.repository.branches:
        raise error(422, f"No ref found for: {ref}")
    call.repository.workflow_dispatches.append(
        {
            "workflow_id": call.params["workflow_id"],
            "ref": ref,
            "inputs": copy.deepcopy(call.body.get("inputs", {})),
        }
    )
    return Reply(204)


def _multi_segment_route(template: str, handler: Handler, statuses: set[int]) -> Route[Handler]:
    """A route whose last parameter may span segments (the description's x-multi-segment)."""
    prefix, _, _ = template.rpartition("/{")
    pattern = BRACED_PARAMETERS.sub(rf"(?P<\1>{_SEGMENT})", re.escape(prefix))
    name = template.rpartition("{")[2].rstrip("}")
    spec = RouteSpec("GET", template, frozenset(statuses))
    return Route(spec, re.compile(rf"{pattern}/(?P<{name}>.+)"), handler)


BRANCH_ROUTES: list[Route[Handler]] = [
    route("GET", f"{_REPOSITORY}/branches", _list_branches, {200}, BRACED_PARAMETERS),
    _multi_segment_route(f"{_REPOSITORY}/compare/{{basehead}}", _compare, {200, 404}),
    route(
        "POST",
        f"{_REPOSITORY}/actions/workflows/{{workflow_id}}/dispatches",
        _create_workflow_dispatch,
        {204, 422},
        BRACED_PARAMETERS,
    ),
]


class BranchSeeding:
    """GitHubServer's branch methods; they hold its lock, as every method of it does."""

    _lock: AbstractContextManager[Any]
    _state: State

    def add_branch(
        self, repository: str, name: str, commits: Sequence[str], base: str | None = None
    ) -> None:
        """The branch `name` at the last of `commits`, a line of commits each the child of the
        one before, the first a child of `base` (a commit or branch already there; None: a root).
        A branch that exists moves to the new head."""
        with self._lock:
            found = self._state.repository(repository)
            parent = found.branches.get(base, base) if base is not None else None
            if parent is not None and parent not in found.commits:
                raise KeyError(f"no commit or branch {base!r} in {repository}")
            for sha in commits:
                if not _SHA.fullmatch(sha):
                    raise ValueError(f"not a commit SHA: {sha!r}")
                found.commits.setdefault(sha, (parent,) if parent else ())
                parent = sha
            if parent is None:
                raise ValueError("a branch needs a commit")
            found.branches[name] = parent

    def workflow_dispatches(self, repository: str) -> list[dict[str, Any]]:
        """The workflow_dispatch events received: {"workflow_id", "ref", "inputs"}."""
        with self._lock:
            return copy.deepcopy(self._state.repository(repository).workflow_dispatches)
