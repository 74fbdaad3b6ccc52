"""The JSON documents the stand-in GitHub answers with, shaped as GitHub's OpenAPI description
shows them (basic-error, repository, environment, simple-user, team...)."""

from __future__ import annotations

import base64
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from testing.github.state import Entry, Environment, Repository
from testing.http_stand_in import Answer, Reply

DOCUMENTATION_URL = "https://docs.github.com/rest"


def error(status: int, message: str | None = None) -> Answer:
    """GitHub's error document (basic-error, which validation-error extends)."""
    return Answer(
        Reply(
            status,
            {
                "message": message or HTTPStatus(status).phrase,
                "documentation_url": DOCUMENTATION_URL,
                "status": str(status),
            },
        )
    )


def entry_document(name: str, entry: Entry, with_value: bool) -> dict[str, Any]:
    document: dict[str, Any] = {"name": name}
    if with_value:  # variables show their value; secrets never do
        document["value"] = entry.value
    document.update(created_at=entry.created_at, updated_at=entry.updated_at)
    return document


def account_document(login: str, account_id: int, kind: str) -> dict[str, Any]:
    """simple-user: a user or organization."""
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": account_id,
        "node_id": node_id(kind, account_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{account_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def _team_document(organization: str, team_id: int) -> dict[str, Any]:
    slug = f"team-{team_id}"
    url = f"https://api.github.com/organizations/{organization}/team/{team_id}"
    return {
        "id": team_id,
        "node_id": node_id("Team", team_id),
        "url": url,
        "html_url": f"https://github.com/orgs/{organization}/teams/{slug}",
        "name": slug,
        "slug": slug,
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{url}/members{{/member}}",
        "repositories_url": f"{url}/repos",
        "parent": None,
        "type": "organization",
    }


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode()


def repository_document(api_url: str, repository: Repository) -> dict[str, Any]:
    """full-repository, as GET /repos/{owner}/{repo} answers it."""
    owner, name = repository.full_name.split("/")
    api = f"{api_url}/repos/{repository.full_name}"
    html = f"https://github.com/{repository.full_name}"
    document: dict[str, Any] = {
        "id": repository.id,
        "node_id": node_id("Repository", repository.id),
        "name": name,
        "full_name": repository.full_name,
        "owner": account_document(owner, repository.id + 1_000_000, "Organization"),
        "private": repository.visibility != "public",
        "visibility": repository.visibility,
        "html_url": html,
        "description": None,
        "fork": False,
        "url": api,
        "homepage": None,
        "language": None,
        "mirror_url": None,
        "license": None,
        "default_branch": "main",
        "archived": False,
        "disabled": False,
        "clone_url": f"{html}.git",
        "git_url": f"git://github.com/{repository.full_name}.git",
        "ssh_url": f"git@github.com:{repository.full_name}.git",
        "svn_url": html,
        "created_at": repository.created_at,
        "updated_at": repository.created_at,
        "pushed_at": repository.created_at,
        "permissions": {
            "admin": True,
            "maintain": True,
            "push": True,
            "triage": True,
            "pull": True,
        },
    }
    document.update({key: f"{api}/{suffix}" for key, suffix in _REPOSITORY_URLS.items()})
    document.update(dict.fromkeys(_REPOSITORY_COUNTS, 0))
    document.update(_REPOSITORY_FEATURES)
    return document


_REPOSITORY_URLS = {
    "archive_url": "{archive_format}{/ref}",
    "assignees_url": "assignees{/user}",
    "blobs_url": "git/blobs{/sha}",
    "branches_url": "branches{/branch}",
    "collaborators_url": "collaborators{/collaborator}",
    "comments_url": "comments{/number}",
    "commits_url": "commits{/sha}",
    "compare_url": "compare/{base}...{head}",
    "contents_url": "contents/{+path}",
    "contributors_url": "contributors",
    "deployments_url": "deployments",
    "downloads_url": "downloads",
    "events_url": "events",
    "forks_url": "forks",
    "git_commits_url": "git/commits{/sha}",
    "git_refs_url": "git/refs{/sha}",
    "git_tags_url": "git/tags{/sha}",
    "hooks_url": "hooks",
    "issue_comment_url": "issues/comments{/number}",
    "issue_events_url": "issues/events{/number}",
    "issues_url": "issues{/number}",
    "keys_url": "keys{/key_id}",
    "labels_url": "labels{/name}",
    "languages_url": "languages",
    "merges_url": "merges",
    "milestones_url": "milestones{/number}",
    "notifications_url": "notifications{?since,all,participating}",
    "pulls_url": "pulls{/number}",
    "releases_url": "releases{/id}",
    "stargazers_url": "stargazers",
    "statuses_url": "statuses/{sha}",
    "subscribers_url": "subscribers",
    "subscription_url": "subscription",
    "tags_url": "tags",
    "teams_url": "teams",
    "trees_url": "git/trees{/sha}",
}
_REPOSITORY_COUNTS = (
    "forks",
    "forks_count",
    "open_issues",
    "open_issues_count",
    "size",
    "stargazers_count",
    "watchers",
    "watchers_count",
    "network_count",
    "subscribers_count",
)
_REPOSITORY_FEATURES = {
    "has_issues": True,
    "has_projects": False,
    "has_wiki": False,
    "has_pages": False,
    "has_discussions": False,
}


def environment_document(
    api_url: str, repository: Repository, environment: Environment
) -> dict[str, Any]:
    """environment, as GET and PUT /repos/{owner}/{repo}/environments/{name} answer it."""
    quoted = quote(environment.name, safe="")
    return {
        "id": environment.id,
        "node_id": node_id("Environment", environment.id),
        "name": environment.name,
        "url": f"{api_url}/repos/{repository.full_name}/environments/{quoted}",
        "html_url": (
            f"https://github.com/{repository.full_name}/deployments/activity_log"
            f"?environments_filter={quoted}"
        ),
        "created_at": environment.created_at,
        "updated_at": environment.updated_at,
        "protection_rules": _protection_rules(repository, environment),
        "deployment_branch_policy": environment.protection["deployment_branch_policy"],
    }


def _protection_rules(repository: Repository, environment: Environment) -> list[dict[str, Any]]:
    """The rules GitHub lists for an environment's protection (only those that are set)."""
    protection = environment.protection
    rule_id = environment.id * 10
    rules: list[dict[str, Any]] = []
    if protection["wait_timer"]:
        rules.append(
            {
                "id": rule_id + 1,
                "node_id": node_id("Gate", rule_id + 1),
                "type": "wait_timer",
                "wait_timer": protection["wait_timer"],
            }
        )
    if protection["reviewers"]:
        organization = repository.full_name.split("/")[0]
        rules.append(
            {
                "id": rule_id + 2,
                "node_id": node_id("Gate", rule_id + 2),
                "prevent_self_review": protection["prevent_self_review"],
                "type": "required_reviewers",
                "reviewers": [
                    {
                        "type": reviewer["type"],
                        "reviewer": account_document(
                            f"user-{reviewer['id']}", reviewer["id"], "User"
                        )
                        if reviewer["type"] == "User"
                        else _team_document(organization, reviewer["id"]),
                    }
                    for reviewer in protection["reviewers"]
                ],
            }
        )
    if protection["deployment_branch_policy"] is not None:
        rules.append(
            {"id": rule_id + 3, "node_id": node_id("Gate", rule_id + 3), "type": "branch_policy"}
        )
    return rules


# The organization plans GitHub names in `plan.name`, with the private repositories each counts
# (the description's `plan` requires name, space and private_repos).
PLANS = ("free", "team", "business", "enterprise")


def organization_document(
    api_url: str, login: str, organization_id: int, created_at: str, plan: str | None
) -> dict[str, Any]:
    """organization-full, as GET /orgs/{org} answers it; `plan` only when given (GitHub's
    description: "To see information about an organization's GitHub plan, GitHub Apps need the
    `Organization plan` permission")."""
    api = f"{api_url}/orgs/{login}"
    document: dict[str, Any] = {
        "login": login,
        "id": organization_id,
        "node_id": node_id("Organization", organization_id),
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{organization_id}?v=4",
        "description": None,
        "html_url": f"https://github.com/{login}",
        "has_organization_projects": True,
        "has_repository_projects": True,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "type": "Organization",
        "created_at": created_at,
        "updated_at": created_at,
        "archived_at": None,
    }
    if plan is not None:
        document["plan"] = {"name": plan, "space": 976562499, "private_repos": 10000}
    return document
