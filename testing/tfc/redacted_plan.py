"""The redacted JSON plan HCP Terraform serves at `GET /plans/:id/json-output-redacted`, made
from terraform's own `show -json` of the plan.

Its shape is terraform's jsonformat.Plan (hashicorp/terraform internal/command/jsonformat/plan.go,
which internal/cloud decodes it into): `plan_format_version`, `resource_changes`,
`resource_drift`, `relevant_attributes`, `output_changes`, `provider_format_version` and
`provider_schemas`; it has no `format_version`. A value the plan marks sensitive is replaced by a
hash of it, as terraform's fixtures show (internal/cloud/testdata/apply-json-with-outputs/
plan-redacted.json). The stand-in leaves `provider_schemas` empty: HCP Terraform fills it from
the providers, which no reader here needs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def redacted_plan(json_plan: bytes) -> bytes:
    plan = json.loads(json_plan)
    document = {
        "plan_format_version": plan.get("format_version", "1.2"),
        "resource_drift": [_redacted_change(c) for c in plan.get("resource_drift", [])],
        "resource_changes": [_redacted_change(c) for c in plan.get("resource_changes", [])],
        "relevant_attributes": plan.get("relevant_attributes", []),
        "output_changes": {
            name: _redacted_values(change)
            for name, change in (plan.get("output_changes") or {}).items()
        },
        "provider_schemas": {},
        "provider_format_version": "1.0",
    }
    return json.dumps(document).encode()


def _redacted_change(resource: dict[str, Any]) -> dict[str, Any]:
    return {**resource, "change": _redacted_values(resource.get("change", {}))}


def _redacted_values(change: dict[str, Any]) -> dict[str, Any]:
    redacted = dict(change)
    for side in ("before", "after"):
        redacted[side] = _redacted(change.get(side), change.get(f"{side}_sensitive"))
    return redacted


def _redacted(value: Any, sensitive: Any) -> Any:
    """value with what the sensitive mask (true, or a structure of the value's shape) marks
    replaced by the sha256 of its JSON."""
    if sensitive is True:
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
    if isinstance(value, dict) and isinstance(sensitive, dict):
        return {key: _redacted(item, sensitive.get(key)) for key, item in value.items()}
    if isinstance(value, list) and isinstance(sensitive, list):
        masks = sensitive + [None] * (len(value) - len(sensitive))
        return [_redacted(item, mask) for item, mask in zip(value, masks, strict=False)]
    return value
