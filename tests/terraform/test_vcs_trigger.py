"""Whether HCP Terraform starts a VCS run (toto_actions/terraform/vcs_trigger.py), from data.

Sources (hashicorp/web-unified-docs, content/terraform-docs-common/docs/cloud-docs/):
workspaces/settings/vcs.mdx ("Glob Patterns for Automatic Run Triggering", "Automatic Run
Triggering", "VCS Branch", "Automatic Speculative Plans"), workspaces/run/ui.mdx ("Automatically
Starting Runs", "Rules for Triggering Pull Request Plans"), api-docs/workspaces.mdx.
"""

from __future__ import annotations

from typing import Any

import pytest

from toto_actions.terraform.cloud_vcs_api import workspace_vcs
from toto_actions.terraform.vcs_trigger import (
    VcsEvent,
    WorkspaceVcs,
    accepts_vcs_runs,
    matches_trigger_pattern,
    no_run_reason,
)

# vcs.mdx's own examples, then the edges of each wildcard.
PATTERNS = [
    ("/**/*", "main.tf", True),  # "matches every file in every directory"
    ("/**/*", "a/b/c.tf", True),
    ("/module/**/*", "module/x/main.tf", True),
    ("/module/**/*", "module/main.tf", True),
    ("/module/**/*", "modules/main.tf", False),
    ("/**/networking/*", "networking/main.tf", True),
    ("/**/networking/*", "a/networking/main.tf", True),
    ("/**/networking/*", "a/networking/x/main.tf", False),
    ("/**/networking/**/*", "submodule/service-1/networking/private/main.tf", True),
    ("/**/*.tf", "x/y/main.tf", True),
    ("/**/*.tf", "x/y/main.tfvars", False),
    ("/base/*", "base/main.tf", True),  # workspaces.mdx: "no subfolders are included"
    ("/base/*", "base/sub/main.tf", False),
    ("/submodule/*.???", "submodule/a.txt", True),
    # `?` "Matches one or more characters" (vcs.mdx): the wider reading of the page.
    ("/submodule/*.???", "submodule/a.json", True),
    ("/submodule/*.???", "submodule/a.tf", False),
    ("/**/*", ".github/workflows/ci.yml", True),  # hidden files match
    ("infra/*.tf", "infra/main.tf", True),  # "always appended to the root directory"
    ("/infra/*.tf", "other/infra/main.tf", False),
    ("/a+b/(x).tf", "a+b/(x).tf", True),  # no regular expression
    ("/a+b/(x).tf", "aab/x.tf", False),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), PATTERNS)
def test_trigger_patterns_match_as_hcp_documents(pattern: str, path: str, expected: bool) -> None:
    assert matches_trigger_pattern(pattern, path) is expected


def _workspace(**changes: Any) -> WorkspaceVcs:
    settings = WorkspaceVcs(
        name="core-dev",
        connected=True,
        branch="",
        tags_regex=None,
        file_triggers_enabled=True,
        trigger_patterns=(),
        trigger_prefixes=(),
        working_directory="",
        speculative_enabled=True,
        has_runs=True,
        queue_all_runs=False,
    )
    return settings._replace(**changes)


def _push(files: tuple[str, ...] | None, ref: str = "main") -> VcsEvent:
    return VcsEvent("branch", ref, "main", files)


MANY = tuple(f"docs/{n}.md" for n in range(300))

# (workspace settings, event, the reason's start or None for "a run may come")
CASES = [
    ({}, _push(("README.md",)), None),  # root working directory: every file
    ({"working_directory": "infra"}, _push(("infra/main.tf",)), None),
    (
        {"working_directory": "infra"},
        _push(("docs/a.md",)),
        "none of the 1 file changed is under the working directory or the trigger prefixes (infra)",
    ),
    (
        {"working_directory": "/infra", "trigger_prefixes": ("/modules",)},
        _push(("modules/x",)),
        None,
    ),
    ({"working_directory": "infra", "file_triggers_enabled": False}, _push(("docs/a",)), None),
    (
        {"trigger_patterns": ("/infra/**/*",), "working_directory": "infra"},
        _push(("infra/x.tf", "docs/a.md")),
        None,
    ),
    (
        {"trigger_patterns": ("/infra/**/*",)},
        _push(("docs/a.md", "README.md")),
        "none of the 2 files changed matches the trigger patterns (/infra/**/*)",
    ),
    # 300 files or more: HCP Terraform runs every connected workspace (ui.mdx).
    ({"trigger_patterns": ("/infra/**/*",)}, _push(MANY), None),
    ({"tags_regex": r"\d+"}, _push(MANY), None),
    # Files unknown: only what does not depend on them decides.
    ({"trigger_patterns": ("/infra/**/*",)}, _push(None), None),
    ({"trigger_patterns": ("/infra/**/*",)}, _push(()), None),
    ({}, _push(None, ref="feature"), "core-dev follows branch main, not a push to feature"),
    ({"branch": "prod"}, _push(("x",), ref="main"), "core-dev follows branch prod, not a push"),
    ({"branch": ""}, VcsEvent("branch", "feature", None, ("x",)), None),  # default unknown
    ({"tags_regex": r"^\d+\.\d+\.\d+$"}, _push(("x",)), "core-dev starts runs for git tags"),
    ({"tags_regex": r"^\d+\.\d+\.\d+$"}, VcsEvent("tag", "1.2.3", "main", None), None),
    ({"tags_regex": r"^\d+\.\d+\.\d+$"}, VcsEvent("tag", "v1", "main", None), "tag v1 does not"),
    ({}, VcsEvent("tag", "v1", "main", None), None),  # undocumented: a run may come
    ({"connected": False}, _push(("x",)), "core-dev is not connected to a VCS repository"),
    ({}, None, None),
    # Pull requests (ui.mdx, "Rules for Triggering Pull Request Plans").
    ({}, VcsEvent("pull_request", "main", "main", ("x",)), None),
    (
        {"speculative_enabled": False},
        VcsEvent("pull_request", "main", "main", None),
        "core-dev has automatic speculative plans turned off",
    ),
    ({}, VcsEvent("pull_request", "main", "main", None, from_fork=True), "HCP Terraform runs no"),
    ({}, VcsEvent("pull_request", "release", "main", None), "core-dev follows branch main"),
    (
        {"working_directory": "infra"},
        VcsEvent("pull_request", "main", "main", ("docs/a.md",)),
        "none of the 1 file changed",
    ),
]


@pytest.mark.parametrize(("changes", "event", "reason"), CASES)
def test_a_run_is_expected_unless_the_settings_exclude_it(
    changes: dict[str, Any], event: VcsEvent | None, reason: str | None
) -> None:
    found = no_run_reason(_workspace(**changes), event)
    if reason is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(reason), found


def test_a_workspace_without_runs_accepts_none_from_its_vcs_connection() -> None:
    """ui.mdx: "A workspace with no runs will not accept new runs via VCS webhook"; unless
    `queue-all-runs` (workspaces.mdx)."""
    assert accepts_vcs_runs(_workspace())
    assert not accepts_vcs_runs(_workspace(has_runs=False))
    assert accepts_vcs_runs(_workspace(has_runs=False, queue_all_runs=True))


def test_the_workspace_document_reads_as_its_documented_defaults() -> None:
    """api-docs/workspaces.mdx: file-triggers-enabled and speculative-enabled default true; the
    sample document of a VCS workspace (partials/api-code-blocks/workspace-with-vcs.mdx)."""
    document = {
        "id": "ws-1",
        "attributes": {
            "name": "workspace-2",
            "vcs-repo": {"branch": "", "identifier": "example/p", "tags-regex": None},
            "working-directory": "",
            "trigger-prefixes": [],
        },
        "relationships": {"current-run": {"data": {"id": "run-1", "type": "runs"}}},
    }
    settings = workspace_vcs(document, "workspace-2")
    assert settings == _workspace(name="workspace-2")
    bare = workspace_vcs({"id": "ws-2", "attributes": {"vcs-repo": None}}, "other")
    assert (bare.connected, bare.has_runs) == (False, False)
