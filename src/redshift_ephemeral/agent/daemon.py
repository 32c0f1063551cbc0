"""The agent: one per user, for as long as it runs.

``Agent(fetches, paths)`` composes the parts - the lock (``instance``), the refresh schedule
(``keeper``), the rendered files (``rendering``) and the socket (``server``) - and
``run_until_signalled()`` is the whole life of ``redshift-ephemeral agent``:

1. take the per-user lock (a second agent stops here);
2. fetch every target once (if none can be fetched, the first error ends the start);
3. write the passfile and ``pg_service.conf`` (0600, in the 0700 directory), then listen on
   the socket - so once the socket answers, the files are there;
4. refresh ahead of expiry, rewriting both files right after every refresh (a server that
   keeps one password per user refuses the old one at once);
5. on SIGTERM or SIGINT: stop listening, remove the socket, the files and the lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from .._private_files import private_directory, write_private
from ..cache import RefreshPolicy
from ..errors import ConfigurationError
from . import protocol, rendering
from .instance import InstanceLock
from .keeper import Clock, Fetch, Keeper
from .paths import AgentPaths
from .peer import require_support
from .server import SocketServer

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_WAIT_SECONDS = 1.0


def targets_to_keep(names: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """``names``, or every target of the config file when none is given; each checked to
    be usable as a service section. A ``ConfigurationError`` if there are none."""
    from ..config import config_path, read_config

    if not names:
        path = config_path(environ)
        tables = (read_config(path) or {}).get("targets")
        names = sorted(tables) if isinstance(tables, dict) else []
        if not names:
            raise ConfigurationError(
                f"No targets to keep: {path} defines no [targets.<name>] table. Add one "
                "(see `redshift-ephemeral creds --help`), or name targets: "
                "redshift-ephemeral agent TARGET..."
            )
    unique = list(dict.fromkeys(names))
    for name in unique:
        rendering.check_target_name(name)
    return unique


def fetches_for(names: Sequence[str], environ: Mapping[str, str]) -> dict[str, Fetch]:
    """Each named target's ``get``, through the shared file store, so ``creds`` and
    ``exec`` of the same target reuse the agent's credentials (and it theirs). Every target
    is validated here, before any AWS call."""
    from ..source import CredentialSource

    return {
        name: CredentialSource.from_target(
            name, environ=environ, defaults={"shared_cache": True}
        ).get
        for name in names
    }


class Agent:
    """The per-user agent; ``run_until_signalled()`` or ``start()`` / ``stop()``."""

    def __init__(
        self,
        fetches: Mapping[str, Fetch],
        paths: AgentPaths,
        *,
        clock: Clock = time.time,
        policy: RefreshPolicy | None = None,
    ):
        for name in fetches:
            rendering.check_target_name(name)
        self.paths = paths
        self.keeper = Keeper(fetches, clock=clock, policy=policy, on_change=self.write_files)
        self._clock = clock
        self._lock = InstanceLock(Path(paths.lock))
        self._server = SocketServer(Path(paths.socket), self.answer)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._files_lock = threading.Lock()
        self.started_at: float | None = None

    # -- life --------------------------------------------------------------------------------

    def start(self) -> None:
        """Lock, first fetch, files, socket, background threads. On any failure everything
        done so far is undone."""
        require_support()
        directory = Path(self.paths.directory)
        private_directory(directory.parent)
        private_directory(directory)
        self._lock.acquire()
        try:
            self.keeper.tick()
            if not self.keeper.known_credentials():
                raise self._first_error()
            self.write_files()
            self._server.bind()
            self.started_at = self._clock()
            loops = (("agent-refresh", self.keeper.run), ("agent-socket", self._server.serve))
            for name, loop in loops:
                thread = threading.Thread(target=loop, args=(self._stop,), name=name, daemon=True)
                thread.start()
                self._threads.append(thread)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop both threads, remove the socket, the files and the lock. Idempotent."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self._server.close()
        for path in (self.paths.passfile, self.paths.service_file):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._lock.release()

    def request_stop(self) -> None:
        self._stop.set()

    def run_until_signalled(self, ready: Callable[[Agent], None] = lambda agent: None) -> None:
        """Start, call ``ready``, and serve until SIGTERM, SIGINT or SIGHUP; then stop."""
        with self._stop_signals():
            self.start()
            try:
                ready(self)
                while not self._stop.wait(_WAIT_SECONDS):
                    pass
            finally:
                self.stop()
        logger.info("agent stopped; its socket and files are removed")

    @contextlib.contextmanager
    def _stop_signals(self) -> Iterator[None]:
        def handler(signum: int, _: FrameType | None) -> None:
            self._stop.set()

        previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)

    # -- files -------------------------------------------------------------------------------

    def write_files(self) -> None:
        """Rewrite the passfile (unexpired passwords) and ``pg_service.conf`` (every target
        with a credential), each atomically. A value a service file cannot hold is logged
        and that file left as it was: never written wrong."""
        with self._files_lock:
            known = self.keeper.known_credentials()
            try:
                service = rendering.service_file(known, Path(self.paths.passfile))
                passfile = rendering.passfile_text(self.keeper.valid_credentials().values())
            except ConfigurationError as error:
                logger.error("the agent's files were not rewritten: %s", error)
                return
            write_private(Path(self.paths.passfile), passfile)
            write_private(Path(self.paths.service_file), service)
            logger.debug("agent files rewritten for %s", ", ".join(sorted(known)))

    # -- the socket's answers ----------------------------------------------------------------

    def answer(self, op: str, target: str | None) -> dict[str, Any]:
        if op == "status":
            return {"ok": True, **self.status()}
        assert target is not None
        state = self.keeper.targets.get(target)
        if state is None:
            return {
                "ok": False,
                "code": protocol.UNKNOWN_TARGET,
                "error": f"This agent does not keep {target!r}; it keeps "
                f"{', '.join(sorted(self.keeper.targets))}.",
            }
        credential = self.keeper.current(target)
        if credential is None:
            return {
                "ok": False,
                "code": protocol.UNAVAILABLE,
                "error": f"No valid password for {target!r} ({state.last_error or 'none yet'}).",
            }
        return {"ok": True, "password": credential.password.reveal()}

    def status(self) -> dict[str, Any]:
        """What ``agent status`` shows: never a password."""
        targets = []
        for name, state in sorted(self.keeper.targets.items()):
            credential = state.credential
            targets.append(
                {
                    "name": name,
                    "user": credential.user if credential else None,
                    "expires_at": credential.expires_at.isoformat() if credential else None,
                    "valid": self.keeper.current(name) is not None,
                    "last_error": state.last_error,
                }
            )
        return {
            "pid": os.getpid(),
            "socket": self.paths.socket,
            "passfile": self.paths.passfile,
            "service_file": self.paths.service_file,
            "targets": targets,
        }

    def _first_error(self) -> Exception:
        """The first target's error as it was raised (its type decides the exit code)."""
        for state in self.keeper.targets.values():
            if state.last_exception is not None:
                return state.last_exception
        return ConfigurationError("No target could be fetched.")  # pragma: no cover


def environment_lines(paths: AgentPaths) -> list[str]:
    """``export`` lines that point libpq at the agent's files (``agent env``)."""
    import shlex

    return [
        f"export PGSERVICEFILE={shlex.quote(paths.service_file)}",
        f"export PGPASSFILE={shlex.quote(paths.passfile)}",
    ]
