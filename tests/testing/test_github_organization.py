"""The stand-in GitHub's organization Actions secrets and variables, through PyGithub where it
has the call and plain HTTP otherwise: the plaintext that arrives, visibility and selection, the
refusals (403, 404, 409, 422) and paging; answers are checked against GitHub's OpenAPI description
(the representative run of every route and status is in test_github_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from github import GithubException

from testing.github.openapi import load_openapi, pointer_of
from testing.github.server import GitHubServer
from tests.testing.test_github_server import call, pygithub, sealed, serving

ORG = "acme"
SERVICES = ("acme/toto-ms-a", "acme/toto-ms-b", "acme/toto-ms-c")
OTHER = "elsewhere/toto-ms-z"  # a repository of another owner
SECRETS = f"/orgs/{ORG}/actions/secrets"
VARIABLES = f"/orgs/{ORG}/actions/variables"


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with serving(*SERVICES, OTHER, organization=ORG) as running:
        yield running


def repository_id(server: GitHubServer, full_name: str) -> int:
    answer = call(server, "GET", f"/repos/{full_name}")
    assert answer.status == 200
    identifier: int = answer.body["id"]
    return identifier


def assert_documented(template: str, method: str, status: int, body: Any) -> None:
    """The answer validates against the operation's documented response schema."""
    pointer = pointer_of("paths", template, method, "responses", str(status))
    load_openapi().validate(body, pointer + pointer_of("content", "application/json", "schema"))


def test_pygithub_organization_secret_arrives_decrypted_with_its_selection(
    server: GitHubServer,
) -> None:
    github = pygithub(server, lazy=True)
    organization = github.get_organization(ORG)
    a, b, c = (github.get_repo(name) for name in SERVICES)
    organization.create_secret("dev_db_password", "s3cr3t", "selected", [b, a])
    assert server.organization_secrets(ORG) == {
        "DEV_DB_PASSWORD": ("s3cr3t", "selected", ["acme/toto-ms-a", "acme/toto-ms-b"])
    }
    secret = organization.get_secret("DEV_DB_PASSWORD")
    assert secret.visibility == "selected"
    assert sorted(r.full_name for r in secret.selected_repositories) == [SERVICES[0], SERVICES[1]]
    secret.add_repo(c)
    secret.remove_repo(a)
    assert server.organization_secrets(ORG)["DEV_DB_PASSWORD"][2] == [SERVICES[1], SERVICES[2]]
    # An update with the same visibility and no ids keeps the selection; a new value arrives.
    assert secret.edit("n3w", "selected")
    assert server.organization_secrets(ORG)["DEV_DB_PASSWORD"] == (
        "n3w",
        "selected",
        [SERVICES[1], SERVICES[2]],
    )
    assert secret.edit("all-of-them", "all")
    assert server.organization_secrets(ORG)["DEV_DB_PASSWORD"] == ("all-of-them", "all", [])
    organization.get_secret("DEV_DB_PASSWORD").delete()
    assert server.organization_secrets(ORG) == {}


def test_one_put_sets_the_value_and_the_selection(server: GitHubServer) -> None:
    ids = [repository_id(server, name) for name in SERVICES]
    key = call(server, "GET", f"{SECRETS}/public-key").body
    assert_documented("/orgs/{org}/actions/secrets/public-key", "get", 200, key)
    body = {**sealed(key, "v1"), "visibility": "selected", "selected_repository_ids": ids[:2]}
    assert call(server, "PUT", f"{SECRETS}/DEV_X", body).status == 201
    assert server.organization_secrets(ORG)["DEV_X"] == ("v1", "selected", list(SERVICES[:2]))
    # The selection endpoint replaces the whole set; the value stays.
    answer = call(
        server, "PUT", f"{SECRETS}/DEV_X/repositories", {"selected_repository_ids": ids[2:]}
    )
    assert answer.status == 204
    assert server.organization_secrets(ORG)["DEV_X"] == ("v1", "selected", [SERVICES[2]])
    listed = call(server, "GET", f"{SECRETS}/DEV_X/repositories")
    assert [r["full_name"] for r in listed.body["repositories"]] == [SERVICES[2]]
    template = "/orgs/{org}/actions/secrets/{secret_name}/repositories"
    assert_documented(template, "get", 200, listed.body)
    got = call(server, "GET", f"{SECRETS}/DEV_X").body
    assert got["visibility"] == "selected"
    assert got["selected_repositories_url"].endswith(f"{SECRETS}/DEV_X/repositories")
    assert_documented("/orgs/{org}/actions/secrets/{secret_name}", "get", 200, got)


def test_a_secret_sealed_with_a_repository_key_is_refused(server: GitHubServer) -> None:
    repository_key = call(server, "GET", f"/repos/{SERVICES[0]}/actions/secrets/public-key").body
    body = {**sealed(repository_key, "v"), "visibility": "all"}
    answer = call(server, "PUT", f"{SECRETS}/DEV_X", body)
    assert answer.status == 422
    assert "improperly encrypted" in answer.body["message"]
    assert server.organization_secrets(ORG) == {}


@pytest.mark.parametrize(
    ("visibility", "chosen"),
    [("all", SERVICES[0]), ("private", SERVICES[0]), ("selected", OTHER), ("selected", None)],
)
def test_a_bad_selection_is_refused_and_changes_nothing(
    server: GitHubServer, visibility: str, chosen: str | None
) -> None:
    """Ids with a visibility other than selected, a repository of another owner, an unknown id:
    422, and the secret and variable stay as they were."""
    ids = [repository_id(server, chosen) if chosen else 999_999]
    key = call(server, "GET", f"{SECRETS}/public-key").body
    first = {**sealed(key, "old"), "visibility": "selected", "selected_repository_ids": []}
    assert call(server, "PUT", f"{SECRETS}/DEV_X", first).status == 201
    bad = {"visibility": visibility, "selected_repository_ids": ids}
    assert call(server, "PUT", f"{SECRETS}/DEV_X", {**sealed(key, "new"), **bad}).status == 422
    assert server.organization_secrets(ORG) == {"DEV_X": ("old", "selected", [])}
    variable = {"name": "DEV_V", "value": "1", "visibility": "selected"}
    assert call(server, "POST", VARIABLES, variable).status == 201
    assert call(server, "PATCH", f"{VARIABLES}/DEV_V", {"value": "2", **bad}).status == 422
    assert call(server, "POST", VARIABLES, {"name": "DEV_W", "value": "1", **bad}).status == 422
    assert server.organization_variables(ORG) == {"DEV_V": ("1", "selected", [])}
    assert server.errors == []  # each body is one the description allows: GitHub refuses it


def test_pygithub_creates_lists_and_edits_organization_variables(server: GitHubServer) -> None:
    github = pygithub(server, lazy=True)
    organization = github.get_organization(ORG)
    a, b = github.get_repo(SERVICES[0]), github.get_repo(SERVICES[1])
    variable = organization.create_variable("dev_subnet", "subnet-1", "selected", [a, b])
    assert server.organization_variables(ORG) == {
        "DEV_SUBNET": ("subnet-1", "selected", [SERVICES[0], SERVICES[1]])
    }
    with pytest.raises(GithubException) as exists:
        organization.create_variable("DEV_SUBNET", "again", "all")
    assert exists.value.status == 409
    variable.remove_repo(a)
    assert server.organization_variables(ORG)["DEV_SUBNET"][2] == [SERVICES[1]]
    assert variable.edit("subnet-2", "selected")
    assert server.organization_variables(ORG)["DEV_SUBNET"] == (
        "subnet-2",
        "selected",
        [SERVICES[1]],
    )
    listed = organization.get_variables()
    assert [(v.name, v.value, v.visibility) for v in listed] == [
        ("DEV_SUBNET", "subnet-2", "selected")
    ]
    answer = call(server, "GET", f"{VARIABLES}/DEV_SUBNET")
    assert_documented("/orgs/{org}/actions/variables/{name}", "get", 200, answer.body)
    assert call(server, "DELETE", f"{VARIABLES}/DEV_SUBNET").status == 204
    assert call(server, "GET", f"{VARIABLES}/DEV_SUBNET").status == 404


def test_selection_routes_answer_409_unless_the_visibility_is_selected(
    server: GitHubServer,
) -> None:
    ids = [repository_id(server, SERVICES[0])]
    assert (
        call(server, "POST", VARIABLES, {"name": "V", "value": "1", "visibility": "all"}).status
        == 201
    )
    path = f"{VARIABLES}/V/repositories"
    assert call(server, "PUT", path, {"selected_repository_ids": ids}).status == 409
    assert call(server, "PUT", f"{path}/{ids[0]}").status == 409
    assert call(server, "GET", path).status == 409
    assert call(server, "PUT", f"{VARIABLES}/MISSING/repositories/{ids[0]}").status == 404
    assert server.organization_variables(ORG) == {"V": ("1", "all", [])}


def test_pygithub_follows_the_pages_of_organization_secrets_and_variables(
    server: GitHubServer,
) -> None:
    key = call(server, "GET", f"{SECRETS}/public-key").body
    for number in range(35):
        body = {**sealed(key, str(number)), "visibility": "private"}
        assert call(server, "PUT", f"{SECRETS}/S_{number:02}", body).status == 201
        variable = {"name": f"V_{number:02}", "value": str(number), "visibility": "all"}
        assert call(server, "POST", VARIABLES, variable).status == 201
    organization = pygithub(server, per_page=30, lazy=True).get_organization(ORG)
    assert [s.name for s in organization.get_secrets()] == [f"S_{n:02}" for n in range(35)]
    assert [v.name for v in organization.get_variables()] == [f"V_{n:02}" for n in range(35)]
    first = call(server, "GET", VARIABLES)  # ten to a page unless asked, as GitHub lists them
    assert first.body["total_count"] == 35
    assert len(first.body["variables"]) == 10
    assert 'rel="next"' in first.headers["Link"]
    assert_documented("/orgs/{org}/actions/variables", "get", 200, first.body)
    secrets_page = call(server, "GET", f"{SECRETS}?per_page=100")
    assert len(secrets_page.body["secrets"]) == 35
    assert_documented("/orgs/{org}/actions/secrets", "get", 200, secrets_page.body)


def test_fine_grained_tokens_need_the_organization_permissions(server: GitHubServer) -> None:
    server.add_token("reader", permissions={"organization_secrets": "read"})
    server.add_token(
        "repository-writer", permissions={"secrets": "write", "actions_variables": "write"}
    )
    server.add_token("variables", permissions={"organization_actions_variables": "write"})
    key = call(server, "GET", f"{SECRETS}/public-key", token="reader")
    assert key.status == 200
    body = {**sealed(key.body, "v"), "visibility": "all"}
    refused = call(server, "PUT", f"{SECRETS}/DEV_X", body, token="reader")
    assert refused.status == 403
    assert refused.headers["X-Accepted-GitHub-Permissions"] == "organization_secrets=write"
    assert call(server, "PUT", f"{SECRETS}/DEV_X", body, token="repository-writer").status == 403
    variable = {"name": "V", "value": "1", "visibility": "all"}
    assert call(server, "POST", VARIABLES, variable, token="repository-writer").status == 403
    assert call(server, "POST", VARIABLES, variable, token="variables").status == 201
    assert call(server, "GET", SECRETS, token="variables").status == 403
    assert server.organization_secrets(ORG) == {}
    assert server.organization_variables(ORG) == {"V": ("1", "all", [])}


def test_an_organization_the_token_cannot_see_answers_404(server: GitHubServer) -> None:
    server.add_token("elsewhere", repositories=[OTHER])
    server.add_token("installed", repositories=[SERVICES[0]])
    assert call(server, "GET", f"{SECRETS}/public-key", token="elsewhere").status == 404
    assert call(server, "GET", f"{SECRETS}/public-key", token="installed").status == 200
    assert call(server, "GET", "/orgs/nobody/actions/secrets").status == 404
    assert call(server, "GET", f"{SECRETS}/MISSING").status == 404
    assert call(server, "DELETE", f"{VARIABLES}/MISSING").status == 404


def test_seeded_organization_entries_are_served(server: GitHubServer) -> None:
    server.set_organization_entry(ORG, "secrets", "dev_old", "was-here", repositories=[SERVICES[1]])
    server.set_organization_entry(ORG, "variables", "DEV_OLD", "1", visibility="private")
    got = call(server, "GET", f"{SECRETS}/DEV_OLD")
    assert got.body["visibility"] == "selected"
    listed = call(server, "GET", f"{SECRETS}/DEV_OLD/repositories").body
    assert [r["full_name"] for r in listed["repositories"]] == [SERVICES[1]]
    assert call(server, "GET", f"{VARIABLES}/DEV_OLD").body["visibility"] == "private"
    assert server.organization_secrets(ORG) == {"DEV_OLD": ("was-here", "selected", [SERVICES[1]])}
    with pytest.raises(ValueError, match="visibility selected"):
        server.set_organization_entry(
            ORG, "variables", "X", "1", visibility="all", repositories=[OTHER]
        )


def test_the_plan_is_shown_only_to_a_token_with_the_organization_plan_permission(
    server: GitHubServer,
) -> None:
    """GitHub's OpenAPI description, GET /orgs/{org}: "To see information about an
    organization's GitHub plan, GitHub Apps need the `Organization plan` permission". GitHub's
    permission data files the endpoint under no permission: any token reads the rest."""
    server.set_plan(ORG, "free")
    server.add_token("with-plan", permissions={"organization_plan": "read"})
    server.add_token("without", permissions={"organization_secrets": "write"})
    shown = call(server, "GET", f"/orgs/{ORG}", token="with-plan")
    assert shown.status == 200
    assert_documented("/orgs/{org}", "get", 200, shown.body)
    assert shown.body["plan"]["name"] == "free"
    hidden = call(server, "GET", f"/orgs/{ORG}", token="without")
    assert hidden.status == 200
    assert_documented("/orgs/{org}", "get", 200, hidden.body)
    assert "plan" not in hidden.body
    assert hidden.body["login"] == ORG
    assert call(server, "GET", f"/orgs/{ORG}").body["plan"]["name"] == "free"  # classic token
    assert call(server, "GET", "/orgs/nobody").status == 404


def test_a_repository_is_private_until_made_public(server: GitHubServer) -> None:
    assert call(server, "GET", f"/repos/{SERVICES[0]}").body["visibility"] == "private"
    server.set_visibility(SERVICES[0], "public")
    public = call(server, "GET", f"/repos/{SERVICES[0]}").body
    assert (public["visibility"], public["private"]) == ("public", False)
    server.set_visibility(SERVICES[1], "internal")
    internal = call(server, "GET", f"/repos/{SERVICES[1]}").body
    assert (internal["visibility"], internal["private"]) == ("internal", True)


def test_a_repository_lists_the_organization_entries_shared_with_it(server: GitHubServer) -> None:
    """GET /repos/{owner}/{repo}/actions/organization-secrets (and -variables): the entries of
    visibility all, private (the private and internal repositories) and those selecting it;
    names and timestamps, a variable's value, never a secret's; Secrets (Variables): read."""
    server.set_visibility(SERVICES[2], "public")
    server.set_organization_entry(ORG, "secrets", "EVERYONE", "v", visibility="all")
    server.set_organization_entry(ORG, "secrets", "PRIVATE_ONES", "v", visibility="private")
    server.set_organization_entry(ORG, "secrets", "ONLY_A", "v", repositories=[SERVICES[0]])
    server.set_organization_entry(ORG, "variables", "ONLY_B", "1", repositories=[SERVICES[1]])
    template = "/repos/{owner}/{repo}/actions/organization-{kind}"
    shared = {}
    for repository in SERVICES:
        for kind in ("secrets", "variables"):
            answer = call(server, "GET", f"/repos/{repository}/actions/organization-{kind}")
            assert answer.status == 200
            assert_documented(
                template.format(owner="{owner}", repo="{repo}", kind=kind), "get", 200, answer.body
            )
            shared[repository, kind] = [entry["name"] for entry in answer.body[kind]]
    assert shared == {
        (SERVICES[0], "secrets"): ["EVERYONE", "ONLY_A", "PRIVATE_ONES"],
        (SERVICES[0], "variables"): [],
        (SERVICES[1], "secrets"): ["EVERYONE", "PRIVATE_ONES"],
        (SERVICES[1], "variables"): ["ONLY_B"],
        (SERVICES[2], "secrets"): ["EVERYONE"],
        (SERVICES[2], "variables"): [],
    }
    listed = call(server, "GET", f"/repos/{SERVICES[1]}/actions/organization-variables").body
    assert listed["variables"][0]["value"] == "1"
    secrets = call(server, "GET", f"/repos/{SERVICES[0]}/actions/organization-secrets").body
    assert all(set(entry) == {"name", "created_at", "updated_at"} for entry in secrets["secrets"])
    # A repository of no organization is given none.
    assert call(server, "GET", f"/repos/{OTHER}/actions/organization-secrets").body == {
        "total_count": 0,
        "secrets": [],
    }
    server.add_token("reader", permissions={"secrets": "read"})
    path = f"/repos/{SERVICES[0]}/actions/organization-"
    assert call(server, "GET", path + "secrets", token="reader").status == 200
    refused = call(server, "GET", path + "variables", token="reader")
    assert refused.status == 403
    assert refused.headers["X-Accepted-GitHub-Permissions"] == "actions_variables=read"
