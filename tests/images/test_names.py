"""Image names, tags and manifests as plain values: ECR's tag mutability with its exclusions,
image references normalised as docker does."""

from __future__ import annotations

import pytest

from toto_actions.images.names import (
    TagMutability,
    branch_slug,
    branch_tag,
    cache_tag,
    ecr_account,
    is_branch_tag,
    is_repository_name,
    is_tag,
    parse_reference,
    wildcard_matches,
)


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        ("latest", "latest", True),
        ("latest", "latest-1", False),  # the whole tag must match
        ("latest", "a-latest", False),
        ("dev-*", "dev-feature.x", True),
        ("dev-*", "dev-", True),  # `*` may stand for nothing
        ("dev-*", "dev", False),
        ("dev-*", "Dev-1", False),  # tags are case-sensitive
        ("*-stable", "1.4-stable", True),
        ("*-stable", "1.4-stable2", False),
        ("v*.*", "v1.4", True),
        ("v*.*", "v14", False),  # `.` is literal, not any character
        ("release.1", "releasex1", False),
        ("*", "anything_at-all.1", True),
        ("a*b*c", "a-bb-c", True),
    ],
)
def test_wildcard_filters_match_as_ecr_documents(pattern: str, tag: str, matches: bool) -> None:
    assert wildcard_matches(pattern, tag) is matches


@pytest.mark.parametrize(
    ("mutability", "immutable", "moving"),
    [
        (TagMutability("MUTABLE"), [], ["v1", "latest", "dev-1"]),
        (TagMutability("IMMUTABLE"), ["v1", "latest", "dev-1"], []),
        (
            TagMutability("IMMUTABLE_WITH_EXCLUSION", ("latest", "dev-*")),
            ["v1", "1.4.0"],
            ["latest", "dev-1"],
        ),
        (
            TagMutability("MUTABLE_WITH_EXCLUSION", ("*-stable", "prod")),
            ["1.4-stable", "prod"],
            ["latest", "prod-1", "v1"],
        ),
        (TagMutability("A_FUTURE_SETTING", ("x",)), [], ["x", "y"]),
    ],
)
def test_which_tags_are_immutable(
    mutability: TagMutability, immutable: list[str], moving: list[str]
) -> None:
    assert [tag for tag in immutable + moving if mutability.is_immutable(tag)] == immutable


def test_a_mutability_names_its_setting_and_filters() -> None:
    assert str(TagMutability("IMMUTABLE")) == "IMMUTABLE"
    assert str(TagMutability("IMMUTABLE_WITH_EXCLUSION", ("latest", "dev-*"))) == (
        "IMMUTABLE_WITH_EXCLUSION (exclusion filters latest, dev-*)"
    )


@pytest.mark.parametrize(
    ("name", "by_the_spec", "by_ecr"),
    [
        ("toto-ms-auth", True, True),
        ("toto/ms.auth_v2", True, True),
        ("a", True, False),  # ECR wants 2 characters or more
        ("a__b", True, False),  # the spec's double underscore, and runs of dashes
        ("a--b", True, False),
        ("Toto", False, False),
        ("-toto", False, False),
        ("toto/", False, False),
        ("a" * 256, True, True),
        ("a" * 257, False, False),
    ],
)
def test_repository_names(name: str, by_the_spec: bool, by_ecr: bool) -> None:
    assert is_repository_name(name) is by_the_spec
    assert is_repository_name(name, ecr=True) is by_ecr


@pytest.mark.parametrize(
    ("host", "account"),
    [
        ("210987654321.dkr.ecr.eu-west-1.amazonaws.com", "210987654321"),
        ("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", "123456789012"),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "123456789012"),
        ("localhost:5000", None),
        ("ghcr.io", None),
        ("1234.dkr.ecr.eu-west-1.amazonaws.com", None),
    ],
)
def test_the_account_of_an_ecr_host(host: str, account: str | None) -> None:
    assert ecr_account(host) == account


@pytest.mark.parametrize(
    ("branch", "slug"),
    [
        ("main", "main"),
        ("feature/Login", "feature-Login"),  # tags are case-sensitive, as branches are
        ("123/merge", "123-merge"),  # a pull request's GITHUB_REF_NAME
        ("-.odd//name.", "odd-name"),
        ("///", ""),
    ],
)
def test_a_branch_slug_is_what_a_tag_can_hold(branch: str, slug: str) -> None:
    assert branch_slug(branch) == slug


def test_a_long_branch_keeps_a_hash_of_the_whole() -> None:
    one, other = "feature/" + "x" * 200, "feature/" + "x" * 199 + "y"
    assert len(branch_slug(one)) <= 80
    assert branch_slug(one) != branch_slug(other)
    assert is_tag(cache_tag(one))
    tag = branch_tag(one, "sha256:" + "a" * 64)
    assert tag is not None and is_tag(tag) and is_branch_tag(tag, one)


def test_cache_tags_of_a_branch_and_of_the_repository() -> None:
    assert cache_tag("feature/login") == "toto-cache-feature-login"
    assert cache_tag(None) == cache_tag("///") == "toto-cache"
    assert branch_tag("fix/x", "sha256:0123456789abcdef") == "toto-branch-fix-x-0123456789ab"
    assert branch_tag("///", "sha256:0123456789abcdef") is None


@pytest.mark.parametrize(
    ("tag", "branch", "matches"),
    [
        ("toto-branch-main-0123456789ab", "main", True),
        ("toto-branch-main-x-0123456789ab", "main", False),  # branch main-x's
        ("toto-branch-main-x-0123456789ab", "main-x", True),
        ("toto-branch-main", "main", False),
        ("main-0123456789ab", "main", False),
    ],
)
def test_a_branch_tag_is_recognised_as_its_branch_s_only(
    tag: str, branch: str, matches: bool
) -> None:
    assert is_branch_tag(tag, branch) is matches


DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("python", "docker.io/library/python:latest"),
        ("python:3.12-slim", "docker.io/library/python:3.12-slim"),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
        ("docker.io/python:3.12", "docker.io/library/python:3.12"),
        ("index.docker.io/library/python:3.12", "docker.io/library/python:3.12"),
        ("ghcr.io/x/y", "ghcr.io/x/y:latest"),
        ("ghcr.io/x/y:1.2", "ghcr.io/x/y:1.2"),
        ("localhost/base:1", "localhost/base:1"),
        ("localhost:5000/base:1", "localhost:5000/base:1"),
        ("127.0.0.1:5000/team/base", "127.0.0.1:5000/team/base:latest"),
        ("Registry/base", "Registry/base:latest"),  # upper case: a host, as docker reads it
        (f"python@{DIGEST}", f"docker.io/library/python@{DIGEST}"),
        (f"python:3.12@{DIGEST}", f"docker.io/library/python:3.12@{DIGEST}"),
    ],
)
def test_references_are_normalised_as_docker_does(text: str, normalised: str) -> None:
    assert str(parse_reference(text)) == normalised


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Python:3", "'Python:3': 'library/Python' is not a valid repository name"),
        ("python:-bad", "'python:-bad': '-bad' is not a valid tag"),
        ("python@md5", "'python@md5': 'md5' is not a digest (algorithm:hex)"),
        ("", "'': 'library/' is not a valid repository name"),
    ],
)
def test_a_reference_that_does_not_parse_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_reference(text)
    assert str(raised.value) == message
