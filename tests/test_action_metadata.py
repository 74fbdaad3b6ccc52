"""Each composite action passes every input of its command on, and is clean under the linters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from testing.actions_metadata import ACTIONS, COMPOSED_DEFAULTS, action_path, metadata
from toto_actions.cli import command_module

TOOLS_BIN = Path(sys.executable).parent


def lint(tool: str, *arguments: str, name: str) -> subprocess.CompletedProcess[str]:
    """A linter of the test tools run on the action's action.yml."""
    return subprocess.run(
        [str(TOOLS_BIN / tool), *arguments, str(action_path(name))],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_there_are_actions() -> None:
    assert "sync-secrets" in ACTIONS


@pytest.mark.parametrize("name", ACTIONS)
def test_inputs_are_the_command_options_passed_as_input_variables(name: str) -> None:
    action = metadata(name)
    options = {option.key for option in command_module(name).OPTIONS}
    assert set(action["inputs"]) == options
    (step,) = [s for s in action["runs"]["steps"] if s.get("run", "").rstrip().endswith(f" {name}")]
    assert step["env"] == {f"INPUT_{key.upper()}": f"${{{{ inputs.{key} }}}}" for key in options}


@pytest.mark.parametrize("name", ACTIONS)
def test_the_action_metadata_schema_accepts_it(name: str) -> None:
    result = lint("check-jsonschema", "--builtin-schema", "vendor.github-actions", name=name)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ACTIONS)
def test_zizmor_finds_nothing(name: str) -> None:
    result = lint("zizmor", "--offline", "--no-progress", "--format", "json", name=name)
    assert json.loads(result.stdout) == []


# An input whose default the runner computes from the workflow's context: the option reads the
# variable the runner sets from the same context.
RUNNER_EXPRESSIONS = {
    "${{ github.api_url }}": "GITHUB_API_URL",
    "${{ github.repository_owner }}": "GITHUB_REPOSITORY_OWNER",
    "${{ github.sha }}": "GITHUB_SHA",
    "${{ github.repository }}": "GITHUB_REPOSITORY",
    "${{ github.ref_name }}": "GITHUB_REF_NAME",
}


def shown(value: object) -> str:
    """An option's default as action.yml spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@pytest.mark.parametrize("name", ACTIONS)
def test_each_input_has_its_options_default_and_requiredness(name: str) -> None:
    inputs = metadata(name)["inputs"]
    for option in command_module(name).OPTIONS:
        spec = inputs[option.key]
        assert bool(spec.get("required", False)) == option.required, option.key
        default = spec.get("default")
        if default in RUNNER_EXPRESSIONS:
            assert option.fallback_variable == RUNNER_EXPRESSIONS[default], option.key
        elif (name, option.key) in COMPOSED_DEFAULTS:
            assert default is not None and default.startswith("${{"), option.key
        else:
            expected = None if option.default is None else shown(option.default)
            assert default == expected, option.key
