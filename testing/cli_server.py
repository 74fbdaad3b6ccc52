"""A fork server for the CLI's runs in the tests (testing/cli.py): one process per test process
imports the CLI and the libraries its commands import, once; each run is a child forked from it,
a process of its own (environment, directory, standard streams, exit code) that starts with
them imported instead of paying the imports again (0.25 s of the 0.3 s a render takes as a new
process; more for the commands that import boto3). The server has one thread, so it can fork."""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection

from toto_actions import cli

# The adapters the commands import inside their functions (STYLE: heavy imports stay where they
# are needed), and with them boto3, docker, PyGithub and PyNaCl.
_ADAPTERS = (
    "toto_actions.github.api",
    "toto_actions.github.organization_api",
    "toto_actions.github.repository_setup",
    "toto_actions.images.ecr",
    "toto_actions.images.engine",
    "toto_actions.rollout.ecs",
    "toto_actions.workflows.render",
)


def serve(address: str) -> None:
    """Import everything, then fork a child for each connection to the Unix socket address."""
    for name in _ADAPTERS:
        importlib.import_module(name)
    for name in cli.COMMANDS:
        cli.command_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listening.bind(address)
    listening.listen(16)
    while True:
        accepted, _ = listening.accept()
        if os.fork() == 0:
            listening.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its own subprocesses are waited for
            _run_one(Connection(accepted.detach()))
        accepted.close()


def _run_one(connection: Connection) -> None:
    """In the child: receive the run, answer its pid, run the CLI, answer its exit code, then
    end as a script ends (non-daemon threads joined, atexit handlers run), without the teardown
    of every imported module, which has no effect but a quarter of a second."""
    arguments, cwd, environment, stdout_path, stderr_path = connection.recv()
    connection.send(os.getpid())
    code = _main(arguments, cwd, environment, stdout_path, stderr_path)
    connection.send(code)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # what the interpreter runs at its exit
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _main(
    arguments: Sequence[str],
    cwd: str,
    environment: Mapping[str, str],
    stdout_path: str,
    stderr_path: str,
) -> int:
    """The environment, working directory and standard streams a new process of the console
    script would have, then its main(): its exit code."""
    os.environ.clear()
    os.environ.update(environment)
    tempfile.tempdir = None  # read from TMPDIR again, as a new process would
    os.chdir(cwd)
    for path, descriptor in ((stdout_path, 1), (stderr_path, 2)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, descriptor)
        os.close(opened)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    try:
        code = cli.main(list(arguments))
    except SystemExit as exited:  # as the interpreter turns it into an exit status
        code = exited.code if isinstance(exited.code, int) else int(exited.code is not None)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    serve(sys.argv[1])
