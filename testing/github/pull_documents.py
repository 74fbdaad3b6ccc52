"""The JSON documents of pull requests and issue comments, shaped as GitHub's OpenAPI
description shows them (pull-request, pull-request-simple, issue-comment)."""

from __future__ import annotations

from typing import Any

from testing.github.documents import account_document, node_id, repository_document
from testing.github.state import Comment, PullRequest, Repository

BOT_LOGIN = "github-actions[bot]"  # who writes comments with a workflow's GITHUB_TOKEN
BOT_ID = 41_898_282


def issue_comment_document(
    api_url: str, repository: Repository, comment: Comment
) -> dict[str, Any]:
    """issue-comment, as the list, create and update operations answer it."""
    api = f"{api_url}/repos/{repository.full_name}"
    html = f"https://github.com/{repository.full_name}"
    user_id = BOT_ID if comment.user_type == "Bot" else 7_000_000 + comment.id
    return {
        "id": comment.id,
        "node_id": node_id("IssueComment", comment.id),
        "url": f"{api}/issues/comments/{comment.id}",
        "html_url": f"{html}/pull/{comment.issue_number}#issuecomment-{comment.id}",
        "body": comment.body,
        "user": account_document(comment.user_login, user_id, comment.user_type),
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "issue_url": f"{api}/issues/{comment.issue_number}",
        "author_association": "NONE" if comment.user_type == "Bot" else "MEMBER",
    }


def pull_request_simple_document(
    api_url: str, repository: Repository, pull: PullRequest, head: Repository
) -> dict[str, Any]:
    """pull-request-simple, as GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls lists it."""
    api = f"{api_url}/repos/{repository.full_name}"
    html = f"https://github.com/{repository.full_name}/pull/{pull.number}"
    issue = f"{api}/issues/{pull.number}"
    links = {
        "self": f"{api}/pulls/{pull.number}",
        "html": html,
        "issue": issue,
        "comments": f"{issue}/comments",
        "review_comments": f"{api}/pulls/{pull.number}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "commits": f"{api}/pulls/{pull.number}/commits",
        "statuses": f"{api}/statuses/{pull.head_sha}",
    }
    author = account_document("octocat", 583_231, "User")
    merged = pull.merge_commit_sha is not None
    return {
        "url": links["self"],
        "id": pull.id,
        "node_id": node_id("PullRequest", pull.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue,
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": pull.number,
        "state": "closed" if merged else "open",
        "locked": False,
        "title": f"Pull request {pull.number}",
        "user": author,
        "body": None,
        "labels": [],
        "milestone": None,
        "created_at": pull.created_at,
        "updated_at": pull.updated_at,
        "closed_at": pull.updated_at if merged else None,
        "merged_at": pull.updated_at if merged else None,
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch(api_url, head, pull.head_ref, pull.head_sha),
        "base": _branch(api_url, repository, pull.base_ref, pull.head_sha),
        "_links": {name: {"href": href} for name, href in links.items()},
        "author_association": "MEMBER",
        "auto_merge": None,
        "draft": False,
    }


def pull_request_document(
    api_url: str, repository: Repository, pull: PullRequest, head: Repository
) -> dict[str, Any]:
    """pull-request, as GET /repos/{owner}/{repo}/pulls/{pull_number} answers it."""
    merged = pull.merge_commit_sha is not None
    return {
        **pull_request_simple_document(api_url, repository, pull, head),
        "merged": merged,
        "mergeable": None if merged else True,
        "rebaseable": None if merged else True,
        "mergeable_state": "unknown" if merged else "clean",
        "merged_by": account_document("octocat", 583_231, "User") if merged else None,
        "comments": sum(1 for c in repository.comments.values() if c.issue_number == pull.number),
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
    }


def _branch(api_url: str, repository: Repository, ref: str, sha: str) -> dict[str, Any]:
    owner = repository.full_name.split("/")[0]
    # The description's `repository` (not full-repository) also requires has_downloads.
    document = {**repository_document(api_url, repository), "has_downloads": True}
    return {
        "label": f"{owner}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": document["owner"],
        "repo": document,
    }
