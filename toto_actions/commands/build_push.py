"""`toto-actions build-push`: build the service image and push it, building nothing twice.

The digest of the build's inputs (with the digests the base images' tags name now) names the
image: when the registry already holds an image tagged with it, the requested tags are added to
that manifest through the registry's API and nothing is built or pushed. Otherwise BuildKit
builds it through the docker CLI (streamed live): buildx pushes it itself (every platform at
once); a client with BuildKit built in builds into the engine and the docker SDK pushes it with
credentials handed to the engine per push. The digest is confirmed against the registry before
it is reported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from toto_actions import actions_runtime, git, interrupts
from toto_actions.errors import OperationError, UsageError
from toto_actions.images import (
    build_context,
    build_options,
    buildkit,
    content_tag,
    docker_client,
    registry_steps,
)
from toto_actions.images.build_options import BuildSettings
from toto_actions.images.content_tag import Published
from toto_actions.images.docker_client import DockerClient
from toto_actions.images.dockerfile import declared_args
from toto_actions.images.engine import DockerEngine
from toto_actions.images.lifecycle_policy import PolicyProblem, lifecycle_policy
from toto_actions.images.names import (
    ImageManifest,
    TagMutability,
    is_repository_name,
)
from toto_actions.images.registry import (
    Registry,
    RegistryAccess,
    RepositorySettings,
    connect,
)
from toto_actions.options import CHOICE, LINES, SECONDS, SWITCH, GivenOptions, Option
from toto_actions.service_project import service_version

MUTABILITIES = ("MUTABLE", "IMMUTABLE")
NETWORKS = ("default", "none", "host")
# A base's lookup is tried twice, briefly: when it fails the image is built, which is safe.
OPTIONS = (
    Option("--repository", "the image repository (on ECR, created when missing)", required=True),
    Option("--context", "the build context (default .)", default=".", metavar="DIR"),
    Option("--dockerfile", "the Dockerfile (default CONTEXT/Dockerfile)", metavar="PATH"),
    Option(
        "--tags",
        "comma-separated tags (default: the short commit, and the service version "
        "from package.json or pyproject.toml in the context)",
    ),
    Option(
        "--build-args",
        "build arguments, one NAME=VALUE a line (a comma stays in the value)",
        metavar="NAME=VALUE",
    ),
    Option("--target", "the stage to build"),
    Option(
        "--labels",
        "labels, one NAME=VALUE a line (a comma stays in the value), over the OCI ones set by "
        "default",
        metavar="NAME=VALUE",
    ),
    Option(
        "--network",
        "networking of the RUN steps: default, none or host (the engine's default when not given)",
        kind=CHOICE,
        choices=NETWORKS,
    ),
    Option(
        "--platforms",
        "target platforms, comma-separated (os/arch[/variant]; more than one needs buildx)",
    ),
    Option(
        "--secrets",
        "build secrets, one ID=VALUE a line, for RUN --mount=type=secret,id=ID: masked, never in "
        "argv, the image or the log",
        LINES,
        sensitive=True,
    ),
    Option("--secret-files", "build secrets from files, one ID=PATH a line", LINES),
    Option(
        "--ssh",
        "SSH agent socket or keys for RUN --mount=type=ssh, one a line: default or ID=PATH",
    ),
    Option("--cache-from", "external cache sources, one type=... spec a line"),
    Option("--cache-to", "cache export destinations, one type=... spec a line"),
    Option(
        "--layer-cache",
        "build from the layers of the branch's newest image (else the repository's), found "
        "through the registry, and push the image with its cache inline (default true)",
        SWITCH,
        True,
    ),
    Option(
        "--branch",
        "the branch whose newest image the layer cache comes from (default: GITHUB_REF_NAME)",
        fallback_variable="GITHUB_REF_NAME",
    ),
    Option(
        "--pull", "always pull a newer version of the base images (default false)", SWITCH, False
    ),
    Option("--no-cache", "build without the build cache (default false)", SWITCH, False),
    Option(
        "--provenance", "provenance attestation (buildx with a builder that makes attestations)"
    ),
    Option("--sbom", "SBOM attestation (buildx with a builder that makes attestations)"),
    Option(
        "--registry",
        "push to this v2 registry host instead of the account's ECR registry",
        metavar="HOST",
    ),
    Option("--registry-username", "user name for --registry"),
    Option("--registry-password", "password or token for --registry"),
    Option(
        "--aws-region",
        "region of the ECR registry (default: the AWS environment's)",
        fallback_variable="AWS_REGION",
    ),
    Option(
        "--create-repository",
        "create a missing ECR repository, with scan on push (default true)",
        SWITCH,
        True,
    ),
    Option(
        "--tag-mutability",
        "tag mutability of a created ECR repository (default MUTABLE)",
        kind=CHOICE,
        default="MUTABLE",
        choices=MUTABILITIES,
    ),
    Option(
        "--lifecycle-policy",
        "lifecycle policy of a created ECR repository: a JSON policy, or none (default: expire "
        "untagged images 14 days after their push; an existing repository's is never touched)",
        metavar="JSON|none",
    ),
    Option(
        "--skip-if-exists",
        "reuse an image built from the same inputs instead of building (default true)",
        SWITCH,
        True,
    ),
    Option(
        "--push",
        "build and push (default true); false: only report the inputs tag and whether the "
        "registry holds it, building, pushing and writing nothing",
        SWITCH,
        True,
    ),
    Option(
        "--scan-severity-threshold",
        "ECR: wait for the scan on push and fail on a finding at or above this severity",
        kind=CHOICE,
        choices=registry_steps.SEVERITIES,
    ),
    Option(
        "--scan-timeout",
        "ECR: seconds to wait for the scan (default 300)",
        kind=SECONDS,
        default=300.0,
        low=1,
        high=3600,
    ),
    Option(
        "--revision",
        "the commit the image is built from (default: GITHUB_SHA, else git rev-parse HEAD)",
        fallback_variable="GITHUB_SHA",
    ),
    Option(
        "--source",
        "the source repository's URL for the OCI source label (default: the origin remote)",
    ),
)


def run(given: GivenOptions) -> int:
    """Build and push, or reuse; exit 0, 1 when the build, push or scan failed (or no docker
    client builds with BuildKit), 2 on bad input. With push false, only report the inputs tag
    and whether the registry holds it (content_tag.plan): no docker client needed, no write.

    Everything is read and checked before the first write: the registry's repository and tags,
    then either the requested tags go onto the image built from the same inputs, or BuildKit
    builds, the repository is created if need be, and the image is pushed. SIGINT or SIGTERM
    stops it as a failure does (the build's private directory removed): exit 128 + its number.
    """
    with interrupts.unwind_on_signals():
        return _build_or_reuse(given)


def _build_or_reuse(given: GivenOptions) -> int:
    for value in _sensitive_values(given):
        actions_runtime.mask(value)
    settings = _settings(given)
    client = docker_client.find_client() if settings.push else None
    if client is not None:
        problems = buildkit.capability_problems(client, settings.build_request("", ()))
        if problems:
            raise UsageError("\n".join(problems))
    engine = DockerEngine()
    registry = connect(settings.registry)
    host = settings.registry.host or registry.host
    if client is None:
        return content_tag.plan(settings, registry, host, engine)
    marker = content_tag.content_tag(settings, registry, host, engine)
    mutability = registry.tag_mutability(settings.repository, settings.new_repository)
    if settings.scan_threshold and registry.scans_on_push(settings.repository) is False:
        raise UsageError(
            f"--scan-severity-threshold: ECR does not scan images pushed to {settings.repository}"
            " (no scan on push, no registry scanning rule for it): turn scan on push on for it,"
            " or leave the threshold out"
        )
    existing = content_tag.existing_image(registry, settings, marker)
    _check_tags_can_move(registry, settings, mutability, existing)
    if existing is not None:
        actions_runtime.info(f"{settings.repository}:{marker} exists: reusing {existing.digest}")
        image = existing
    else:
        image = _build_and_push(client, engine, registry, settings, host=host, marker=marker)
    registry.put_tags(settings.repository, image, settings.tags)
    registry_steps.confirm(registry, settings, image.digest)
    if settings.layer_cache:
        registry_steps.mark_cache(registry, settings, image)
    size = registry_steps.image_size(registry, settings.repository, image)
    counts = registry_steps.scan(registry, settings, image)
    published = Published(image.digest, existing is not None, size, marker)
    content_tag.report(settings, host, published, counts)
    return 0


def _settings(given: GivenOptions) -> BuildSettings:
    problems: list[str] = []
    repository = given.text("repository") or ""
    if not is_repository_name(repository):
        problems.append(
            f"repository {repository!r} is not a valid image repository name: "
            "lower-case letters and digits, with '.', '_', '-' or '/' between them"
        )
    context = Path(given.text("context") or ".")
    dockerfile = Path(given.text("dockerfile") or context / "Dockerfile")
    if not context.is_dir():
        problems.append(f"build context {str(context)!r} is not a directory")
    elif not dockerfile.is_file():
        problems.append(f"Dockerfile {str(dockerfile)!r} does not exist")
    build_args = build_options.build_args(
        problems, given.text("build-args"), _declared_args(dockerfile)
    )
    labels = build_options.labels(problems, given.text("labels"))
    revision = given.text("revision") or (git.head_commit(context) if context.is_dir() else None)
    version = service_version(context) if context.is_dir() else None
    tags = build_options.tags(problems, given.text("tags"), revision, version)
    if "registry-username" in given and "registry-password" not in given:
        problems.append("--registry-username needs --registry-password")
    try:
        policy = lifecycle_policy(given.text("lifecycle-policy"))
    except PolicyProblem as problem:
        problems.append(f"--lifecycle-policy: {problem}")
        policy = None
    settings = BuildSettings(
        repository=repository,
        new_repository=RepositorySettings(
            given.text("tag-mutability") or "MUTABLE", given.switch("create-repository"), policy
        ),
        context=context,
        dockerfile=dockerfile,
        tags=tags,
        build_args=build_args,
        target=given.text("target"),
        labels=labels,
        oci_labels=_oci_labels(given, context, revision, version),
        registry=RegistryAccess(
            given.text("registry"),
            given.text("registry-username"),
            given.text("registry-password"),
            given.text("aws-region"),
        ),
        skip_if_exists=given.switch("skip-if-exists"),
        push=given.switch("push"),
        scan_threshold=given.text("scan-severity-threshold"),
        scan_timeout=given.seconds("scan-timeout"),
        network=given.text("network"),
        platforms=build_options.platforms(problems, given.text("platforms")),
        secrets=build_options.secrets(problems, given.pairs("secrets")),
        secret_files=build_options.secret_files(problems, given.pairs("secret-files")),
        ssh=build_options.ssh(problems, given.text("ssh")),
        cache_from=build_options.cache_specs(problems, "cache-from", given.text("cache-from")),
        cache_to=build_options.cache_specs(problems, "cache-to", given.text("cache-to")),
        pull=given.switch("pull"),
        no_cache=given.switch("no-cache"),
        provenance=given.text("provenance"),
        sbom=given.text("sbom"),
        layer_cache=given.switch("layer-cache"),
        branch=given.text("branch"),
        excluded=build_context.checkout_exclusion(
            problems, context, actions_runtime.toolkit_checkout()
        ),
    )
    if problems:
        raise UsageError("\n".join(problems))
    return settings


def _declared_args(dockerfile: Path) -> frozenset[str]:
    """The build arguments the Dockerfile takes (none known when it cannot be read: the problem
    is reported, or the build reports it)."""
    try:
        return declared_args(dockerfile.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return frozenset()


def _sensitive_values(given: GivenOptions) -> list[str]:
    """The values to mask before anything runs: the registry password, the secrets' values."""
    values = [value for _, value in given.pairs("secrets")]
    password = given.text("registry-password")
    return [*values, *([password] if password else [])]


def _oci_labels(
    given: GivenOptions, context: Path, revision: str | None, version: str | None
) -> dict[str, str]:
    source = given.text("source") or (git.origin_url(context) if context.is_dir() else None)
    labels = {"org.opencontainers.image.created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if source:
        labels["org.opencontainers.image.source"] = _without_credentials(source)
    if revision:
        labels["org.opencontainers.image.revision"] = revision
    if version:
        labels["org.opencontainers.image.version"] = version
    return labels


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if not parts.netloc or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _check_tags_can_move(
    registry: Registry,
    settings: BuildSettings,
    mutability: TagMutability,
    existing: ImageManifest | None,
) -> None:
    """A requested tag that the repository keeps immutable and that is already on another image
    would fail half-way: refuse before any build or write."""
    target = existing.digest if existing else None
    taken = [
        tag
        for tag in settings.tags
        if mutability.is_immutable(tag)
        and (digest := registry.digest_of(settings.repository, tag))
        and digest != target
    ]
    if taken:
        raise UsageError(
            f"{settings.repository} is {mutability} and already has {', '.join(taken)} on "
            "another image: pass tags that are free (the default short-commit tag changes per "
            "commit)"
        )


def _build_and_push(
    client: DockerClient,
    engine: DockerEngine,
    registry: Registry,
    settings: BuildSettings,
    *,
    host: str,
    marker: str | None,
) -> ImageManifest:
    """Build and push one tag; the other tags are added through the registry's API, as on
    reuse. The pushed tag is the inputs marker (when there is one), so that a run that fails
    after the push finds the image the next time and only adds the tags.

    buildx pushes the image itself, so the repository is made ready first; the built-in client
    builds into the engine, and only a build that succeeded creates the repository before the
    engine pushes the image (the layers go with it)."""
    reference = f"{host}/{settings.repository}"
    pushed_tag = marker or settings.tags[0]
    if client.buildx:
        registry.ensure_repository(settings.repository, settings.new_repository)
    else:
        engine.ping()
    with (
        actions_runtime.group(f"Build {reference} with {client}"),
        buildkit.build_directory() as directory,
    ):
        # BuildKit's pulls, cache and push read the logins from a Docker config: a private one,
        # the runner's logins and this registry's own, removed when the build ends.
        for warning in directory.write_docker_config(host, registry.auth_config()):
            actions_runtime.warning(warning)
        request = settings.build_request(
            f"{reference}:{pushed_tag}",
            directory.write_secrets(settings.secrets),
            registry_steps.cache_source(registry, settings),
        )
        # The toolkit's own checkout stays out of what BuildKit receives, as out of the digest.
        request = request._replace(
            dockerfile=build_context.dockerfile_leaving_out(
                settings.excluded,
                settings.context,
                settings.dockerfile,
                directory.root / "dockerfile",
            )
        )
        built = buildkit.build(client, request, directory, actions_runtime.info)
    digest = built.pushed_digest
    if digest is None:
        registry.ensure_repository(settings.repository, settings.new_repository)
        with actions_runtime.group(f"Push {reference}:{pushed_tag}"):
            # Credentials per push, handed to the engine and never written to disk.
            auth = registry.auth_config()
            digest = engine.push(reference, pushed_tag, auth, actions_runtime.info)
    image = registry.find_image(settings.repository, pushed_tag)
    if image is None or image.digest != digest:
        raise OperationError(
            f"{reference}:{pushed_tag} is not served at the pushed {digest} "
            f"({image.digest if image else 'not found'})"
        )
    return image
