"""The base images a Dockerfile's FROM lines name."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pytest

from toto_actions.images.dockerfile import base_images

NO_ARGS: Mapping[str, str] = MappingProxyType({})
DIGEST = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("dockerfile", "build_args", "bases"),
    [
        ("FROM python:3.12-slim\nRUN true\n", NO_ARGS, ["docker.io/library/python:3.12-slim"]),
        ("FROM scratch\nCOPY a /a\n", NO_ARGS, []),
        (
            "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
            "FROM build AS test\n"
            "FROM gcr.io/distroless/static AS final\n"
            "COPY --from=build /app /app\n",
            NO_ARGS,
            ["docker.io/library/golang:1.22", "gcr.io/distroless/static:latest"],
        ),
        ("from alpine as Base\nFROM base\n", NO_ARGS, ["docker.io/library/alpine:latest"]),
        (
            "ARG PYTHON=3.12\nFROM python:${PYTHON}-slim\n",
            NO_ARGS,
            ["docker.io/library/python:3.12-slim"],
        ),
        (
            "ARG PYTHON=3.12\nFROM python:${PYTHON}-slim\n",
            {"PYTHON": "3.13"},
            ["docker.io/library/python:3.13-slim"],
        ),
        ('ARG BASE="alpine:3.20"\nFROM $BASE\n', NO_ARGS, ["docker.io/library/alpine:3.20"]),
        ("ARG TAG\nFROM alpine${TAG:-:3.19}\n", NO_ARGS, ["docker.io/library/alpine:3.19"]),
        ("ARG TAG\nFROM alpine${TAG:+:edge}\n", {"TAG": "x"}, ["docker.io/library/alpine:edge"]),
        (
            "ARG REGISTRY=localhost:5000 \\\n    NAME=base\n"
            "# a comment\n"
            "FROM ${REGISTRY}/${NAME}:1\n",
            NO_ARGS,
            ["localhost:5000/base:1"],
        ),
        (f"FROM ghcr.io/x/y@{DIGEST}\n", NO_ARGS, [f"ghcr.io/x/y@{DIGEST}"]),
        # a heredoc's body is no instruction
        (
            "FROM alpine\nRUN <<EOF\nFROM node\nEOF\nCOPY <<-'A' <<B /\nFROM a\nA\nFROM b\nB\n"
            "FROM ruby\n",
            NO_ARGS,
            ["docker.io/library/alpine:latest", "docker.io/library/ruby:latest"],
        ),
        # an ARG after the first FROM is the stage's, not the FROM lines'
        (
            "FROM alpine\nARG V=1\nFROM alpine:$V\n",
            NO_ARGS,
            ["docker.io/library/alpine:latest", None],
        ),
        ("FROM $TARGETARCH/alpine\n", {"TARGETARCH": "arm64"}, [None]),
        ("ARG V=1\nFROM alpine:${V%%.*}\n", NO_ARGS, [None]),
    ],
)
def test_from_lines_name_their_base_images(
    dockerfile: str, build_args: Mapping[str, str], bases: list[str | None]
) -> None:
    found = base_images(dockerfile, build_args)
    assert [str(base.reference) if base.reference else None for base in found] == bases
    for base in found:
        assert (base.reference is None) == (base.problem is not None)


@pytest.mark.parametrize(
    ("dockerfile", "line", "problem"),
    [
        (
            "FROM alpine\nFROM node:$NODE\n",
            2,
            "$NODE is not an ARG declared before the first FROM: its value is unknown",
        ),
        (
            "ARG V=1\nFROM alpine:${V%%.*}\n",
            2,
            "'alpine:${V%%.*}' uses an expansion other than $NAME, ${NAME}, ${NAME:-word}",
        ),
        ("ARG IMAGE\nFROM ${IMAGE}\n", 2, "'': 'library/' is not a valid repository name"),
    ],
)
def test_a_base_that_cannot_be_read_says_why(dockerfile: str, line: int, problem: str) -> None:
    (base,) = [base for base in base_images(dockerfile, NO_ARGS) if base.reference is None]
    assert (base.line, base.problem) == (line, problem)
