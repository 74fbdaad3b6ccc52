"""The HCP Terraform API's side of a VCS-connected workspace: its VCS settings (workspaces API,
api-docs/workspaces.mdx), read through the client of cloud_api.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toto_actions.terraform.cloud_api import TfcClient, Workspace
from toto_actions.terraform.vcs_trigger import WorkspaceVcs


class VcsTfcClient(TfcClient):
    """The HCP Terraform client, with the reads of a workspace's VCS connection."""

    def vcs_settings(self, workspace: Workspace) -> WorkspaceVcs:
        """The workspace's VCS connection and triggers, and whether it ever had a run."""
        data = self._get(f"/api/v2/workspaces/{workspace.id}", f"workspace {workspace.name}")
        return workspace_vcs(data["data"], workspace.name)


def workspace_vcs(data: Mapping[str, Any], name: str) -> WorkspaceVcs:
    """The WorkspaceVcs of a workspace's JSON:API resource. An attribute left out reads as its
    documented default (file triggers and speculative plans on, no patterns or prefixes)."""
    attributes = data.get("attributes", {})
    repo = attributes.get("vcs-repo") or {}
    latest = ((data.get("relationships") or {}).get("latest-run") or {}).get("data")
    current = ((data.get("relationships") or {}).get("current-run") or {}).get("data")
    file_triggers = attributes.get("file-triggers-enabled")
    speculative = attributes.get("speculative-enabled")
    return WorkspaceVcs(
        name=str(attributes.get("name") or name),
        connected=bool(repo),
        branch=str(repo.get("branch") or ""),
        tags_regex=repo.get("tags-regex") or None,
        file_triggers_enabled=True if file_triggers is None else bool(file_triggers),
        trigger_patterns=tuple(str(p) for p in attributes.get("trigger-patterns") or ()),
        trigger_prefixes=tuple(str(p) for p in attributes.get("trigger-prefixes") or ()),
        working_directory=str(attributes.get("working-directory") or ""),
        speculative_enabled=True if speculative is None else bool(speculative),
        has_runs=bool(latest or current),
        queue_all_runs=bool(attributes.get("queue-all-runs")),
    )
