"""The stand-in GitHub's pull request routes: a pull request, the pull requests of a commit, and
issue comments (a pull request is an issue: its comments are issue comments). Handlers run under
the server's lock, as those of routes.py do."""

from __future__ import annotations

from typing import Any

from testing.github.documents import error
from testing.github.pull_documents import (
    BOT_LOGIN,
    issue_comment_document,
    pull_request_document,
    pull_request_simple_document,
)
from testing.github.routes import Call, Handler, page_links
from testing.github.run_routes import WORKFLOW_RUN_ROUTES
from testing.github.state import Comment, PullRequest, Repository
from testing.http_stand_in import BRACED_PARAMETERS, Reply, Route, int_or, route

# GitHub refuses a longer comment body: "Body is too long (maximum is 65536 characters)".
MAX_COMMENT_LENGTH = 65_536
_PER_PAGE, _MAX_PER_PAGE = 30, 100


def array_page(call: Call, items: list[Any]) -> Reply:
    """One page of a list GitHub answers as a bare array, with its Link header."""
    per_page = min(max(int_or(call.query.get("per_page"), _PER_PAGE), 1), _MAX_PER_PAGE)
    page = max(int_or(call.query.get("page"), 1), 1)
    last_page = max((len(items) + per_page - 1) // per_page, 1)
    start = (page - 1) * per_page
    links = page_links(call, page, last_page)
    return Reply(200, items[start : start + per_page], (("Link", links),) if links else ())


def _number(call: Call, parameter: str) -> int:
    text = call.params[parameter]
    if not text.isdigit():
        raise error(404, "Not Found")
    return int(text)


def _pull(call: Call, parameter: str) -> PullRequest:
    pull = call.repository.pulls.get(_number(call, parameter))
    if pull is None:
        raise error(404, "Not Found")
    return pull


def _head_repository(call: Call, pull: PullRequest) -> Repository:
    """The head's repository: this one, another the stand-in holds, or a fork made up for it."""
    known = call.state.repositories.get(pull.head_repository.lower())
    if known is not None:
        return known
    return Repository(
        id=pull.id + 3_000_000,
        full_name=pull.head_repository,
        created_at=pull.created_at,
        target=call.repository.target,  # never served: a fork's secrets are not the stand-in's
    )


def _get_pull(call: Call) -> Reply:
    pull = _pull(call, "pull_number")
    head = _head_repository(call, pull)
    return Reply(200, pull_request_document(call.api_url, call.repository, pull, head))


def _commit_pulls(call: Call) -> Reply:
    """The pull requests whose head is the commit, or whose merge made it."""
    sha = call.params["commit_sha"]
    pulls = [
        p
        for p in sorted(call.repository.pulls.values(), key=lambda p: p.number)
        if sha in {p.head_sha, p.merge_commit_sha}
    ]
    documents = [
        pull_request_simple_document(call.api_url, call.repository, p, _head_repository(call, p))
        for p in pulls
    ]
    return array_page(call, documents)


def _list_comments(call: Call) -> Reply:
    pull = _pull(call, "issue_number")
    comments = [c for c in call.repository.comments.values() if c.issue_number == pull.number]
    documents = [issue_comment_document(call.api_url, call.repository, c) for c in comments]
    return array_page(call, documents)


def _comment_body(call: Call) -> str:
    body: str = call.body["body"]  # the description requires a string body (checked before)
    if len(body) > MAX_COMMENT_LENGTH:
        raise error(422, f"Body is too long (maximum is {MAX_COMMENT_LENGTH} characters)")
    return body


def _create_comment(call: Call) -> Reply:
    pull = _pull(call, "issue_number")
    body = _comment_body(call)
    now = call.state.clock.stamp()
    comment = Comment(call.state.next_id(), pull.number, body, BOT_LOGIN, "Bot", now, now)
    call.repository.comments[comment.id] = comment
    document = issue_comment_document(call.api_url, call.repository, comment)
    return Reply(201, document, (("Location", document["url"]),))


def _update_comment(call: Call) -> Reply:
    comment = call.repository.comments.get(_number(call, "comment_id"))
    if comment is None:
        raise error(404, "Not Found")
    comment.body = _comment_body(call)
    comment.updated_at = call.state.clock.stamp()
    return Reply(200, issue_comment_document(call.api_url, call.repository, comment))


def _route(method: str, template: str, handler: Handler, statuses: set[int]) -> Route[Handler]:
    return route(method, template, handler, statuses, BRACED_PARAMETERS)


_REPOSITORY = "/repos/{owner}/{repo}"
PULL_REQUEST_ROUTES: list[Route[Handler]] = [
    _route("GET", f"{_REPOSITORY}/pulls/{{pull_number}}", _get_pull, {200, 404}),
    _route("GET", f"{_REPOSITORY}/commits/{{commit_sha}}/pulls", _commit_pulls, {200}),
    _route("GET", f"{_REPOSITORY}/issues/{{issue_number}}/comments", _list_comments, {200, 404}),
    _route(
        "POST", f"{_REPOSITORY}/issues/{{issue_number}}/comments", _create_comment, {201, 404, 422}
    ),
    _route(
        "PATCH",
        f"{_REPOSITORY}/issues/comments/{{comment_id}}",
        _update_comment,
        {200, 404, 422},
    ),
    *WORKFLOW_RUN_ROUTES,  # a plan comment names the run that wrote it
]
