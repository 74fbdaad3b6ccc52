"""GitHub's published OpenAPI description (npm @octokit/openapi, installed by scripts/bootstrap),
as JSON Schema: what the stand-in GitHub checks every request against, and its tests every answer.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any, NamedTuple

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT4

from testing import REPO_ROOT

OPENAPI_FILE = REPO_ROOT / ".tools/node/node_modules/@octokit/openapi/generated/api.github.com.json"
OPENAPI_URI = "urn:github-openapi"

GITHUB_FORMATS = jsonschema.FormatChecker(formats=())


@GITHUB_FORMATS.checks("date-time", raises=ValueError)
def is_github_timestamp(value: object) -> bool:
    """GitHub's own form of date-time, which the sync compares as text."""
    if isinstance(value, str):
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    return True


class OpenApi(NamedTuple):
    document: dict[str, Any]  # as published
    registry: Registry[Any]  # the same, as JSON Schema (OpenAPI 3.0 `nullable` converted)

    def operation(self, method: str, template: str) -> dict[str, Any]:
        operation: dict[str, Any] = self.document["paths"][template][method.lower()]
        return operation

    def has_operation(self, method: str, template: str) -> bool:
        return method.lower() in self.document["paths"].get(template, {})

    def validate(self, instance: Any, pointer: str) -> None:
        self._validator(pointer).validate(instance)

    def request_body_problem(self, method: str, template: str, body: Any) -> str | None:
        """Why the body is not what the operation accepts; None when it is."""
        operation = self.operation(method, template)
        request_body = operation.get("requestBody")
        if request_body is None:
            return None if body is None else "the operation takes no body"
        if body is None:
            return "a body is required" if request_body.get("required") else None
        pointer = pointer_of("paths", template, method.lower(), "requestBody")
        pointer += pointer_of("content", "application/json", "schema")
        error = jsonschema.exceptions.best_match(self._validator(pointer).iter_errors(body))
        return None if error is None else f"{error.json_path}: {error.message}"

    def _validator(self, pointer: str) -> jsonschema.Draft4Validator:
        return jsonschema.Draft4Validator(
            {"$ref": f"{OPENAPI_URI}#{pointer}"},
            registry=self.registry,
            format_checker=GITHUB_FORMATS,
        )


def pointer_of(*segments: str) -> str:
    """A JSON pointer made of these segments, escaped."""
    return "".join("/" + s.replace("~", "~0").replace("/", "~1") for s in segments)


@functools.cache
def load_openapi() -> OpenApi:
    """The description, read once per process."""
    if not OPENAPI_FILE.is_file():
        raise FileNotFoundError(
            f"GitHub's OpenAPI description is missing ({OPENAPI_FILE}): run scripts/bootstrap, "
            "which installs @octokit/openapi into .tools/node"
        )
    document = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    as_json_schema = {
        "paths": _json_schema(document["paths"]),
        "components": _json_schema(document["components"]),
    }
    registry: Registry[Any] = Registry().with_resource(
        OPENAPI_URI, DRAFT4.create_resource(as_json_schema)
    )
    return OpenApi(document, registry)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schemas as JSON Schema: `nullable: true` becomes an alternative null (3.0 has
    no null type; draft 4, like OpenAPI 3.0, ignores what sits beside a $ref)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: _json_schema(value)
        for key, value in node.items()
        if not (key == "nullable" and isinstance(value, bool))
    }
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted
