"""The GitHub stand-in (testing/github/), over real sockets.

1. Conformance with GitHub's OpenAPI description (npm @octokit/openapi, installed by
   scripts/test): every route is an operation of the description, every status a route can
   answer is documented (or is one GitHub answers without documenting it, listed below with why),
   and the JSON of a representative call of every route and status validates against the
   documented schema.
2. PyGithub against it: secrets arrive decrypted, pagination is followed, variables and
   dispatches land.
3. Faults, latency, visibility and credentials behave as told.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import parse_qs

import jsonschema
import jwt
import pytest
from github import Auth, Github, GithubException
from github.GithubException import RateLimitExceededException
from nacl.public import PrivateKey, PublicKey, SealedBox

from testing.github.openapi import OpenApi, load_openapi, pointer_of
from testing.github.server import (
    COMMON_STATUSES,
    SECONDARY_RATE_LIMIT_MESSAGE,
    GitHubServer,
    RouteSpec,
)

TOKEN = "ghs_stand-in-token"
REPOSITORY = "acme/toto-ms-x"
REPOSITORY_PATH = f"/repos/{REPOSITORY}"

# Error statuses GitHub answers on these operations that its description leaves out: it documents
# only the success responses of every secrets and variables operation, and no 404 on
# GET .../environments/{environment_name}. Each is what GitHub is known to answer; 2xx statuses
# never appear here, so a success code is always checked against the description.
UNDOCUMENTED_BUT_ANSWERED_BY_GITHUB = {
    400: "a body that is not JSON: 'Problems parsing JSON', on every route",
    401: "'Bad credentials', on every route (the description lists 401 on few operations)",
    403: "a fine-grained or app token without a permission the operation needs: 'Resource not "
    "accessible by integration', naming the permissions in X-Accepted-GitHub-Permissions",
    404: "a repository the token cannot see, or a missing environment, secret or variable",
    409: "creating a variable that exists: 'Already exists - Variable already exists' "
    "(gh variable set switches to an update on it)",
    422: "a secret not sealed with the target's current key: 'Bad request - validation failed "
    "due to an improperly encrypted secret'; a body the description does not allow: 'Invalid "
    "request'",
}
# Injected faults (5xx, and 403/429 as the secondary rate limit) are left out of the status check:
# they are GitHub failing, which no operation documents.


# -- a plain HTTP client ------------------------------------------------------------------------


class Answer(NamedTuple):
    status: int
    headers: http.client.HTTPMessage
    body: Any
    raw: bytes


class RawClient:
    """One keep-alive connection to the server; requests go out exactly as written here."""

    def __init__(self, server: GitHubServer, token: str | None = TOKEN) -> None:
        self._connection = http.client.HTTPConnection(
            server.url.removeprefix("http://"), timeout=10
        )
        self._token = token

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> Answer:
        headers = {"Authorization": f"token {self._token}"} if self._token else {}
        payload = raw if raw is not None else None if body is None else json.dumps(body).encode()
        if payload is not None:
            headers["Content-Type"] = "application/json"
        self._connection.request(method, path, body=payload, headers=headers)
        response = self._connection.getresponse()
        data = response.read()
        return Answer(response.status, response.headers, json.loads(data) if data else None, data)

    def close(self) -> None:
        self._connection.close()


def call(
    server: GitHubServer, method: str, path: str, body: Any = None, token: str | None = TOKEN
) -> Answer:
    client = RawClient(server, token)
    try:
        return client.call(method, path, body)
    finally:
        client.close()


def sealed(public_key: dict[str, str], plaintext: str) -> dict[str, str]:
    """The PUT body of a secret, sealed as GitHub asks: libsodium sealed box, base64."""
    box = SealedBox(PublicKey(base64.b64decode(public_key["key"])))
    encrypted = base64.b64encode(box.encrypt(plaintext.encode())).decode()
    return {"encrypted_value": encrypted, "key_id": public_key["key_id"]}


@contextmanager
def serving(*repositories: str, organization: str | None = None) -> Iterator[GitHubServer]:
    """A running stand-in holding the repositories (added after their organization, if one)
    and TOKEN, a classic token that may do anything on them."""
    with GitHubServer() as running:
        if organization is not None:
            running.add_organization(organization)
        for repository in repositories:
            running.add_repository(repository)
        running.add_token(TOKEN)
        yield running


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with serving(REPOSITORY) as running:
        yield running


def pygithub(
    server: GitHubServer, token: str = TOKEN, per_page: int = 30, *, lazy: bool = False
) -> Github:
    """PyGithub as the sync configures it: no retries or pacing of its own. lazy, as the toolkit
    makes it (toto_actions/github/api.py): an organization or a repository is an address, and
    only the calls on it reach the server."""
    return Github(
        base_url=server.url,
        auth=Auth.Token(token),
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        per_page=per_page,
        timeout=10,
        lazy=lazy,
    )


# -- 1. conformance with the OpenAPI description ------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """A call of the representative run and what the server answered."""

    method: str
    route: str | None
    request_body: Any
    status: int
    body: Any
    raw: bytes


@pytest.fixture(scope="module")
def openapi() -> OpenApi:
    return load_openapi()


def _responses(openapi: OpenApi, spec: RouteSpec) -> dict[str, Any]:
    responses: dict[str, Any] = openapi.operation(spec.method, spec.template)["responses"]
    return responses


def _response_schema(openapi: OpenApi, spec: RouteSpec, status: int) -> str | None:
    """The pointer of the documented JSON schema of that response; None if it has no body."""
    pointer = pointer_of("paths", spec.template, spec.method.lower(), "responses", str(status))
    response = _responses(openapi, spec)[str(status)]
    if "$ref" in response:  # a shared response of #/components/responses
        pointer = response["$ref"].removeprefix("#")
        response = openapi.document["components"]["responses"][pointer.rsplit("/", 1)[1]]
    if "application/json" not in response.get("content", {}):
        return None
    return pointer + pointer_of("content", "application/json", "schema")


class RepresentativeRun:
    """Calls the server, checks that each call got the status it expects, keeps the exchanges."""

    def __init__(self, server: GitHubServer) -> None:
        self.server = server
        self.exchanges: list[Exchange] = []
        self._client = RawClient(server)

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: int,
        token: str = TOKEN,
        raw: bytes | None = None,
    ) -> Answer:
        client = self._client if token == TOKEN else RawClient(self.server, token)
        try:
            answer = client.call(method, path, body, raw=raw)
        finally:
            if client is not self._client:
                client.close()
        assert answer.status == expect, (method, path, answer.status, answer.body)
        route = self.server.requests[-1].route
        self.exchanges.append(Exchange(method, route, body, answer.status, answer.body, answer.raw))
        return answer

    def close(self) -> None:
        self._client.close()


@pytest.fixture(scope="module")
def exchanges() -> Iterator[list[Exchange]]:
    """A representative call of every route, for each status it can answer."""
    with serving(REPOSITORY) as server:
        run = RepresentativeRun(server)
        _drive_repository_routes(run)
        _drive_environment_routes(run)
        for scope, environment in [
            (f"{REPOSITORY_PATH}/actions", None),
            (f"{REPOSITORY_PATH}/environments/qa%20east", "qa east"),
        ]:
            if environment:
                server.add_environment(REPOSITORY, environment)
            server.set_variable(REPOSITORY, "OTHER", "x", environment)  # for a rename to meet
            _drive_secret_routes(run, scope)
            _drive_variable_routes(run, scope)
        _drive_app_routes(run)
        _drive_pull_request_routes(run)
        _drive_workflow_run_routes(run)
        _drive_deployment_routes(run)
        _drive_branch_routes(run)
        _drive_organization_routes(run)
        run.close()
        # What the run sent on purpose against the description, and nothing else.
        assert len(server.errors) == len(DELIBERATE_VIOLATIONS), server.errors
        for error, expected in zip(server.errors, DELIBERATE_VIOLATIONS, strict=True):
            assert expected in error
        yield run.exchanges


DELIBERATE_VIOLATIONS = (
    "POST /repos/{owner}/{repo}/dispatches: the body breaks the description: $: 'event_type'",
    "a body that is not JSON",
    *[
        f"{method} /repos/{{owner}}/{{repo}}{scope}/variables{suffix}: the body breaks the "
        f"description: {problem}"
        for scope in ("/actions", "/environments/{environment_name}")
        for method, suffix, problem in [
            ("POST", "", "$: 'value' is a required property"),
            ("PATCH", "/{name}", "$.value: 2 is not of type 'string'"),
        ]
    ],
)
APP_ID = 4242


def app_jwt(private_key: str, app_id: int = APP_ID, lifetime: int = 540) -> str:
    """The JWT an app signs to call GitHub as itself, as GitHub's documentation makes it."""
    now = int(time.time())
    return jwt.encode(
        {"iat": now - 60, "exp": now + lifetime, "iss": str(app_id)}, private_key, "RS256"
    )


def _drive_app_routes(run: RepresentativeRun) -> None:
    key = run.server.add_app(APP_ID, [REPOSITORY], {"secrets": "write", "actions": "read"})
    signed = app_jwt(key)
    installation = run.send("GET", f"{REPOSITORY_PATH}/installation", expect=200, token=signed)
    run.send("GET", "/repos/acme/elsewhere/installation", expect=404, token=signed)
    tokens = f"/app/installations/{installation.body['id']}/access_tokens"
    asked = {"repositories": ["toto-ms-x"], "permissions": {"secrets": "write"}}
    made = run.send("POST", tokens, asked, expect=201, token=signed).body
    run.send("POST", tokens, {"permissions": {"contents": "write"}}, expect=422, token=signed)
    run.send("POST", "/app/installations/1/access_tokens", expect=404, token=signed)
    run.send("GET", f"{REPOSITORY_PATH}/installation", expect=401, token=app_jwt(key, 1))
    # The token made above may write secrets, not variables.
    run.send("GET", f"{REPOSITORY_PATH}/actions/variables", expect=403, token=made["token"])


def _drive_pull_request_routes(run: RepresentativeRun) -> None:
    """A pull request from a fork and one merged, their commits, and comments on one."""
    run.server.add_pull_request(REPOSITORY, 7, "a" * 40, head_repo_full_name="someone/toto-ms-x")
    run.server.add_pull_request(REPOSITORY, 8, "b" * 40, merge_commit_sha="c" * 40)
    run.send("GET", f"{REPOSITORY_PATH}/pulls/7", expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/pulls/8", expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/pulls/9", expect=404)
    run.send("GET", f"{REPOSITORY_PATH}/commits/{'c' * 40}/pulls", expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/commits/{'d' * 40}/pulls", expect=200)
    comments = f"{REPOSITORY_PATH}/issues/7/comments"
    created = run.send("POST", comments, {"body": "plan"}, expect=201).body
    run.send("POST", comments, {"body": "x" * 65_537}, expect=422)
    run.send("POST", f"{REPOSITORY_PATH}/issues/9/comments", {"body": "plan"}, expect=404)
    run.send("GET", comments, expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/issues/9/comments", expect=404)
    edited = f"{REPOSITORY_PATH}/issues/comments/{created['id']}"
    run.send("PATCH", edited, {"body": "plan, again"}, expect=200)
    run.send("PATCH", edited, {"body": "x" * 65_537}, expect=422)
    run.send("PATCH", f"{REPOSITORY_PATH}/issues/comments/1", {"body": "plan"}, expect=404)


def _drive_workflow_run_routes(run: RepresentativeRun) -> None:
    """A pull request's plan run (its pull request open: listed) and a run that is unknown."""
    run.server.add_pull_request(REPOSITORY, 10, "9" * 40, head_ref="feature")
    run.server.add_workflow_run(REPOSITORY, 4242, "9" * 40)
    found = run.send("GET", f"{REPOSITORY_PATH}/actions/runs/4242", expect=200).body
    assert [p["number"] for p in found["pull_requests"]] == [10]
    run.send("GET", f"{REPOSITORY_PATH}/actions/runs/4343", expect=404)


def _drive_deployment_routes(run: RepresentativeRun) -> None:
    """A deployment that succeeded, one that failed; the list filtered, and their statuses; one
    created through the API with a success status (the one before it then inactive)."""
    deployed = run.server.add_deployment(REPOSITORY, "dev", "e" * 40, ["in_progress", "success"])
    run.server.add_deployment(REPOSITORY, "prod", "f" * 40, ["queued", "failure"])
    run.send("GET", f"{REPOSITORY_PATH}/deployments", expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/deployments?environment=dev&per_page=1", expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/deployments/{deployed}/statuses", expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/deployments/1/statuses", expect=404)
    deployments = f"{REPOSITORY_PATH}/deployments"
    made = run.send(
        "POST",
        deployments,
        {"ref": "e" * 40, "environment": "dev", "auto_merge": False, "required_contexts": []},
        expect=201,
    ).body
    run.send("POST", deployments, {"ref": "main", "environment": "dev"}, expect=422)
    success = {"state": "success", "log_url": "https://github.com/acme/toto-ms-x/actions/runs/7"}
    run.send("POST", f"{deployments}/{made['id']}/statuses", success, expect=201)
    run.send("POST", f"{deployments}/1/statuses", success, expect=404)
    states = [s.state for s in run.server.deployments(REPOSITORY)[0].statuses]
    assert states == ["in_progress", "success", "inactive"]


def _drive_branch_routes(run: RepresentativeRun) -> None:
    """Branches, comparisons (multi-segment branch names too) and a workflow dispatch."""
    run.server.add_branch(REPOSITORY, "main", ["1" * 40, "2" * 40])
    run.server.add_branch(REPOSITORY, "release/2.0", ["3" * 40], base="1" * 40)
    run.send("GET", f"{REPOSITORY_PATH}/branches?per_page=1", expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/compare/release/2.0...{'1' * 40}", expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/compare/main...release/2.0?per_page=1", expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/compare/main...{'4' * 40}", expect=404)
    dispatches = f"{REPOSITORY_PATH}/actions/workflows/toto-microservice.yml/dispatches"
    inputs = {"ref": "release/2.0", "inputs": {"redeploy": "true"}}
    run.send("POST", dispatches, inputs, expect=204)
    run.send("POST", dispatches, {**inputs, "ref": "missing"}, expect=422)
    assert run.server.workflow_dispatches(REPOSITORY) == [
        {"workflow_id": "toto-microservice.yml", **inputs}
    ]


def _drive_repository_routes(run: RepresentativeRun) -> None:
    run.send("GET", REPOSITORY_PATH, expect=200)
    run.send("GET", "/repos/acme/unknown", expect=404)
    run.send("GET", REPOSITORY_PATH, expect=401, token="not-a-token")
    dispatch = {"event_type": "toto-core-updated", "client_payload": {"environment": "dev"}}
    run.send("POST", f"{REPOSITORY_PATH}/dispatches", dispatch, expect=204)
    run.send("POST", f"{REPOSITORY_PATH}/dispatches", {"client_payload": {}}, expect=422)
    run.send("POST", f"{REPOSITORY_PATH}/dispatches", expect=400, raw=b"{not json")


def _drive_environment_routes(run: RepresentativeRun) -> None:
    prod = f"{REPOSITORY_PATH}/environments/prod"
    protection = {
        "wait_timer": 30,
        "prevent_self_review": True,
        "reviewers": [{"type": "User", "id": 7}, {"type": "Team", "id": 8}],
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }
    run.send("PUT", prod, protection, expect=200)
    both = {"protected_branches": True, "custom_branch_policies": True}
    run.send("PUT", prod, {"deployment_branch_policy": both}, expect=422)
    run.send("GET", prod, expect=200)
    run.send("GET", f"{REPOSITORY_PATH}/environments/missing", expect=404)
    run.send("GET", f"{REPOSITORY_PATH}/environments", expect=200)


def _drive_secret_routes(run: RepresentativeRun, scope: str) -> None:
    secret = f"{scope}/secrets/NEW_SECRET"
    public_key = run.send("GET", f"{scope}/secrets/public-key", expect=200).body
    run.send("PUT", secret, sealed(public_key, "first"), expect=201)
    run.send("PUT", secret, sealed(public_key, "second"), expect=204)
    run.send("PUT", secret, sealed({**public_key, "key_id": "1"}, "third"), expect=422)
    run.send("GET", f"{scope}/secrets", expect=200)
    run.send("GET", secret, expect=200)
    run.send("DELETE", secret, expect=204)
    run.send("GET", secret, expect=404)
    run.send("DELETE", secret, expect=404)


def _drive_variable_routes(run: RepresentativeRun, scope: str) -> None:
    variable = f"{scope}/variables/NEW_VARIABLE"
    run.send("POST", f"{scope}/variables", {"name": "NEW_VARIABLE", "value": "1"}, expect=201)
    run.send("POST", f"{scope}/variables", {"name": "NEW_VARIABLE", "value": "1"}, expect=409)
    run.send("POST", f"{scope}/variables", {"name": "NO_VALUE"}, expect=422)
    run.send("GET", f"{scope}/variables", expect=200)
    run.send("GET", variable, expect=200)
    run.send("GET", f"{scope}/variables/MISSING", expect=404)
    run.send("PATCH", variable, {"name": "NEW_VARIABLE", "value": "2"}, expect=204)
    run.send("PATCH", variable, {"name": "OTHER"}, expect=409)
    run.send("PATCH", variable, {"value": 2}, expect=422)
    run.send("PATCH", f"{scope}/variables/MISSING", {"value": "2"}, expect=404)
    run.send("DELETE", variable, expect=204)
    run.send("DELETE", variable, expect=404)


def _drive_organization_routes(run: RepresentativeRun) -> None:
    run.server.add_organization("acme")
    run.send("GET", "/orgs/acme", expect=200)
    run.send("GET", "/orgs/nobody", expect=404)
    repository_id = run.send("GET", REPOSITORY_PATH, expect=200).body["id"]
    one = {"visibility": "selected", "selected_repository_ids": [repository_id]}
    scope = "/orgs/acme/actions"
    key = run.send("GET", f"{scope}/secrets/public-key", expect=200).body
    run.send("PUT", f"{scope}/secrets/NEW", {**sealed(key, "1"), **one}, expect=201)
    run.send("PUT", f"{scope}/secrets/NEW", {**sealed(key, "2"), **one}, expect=204)
    run.send(
        "PUT", f"{scope}/secrets/NEW", {**sealed({**key, "key_id": "1"}, "3"), **one}, expect=422
    )
    run.send("PUT", f"{scope}/secrets/ALL", {**sealed(key, "a"), "visibility": "all"}, expect=201)
    run.send("GET", f"{scope}/secrets", expect=200)
    run.send("POST", f"{scope}/variables", {"name": "NEW", "value": "1", **one}, expect=201)
    run.send("POST", f"{scope}/variables", {"name": "NEW", "value": "1", **one}, expect=409)
    run.send(
        "POST", f"{scope}/variables", {"name": "ALL", "value": "a", "visibility": "all"}, expect=201
    )
    run.send(
        "POST",
        f"{scope}/variables",
        {"name": "X", "value": "1", **one, "visibility": "all"},
        expect=422,
    )
    run.send("GET", f"{scope}/variables", expect=200)
    for kind in ("secrets", "variables"):  # NEW (selected) and ALL, as the repository sees them
        run.send("GET", f"{REPOSITORY_PATH}/actions/organization-{kind}", expect=200)
    run.send("PATCH", f"{scope}/variables/NEW", {"value": "2"}, expect=204)
    run.send("PATCH", f"{scope}/variables/NEW", {"name": "ALL"}, expect=409)
    run.send("PATCH", f"{scope}/variables/NEW", {**one, "visibility": "private"}, expect=422)
    run.send("PATCH", f"{scope}/variables/MISSING", {"value": "2"}, expect=404)
    for kind in ("secrets", "variables"):
        entry, other, missing = (f"{scope}/{kind}/{name}" for name in ("NEW", "ALL", "MISSING"))
        run.send("GET", entry, expect=200)
        for path, expect in [(entry, 204), (other, 409), (missing, 404)]:
            listed = 200 if expect == 204 else expect
            run.send("GET", f"{path}/repositories", expect=listed)
            run.send("PUT", f"{path}/repositories", {"selected_repository_ids": []}, expect=expect)
            run.send("PUT", f"{path}/repositories/{repository_id}", expect=expect)
            run.send("DELETE", f"{path}/repositories/{repository_id}", expect=expect)
        run.send("PUT", f"{entry}/repositories", {"selected_repository_ids": [999]}, expect=422)
        run.send("PUT", f"{entry}/repositories/999", expect=422)
        run.send("DELETE", f"{entry}/repositories/999", expect=422)
        run.send("DELETE", entry, expect=204)
        run.send("GET", entry, expect=404)
        run.send("DELETE", entry, expect=404)


def _spec(method: str, template: str | None) -> RouteSpec:
    return next(s for s in GitHubServer.routes() if (s.method, s.template) == (method, template))


def test_every_route_is_an_operation_of_the_description(openapi: OpenApi) -> None:
    missing = [
        f"{spec.method} {spec.template}"
        for spec in GitHubServer.routes()
        if spec.method.lower() not in openapi.document["paths"].get(spec.template, {})
    ]
    assert missing == []


def test_every_status_a_route_can_answer_is_documented_or_known(openapi: OpenApi) -> None:
    unexplained = []
    for spec in GitHubServer.routes():
        documented = {int(status) for status in _responses(openapi, spec)}
        for status in sorted(spec.statuses | COMMON_STATUSES):
            if status not in documented and status not in UNDOCUMENTED_BUT_ANSWERED_BY_GITHUB:
                unexplained.append(f"{spec.method} {spec.template}: {status}")
    assert unexplained == []


def test_every_success_status_is_documented(openapi: OpenApi) -> None:
    """The allowance above is for errors only: 201 against 200, 204 against 200 are checked."""
    for spec in GitHubServer.routes():
        documented = {int(status) for status in _responses(openapi, spec)}
        assert {s for s in spec.statuses if s < 300} <= documented, spec


def test_the_representative_calls_produce_every_status_of_every_route(
    exchanges: list[Exchange],
) -> None:
    produced = {(e.method, e.route, e.status) for e in exchanges}
    declared = {
        (s.method, s.template, status) for s in GitHubServer.routes() for status in s.statuses
    }
    assert declared - produced == set()
    for exchange in exchanges:
        spec = _spec(exchange.method, exchange.route)
        assert exchange.status in spec.statuses | COMMON_STATUSES


def test_response_bodies_validate_against_the_documented_schemas(
    openapi: OpenApi, exchanges: list[Exchange]
) -> None:
    for exchange in exchanges:
        spec = _spec(exchange.method, exchange.route)
        if str(exchange.status) not in _responses(openapi, spec):
            # An undocumented error: GitHub's error document, with a message.
            openapi.validate(exchange.body, "/components/schemas/basic-error")
            assert exchange.body["message"]
            continue
        schema = _response_schema(openapi, spec, exchange.status)
        if schema is None:
            assert exchange.raw == b"", exchange
        else:
            openapi.validate(exchange.body, schema)


def test_the_representative_requests_are_valid_requests(
    openapi: OpenApi, exchanges: list[Exchange]
) -> None:
    """So that the bodies validated above answer requests GitHub would accept."""
    for exchange in exchanges:
        spec = _spec(exchange.method, exchange.route)
        if exchange.status < 300 and "requestBody" in openapi.operation(spec.method, spec.template):
            pointer = pointer_of("paths", spec.template, spec.method.lower(), "requestBody")
            openapi.validate(exchange.request_body, pointer + "/content/application~1json/schema")


def test_validation_catches_a_wrong_document(openapi: OpenApi) -> None:
    """The schema check checks: a secret without timestamps or with another form fails."""
    secret = _response_schema(
        openapi, _spec("GET", "/repos/{owner}/{repo}/actions/secrets/{secret_name}"), 200
    )
    assert secret is not None
    openapi.validate(
        {"name": "A", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"},
        secret,
    )
    with pytest.raises(jsonschema.ValidationError):
        openapi.validate({"name": "A"}, secret)
    with pytest.raises(jsonschema.ValidationError):
        openapi.validate({"name": "A", "created_at": "yesterday", "updated_at": "today"}, secret)
    repository = _response_schema(openapi, _spec("GET", "/repos/{owner}/{repo}"), 200)
    assert repository is not None
    with pytest.raises(jsonschema.ValidationError):
        openapi.validate({"id": 1}, repository)


# -- 2. PyGithub against the server -------------------------------------------------------------


def test_pygithub_repository_secret_arrives_decrypted_under_an_upper_case_name(
    server: GitHubServer,
) -> None:
    with pygithub(server) as github:
        repository = github.get_repo(REPOSITORY)
        repository.create_secret("db_password", "s3cret value")
        repository.create_secret("DB_Password", "rotated")
    assert server.secrets(REPOSITORY) == {"DB_PASSWORD": "rotated"}
    puts = [r.status for r in server.requests if r.method == "PUT"]
    assert puts == [201, 204]


def test_pygithub_environment_secret_with_percent_encoded_names(server: GitHubServer) -> None:
    for environment in ("qa east", "release/v1"):
        server.add_environment(REPOSITORY, environment)
    with pygithub(server) as github:
        repository = github.get_repo(REPOSITORY)
        for environment in ("qa east", "release/v1"):
            repository.get_environment(environment).create_secret("ECS_SUBNET_1", environment)
    assert server.secrets(REPOSITORY, "qa east") == {"ECS_SUBNET_1": "qa east"}
    assert server.secrets(REPOSITORY, "release/v1") == {"ECS_SUBNET_1": "release/v1"}
    assert server.secrets(REPOSITORY) == {}


def test_pygithub_follows_the_pages_of_more_than_a_hundred_secrets(server: GitHubServer) -> None:
    names = [f"SECRET_{number:03}" for number in range(130)]
    for name in names:
        server.set_secret(REPOSITORY, name, "value")
    with pygithub(server, per_page=100) as github:
        listed = github.get_repo(REPOSITORY).get_secrets()
        assert [secret.name for secret in listed] == names
    pages = [parse_qs(r.query) for r in server.requests if r.path.endswith("/actions/secrets")]
    assert pages == [{"per_page": ["100"]}, {"per_page": ["100"], "page": ["2"]}]


def test_variables_come_ten_to_a_page_unless_asked(server: GitHubServer) -> None:
    """The description's `variables-per-page`: default 10, at most 30."""
    for number in range(35):
        server.set_variable(REPOSITORY, f"VARIABLE_{number:02}", str(number))
    with pygithub(server) as github:  # PyGithub sends no per_page when it is its default, 30
        listed = [v.name for v in github.get_repo(REPOSITORY).get_variables()]
    assert len(listed) == 35
    assert len([r for r in server.requests if r.path.endswith("/variables")]) == 4
    answer = call(server, "GET", f"{REPOSITORY_PATH}/actions/variables?per_page=100")
    assert (answer.body["total_count"], len(answer.body["variables"])) == (35, 30)
    assert 'rel="next"' in answer.headers["Link"]


def test_pygithub_creates_and_edits_variables(server: GitHubServer) -> None:
    server.add_environment(REPOSITORY, "dev")
    with pygithub(server) as github:
        repository = github.get_repo(REPOSITORY)
        repository.create_variable("toto_manifest", "v1")
        assert repository.get_variable("TOTO_MANIFEST").edit("v2")
        environment = repository.get_environment("dev")
        environment.create_variable("AWS_ROLE_ARN", "arn:aws:iam::1:role/dev")
        assert environment.get_variable("aws_role_arn").value == "arn:aws:iam::1:role/dev"
    assert server.variables(REPOSITORY) == {"TOTO_MANIFEST": "v2"}
    assert server.variables(REPOSITORY, "dev") == {"AWS_ROLE_ARN": "arn:aws:iam::1:role/dev"}


def test_pygithub_repository_dispatch_is_recorded(server: GitHubServer) -> None:
    with pygithub(server) as github:
        sent = github.get_repo(REPOSITORY).create_repository_dispatch(
            "toto-core-updated", {"environment": "prod"}
        )
    assert sent
    assert server.dispatches(REPOSITORY) == [
        {"event_type": "toto-core-updated", "client_payload": {"environment": "prod"}}
    ]


def test_an_environment_put_keeps_the_protection_its_body_leaves_out(server: GitHubServer) -> None:
    """An empty PUT keeps a prod environment's reviewers; PyGithub's create_environment, which
    sends `reviewers: []`, wipes them (the hazard the sync avoids)."""
    reviewers = [{"type": "User", "id": 7}]
    server.add_environment(REPOSITORY, "prod", reviewers=reviewers)
    assert call(server, "PUT", f"{REPOSITORY_PATH}/environments/prod").status == 200
    assert (
        call(server, "PUT", f"{REPOSITORY_PATH}/environments/prod", {"wait_timer": 5}).status == 200
    )
    kept = server.environment(REPOSITORY, "prod")
    assert kept is not None
    assert (kept["reviewers"], kept["wait_timer"]) == (reviewers, 5)
    with pygithub(server) as github:
        github.get_repo(REPOSITORY).create_environment("prod")
    wiped = server.environment(REPOSITORY, "prod")
    assert wiped is not None
    assert wiped["reviewers"] == []
    assert server.environment(REPOSITORY, "staging") is None


# -- 3. behaviour: timestamps, keys, visibility, faults, latency ---------------------------------


def test_timestamps_are_whole_seconds_shared_by_writes_within_one(server: GitHubServer) -> None:
    """As on GitHub: `updated_at` counts whole seconds, so it moves only when a second passed."""
    server.freeze_clock()
    server.set_secret(REPOSITORY, "A", "1")
    first = server.secret_updated_at(REPOSITORY, "A")
    server.set_secret(REPOSITORY, "A", "2")  # within the same second: the same time
    assert server.secret_updated_at(REPOSITORY, "A") == first
    server.advance_clock(1)
    server.set_secret(REPOSITORY, "A", "2")  # a second later: a new time
    second = server.secret_updated_at(REPOSITORY, "A")
    assert datetime.strptime(second, "%Y-%m-%dT%H:%M:%SZ") - datetime.strptime(
        first, "%Y-%m-%dT%H:%M:%SZ"
    ) == timedelta(seconds=1)
    listed = call(server, "GET", f"{REPOSITORY_PATH}/actions/secrets").body["secrets"]
    assert listed == [{"name": "A", "created_at": first, "updated_at": second}]


def test_the_clock_is_the_wall_clock_in_whole_seconds(server: GitHubServer) -> None:
    before = int(time.time())
    server.set_secret(REPOSITORY, "A", "1")
    stamped = datetime.strptime(server.secret_updated_at(REPOSITORY, "A"), "%Y-%m-%dT%H:%M:%SZ")
    assert before <= stamped.replace(tzinfo=UTC).timestamp() <= time.time()


def test_a_secret_sealed_with_a_rotated_key_is_refused(server: GitHubServer) -> None:
    path = f"{REPOSITORY_PATH}/actions/secrets"
    old_key = call(server, "GET", f"{path}/public-key").body
    server.rotate_public_key(REPOSITORY)
    answer = call(server, "PUT", f"{path}/TOKEN", sealed(old_key, "x"))
    assert answer.status == 422
    assert "improperly encrypted" in answer.body["message"]
    new_key = call(server, "GET", f"{path}/public-key").body
    garbage = {
        "encrypted_value": base64.b64encode(b"not sealed").decode(),
        "key_id": new_key["key_id"],
    }
    assert call(server, "PUT", f"{path}/TOKEN", garbage).status == 422
    assert server.secrets(REPOSITORY) == {}


def test_a_token_sees_only_its_repositories(server: GitHubServer) -> None:
    server.add_repository("acme/toto-ms-y")
    server.add_token("narrow", repositories=["acme/toto-ms-y"])
    assert call(server, "GET", "/repos/acme/toto-ms-y", token="narrow").status == 200
    hidden = call(server, "GET", f"{REPOSITORY_PATH}/actions/secrets", token="narrow")
    assert (hidden.status, hidden.body["message"]) == (404, "Not Found")
    with pygithub(server, token="narrow") as github, pytest.raises(GithubException) as raised:
        github.get_repo(REPOSITORY).create_secret("A", "1")
    assert raised.value.status == 404
    assert server.secrets(REPOSITORY) == {}


@pytest.mark.parametrize("token", ["wrong", None])
def test_a_missing_or_unknown_token_is_bad_credentials(
    server: GitHubServer, token: str | None
) -> None:
    answer = call(server, "GET", REPOSITORY_PATH, token=token)
    assert (answer.status, answer.body["message"]) == (401, "Bad credentials")


def test_an_unknown_route_is_not_found(server: GitHubServer) -> None:
    answer = call(server, "GET", f"{REPOSITORY_PATH}/actions/runners")
    assert (answer.status, answer.body["message"]) == (404, "Not Found")
    assert server.errors == [  # a client of the stand-in never sends one
        f"{REPOSITORY_PATH}/actions/runners: no operation of the description that is served"
    ]


def test_rate_limit_headers_count_requests(server: GitHubServer) -> None:
    first = call(server, "GET", REPOSITORY_PATH).headers
    second = call(server, "GET", REPOSITORY_PATH).headers
    assert first["X-RateLimit-Limit"] == "5000"
    assert int(second["X-RateLimit-Used"]) == int(first["X-RateLimit-Used"]) + 1
    assert int(second["X-RateLimit-Remaining"]) == 5000 - int(second["X-RateLimit-Used"])
    assert int(second["X-RateLimit-Reset"]) > time.time()


def _statuses_under_faults(seed: int, count: int) -> list[int]:
    with serving(REPOSITORY) as server:
        server.inject_faults(0.25, seed=seed)
        client = RawClient(server)
        statuses = [client.call("GET", REPOSITORY_PATH).status for _ in range(count)]
        client.close()
    return statuses


def test_faults_come_at_the_rate_told_and_repeat_with_the_seed() -> None:
    statuses = _statuses_under_faults(seed=11, count=400)
    faults = [status for status in statuses if status != 200]
    assert 0.18 <= len(faults) / len(statuses) <= 0.32
    assert set(faults) == {502, 503, 429, 403}
    assert _statuses_under_faults(seed=11, count=400) == statuses
    assert _statuses_under_faults(seed=12, count=400) != statuses


def test_a_fault_answers_before_anything_is_written(server: GitHubServer) -> None:
    server.inject_faults(1.0, seed=1, statuses=(503,))
    key = {"key": base64.b64encode(bytes(PrivateKey.generate().public_key)).decode(), "key_id": "1"}
    assert (
        call(server, "PUT", f"{REPOSITORY_PATH}/actions/secrets/A", sealed(key, "x")).status == 503
    )
    body = {"name": "A", "value": "1"}
    assert call(server, "POST", f"{REPOSITORY_PATH}/actions/variables", body).status == 503
    assert (server.secrets(REPOSITORY), server.variables(REPOSITORY)) == ({}, {})
    assert server.writes() == []
    assert [(r.method, r.status, r.body) for r in server.requests][-1] == ("POST", 503, body)
    server.clear_faults()
    assert call(server, "POST", f"{REPOSITORY_PATH}/actions/variables", body).status == 201
    assert [r.method for r in server.writes()] == ["POST"]


def test_rate_limit_faults_say_so_and_say_when_to_retry(server: GitHubServer) -> None:
    server.inject_faults(1.0, seed=1, statuses=(403,))
    forbidden = call(server, "GET", REPOSITORY_PATH)
    assert forbidden.status == 403
    assert forbidden.body["message"] == SECONDARY_RATE_LIMIT_MESSAGE
    assert forbidden.headers["Retry-After"] == "1"
    with pygithub(server) as github, pytest.raises(RateLimitExceededException):
        github.get_repo(REPOSITORY)  # PyGithub reads the message as GitHub's rate limit

    server.inject_faults(1.0, seed=1, statuses=(429,), retry_after="7")
    assert call(server, "GET", REPOSITORY_PATH).headers["Retry-After"] == "7"
    server.inject_faults(1.0, seed=1, statuses=(429,), retry_after=None)
    assert call(server, "GET", REPOSITORY_PATH).headers["Retry-After"] is None
    server.inject_faults(1.0, seed=1, statuses=(502,))
    bad_gateway = call(server, "GET", REPOSITORY_PATH)
    assert (bad_gateway.status, bad_gateway.body["message"]) == (502, "Bad Gateway")
    assert bad_gateway.headers["Retry-After"] is None


def test_a_path_fails_as_many_times_as_told(server: GitHubServer) -> None:
    server.add_environment(REPOSITORY, "prod")
    server.add_environment(REPOSITORY, "dev")
    server.fail_path(r"/environments/prod/", status=502, times=2)
    server.fail_path(r"/environments/dev/variables", status=500, times=None, method="POST")
    prod = f"{REPOSITORY_PATH}/environments/prod/secrets/public-key"
    assert [call(server, "GET", prod).status for _ in range(3)] == [502, 502, 200]
    dev = f"{REPOSITORY_PATH}/environments/dev/variables"
    body = {"name": "A", "value": "1"}
    assert [call(server, "POST", dev, body).status for _ in range(3)] == [500, 500, 500]
    assert call(server, "GET", dev).status == 200
    server.clear_faults()
    assert call(server, "POST", dev, body).status == 201


def test_a_late_failure_answers_after_the_write_took_effect(server: GitHubServer) -> None:
    """A proxy that gave up on the answer: the dispatch landed, the client hears 502."""
    server.fail_after_serving(r"/dispatches$", 502, times=1, method="POST")
    body = {"event_type": "core-changed", "client_payload": {}}
    dispatches = f"{REPOSITORY_PATH}/dispatches"
    assert [call(server, "POST", dispatches, body).status for _ in range(2)] == [502, 204]
    assert server.dispatches(REPOSITORY) == [body, body]
    assert [r.status for r in server.writes()] == [204]  # the log keeps what was answered


def test_waiting_for_writes_returns_once_they_arrived(server: GitHubServer) -> None:
    route = "/repos/{owner}/{repo}/actions/variables"
    assert not server.wait_for_writes(1, route, timeout=0.05)

    def create_two() -> None:
        for name in ("A", "B"):
            time.sleep(0.05)
            call(
                server, "POST", f"{REPOSITORY_PATH}/actions/variables", {"name": name, "value": "1"}
            )

    with ThreadPoolExecutor(max_workers=1) as pool:
        created = pool.submit(create_two)
        assert server.wait_for_writes(2, route, timeout=10)
        assert len(server.variables(REPOSITORY)) == 2
        created.result()
    assert not server.wait_for_writes(3, route, timeout=0.05)


def test_concurrent_writers_all_land(server: GitHubServer) -> None:
    """The sync writes from several threads: every write lands."""

    def write_ten(worker: int) -> list[tuple[int, int]]:
        client = RawClient(server)
        try:
            return [
                (
                    client.call("PUT", f"{REPOSITORY_PATH}/environments/env-{worker}").status,
                    client.call(
                        "POST",
                        f"{REPOSITORY_PATH}/actions/variables",
                        {"name": f"W{worker}_{number}", "value": str(number)},
                    ).status,
                )
                for number in range(10)
            ]
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [status for result in pool.map(write_ten, range(8)) for status in result]
    assert statuses == [(200, 201)] * 80
    assert len(server.variables(REPOSITORY)) == 80
    assert len(server.environment_names(REPOSITORY)) == 8
    created = [r for r in server.writes() if r.method == "POST"]
    assert len(created) == 80


def test_latency_delays_every_answer(server: GitHubServer) -> None:
    server.latency_seconds = 0.2
    started = time.monotonic()
    assert call(server, "GET", REPOSITORY_PATH).status == 200
    assert time.monotonic() - started >= 0.2


def test_the_request_log_keeps_order_bodies_and_clears(server: GitHubServer) -> None:
    call(server, "GET", REPOSITORY_PATH)
    call(server, "POST", f"{REPOSITORY_PATH}/dispatches", {"event_type": "e"})
    assert [(r.method, r.path, r.status, r.body) for r in server.requests] == [
        ("GET", REPOSITORY_PATH, 200, None),
        ("POST", f"{REPOSITORY_PATH}/dispatches", 204, {"event_type": "e"}),
    ]
    assert [r.route for r in server.writes()] == ["/repos/{owner}/{repo}/dispatches"]
    server.clear_requests()
    assert server.requests == []


# -- 4. token permissions, from GitHub's permission data -----------------------------------------


def test_an_environment_secret_needs_both_secrets_and_environments(server: GitHubServer) -> None:
    server.add_environment(REPOSITORY, "dev")
    server.add_token("ghs_secrets_only", [REPOSITORY], {"secrets": "write"})
    key_path = f"{REPOSITORY_PATH}/environments/dev/secrets/public-key"
    answer = call(server, "GET", key_path, token="ghs_secrets_only")
    assert answer.status == 403
    assert answer.body["message"] == "Resource not accessible by integration"
    assert answer.headers["X-Accepted-GitHub-Permissions"] == "environments=read,secrets=read"
    server.add_token("ghs_both", [REPOSITORY], {"secrets": "write", "environments": "read"})
    assert call(server, "GET", key_path, token="ghs_both").status == 200


def test_reading_an_environment_needs_actions_read(server: GitHubServer) -> None:
    """GitHub files GET .../environments/{name} under Actions, not Environments."""
    server.add_environment(REPOSITORY, "dev")
    server.add_token("ghs_environments", [REPOSITORY], {"environments": "write"})
    environment = f"{REPOSITORY_PATH}/environments/dev"
    answer = call(server, "GET", environment, token="ghs_environments")
    assert (answer.status, answer.headers["X-Accepted-GitHub-Permissions"]) == (403, "actions=read")
    server.add_token("ghs_actions", [REPOSITORY], {"actions": "read"})
    assert call(server, "GET", environment, token="ghs_actions").status == 200
    assert call(server, "PUT", environment, token="ghs_actions").status == 403  # administration


def test_a_permission_key_github_does_not_know_is_dropped(server: GitHubServer) -> None:
    """`variables` is not GitHub's key for the Variables permission: `actions_variables` is."""
    server.add_token("ghs_misspelt", [REPOSITORY], {"variables": "write"})
    server.add_token("ghs_right", [REPOSITORY], {"actions_variables": "write"})
    assert server.token_permissions("ghs_misspelt") == {}
    body = {"name": "REGION", "value": "eu-west-1"}
    variables = f"{REPOSITORY_PATH}/actions/variables"
    assert call(server, "POST", variables, body, token="ghs_misspelt").status == 403
    assert call(server, "POST", variables, body, token="ghs_right").status == 201


def test_write_includes_read_and_metadata_comes_with_every_token(server: GitHubServer) -> None:
    server.add_token("ghs_writer", [REPOSITORY], {"secrets": "write"})
    assert (
        call(server, "GET", f"{REPOSITORY_PATH}/actions/secrets", token="ghs_writer").status == 200
    )
    assert call(server, "GET", REPOSITORY_PATH, token="ghs_writer").status == 200


def test_a_classic_token_may_do_anything_on_what_it_sees(server: GitHubServer) -> None:
    assert server.token_permissions(TOKEN) is None
    assert call(server, "PUT", f"{REPOSITORY_PATH}/environments/dev").status == 200


def test_an_app_token_gets_exactly_what_it_asked_for(server: GitHubServer) -> None:
    key = server.add_app(APP_ID, [REPOSITORY], {"secrets": "write", "actions_variables": "write"})
    signed = app_jwt(key)
    installation = call(server, "GET", f"{REPOSITORY_PATH}/installation", token=signed).body
    asked = {
        "repositories": ["toto-ms-x"],
        "permissions": {"secrets": "read", "variables": "write"},
    }
    made = call(
        server,
        "POST",
        installation["access_tokens_url"].removeprefix(server.url),
        asked,
        token=signed,
    )
    assert made.status == 201
    assert made.body["permissions"] == {"secrets": "read"}
    assert server.token_permissions(made.body["token"]) == {"secrets": "read"}
    put = call(
        server,
        "POST",
        f"{REPOSITORY_PATH}/actions/variables",
        {"name": "A", "value": "1"},
        token=made.body["token"],
    )
    assert put.status == 403


def test_an_app_jwt_must_be_signed_by_the_app_and_short_lived(server: GitHubServer) -> None:
    key = server.add_app(APP_ID, [REPOSITORY], {"secrets": "write"})
    other_key = server.add_app(APP_ID + 1, [REPOSITORY], {"secrets": "write"})
    installation = f"{REPOSITORY_PATH}/installation"
    assert call(server, "GET", installation, token=app_jwt(other_key, APP_ID)).status == 401
    assert call(server, "GET", installation, token=app_jwt(key, lifetime=3600)).status == 401
    assert call(server, "GET", installation, token=app_jwt(key)).status == 200


def test_a_body_the_description_does_not_allow_is_refused_and_kept(server: GitHubServer) -> None:
    answer = call(server, "POST", f"{REPOSITORY_PATH}/actions/variables", {"name": "A", "value": 1})
    assert answer.status == 422
    assert server.errors == [
        "POST /repos/{owner}/{repo}/actions/variables: the body breaks the description: "
        "$.value: 1 is not of type 'string'"
    ]
    assert server.variables(REPOSITORY) == {}
