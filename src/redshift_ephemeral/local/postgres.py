"""A throw-away PostgreSQL server behind the Redshift endpoint: system binaries, a private
directory, and no network at all.

It listens only on a Unix socket (``listen_addresses = ''``) in a directory of mode 0700
owned by the server's OS account, so only that account and root reach it - that is, only the
stack: as root, the stack runs ``postgres`` as an unprivileged account (``initdb`` refuses
root) and reaches the socket as root; otherwise both run as the same user. Because nothing
else can open the socket, ``pg_hba.conf`` is a single ``local all all trust`` line: the
Redshift endpoint (``redshift_endpoint.py``) authenticates clients and then opens their
session here as the login they proved, and the administrator connects the same way. No
password exists on this side at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import logging
import os
import pwd
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, postgres) were not found. Install them: "
    "Debian/Ubuntu `apt-get install -y postgresql`, macOS `brew install postgresql`; "
    "or put their directory on PATH."
)
ADMIN_USER = "stack_admin"
# Names the socket file (.s.PGSQL.5432); each stack has its own directory, so no clash.
SOCKET_PORT = 5432
_UNPRIVILEGED_USERS = ("postgres", "nobody")
_PR_SET_PDEATHSIG = 1


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``postgres``: PATH, ``pg_config --bindir``, then
    Debian's ``/usr/lib/postgresql/<version>/bin`` (newest first)."""
    candidates: list[Path] = []
    if found := shutil.which("initdb"):
        candidates.append(Path(found).resolve().parent)
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            output = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            candidates.append(Path(output))
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += [Path(path) for path in versions]
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "postgres").is_file():
            return directory
    raise ConfigurationError(INSTALL_HINT)


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the parent dies (Linux), so no server is
    left behind if the process that started it is killed."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class ServerAccount:
    uid: int
    gid: int
    name: str

    @classmethod
    def choose(cls) -> ServerAccount | None:
        """None: run as ourselves. As root: an existing unprivileged account."""
        if os.geteuid() != 0:
            return None
        for name in _UNPRIVILEGED_USERS:
            with contextlib.suppress(KeyError):
                entry = pwd.getpwnam(name)
                return cls(entry.pw_uid, entry.pw_gid, name)
        raise ConfigurationError(
            "Running as root, and no unprivileged account (postgres or nobody) exists to run "
            "PostgreSQL: create one (`useradd --system postgres`) or run as a normal user."
        )


class PostgresServer:
    """Start with ``start()``, stop with ``stop()`` (or use as a context manager). Its files
    live in ``base_dir``, which must not exist yet; ``stop()`` removes it."""

    def __init__(self, base_dir: Path, *, bindir: Path | None = None, max_connections: int = 200):
        self.bindir = bindir or find_bindir()
        self.port = SOCKET_PORT
        self.max_connections = max_connections
        self.account = ServerAccount.choose()
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.socket_dir = base_dir / "socket"
        self.log_path = base_dir / "postgres.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._admin: psycopg.Connection[tuple[object, ...]] | None = None
        self._admin_lock = threading.Lock()

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / f".s.PGSQL.{self.port}"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> PostgresServer:
        try:
            self._make_directories()
            self._initdb()
            self._configure()
            self._launch()
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory. Idempotent."""
        self._shut_down()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def restart(self, timeout: float = 60.0) -> None:
        """Stop and start again on the same port and data (every connection is dropped)."""
        with self._admin_lock:
            self._shut_down()
            self._launch()
        self._wait_ready(timeout)

    def _shut_down(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- administration ----------------------------------------------------------------------

    @contextlib.contextmanager
    def admin(self, database: str = "postgres") -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """A superuser connection through the private socket, one at a time. Kept open for
        ``postgres``. Its ``search_path`` is ``pg_catalog`` alone, so an object a login
        creates can never stand in for a catalog one in the administrator's statements."""
        import psycopg

        with self._admin_lock:
            if database != "postgres":
                with psycopg.connect(**self._admin_params(database), autocommit=True) as conn:
                    yield conn
                return
            if self._admin is None or self._admin.closed:
                self._admin = psycopg.connect(**self._admin_params(database), autocommit=True)
            yield self._admin

    def connect_as(self, login: str, database: str) -> psycopg.Connection[Any]:
        """A new autocommit session as ``login`` through the private socket (the Data API's
        statements run in these; the login's privileges, never the administrator's)."""
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            dbname=database,
            user=login,
            autocommit=True,
            connect_timeout=10,
            application_name="redshift-data",
        )

    def _admin_params(self, database: str) -> dict[str, Any]:
        return {
            "host": str(self.socket_dir),
            "port": self.port,
            "dbname": database,
            "user": ADMIN_USER,
            "options": "-c search_path=pg_catalog",
            "connect_timeout": 10,
        }

    # -- steps -------------------------------------------------------------------------------

    def _run_as_server(self, args: list[str]) -> None:
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            user=self.account.uid if self.account else None,
            group=self.account.gid if self.account else None,
            cwd=self.base_dir,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {result.stderr.strip()[-2000:]}")

    def _chown(self, path: Path) -> None:
        if self.account is not None:
            os.chown(path, self.account.uid, self.account.gid)

    def _make_directories(self) -> None:
        # Ours, traversable (0711) so the server account reaches its own directories inside;
        # those (data, socket) are the server account's alone (0700).
        self.base_dir.mkdir(mode=0o711)
        self.base_dir.chmod(0o711)
        for directory in (self.data_dir, self.socket_dir):
            directory.mkdir(mode=0o700)
            self._chown(directory)

    def _initdb(self) -> None:
        self._run_as_server(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                ADMIN_USER,
                "--auth",
                "trust",  # replaced below by the only rule: the private socket
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
                "--no-instructions",
            ]
        )

    def _configure(self) -> None:
        settings = {
            "listen_addresses": "''",  # no TCP at all
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "unix_socket_permissions": "0700",
            "max_connections": str(self.max_connections),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "log_connections": "off",
            "timezone": "'UTC'",
        }
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# redshift-ephemeral local stack\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        # Only the socket, which only the stack can open; no replication connections.
        (self.data_dir / "pg_hba.conf").write_text("local all all trust\n", encoding="utf-8")

    def _launch(self) -> None:
        # The server's log holds failed statements and role names: its account's alone.
        log = os.fdopen(os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        self._chown(self.log_path)
        self._process = subprocess.Popen(
            [str(self.bindir / "postgres"), "-D", str(self.data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self.account.uid if self.account else None,
            group=self.account.gid if self.account else None,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - a single call to prctl
            cwd=self.base_dir,
        )
        log.close()

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited during start-up: {self._log_tail()}")
            try:
                with self.admin() as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as error:
                self._admin = None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not accept connections: {error}") from None
                time.sleep(0.05)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"
