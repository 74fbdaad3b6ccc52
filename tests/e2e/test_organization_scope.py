"""Both flows at organization scope, under act: the core workflow writes the core IDs as
organization secrets `DEV_<NAME>` selecting every service, with a GitHub App token asking for
the organization permissions only; the service workflow rendered with `--secrets-scope
organization` deploys with exactly those secrets, as GitHub hands a workflow the organization
secrets that select its repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.github.server import GitHubServer
from testing.local_stack import Registry
from tests.e2e.act import assert_nothing_leaked
from tests.e2e.flows import (
    APP_ID,
    CORE_IDS,
    DB_PASSWORD,
    EXPECTED_SECRETS,
    ORG,
    SERVICE,
    SERVICE_REPOSITORIES,
    SERVICE_STATE_KEY,
    SERVICE_WORKSPACE,
    Flow,
    Stack,
    log,
    new_core_repository,
    new_service_repository,
    run_core_cli,
    run_service_cli,
    serve_job_token,
    state_outputs,
    succeeded,
)
from tests.e2e.test_flows import minted_permissions, rendered_token_permissions
from toto_actions.github.sync_permissions import token_permissions

SCOPE = "organization"
EVERY = sorted(SERVICE_REPOSITORIES)


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubServer]:
    """The organization, its service repositories (no GitHub environment: the sync needs none)
    and the app installed on them with what the README tells users to grant at this scope."""
    with GitHubServer() as server:
        server.add_organization(ORG)
        serve_job_token(server, SERVICE_REPOSITORIES)
        permissions = token_permissions(SCOPE, create_environments=False, dispatch=True)
        server.add_app(APP_ID, SERVICE_REPOSITORIES, permissions)
        yield server
        assert server.errors == []


@pytest.fixture(scope="module")
def core_dev(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Flow:
    repository = new_core_repository(
        tmp_path_factory.mktemp("core") / "toto-terra-aws",
        engine="cli",
        bucket=stack.bucket,
        scope=SCOPE,
    )
    return run_core_cli(stack, repository)


def test_the_core_flow_writes_organization_secrets_selecting_every_service(
    core_dev: Flow, stack: Stack
) -> None:
    run = core_dev.run
    assert run.exit_code == 0, log(run)
    assert succeeded(
        run, "Write the core outputs as organization secrets of the service repositories"
    )
    assert "Write them into the plan environment dev-plan too" not in run.outcomes()
    assert stack.github.organization_secrets(ORG) == {
        f"DEV_{name}": (value, "selected", EVERY) for name, value in EXPECTED_SECRETS.items()
    }
    for repository in SERVICE_REPOSITORIES:
        assert stack.github.secrets(repository) == {}
        assert stack.github.environment_names(repository) == []
    rendered = rendered_token_permissions(core_dev.repository)
    assert rendered == token_permissions(SCOPE, create_environments=False, dispatch=False)
    assert minted_permissions(stack.github) == [rendered]
    assert_nothing_leaked(run, core_dev.sensitive)


def test_the_service_flow_deploys_with_the_organization_secrets(
    core_dev: Flow, stack: Stack, registry: Registry, tmp_path: Path
) -> None:
    assert core_dev.run.exit_code == 0, log(core_dev.run)
    repository = new_service_repository(
        tmp_path / SERVICE, stack.bucket, f"--secrets-scope={SCOPE}"
    )
    flow = run_service_cli(stack, repository, registry, organization_secrets=True)
    assert set(flow.secrets) == {f"DEV_{name}" for name in EXPECTED_SECRETS} | {"GITHUB_TOKEN"}
    assert flow.run.exit_code == 0, log(flow.run)
    assert succeeded(flow.run, "Deploy the new image with the service's Terraform")
    deployment = state_outputs(stack.state(SERVICE_WORKSPACE, SERVICE_STATE_KEY))["deployment"]
    assert {name: deployment[name] for name in CORE_IDS} == CORE_IDS
    assert DB_PASSWORD not in flow.run.output
    assert_nothing_leaked(flow.run, flow.sensitive)
