"""toto_actions.interrupts: a cancelled job's signals, in a real process that receives them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

# The command's block is interrupted by the first signal; the runner's second one (SIGTERM, 7.5 s
# after SIGINT on GitHub) lands after the block, while the process reports and exits.
SECOND_SIGNAL_AFTER_THE_BLOCK = """
import os, signal, sys, time
from toto_actions.interrupts import Interrupted, unwind_on_signals
from toto_actions.terraform.engine import on_signals

def stop(number):
    raise KeyboardInterrupt

try:
    with {block}:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
except KeyboardInterrupt as interrupted:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.2)
    sys.exit(getattr(interrupted, "exit_code", 130))
sys.exit(1)
"""


@pytest.mark.parametrize("block", ["unwind_on_signals()", "on_signals(stop)"])
def test_the_runner_s_second_signal_after_an_interrupt_does_not_kill_the_exit(block: str) -> None:
    completed = run_python(SECOND_SIGNAL_AFTER_THE_BLOCK.format(block=block))
    assert completed.returncode == 130, completed.stderr


def run_python(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_a_signal_the_block_gives_the_handlers_back() -> None:
    completed = run_python(
        "import signal\nfrom toto_actions.interrupts import unwind_on_signals\n"
        "with unwind_on_signals():\n    pass\n"
        "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
        "assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL\n"
    )
    assert completed.returncode == 0, completed.stderr
