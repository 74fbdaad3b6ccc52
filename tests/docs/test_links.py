"""Every relative link of the documents resolves: README.md, docs/, the actions' READMEs and
examples/README.md. A link to a file names one that exists; a `#fragment` names a heading of
its target, as GitHub makes the anchor of a heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DOCUMENTS = sorted(
    {
        REPO_ROOT / "README.md",
        REPO_ROOT / "examples" / "README.md",
        *(REPO_ROOT / "docs").glob("*.md"),
        *(REPO_ROOT / "actions").glob("**/README.md"),
    }
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def relative_links(document: Path) -> list[str]:
    """The link targets of document outside code blocks, web and mail addresses left out."""
    text = FENCE.sub("", document.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # a link shown as code is no link
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # https:, mailto:
    ]


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces made hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    text = FENCE.sub("", document.read_text(encoding="utf-8"))
    return {anchor(title) for title in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def broken_links(document: Path) -> list[str]:
    broken = []
    for target in relative_links(document):
        path, _, fragment = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        missing = not resolved.exists()
        if missing or (fragment and (resolved.is_dir() or fragment not in anchors(resolved))):
            broken.append(target)
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert document.exists()
    assert broken_links(document) == []


def test_the_anchor_of_a_heading_is_githubs() -> None:
    heading = "Two styles: a caller of the reusable workflow (default), or the whole pipeline"
    assert anchor(heading) == (
        "two-styles-a-caller-of-the-reusable-workflow-default-or-the-whole-pipeline"
    )
    assert anchor("`toto-actions render-workflow`") == "toto-actions-render-workflow"


def test_a_link_to_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# A title\n", encoding="utf-8")
    document = tmp_path / "doc.md"
    document.write_text(
        "[ok](there.md#a-title) [gone](missing.md) [bad](there.md#nope) [web](https://x.test)\n"
        "```\n[in code](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(document) == ["missing.md", "there.md#nope"]
