"""Which process is it, and signal exactly that one.

A PID alone names a process only while it lives: once it exits, the kernel hands the number
to the next process. So the stack records its PID *and its start time* (``/proc/<pid>/stat``
field 22, clock ticks since boot); a later process with the same PID has a later start. On
systems without ``/proc`` the start time is unknown (None) and callers fall back to asking
the process itself (its control token).

``signal_exactly`` closes the remaining race - the process exits and its PID is reused
between the check and the signal - with a pidfd (Linux ≥ 5.3): the descriptor is opened
first, the identity checked after, and the signal sent through the descriptor, which can
only ever reach the process it was opened on.
"""

from __future__ import annotations

import os
import signal
import time

from .._processes import start_time


def is_same_process(pid: int, started: int | None) -> bool:
    """Whether ``pid`` is alive and is the process that started at ``started``."""
    if started is None or not _exists(pid):
        return False
    return start_time(pid) == started


def signal_exactly(pid: int, started: int | None, signum: signal.Signals) -> bool:
    """Send ``signum`` to ``pid`` only if it is the process that started at ``started``.
    Returns whether it was sent."""
    pidfd_open = getattr(os, "pidfd_open", None)
    send = getattr(signal, "pidfd_send_signal", None)
    if pidfd_open is None or send is None:
        if not is_same_process(pid, started):
            return False
        os.kill(pid, signum)
        return True
    try:
        descriptor = pidfd_open(pid)
    except OSError:  # ESRCH: gone
        return False
    try:
        if not is_same_process(pid, started):
            return False
        try:
            send(descriptor, signum)
        except ProcessLookupError:
            return False
        return True
    finally:
        os.close(descriptor)


def _exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_gone(pid: int, started: int | None, timeout: float) -> bool:
    """Wait until the process (pid, started) is gone; whether it went in time."""
    deadline = time.monotonic() + timeout
    while is_same_process(pid, started):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
