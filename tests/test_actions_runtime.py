"""The Actions layer speaks the runner's protocol under Actions and plain text elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from toto_actions import actions_runtime


@pytest.fixture
def under_actions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Set the variables a runner sets for a step; returns the folder of its command files."""
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        (tmp_path / name).touch()
        monkeypatch.setenv(name, str(tmp_path / name))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    return tmp_path


@pytest.fixture
def outside_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "RUNNER_DEBUG"):
        monkeypatch.delenv(name, raising=False)


def read_outputs(output_file: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file the way the runner does (name=value or heredoc)."""
    outputs: dict[str, str] = {}
    lines = iter(output_file.read_text(encoding="utf-8").splitlines())
    for line in lines:
        heredoc = re.fullmatch(r"([^=<]+)<<(.+)", line)
        if heredoc:
            name, delimiter = heredoc.groups()
            value_lines = []
            for value_line in lines:
                if value_line == delimiter:
                    break
                value_lines.append(value_line)
            outputs[name] = "\n".join(value_lines)
        else:
            name, _, value = line.partition("=")
            outputs[name] = value
    return outputs


def test_outputs_go_to_the_output_file_multi_line_values_intact(under_actions: Path) -> None:
    actions_runtime.set_output("image", "registry/app@sha256:abc")
    actions_runtime.set_output("plan", "line one\nline two\n  indented=3")
    assert read_outputs(under_actions / "GITHUB_OUTPUT") == {
        "image": "registry/app@sha256:abc",
        "plan": "line one\nline two\n  indented=3",
    }


def test_outputs_print_as_name_value_outside_actions(
    outside_actions: None, capsys: pytest.CaptureFixture[str]
) -> None:
    actions_runtime.set_output("digest", "sha256:abc")
    assert capsys.readouterr().out == "digest=sha256:abc\n"


def test_summary_markdown_is_appended(under_actions: Path) -> None:
    actions_runtime.add_summary("## Image\n| a | b |")
    actions_runtime.add_summary("second")
    summary = (under_actions / "GITHUB_STEP_SUMMARY").read_text(encoding="utf-8")
    assert summary == "## Image\n| a | b |\n\nsecond\n\n"


def test_mask_registers_the_value_and_each_of_its_lines(
    under_actions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    actions_runtime.mask("s3cr3t-first\ns3cr3t-second")
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "::add-mask::s3cr3t-first%0As3cr3t-second",
        "::add-mask::s3cr3t-second",
        "::add-mask::s3cr3t-first",
    ]


@pytest.mark.parametrize(
    ("value", "registered", "masked"),
    [
        ("1", [], False),
        ("abc", [], False),
        ("  ab  ", [], False),  # spaces do not count
        ("abcd", ["abcd"], True),
        # A multi-line value: whole, and each line long enough to be told from ordinary text.
        ("{\n  pass-word\n}", ["{%0A  pass-word%0A}", "  pass-word"], True),
    ],
)
def test_values_shorter_than_4_characters_are_not_masked(
    under_actions: Path,
    capsys: pytest.CaptureFixture[str],
    value: str,
    registered: list[str],
    masked: bool,
) -> None:
    """The one masking rule of every command: masking "1" would hide every digit 1 of the log
    and make the runner drop every step output holding one."""
    assert actions_runtime.mask(value) is masked
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"::add-mask::{piece}" for piece in registered]
    actions_runtime.info("build 1 of abc: ok")
    assert capsys.readouterr().out.splitlines()[-1] == "build 1 of abc: ok"


def test_masked_values_never_reach_our_own_messages(
    outside_actions: None, capsys: pytest.CaptureFixture[str]
) -> None:
    actions_runtime.mask("hunter2-token")
    actions_runtime.info("token is hunter2-token")
    actions_runtime.error("refused hunter2-token")
    captured = capsys.readouterr()
    assert "hunter2-token" not in captured.out + captured.err
    assert captured.out == "token is ***\n"
    assert captured.err == "error: refused ***\n"


def test_an_error_is_one_annotation_with_a_title(
    under_actions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    actions_runtime.error("bad: one\ntwo, 100%", title="Bad usage: config")
    assert capsys.readouterr().out == "::error title=Bad usage%3A config::bad: one%0Atwo, 100%25\n"


def test_an_error_is_plain_text_on_stderr_outside_actions(
    outside_actions: None, capsys: pytest.CaptureFixture[str]
) -> None:
    actions_runtime.error("no such file", title="ignored outside Actions")
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "error: no such file\n")


def test_a_group_folds_what_is_printed_inside(
    under_actions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with actions_runtime.group("Build"):
        actions_runtime.info("step 1/2")
    assert capsys.readouterr().out == "::group::Build\nstep 1/2\n::endgroup::\n"
