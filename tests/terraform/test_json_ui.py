"""terraform's machine-readable UI: messages as terraform 1.11 prints them (taken from its
`plan -json` and `apply -json`), read into log lines, planned changes and outputs."""

from __future__ import annotations

import json

import pytest

from toto_actions.terraform.json_ui import log_lines, outputs, parse, planned_change

RESOURCE = {
    "addr": "terraform_data.x",
    "module": "",
    "resource": "terraform_data.x",
    "implied_provider": "terraform",
    "resource_type": "terraform_data",
    "resource_name": "x",
    "resource_key": None,
}
ID = "12f3419b-b026-63b1-eb93-99b8156e5dd7"


def message(text: str, kind: str, **fields: object) -> dict[str, object]:
    return {
        "@level": "info",
        "@message": text,
        "@module": "terraform.ui",
        "@timestamp": "2026-11-30T21:26:38.299195Z",
        "type": kind,
        **fields,
    }


def test_a_line_is_a_message_only_when_it_is_a_json_object_with_a_message() -> None:
    line = json.dumps(message("Terraform 1.11.4", "version", terraform="1.11.4"))
    assert parse(line) == json.loads(line)
    assert parse("Error: flag provided but not defined: -bogus") is None
    assert parse('{"not": "a message"}') is None
    assert parse("{broken") is None
    assert parse("[1, 2]") is None


@pytest.mark.parametrize(
    ("kind", "text", "hook", "expected"),
    [
        (
            "apply_complete",
            f"terraform_data.x: Creation complete after 0s [id={ID}]",
            {"action": "create", "id_key": "id", "id_value": ID, "elapsed_seconds": 0},
            "terraform_data.x: Creation complete after 0s",
        ),
        (
            "apply_start",
            f"terraform_data.x: Modifying... [id={ID}]",
            {"action": "update", "id_key": "id", "id_value": ID},
            "terraform_data.x: Modifying...",
        ),
        (
            "refresh_start",
            f"terraform_data.x: Refreshing state... [id={ID}]",
            {"id_key": "id", "id_value": ID},
            "terraform_data.x: Refreshing state...",
        ),
        (
            "apply_start",
            "terraform_data.x: Creating...",
            {"action": "create"},
            "terraform_data.x: Creating...",
        ),
    ],
)
def test_a_hook_prints_its_message_without_the_resource_id(
    kind: str, text: str, hook: dict[str, object], expected: str
) -> None:
    assert log_lines(message(text, kind, hook={"resource": RESOURCE, **hook})) == [expected]


def test_a_refresh_s_end_prints_nothing_as_in_terraform_s_own_text() -> None:
    hook = {"resource": RESOURCE, "id_key": "id", "id_value": ID}
    text = f"terraform_data.x: Refresh complete [id={ID}]"
    assert log_lines(message(text, "refresh_complete", hook=hook)) == []


def test_a_diagnostic_prints_its_summary_place_and_detail() -> None:
    diagnostic = {
        "severity": "error",
        "summary": "Unsupported argument",
        "detail": 'An argument named "bogus" is not expected here.\nSecond line.',
        "range": {
            "filename": "main.tf",
            "start": {"line": 3, "column": 3, "byte": 40},
            "end": {"line": 3, "column": 8, "byte": 45},
        },
    }
    printed = log_lines(message("Error: Unsupported argument", "diagnostic", diagnostic=diagnostic))
    assert printed == [
        "Error: Unsupported argument",
        "  on main.tf line 3",
        '  An argument named "bogus" is not expected here.',
        "  Second line.",
    ]


def test_a_planned_change_gives_its_address_and_action() -> None:
    change = {"resource": RESOURCE, "action": "replace", "reason": "replace_by_triggers"}
    planned = message("terraform_data.x: Plan to replace", "planned_change", change=change)
    assert planned_change(planned) == ("terraform_data.x", "replace")
    assert planned_change(message("Plan: 1 to add", "change_summary")) is None


def test_the_outputs_of_an_apply_are_in_terraform_output_json_form() -> None:
    reported = {
        "id_after_apply": {"sensitive": False, "type": "string", "value": ID},
        "listy": {"sensitive": False, "type": ["tuple", ["number", "string"]], "value": [1, "a"]},
        "secret": {"sensitive": True, "type": "string"},
    }
    assert outputs(message("Outputs: 3", "outputs", outputs=reported)) == reported
    assert outputs(message("Plan: 1 to add", "change_summary")) is None
