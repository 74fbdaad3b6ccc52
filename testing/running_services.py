"""What an environment runs, set up for the tests of `deployed-commit`'s services path: images
built by the real engine and pushed to the session's v2 registry (with or without their
`org.opencontainers.image.revision` label), and Fargate services on moto's ECS whose task
definitions name them, all through the real SDKs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from testing.ecs_rollout import seed_moto_service
from testing.images import build_image
from testing.local_stack import MotoServer, Registry
from toto_actions.images.engine import DockerEngine
from toto_actions.images.registry_v2 import RegistryClient

REVISION_LABEL = "org.opencontainers.image.revision"
CLUSTER = "toto-prod"


def push_image(
    engine_url: str,
    registry: Registry,
    repository: str,
    tags: tuple[str, ...],
    context: Path,
    *,
    revision: str | None,
    auth_config: Mapping[str, str] | None = None,
) -> str:
    """Build an image of its own content (FROM scratch, one file) carrying the revision label
    (None: no label), push it to registry/repository under each tag (with auth_config, for a
    registry with a login); its digest."""
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY content.txt /\n")
    (context / "content.txt").write_text(uuid.uuid4().hex)
    labels = {REVISION_LABEL: revision} if revision is not None else {}
    engine = DockerEngine(engine_url)
    reference = f"{registry.host}/{repository}"
    build_image(engine.url, context, f"{reference}:{tags[0]}", labels=labels)
    digest = engine.push(reference, tags[0], auth_config, lambda _: None)
    client = RegistryClient(registry.host, *(registry.login.basic if registry.login else ()))
    image = client.find_image(repository, tags[0])
    assert image is not None and image.digest == digest
    client.put_tags(repository, image, tags[1:])  # as build-push adds tags: no layer moves
    return digest


def seed_service(moto: MotoServer, name: str, images: tuple[str, ...]) -> str:
    """A Fargate service on moto in CLUSTER whose task definition's containers run these
    images (testing/ecs_rollout.seed_moto_service); its ARN."""
    return seed_moto_service(moto, name, 1, images=images, cluster=CLUSTER)


def write_outputs(path: Path, outputs: Mapping[str, Any]) -> Path:
    """An outputs file as tf-apply writes it (`terraform output -json` form) of these values."""
    document = {
        name: {
            "sensitive": False,
            "type": "string" if isinstance(v, str) else "dynamic",
            "value": v,
        }
        for name, v in outputs.items()
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def step_outputs(stdout: str, names: tuple[str, ...]) -> dict[str, str]:
    """The step's outputs among names, from the `NAME=VALUE` lines it prints outside Actions."""
    pairs = (line.partition("=") for line in stdout.splitlines())
    return {name: value for name, _, value in pairs if name in names}
