"""`toto-actions build-push` with the toolkit's own checkout inside the build context, as the
reusable workflows check it out (`.toto-actions/` in the service's workspace): it changes neither
the inputs tag nor the image, against the real dockerd and registry."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from testing.actions_metadata import metadata
from testing.checkout import copy_tracked_files
from testing.local_stack import Registry
from tests.commands.build_push.conftest import Service, outputs_of, registry_tags
from tests.commands.build_push.test_buildkit_features import registry_blobs
from tests.conftest import CliResult

CHECKOUT = ".toto-actions"
# The service's own file, named like the checkout elsewhere in its tree.
SERVICE_FILE = "src/.toto-actions/settings.json"


@pytest.fixture
def service_copying_its_context(service: Service) -> Service:
    """The service, its Dockerfile copying its whole context into the image."""
    (service.root / "Dockerfile").write_text("FROM scratch\nCOPY . /ctx/\n", encoding="utf-8")
    (service.root / SERVICE_FILE).parent.mkdir(parents=True)
    (service.root / SERVICE_FILE).write_text("{}\n", encoding="utf-8")
    return service


def as_the_action_runs(checkout: Path) -> dict[str, str]:
    """The variable the build-push step sets, spelled as it spells it: GITHUB_ACTION_PATH/../.."""
    return {"TOTO_ACTIONS_CHECKOUT": str(checkout / "actions" / "build-push" / ".." / "..")}


def built(service: Service, registry: Registry, repository: str, **env: str) -> dict[str, str]:
    result = service("--repository", repository, "--registry", registry.host, env=env)
    assert result.exit_code == 0, result.stderr
    return outputs_of(result)


def image_files(registry: Registry, repository: str, tag: str) -> dict[str, str]:
    """Every file of the image's layers, by path, with the sha256 of its content."""
    files: dict[str, str] = {}
    for key, content in registry_blobs(registry, repository, tag).items():
        if not key.endswith(".tar"):
            continue
        with tarfile.open(fileobj=io.BytesIO(content)) as layer:
            for member in layer.getmembers():
                extracted = layer.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    files[member.name] = hashlib.sha256(extracted.read()).hexdigest()
    return files


def test_the_checkout_changes_neither_the_inputs_tag_nor_the_image(
    service_copying_its_context: Service, registry: Registry
) -> None:
    service = service_copying_its_context
    before = built(service, registry, "toto/checkout-before")
    checkout = copy_tracked_files(service.root / CHECKOUT)
    assert (checkout / "actions" / "build-push" / "action.yml").is_file()

    again = built(service, registry, "toto/checkout-before", **as_the_action_runs(checkout))
    assert (again["skipped"], again["digest"]) == ("true", before["digest"])  # no rebuild

    fresh = built(service, registry, "toto/checkout-fresh", **as_the_action_runs(checkout))
    assert fresh["skipped"] == "false"
    assert fresh["inputs-tag"] == before["inputs-tag"]
    files = image_files(registry, "toto/checkout-fresh", fresh["inputs-tag"])
    assert files == image_files(registry, "toto/checkout-before", before["inputs-tag"])
    assert f"ctx/{SERVICE_FILE}" in files and "ctx/app.txt" in files
    assert [name for name in files if name.startswith(f"ctx/{CHECKOUT}/")] == []


def planned(service: Service, registry: Registry, **env: str) -> str:
    """The inputs tag `--push false` reports."""
    arguments = ("--repository", "toto/checkout-plan", "--registry", registry.host)
    result = service(*arguments, "--push", "false", env=env)
    assert result.exit_code == 0, result.stderr
    return outputs_of(result)["inputs-tag"]


def test_a_checkout_outside_the_context_leaves_the_context_whole(
    service_copying_its_context: Service, registry: Registry, tmp_path: Path
) -> None:
    """A remote `uses:` runs the action from outside the workspace: a directory of the service
    named like the checkout is the service's own, and stays in."""
    service = service_copying_its_context
    (service.root / CHECKOUT).mkdir()
    (service.root / CHECKOUT / "service-notes.md").write_text("ours\n", encoding="utf-8")
    elsewhere = tmp_path / "actions-cache" / "toto" / "actions" / "v1"
    (elsewhere / "actions" / "build-push").mkdir(parents=True)
    whole = planned(service, registry)
    assert planned(service, registry, **as_the_action_runs(elsewhere)) == whole
    assert planned(service, registry, **as_the_action_runs(service.root / CHECKOUT)) != whole
    assert registry_tags(registry, "toto/checkout-plan") == []


def test_a_checkout_path_no_pattern_can_spell_is_refused_before_anything(
    service_copying_its_context: Service, registry: Registry
) -> None:
    service = service_copying_its_context
    (service.root / "tool[kit]" / "actions" / "build-push").mkdir(parents=True)
    result: CliResult = service(
        "--repository",
        "toto/checkout-refused",
        "--registry",
        registry.host,
        env=as_the_action_runs(service.root / "tool[kit]"),
    )
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: the toto-actions checkout 'tool[kit]' lies inside the build context "
        f"{service.root}, and a .dockerignore pattern cannot spell its path (*, ?, [ or \\ in "
        "it, a leading ! or #, or a space at an end): check the toolkit out to a plain path "
        "such as .toto-actions\n",
    )
    assert registry_tags(registry, "toto/checkout-refused") == []


def test_the_action_names_its_own_checkout(tmp_path: Path) -> None:
    """The build-push step sets TOTO_ACTIONS_CHECKOUT to the checkout its action lies in: its
    assignment, run by bash as the runner runs the step, names the directory above actions/."""
    (step,) = metadata("build-push")["runs"]["steps"]
    (line,) = [line for line in step["run"].splitlines() if "TOTO_ACTIONS_CHECKOUT=" in line]
    assignment = line.partition(" exec ")[0]
    checkout = tmp_path / "workspace" / CHECKOUT
    action = checkout / "actions" / "build-push"
    action.mkdir(parents=True)
    printed = subprocess.run(
        ["bash", "-c", f'{assignment}; echo "$TOTO_ACTIONS_CHECKOUT"'],
        env={"GITHUB_ACTION_PATH": str(action)},
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()
    assert Path(printed).resolve() == checkout.resolve()
    assert printed == as_the_action_runs(checkout)["TOTO_ACTIONS_CHECKOUT"]
