"""A libpq passfile that stays fresh: written to a private 0600 file in a 0700 directory,
rewritten ahead of every expiry while it is open, and removed when closed.

libpq reads ``PGPASSFILE`` at every new connection, so a long-running program given this file
keeps connecting after its first password expired.

A process killed with SIGKILL cannot remove its passfile, so every passfile lives in one
per-user directory (``$XDG_RUNTIME_DIR/redshift-ephemeral/passfiles``, else a private
directory in the temporary directory) under a name that records its owner - process id and
start time - and each new passfile first removes those whose owner is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from .._private_files import private_directory, write_private
from .._processes import start_time
from ..credentials import Credential
from ..source import CredentialSource
from .options import libpq_environment

logger = logging.getLogger(__name__)

# <pid>-<start time, or "x" where it is unknown>-<random>.pgpass, and write_private's
# temporary files for it (".<name>.<pid>.<random>.tmp").
_PASSFILE_NAME = re.compile(r"\.?(?P<pid>\d+)-(?P<start>\d+|x)-[0-9a-f]+\.pgpass(?:\..*\.tmp)?")
_UNKNOWN_START = "x"


def passfile_directory(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user directory of passfiles, created private (0700) if missing."""
    environ = os.environ if environ is None else environ
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        base = private_directory(Path(runtime) / "redshift-ephemeral")
    else:
        base = private_directory(Path(tempfile.gettempdir()) / f"redshift-ephemeral-{os.getuid()}")
    return private_directory(base / "passfiles")


def process_start_time(pid: int) -> str | None:
    """``_processes.start_time`` as it appears in a passfile's name."""
    started = start_time(pid)
    return None if started is None else str(started)


def _owner_alive(pid: int, start: str) -> bool:
    if start != _UNKNOWN_START:
        return process_start_time(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours to judge, keep the file
        return True
    return True


def remove_stale_passfiles(directory: Path) -> None:
    """Remove the passfiles (and half-written temporaries) whose owner process is gone."""
    for entry in directory.iterdir():
        match = _PASSFILE_NAME.fullmatch(entry.name)
        if match is None or _owner_alive(int(match["pid"]), match["start"]):
            continue
        with contextlib.suppress(FileNotFoundError):
            entry.unlink()
            logger.debug("removed the passfile of ended process %s", match["pid"])


class RefreshingPassfile:
    """``with RefreshingPassfile(source) as passfile:`` → ``passfile.path``, ``environment()``."""

    def __init__(
        self,
        source: CredentialSource,
        *,
        check_every: float | None = None,
        directory: Path | None = None,
    ):
        self._source = source
        self._check_every = check_every
        self._directory = directory
        pid = os.getpid()
        owner = f"{pid}-{process_start_time(pid) or _UNKNOWN_START}"
        self._name = f"{owner}-{secrets.token_hex(4)}.pgpass"
        self.path: Path | None = None
        self._credential: Credential | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def credential(self) -> Credential:
        assert self._credential is not None, "open the passfile first"
        return self._credential

    def open(self) -> RefreshingPassfile:
        directory = self._directory or passfile_directory()
        remove_stale_passfiles(directory)
        self.path = directory / self._name
        try:
            self._write(self._source.get())
        except BaseException:
            self.close()
            raise
        self._thread = threading.Thread(
            target=self._keep_fresh, name="passfile-refresh", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop refreshing and remove the file. Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> RefreshingPassfile:
        return self.open()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def environment(self) -> dict[str, str]:
        """libpq's variables for a child: everything but the password, plus ``PGPASSFILE``."""
        env = self.credential.environment()
        del env["PGPASSWORD"]
        env["PGPASSFILE"] = str(self.path)
        return env

    def child_environment(self, inherited: Mapping[str, str]) -> dict[str, str]:
        """The environment for a child: ``inherited`` without any libpq variable that could
        send the password elsewhere or lower TLS (see ``options.libpq_environment``), plus
        ours."""
        return libpq_environment(inherited, self.environment())

    def _write(self, credential: Credential) -> None:
        assert self.path is not None, "open the passfile first"
        write_private(self.path, credential.pgpass_line() + "\n")
        self._credential = credential

    def _interval(self) -> float:
        if self._check_every is not None:
            return self._check_every
        # Often enough to catch the advisory window of any lifetime (3 s when time-scaled).
        return max(0.05, min(30.0, self.credential.lifetime_seconds / 40))

    def _keep_fresh(self) -> None:
        while not self._stop.wait(self._interval()):
            try:
                credential = self._source.get()
            except Exception as error:
                logger.warning(
                    "could not refresh the passfile (%s); the current password "
                    "stays until it expires",
                    error,
                )
                continue
            if credential is not self._credential:
                self._write(credential)
                logger.debug("passfile refreshed for %s", credential.user)
