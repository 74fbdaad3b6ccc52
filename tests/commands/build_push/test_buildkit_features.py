"""`toto-actions build-push` with BuildKit's features: build secrets, the layer cache on a fresh
runner, base images' digests, a private base pulled with the build's own login."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests

from testing.images import build_image
from testing.local_stack import (
    BaseImage,
    DockerEngine,
    Registry,
)
from tests.commands.build_push.conftest import (
    MANIFEST_ACCEPT,
    Service,
    forget_every_image,
    on_registry,
    outputs_of,
    push_private_base,
    push_to_registry,
    registry_digest,
    registry_tags,
    write_dockerfile,
)
from tests.conftest import CliResult

SECRET_VALUE = "s3cr3t-build-token-9f1c"  # 23 characters
SECRET_FILE_CONTENT = "//npm.test/:_authToken=file-secret-77ab\n"


def registry_blobs(registry: Registry, repository: str, tag: str) -> dict[str, bytes]:
    """Every blob the registry serves for repository:tag (config and layers), by digest, with
    each gzip layer also unpacked (its tar) under `<digest>.tar`."""
    manifest = requests.get(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    assert manifest.status_code == 200
    document = manifest.json()
    blobs: dict[str, bytes] = {"manifest": manifest.content}
    for descriptor in [document["config"], *document["layers"]]:
        digest = descriptor["digest"]
        answer = requests.get(f"{registry.url}/v2/{repository}/blobs/{digest}", timeout=30)
        assert answer.status_code == 200, digest
        blobs[digest] = answer.content
        if answer.content[:2] == b"\x1f\x8b":
            blobs[f"{digest}.tar"] = gzip.decompress(answer.content)
    return blobs


def file_in_layers(blobs: dict[str, bytes], name: str) -> str:
    """The content of the file name in the image's unpacked layers (the last layer wins)."""
    found = None
    for key, content in blobs.items():
        if key.endswith(".tar"):
            with tarfile.open(fileobj=io.BytesIO(content)) as layer:
                if name in layer.getnames():
                    member = layer.extractfile(name)
                    assert member is not None
                    found = member.read().decode()
    assert found is not None, name
    return found


def test_build_secrets_reach_their_run_step_and_nothing_else(
    service: Service,
    registry: Registry,
    base_image: BaseImage,
    docker_engine: DockerEngine,
    tmp_path: Path,
) -> None:
    write_dockerfile(
        service,
        base_image,
        "RUN --mount=type=secret,id=token --mount=type=secret,id=npmrc "
        "wc -c < /run/secrets/token > /token-length && "
        "sha256sum /run/secrets/npmrc | cut -c1-64 > /npmrc-sha256\n",
    )
    npmrc = tmp_path / "npmrc"
    npmrc.write_text(SECRET_FILE_CONTENT, encoding="utf-8")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    output_file = tmp_path / "github-output"
    output_file.touch()

    result = service(
        *on_registry(registry, "toto/secrets"),
        "--secrets",
        f"token={SECRET_VALUE}",
        "--secret-files",
        f"npmrc={npmrc}",
        env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(output_file),
            "TMPDIR": str(private_tmp),
        },
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    mask = f"::add-mask::{SECRET_VALUE}"
    assert result.stdout.startswith(mask)  # masked before anything ran
    blobs = registry_blobs(registry, "toto/secrets", "0123456")
    assert file_in_layers(blobs, "token-length").strip() == str(len(SECRET_VALUE))
    assert file_in_layers(blobs, "npmrc-sha256").strip() == (
        hashlib.sha256(SECRET_FILE_CONTENT.encode()).hexdigest()
    )
    for secret in (SECRET_VALUE, SECRET_FILE_CONTENT.strip()):
        assert not [key for key, blob in blobs.items() if secret.encode() in blob]
        assert secret not in result.stdout.replace(mask, "") + result.stderr
        assert secret not in output_file.read_text(encoding="utf-8")
        assert secret not in docker_engine.log_path.read_text(encoding="utf-8", errors="replace")
    assert list(private_tmp.iterdir()) == []  # the secret files and Docker config are gone


def test_a_failed_build_leaves_no_secret_file_or_docker_config(
    service: Service, registry: Registry, base_image: BaseImage, tmp_path: Path
) -> None:
    write_dockerfile(service, base_image, "RUN --mount=type=secret,id=token exit 4\n")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    result = service(
        *on_registry(registry, "toto/secrets-failed"),
        "--secrets",
        f"token={SECRET_VALUE}",
        env={"TMPDIR": str(private_tmp)},
    )
    assert result.exit_code == 1
    assert "exit code: 4" in result.stderr
    assert SECRET_VALUE not in result.stdout + result.stderr
    assert list(private_tmp.iterdir()) == []
    assert registry_tags(registry, "toto/secrets-failed") == []


def test_a_rotated_secret_value_reuses_the_image_a_new_secret_id_builds_again(
    service: Service, registry: Registry
) -> None:
    def run(*arguments: str) -> dict[str, str]:
        result = service("--repository", "toto/rotated", "--registry", registry.host, *arguments)
        assert result.exit_code == 0, result.stderr
        return outputs_of(result)

    first = run("--secrets", "token=first-value")
    rotated = run("--secrets", "token=second-value")
    renamed = run("--secrets", "api_token=second-value")
    on_arm = run("--secrets", "api_token=second-value", "--platforms", "linux/arm64")
    assert (first["skipped"], rotated["skipped"]) == ("false", "true")
    assert rotated["digest"] == first["digest"]
    assert (renamed["skipped"], on_arm["skipped"]) == ("false", "false")


def forget_everything_built(client: Any) -> None:
    """A fresh runner: no image but the session's base image, and no build cache."""
    forget_every_image(client)
    client.api.prune_builds(all=True)


def layer_digests(registry: Registry, repository: str, tag: str) -> list[str]:
    manifest = requests.get(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=10,
    ).json()
    return [layer["digest"] for layer in manifest["layers"]]


DEPENDENCY_STEP = "RUN sleep 2 && echo deps > /deps"


def step_outcome(result: CliResult, step: str) -> str:
    """How BuildKit's plain progress ended a step: `CACHED`, `DONE 2.1s`, ..."""
    found = re.search(
        rf"^#(\d+) {re.escape(step)}\n(?:#\1 .*\n)*?#\1 (CACHED|DONE.*|ERROR.*)$",
        result.stdout,
        re.MULTILINE,
    )
    assert found, f"no step {step!r} in the log"
    return found.group(2)


def test_a_one_line_change_on_a_fresh_runner_rebuilds_only_the_steps_after_it(
    service: Service, registry: Registry, base_image: BaseImage, engine_client: Any
) -> None:
    write_dockerfile(service, base_image, f"{DEPENDENCY_STEP}\nCOPY app.txt /app.txt\n")
    arguments = on_registry(registry, "toto/layers", "--branch", "feature/login")
    first = service(*arguments, "--tags", "first")
    assert first.exit_code == 0, first.stderr
    assert "layer cache of branch feature/login: none yet" in first.stdout
    forget_everything_built(engine_client)
    (service.root / "app.txt").write_text("version one\nand one line more\n", encoding="utf-8")

    second = service(*arguments, "--tags", "second")

    assert second.exit_code == 0, second.stderr
    first_digest, second_digest = outputs_of(first)["digest"], outputs_of(second)["digest"]
    source = f"{registry.host}/toto/layers@{first_digest}"
    assert f"layer cache of branch feature/login: from {source}" in second.stdout
    assert step_outcome(second, f"[2/3] {DEPENDENCY_STEP}") == "CACHED"  # from the registry
    assert step_outcome(second, "[3/3] COPY app.txt /app.txt").startswith("DONE")
    first_layers = layer_digests(registry, "toto/layers", "first")
    second_layers = layer_digests(registry, "toto/layers", "second")
    assert first_layers[:-1] == second_layers[:-1]  # the base and the dependencies, reused
    assert first_layers[-1] != second_layers[-1]  # app.txt, built again
    for tag in ("toto-cache-feature-login", "toto-cache"):
        assert registry_digest(registry, "toto/layers", tag) == second_digest


def test_another_branch_starts_from_the_repository_s_newest_image(
    service: Service, registry: Registry
) -> None:
    main = service("--repository", "toto/branches", "--registry", registry.host, "--branch", "main")
    assert main.exit_code == 0, main.stderr
    (service.root / "app.txt").write_text("version two\n", encoding="utf-8")

    feature = service(
        "--repository", "toto/branches", "--registry", registry.host, "--branch", "fix/x"
    )

    assert feature.exit_code == 0, feature.stderr
    main_digest = outputs_of(main)["digest"]
    assert f"from {registry.host}/toto/branches@{main_digest}" in feature.stdout
    assert registry_digest(registry, "toto/branches", "toto-cache-main") == main_digest
    feature_digest = outputs_of(feature)["digest"]
    assert registry_digest(registry, "toto/branches", "toto-cache-fix-x") == feature_digest
    assert registry_digest(registry, "toto/branches", "toto-cache") == feature_digest


def test_without_the_layer_cache_no_cache_tag_is_read_or_written(
    service: Service, registry: Registry
) -> None:
    result = service(
        "--repository=toto/nocache", f"--registry={registry.host}", "--layer-cache=false"
    )
    assert result.exit_code == 0, result.stderr
    assert "layer cache" not in result.stdout
    assert not [tag for tag in registry_tags(registry, "toto/nocache") if "cache" in tag]


def test_the_inline_cache_argument_is_not_an_input(service: Service, registry: Registry) -> None:
    first = service("--repository", "toto/inline", "--registry", registry.host)
    again = service(
        "--repository",
        "toto/inline",
        "--registry",
        registry.host,
        "--build-args",
        "BUILDKIT_INLINE_CACHE=1",
    )
    assert again.exit_code == 0, again.stderr
    assert outputs_of(again)["skipped"] == "true"
    assert outputs_of(again)["digest"] == outputs_of(first)["digest"]


def base_lookups(registry: Registry, repository: str, tag: str) -> int:
    """The HEADs of repository:tag's manifest that build-push (python-requests) sent, from the
    registry's request log; BuildKit's own requests are not counted."""
    path = f"/v2/{repository}/manifests/{tag}"
    uris = {f"http.request.uri={path} ", f'http.request.uri="{path}" '}
    return sum(
        1
        for line in registry.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        if "http.request.method=HEAD" in line
        and "useragent=python-requests/" in line
        and any(uri in line for uri in uris)
    )


def test_a_moved_base_tag_builds_again_an_unchanged_one_reuses_the_image(
    service: Service,
    registry: Registry,
    base_image: BaseImage,
    engine_client: Any,
    docker_engine: DockerEngine,
) -> None:
    base = f"{registry.host}/toto-base/moving:1"
    push_to_registry(engine_client, base_image.tag, base)
    (service.root / "Dockerfile").write_text(
        f"ARG BASE_TAG=0\nFROM {registry.host}/toto-base/moving:${{BASE_TAG}} AS base\n"
        "FROM base\nCOPY app.txt /app.txt\n",
        encoding="utf-8",
    )

    def run() -> dict[str, str]:
        result = service(*on_registry(registry, "toto/on-base", "--build-args", "BASE_TAG=1"))
        assert result.exit_code == 0, result.stderr
        assert "digest is unknown" not in result.stderr
        return outputs_of(result)

    first = run()
    assert base_lookups(registry, "toto-base/moving", "1") == 1  # one HEAD for the one base
    unchanged = run()
    assert base_lookups(registry, "toto-base/moving", "1") == 2
    assert (first["skipped"], unchanged["skipped"]) == ("false", "true")
    assert unchanged["digest"] == first["digest"]
    (marker,) = [t for t in registry_tags(registry, "toto/on-base") if t.startswith("toto-inputs-")]

    # A patched base under the same tag: the security fix must reach the service's image.
    patch = service.root.parent / "patch"
    patch.mkdir()
    (patch / "Dockerfile").write_text(
        f"FROM {base_image.tag}\nCOPY fix.txt /fix.txt\n", encoding="utf-8"
    )
    (patch / "fix.txt").write_text("patched\n", encoding="utf-8")
    patched = build_image(docker_engine.base_url, patch, "toto-test/busybox:patched")
    before = registry_digest(registry, "toto-base/moving", "1")
    push_to_registry(engine_client, patched, base)
    assert registry_digest(registry, "toto-base/moving", "1") != before

    rebuilt = run()
    assert rebuilt["skipped"] == "false"
    assert rebuilt["digest"] != first["digest"]
    markers = {t for t in registry_tags(registry, "toto/on-base") if t.startswith("toto-inputs-")}
    assert len(markers - {marker}) == 1  # a new inputs tag
    assert registry_digest(registry, "toto/on-base", "0123456") == rebuilt["digest"]


def test_a_base_whose_digest_is_unknown_is_built_every_time(
    service: Service, registry: Registry, base_image: BaseImage
) -> None:
    """The session's base image is in the engine only: docker.io/toto-test/busybox cannot be
    asked (no network, or no such image there), so no earlier image may be reused."""
    write_dockerfile(service, base_image, "COPY app.txt /app.txt\n")
    results = [service(*on_registry(registry, "toto/unknown-base")) for _ in range(2)]
    for result in results:
        assert result.exit_code == 0, result.stderr
        assert outputs_of(result)["skipped"] == "false"
        assert (
            f"warning: {service.root / 'Dockerfile'}:1: FROM {base_image.tag}: its digest is "
            "unknown (" in result.stderr
        )
        assert "building, reusing no earlier image" in result.stderr
    assert not [
        t for t in registry_tags(registry, "toto/unknown-base") if t.startswith("toto-inputs-")
    ]


class PrivateBuild(NamedTuple):
    result: CliResult
    runner_home: Path  # HOME and DOCKER_CONFIG (runner_home/.docker) of the command
    private_tmp: Path  # its TMPDIR, where the build's private directory goes


@pytest.fixture
def private_base(private_registry: Registry, engine_client: Any, base_image: BaseImage) -> str:
    """The session's base image in the private registry as base:1, pushed with its login, and
    an engine that has no image by that name (nor any but the session's base image)."""
    base = push_private_base(private_registry, engine_client, base_image, "base:1")
    assert not [i for i in engine_client.images.list() if base in i.tags]
    return base


def build_on_a_private_base(
    service: Service, private_registry: Registry, base: str, repository: str, password: str
) -> PrivateBuild:
    """The service built FROM base (in the private registry) with --pull: BuildKit must pull the
    base from the registry with the login it finds in the build's private DOCKER_CONFIG. The
    command's HOME, DOCKER_CONFIG and TMPDIR are new directories beside the service."""
    login = private_registry.login
    assert login is not None
    (service.root / "Dockerfile").write_text(f"FROM {base}\nRUN echo x > /x\n", encoding="utf-8")
    runner_home, private_tmp = service.root.parent / "runner-home", service.root.parent / "tmp"
    runner_home.mkdir()
    private_tmp.mkdir()
    result = service(
        *on_registry(private_registry, repository, "--pull", "true"),
        "--registry-username",
        login.username,
        "--registry-password",
        password,
        env={
            "HOME": str(runner_home),
            "DOCKER_CONFIG": str(runner_home / ".docker"),
            "TMPDIR": str(private_tmp),
        },
    )
    return PrivateBuild(result, runner_home, private_tmp)


def buildkit_pulls(registry: Registry, repository: str, tag: str) -> int:
    """The requests of repository:tag's manifest that the registry served (200) to the engine's
    BuildKit, neither to build-push's python-requests nor to the docker SDK's push, from the
    registry's access log. On a registry with a login, each was made with it."""
    request = re.compile(
        rf'"(?:GET|HEAD) /v2/{re.escape(repository)}/manifests/{re.escape(tag)} HTTP/[0-9.]+" 200 '
    )
    return sum(
        1
        for line in registry.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        if request.search(line)
        and "python-requests/" not in line
        and "docker-sdk-python" not in line
    )


def assert_no_credential_left(build: PrivateBuild, password: str, engine: DockerEngine) -> None:
    """The password is in no output and no log; the runner's Docker config holds no login; the
    build's private directory (its DOCKER_CONFIG) is gone."""
    logged = build.result.stdout.replace(f"::add-mask::{password}", "") + build.result.stderr
    assert password not in logged
    assert password not in engine.log_path.read_text(encoding="utf-8", errors="replace")
    own_config = build.runner_home / ".docker" / "config.json"
    if own_config.exists():
        assert not json.loads(own_config.read_text(encoding="utf-8")).get("auths")
    for path in build.runner_home.rglob("*"):
        assert not path.is_file() or password not in path.read_text(errors="replace"), path
    assert list(build.private_tmp.iterdir()) == []


def test_buildkit_pulls_a_private_base_with_the_login_of_its_private_docker_config(
    service: Service, private_registry: Registry, private_base: str, docker_engine: DockerEngine
) -> None:
    """The login reaches BuildKit through the build's own DOCKER_CONFIG only: the runner's
    Docker config is left without a credential, and the private one is gone afterwards."""
    login = private_registry.login
    assert login is not None
    build = build_on_a_private_base(
        service, private_registry, private_base, "toto/private-base", login.password
    )
    assert build.result.exit_code == 0, build.result.stdout + build.result.stderr
    assert buildkit_pulls(private_registry, "base", "1") >= 1
    digest = outputs_of(build.result)["digest"]
    served = requests.head(
        f"{private_registry.url}/v2/toto/private-base/manifests/0123456",
        headers={"Accept": MANIFEST_ACCEPT},
        auth=login.basic,
        timeout=10,
    )
    assert (served.status_code, served.headers["Docker-Content-Digest"]) == (200, digest)
    anonymous = requests.head(
        f"{private_registry.url}/v2/toto/private-base/manifests/0123456", timeout=10
    )
    assert anonymous.status_code == 401
    assert_no_credential_left(build, login.password, docker_engine)


def test_a_wrong_registry_password_fails_the_pull_of_a_private_base_plainly(
    service: Service, private_registry: Registry, private_base: str, docker_engine: DockerEngine
) -> None:
    login = private_registry.login
    assert login is not None
    wrong = "wrong-password-never-logged"
    build = build_on_a_private_base(
        service, private_registry, private_base, "toto/private-base-denied", wrong
    )
    assert build.result.exit_code == 1, build.result.stdout + build.result.stderr
    (error,) = [line for line in build.result.stderr.splitlines() if line.startswith("error:")]
    # BuildKit's own words, on one line: `pulling from host HOST failed with status code
    # [manifests 1]: 401 Unauthorized` (the built-in client's)
    assert error.startswith("error: docker build failed: "), error
    assert private_registry.host in error
    assert "401 Unauthorized" in error
    tags = requests.get(
        f"{private_registry.url}/v2/toto/private-base-denied/tags/list",
        auth=login.basic,
        timeout=10,
    )
    assert tags.status_code == 404  # nothing pushed
    assert_no_credential_left(build, wrong, docker_engine)
