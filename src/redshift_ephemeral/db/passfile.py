"""A libpq passfile that stays fresh: written to a private 0600 file in a 0700 directory,
rewritten ahead of every expiry while it is open, and removed when closed.

libpq reads ``PGPASSFILE`` at every new connection, so a long-running program given this file
keeps connecting after its first password expired.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from .._private_files import write_private
from ..credentials import Credential
from ..source import CredentialSource

logger = logging.getLogger(__name__)


class RefreshingPassfile:
    """``with RefreshingPassfile(source) as passfile:`` → ``passfile.path``, ``environment()``."""

    def __init__(self, source: CredentialSource, *, check_every: float | None = None):
        self._source = source
        self._check_every = check_every
        self._directory = Path(tempfile.mkdtemp(prefix="redshift-ephemeral-"))  # 0700
        self.path = self._directory / "pgpass"
        self._credential: Credential | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def credential(self) -> Credential:
        assert self._credential is not None, "open the passfile first"
        return self._credential

    def open(self) -> RefreshingPassfile:
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
        """Stop refreshing and remove the file and its directory. Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        shutil.rmtree(self._directory, ignore_errors=True)

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

    def _write(self, credential: Credential) -> None:
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
