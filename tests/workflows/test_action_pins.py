"""The vendored pins of third-party actions, and the script that takes them with git ls-remote."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT, clean_environment
from tests.e2e.repositories import commit, git, new_repository
from toto_actions.workflows.action_pins import pin_table, pinned

REFRESH = REPO_ROOT / "scripts" / "refresh-action-pins"
TEMPLATES = REPO_ROOT / "workflows-templates"
THIRD_PARTY = re.compile(r'third_party\("(?P<reference>[^"]+)"\)')


def template_references() -> set[str]:
    return {
        match["reference"]
        for template in TEMPLATES.glob("*.j2")
        for match in THIRD_PARTY.finditer(template.read_text(encoding="utf-8"))
    }


def test_every_third_party_action_of_the_templates_is_pinned_to_a_release_of_its_major() -> None:
    references = template_references()
    assert "actions/checkout@v4" in references  # the pattern finds what the templates hold
    table = pin_table()
    assert set(table.pins) == references
    for reference, pin in table.pins.items():
        action, major = reference.split("@")
        assert pin.action == action
        assert re.fullmatch(rf"{major}\.\d+\.\d+", pin.version), pin
        assert re.fullmatch(r"[0-9a-f]{40}", pin.sha), pin
        assert pinned(reference) == f"{action}@{pin.sha} # {pin.version}"


def test_the_table_says_when_and_how_it_was_taken() -> None:
    document = json.loads(
        (REPO_ROOT / "toto_actions" / "workflows" / "action_pins.json").read_text()
    )
    taken = datetime.date.fromisoformat(document["taken"])
    assert datetime.date(2025, 1, 1) < taken <= datetime.datetime.now(datetime.UTC).date()
    assert pin_table().taken == document["taken"]
    assert (REPO_ROOT / document["refreshed-by"]).is_file()
    assert "git ls-remote" in document["source"]


def _tag(repository: Path, name: str, *, annotated: bool) -> None:
    if annotated:
        git(repository, "tag", "--annotate", "--message", f"Release {name}", name)
    else:
        git(repository, "tag", name)


def test_the_refresh_takes_the_newest_release_of_each_major_and_its_commit(tmp_path: Path) -> None:
    """A repository on disk stands in for github.com (git's url.<base>.insteadOf): lightweight
    and annotated tags, a pre-release, other majors, a version that sorts wrong as text."""
    repository = new_repository(tmp_path / "setup-thing", "acme/setup-thing", {"a": "1"})
    releases = {}
    for number, (name, annotated) in enumerate(
        [
            ("v1.0.0", False),
            ("v1.9.0", True),
            ("v1.10.0", True),
            ("v1.11.0-rc1", True),
            ("v1", False),
            ("v2.0.0", False),
            ("v10.0.0", False),
        ]
    ):
        releases[name] = commit(repository, {"a": str(number)}, name)
        _tag(repository, name, annotated=annotated)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "one.yml.j2").write_text(
        'uses: [[ third_party("acme/setup-thing/sub@v1") ]]\n'
        "uses: [[ third_party('acme/setup-thing@v2') ]]\n",
        encoding="utf-8",
    )
    output = tmp_path / "pins.json"
    completed = subprocess.run(
        [str(REFRESH), str(templates), str(output)],
        env=clean_environment(
            {
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"url.{repository}.insteadOf",
                "GIT_CONFIG_VALUE_0": "https://github.com/acme/setup-thing.git",
            }
        ),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    written = json.loads(output.read_text(encoding="utf-8"))
    assert written["pins"] == [
        {"action": "acme/setup-thing", "version": "v2.0.0", "sha": releases["v2.0.0"]},
        {"action": "acme/setup-thing/sub", "version": "v1.10.0", "sha": releases["v1.10.0"]},
    ]
    assert written["taken"] == datetime.datetime.now(datetime.UTC).date().isoformat()
    assert f"acme/setup-thing/sub@{releases['v1.10.0']} # v1.10.0\n" in completed.stdout
