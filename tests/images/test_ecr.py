"""toto_actions.images.ecr against moto in server mode, reached only through the variables
boto3 reads.

Each test works in repositories of its own (moto is shared by the session and never reset here).
A second boto3 client, `ecr_client`, arranges state and reads the result at the other end.
Where moto differs from ECR, the test says so: its token expired in 2015, it scans nothing on
push (a scan exists only after StartImageScan), and it answers ImageAlreadyExistsException where
ECR answers ImageTagAlreadyExistsException.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from testing.ecr_images import DOCKER_MANIFEST_V2, in_registry, put_image, sha256
from testing.lifecycle_policies import KEEP_TEN
from testing.local_stack import MotoServer, free_port
from testing.recording_proxy import RecordingProxy
from toto_actions import actions_runtime
from toto_actions.errors import OperationError, UsageError
from toto_actions.images.aws_errors import NO_CREDENTIALS, NO_REGION
from toto_actions.images.ecr import EcrRegistry
from toto_actions.images.lifecycle_policy import DEFAULT_LIFECYCLE_POLICY
from toto_actions.images.names import ImageManifest, TagMutability
from toto_actions.images.registry import RegistryAccess, RepositorySettings, connect

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.literals import ImageTagMutabilityType

MOTO_TOKEN_EXPIRY = datetime(2015, 1, 1, tzinfo=UTC).timestamp()  # what moto always answers


@pytest.fixture
def registry(aws_env: MotoServer) -> EcrRegistry:
    return EcrRegistry(None)


OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def put_image_into_new(client: ECRClient, repository: str, tag: str) -> ImageManifest:
    client.create_repository(repositoryName=repository)
    return put_image(client, repository, tag, b"layer")


def tags_of(
    client: ECRClient, repository: str, digest: str, registry_id: str | None = None
) -> list[str]:
    details = client.describe_images(
        **in_registry(registry_id),
        repositoryName=repository,
        imageIds=[{"imageDigest": digest}],
    )
    return sorted(details["imageDetails"][0].get("imageTags", []))


def count_token_requests(registry: EcrRegistry) -> list[str]:
    """A list that grows by one at every GetAuthorizationToken the registry's client sends
    (botocore's own event hook: the call still goes to moto)."""
    calls: list[str] = []

    def count(**_: Any) -> None:
        calls.append("GetAuthorizationToken")

    registry._client.meta.events.register("before-call.ecr.GetAuthorizationToken", count)
    return calls


# ------------------------------------------------------------------------------------------------
# Credentials


def test_credentials_decode_the_token_and_redact_the_password(
    registry: EcrRegistry, aws_env: MotoServer
) -> None:
    host = f"{aws_env.account_id}.dkr.ecr.{aws_env.region}.amazonaws.com"

    credentials = registry.credentials()

    assert credentials.username == "AWS"
    assert credentials.password == f"{aws_env.account_id}-auth-token"
    assert credentials.registry == host
    assert credentials.expires_at == MOTO_TOKEN_EXPIRY
    assert registry.host == host
    assert actions_runtime.redact(f"login {credentials.password}") == "login ***"


def test_credentials_are_masked_under_actions_before_anything_else_prints(
    aws_env: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a process of its own: masks are registered once per process.
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    script = "from toto_actions.images.ecr import EcrRegistry; EcrRegistry(None).credentials()"

    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    password = f"{aws_env.account_id}-auth-token"
    lines = completed.stdout.splitlines()
    assert lines[0] == f"::add-mask::{password}"
    assert all(line.startswith("::add-mask::") for line in lines)
    assert len(lines) == 2  # the password, and the base64 token that holds it


def test_credentials_are_cached_until_ten_minutes_before_they_expire(
    aws_env: MotoServer,
) -> None:
    now = [MOTO_TOKEN_EXPIRY - 3600]
    registry = EcrRegistry(None, clock=lambda: now[0])
    requests_sent = count_token_requests(registry)

    first = registry.credentials()
    assert registry.credentials() is first
    now[0] = MOTO_TOKEN_EXPIRY - 601
    assert registry.host == first.registry
    assert len(requests_sent) == 1

    now[0] = MOTO_TOKEN_EXPIRY - 599
    registry.credentials()
    registry.credentials()
    assert len(requests_sent) == 3  # within the margin: every call fetches a fresh token


def test_credentials_past_their_expiry_are_fetched_again(registry: EcrRegistry) -> None:
    # Real time: moto's token expired in 2015.
    requests_sent = count_token_requests(registry)

    registry.credentials()
    registry.credentials()

    assert len(requests_sent) == 2


# ------------------------------------------------------------------------------------------------
# Client set-up


def test_no_credentials_is_a_usage_error(
    aws_env: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    with pytest.raises(UsageError) as raised:
        EcrRegistry("eu-west-1")

    assert str(raised.value) == NO_CREDENTIALS


def test_no_region_is_a_usage_error(aws_env: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    with pytest.raises(UsageError) as raised:
        EcrRegistry(None)

    assert str(raised.value) == NO_REGION == "no AWS region: pass --aws-region or set AWS_REGION"


def test_region_from_the_argument_then_boto3(aws_env: MotoServer) -> None:
    account = aws_env.account_id  # AWS_DEFAULT_REGION is us-east-1
    assert EcrRegistry(None).host == f"{account}.dkr.ecr.us-east-1.amazonaws.com"
    assert EcrRegistry("eu-central-1").host == f"{account}.dkr.ecr.eu-central-1.amazonaws.com"


def test_a_missing_profile_is_a_usage_error(
    aws_env: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")

    with pytest.raises(UsageError, match=r"^AWS configuration: .*no-such-profile"):
        EcrRegistry(None)


def test_an_unreachable_endpoint_is_one_line_naming_the_call(
    aws_env: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed_port = free_port()  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")
    registry = EcrRegistry(None)

    with pytest.raises(OperationError) as raised:
        registry.credentials()

    message = str(raised.value)
    assert message.startswith("ECR GetAuthorizationToken failed: Could not connect")
    assert f"127.0.0.1:{closed_port}" in message
    assert "\n" not in message


# ------------------------------------------------------------------------------------------------
# Repositories


@pytest.mark.parametrize(
    ("given", "expected"),
    [("MUTABLE", "MUTABLE"), ("IMMUTABLE", "IMMUTABLE"), ("immutable", "IMMUTABLE")],
)
def test_ensure_repository_creates_it_with_scan_on_push_and_mutability(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str, given: str, expected: str
) -> None:
    assert registry.ensure_repository(repository, RepositorySettings(given)) is True

    described = ecr_client.describe_repositories(repositoryNames=[repository])["repositories"]
    assert described[0].get("imageScanningConfiguration") == {"scanOnPush": True}
    assert described[0].get("imageTagMutability") == expected


def test_ensure_repository_leaves_an_existing_one_untouched(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    ecr_client.create_repository(repositoryName=repository, imageTagMutability="MUTABLE")

    assert registry.ensure_repository(repository, RepositorySettings("IMMUTABLE")) is False
    assert (
        registry.ensure_repository(repository, RepositorySettings("IMMUTABLE", create=False))
        is False
    )

    described = ecr_client.describe_repositories(repositoryNames=[repository])["repositories"]
    assert described[0].get("imageScanningConfiguration") == {"scanOnPush": False}
    assert described[0].get("imageTagMutability") == "MUTABLE"


def test_a_missing_repository_without_create_is_a_usage_error(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    with pytest.raises(UsageError) as raised:
        registry.ensure_repository(repository, RepositorySettings("MUTABLE", create=False))

    assert str(raised.value) == (
        f"ECR repository {repository} does not exist: create it, or pass --create-repository true"
    )
    names = [r.get("repositoryName") for r in ecr_client.describe_repositories()["repositories"]]
    assert repository not in names


def test_tag_mutability_of_a_missing_repository_is_the_one_it_will_be_created_with(
    registry: EcrRegistry, repository: str
) -> None:
    assert registry.tag_mutability(repository, RepositorySettings("immutable")) == TagMutability(
        "IMMUTABLE"
    )
    with pytest.raises(UsageError, match="does not exist: create it, or pass --create-repository"):
        registry.tag_mutability(repository, RepositorySettings("MUTABLE", create=False))
    registry.ensure_repository(repository, RepositorySettings("MUTABLE"))
    assert registry.tag_mutability(
        repository, RepositorySettings("IMMUTABLE", create=False)
    ) == TagMutability("MUTABLE")


def test_an_unknown_tag_mutability_is_a_usage_error(registry: EcrRegistry, repository: str) -> None:
    with pytest.raises(
        UsageError, match=r"^--tag-mutability must be MUTABLE or IMMUTABLE, not 'x'$"
    ):
        registry.ensure_repository(repository, RepositorySettings("x"))


def test_a_refused_creation_names_the_call_and_ecr_s_error(registry: EcrRegistry) -> None:
    with pytest.raises(OperationError) as raised:
        registry.ensure_repository("Not_A_Name!", RepositorySettings("MUTABLE"))

    assert str(raised.value).startswith(
        "ECR CreateRepository Not_A_Name! failed: InvalidParameterException: Invalid parameter"
    )


# ------------------------------------------------------------------------------------------------
# Images and tags


def test_find_image_then_put_tags_retags_the_same_manifest(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    registry.ensure_repository(repository, RepositorySettings("MUTABLE"))
    pushed = put_image(ecr_client, repository, "inputs-0123abcd", b"layer")

    found = registry.find_image(repository, "inputs-0123abcd")
    assert found == pushed  # the manifest byte for byte, its media type and its digest

    assert found is not None
    registry.put_tags(repository, found, ["1a2b3c4", "1.4.0"])

    assert tags_of(ecr_client, repository, pushed.digest) == ["1.4.0", "1a2b3c4", "inputs-0123abcd"]
    assert registry.find_image(repository, "1.4.0") == pushed
    assert registry.digest_of(repository, "1a2b3c4") == pushed.digest


def test_lookups_in_a_missing_repository_find_nothing(
    registry: EcrRegistry, repository: str
) -> None:
    assert registry.find_image(repository, "v1") is None
    assert registry.digest_of(repository, "v1") is None


def test_find_image_of_a_missing_tag_is_none(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    registry.ensure_repository(repository, RepositorySettings("MUTABLE"))
    put_image(ecr_client, repository, "v1", b"layer")

    assert registry.find_image(repository, "v2") is None


def test_put_tags_twice_on_an_immutable_repository_succeeds(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    registry.ensure_repository(repository, RepositorySettings("IMMUTABLE"))
    image = put_image(ecr_client, repository, "inputs-1", b"layer")

    registry.put_tags(repository, image, ["v1", "abc1234"])
    registry.put_tags(repository, image, ["v1", "abc1234", "inputs-1"])  # a re-run

    assert tags_of(ecr_client, repository, image.digest) == ["abc1234", "inputs-1", "v1"]


def test_a_tag_on_another_image_of_an_immutable_repository_is_an_operation_error(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    registry.ensure_repository(repository, RepositorySettings("IMMUTABLE"))
    old = put_image(ecr_client, repository, "v1", b"old layer")
    new = put_image(ecr_client, repository, "inputs-2", b"new layer")

    with pytest.raises(OperationError) as raised:
        registry.put_tags(repository, new, ["v1"])

    assert f"{repository}:v1 already points to another image" in str(raised.value)
    assert registry.digest_of(repository, "v1") == old.digest


def test_put_tags_moves_a_tag_of_a_mutable_repository(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    registry.ensure_repository(repository, RepositorySettings("MUTABLE"))
    put_image(ecr_client, repository, "latest", b"old layer")
    new = put_image(ecr_client, repository, "inputs-3", b"new layer")

    registry.put_tags(repository, new, ["latest"])

    assert registry.digest_of(repository, "latest") == new.digest


def test_digest_of_and_image_size(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    registry.ensure_repository(repository, RepositorySettings("MUTABLE"))
    image = put_image(ecr_client, repository, "v1", b"layer")

    assert registry.digest_of(repository, "v1") == image.digest
    assert registry.digest_of(repository, "v2") is None
    # ECR sums the layers; moto reports the config's size. The adapter passes on what it is told.
    described = ecr_client.describe_images(repositoryName=repository)["imageDetails"][0]
    assert registry.image_size(repository, image) == described.get("imageSizeInBytes")
    assert registry.image_size(repository, image._replace(digest=sha256(b"nothing"))) is None


def test_an_image_index_has_no_one_size(
    aws_env: MotoServer, ecr_client: ECRClient, repository: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For an image index, ECR's imageSizeInBytes is its largest manifest's (botocore's model),
    which would read as the whole: the adapter says unknown and does not ask. (moto reports no
    size for an index, so the request on the wire is what shows it.)"""
    image = put_image_into_new(ecr_client, repository, "amd64")
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": DOCKER_MANIFEST_V2, "digest": image.digest, "size": 1},
            ],
        }
    )
    digest = sha256(index.encode())
    ecr_client.put_image(
        repositoryName=repository,
        imageManifest=index,
        imageManifestMediaType=OCI_INDEX,
        imageTag="multi",
        imageDigest=digest,
    )
    with RecordingProxy(aws_env.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        registry = EcrRegistry(None)
        assert registry.image_size(repository, ImageManifest(index, OCI_INDEX, digest)) is None
        assert registry.image_size(repository, image) is not None  # a manifest is asked about
    asked = [body["imageIds"] for body in proxy.bodies("DescribeImages")]
    assert asked == [[{"imageDigest": image.digest}]]


def test_the_mutability_of_a_repository_is_read(aws_env: MotoServer) -> None:
    registry = EcrRegistry(None)
    assert registry.repository_mutability("toto/absent") is None
    registry.ensure_repository("toto/locked", RepositorySettings("IMMUTABLE"))
    assert registry.repository_mutability("toto/locked") == TagMutability("IMMUTABLE")


@pytest.mark.parametrize("setting", ["IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"])
def test_the_exclusion_filters_of_a_repository_are_read(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str, setting: ImageTagMutabilityType
) -> None:
    ecr_client.create_repository(
        repositoryName=repository,
        imageTagMutability=setting,
        imageTagMutabilityExclusionFilters=[
            {"filterType": "WILDCARD", "filter": "latest"},
            {"filterType": "WILDCARD", "filter": "dev-*"},
        ],
    )

    assert registry.repository_mutability(repository) == TagMutability(setting, ("latest", "dev-*"))


def test_a_tag_kept_immutable_by_an_exclusion_filter_is_an_operation_error(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    ecr_client.create_repository(
        repositoryName=repository,
        imageTagMutability="MUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "prod"}],
    )
    old = put_image(ecr_client, repository, "prod", b"old layer")
    new = put_image(ecr_client, repository, "inputs-4", b"new layer")

    with pytest.raises(OperationError) as raised:
        registry.put_tags(repository, new, ["prod"])

    assert str(raised.value) == (
        f"ECR repository {repository} keeps the tag prod immutable and {repository}:prod "
        "already points to another image: use a new tag"
    )
    assert registry.digest_of(repository, "prod") == old.digest


# ------------------------------------------------------------------------------------------------
# Another account's registry: moto keeps the registryId a repository was created with and finds
# it only when a call names that registryId, as ECR does (a call without it means the caller's
# own registry).

OTHER_ACCOUNT = "210987654321"


@pytest.fixture
def other_host(aws_env: MotoServer) -> str:
    return f"{OTHER_ACCOUNT}.dkr.ecr.{aws_env.region}.amazonaws.com"


@pytest.fixture
def other_registry(other_host: str) -> EcrRegistry:
    """The adapter build-push connects to for `--registry <other account's host>`."""
    connected = connect(RegistryAccess(other_host))
    assert isinstance(connected, EcrRegistry)
    return connected


def other_repositories(client: ECRClient, repository: str) -> list[Any]:
    """The repository as the other account's registry describes it ([] when it is not there)."""
    try:
        found = client.describe_repositories(registryId=OTHER_ACCOUNT, repositoryNames=[repository])
    except client.exceptions.RepositoryNotFoundException:
        return []
    return list(found["repositories"])


def test_the_host_of_another_account_is_the_one_pushed_to_with_the_caller_s_token(
    other_registry: EcrRegistry, other_host: str, aws_env: MotoServer
) -> None:
    # GetAuthorizationToken's token covers every registry the caller may reach; its
    # proxyEndpoint names the caller's own registry, which is not where the push goes.
    assert other_registry.host == other_host
    login = other_registry.auth_config()
    assert login["serveraddress"] == other_host
    assert login["password"] == f"{aws_env.account_id}-auth-token"


def test_a_repository_of_another_account_is_read_and_retagged_there(
    other_registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    ecr_client.create_repository(
        registryId=OTHER_ACCOUNT, repositoryName=repository, imageTagMutability="IMMUTABLE"
    )
    pushed = put_image(ecr_client, repository, "toto-inputs-1", b"layer", OTHER_ACCOUNT)

    assert other_registry.tag_mutability(
        repository, RepositorySettings("MUTABLE", create=False)
    ) == TagMutability("IMMUTABLE")
    assert (
        other_registry.ensure_repository(repository, RepositorySettings("MUTABLE", create=False))
        is False
    )
    found = other_registry.find_image(repository, "toto-inputs-1")
    assert found == pushed
    other_registry.put_tags(repository, pushed, ["1a2b3c4"])
    assert other_registry.digest_of(repository, "1a2b3c4") == pushed.digest
    assert other_registry.image_size(repository, pushed) is not None

    assert tags_of(ecr_client, repository, pushed.digest, OTHER_ACCOUNT) == [
        "1a2b3c4",
        "toto-inputs-1",
    ]


def test_a_repository_is_created_in_the_registry_of_the_host_s_account(
    other_registry: EcrRegistry, ecr_client: ECRClient, aws_env: MotoServer, repository: str
) -> None:
    assert other_registry.ensure_repository(repository, RepositorySettings("MUTABLE")) is True

    (created,) = other_repositories(ecr_client, repository)
    assert created["registryId"] == OTHER_ACCOUNT
    assert created["imageScanningConfiguration"] == {"scanOnPush": True}
    own = ecr_client.describe_repositories(registryId=aws_env.account_id)["repositories"]
    assert repository not in [r.get("repositoryName") for r in own]


def test_the_scan_of_an_image_of_another_account_is_read_there(
    other_registry: EcrRegistry, ecr_client: ECRClient, aws_env: MotoServer, repository: str
) -> None:
    ecr_client.create_repository(registryId=OTHER_ACCOUNT, repositoryName=repository)
    image = put_image(ecr_client, repository, "v1", b"layer", OTHER_ACCOUNT)
    ecr_client.start_image_scan(
        registryId=OTHER_ACCOUNT, repositoryName=repository, imageId={"imageDigest": image.digest}
    )

    counts = other_registry.scan_findings(repository, image.digest, 5, 0.05)

    assert isinstance(counts, dict)  # moto's fixed findings: the scan was found


def test_a_host_of_the_caller_s_own_account_names_it_harmlessly(
    ecr_client: ECRClient, aws_env: MotoServer, repository: str
) -> None:
    own = connect(RegistryAccess(f"{aws_env.account_id}.dkr.ecr.{aws_env.region}.amazonaws.com"))

    assert own.ensure_repository(repository, RepositorySettings("MUTABLE")) is True
    names = [r.get("repositoryName") for r in ecr_client.describe_repositories()["repositories"]]
    assert repository in names


def test_the_region_of_an_ecr_host_wins_over_aws_region(
    aws_env: MotoServer, ecr_client: ECRClient, repository: str
) -> None:
    # The host names where the image goes: the API calls must reach the same region.
    host = f"{OTHER_ACCOUNT}.dkr.ecr.{aws_env.region}.amazonaws.com"
    connected = connect(RegistryAccess(host, aws_region="eu-west-3"))

    assert connected.ensure_repository(repository, RepositorySettings("MUTABLE")) is True
    assert other_repositories(ecr_client, repository) != []  # in us-east-1, the host's region


def test_every_repository_level_call_sends_the_host_s_account_as_registry_id(
    aws_env: MotoServer,
    ecr_client: ECRClient,
    other_host: str,
    repository: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the requests carry, seen on the wire: moto finds a repository by its name alone in
    DescribeRepositories, BatchGetImage and PutImage, so its answers cannot tell."""
    with RecordingProxy(aws_env.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        registry = connect(RegistryAccess(other_host))
        registry.ensure_repository(repository, RepositorySettings("MUTABLE"))
        image = put_image(ecr_client, repository, "toto-inputs-1", b"layer", OTHER_ACCOUNT)
        found = registry.find_image(repository, "toto-inputs-1")
        assert found == image
        registry.put_tags(repository, found, ["1a2b3c4"])
        registry.digest_of(repository, "1a2b3c4")
        registry.image_size(repository, found)
        ecr_client.start_image_scan(
            registryId=OTHER_ACCOUNT,
            repositoryName=repository,
            imageId={"imageDigest": image.digest},
        )
        registry.scan_findings(repository, image.digest, 5, 0.05)
        registry.auth_config()

    operations = {
        "DescribeRepositories",
        "CreateRepository",
        "BatchGetImage",
        "PutImage",
        "DescribeImages",
        "DescribeImageScanFindings",
    }
    for operation in operations:
        bodies = proxy.bodies(operation)
        assert bodies, operation
        assert all(body.get("registryId") == OTHER_ACCOUNT for body in bodies), operation
    # The login: the caller's token, asked for without the deprecated registryIds.
    assert proxy.bodies("GetAuthorizationToken") == [{}]


# ------------------------------------------------------------------------------------------------
# Lifecycle policy of a created repository (moto keeps the text and checks the rules as ECR does)


def lifecycle_policy_of(
    client: ECRClient, repository: str, registry_id: str | None = None
) -> str | None:
    """GetLifecyclePolicy's text, or None when the repository has no policy."""
    try:
        answer = client.get_lifecycle_policy(**in_registry(registry_id), repositoryName=repository)
    except client.exceptions.LifecyclePolicyNotFoundException:
        return None
    return answer.get("lifecyclePolicyText")


def test_a_created_repository_gets_the_default_policy(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    assert registry.ensure_repository(
        repository, RepositorySettings("MUTABLE", lifecycle_policy=DEFAULT_LIFECYCLE_POLICY)
    )

    policy = lifecycle_policy_of(ecr_client, repository)
    assert policy is not None
    (rule,) = json.loads(policy)["rules"]
    assert rule["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 14,
    }
    assert rule["action"] == {"type": "expire"}


def test_a_created_repository_gets_exactly_the_user_s_policy(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    registry.ensure_repository(repository, RepositorySettings("MUTABLE", lifecycle_policy=KEEP_TEN))

    assert lifecycle_policy_of(ecr_client, repository) == KEEP_TEN


def test_no_policy_puts_none(registry: EcrRegistry, ecr_client: ECRClient, repository: str) -> None:
    assert registry.ensure_repository(repository, RepositorySettings("MUTABLE"))

    assert lifecycle_policy_of(ecr_client, repository) is None


@pytest.mark.parametrize("its_own", [KEEP_TEN, None], ids=["its-own-policy", "no-policy"])
def test_an_existing_repository_s_policy_is_never_touched(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str, its_own: str | None
) -> None:
    ecr_client.create_repository(repositoryName=repository)
    if its_own is not None:
        ecr_client.put_lifecycle_policy(repositoryName=repository, lifecyclePolicyText=its_own)

    created = registry.ensure_repository(
        repository, RepositorySettings("MUTABLE", lifecycle_policy=DEFAULT_LIFECYCLE_POLICY)
    )

    assert created is False
    assert lifecycle_policy_of(ecr_client, repository) == its_own


def test_a_repository_of_another_account_gets_its_policy_there(
    other_registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    other_registry.ensure_repository(
        repository, RepositorySettings("MUTABLE", lifecycle_policy=DEFAULT_LIFECYCLE_POLICY)
    )

    assert lifecycle_policy_of(ecr_client, repository, OTHER_ACCOUNT) == DEFAULT_LIFECYCLE_POLICY


def test_a_policy_ecr_refuses_fails_and_the_repository_is_deleted_again(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    """Else the next run would find the repository and, never touching an existing one's
    policy, leave it without any."""
    refused = KEEP_TEN.replace('"any"', '"everything"')  # not a tagStatus

    with pytest.raises(OperationError) as raised:
        registry.ensure_repository(
            repository, RepositorySettings("MUTABLE", lifecycle_policy=refused)
        )

    message = str(raised.value)
    assert message.startswith(
        f"ECR PutLifecyclePolicy {repository} failed: InvalidParameterException: "
    )
    assert message.endswith("; the repository created for it was deleted again")
    assert "\n" not in message
    assert registry.repository_mutability(repository) is None


def pushed_one_after_another(client: ECRClient, repository: str, count: int) -> list[ImageManifest]:
    """count images, each pushed over a second after the one before: imagePushedAt (moto's, set
    by PutImage, as ECR's) orders them."""
    images = []
    for number in range(count):
        if number:
            time.sleep(1.1)
        images.append(put_image(client, repository, f"inputs-{number}", f"layer {number}".encode()))
    return images


def test_the_cache_source_is_the_newest_image_by_push_time(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    registry.ensure_repository(repository, RepositorySettings("IMMUTABLE"))
    _, newest = pushed_one_after_another(ecr_client, repository, 2)

    assert (
        registry.cache_source(repository, None) == f"{registry.host}/{repository}@{newest.digest}"
    )
    assert (
        registry.cache_source(repository, "main") == f"{registry.host}/{repository}@{newest.digest}"
    )


def test_the_cache_source_of_a_branch_is_its_newest_image_without_moving_a_tag(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    registry.ensure_repository(repository, RepositorySettings("IMMUTABLE"))
    older_main, newer_main, fix = pushed_one_after_another(ecr_client, repository, 3)
    registry.mark_cache(repository, older_main, "main")
    registry.mark_cache(repository, newer_main, "main")
    registry.mark_cache(repository, newer_main, "main")  # a re-run: the tag is already right
    registry.mark_cache(repository, fix, "fix/x")

    assert (
        registry.cache_source(repository, "main")
        == f"{registry.host}/{repository}@{newer_main.digest}"
    )
    assert (
        registry.cache_source(repository, "fix/x") == f"{registry.host}/{repository}@{fix.digest}"
    )
    # a branch with no image of its own starts from the repository's newest
    assert (
        registry.cache_source(repository, "feature/new")
        == f"{registry.host}/{repository}@{fix.digest}"
    )
    assert (
        registry.cache_source(repository, "main-2") == f"{registry.host}/{repository}@{fix.digest}"
    )
    hex_of = {
        image.digest: image.digest.removeprefix("sha256:")[:12]
        for image in (older_main, newer_main)
    }
    assert tags_of(ecr_client, repository, older_main.digest) == [
        "inputs-0",
        f"toto-branch-main-{hex_of[older_main.digest]}",
    ]
    assert tags_of(ecr_client, repository, newer_main.digest) == [
        "inputs-1",
        f"toto-branch-main-{hex_of[newer_main.digest]}",
    ]


def test_a_missing_or_empty_repository_has_no_cache_source(
    registry: EcrRegistry, repository: str
) -> None:
    assert registry.cache_source(repository, "main") is None
    registry.ensure_repository(repository, RepositorySettings("MUTABLE"))
    assert registry.cache_source(repository, "main") is None


def test_without_a_branch_no_image_is_tagged_for_the_cache(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    image = put_image_into_new(ecr_client, repository, "inputs-1")
    registry.mark_cache(repository, image, None)
    assert tags_of(ecr_client, repository, image.digest) == ["inputs-1"]
