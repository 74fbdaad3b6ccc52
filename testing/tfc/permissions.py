"""What a token may do in a workspace: HCP Terraform's fixed workspace permission sets, each
holding the ones before it (read: read runs; plan: queue plans; write: apply runs; admin), and
the answer to a call the token's set does not allow.

As HashiCorp documents them (developer.hashicorp.com/terraform/cloud-docs/api-docs/...):
- plans, "Retrieve the JSON execution plan": `json-output` needs "a user token or team token
  that has admin level access to the workspace"; a plan the token may not read is 404 ("Plan
  not found, or user unauthorized to perform action", "Show a plan").
- run, "Discard a Run" and "Cancel a Run": "requires permission to apply runs for the
  workspace"; cancel answers 404 "Run was not found or user not authorized". The discard table
  names no status for it: the stand-in answers it alike (applying too).
- `json-output-redacted` is not in the API documentation: Terraform reads it with the token that
  reads the run (hashicorp/terraform internal/cloud/backend_show.go, backend_common.go
  readRedactedPlan), so read access serves it.
Every token starts with admin access, as the stand-in's tokens always had.
"""

from __future__ import annotations

from testing.http_stand_in import Reply
from testing.tfc.documents import not_found
from testing.tfc.model import WorkspaceAccess

_RANK: dict[WorkspaceAccess, int] = {"read": 0, "plan": 1, "write": 2, "admin": 3}
ACCESS_LEVELS: tuple[WorkspaceAccess, ...] = tuple(_RANK)


def refusal(held: WorkspaceAccess, needed: WorkspaceAccess) -> Reply | None:
    """None when the held set allows the call, else HashiCorp's 404 for it."""
    if _RANK[held] >= _RANK[needed]:
        return None
    return not_found().reply
