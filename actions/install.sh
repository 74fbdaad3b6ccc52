#!/usr/bin/env bash
# Installs the toto-actions package from this checkout of the actions (so the Python code is
# exactly the version the workflow pinned) into a virtual environment of its own, once per job,
# and prints the path of its `toto-actions` command. Progress goes to stderr.
set -euo pipefail
checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/toto-actions-$(printf '%s' "$checkout" | sha256sum | cut -c1-12)"
if [ ! -x "$venv/bin/toto-actions" ]; then
    echo "Installing toto-actions from $checkout" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$checkout" >&2
fi
echo "$venv/bin/toto-actions"
