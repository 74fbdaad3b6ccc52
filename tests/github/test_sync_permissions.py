"""The permissions the sync's token asks for, pinned against GitHub's own permission data."""

from __future__ import annotations

import json

import pytest

from testing.github import permissions as github_permissions
from testing.github.openapi import load_openapi
from toto_actions.github.sync_permissions import (
    ALL_ENDPOINTS,
    ORGANIZATION_PERMISSIONS,
    READ_ORGANIZATION,
    TITLES,
    Endpoint,
    describe,
    sync_endpoints,
    token_permissions,
)


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS, ids=lambda e: f"{e.method} {e.template}")
def test_each_endpoint_needs_what_githubs_data_says(endpoint: Endpoint) -> None:
    expected = github_permissions.required(endpoint.method, endpoint.template)
    assert {github_permissions.Requirement(*p) for p in endpoint.permissions} == expected


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS, ids=lambda e: f"{e.method} {e.template}")
def test_each_endpoint_is_an_operation_of_the_description(endpoint: Endpoint) -> None:
    assert load_openapi().has_operation(endpoint.method, endpoint.template)


def test_every_key_is_one_github_knows() -> None:
    every = token_permissions("environment", create_environments=True, dispatch=True)
    assert set(every) <= github_permissions.known_permissions()
    assert "variables" not in every  # GitHub's key is actions_variables


@pytest.mark.parametrize(
    ("scope", "create_environments", "dispatch", "expected"),
    [
        (
            "environment",
            False,
            False,
            {
                "actions": "read",
                "actions_variables": "write",
                "environments": "write",
                "metadata": "read",
                "secrets": "write",
            },
        ),
        (
            "environment",
            True,
            True,
            {
                "actions": "read",
                "actions_variables": "write",
                "administration": "write",
                "contents": "write",
                "environments": "write",
                "metadata": "read",
                "secrets": "write",
            },
        ),
        (
            "repository",
            True,  # no environment to create in repository scope
            False,
            {"actions_variables": "write", "metadata": "read", "secrets": "write"},
        ),
        (
            "organization",
            False,
            False,
            {
                "actions_variables": "read",
                "metadata": "read",
                "organization_actions_variables": "write",
                "organization_plan": "read",
                "organization_secrets": "write",
            },
        ),
        (
            "organization",
            True,  # nor in organization scope
            True,
            {
                "actions_variables": "read",
                "contents": "write",
                "metadata": "read",
                "organization_actions_variables": "write",
                "organization_plan": "read",
                "organization_secrets": "write",
            },
        ),
    ],
)
def test_the_token_asks_for_exactly_what_its_calls_need(
    scope: str, create_environments: bool, dispatch: bool, expected: dict[str, str]
) -> None:
    assert (
        token_permissions(scope, create_environments=create_environments, dispatch=dispatch)
        == expected
    )


def _vendored_data() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        github_permissions.VENDORED.read_text(encoding="utf-8")
    )["permissions"]
    return data


def test_titles_are_githubs() -> None:
    data = _vendored_data()
    listed = {key: title for key, title in TITLES.items() if key in data}
    assert {key: data[key]["title"] for key in listed} == listed
    # The one the endpoint data cannot list (it gates a field of GET /orgs/{org}, no endpoint):
    # "Plan" under Organization permissions, the description's "Organization plan" permission.
    assert set(TITLES) - set(listed) == github_permissions.FIELD_PERMISSIONS
    assert TITLES["organization_plan"] == "Plan"


def test_the_organization_permissions_are_those_github_lists_as_such() -> None:
    data = _vendored_data()
    listed = {
        key
        for key in TITLES
        if key in data and data[key]["displayTitle"].startswith("Organization permissions for ")
    }
    assert listed | github_permissions.FIELD_PERMISSIONS == ORGANIZATION_PERMISSIONS


def test_the_plan_is_asked_for_though_no_call_needs_it() -> None:
    """GitHub's OpenAPI description, GET /orgs/{org}: the plan is shown to a GitHub App only
    with the Organization plan permission; the call itself needs none."""
    assert READ_ORGANIZATION.permissions == ()
    assert READ_ORGANIZATION.shows == (("organization_plan", "read"),)
    assert "GitHub Apps need the `Organization plan` permission" in load_openapi().operation(
        "GET", "/orgs/{org}"
    ).get("description", "")
    assert github_permissions.required("GET", "/orgs/{org}") == frozenset()


def test_an_organization_permission_is_told_from_the_repository_one() -> None:
    permissions = token_permissions("organization", create_environments=False, dispatch=True)
    assert describe(permissions) == (
        "Variables: read, Contents: write, Metadata: read, Organization variables: write, "
        "Organization plan: read, Organization secrets: write"
    )


def test_an_organization_sync_writes_no_repository_or_environment_endpoint() -> None:
    endpoints = sync_endpoints("organization", create_environments=True, dispatch=False)
    templates = [endpoint.template for endpoint in endpoints]
    assert templates[0] == "/repos/{owner}/{repo}"  # each repository's id and visibility
    assert templates[1] == "/orgs/{org}"  # the organization's plan
    # Each repository's own variables, read only: they count towards a run's variables.
    assert (endpoints[2].method, templates[2]) == ("GET", "/repos/{owner}/{repo}/actions/variables")
    assert all(template.startswith("/orgs/{org}/actions/") for template in templates[3:])
    assert len(templates) == 15
