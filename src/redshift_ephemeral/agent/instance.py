"""One agent per user: an exclusive ``flock`` on ``agent.lock`` in the agent's directory,
held for the agent's life, with its process id written inside for the error a second agent
prints.

The kernel releases a ``flock`` when its holder exits, however it exits, so a SIGKILLed
agent leaves a lock file that blocks nobody; the next agent takes it and replaces whatever
else the dead one left.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path

from .._private_files import PRIVATE_FILE_MODE
from ..errors import ConfigurationError


class AgentAlreadyRunning(ConfigurationError):
    """Another agent of this user holds the lock."""


class InstanceLock:
    def __init__(self, path: Path):
        self.path = path
        self._descriptor: int | None = None

    def acquire(self) -> None:
        """Hold the lock, or raise ``AgentAlreadyRunning`` naming the running agent."""
        for _ in range(3):  # the file may be removed by a stopping agent between open and lock
            descriptor = os.open(
                self.path,
                os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                PRIVATE_FILE_MODE,
            )
            try:
                info = os.fstat(descriptor)
                if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                    raise ConfigurationError(
                        f"{self.path} is not a regular file of yours. Remove it, then start "
                        "the agent again."
                    )
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise AgentAlreadyRunning(
                        f"An agent is already running for this user ({self._holder(descriptor)}"
                        f", in {self.path.parent}). Use it, or stop it first (kill its pid)."
                    ) from None
            except BaseException:
                os.close(descriptor)
                raise
            if _same_file(descriptor, self.path):
                os.ftruncate(descriptor, 0)
                os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
                self._descriptor = descriptor
                return
            os.close(descriptor)  # locked a file that was just removed: take the new one
        raise ConfigurationError(
            f"Could not take {self.path}: it keeps being replaced. Is another agent starting "
            "and stopping? Try again."
        )

    def release(self) -> None:
        """Remove the lock file and let go. Idempotent."""
        if self._descriptor is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._descriptor)
        self._descriptor = None

    @staticmethod
    def _holder(descriptor: int) -> str:
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
        return f"pid {text}" if text.isdigit() else "pid unknown"


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)
