"""images.build_options: the automatic layer cache in what BuildKit is asked (plain logic)."""

from __future__ import annotations

from pathlib import Path

import pytest

from toto_actions.images.build_options import BuildSettings
from toto_actions.images.registry import RegistryAccess, RepositorySettings

SOURCE = "registry.test/app@sha256:" + "a" * 64
SETTINGS = BuildSettings(
    repository="app",
    new_repository=RepositorySettings(),
    context=Path("/src"),
    dockerfile=Path("/src/Dockerfile"),
    tags=("t1",),
    build_args={"VERSION": "1", "BUILDKIT_INLINE_CACHE": "1"},
    target=None,
    labels={},
    oci_labels={},
    registry=RegistryAccess("registry.test"),
    skip_if_exists=True,
    scan_threshold=None,
    scan_timeout=300.0,
    network=None,
    platforms=(),
    secrets={},
    secret_files=(),
    ssh=(),
    cache_from=(),
    cache_to=(),
    pull=False,
    no_cache=False,
    provenance=None,
    sbom=None,
)


def test_the_layer_cache_comes_from_the_source_and_travels_inline() -> None:
    request = SETTINGS.build_request("app:t1", (), SOURCE)
    assert request.cache_from == (f"type=registry,ref={SOURCE}",)
    assert request.cache_to == ("type=inline",)


def test_without_a_source_the_image_still_carries_its_cache() -> None:
    request = SETTINGS.build_request("app:t1", (), None)
    assert (request.cache_from, request.cache_to) == ((), ("type=inline",))


@pytest.mark.parametrize(
    ("given", "cache_from", "cache_to"),
    [
        ({"layer_cache": False}, (), ()),
        ({"no_cache": True}, (), ("type=inline",)),
        (
            {"cache_from": ("type=gha",), "cache_to": ("type=gha,mode=max",)},
            ("type=gha",),
            ("type=gha,mode=max",),
        ),
        (
            {"cache_to": ("type=registry,ref=r/app:cache,image-manifest=true",)},
            (f"type=registry,ref={SOURCE}",),
            ("type=registry,ref=r/app:cache,image-manifest=true",),
        ),
    ],
)
def test_specs_of_the_user_s_own_replace_the_automatic_ones(
    given: dict[str, object], cache_from: tuple[str, ...], cache_to: tuple[str, ...]
) -> None:
    request = SETTINGS._replace(**given).build_request("app:t1", (), SOURCE)  # type: ignore[arg-type]
    assert (request.cache_from, request.cache_to) == (cache_from, cache_to)


def test_the_inline_cache_argument_is_no_input() -> None:
    assert SETTINGS.input_build_args == {"VERSION": "1"}
    assert SETTINGS.build_request("app:t1", ()).build_args == SETTINGS.build_args
