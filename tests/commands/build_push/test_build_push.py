"""`toto-actions build-push` against a real dockerd, a distribution registry and moto's ECR:
builds, reuse, tags, ECR, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests

from testing.local_stack import (
    BaseImage,
    MotoServer,
    Registry,
    push_index,
)
from tests.commands.build_push.conftest import (
    PASSWORD,
    Service,
    ecr_client,
    ecr_repository_holding_the_build,
    ecr_repository_names,
    ecr_tags,
    forget_every_image,
    inputs_tag,
    on_registry,
    outputs_of,
    registry_digest,
    registry_labels,
    registry_tags,
    write_dockerfile,
)
from tests.conftest import CliRunner


def test_a_first_build_pushes_tags_labels_and_a_confirmed_digest(
    service: Service, registry: Registry
) -> None:
    result = service(
        "--repository", "toto/first", "--registry", registry.host, "--labels", "team=games"
    )
    assert result.exit_code == 0, result.stderr
    outputs = outputs_of(result)
    assert outputs["skipped"] == "false"
    assert outputs["tags"] == "0123456,1.4.0"
    assert outputs["tag"] == "0123456"
    digest = outputs["digest"]
    assert outputs["image"] == f"{registry.host}/toto/first@{digest}"
    tags = registry_tags(registry, "toto/first")
    assert "0123456" in tags and "1.4.0" in tags
    assert any(tag.startswith("toto-inputs-") for tag in tags)
    assert {registry_digest(registry, "toto/first", tag) for tag in tags} == {digest}
    labels = registry_labels(registry, "toto/first", "0123456")
    assert labels["org.opencontainers.image.revision"] == "0123456789abcdef"
    assert labels["org.opencontainers.image.version"] == "1.4.0"
    assert labels["team"] == "games"
    assert "org.opencontainers.image.created" in labels
    assert re.search(r"#\d+ \[1/1\] COPY app.txt /app.txt", result.stdout)  # streamed to the log


def test_an_unchanged_source_on_a_fresh_runner_builds_nothing(
    service: Service, registry: Registry, engine_client: Any
) -> None:
    first = service("--repository", "toto/reuse", "--registry", registry.host)
    assert first.exit_code == 0, first.stderr
    left = forget_every_image(engine_client)
    (service.root / "notes" / "todo.md").write_text("ignored by .dockerignore\n", encoding="utf-8")
    again = service(
        "--repository", "toto/reuse", "--registry", registry.host, "--tags", "0123456,release-7"
    )
    assert again.exit_code == 0, again.stderr
    outputs = outputs_of(again)
    assert outputs["skipped"] == "true"
    assert outputs["digest"] == outputs_of(first)["digest"]
    assert "COPY app.txt" not in again.stdout
    assert {i.id for i in engine_client.images.list(all=True)} == left  # nothing built or pulled
    assert registry_digest(registry, "toto/reuse", "release-7") == outputs["digest"]


def test_a_changed_source_is_built_again(service: Service, registry: Registry) -> None:
    first = service("--repository", "toto/changed", "--registry", registry.host)
    (service.root / "app.txt").write_text("version two\n", encoding="utf-8")
    second = service("--repository", "toto/changed", "--registry", registry.host)
    assert second.exit_code == 0, second.stderr
    assert outputs_of(second)["skipped"] == "false"
    assert outputs_of(second)["digest"] != outputs_of(first)["digest"]
    assert registry_digest(registry, "toto/changed", "0123456") == outputs_of(second)["digest"]


def test_a_run_step_builds_on_a_local_base_image(
    service: Service, registry: Registry, base_image: BaseImage
) -> None:
    write_dockerfile(service, base_image, 'ARG GREETING\nRUN echo "$GREETING" > /greeting\n')
    # The test engine has no bridge: RUN steps get no network.
    result = service(
        *on_registry(registry, "toto/run", "--build-args", "GREETING=hello", "--tags", "t1")
    )
    assert result.exit_code == 0, result.stderr
    assert registry_tags(registry, "toto/run")[0] == "t1"


def test_a_failing_build_step_fails_with_the_engine_message_and_pushes_nothing(
    service: Service, registry: Registry, base_image: BaseImage
) -> None:
    write_dockerfile(service, base_image, "RUN exit 3\n")
    result = service(*on_registry(registry, "toto/broken"))
    assert result.exit_code == 1
    assert "exit code: 3" in result.stderr
    assert "Traceback" not in result.stderr
    assert registry_tags(registry, "toto/broken") == []


def test_a_dockerfile_that_needs_buildkit_builds(
    service: Service, registry: Registry, base_image: BaseImage
) -> None:
    write_dockerfile(
        service,
        base_image,
        "RUN --mount=type=bind,source=app.txt,target=/mnt/app.txt cp /mnt/app.txt /copied\n",
    )
    result = service(*on_registry(registry, "toto/buildkit"))
    assert result.exit_code == 0, result.stderr
    assert registry_tags(registry, "toto/buildkit")


def on_x(*arguments: str) -> list[str]:
    """The arguments of a build of the repository toto/x."""
    return ["--repository", "toto/x", *arguments]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--repository", "Toto/Upper"],
            "repository 'Toto/Upper' is not a valid image repository name: lower-case "
            "letters and digits, with '.', '_', '-' or '/' between them",
        ),
        (
            on_x("--tags", "ok,-bad"),
            "tag '-bad' is not a valid tag: up to "
            "128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
        ),
        (
            on_x("--dockerfile", "nowhere/Dockerfile"),
            "Dockerfile 'nowhere/Dockerfile' does not exist",
        ),
        (
            on_x("--build-args", "NOEQUALS"),
            "--build-args: 'NOEQUALS' is not NAME=VALUE",
        ),
        (
            on_x("--lifecycle-policy", '{"rules": "expire"}'),
            '--lifecycle-policy: needs "rules", a list of one rule or more',
        ),
        (
            on_x("--secrets", "token=ok\nhunter2-not-shown"),
            "--secrets: line 2 is not NAME=VALUE",
        ),
        (
            on_x("--secret-files", "npm=absent/npmrc"),
            "--secret-files: npm: no file at 'absent/npmrc'",
        ),
        (
            on_x("--platforms", "linux/amd64,linux/z80"),
            "--platforms: 'linux/z80' is not a platform: OS/ARCH[/VARIANT], e.g. linux/amd64, "
            "linux/arm64, linux/arm/v7",
        ),
        (
            on_x("--cache-from", "registry.test/app:cache"),
            "--cache-from: 'registry.test/app:cache' is not a cache spec: "
            "type=registry,ref=HOST/REPO:TAG, type=inline, type=local,src=DIR, type=gha, ...",
        ),
        (
            on_x("--ssh", "agent"),
            "--ssh: 'agent' is neither default nor ID=PATH",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    service: Service, registry: Registry, arguments: list[str], message: str
) -> None:
    result = service(*arguments, "--registry", registry.host)
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")
    assert registry_tags(registry, "toto/x") == []


def test_a_network_that_is_not_documented_is_one_line_exit_2(
    service: Service, registry: Registry
) -> None:
    result = service(
        "--repository", "toto/x", "--registry", registry.host, env={"INPUT_NETWORK": "bridge"}
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "error: INPUT_NETWORK='bridge': expected one of default, none, host\n",
    )
    assert registry_tags(registry, "toto/x") == []


def test_attestations_with_the_built_in_client_are_refused_plainly(
    service: Service, registry: Registry
) -> None:
    """The test machine's only BuildKit client is Debian's docker 20.10, without buildx."""
    result = service("--repository", "toto/x", "--registry", registry.host, "--sbom", "true")
    assert result.exit_code == 2
    assert re.fullmatch(
        r"error: --sbom: attestations need docker buildx; \S+ [\w.+~-]+ has BuildKit built in"
        r" only, which makes none\n",
        result.stderr,
    )
    assert registry_tags(registry, "toto/x") == []


def test_a_missing_context_is_one_line(cli: CliRunner, registry: Registry) -> None:
    result = cli(
        "build-push",
        "--repository",
        "toto/x",
        "--context",
        "absent",
        "--registry",
        registry.host,
        "--tags",
        "t",
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "error: build context 'absent' is not a directory\n",
    )


def engine_nowhere(tmp_path: Path) -> dict[str, str]:
    """The variable that points the docker SDK at a socket no engine listens on."""
    return {"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}


def test_no_docker_engine_is_one_line_and_nothing_is_pushed(
    service: Service, registry: Registry, tmp_path: Path
) -> None:
    no_engine = engine_nowhere(tmp_path)
    result = service("--repository", "toto/noengine", "--registry", registry.host, env=no_engine)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: no Docker engine at {no_engine['DOCKER_HOST']}")
    assert result.stderr.count("\n") == 1
    assert registry_tags(registry, "toto/noengine") == []


def test_no_aws_credentials_is_one_line(service: Service, tmp_path: Path) -> None:
    empty = tmp_path / "empty-aws-file"
    empty.touch()
    result = service(
        "--repository",
        "toto/ecr",
        "--aws-region",
        "eu-west-1",
        env={
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "AWS credentials" in result.stderr


def test_the_registry_password_never_reaches_the_log(service: Service, registry: Registry) -> None:
    result = service(
        "--repository",
        "toto/secret",
        "--registry",
        registry.host,
        "--registry-username",
        "ci",
        "--registry-password",
        PASSWORD,
        env={"GITHUB_ACTIONS": "true"},
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"::add-mask::{PASSWORD}" in result.stdout
    logged = result.stdout.replace(f"::add-mask::{PASSWORD}", "") + result.stderr
    assert PASSWORD not in logged


def test_on_ecr_an_image_from_the_same_inputs_gets_the_tags_through_the_api(
    service: Service, registry: Registry, moto_server: MotoServer, engine_client: Any
) -> None:
    """The ECR side (find by the inputs tag, PutImage, DescribeImages) runs against moto."""
    ecr, _, built = ecr_repository_holding_the_build(
        service, registry, moto_server, "toto/ecr-reuse", "IMMUTABLE"
    )
    forget_every_image(engine_client)
    for _ in range(2):  # a re-run on an IMMUTABLE repository succeeds too
        result = service("--repository", "toto/ecr-reuse", env=moto_server.env)
        assert result.exit_code == 0, result.stderr
        outputs = outputs_of(result)
        assert outputs["skipped"] == "true"
        assert outputs["digest"] == built.digest
        assert outputs["registry"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert set(ecr_tags(ecr, "toto/ecr-reuse")) >= {built.tag, "0123456", "1.4.0"}
    assert json.loads(built.manifest)["config"]


def test_changed_labels_are_a_new_build(service: Service, registry: Registry) -> None:
    first = service("--repository", "toto/labels", "--registry", registry.host, "--labels", "t=a")
    second = service("--repository", "toto/labels", "--registry", registry.host, "--labels", "t=b")
    assert (first.exit_code, second.exit_code) == (0, 0), second.stderr
    assert outputs_of(second)["skipped"] == "false"
    assert registry_labels(registry, "toto/labels", "0123456")["t"] == "b"


def test_on_ecr_nothing_is_created_before_the_build_can_happen(
    service: Service, moto_server: MotoServer, tmp_path: Path
) -> None:
    result = service(
        "--repository", "toto/noengine-ecr", env={**moto_server.env, **engine_nowhere(tmp_path)}
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no Docker engine at")
    assert "toto/noengine-ecr" not in ecr_repository_names(moto_server)


def test_on_ecr_a_bad_lifecycle_policy_is_one_line_and_nothing_is_created(
    service: Service, moto_server: MotoServer
) -> None:
    result = service(
        "--repository", "toto/bad-policy", "--lifecycle-policy", "expire", env=moto_server.env
    )
    assert (result.exit_code, result.stderr.count("\n")) == (2, 1)
    assert result.stderr.startswith("error: --lifecycle-policy: not JSON (Expecting value")
    assert "toto/bad-policy" not in ecr_repository_names(moto_server)


def test_on_ecr_a_scan_threshold_on_a_repository_that_scans_nothing_is_one_line_at_once(
    service: Service, moto_server: MotoServer
) -> None:
    ecr = ecr_client(moto_server)
    ecr.create_repository(
        repositoryName="toto/unscanned", imageScanningConfiguration={"scanOnPush": False}
    )
    result = service(
        "--repository",
        "toto/unscanned",
        "--scan-severity-threshold",
        "HIGH",
        "--scan-timeout",
        "600",
        env=moto_server.env,
    )
    assert (result.exit_code, result.stderr.count("\n")) == (2, 1), result.stderr
    assert result.stderr.startswith(
        "error: --scan-severity-threshold: ECR does not scan images pushed to toto/unscanned"
    )
    assert ecr.describe_images(repositoryName="toto/unscanned")["imageDetails"] == []


def test_on_an_immutable_repository_a_taken_tag_is_refused_before_any_write(
    service: Service, registry: Registry, moto_server: MotoServer
) -> None:
    ecr, _, built = ecr_repository_holding_the_build(
        service, registry, moto_server, "toto/immutable", "IMMUTABLE", other_tags=["release"]
    )
    result = service(
        "--repository", "toto/immutable", "--tags", "aaa,release,zzz", env=moto_server.env
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: toto/immutable is IMMUTABLE and already has release on another image: pass "
        "tags that are free (the default short-commit tag changes per commit)\n"
    )
    assert set(ecr_tags(ecr, "toto/immutable")) == {built.tag, "release"}


def test_an_index_from_the_same_inputs_gets_the_tags_and_an_unknown_size(
    service: Service, registry: Registry, tmp_path: Path
) -> None:
    """The inputs tag names an image index (a multi-platform push made elsewhere): the tags go
    onto the index, and its size, which no one number describes, is reported as unknown."""
    first = service("--repository", "toto/index", "--registry", registry.host)
    assert first.exit_code == 0, first.stderr
    marker = inputs_tag(registry, "toto/index")
    index_digest = push_index(
        registry, "toto/index", marker, "application/vnd.oci.image.index.v1+json", marker
    )
    summary = tmp_path / "summary.md"
    summary.touch()

    result = service(
        "--repository",
        "toto/index",
        "--registry",
        registry.host,
        "--tags",
        "0123456,multi",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    outputs = outputs_of(result)
    assert (outputs["skipped"], outputs["digest"]) == ("true", index_digest)
    multi = requests.head(
        f"{registry.url}/v2/toto/index/manifests/multi",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        timeout=10,
    )
    assert multi.headers["Docker-Content-Digest"] == index_digest
    assert "| size | unknown |" in summary.read_text(encoding="utf-8")


class ExclusionCase(NamedTuple):
    setting: str  # the repository's imageTagMutability
    exclusion: str  # its one WILDCARD exclusion filter
    other_tags: list[str]  # the tags of another image in it
    requested: str  # --tags
    refused: str  # the tag the check refuses


# moto reads an exclusion filter as a regular expression matched at the start of the tag, where
# ECR reads `*` as any run of characters over the whole tag: these filters mean the same to both
# (toto_actions.images.names' own tests cover the rest of the wildcard).
EXCLUSION_CASES = [
    # Immutable but for dev-*: release may not move, dev-1 may.
    ExclusionCase(
        "IMMUTABLE_WITH_EXCLUSION", "dev-*", ["release", "dev-1"], "aaa,dev-1,release", "release"
    ),
    # Mutable but for stable-*: latest may move, stable-1.4 may not.
    ExclusionCase(
        "MUTABLE_WITH_EXCLUSION",
        "stable-*",
        ["latest", "stable-1.4"],
        "latest,stable-1.4",
        "stable-1.4",
    ),
]


def ecr_repository_with_exclusions(
    service: Service, registry: Registry, moto_server: MotoServer, case: ExclusionCase
) -> tuple[Any, str, str, str]:
    """The case's ECR repository, holding the service's build and another image under the case's
    other tags. Returns the client, the repository, the inputs tag and the other image's digest."""
    ecr, repository, built = ecr_repository_holding_the_build(
        service,
        registry,
        moto_server,
        f"toto/{case.setting.lower().replace('_', '-')}-{len(case.other_tags)}",
        case.setting,
        exclusion=case.exclusion,
        other_tags=case.other_tags,
    )
    return ecr, repository, built.tag, ecr_tags(ecr, repository)[case.other_tags[0]]


@pytest.mark.parametrize("case", EXCLUSION_CASES, ids=lambda case: case.setting)
def test_with_exclusion_filters_a_taken_immutable_tag_is_refused_before_any_write(
    service: Service, registry: Registry, moto_server: MotoServer, case: ExclusionCase
) -> None:
    ecr, repository, marker, other = ecr_repository_with_exclusions(
        service, registry, moto_server, case
    )
    before = ecr_tags(ecr, repository)

    result = service("--repository", repository, "--tags", case.requested, env=moto_server.env)

    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {repository} is {case.setting} (exclusion filters {case.exclusion}) and "
        f"already has {case.refused} on another image: pass tags that are free (the default "
        "short-commit tag changes per commit)\n",
    )
    assert ecr_tags(ecr, repository) == before  # nothing moved, nothing added
    assert set(before) == {marker, *case.other_tags} and before[case.refused] == other


def test_a_tag_an_exclusion_filter_lets_move_is_moved(
    service: Service, registry: Registry, moto_server: MotoServer
) -> None:
    case = ExclusionCase("IMMUTABLE_WITH_EXCLUSION", "dev-*", ["dev-1"], "aaa,dev-1", "")
    ecr, repository, _, other = ecr_repository_with_exclusions(service, registry, moto_server, case)

    result = service("--repository", repository, "--tags", case.requested, env=moto_server.env)

    assert result.exit_code == 0, result.stderr
    digest = outputs_of(result)["digest"]
    assert digest != other
    assert {ecr_tags(ecr, repository)[tag] for tag in ("aaa", "dev-1")} == {digest}
