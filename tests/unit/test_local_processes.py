"""A process is named by PID and start time; only that very process is ever signalled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from redshift_ephemeral._processes import start_time
from redshift_ephemeral.local.processes import is_same_process, signal_exactly

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_start_time_identifies_a_live_process() -> None:
    started = start_time(os.getpid())
    assert isinstance(started, int)
    assert is_same_process(os.getpid(), started)
    assert not is_same_process(os.getpid(), started + 1)
    assert not is_same_process(os.getpid(), None)


def test_a_reused_pid_is_not_signalled(sleeper: subprocess.Popen[bytes]) -> None:
    started = start_time(sleeper.pid)
    assert started is not None
    # A state file written by an earlier process that had this PID: an earlier start.
    assert not signal_exactly(sleeper.pid, started - 1, signal.SIGTERM)
    assert sleeper.poll() is None
    assert not signal_exactly(sleeper.pid, None, signal.SIGTERM)
    assert sleeper.poll() is None


def test_the_recorded_process_is_signalled(sleeper: subprocess.Popen[bytes]) -> None:
    assert signal_exactly(sleeper.pid, start_time(sleeper.pid), signal.SIGTERM)
    assert sleeper.wait(timeout=10) == -signal.SIGTERM


def test_a_gone_process_is_not_signalled(sleeper: subprocess.Popen[bytes]) -> None:
    started = start_time(sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    assert not signal_exactly(sleeper.pid, started, signal.SIGTERM)
    assert start_time(sleeper.pid) is None or not is_same_process(sleeper.pid, started)
