"""tf-apply's variables as a file terraform reads with -var-file: a file of the step's own,
readable by its owner only, that lives as long as the one terraform run it is written for.

A value on terraform's command line (`-var NAME=VALUE`) is in /proc/<pid>/cmdline, which every
user of the machine can read; in this file it is not. A -var-file keeps the precedence -var has
(hashicorp/terraform, internal/command/arguments/vars.go: every -var and -var-file in the order
given, after TF_VAR_ variables and the terraform.tfvars and *.auto.tfvars files).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from toto_actions.terraform.variables import declared_variables, var_file_text


@contextmanager
def private_var_file(
    variables: Mapping[str, str], configuration: Path, directory: Path | None = None
) -> Iterator[Path | None]:
    """A new .tfvars file (mode 0600, in directory, by default the temporary one) giving
    terraform variables as `-var` would for the configuration; removed when the block ends, however
    it ends. None when there are no variables. Raises UsageError for a name terraform refuses,
    before anything is written."""
    if not variables:
        yield None
        return
    text = var_file_text(variables, declared_variables(configuration))
    descriptor, name = tempfile.mkstemp(prefix="toto-tf-apply-", suffix=".tfvars", dir=directory)
    path = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield path
    finally:
        path.unlink(missing_ok=True)
