"""Seeding and reading the stand-in GitHub's pull requests and their comments (a part of
GitHubServer, kept apart to keep server.py readable)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from testing.github.run_routes import WorkflowRunSeeding
from testing.github.state import Comment, PullRequest, State


class PullRequestSeeding(WorkflowRunSeeding):
    """GitHubServer's pull request methods, and those of the workflow runs that plan them;
    they hold its lock, as every method of it does."""

    _lock: AbstractContextManager[Any]
    _state: State

    def add_pull_request(
        self,
        repository: str,
        number: int,
        head_sha: str,
        base_ref: str = "main",
        *,
        head_repo_full_name: str | None = None,
        head_ref: str = "feature",
        merge_commit_sha: str | None = None,
    ) -> None:
        """Open a pull request (head in head_repo_full_name: a fork when not the repository),
        or move an existing one on: a new head commit, or merged into merge_commit_sha."""
        with self._lock:
            pulls = self._state.repository(repository).pulls
            now = self._state.clock.stamp()
            existing = pulls.get(number)
            pulls[number] = PullRequest(
                id=existing.id if existing else self._state.next_id() + 500_000_000,
                number=number,
                head_sha=head_sha,
                head_ref=head_ref,
                head_repository=head_repo_full_name or repository,
                base_ref=base_ref,
                merge_commit_sha=merge_commit_sha,
                created_at=existing.created_at if existing else now,
                updated_at=now,
            )

    def add_comment(
        self, repository: str, number: int, body: str, user: str = "octocat", kind: str = "User"
    ) -> int:
        """A comment someone wrote on the pull request (a person, unless kind is "Bot")."""
        with self._lock:
            found = self._state.repository(repository)
            if number not in found.pulls:
                raise KeyError(f"no pull request #{number} in {repository}")
            now = self._state.clock.stamp()
            comment = Comment(self._state.next_id(), number, body, user, kind, now, now)
            found.comments[comment.id] = comment
            return comment.id

    def comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        """The pull request's comments, oldest first: {"id", "body", "user", "updated_at"}."""
        with self._lock:
            return [
                {"id": c.id, "body": c.body, "user": c.user_login, "updated_at": c.updated_at}
                for c in self._state.repository(repository).comments.values()
                if c.issue_number == number
            ]
