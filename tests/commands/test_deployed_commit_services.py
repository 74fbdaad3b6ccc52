"""`toto-actions deployed-commit --outputs-file ... --image-repository ...`: the commit an
environment runs, from the image its ECS services run now (issue 28 point 1).

Real components: the ECS services on moto's ECS through boto3 (DescribeServices: the service's
`taskDefinition`; DescribeTaskDefinition: `containerDefinitions[].image`, as the ECS API
reference has them), the images built by the session's dockerd and pushed to the session's CNCF
distribution registry, read back through its v2 API (distribution-spec, spec.md: "Pulling
manifests" and "Pulling blobs"; the config blob's `config.Labels`, image-spec config.md; the
label `org.opencontainers.image.revision`, image-spec annotations.md, which build-push sets).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.ecs import EcsStandIn
from testing.github.server import GitHubServer
from testing.local_stack import DockerEngine as LocalEngine
from testing.local_stack import MotoServer, Registry
from testing.running_services import push_image, seed_service, step_outputs, write_outputs
from tests.commands.conftest import job_env
from tests.conftest import CliResult, CliRunner
from toto_actions.images.build_inputs import INPUTS_TAG_PREFIX

SHA_RUNNING = "1" * 40
SHA_NEWER = "2" * 40
SHA_ELSEWHERE = "3" * 40  # a commit of a branch prod's patterns do not match
REPOSITORY = "acme/toto-ms-expenses"
JOB = "ghs_redeploy_job_token"
OUTPUTS = ("sha", "image", "image-tag", "source")


@pytest.fixture
def repository() -> str:
    """The environment's image repository (`<service>/<environment>`), new for each test."""
    return f"expenses-{uuid.uuid4().hex[:8]}/prod"


@pytest.fixture
def aws(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    """The redeploy job's branch, release/2.0, holds both commits the images name; feature/x
    holds another. The job's token reads contents (the compare) and deployments."""
    with GitHubServer() as server:
        server.add_repository(REPOSITORY)
        server.add_token(JOB, [REPOSITORY], {"deployments": "read", "contents": "read"})
        server.add_branch(REPOSITORY, "main", [SHA_RUNNING])
        server.add_branch(REPOSITORY, "release/2.0", [SHA_NEWER], base="main")
        server.add_branch(REPOSITORY, "feature/x", [SHA_ELSEWHERE], base="main")
        yield server
        assert server.errors == []


class Images:
    """The test's image repository on the session's registry, and the images pushed there."""

    def __init__(self, engine: LocalEngine, registry: Registry, tmp: Path, repository: str) -> None:
        self.engine_url, self.registry, self.tmp = engine.base_url, registry, tmp
        self.repository = repository

    def push(self, tags: tuple[str, ...], revision: str | None, repository: str = "") -> str:
        """Push an image of its own content under tags to the test's repository (or another);
        its digest."""
        context = self.tmp / f"image-{uuid.uuid4().hex[:6]}"
        target = repository or self.repository
        return push_image(self.engine_url, self.registry, target, tags, context, revision=revision)


@pytest.fixture
def images(
    docker_engine: LocalEngine, registry: Registry, tmp_path: Path, repository: str
) -> Images:
    return Images(docker_engine, registry, tmp_path, repository)


class Lookup:
    def __init__(
        self, cli: CliRunner, moto: MotoServer, registry: Registry, tmp: Path, github: GitHubServer
    ) -> None:
        self.cli, self.moto, self.registry, self.tmp = cli, moto, registry, tmp
        self.github = github

    def __call__(
        self, outputs: dict[str, object], repository: str, aws_endpoint: str | None = None
    ) -> CliResult:
        written = write_outputs(self.tmp / "outputs.json", outputs)
        return self.cli(
            "deployed-commit",
            "--environment",
            "prod",
            "--outputs-file",
            str(written),
            "--image-repository",
            repository,
            "--registry",
            self.registry.host,
            "--branches",
            "release/**",
            env={
                **self.moto.env,
                **({"AWS_ENDPOINT_URL": aws_endpoint} if aws_endpoint else {}),
                **job_env(REPOSITORY, JOB, self.github.url, "release/2.0"),
            },
        )


@pytest.fixture
def lookup(
    cli: CliRunner, aws: MotoServer, registry: Registry, tmp_path: Path, github: GitHubServer
) -> Lookup:
    return Lookup(cli, aws, registry, tmp_path, github)


def _inputs_tag(character: str) -> str:
    return INPUTS_TAG_PREFIX + character * 40


def test_the_image_ecs_runs_gives_the_commit_from_its_revision_label(
    lookup: Lookup, images: Images, registry: Registry, repository: str
) -> None:
    running = images.push((SHA_RUNNING[:7], _inputs_tag("a")), SHA_RUNNING)
    # A newer image of the repository, which no service runs: never the answer.
    images.push((SHA_NEWER[:7], _inputs_tag("b"), "latest"), SHA_NEWER)
    image = f"{registry.host}/{repository}@{running}"
    arn = seed_service(lookup.moto, "expenses", (image,))
    result = lookup({"ecs_service_arn": arn}, repository)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert step_outputs(result.stdout, OUTPUTS) == {
        "sha": SHA_RUNNING,
        "image": image,
        "image-tag": _inputs_tag("a"),
        "source": "services",
    }


def test_a_tag_in_the_task_definition_is_resolved_to_its_digest(
    lookup: Lookup, images: Images, registry: Registry, repository: str
) -> None:
    """A task definition written before images went by digest names a tag: its digest now."""
    running = images.push(
        ("v1.0.0", "toto-cache", "toto-branch-main"),  # build-push's cache tags move: last
        SHA_RUNNING,
    )
    arns = [
        seed_service(lookup.moto, "expenses", (f"{registry.host}/{repository}:v1.0.0",)),
        seed_service(lookup.moto, "expenses-worker", (f"{registry.host}/{repository}@{running}",)),
    ]
    result = lookup({"ecs_service_arns": arns}, repository)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert step_outputs(result.stdout, OUTPUTS) == {
        "sha": SHA_RUNNING,
        "image": f"{registry.host}/{repository}@{running}",
        "image-tag": "v1.0.0",  # no inputs tag: a tag of the digest that build-push never moves
        "source": "services",
    }


def test_a_moved_base_tag_still_finds_the_running_image(
    lookup: Lookup, images: Images, registry: Registry, repository: str
) -> None:
    """Today's redeploy recomputes the inputs tag from the build's inputs and the base images'
    digests now: once the base tag moved, that tag names no image and the job builds. The
    running image is found from ECS, whatever the base tags say now; nothing is pushed."""
    base = f"base-{uuid.uuid4().hex[:6]}"
    images.push(("1",), None, base)
    running = images.push((SHA_RUNNING[:7], _inputs_tag("c")), SHA_RUNNING)
    # The base tag moves: a build-push of the same source would now compute another inputs tag,
    # under which the repository holds no image.
    images.push(("1",), None, base)
    seed = seed_service(lookup.moto, "expenses", (f"{registry.host}/{repository}@{running}",))
    manifests_before = _manifest_puts(registry)
    result = lookup({"ecs_service_arn": seed}, repository)
    assert result.exit_code == 0, result.stdout + result.stderr
    found = step_outputs(result.stdout, OUTPUTS)
    assert (found["sha"], found["image-tag"]) == (SHA_RUNNING, _inputs_tag("c"))
    assert _manifest_puts(registry) == manifests_before  # nothing built, pushed or tagged


def test_two_different_images_of_the_repository_are_exit_1_naming_them(
    lookup: Lookup, images: Images, registry: Registry, repository: str
) -> None:
    first = images.push(("one",), SHA_RUNNING)
    second = images.push(("two",), SHA_NEWER)
    arns = [
        seed_service(lookup.moto, "expenses", (f"{registry.host}/{repository}@{first}",)),
        seed_service(lookup.moto, "expenses-worker", (f"{registry.host}/{repository}:two",)),
    ]
    result = lookup({"ecs_service_arns": arns}, repository)
    listed = sorted(
        [(first, "toto-prod/expenses"), (second, "toto-prod/expenses-worker")]
    )  # by digest
    _assert_nothing_to_redeploy(
        result,
        f"error: the services run 2 images of {registry.host}/{repository}: "
        f"{listed[0][0]} ({listed[0][1]}), {listed[1][0]} ({listed[1][1]}): "
        "one image expected, nothing to redeploy\n",
    )


def test_a_rollout_under_way_runs_two_images_and_is_exit_1(
    lookup: Lookup, images: Images, registry: Registry, repository: str
) -> None:
    """During a rollout DescribeServices lists the new deployment PRIMARY and the replaced one
    ACTIVE, its tasks still running (ECS API reference, Deployment.status): the environment runs
    two images, so there is no one image to redeploy. moto keeps one deployment a service
    (moto/ecs/models.py, update_service): the stand-in ECS (testing/ecs.py) answers this."""
    old = images.push(("old",), SHA_RUNNING)
    new = images.push(("new",), SHA_NEWER)
    with EcsStandIn() as ecs:
        arn = ecs.add_service(
            "toto-prod", "expenses", "expenses:2", 1, (f"{registry.host}/{repository}@{new}",)
        )
        ecs.replacing("toto-prod", "expenses", "expenses:1", (f"{registry.host}/{repository}:old",))
        result = lookup({"ecs_service_arn": arn}, repository, aws_endpoint=ecs.url)
    listed = ", ".join(f"{digest} (toto-prod/expenses)" for digest in sorted([old, new]))
    _assert_nothing_to_redeploy(
        result,
        f"error: the services run 2 images of {registry.host}/{repository}: {listed}: "
        "one image expected, nothing to redeploy\n",
    )


def test_an_image_of_another_repository_is_exit_1(
    lookup: Lookup, images: Images, registry: Registry, repository: str
) -> None:
    """An image planted in another repository (dev's, which any writer can push to) with a
    revision label of prod's commit is never taken for prod's image."""
    planted_repository = repository.replace("/prod", "/dev")
    planted = images.push(("x",), SHA_RUNNING, planted_repository)
    arn = seed_service(
        lookup.moto, "expenses", (f"{registry.host}/{planted_repository}@{planted}",)
    )
    result = lookup({"ecs_service_arn": arn}, repository)
    _assert_nothing_to_redeploy(
        result,
        f"error: the services run no image of {registry.host}/{repository} (toto-prod/expenses "
        f"runs {registry.host}/{planted_repository}@{planted}): nothing to redeploy\n",
    )


def test_an_image_without_the_revision_label_is_exit_1(
    lookup: Lookup, images: Images, registry: Registry, repository: str
) -> None:
    unlabelled = images.push(("x",), None)
    arn = seed_service(lookup.moto, "expenses", (f"{registry.host}/{repository}@{unlabelled}",))
    result = lookup({"ecs_service_arn": arn}, repository)
    _assert_nothing_to_redeploy(
        result,
        f"error: {registry.host}/{repository}@{unlabelled} has no label "
        "org.opencontainers.image.revision: its commit is unknown, nothing to redeploy\n",
    )


def test_a_sidecar_of_another_repository_is_left_aside(
    lookup: Lookup, images: Images, registry: Registry, repository: str
) -> None:
    running = images.push((SHA_RUNNING[:7],), SHA_RUNNING)
    image = f"{registry.host}/{repository}@{running}"
    arn = seed_service(lookup.moto, "expenses", (image, "public.ecr.aws/aws-observability/x:1"))
    result = lookup({"ecs_service_arn": arn}, repository)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert step_outputs(result.stdout, OUTPUTS)["image"] == image


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--outputs-file", "absent.json", "--image-repository", "x/prod"],
            "--outputs-file 'absent.json' does not exist",
        ),
        (["--outputs-file", "{outputs}"], "--outputs-file needs --image-repository"),
        (
            ["--outputs-file", "{outputs}", "--image-repository", "Bad Name"],
            "--image-repository 'Bad Name' is not a repository name",
        ),
        (
            [
                "--outputs-file",
                "{outputs}",
                "--image-repository",
                "x/prod",
                "--registry-username",
                "u",
            ],
            "--registry-username needs --registry-password",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    cli: CliRunner, tmp_path: Path, arguments: list[str], message: str
) -> None:
    outputs = write_outputs(tmp_path / "outputs.json", {"ecs_service_arn": "x"})
    given = [a.replace("{outputs}", str(outputs)) for a in arguments]
    result = cli(
        "deployed-commit",
        "--environment",
        "prod",
        *given,
        env={"GITHUB_REPOSITORY": "acme/x", "GITHUB_TOKEN": "t"},
    )
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")


def _assert_nothing_to_redeploy(result: CliResult, stderr: str) -> None:
    """The command refused: exit 1, that one line on stderr, no step output."""
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr == stderr
    assert step_outputs(result.stdout, OUTPUTS) == {}


def _manifest_puts(registry: Registry) -> int:
    """How many manifest PUTs the registry has logged."""
    text = registry.log_path.read_text(encoding="utf-8", errors="replace")
    return sum(1 for line in text.splitlines() if "PUT /v2/" in line and "/manifests/" in line)


def test_a_running_image_of_a_commit_the_job_s_branch_does_not_contain_is_exit_1(
    lookup: Lookup, images: Images, registry: Registry, repository: str
) -> None:
    """The label names a commit of feature/x, which the redeploy job's branch (release/2.0)
    does not contain: exit 1, nothing reported, as a record of that commit would be. The
    compare the command asked is the one GitHub's description has (base...head)."""
    elsewhere = images.push((SHA_ELSEWHERE[:7],), SHA_ELSEWHERE)
    image = f"{registry.host}/{repository}@{elsewhere}"
    arn = seed_service(lookup.moto, "expenses", (image,))
    result = lookup({"ecs_service_arn": arn}, repository)
    _assert_nothing_to_redeploy(
        result,
        f"error: prod runs {SHA_ELSEWHERE} ({image}), which the job's branch release/2.0 does "
        "not contain: nothing applied (redeploy it from a branch that contains it)\n",
    )
    compares = [r.path for r in lookup.github.requests if "/compare/" in r.path]
    assert compares == [f"/repos/{REPOSITORY}/compare/release/2.0...{SHA_ELSEWHERE}"]
