"""The stand-in GitHub's pull requests and issue comments, through PyGithub over real sockets
(their conformance with the OpenAPI description is checked in test_github_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from github import GithubException

from testing.github.server import GitHubServer
from tests.testing.test_github_server import call, pygithub, serving

REPOSITORY = "acme/toto-core"
HEAD, MERGE = "1" * 40, "2" * 40


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with serving(REPOSITORY) as running:
        yield running


def test_pygithub_reads_a_pull_request_and_its_fork(server: GitHubServer) -> None:
    server.add_pull_request(REPOSITORY, 3, HEAD, "main", head_repo_full_name="fork/toto-core")
    pull = pygithub(server, per_page=100, lazy=True).get_repo(REPOSITORY).get_pull(3)
    assert (pull.number, pull.head.sha, pull.base.ref) == (3, HEAD, "main")
    assert (pull.head.repo.full_name, pull.base.repo.full_name) == ("fork/toto-core", REPOSITORY)
    assert pull.merged is False and pull.merge_commit_sha is None


def test_the_pull_requests_of_a_commit_are_those_it_heads_or_merged(server: GitHubServer) -> None:
    server.add_pull_request(REPOSITORY, 3, HEAD)
    server.add_pull_request(REPOSITORY, 4, "3" * 40, merge_commit_sha=MERGE)
    repository = pygithub(server, per_page=100, lazy=True).get_repo(REPOSITORY)
    assert [p.number for p in repository.get_commit(HEAD).get_pulls()] == [3]
    merged = list(repository.get_commit(MERGE).get_pulls())
    assert [(p.number, p.merge_commit_sha) for p in merged] == [(4, MERGE)]
    assert list(repository.get_commit("4" * 40).get_pulls()) == []
    assert [r.route for r in server.requests] == [
        "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"
    ] * 3


def test_pygithub_creates_lists_and_edits_comments(server: GitHubServer) -> None:
    server.add_pull_request(REPOSITORY, 3, HEAD)
    issue = pygithub(server, per_page=100, lazy=True).get_repo(REPOSITORY).get_issue(3)
    created = issue.create_comment("first")
    assert created.user.login == "github-actions[bot]" and created.user.type == "Bot"
    server.advance_clock(5)
    created.edit("second")
    [stored] = server.comments(REPOSITORY, 3)
    assert (stored["id"], stored["body"], stored["user"]) == (
        created.id,
        "second",
        created.user.login,
    )
    assert [c.body for c in issue.get_comments()] == ["second"]
    assert [r.method for r in server.requests] == ["POST", "PATCH", "GET"]  # lazy: no GET first


def test_pygithub_follows_the_pages_of_comments(server: GitHubServer) -> None:
    server.add_pull_request(REPOSITORY, 3, HEAD)
    for index in range(130):
        server.add_comment(REPOSITORY, 3, f"comment {index}")
    issue = pygithub(server, per_page=100, lazy=True).get_repo(REPOSITORY).get_issue(3)
    comments = list(issue.get_comments())
    assert [c.body for c in comments] == [f"comment {index}" for index in range(130)]
    assert [r.query for r in server.requests] == ["per_page=100", "page=2&per_page=100"]


def test_a_comment_longer_than_github_allows_is_refused(server: GitHubServer) -> None:
    server.add_pull_request(REPOSITORY, 3, HEAD)
    issue = pygithub(server, per_page=100, lazy=True).get_repo(REPOSITORY).get_issue(3)
    issue.create_comment("x" * 65_536)
    with pytest.raises(GithubException) as refused:
        issue.create_comment("x" * 65_537)
    assert refused.value.status == 422
    assert len(server.comments(REPOSITORY, 3)) == 1


@pytest.mark.parametrize("permission", ["pull_requests", "issues"])
def test_commenting_takes_pull_requests_or_issues_write(
    server: GitHubServer, permission: str
) -> None:
    server.add_pull_request(REPOSITORY, 3, HEAD)
    server.add_token("ghs_one", [REPOSITORY], {permission: "write"})
    comments = f"/repos/{REPOSITORY}/issues/3/comments"
    assert call(server, "POST", comments, {"body": "plan"}, token="ghs_one").status == 201
    assert call(server, "GET", comments, token="ghs_one").status == 200


def test_commenting_without_either_permission_is_forbidden(server: GitHubServer) -> None:
    server.add_pull_request(REPOSITORY, 3, HEAD)
    server.add_token("ghs_read", [REPOSITORY], {"pull_requests": "read", "contents": "write"})
    answer = call(
        server, "POST", f"/repos/{REPOSITORY}/issues/3/comments", {"body": "p"}, token="ghs_read"
    )
    assert answer.status == 403
    assert answer.headers["X-Accepted-GitHub-Permissions"] == "issues=write; pull_requests=write"
    assert server.comments(REPOSITORY, 3) == []


def test_the_pull_requests_of_a_commit_need_pull_requests_read(server: GitHubServer) -> None:
    server.add_token("ghs_issues", [REPOSITORY], {"issues": "write"})
    server.add_token("ghs_pulls", [REPOSITORY], {"pull_requests": "read"})
    path = f"/repos/{REPOSITORY}/commits/{HEAD}/pulls"
    answer = call(server, "GET", path, token="ghs_issues")
    assert (answer.status, answer.headers["X-Accepted-GitHub-Permissions"]) == (
        403,
        "pull_requests=read",
    )
    assert call(server, "GET", path, token="ghs_pulls").status == 200
