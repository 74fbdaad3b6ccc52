"""The configuration archive honours .terraformignore."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from toto_actions.terraform.archive import config_archive


def names(directory: Path) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(config_archive(directory)), mode="r:gz") as archive:
        return sorted(archive.getnames())


def touch(root: Path, *relatives: str) -> None:
    for relative in relatives:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative, encoding="utf-8")


def test_the_archive_leaves_out_what_terraformignore_and_the_defaults_say(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "main.tf",
        "modules/x/main.tf",
        ".git/config",
        ".terraform/providers/p",
        ".terraform/modules/m/main.tf",
        "secrets.auto.tfvars",
        "docs/readme.md",
        "docs/keep.md",
        "nested/deep/plan.tfplan",
    )
    (tmp_path / ".terraformignore").write_text(
        "# comments are ignored\n*.tfvars\ndocs/\n!docs/keep.md\n*.tfplan\n", encoding="utf-8"
    )
    assert names(tmp_path) == [
        ".terraform/modules/m/main.tf",
        ".terraformignore",
        "docs/keep.md",  # a later `!` pattern re-includes a file of an ignored directory
        "main.tf",
        "modules/x/main.tf",
    ]
