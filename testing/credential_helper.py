"""A stand-in docker credential helper (`docker-credential-NAME`), for a `credHelpers` or
`credsStore` entry of a Docker config.

The protocol is docker/docker-credential-helpers' (client/client.go, credentials/error.go), as
docker/cli's native store calls it (cli/config/credentials/native_store.go): `get` reads a
registry address on stdin and prints `{"ServerURL", "Username", "Secret"}`; for an address it
holds nothing for it prints `credentials not found in native keychain` and exits 1, which the
client takes as "no login". Every address asked is appended to the helper's log, one a line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from testing.local_stack import Login

NOT_FOUND = "credentials not found in native keychain"


class CredentialHelper(NamedTuple):
    name: str  # what a Docker config names: credHelpers {"HOST": NAME}, credsStore NAME
    log: Path

    def asked(self) -> list[str]:
        """The registry addresses the helper was asked for, in order."""
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []


def write_helper(directory: Path, name: str, logins: Mapping[str, Login]) -> CredentialHelper:
    """An executable `docker-credential-NAME` in directory (put it on PATH) that holds logins,
    by registry host (an address with a scheme or a path names the same host)."""
    log = directory / f"{name}.asked"
    data = {host: [login.username, login.password] for host, login in logins.items()}
    script = directory / f"docker-credential-{name}"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"LOGINS = json.loads({json.dumps(json.dumps(data))})\n"
        "address = sys.stdin.read().strip()\n"
        f"with open({str(log)!r}, 'a', encoding='utf-8') as asked:\n"
        "    asked.write(f'{sys.argv[1:]} {address}\\n')\n"
        "host = address.split('://', 1)[-1].split('/', 1)[0]\n"
        "if sys.argv[1:] != ['get'] or host not in LOGINS:\n"
        f"    print({NOT_FOUND!r})\n"
        "    sys.exit(1)\n"
        "user, secret = LOGINS[host]\n"
        "print(json.dumps({'ServerURL': address, 'Username': user, 'Secret': secret}))\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return CredentialHelper(name, log)
