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
from tests.e2e import flows
from tests.e2e.act import assert_nothing_leaked
from tests.e2e.test_flows import minted_permissions, rendered_token_permissions
from toto_actions.github.sync_permissions import token_permissions

SCOPE = "organization"
EVERY = sorted(flows.SERVICE_REPOSITORIES)


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubServer]:
    """The organization, its service repositories (no GitHub environment: the sync needs none)
    and the app installed on them with what the README tells users to grant at this scope."""
    with GitHubServer() as server:
        server.add_organization(flows.ORG)
        flows.serve_job_token(server, flows.SERVICE_REPOSITORIES)
        permissions = token_permissions(SCOPE, create_environments=False, dispatch=True)
        server.add_app(flows.APP_ID, flows.SERVICE_REPOSITORIES, permissions)
        yield server
        assert server.errors == []


@pytest.fixture(scope="module")
def core_dev(stack: flows.Stack, tmp_path_factory: pytest.TempPathFactory) -> flows.Flow:
    repository = flows.new_core_repository(
        tmp_path_factory.mktemp("core") / "toto-terra-aws",
        engine="cli",
        bucket=stack.bucket,
        scope=SCOPE,
    )
    return flows.run_core_cli(stack, repository)


def test_the_core_flow_writes_organization_secrets_selecting_every_service(
    core_dev: flows.Flow, stack: flows.Stack
) -> None:
    run = core_dev.run
    assert run.exit_code == 0, flows.log(run)
    assert flows.succeeded(
        run, "Write the core outputs as organization secrets of the service repositories"
    )
    assert "Write them into the plan environment dev-plan too" not in run.outcomes()
    assert stack.github.organization_secrets(flows.ORG) == {
        f"DEV_{name}": (value, "selected", EVERY) for name, value in flows.EXPECTED_SECRETS.items()
    }
    for repository in flows.SERVICE_REPOSITORIES:
        assert stack.github.secrets(repository) == {}
        assert stack.github.environment_names(repository) == []
    rendered = rendered_token_permissions(core_dev.repository)
    assert rendered == token_permissions(SCOPE, create_environments=False, dispatch=False)
    assert minted_permissions(stack.github) == [rendered]
    assert_nothing_leaked(run, core_dev.sensitive)


def test_the_service_flow_deploys_with_the_organization_secrets(
    core_dev: flows.Flow, stack: flows.Stack, registry: Registry, tmp_path: Path
) -> None:
    assert core_dev.run.exit_code == 0, flows.log(core_dev.run)
    repository = flows.new_service_repository(
        tmp_path / flows.SERVICE, stack.bucket, f"--secrets-scope={SCOPE}"
    )
    flow = flows.run_service_cli(stack, repository, registry, organization_secrets=True)
    assert set(flow.secrets) == {f"DEV_{name}" for name in flows.EXPECTED_SECRETS} | {
        "GITHUB_TOKEN"
    }
    assert flow.run.exit_code == 0, flows.log(flow.run)
    assert flows.succeeded(flow.run, "Deploy the new image with the service's Terraform")
    deployment = flows.state_outputs(stack.state(flows.SERVICE_WORKSPACE, flows.SERVICE_STATE_KEY))[
        "deployment"
    ]
    assert {name: deployment[name] for name in flows.CORE_IDS} == flows.CORE_IDS
    assert flows.DB_PASSWORD not in flow.run.output
    assert_nothing_leaked(flow.run, flow.sensitive)
