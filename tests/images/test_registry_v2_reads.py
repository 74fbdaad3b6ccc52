"""registry_v2's reads for deployed-commit against the session's real registry: the tag list,
page by page, and a blob checked against its digest.

distribution-spec spec.md, "Listing Tags": with `n`, a registry MAY answer fewer tags and a
`Link` header (RFC 5988, `rel="next"`) naming the next page; "Pulling blobs": the blob's bytes,
whose digest is its address.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from testing.local_stack import DockerEngine as LocalEngine
from testing.local_stack import Registry
from testing.running_services import push_image
from toto_actions.images.registry_v2 import RegistryClient, _next_page


def test_every_tag_is_listed_across_pages(
    docker_engine: LocalEngine, registry: Registry, tmp_path: Path
) -> None:
    repository = f"reads-{uuid.uuid4().hex[:8]}/prod"
    tags = ("a1", "b2", "c3", "d4", "e5")
    push_image(docker_engine.base_url, registry, repository, tags, tmp_path, revision=None)
    client = RegistryClient(registry.host)
    # Debian's distribution registry answers every tag whatever `n` asks (spec: it MAY answer
    # fewer only with a Link header), in no lexical order: the Link parser is tested below.
    paged = client.tags(repository, page_size=2)
    assert sorted(paged) == list(tags)
    assert len(paged) == len(tags)  # none twice


def test_the_config_blob_is_read_by_its_digest(
    docker_engine: LocalEngine, registry: Registry, tmp_path: Path
) -> None:
    repository = f"reads-{uuid.uuid4().hex[:8]}/prod"
    push_image(docker_engine.base_url, registry, repository, ("x",), tmp_path, revision="f" * 40)
    client = RegistryClient(registry.host)
    image = client.find_image(repository, "x")
    assert image is not None
    config_digest = json.loads(image.manifest)["config"]["digest"]
    config = client.blob(repository, config_digest)
    assert b'"org.opencontainers.image.revision":"' + b"f" * 40 in config


def test_the_next_page_is_the_link_s_rel_next() -> None:
    link = '</v2/x/prod/tags/list?last=b2&n=2>; rel="next"'
    assert _next_page(link) == "/v2/x/prod/tags/list?last=b2&n=2"
    assert _next_page('<https://r.example/v2/x/tags/list?n=2&last=c>; rel="next"') == (
        "/v2/x/tags/list?n=2&last=c"
    )
    assert _next_page("") is None
    assert _next_page('</v2/x/tags/list?n=2>; rel="prev"') is None
