"""The settings that shape a service's image build and its jobs' runner, from toto.yml or flags:
what users change besides the defaults (render-workflow's escape hatches)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from toto_actions.errors import UsageError

_RUNNER_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_RELATIVE_PATH = re.compile(r"[A-Za-z0-9._/-]+")
_BUILD_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class BuildSettings:
    """The build-push inputs a repository may set besides the defaults."""

    context: str = "."
    dockerfile: str | None = None
    build_args: tuple[str, ...] = ()  # NAME=VALUE lines
    target: str | None = None


def build_settings(merged: Mapping[str, Any], kind: str | None) -> BuildSettings:
    context = _path(merged.get("context"), "context") or "."
    dockerfile = _path(merged.get("dockerfile"), "dockerfile")
    build_args = _build_args(merged.get("build-args"))
    target = _text(merged.get("target"), "target")
    if target is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", target):
        raise UsageError(f"target {target!r} is not a build stage name")
    given = BuildSettings(context, dockerfile, build_args, target)
    if given != BuildSettings() and kind != "microservice":
        raise UsageError(
            "context, dockerfile, build-args and target are settings of the microservice workflow"
        )
    return given


def microservice_only(kind: str | None, key: str, value: str | None) -> str | None:
    if value is not None and kind != "microservice":
        raise UsageError(f"{key} is a setting of the microservice workflow")
    if value is not None and (not value.strip() or "\n" in value.strip()):
        raise UsageError(f"{key}: expected one command line, found {value!r}")
    if value is not None and "${{" in value:
        raise UsageError(
            f"{key}: no ${{{{ }}}} expression: the workflow would paste its value into the script"
        )
    return value.strip() if value is not None else None


def runner_labels(value: object) -> tuple[str, ...]:
    """runs-on: one label, a YAML list of labels, or that list as JSON text (the reusable
    workflow's input, read with fromJSON)."""
    labels: object = value
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            labels = json.loads(value)
        except json.JSONDecodeError as error:
            raise UsageError(f"runs-on {value!r} is not a JSON list of labels: {error}") from None
    if isinstance(labels, str):
        labels = [labels.strip()]
    if (
        not isinstance(labels, list | tuple)
        or not labels
        or not all(isinstance(label, str) and _RUNNER_LABEL.fullmatch(label) for label in labels)
    ):
        raise UsageError(
            f"runs-on {value!r}: expected a runner label (ubuntu-latest) or a list of labels "
            "([self-hosted, linux])"
        )
    return tuple(labels)


def _text(value: object, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"{key}: expected a string, found {value!r}")
    return value.strip() or None


def _path(value: object, key: str) -> str | None:
    text = _text(value, key)
    if text is None:
        return None
    if not _RELATIVE_PATH.fullmatch(text) or text.startswith("/") or ".." in text.split("/"):
        raise UsageError(f"{key} {text!r} must be a path inside the repository")
    return text


def _build_args(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        lines = [line.strip() for line in value.splitlines() if line.strip()]
    elif isinstance(value, dict):
        lines = [f"{name}={item}" for name, item in value.items()]
    else:
        raise UsageError(f"build-args: expected NAME=VALUE lines or a mapping, found {value!r}")
    for line in lines:
        name, equals, _ = line.partition("=")
        if not equals or not _BUILD_ARG_NAME.fullmatch(name):
            raise UsageError(f"build-args: {line!r} is not NAME=VALUE")
    return tuple(lines)
