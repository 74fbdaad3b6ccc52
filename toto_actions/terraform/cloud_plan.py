"""What a run's plan changes, read from HCP Terraform for the cloud engine.

The JSON plan (`json-output`) needs admin access to the workspace (plans API); a token without
it gets 404. Terraform itself reads the redacted JSON plan (`json-output-redacted`) with the
token that reads the run (hashicorp/terraform internal/cloud/backend_show.go): the same
`resource_changes` and `resource_drift`, sensitive values hashed. So a refused JSON plan is read
redacted; only when both are refused, or neither came, is the summary made of the plan's counts,
its resources unknown: never an empty list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from toto_actions import actions_runtime
from toto_actions.errors import OperationError
from toto_actions.terraform.cloud_api import TfcClient, TfcError
from toto_actions.terraform.plan import (
    UNLISTED_REASON,
    PlanSummary,
    summarize,
    summarize_drift,
    unlisted_summary,
)

REFUSED = frozenset({401, 403, 404})  # what HCP Terraform answers a token that may not read


def plan_summary(client: TfcClient, plan_id: str, *, refresh_only: bool) -> PlanSummary:
    """The plan's summary (of its drift, for a refresh-only plan), from the JSON plan, else
    the redacted one, else the counts; each fallback is a warning naming why."""
    summarized: Callable[[Mapping[str, Any]], PlanSummary] = (
        summarize_drift if refresh_only else summarize
    )
    document = _document("JSON plan", lambda: client.plan_json(plan_id))
    if isinstance(document, TfcError):
        refused = document
        document = _document("redacted JSON plan", lambda: client.redacted_plan_json(plan_id))
        if isinstance(document, TfcError):
            actions_runtime.warning(
                f"the plan's resources are unknown ({refused}; {document}): {UNLISTED_REASON}"
            )
            document = None
    if document is None:
        return _counted(client, plan_id)
    return summarized(document)


def _document(
    name: str, fetch: Callable[[], dict[str, Any] | None]
) -> dict[str, Any] | TfcError | None:
    """The plan document called name; the error when the token may not read it (a status in
    REFUSED); None, after a warning that the plan's counts stand in, when it is not ready or
    could not be fetched."""
    try:
        document = fetch()
    except OperationError as problem:  # a TfcError, or a download that failed
        if isinstance(problem, TfcError) and problem.status in REFUSED:
            return problem
        actions_runtime.warning(f"no {name} ({problem}): using the plan's counts")
        return None
    if document is None:
        actions_runtime.warning(f"the {name} is not ready: using the plan's counts")
    return document


def _counted(client: TfcClient, plan_id: str) -> PlanSummary:
    counts = client.plan(plan_id)
    return unlisted_summary(
        counts.additions, counts.changes, counts.destructions, counts.has_changes
    )
