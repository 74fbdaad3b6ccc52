"""With `run-source: vcs`: what was pushed, so the cloud engine can tell when the workspace's VCS
connection starts no run (toto_actions/terraform/vcs_trigger.py), and how long it then keeps
looking (`no-run-grace`).

The changed files come from `git diff before...after` in the checkout, not from the event: the
push payload GitHub hands to Actions has no `added`, `removed` or `modified` lists (github/docs,
"Events that trigger workflows", push). A checkout without the `before` commit (actions/checkout
fetches one commit unless `fetch-depth` says more) leaves them unknown, and the step then waits
for a run as long as the queue timeout allows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toto_actions import actions_runtime, git
from toto_actions.options import SECONDS, Option
from toto_actions.terraform.vcs_trigger import VcsEvent

OPTIONS = (
    Option(
        "--no-run-grace",
        "cloud, --run-source vcs: seconds to keep looking for the commit's run once the "
        "workspace's VCS settings say HCP Terraform starts none, before ending with status "
        "no-run (default 120)",
        SECONDS,
        120.0,
        low=0,
        high=86_400,
    ),
)

_NO_COMMIT = "0" * 40  # `before` of a push that created the branch


def vcs_event(directory: Path, commit: str) -> VcsEvent | None:
    """The push or pull request of this workflow run, when it is the commit's; None for any
    other event, or a payload that cannot be read."""
    name, path = actions_runtime.event()
    if name not in {"push", "pull_request"} or not path:
        return None
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        read = _push if name == "push" else _pull
        return read(directory, payload, commit)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _push(directory: Path, payload: dict[str, Any], commit: str) -> VcsEvent | None:
    ref, before, after = str(payload["ref"]), str(payload["before"]), str(payload["after"])
    if after != commit:
        return None
    kind, _, name = ref.removeprefix("refs/").partition("/")
    if kind not in {"heads", "tags"}:
        return None
    files = None if before == _NO_COMMIT else git.changed_files(directory, before, after)
    return VcsEvent("branch" if kind == "heads" else "tag", name, _default_branch(payload), files)


def _pull(directory: Path, payload: dict[str, Any], commit: str) -> VcsEvent | None:
    pull = payload["pull_request"]
    head, base = pull["head"], pull["base"]
    if str(head["sha"]) != commit:
        return None
    head_repository = (head.get("repo") or {}).get("full_name")
    base_repository = base["repo"]["full_name"]
    from_fork = head_repository is None or head_repository.lower() != base_repository.lower()
    files = git.changed_files(directory, str(base["sha"]), commit)
    return VcsEvent(
        "pull_request", str(base["ref"]), _default_branch(payload), files, from_fork=from_fork
    )


def _default_branch(payload: dict[str, Any]) -> str | None:
    branch = (payload.get("repository") or {}).get("default_branch")
    return str(branch) if branch else None
