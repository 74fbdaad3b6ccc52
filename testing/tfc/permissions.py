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
Every token starts with admin access, as the stand-in's tokens always had. A workspace resource
shows the calling token's permissions (its `permissions` attribute, "Show workspace"): queueing a
plan (`can-queue-run`) comes with the plan set, applying and locking with write, changing and
destroying the workspace with admin.
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


# Each permission of a workspace resource, and the set that first holds it.
_PERMISSION_LEVELS: dict[str, WorkspaceAccess] = {
    "can-update": "admin",
    "can-destroy": "admin",
    "can-queue-run": "plan",
    "can-queue-apply": "write",
    "can-lock": "write",
    "can-unlock": "write",
    "can-read-state-versions": "read",
    "can-read-state-outputs": "read",
    "can-read-variable": "read",
}


def workspace_permissions(held: WorkspaceAccess) -> dict[str, bool]:
    """The `permissions` attribute of a workspace, for a token holding that set."""
    return {name: _RANK[held] >= _RANK[needed] for name, needed in _PERMISSION_LEVELS.items()}
