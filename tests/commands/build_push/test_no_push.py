"""`build-push --push false` (a pull request's plan): the content-addressed tag and whether the
registry holds it, computed by reading only, against the distribution registry and moto's ECR."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests

from testing.local_stack import BaseImage, MotoServer, Registry
from tests.commands.build_push.conftest import (
    Service,
    ecr_repository_holding_the_build,
    ecr_repository_names,
    ecr_tags,
    inputs_tag,
    on_registry,
    outputs_of,
    push_to_registry,
    registry_tags,
)

WRITES = re.compile(r"http\.request\.method=(PUT|POST|PATCH|DELETE)\b")


class RegistryState:
    """What a write to the registry would change: its catalog, every repository's tags and the
    files of its storage (blobs, uploads, links); and where its log stood."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.log_offset = registry.log_path.stat().st_size
        self.snapshot = self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        url = self.registry.url
        catalog = requests.get(f"{url}/v2/_catalog?n=1000", timeout=10).json()["repositories"]
        storage = self.registry.root / "storage"
        return {
            "catalog": catalog,
            "tags": {name: registry_tags(self.registry, name) for name in catalog},
            "files": sorted(str(p.relative_to(storage)) for p in storage.rglob("*")),
        }

    def writes_since(self) -> list[str]:
        with self.registry.log_path.open(encoding="utf-8", errors="replace") as log:
            log.seek(self.log_offset)
            return [line for line in log if WRITES.search(line)]

    def assert_unchanged(self) -> None:
        assert self.writes_since() == []
        assert self._snapshot() == self.snapshot


def test_without_push_the_plan_names_the_tag_the_push_gives_and_writes_nothing(
    service: Service, registry: Registry, base_image: BaseImage, engine_client: Any
) -> None:
    base = f"{registry.host}/toto-base/plan:1"
    push_to_registry(engine_client, base_image.tag, base)
    (service.root / "Dockerfile").write_text(f"FROM {base}\nCOPY app.txt /app.txt\n")
    arguments = on_registry(registry, "toto/plan")

    before = RegistryState(registry)
    planned = service(*arguments, "--push", "false")
    assert planned.exit_code == 0, planned.stderr
    before.assert_unchanged()
    plan = outputs_of(planned)
    assert plan["inputs-tag"].startswith("toto-inputs-")
    assert (plan["exists"], plan["skipped"], plan["image"], plan["digest"]) == (
        "false",
        "false",
        "",
        "",
    )
    assert plan["tag"] == "0123456"
    assert "toto/plan" not in before.snapshot["catalog"]

    pushed = service(*arguments)
    assert pushed.exit_code == 0, pushed.stderr
    assert (
        outputs_of(pushed)["inputs-tag"] == plan["inputs-tag"] == inputs_tag(registry, "toto/plan")
    )
    assert outputs_of(pushed)["exists"] == "false"

    after_push = RegistryState(registry)
    replanned = service(*arguments, "--push", "false", "--tags", "other")
    assert replanned.exit_code == 0, replanned.stderr
    after_push.assert_unchanged()  # no tag "other", no cache mark
    again = outputs_of(replanned)
    assert (again["inputs-tag"], again["exists"]) == (plan["inputs-tag"], "true")
    assert again["digest"] == outputs_of(pushed)["digest"]
    assert again["image"] == f"{registry.host}/toto/plan@{again['digest']}"
    assert "COPY app.txt" not in replanned.stdout

    (service.root / "app.txt").write_text("version two\n", encoding="utf-8")
    changed = service(*arguments, "--push", "false")
    assert changed.exit_code == 0, changed.stderr
    after_push.assert_unchanged()
    moved = outputs_of(changed)
    assert moved["inputs-tag"].startswith("toto-inputs-")
    assert (moved["inputs-tag"] != plan["inputs-tag"], moved["exists"]) == (True, "false")


def test_without_push_no_docker_engine_is_needed(
    service: Service, registry: Registry, tmp_path: Path
) -> None:
    nowhere = {"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    summary = tmp_path / "summary.md"
    summary.touch()
    before = RegistryState(registry)
    result = service(
        "--repository",
        "toto/plan-noengine",
        "--registry",
        registry.host,
        "--push",
        "false",
        env={**nowhere, "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 0, result.stderr
    before.assert_unchanged()
    assert outputs_of(result)["exists"] == "false"
    marker = outputs_of(result)["inputs-tag"]
    assert f"| inputs tag | `{marker}` |" in summary.read_text(encoding="utf-8")
    assert "push: false, nothing built or pushed: a push builds it" in summary.read_text(
        encoding="utf-8"
    )


def test_on_ecr_without_push_nothing_is_created(service: Service, moto_server: MotoServer) -> None:
    result = service("--repository", "toto/plan-ecr", "--push", "false", env=moto_server.env)
    assert result.exit_code == 0, result.stderr
    assert outputs_of(result)["exists"] == "false"
    assert outputs_of(result)["inputs-tag"].startswith("toto-inputs-")
    assert outputs_of(result)["registry"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert "toto/plan-ecr" not in ecr_repository_names(moto_server)


def test_on_ecr_without_push_an_image_from_the_same_inputs_is_found_and_left_alone(
    service: Service, registry: Registry, moto_server: MotoServer
) -> None:
    ecr, name, built = ecr_repository_holding_the_build(
        service, registry, moto_server, "toto/plan-ecr-held", "MUTABLE"
    )
    before = ecr_tags(ecr, name)
    policy = ecr.exceptions.LifecyclePolicyNotFoundException

    result = service("--repository", name, "--push", "false", env=moto_server.env)

    assert result.exit_code == 0, result.stderr
    outputs = outputs_of(result)
    assert (outputs["inputs-tag"], outputs["exists"], outputs["digest"]) == (
        built.tag,
        "true",
        built.digest,
    )
    assert ecr_tags(ecr, name) == before == {built.tag: built.digest}
    with pytest.raises(policy):
        ecr.get_lifecycle_policy(repositoryName=name)


def test_without_push_a_base_whose_digest_is_unknown_gives_no_inputs_tag(
    service: Service, registry: Registry, base_image: BaseImage
) -> None:
    """The session's base image is in the engine only: its digest cannot be asked of a
    registry, so the push would tag no inputs tag either (it builds every time)."""
    (service.root / "Dockerfile").write_text(f"FROM {base_image.tag}\nCOPY app.txt /app.txt\n")
    before = RegistryState(registry)
    result = service(*on_registry(registry, "toto/plan-unknown-base", "--push", "false"))
    assert result.exit_code == 0, result.stderr
    before.assert_unchanged()
    assert (outputs_of(result)["inputs-tag"], outputs_of(result)["exists"]) == ("", "false")
    assert "its digest is unknown" in result.stdout + result.stderr
    assert "the image would carry no inputs tag" in result.stdout + result.stderr

    pushed = service(*on_registry(registry, "toto/plan-unknown-base"))
    assert pushed.exit_code == 0, pushed.stderr
    assert outputs_of(pushed)["inputs-tag"] == ""
    tags = registry_tags(registry, "toto/plan-unknown-base")
    assert "0123456" in tags and not [t for t in tags if t.startswith("toto-inputs-")]


@pytest.mark.parametrize(
    ("arguments", "env", "message"),
    [
        (["--push", "maybe"], {}, "--push 'maybe': expected true or false"),
        ([], {"INPUT_PUSH": "yes please"}, "INPUT_PUSH='yes please': expected true or false"),
    ],
)
def test_a_push_that_is_not_a_boolean_is_one_line_exit_2(
    service: Service,
    registry: Registry,
    arguments: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    before = RegistryState(registry)
    result = service(
        "--repository", "toto/plan-bad", "--registry", registry.host, *arguments, env=env
    )
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")
    before.assert_unchanged()
