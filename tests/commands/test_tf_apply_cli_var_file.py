"""tf-apply's `var` values reach terraform through a variables file readable by its owner only,
never as `-var NAME=VALUE` on a command line, which every user of the machine can read in
/proc/<pid>/cmdline (issue 28, point 9).

Terraform's order of variable sources (hashicorp/terraform, internal/command/arguments/vars.go,
`CollectValues`: TF_VAR_ variables, then terraform.tfvars, terraform.tfvars.json, the
*.auto.tfvars files, then every -var and -var-file in the order given, a later one winning) is
why a file passed with -var-file keeps the precedence -var had, where TF_VAR_ would lose to a
committed terraform.tfvars. How each value is read (internal/configs/named_values.go,
`decodeVariableType`): a variable of a primitive type, or of none, takes the text literally; any
other type parses it as an HCL expression; so the file quotes the first kind and writes the
second as given (hclsyntax/parser.go `ParseStringLiteralToken`, hashicorp/hcl: the escapes a
quoted string has, `$${` and `%%{` for a literal `${` and `%{`).
"""

from __future__ import annotations

import json
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from testing.broken_configuration import add_an_undeclared_variable_reference
from testing.tf_apply_step import TfApplyStep, outputs_of
from tests.conftest import CliRunner

# Local state: the variables, each echoed by an output; terraform_data makes the apply real.
CONFIGURATION = """\
variable "text" {
  type    = string
  default = "default"
}

variable "items" {
  type    = list(string)
  default = []
}

variable "amount" {
  type    = number
  default = 0
}

variable "untyped" {
  default = "default"
}

resource "terraform_data" "echo" {
  input = var.text
}

output "text" {
  value = terraform_data.echo.output
}

output "items" {
  value = var.items
}

output "amount" {
  value = var.amount
}

output "untyped" {
  value = var.untyped
}
"""


class Configuration(TfApplyStep):
    """CONFIGURATION with local state, tf-apply's temporary files kept in its own TMPDIR."""

    def __init__(self, root: Path, cli: CliRunner) -> None:
        (root / "main.tf").write_text(CONFIGURATION, encoding="utf-8")
        self.temp = root.parent / "tmp"
        self.temp.mkdir()
        (root / "terraformrc").write_text("", encoding="utf-8")
        env = {
            "TF_CLI_CONFIG_FILE": str(root / "terraformrc"),
            "CHECKPOINT_DISABLE": "1",
            "TMPDIR": str(self.temp),
        }
        super().__init__(cli, root, "cli", env)

    def output_values(self) -> dict[str, Any]:
        return {name: entry["value"] for name, entry in self.outputs().items()}


@pytest.fixture
def configuration(tmp_path: Path, cli: CliRunner) -> Configuration:
    root = tmp_path / "configuration"
    root.mkdir()
    return Configuration(root, cli)


class CommandLines:
    """Every command line of a terraform process running in directory, read from
    /proc/<pid>/cmdline while the block runs, and each -var-file it names with that file's
    permissions as they were then."""

    def __init__(self, directory: Path) -> None:
        self.directory = str(directory.resolve())
        self.seen: set[tuple[str, ...]] = set()
        self.var_files: dict[str, int] = {}  # path -> its permission bits
        self._stop = threading.Event()

    def watch(self) -> None:
        while not self._stop.is_set():
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit():
                    self._read(proc)
            time.sleep(0.002)

    def _read(self, proc: Path) -> None:
        try:
            if str((proc / "cwd").readlink()) != self.directory:
                return
            arguments = tuple(
                part.decode("utf-8", "replace")
                for part in (proc / "cmdline").read_bytes().split(b"\0")
            )
        except OSError:  # the process ended meanwhile, or is not ours to read
            return
        self.seen.add(arguments)
        for argument in arguments:
            if argument.startswith("-var-file="):
                path = argument.removeprefix("-var-file=")
                with suppress(OSError):  # removed meanwhile
                    self.var_files.setdefault(path, stat.S_IMODE(Path(path).stat().st_mode))

    @contextmanager
    def running(self) -> Iterator[CommandLines]:
        watcher = threading.Thread(target=self.watch, daemon=True)
        watcher.start()
        try:
            yield self
        finally:
            self._stop.set()
            watcher.join()


def test_no_value_is_on_a_command_line_and_the_file_is_private_and_removed(
    configuration: Configuration,
) -> None:
    """The values as a workflow passes them, in the action's input (INPUT_VAR): no command
    line of the step's, nor of any terraform it starts, holds one."""
    value = f"value-{uuid.uuid4().hex}"
    with CommandLines(configuration.root).running() as command_lines:
        result = configuration(env={"INPUT_VAR": f"text={value}\nuntyped={value}-2"})

    assert result.exit_code == 0, result.stdout + result.stderr
    assert outputs_of(result)["status"] == "applied"
    assert configuration.output_values()["text"] == value
    assert configuration.output_values()["untyped"] == f"{value}-2"
    terraform_runs = [line for line in command_lines.seen if any(a == "apply" for a in line)]
    assert terraform_runs, command_lines.seen  # the watcher saw the apply
    assert not [line for line in command_lines.seen if any(value in a for a in line)]
    assert not [line for line in command_lines.seen if "-var" in line]
    assert command_lines.var_files, "the values went in no -var-file"
    assert set(command_lines.var_files.values()) == {0o600}
    assert not [path for path in command_lines.var_files if Path(path).exists()]
    assert list(configuration.temp.iterdir()) == []


def test_the_variables_file_is_removed_when_terraform_fails(
    configuration: Configuration,
) -> None:
    add_an_undeclared_variable_reference(configuration.root)
    with CommandLines(configuration.root).running() as command_lines:
        result = configuration("--var", "text=abcdef")

    assert result.exit_code == 1, result.stdout + result.stderr
    assert "Reference to undeclared input variable" in result.stdout + result.stderr
    assert command_lines.var_files
    assert not [path for path in command_lines.var_files if Path(path).exists()]
    assert list(configuration.temp.iterdir()) == []


def test_a_committed_tfvars_file_still_loses_to_var(configuration: Configuration) -> None:
    """terraform.tfvars and *.auto.tfvars load before any -var-file (vars.go, above)."""
    (configuration.root / "terraform.tfvars").write_text(
        'text = "from-tfvars"\namount = 1\n', encoding="utf-8"
    )
    (configuration.root / "z.auto.tfvars").write_text('text = "from-auto"\n', encoding="utf-8")

    result = configuration("--var", "text=from-var")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert configuration.output_values()["text"] == "from-var"
    assert configuration.output_values()["amount"] == 1  # what var leaves unset still loads


def test_a_var_file_given_to_the_step_keeps_its_place_after_var(
    configuration: Configuration, tmp_path: Path
) -> None:
    """Unchanged from the `-var` days: tf-apply passes its values before --var-file, so the
    file given wins for a variable both set (terraform: in the order given)."""
    given = tmp_path / "given.tfvars"
    given.write_text('text = "from-var-file"\n', encoding="utf-8")

    result = configuration("--var", "text=from-var", "--var", "amount=2", "--var-file", str(given))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert configuration.output_values()["text"] == "from-var-file"
    assert configuration.output_values()["amount"] == 2


# One value a line in the action's input: no line break (nor any other character
# str.splitlines breaks at) can be in one; variables.py's own tests quote those.
VERBATIM = [
    'a "quoted" word',
    "back\\slash \\n not a newline \\u0041",
    "a\ttab",
    "${not.interpolated} and %{ if true }directive%{ endif }",
    "$${ already doubled %%{ too, $$${ and %%%{",
    "ends with $",
    "ends with %",
    "$",
    "control \x01\x08\x1b\x7f characters",
    "unicode é 😀",
    " a leading space",
    "",
]


@pytest.mark.parametrize("value", VERBATIM, ids=range(len(VERBATIM)))
def test_a_string_value_arrives_verbatim(configuration: Configuration, value: str) -> None:
    result = configuration("--var", f"text={value}", "--var", f"untyped={value}")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert configuration.output_values()["text"] == value
    assert configuration.output_values()["untyped"] == value


def test_a_value_of_another_type_is_read_as_hcl_as_var_read_it(
    configuration: Configuration,
) -> None:
    result = configuration(
        "--var", 'items=["a", "b${"c"}"]', "--var", "amount=12.5", "--var", "text=12"
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    assert configuration.output_values() | {"untyped": None} == {
        "text": "12",
        "items": ["a", "bc"],
        "amount": 12.5,
        "untyped": None,
    }
    assert json.loads(configuration.outputs_file.read_text())["amount"]["type"] == "number"


def test_a_variable_the_configuration_does_not_declare_is_refused_before_terraform_runs(
    configuration: Configuration,
) -> None:
    """As `-var`, terraform failed on it ("Value for undeclared variable"); from a variables
    file it would only warn and apply the default (hashicorp/terraform,
    internal/backend/backendrun/unparsed_value.go): the step refuses it, exit 2."""
    result = configuration("--var", "text=a", "--var", "txet=b")

    assert (result.exit_code, result.stderr) == (
        2,
        "error: variable 'txet' is not declared by the configuration (no `variable \"txet\"` "
        "block in its .tf or .tf.json files)\n",
    )
    assert not (configuration.root / ".terraform").exists()
    assert list(configuration.temp.iterdir()) == []
