"""images.build_context: where the toolkit's checkout lies, the ignore file BuildKit applies, and
the Dockerfile that leaves the checkout out; the file list and the context BuildKit receives
checked against the session's real dockerd."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testing.images import build_image
from testing.local_stack import DockerEngine as LocalEngine
from tests.images.conftest import ContextOnBaseImage, write_tree
from toto_actions.images.build_context import (
    checkout_exclusion,
    dockerfile_leaving_out,
    ignore_file,
)
from toto_actions.images.engine import DockerEngine

# A build that prints, from inside the image, every file of the context it received.
LIST_THE_CONTEXT = (
    "COPY . /ctx/\nRUN cd /ctx && find . -type f -o -type l | sed 's|^./|in image: |' | sort\n"
)
# A service whose context holds the toolkit's checkout at .toto-actions, and files of its own
# named like it elsewhere; its .dockerignore tries to take part of the checkout back.
SERVICE = {
    ".dockerignore": "notes/\n!.toto-actions/actions/install.sh\n",
    "app.py": "print('hi')\n",
    "notes/todo.md": "",
    ".toto-actions/actions/install.sh": "#!/usr/bin/env bash\n",
    ".toto-actions/toto_actions/__init__.py": "",
    "src/.toto-actions/settings.json": "{}\n",
    ".toto-actions.md": "the service's own file\n",
}
SERVICE_FILES = [
    ".dockerignore",
    ".toto-actions.md",
    "Dockerfile",
    "app.py",
    "src/.toto-actions/settings.json",
]


@pytest.mark.parametrize(
    ("checkout", "expected"),
    [
        ("service/.toto-actions", (".toto-actions",)),
        ("service/.toto-actions/actions/build-push/../..", (".toto-actions",)),  # as the action
        ("service/ci/toolkit", ("ci/toolkit",)),
        ("actions-checkout", ()),  # a remote `uses:`: outside the workspace
        ("service", ()),  # the toolkit building itself
        ("", ()),  # the context lies inside the checkout
        (None, ()),  # no action set it: the CLI on a laptop
    ],
)
def test_the_checkout_is_excluded_only_inside_the_context(
    tmp_path: Path, checkout: str | None, expected: tuple[str, ...]
) -> None:
    context = tmp_path / "service"
    (context / ".toto-actions" / "actions" / "build-push").mkdir(parents=True)
    (tmp_path / "actions-checkout").mkdir()
    problems: list[str] = []
    place = None if checkout is None else tmp_path / checkout
    assert checkout_exclusion(problems, context, place) == expected
    assert problems == []


def test_a_context_reached_through_a_symlink_still_excludes_the_checkout(tmp_path: Path) -> None:
    (tmp_path / "service" / ".toto-actions").mkdir(parents=True)
    (tmp_path / "workspace").symlink_to(tmp_path / "service", target_is_directory=True)
    checkout = tmp_path / "service" / ".toto-actions"
    assert checkout_exclusion([], tmp_path / "workspace", checkout) == (".toto-actions",)


@pytest.mark.parametrize(
    "name", ["tool*kit", "tool[1]", "tool?", "back\\slash", "!tk", "#tk", " tk"]
)
def test_a_checkout_path_no_pattern_can_spell_is_one_problem(tmp_path: Path, name: str) -> None:
    context = tmp_path / "service"
    (context / name).mkdir(parents=True)
    problems: list[str] = []
    assert checkout_exclusion(problems, context, context / name) == ()
    assert problems == [
        f"the toto-actions checkout {name!r} lies inside the build context {context}, and a "
        ".dockerignore pattern cannot spell its path (*, ?, [ or \\ in it, a leading ! or #, or "
        "a space at an end): check the toolkit out to a plain path such as .toto-actions"
    ]


def test_the_dockerfiles_own_ignore_file_comes_before_the_contexts(tmp_path: Path) -> None:
    context = write_tree(tmp_path, {"docker/app.Dockerfile": "FROM scratch\n"})
    dockerfile = context / "docker" / "app.Dockerfile"
    assert ignore_file(context, dockerfile) is None
    write_tree(context, {".dockerignore": "a\n"})
    assert ignore_file(context, dockerfile) == context / ".dockerignore"
    write_tree(context, {"docker/app.Dockerfile.dockerignore": "b\n"})
    assert ignore_file(context, dockerfile) == context / "docker" / "app.Dockerfile.dockerignore"


def test_without_exclusion_the_dockerfile_is_the_services_own(tmp_path: Path) -> None:
    context = write_tree(tmp_path / "service", {"Dockerfile": "FROM scratch\n"})
    directory = tmp_path / "build" / "dockerfile"
    assert dockerfile_leaving_out((), context, context / "Dockerfile", directory) == (
        context / "Dockerfile"
    )
    assert not directory.exists()


def test_the_dockerfile_copy_has_only_its_ignore_file_beside_it(tmp_path: Path) -> None:
    context = write_tree(
        tmp_path / "service",
        {
            "Dockerfile": "FROM scratch\nCOPY . /\n",
            ".dockerignore": "\ufeff# notes\nnotes/\n\n  *.log \n",
        },
    )
    (tmp_path / "build").mkdir()
    directory = tmp_path / "build" / "dockerfile"
    copy = dockerfile_leaving_out((".toto-actions",), context, context / "Dockerfile", directory)
    assert copy == directory / "Dockerfile"
    assert sorted(p.name for p in directory.iterdir()) == ["Dockerfile", "Dockerfile.dockerignore"]
    assert copy.read_text() == "FROM scratch\nCOPY . /\n"
    assert (directory / "Dockerfile.dockerignore").read_text() == (
        "\ufeff# notes\nnotes/\n\n  *.log \n.toto-actions\n"
    )
    assert directory.stat().st_mode & 0o777 == 0o700


def test_an_ignore_file_without_a_last_newline_keeps_its_last_pattern(tmp_path: Path) -> None:
    context = write_tree(
        tmp_path / "service",
        {"Dockerfile": "FROM scratch\n", "Dockerfile.dockerignore": "*.log"},
    )
    (tmp_path / "build").mkdir()
    copy = dockerfile_leaving_out(
        ("ci/toolkit",), context, context / "Dockerfile", tmp_path / "build" / "dockerfile"
    )
    assert copy.with_name("Dockerfile.dockerignore").read_text() == "*.log\nci/toolkit\n"


@pytest.fixture(scope="module")
def engine(docker_engine: LocalEngine) -> DockerEngine:
    return DockerEngine(docker_engine.base_url)


def received_by_the_engine(
    docker_engine: LocalEngine, context: Path, dockerfile: Path, tag: str
) -> list[str]:
    """The files of context a build with dockerfile copies into its image, as printed there."""
    lines: list[str] = []
    build_image(docker_engine.base_url, context, tag, lines.append, dockerfile=dockerfile)
    # BuildKit's plain progress puts the step and the time before each line: `#7 0.31 in image: x`
    printed = (re.fullmatch(r"#\d+ [\d.]+ in image: (.*)", line) for line in lines)
    return sorted(match.group(1) for match in printed if match)


def test_the_engine_receives_the_listed_files_without_the_checkout(
    engine: DockerEngine,
    docker_engine: LocalEngine,
    context_on_base_image: ContextOnBaseImage,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    context = context_on_base_image(LIST_THE_CONTEXT, SERVICE)
    dockerfile = context / "Dockerfile"
    excluded = checkout_exclusion([], context, context / ".toto-actions")
    listed = engine.context_files(context, dockerfile, excluded)
    handed = dockerfile_leaving_out(
        excluded, context, dockerfile, tmp_path_factory.mktemp("build") / "dockerfile"
    )
    received = received_by_the_engine(docker_engine, context, handed, "toto-test/checkout:1")
    assert received == listed == SERVICE_FILES
    assert "src/.toto-actions/settings.json" in received  # the service's own, named like it
    whole = engine.context_files(context, dockerfile)
    assert ".toto-actions/toto_actions/__init__.py" in whole  # without the exclusion


def test_the_dockerfiles_own_ignore_file_rules_the_list_and_the_engine(
    engine: DockerEngine,
    docker_engine: LocalEngine,
    context_on_base_image: ContextOnBaseImage,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """BuildKit applies `<Dockerfile>.dockerignore` in place of the context's .dockerignore: the
    list follows it, and so does the copy handed to the engine."""
    context = context_on_base_image(
        LIST_THE_CONTEXT, {**SERVICE, "Dockerfile.dockerignore": "app.py\n"}
    )
    dockerfile = context / "Dockerfile"
    excluded = (".toto-actions",)
    listed = engine.context_files(context, dockerfile, excluded)
    assert "app.py" not in listed and "notes/todo.md" in listed
    handed = dockerfile_leaving_out(
        excluded, context, dockerfile, tmp_path_factory.mktemp("build") / "dockerfile"
    )
    assert received_by_the_engine(docker_engine, context, handed, "toto-test/checkout:2") == listed
    assert received_by_the_engine(docker_engine, context, dockerfile, "toto-test/checkout:3") == (
        engine.context_files(context, dockerfile)
    )
