"""Pull requests on GitHub, through PyGithub: the `pull_request` event a plan runs for, this
workspace's plan comment (found by its marker, then edited, or created), and the plan comment
of the pull request that brought a pushed commit.

The client is lazy (PyGithub's `lazy=True`: a repository or an issue is an address, not a GET),
so a comment costs one request to list the pull request's comments (one per hundred) and one to
create or edit it. Only comments written by PLAN_COMMENT_AUTHOR are ours: a person's or another
bot's comment that copies the marker is neither edited nor trusted as a reviewed plan.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from toto_actions import actions_runtime
from toto_actions.errors import OperationError

if TYPE_CHECKING:
    from github import Github
    from github.IssueComment import IssueComment

T = TypeVar("T")
IsOurs = Callable[[str], bool]  # whether a comment body is this workspace's plan comment
PULL_REQUEST_EVENT = "pull_request"
# Who a plan comment is written by: the rendered plan jobs comment with the workflow's
# GITHUB_TOKEN, whose writes GitHub attributes to the github-actions app's bot user (`user`
# of an issue comment: login "github-actions[bot]", type "Bot"). The plan job cannot ask GitHub
# who its token is (GET /user refuses an installation token), so the name is fixed here.
PLAN_COMMENT_AUTHOR = "github-actions[bot]"


class PullRequestEvent(NamedTuple):
    """What the plan of a `pull_request` event needs from its payload."""

    number: int
    head_sha: str
    head_repository: str | None  # None when the fork was deleted
    base_repository: str

    @property
    def from_fork(self) -> bool:
        """A fork's pull request runs without the repository's secrets and with a read-only
        token: it cannot comment."""
        head = self.head_repository
        return head is None or head.lower() != self.base_repository.lower()


def pull_request_event(name: str | None, path: str | None) -> PullRequestEvent | None:
    """The pull request of a `pull_request` event (as the runner sets GITHUB_EVENT_NAME and
    GITHUB_EVENT_PATH); None for any other event."""
    if name != PULL_REQUEST_EVENT:
        return None
    if not path:
        raise OperationError("a pull_request event without GITHUB_EVENT_PATH: no payload to read")
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        pull = payload["pull_request"]
        head_repo = pull["head"].get("repo")
        return PullRequestEvent(
            number=int(pull["number"]),
            head_sha=str(pull["head"]["sha"]),
            head_repository=None if head_repo is None else str(head_repo["full_name"]),
            base_repository=str(pull["base"]["repo"]["full_name"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as problem:
        raise OperationError(
            f"the pull_request event payload {path} cannot be read: {problem!r}"
        ) from problem


class ReviewedComments(NamedTuple):
    """The merged pull request of a commit and its plan comments (of PLAN_COMMENT_AUTHOR)."""

    pull_number: int
    head_sha: str  # the pull request's head commit, which its plan runs planned
    head_ref: str  # its head branch
    comments: tuple[FoundComment, ...]  # those of this workspace's marker, oldest first


class FoundComment(NamedTuple):
    body: str
    updated_at: datetime  # its last edit (its creation when never edited)


class WorkflowRun(NamedTuple):
    """What a workflow run says of itself (GET /repos/{owner}/{repo}/actions/runs/{run_id})."""

    run_id: int
    path: str  # the workflow file, as GitHub gives it (see reviewed_plan.workflow_file)
    event: str
    head_sha: str
    head_branch: str | None
    head_repository: str | None  # full name
    pull_numbers: tuple[int, ...]  # `pull_requests`: open same-repository ones only
    status: str  # "completed" once over
    started_at: datetime | None  # `run_started_at` (reset by a re-run)
    updated_at: datetime | None  # its last change: its end, once completed


class PullRequests:
    """One repository's pull requests and their comments, with one token."""

    def __init__(self, token: str, api_url: str, repository: str) -> None:
        actions_runtime.mask(token)  # before any request could print it
        self._token, self._api_url, self._repository = token, api_url, repository
        self._client: Github | None = None

    def publish(
        self, number: int, body: str, is_ours: IsOurs
    ) -> Literal["created", "edited", "unchanged"]:
        """Edit the first bot comment for which is_ours(body) holds, or create one."""
        what = f"the plan comment on #{number}"
        existing = self._guarded(what, lambda: self._find(number, is_ours))
        if existing is None:
            self._guarded(what, lambda: self._issue(number).create_comment(body))
            return "created"
        if existing.body == body:
            return "unchanged"
        self._guarded(what, lambda: existing.edit(body))
        return "edited"

    def reviewed_comments(self, commit: str, is_ours: IsOurs) -> ReviewedComments | None:
        """The plan comments of the pull request that brought the commit: the one whose merge
        made it (a merge, squash or rebase names the pushed commit), else a merged one that
        holds it; None when no merged pull request has the commit (an open one is not a
        review of what is applied)."""

        def lookup() -> ReviewedComments | None:
            pulls = [p for p in self._repo().get_commit(commit).get_pulls() if p.merged_at]
            if not pulls:
                return None
            pull = next((p for p in pulls if p.merge_commit_sha == commit), pulls[0])
            comments = tuple(
                FoundComment(c.body, c.updated_at) for c in self._ours(pull.number, is_ours)
            )
            return ReviewedComments(pull.number, pull.head.sha, pull.head.ref, comments)

        return self._guarded(f"the pull request of {commit}", lookup)

    def workflow_run(self, run_id: int) -> WorkflowRun:
        """The workflow run run_id of the repository."""

        def lookup() -> WorkflowRun:
            data = self._repo().get_workflow_run(run_id).raw_data  # one GET
            head = data.get("head_repository") or {}
            return WorkflowRun(
                run_id,
                str(data.get("path") or ""),
                str(data.get("event") or ""),
                str(data.get("head_sha") or ""),
                data.get("head_branch"),
                head.get("full_name"),
                tuple(int(p["number"]) for p in data.get("pull_requests") or []),
                str(data.get("status") or ""),
                _timestamp(data.get("run_started_at")),
                _timestamp(data.get("updated_at")),
            )

        return self._guarded(f"the workflow run {run_id}", lookup)

    def _ours(self, number: int, is_ours: IsOurs) -> list[IssueComment]:
        """The pull request's comments written by PLAN_COMMENT_AUTHOR for which is_ours holds."""
        return [
            comment
            for comment in self._issue(number).get_comments()
            if comment.user is not None
            and comment.user.type == "Bot"
            and comment.user.login == PLAN_COMMENT_AUTHOR
            and is_ours(comment.body)
        ]

    def _find(self, number: int, is_ours: IsOurs) -> IssueComment | None:
        found = self._ours(number, is_ours)
        return found[0] if found else None

    def _github(self) -> Github:
        if self._client is None:
            from github import Auth, Github

            self._client = Github(
                base_url=self._api_url.rstrip("/"),
                auth=Auth.Token(self._token),
                lazy=True,  # objects are addresses: only the list, create and edit reach GitHub
                retry=None,
                # PyGithub waits 0.25 s before a request and 1 s before a write by default: a
                # step that sends two or three has no rate to keep under.
                seconds_between_requests=None,
                seconds_between_writes=None,
                per_page=100,
                timeout=30,
            )
        return self._client

    def _repo(self) -> Any:
        return self._github().get_repo(self._repository)

    def _issue(self, number: int) -> Any:
        return self._repo().get_issue(number)

    def _guarded(self, what: str, operation: Callable[[], T]) -> T:
        return guarded(what, operation)


def _timestamp(value: object) -> datetime | None:
    """A timestamp GitHub wrote (`2026-01-02T03:04:05Z`); None when absent or unreadable."""
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def guarded(what: str, operation: Callable[[], T]) -> T:
    """operation(), with GitHub's refusal or an unreachable API as one OperationError."""
    import requests
    from github import GithubException

    try:
        return operation()
    except GithubException as failure:
        data = failure.data if isinstance(failure.data, dict) else {}
        message = str(data.get("message") or failure.data or "")
        raise OperationError(f"{what}: GitHub answered {failure.status} {message}") from failure
    except requests.RequestException as failure:
        raise OperationError(f"{what}: GitHub unreachable ({type(failure).__name__})") from failure
