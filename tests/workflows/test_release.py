"""This repository's release: scripts/move-major-tag, alone and as .github/workflows/release.yml
runs it under act, against a bare repository on disk as origin."""

from __future__ import annotations

import base64
import subprocess
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, clean_environment
from tests.e2e.act import Act, ActRun, copy_checkout
from tests.e2e.repositories import commit, git

MOVE = REPO_ROOT / "scripts" / "move-major-tag"
RELEASE_WORKFLOW = ".github/workflows/release.yml"


class Releases:
    """A clone of this checkout (one commit on main) whose origin is a bare repository on disk,
    its HEAD naming main (the default branch, as GitHub's HEAD names it)."""

    def __init__(self, root: Path) -> None:
        self.origin = root / "origin.git"
        root.mkdir(exist_ok=True)
        git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.origin))
        self.clone = copy_checkout(root / "actions")
        git(self.clone, "init", "--quiet", "--initial-branch=main")
        git(self.clone, "add", "--all")
        git(self.clone, "commit", "--quiet", "--message", "The actions")
        git(self.clone, "remote", "add", "origin", str(self.origin))
        git(self.clone, "push", "--quiet", "origin", "main")

    def push_tag(self, tag: str, *, annotated: bool = False, at: str = "HEAD") -> str:
        """Tag `at` (annotated or not), push the tag; the commit it names."""
        options = ["--annotate", "--message", f"Release {tag}"] if annotated else []
        git(self.clone, "tag", *options, tag, at)
        git(self.clone, "push", "--quiet", "origin", f"refs/tags/{tag}")
        return git(self.clone, "rev-parse", f"{at}^{{commit}}")

    def origin_tags(self) -> dict[str, str]:
        """Every tag of origin and the object it names (a tag object for an annotated tag)."""
        listed = git(self.origin, "for-each-ref", "--format=%(refname:short) %(objectname)")
        return dict(line.split() for line in listed.splitlines() if line)


def move_major_tag(
    releases: Releases, *arguments: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MOVE), *arguments],
        cwd=releases.clone,
        env=clean_environment(
            {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", **(env or {})}
        ),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def releases(tmp_path: Path) -> Releases:
    return Releases(tmp_path)


def test_a_release_moves_its_major_tag_to_its_commit(releases: Releases) -> None:
    released = releases.push_tag("v1.2.3", annotated=True)
    result = move_major_tag(releases, "v1.2.3")
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout == f"moved v1 to v1.2.3 ({released})\n"
    assert releases.origin_tags()["v1"] == released  # the commit, not the tag object
    # The next release moves it on.
    commit(releases.clone, {"NEWS": "1.3.0"}, "1.3.0")
    git(releases.clone, "push", "--quiet", "origin", "main")  # released from main
    newer = releases.push_tag("v1.3.0")
    assert move_major_tag(releases, "v1.3.0").returncode == 0
    assert releases.origin_tags()["v1"] == newer


def test_an_older_release_of_the_major_leaves_it_where_it_is(releases: Releases) -> None:
    first = git(releases.clone, "rev-parse", "HEAD")
    commit(releases.clone, {"NEWS": "1.2.0"}, "1.2.0")
    git(releases.clone, "push", "--quiet", "origin", "main")
    newest = releases.push_tag("v1.2.0")
    assert move_major_tag(releases, "v1.2.0").returncode == 0
    releases.push_tag("v1.1.9", at=first)  # a backported fix, released after v1.2.0
    result = move_major_tag(releases, "v1.1.9")
    assert (result.returncode, result.stdout) == (0, "v1 stays: v1.1.9 is older than v1.2.0\n")
    assert releases.origin_tags()["v1"] == newest


@pytest.mark.parametrize(
    "tag",
    [
        "v1.2.3-rc1",
        "v1",
        "v1.2",
        "1.2.3",
        "v01.2.3",
        "v1.2.3.4",
        "V1.2.3",
        "v1.2.3\n",
        "v1.\uff12.3",
    ],
)
def test_a_tag_that_is_not_a_release_moves_nothing(releases: Releases, tag: str) -> None:
    if tag.isascii() and tag.isprintable():  # one git can hold
        releases.push_tag(tag)
    before = releases.origin_tags()
    result = move_major_tag(releases, tag)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: {tag!r} is not a release tag vMAJOR.MINOR.PATCH (v1.2.3): no major tag moves\n"
    )
    assert releases.origin_tags() == before


def test_a_release_tag_that_origin_does_not_hold_moves_nothing(releases: Releases) -> None:
    git(releases.clone, "tag", "v1.0.0")  # never pushed
    result = move_major_tag(releases, "v1.0.0")
    assert result.returncode == 1
    assert result.stderr.startswith("error: v1.0.0 on origin does not name ")
    assert "v1" not in releases.origin_tags()


@pytest.fixture
def http_origin() -> Iterator[tuple[str, list[str]]]:
    """A git server on loopback that wants Basic authentication and records what it is sent
    (then refuses it); its repository's URL and the Authorization headers seen."""
    seen: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            authorization = self.headers.get("Authorization")
            if authorization is None:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
            else:
                seen.append(authorization)
                self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    with ThreadingHTTPServer(("127.0.0.1", 0), Recorder) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}/acme/actions.git", seen
        server.shutdown()


def test_github_token_reaches_git_only_through_the_credential_helper(
    releases: Releases, http_origin: tuple[str, list[str]]
) -> None:
    url, seen = http_origin
    releases.push_tag("v1.2.3")
    git(releases.clone, "remote", "set-url", "origin", url)
    token = "ghs_0123456789abcdefABCDEF0123456789abcd"
    result = move_major_tag(releases, "v1.2.3", env={"GITHUB_TOKEN": token})
    assert result.returncode == 1  # the recorder refuses every authenticated request
    expected = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    assert seen == [f"Basic {expected}"]
    assert token not in result.stdout + result.stderr
    # Without a token, git sends none and asks nobody (no terminal prompt).
    seen.clear()
    assert move_major_tag(releases, "v1.2.3").returncode == 1
    assert seen == []


@pytest.fixture
def act(tmp_path: Path, releases: Releases) -> Act:
    return Act(actions_checkout=releases.clone, cache=tmp_path / "act", machine={})


def release_run(act: Act, releases: Releases, tag: str) -> ActRun:
    return act.run(
        releases.clone,
        RELEASE_WORKFLOW,
        "move-major-tag",
        event={"ref": f"refs/tags/{tag}", "ref_type": "tag"},
    )


def test_the_release_workflow_moves_the_major_tag(act: Act, releases: Releases) -> None:
    released = releases.push_tag("v1.2.3")
    run = release_run(act, releases, "v1.2.3")
    assert run.exit_code == 0, run.output
    assert run.outcomes() == {
        "Check out the release": "Success",
        "Move the major tag": "Success",
    }
    assert f"moved v1 to v1.2.3 ({released})" in run.output
    assert releases.origin_tags()["v1"] == released


@pytest.mark.parametrize("tag", ["v1.2.3-rc1", "v1"])
def test_the_release_workflow_moves_nothing_for_other_tags(
    act: Act, releases: Releases, tag: str
) -> None:
    """GitHub runs the workflow for vX.Y.Z tags only (its filter); act ignores the filter, and
    the script refuses the tag itself."""
    releases.push_tag(tag)
    before = releases.origin_tags()
    run = release_run(act, releases, tag)
    assert run.exit_code != 0, run.output
    assert f"error: {tag!r} is not a release tag vMAJOR.MINOR.PATCH" in run.output, run.output
    assert releases.origin_tags() == before
