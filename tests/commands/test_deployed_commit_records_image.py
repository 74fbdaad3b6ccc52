"""deployed-commit's records path with an image repository: where the outputs name no ECS
service, the deployment records give the commit (redeploy-records' part) and the image is the
one build-push tagged with its short commit (build_options.tags: `revision[:7]`), by digest,
whose `org.opencontainers.image.revision` label must be that commit. Never a build: no such
image is exit 1.

Against the stand-in GitHub (deployments) and the session's CNCF distribution registry, with
images pushed by the real dockerd; an OCI index as `docker buildx` pushes a multi-platform image
(image-spec image-index.md: `manifests[]`, each with its platform).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.github.server import GitHubServer
from testing.local_stack import DockerEngine as LocalEngine
from testing.local_stack import Registry, push_index
from testing.running_services import push_image, step_outputs, write_outputs
from tests.commands.conftest import job_env
from tests.conftest import CliResult, CliRunner
from toto_actions.images.build_inputs import INPUTS_TAG_PREFIX

REPOSITORY = "acme/toto-ms-expenses"
TOKEN = "ghs_deployments_reader_77aa"
SHA = "3" * 40
OTHER_SHA = "4" * 40
OUTPUTS = ("sha", "image", "image-tag", "source")
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        server.add_repository(REPOSITORY)
        server.add_token(TOKEN, [REPOSITORY], {"deployments": "read", "contents": "read"})
        # release/2.0 holds both commits: the redeploy job's branch, which prod's patterns match.
        server.add_branch(REPOSITORY, "release/2.0", [OTHER_SHA, SHA])
        server.add_deployment(REPOSITORY, "prod", SHA, ["in_progress", "success"])
        yield server
        assert server.errors == []


class Records:
    """deployed-commit on the records path, with the session's registry (or another) and the
    test's image repository."""

    def __init__(
        self, cli: CliRunner, github: GitHubServer, engine: LocalEngine, tmp_path: Path
    ) -> None:
        self.cli, self.github, self.engine_url, self.tmp = cli, github, engine.base_url, tmp_path
        self.repository = f"expenses-{uuid.uuid4().hex[:8]}/prod"

    def push(self, registry: Registry, tags: tuple[str, ...], revision: str, **login: str) -> str:
        context = self.tmp / f"image-{uuid.uuid4().hex[:6]}"
        auth = dict(login) or None
        return push_image(
            self.engine_url,
            registry,
            self.repository,
            tags,
            context,
            revision=revision,
            auth_config=auth,
        )

    def __call__(self, registry: Registry, *extra: str) -> CliResult:
        # Outputs that name no ECS service: the records decide.
        outputs = write_outputs(self.tmp / "outputs.json", {"url": "https://expenses.example"})
        return self.cli(
            "deployed-commit",
            "--environment",
            "prod",
            "--outputs-file",
            str(outputs),
            "--image-repository",
            self.repository,
            "--registry",
            registry.host,
            "--branches",
            "release/**",
            *extra,
            env=job_env(REPOSITORY, TOKEN, self.github.url, "release/2.0"),
        )


@pytest.fixture
def records(
    cli: CliRunner, github: GitHubServer, docker_engine: LocalEngine, tmp_path: Path
) -> Records:
    return Records(cli, github, docker_engine, tmp_path)


def test_the_records_commit_gives_the_image_tagged_with_its_short_commit(
    records: Records, registry: Registry
) -> None:
    inputs_tag = INPUTS_TAG_PREFIX + "d" * 40
    digest = records.push(registry, (SHA[:7], inputs_tag), SHA)
    result = records(registry)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert step_outputs(result.stdout, OUTPUTS) == {
        "sha": SHA,
        "image": f"{registry.host}/{records.repository}@{digest}",
        "image-tag": inputs_tag,
        "source": "deployments",
    }


def test_no_image_tagged_with_the_commit_is_exit_1_and_nothing_built(
    records: Records, registry: Registry
) -> None:
    result = records(registry)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr == (
        f"error: {registry.host}/{records.repository} has no image tagged {SHA[:7]} "
        f"(build-push's tag of {SHA}): nothing to redeploy, nothing is built\n"
    )
    assert "image=" not in result.stdout


def test_a_short_commit_tag_moved_to_another_commit_s_image_is_exit_1(
    records: Records, registry: Registry
) -> None:
    """Tags move; the label is the image's own: an image of another commit under the tag (a
    planted one, or a collision of short SHAs) is refused."""
    digest = records.push(registry, (SHA[:7],), OTHER_SHA)
    result = records(registry)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr == (
        f"error: {registry.host}/{records.repository}:{SHA[:7]} is {digest}, whose "
        f"org.opencontainers.image.revision is {OTHER_SHA}, not {SHA}: nothing to redeploy\n"
    )


def test_an_index_is_read_through_its_platform_images(records: Records, registry: Registry) -> None:
    platform_image = records.push(registry, ("amd64",), SHA)
    index = push_index(registry, records.repository, SHA[:7], OCI_INDEX, platform_image)
    result = records(registry)
    assert result.exit_code == 0, result.stdout + result.stderr
    found = step_outputs(result.stdout, OUTPUTS)
    assert (found["sha"], found["image"], found["image-tag"]) == (
        SHA,
        f"{registry.host}/{records.repository}@{index}",
        SHA[:7],
    )


def test_a_private_registry_is_read_with_its_login(
    records: Records, private_registry: Registry
) -> None:
    login = private_registry.login
    assert login is not None
    digest = records.push(
        private_registry, (SHA[:7],), SHA, username=login.username, password=login.password
    )
    refused = records(private_registry)
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    assert "401" in refused.stderr
    result = records(
        private_registry,
        "--registry-username",
        login.username,
        "--registry-password",
        login.password,
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert step_outputs(result.stdout, OUTPUTS)["image"] == (
        f"{private_registry.host}/{records.repository}@{digest}"
    )
    assert login.password not in result.stdout + result.stderr
