"""This repository's reusable workflows, .github/workflows/toto-<kind>.yml, rendered from the
templates: `python -m toto_actions.workflows.published` writes them (scripts/render-reusable-
workflows), and a test fails when the committed files differ from the render."""

from __future__ import annotations

import sys
from pathlib import Path

from toto_actions.workflows.render import RenderedWorkflow, render_reusable

KINDS = ("microservice", "core")


def published_workflows() -> list[RenderedWorkflow]:
    return [render_reusable(kind) for kind in KINDS]


def main(arguments: list[str]) -> int:
    root = Path(arguments[0]) if arguments else Path.cwd()
    for workflow in published_workflows():
        target = root / workflow.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(workflow.content, encoding="utf-8")
        print(f"wrote {workflow.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
