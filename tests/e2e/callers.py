"""The reusable style under act: a caller's copy that maps the secrets act cannot take from an
environment, and the toolkit's origin that the reusable workflows' checkout falls back to.

act 0.2.89 sets no job.workflow_repository or job.workflow_sha, so the reusable workflows check the
toolkit out at `toto/actions@v1`, which the stand-in checkout fetches from toolkit_origins. act
has no environments and passes a called workflow only the secrets its caller maps: Act.run runs a
copy of the caller that maps every secret given that the called workflow declares (GitHub would
read those from the called job's environment).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from tests.e2e.repositories import git
from toto_actions.workflows.reusable import secrets_of
from toto_actions.workflows.settings import DEFAULT_CORE_SECRETS

# The toolkit's repository as the stand-in checkout fetches it (toolkit_origins): the reusable
# workflows fall back to it at the major tag where the runner names no workflow commit.
TOOLKIT_REPOSITORY, TOOLKIT_TAG = "toto/actions", "v1"


def toolkit_origins(actions_checkout: Path, destination: Path) -> Path:
    """destination holding toto/actions.git, a bare repository of actions_checkout (one commit,
    tagged v1): what the stand-in checkout fetches the toolkit from."""
    work = Path(shutil.copytree(actions_checkout, destination / "work"))
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", "toto-actions")
    git(work, "tag", TOOLKIT_TAG)
    git(destination, "clone", "--quiet", "--bare", str(work), f"{TOOLKIT_REPOSITORY}.git")
    shutil.rmtree(work)
    return destination


_CALLED = re.compile(
    r"^    uses: \S+/\.github/workflows/toto-(?P<kind>microservice|core)\.yml@", re.M
)


def caller_kind(workflow: Path) -> str | None:
    """The kind of the reusable workflow a caller (the reusable style) calls; None otherwise."""
    found = _CALLED.search(workflow.read_text(encoding="utf-8"))
    return found["kind"] if found else None


def mapping_secrets(caller: Path, kind: str, secrets: Mapping[str, str]) -> str:
    """The caller's text, its job's `secrets:` mapping every secret given that the called
    workflow declares (the rendered caller ends with its job's inputs and secrets)."""
    declared = {secret.name for secret in secrets_of(kind, DEFAULT_CORE_SECRETS)}
    lines = caller.read_text(encoding="utf-8").splitlines()
    if "    secrets:" in lines:
        lines = lines[: lines.index("    secrets:")]
    mapped = sorted(name for name in secrets if name in declared)
    if mapped:
        lines += ["    secrets:", *(f"      {name}: ${{{{ secrets.{name} }}}}" for name in mapped)]
    return "\n".join(lines) + "\n"
