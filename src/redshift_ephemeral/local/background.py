"""The stack in the background (``local up|down|status|env``): one per user, found through a
state file, started once however many ``local up`` run at the same time.

* The state file and a lock file live in a private directory (0700, ours; see
  ``private_files``). The state file is read with ``read_private``: one planted by another
  user, too open, or a symlink is not trusted.
* ``local up`` holds an exclusive ``flock`` on the lock file from "is one running?" to "the
  new one is ready", so two at once start one stack; the second reports the first's.
* A state file names a process by PID *and* start time (``processes.py``). A stale file -
  its process gone, its PID perhaps reused - is recognised and never signalled; ``local
  down`` checks identity right before the signal, which goes through a pidfd.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._private_files import PRIVATE_FILE_MODE, private_directory, read_private
from .._processes import start_time
from .processes import is_same_process, signal_exactly, wait_gone


def state_file() -> Path:
    """Where ``local up`` records the background stack (0600, in a 0700 directory)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"redshift-ephemeral-{os.getuid()}" / "local-stack.json"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``<state>.lock`` (waits for another ``local up``)."""
    private_directory(path.parent)
    descriptor = os.open(
        path.with_suffix(".lock"),
        os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
        PRIVATE_FILE_MODE,
    )
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def read_state(path: Path | None = None) -> dict[str, Any] | None:
    """The recorded stack, if the state file is trustworthy and well-formed."""
    content = read_private(path or state_file())
    if content is None:
        return None
    try:
        info = json.loads(content)
    except ValueError:
        return None
    if not isinstance(info, dict) or not isinstance(pid := info.get("pid"), int) or pid <= 1:
        return None  # 0 and -1 name process groups, 1 is init: never a stack of ours
    return info


def is_running(info: dict[str, Any]) -> bool:
    """Whether the stack ``info`` describes is the process now running under its PID."""
    pid, started = int(info["pid"]), info.get("process_start")
    if isinstance(started, int) and start_time(pid) is not None:
        return is_same_process(pid, started)
    # No /proc (macOS): ask the process itself; only the stack knows its control token.
    return _answers_token(info)


def _answers_token(info: dict[str, Any]) -> bool:
    request = urllib.request.Request(  # noqa: S310 - our own loopback endpoint
        f"{info.get('endpoint_url', '')}/_local/state",
        data=b"",
        method="POST",
        headers={"X-Local-Stack-Token": str(info.get("control_token", ""))},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start_background(
    time_scale: float = 1.0, ttl_seconds: float = 12 * 3600, timeout: float = 90.0
) -> dict[str, Any]:
    """Start a detached stack that outlives this process (``local up``), or return the one
    already running."""
    from .stack import check_prerequisites

    check_prerequisites()
    path = state_file()
    with _locked(path):
        info = read_state(path)
        if info is not None and is_running(info):
            return info
        path.unlink(missing_ok=True)  # stale, or not to be trusted
        return _spawn(path, time_scale, ttl_seconds, timeout)


def _spawn(path: Path, time_scale: float, ttl_seconds: float, timeout: float) -> dict[str, Any]:
    log_path = path.with_suffix(".log")
    descriptor = os.open(
        log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_FILE_MODE
    )
    with os.fdopen(descriptor, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "redshift_ephemeral.local.server",
                "--state-file",
                str(path),
                "--time-scale",
                repr(time_scale),
                "--ttl",
                str(ttl_seconds),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while (info := read_state(path)) is None or info["pid"] != process.pid:
        if process.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise RuntimeError(f"the local stack failed to start: {log_path.read_text()[-2000:]}")
        time.sleep(0.1)
    return info


def stop_background(timeout: float = 30.0) -> bool:
    """Stop the background stack; False if none was running. Only the process the state
    file names - PID and start time - is ever signalled."""
    path = state_file()
    with _locked(path):
        info = read_state(path)
        if info is None:
            path.unlink(missing_ok=True)  # corrupt, or not to be trusted: nothing to signal
            return False
        pid, started = int(info["pid"]), info.get("process_start")
        if isinstance(started, int) and start_time(pid) is not None:
            sent = signal_exactly(pid, started, signal.SIGTERM)
            if sent:
                wait_gone(pid, started, timeout)
        else:
            sent = _answers_token(info)
            if sent:
                os.kill(pid, signal.SIGTERM)
        if not sent:
            path.unlink(missing_ok=True)  # stale: its process is gone
        return sent


def background_info() -> dict[str, Any] | None:
    """The running background stack, or None."""
    info = read_state()
    return info if info is not None and is_running(info) else None
