"""build-push's settings and its option values, read and checked (plain): build arguments and
labels, tags, build secrets, SSH, platforms and cache specs. Each reader appends one line per
problem; a secret's value never appears in one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection
from pathlib import Path
from typing import NamedTuple

from toto_actions.images.buildkit import BuildRequest, SecretFile
from toto_actions.images.names import is_tag, normalize_platform, platform_problem
from toto_actions.images.registry import RegistryAccess, RepositorySettings
from toto_actions.options import Pairs

# The build argument that has BuildKit write the layer cache into the image's configuration.
INLINE_CACHE_ARGUMENT = "BUILDKIT_INLINE_CACHE"


class BuildSettings(NamedTuple):
    repository: str
    new_repository: RepositorySettings  # how the repository is created if missing, if it may be
    context: Path
    dockerfile: Path
    tags: tuple[str, ...]
    build_args: dict[str, str]
    target: str | None
    labels: dict[str, str]  # the user's, which are build inputs
    oci_labels: dict[str, str]  # created, revision, source, version: not inputs
    registry: RegistryAccess
    skip_if_exists: bool
    scan_threshold: str | None
    scan_timeout: float
    network: str | None
    platforms: tuple[str, ...]
    secrets: dict[str, str]  # id -> value: masked, never logged, never in the digest
    secret_files: tuple[SecretFile, ...]
    ssh: tuple[str, ...]
    cache_from: tuple[str, ...]
    cache_to: tuple[str, ...]
    pull: bool
    no_cache: bool
    provenance: str | None
    sbom: str | None
    layer_cache: bool = True  # from the registry's newest image, and pushed inline with the image
    branch: str | None = None  # whose newest image the layer cache comes from
    push: bool = True  # false: only the inputs tag is computed and looked up, nothing written
    excluded: tuple[str, ...] = ()  # ignore patterns after the context's: the toolkit's checkout

    @property
    def secret_ids(self) -> tuple[str, ...]:
        return (*self.secrets, *(secret.id for secret in self.secret_files))

    @property
    def input_build_args(self) -> dict[str, str]:
        """The build arguments that shape the image: not BUILDKIT_INLINE_CACHE, which only
        says whether the cache travels with it."""
        return {name: v for name, v in self.build_args.items() if name != INLINE_CACHE_ARGUMENT}

    def build_request(
        self, tag: str, secret_files: tuple[SecretFile, ...], cache_source: str | None = None
    ) -> BuildRequest:
        """What BuildKit is asked to build; the secrets' values are in secret_files by then.

        With the layer cache, and unless the user gave cache specs of their own: the cache
        comes from cache_source (an image reference, when one was found) and the image carries
        its cache inline."""
        cache_from, cache_to = self.cache_from, self.cache_to
        if self.layer_cache and not cache_from and cache_source and not self.no_cache:
            cache_from = (f"type=registry,ref={cache_source}",)
        if self.layer_cache and not cache_to:
            cache_to = ("type=inline",)
        return BuildRequest(
            context=self.context,
            dockerfile=self.dockerfile,
            tag=tag,
            build_args=self.build_args,
            labels={**self.oci_labels, **self.labels},
            target=self.target,
            network=self.network,
            platforms=self.platforms,
            secret_files=(*self.secret_files, *secret_files),
            ssh=self.ssh,
            cache_from=cache_from,
            cache_to=cache_to,
            pull=self.pull,
            no_cache=self.no_cache,
            provenance=self.provenance,
            sbom=self.sbom,
        )


def secrets(problems: list[str], pairs: Pairs) -> dict[str, str]:
    """The build secrets, id -> value, from `secrets` (id=value lines); problems name lines, never
    values."""
    secrets: dict[str, str] = {}
    for number, (secret_id, value) in enumerate(pairs, start=1):
        if not _is_secret_id(secret_id):
            problems.append(f"--secrets: line {number}: {_SECRET_ID_RULE}")
        elif not value:
            problems.append(f"--secrets: {secret_id} has an empty value")
        else:
            secrets[secret_id] = value
    return secrets


def secret_files(problems: list[str], pairs: Pairs) -> tuple[SecretFile, ...]:
    """The build secrets read from files (`secret-files`: id=path lines), each file existing."""
    files: list[SecretFile] = []
    for secret_id, path in pairs:
        if not _is_secret_id(secret_id):
            problems.append(f"--secret-files: {secret_id!r}: {_SECRET_ID_RULE}")
        elif not Path(path).is_file():
            problems.append(f"--secret-files: {secret_id}: no file at {path!r}")
        else:
            files.append(SecretFile(secret_id, Path(path).resolve()))
    return tuple(files)


_SECRET_ID = re.compile(r"[A-Za-z0-9_.-]+")
_SECRET_ID_RULE = "a secret id is letters, digits, '_', '.' and '-'"  # noqa: S105 - a message


def _is_secret_id(secret_id: str) -> bool:
    return _SECRET_ID.fullmatch(secret_id) is not None


def ssh(problems: list[str], raw: str | None) -> tuple[str, ...]:
    entries = tuple(_items(raw, separators="\n"))
    for entry in entries:
        name, equals, paths = entry.partition("=")
        if not (entry == "default" or (equals and _is_secret_id(name) and paths)):
            problems.append(f"--ssh: {entry!r} is neither default nor ID=PATH")
    return entries


def platforms(problems: list[str], raw: str | None) -> tuple[str, ...]:
    platforms = tuple(dict.fromkeys(map(normalize_platform, _items(raw, separators=",\n"))))
    problems += [f"--platforms: {p}" for p in map(platform_problem, platforms) if p]
    return platforms


def cache_specs(problems: list[str], key: str, raw: str | None) -> tuple[str, ...]:
    specs = tuple(_items(raw, separators="\n"))
    for spec in specs:
        kind = spec.partition(",")[0]
        if not kind.startswith("type=") or not kind.removeprefix("type="):
            problems.append(
                f"--{key}: {spec!r} is not a cache spec: type=registry,ref=HOST/REPO:TAG, "
                "type=inline, type=local,src=DIR, type=gha, ..."
            )
    return specs


def _items(raw: str | None, *, separators: str) -> list[str]:
    """The non-empty, stripped items of raw, split at any of the separators."""
    text = raw or ""
    for separator in separators[1:]:
        text = text.replace(separator, separators[0])
    return [item.strip() for item in text.split(separators[0]) if item.strip()]


def build_args(problems: list[str], raw: str | None, declared: Collection[str]) -> dict[str, str]:
    """The build arguments of `build-args`: one NAME=VALUE a line, a comma kept in the value. A
    line that sets, after a comma, an ARG the Dockerfile declares (declared) is refused: it was
    two arguments when the input was comma-separated."""
    return _list_pairs(problems, "build-args", raw, lambda name: name in declared)


def labels(problems: list[str], raw: str | None) -> dict[str, str]:
    """The labels of `labels`: one NAME=VALUE a line, a comma kept in the value; a line with
    `,KEY=` in its value is refused (two labels when the input was comma-separated)."""
    return _list_pairs(problems, "labels", raw, lambda name: True)


def list_items(raw: str | None) -> list[str]:
    """The items of a list input as docker/build-push-action reads `build-args` and `labels`
    (@docker/actions-toolkit, src/util.ts, Util.getList with ignoreComma): CSV records, one a
    line, their fields joined again with commas, so a comma stays in the item; a field in double
    quotes loses them and may span lines (`""` is one quote); no comments; each item stripped,
    empty ones dropped. csv.Error when a quote is not closed (csv-parse throws there too)."""
    if not raw:
        return []
    records = csv.reader(io.StringIO(raw), strict=True)
    return [item for record in records if (item := ",".join(record).strip())]


# `,NAME=` inside a value: what was a second item when the list was comma-separated.
_SET_AFTER_COMMA = re.compile(r",\s*([^\s,=]+)=")
_ONE_A_LINE = "give one NAME=VALUE a line; a comma stays inside a value"


def _list_pairs(
    problems: list[str], key: str, raw: str | None, refused: Callable[[str], bool]
) -> dict[str, str]:
    """NAME=VALUE items of a list input; a problem per item that is not NAME=VALUE or whose value
    sets a refused name after a comma (that problem names the names, never the value)."""
    try:
        items = list_items(raw)
    except csv.Error as problem:
        problems.append(f"--{key}: cannot be read as a list, one item a line ({problem})")
        return {}
    pairs: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name:
            problems.append(f"--{key}: {item!r} is not NAME=VALUE")
            continue
        after_comma = [found for found in _SET_AFTER_COMMA.findall(value) if refused(found)]
        if after_comma:
            shown = ", ".join(f'",{found}="' for found in dict.fromkeys(after_comma))
            declared = " (an ARG of the Dockerfile)" if key == "build-args" else ""
            problems.append(f"--{key}: the value of {name} holds {shown}{declared}: {_ONE_A_LINE}")
            continue
        pairs[name] = value
    return pairs


def tags(
    problems: list[str], raw: object, revision: str | None, version: str | None
) -> tuple[str, ...]:
    if raw:
        tags = [tag.strip() for tag in str(raw).split(",") if tag.strip()]
    else:
        tags = [t for t in (revision[:7] if revision else None, version) if t]
    if not tags:
        problems.append("no tags: pass --tags, or build in a git checkout (or with GITHUB_SHA)")
    for tag in tags:
        if not is_tag(tag):
            problems.append(
                f"tag {tag!r} is not a valid tag: up to 128 letters, digits, '_', "
                "'.' and '-', not starting with '.' or '-'"
            )
    return tuple(dict.fromkeys(tags))
