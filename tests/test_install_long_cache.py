"""A long cache path still gives a `toto-actions` that sees every action input.

uv and pip write a console script's shebang as `#!/bin/sh` and an exec of the interpreter when
the interpreter's path makes the line longer than 127 bytes (astral-sh/uv
crates/uv-install-wheel/src/wheel.rs, `format_shebang`; distlib's the same). Ubuntu's /bin/sh is
dash, which drops every environment variable whose name is not a shell name: the hyphenated
`INPUT_WORKING-DIRECTORY` of an action would silently vanish. A self-hosted runner's tool cache
can be that deep; install.sh makes such a script start with bash, which passes them on.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import clean_environment
from tests.test_install_script import run_install

MISSING = "/nonexistent/configuration-given-through-a-hyphenated-input"


def test_a_deep_cache_gives_a_command_that_reads_hyphenated_inputs(
    checkout: Path, tmp_path: Path
) -> None:
    cache = tmp_path / ("deep-" * 14 + "cache")  # the interpreter's path: past 127 bytes
    installed = run_install(checkout, cache)
    assert installed.exit_code == 0, installed.stderr
    assert len(str(installed.environment / "bin" / "python")) > 127
    completed = subprocess.run(
        [str(installed.command), "tf-apply"],
        cwd=tmp_path,
        env={
            **clean_environment(),
            "INPUT_ENGINE": "cli",
            "INPUT_WORKING-DIRECTORY": MISSING,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert MISSING in completed.stderr
    assert installed.command.read_bytes().split(b"\n", 1)[0] == b"#!/usr/bin/env bash"
