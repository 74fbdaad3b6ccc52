"""The base images a Dockerfile's FROM lines name, as plain values (no engine, no registry).

`FROM [--platform=...] image[:tag|@digest] [AS name]`: `scratch` and the stages named earlier
(`FROM base`) are no images; the others are normalised as docker does (`python:3.12` is
docker.io/library/python:3.12). Variables in the image are expanded from the ARGs declared before
the first FROM, their defaults overridden by the build arguments, as BuildKit does: `$NAME`,
`${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}` and `${NAME+word}`; a declared ARG
without default or value is empty.

A FROM line that cannot be read that way (an undeclared variable, such as BuildKit's automatic
TARGETARCH, other expansion forms, a reference that does not parse) is not an error here: docker
may still build it. It is returned with the reason, and the caller must not treat the build's
inputs as known (build-push then builds instead of reusing an image: see the README).

Not covered: images named outside FROM lines (`COPY --from=image`, `RUN --mount=from=image`),
and the `# escape=` directive (the escape character is taken to be the backslash).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from toto_actions.images.names import ImageReference, parse_reference

_VARIABLE = re.compile(
    r"\$(?:(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<operator>:?[-+])(?P<word>[^}]*))?\})"
)

_HEREDOC = re.compile(r"<<-?([\"']?)(?P<word>[A-Za-z_][A-Za-z0-9_]*)\1")


class BaseImage(NamedTuple):
    """One FROM line's image: its reference, or why it could not be read (reference None)."""

    line: int  # 1-based, where the instruction starts
    text: str  # the image as written
    reference: ImageReference | None
    problem: str | None = None


class _Instruction(NamedTuple):
    line: int
    keyword: str  # upper-case
    arguments: str


def base_images(dockerfile: str, build_args: Mapping[str, str]) -> tuple[BaseImage, ...]:
    """The images dockerfile's FROM lines build on, in order, without scratch and earlier
    stages; build_args override the defaults of the ARGs declared before the first FROM."""
    variables: dict[str, str] = {}
    stages: set[str] = set()
    found: list[BaseImage] = []
    seen_from = False
    for instruction in _instructions(dockerfile):
        if instruction.keyword == "ARG" and not seen_from:
            _declare(variables, instruction.arguments, build_args)
        elif instruction.keyword == "FROM":
            seen_from = True
            image, stage = _from_arguments(instruction.arguments)
            if image is not None:
                base = _base_image(instruction.line, image, variables, stages)
                if base is not None:
                    found.append(base)
            if stage:
                stages.add(stage.lower())
    return tuple(found)


# Build arguments that take effect without an ARG line: Docker's predefined proxy ARGs and
# BuildKit's built-in build args (docs.docker.com/reference/dockerfile/, "Predefined ARGs" and
# "BuildKit built-in build args").
PREDEFINED_ARGS = frozenset(
    {
        *(f"{scheme}_PROXY" for scheme in ("HTTP", "HTTPS", "FTP", "NO", "ALL")),
        *(f"{scheme}_proxy" for scheme in ("http", "https", "ftp", "no", "all")),
        "BUILDKIT_CACHE_MOUNT_NS",
        "BUILDKIT_CONTEXT_KEEP_GIT_DIR",
        "BUILDKIT_INLINE_CACHE",
        "BUILDKIT_MULTI_PLATFORM",
        "BUILDKIT_SANDBOX_HOSTNAME",
        "BUILDKIT_SYNTAX",
        "SOURCE_DATE_EPOCH",
    }
)


def declared_args(dockerfile: str) -> frozenset[str]:
    """The build arguments dockerfile takes: the names its ARG instructions declare, in any
    stage, and the predefined ones."""
    names = {
        declaration.partition("=")[0]
        for instruction in _instructions(dockerfile)
        if instruction.keyword == "ARG"
        for declaration in instruction.arguments.split()
    }
    return frozenset(names) | PREDEFINED_ARGS


def _base_image(
    line: int, image: str, variables: Mapping[str, str], stages: set[str]
) -> BaseImage | None:
    try:
        expanded = _expand(image, variables)
    except LookupError as problem:
        return BaseImage(line, image, None, str(problem))
    if expanded.lower() in stages or expanded == "scratch":
        return None
    try:
        return BaseImage(line, image, parse_reference(expanded))
    except ValueError as problem:
        return BaseImage(line, image, None, str(problem))


def _instructions(dockerfile: str) -> list[_Instruction]:
    """The instructions, continuation lines joined, comment lines and heredoc bodies
    (`RUN <<EOF` ... `EOF`) dropped."""
    instructions: list[_Instruction] = []
    pending: list[str] = []
    heredocs: list[str] = []  # the terminators still awaited, in order
    start = 0
    for number, raw in enumerate(dockerfile.splitlines(), start=1):
        stripped = raw.strip()
        if heredocs:
            if stripped == heredocs[0]:
                heredocs.pop(0)
            continue
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        keyword, _, arguments = " ".join(pending).strip().partition(" ")
        instructions.append(_Instruction(start, keyword.upper(), arguments.strip()))
        heredocs = [match["word"] for match in _HEREDOC.finditer(arguments)]
        pending = []
    return instructions


def _declare(variables: dict[str, str], arguments: str, build_args: Mapping[str, str]) -> None:
    """`ARG NAME[=default] ...`: NAME is the build argument's value, else its default, else ''."""
    for declaration in arguments.split():
        name, has_default, default = declaration.partition("=")
        if name in build_args:
            variables[name] = build_args[name]
        elif has_default:
            try:
                variables[name] = _expand(_unquoted(default), variables)
            except LookupError:
                variables[name] = _unquoted(default)
        else:
            variables[name] = ""


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _from_arguments(arguments: str) -> tuple[str | None, str | None]:
    """(image, stage name) of `[--flag=...] image [AS name]`."""
    words = [word for word in arguments.split() if not word.startswith("--")]
    image = words[0] if words else None
    stage = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
    return image, stage


def _expand(text: str, variables: Mapping[str, str]) -> str:
    """text with its variables replaced; LookupError naming the first that cannot be."""

    def replace(match: re.Match[str]) -> str:
        name = match["bare"] or match["name"]
        operator, word = match["operator"], match["word"] or ""
        if name not in variables:
            raise LookupError(
                f"${name} is not an ARG declared before the first FROM: its value is unknown"
            )
        value = variables[name]
        if operator is None:
            return value
        is_set = bool(value) if operator.startswith(":") else True
        if operator.endswith("-"):
            return value if is_set else word
        return word if is_set else ""

    if "$" in _VARIABLE.sub("", text):
        raise LookupError(
            f"{text!r} uses an expansion other than $NAME, ${{NAME}}, ${{NAME:-word}}"
        )
    return _VARIABLE.sub(replace, text)
