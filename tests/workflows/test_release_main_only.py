"""scripts/move-major-tag moves the major tag only to a commit of the default branch (issue 28,
point 6): a release tag pushed on a branch nobody reviewed moves nothing.

The default branch is the branch the remote's HEAD names, as `git ls-remote --symref REMOTE
HEAD` shows it (git's Documentation/git-ls-remote.txt, `--symref`: "show the underlying ref
pointed by it when showing a symbolic ref"; GitHub's HEAD names the repository's default
branch); "contains" is `git merge-base --is-ancestor` (Documentation/git-merge-base.txt: exit 0
when the first commit is an ancestor of the second, 1 when not, anything else an error, which
is never read as "contained"). Against a bare repository on disk as origin, with real git.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.repositories import commit, git
from tests.workflows.test_release import Releases, move_major_tag


@pytest.fixture
def releases(tmp_path: Path) -> Releases:
    return Releases(tmp_path / "releases")


def test_a_release_tag_on_a_branch_main_does_not_contain_moves_nothing(
    releases: Releases,
) -> None:
    released = releases.push_tag("v1.0.0")
    assert move_major_tag(releases, "v1.0.0").returncode == 0
    git(releases.clone, "switch", "--quiet", "--create", "feature/unreviewed")
    unreviewed = commit(releases.clone, {"NEWS": "planted"}, "Not on main")
    git(releases.clone, "push", "--quiet", "origin", "feature/unreviewed")
    releases.push_tag("v1.1.0", annotated=True)

    result = move_major_tag(releases, "v1.1.0")

    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert result.stderr == (
        f"error: v1.1.0 names {unreviewed}, which main (origin's default branch) does not "
        "contain: v1 not moved\n"
    )
    assert releases.origin_tags()["v1"] == released


def test_a_release_of_main_from_a_shallow_checkout_moves_and_one_off_main_does_not(
    releases: Releases, tmp_path: Path
) -> None:
    """The release workflow's checkout (actions/checkout on a tag push) holds the tag's commit
    alone, fetched with --depth=1: the script fetches the default branch itself."""
    on_main = releases.push_tag("v1.2.0")
    git(releases.clone, "switch", "--quiet", "--create", "hotfix")
    off_main = commit(releases.clone, {"NEWS": "hotfix"}, "Hotfix, not merged")
    releases.push_tag("v1.1.0")
    git(releases.clone, "switch", "--quiet", "main")
    commit(releases.clone, {"NEWS": "later"}, "Main moves on")  # the release is behind main
    git(releases.clone, "push", "--quiet", "origin", "main")

    def shallow_checkout(tag: str) -> Path:
        checkout = tmp_path / tag
        checkout.mkdir()
        git(checkout, "init", "--quiet")
        git(checkout, "remote", "add", "origin", str(releases.origin))
        git(
            checkout,
            "fetch",
            "--quiet",
            "--no-tags",
            "--depth=1",
            "origin",
            f"+refs/tags/{tag}:refs/tags/{tag}",
        )
        git(checkout, "checkout", "--quiet", "--detach", tag)
        return checkout

    releases.clone = shallow_checkout("v1.1.0")
    refused = move_major_tag(releases, "v1.1.0")
    assert (refused.returncode, refused.stdout) == (1, ""), refused.stderr
    assert refused.stderr == (
        f"error: v1.1.0 names {off_main}, which main (origin's default branch) does not "
        "contain: v1 not moved\n"
    )
    assert "v1" not in releases.origin_tags()

    releases.clone = shallow_checkout("v1.2.0")
    moved = move_major_tag(releases, "v1.2.0")
    assert (moved.returncode, moved.stderr) == (0, ""), moved.stderr
    assert moved.stdout == f"moved v1 to v1.2.0 ({on_main})\n"
    assert releases.origin_tags()["v1"] == on_main


def test_the_default_branch_is_the_one_the_remote_head_names(releases: Releases) -> None:
    """A repository whose default branch is `trunk`: a release of main, which trunk does not
    contain, moves nothing; a release of trunk moves the tag."""
    git(releases.clone, "switch", "--quiet", "--create", "trunk")
    on_trunk = commit(releases.clone, {"NEWS": "trunk"}, "On trunk")
    git(releases.clone, "push", "--quiet", "origin", "trunk")
    git(releases.origin, "symbolic-ref", "HEAD", "refs/heads/trunk")
    git(releases.clone, "switch", "--quiet", "main")
    off_trunk = commit(releases.clone, {"NEWS": "main"}, "On main only")
    git(releases.clone, "push", "--quiet", "origin", "main")
    releases.push_tag("v2.0.0")

    refused = move_major_tag(releases, "v2.0.0")
    assert refused.stderr == (
        f"error: v2.0.0 names {off_trunk}, which trunk (origin's default branch) does not "
        "contain: v2 not moved\n"
    )
    assert refused.returncode == 1
    assert "v2" not in releases.origin_tags()

    releases.push_tag("v2.0.1", at="trunk")
    moved = move_major_tag(releases, "v2.0.1")
    assert (moved.returncode, moved.stdout) == (0, f"moved v2 to v2.0.1 ({on_trunk})\n")
    assert releases.origin_tags()["v2"] == on_trunk
