"""A throw-away PostgreSQL server: system binaries, a private directory, a free loopback
port, TLS from a fresh local CA, and ``hostssl … scram-sha-256`` as the only way in.

Runs ``postgres`` as an unprivileged OS user when we are root (``initdb`` refuses root).
The bootstrap administrator's password is generated here and never leaves this process.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
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


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


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
    """Start with ``start()``, stop with ``stop()`` (or use as a context manager)."""

    def __init__(
        self, *, bindir: Path | None = None, port: int | None = None, max_connections: int = 200
    ):
        self.bindir = bindir or find_bindir()
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.max_connections = max_connections
        self.account = ServerAccount.choose()
        self.base_dir = Path(tempfile.mkdtemp(prefix="redshift-ephemeral-pg-"))
        self.data_dir = self.base_dir / "data"
        self.tls_dir = self.base_dir / "tls"
        self.ca_path = self.base_dir / "ca.pem"
        self.log_path = self.base_dir / "postgres.log"
        self._admin_password = secrets.token_urlsafe(32)
        self._process: subprocess.Popen[bytes] | None = None
        self._admin: psycopg.Connection[tuple[object, ...]] | None = None
        self._admin_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> PostgresServer:
        try:
            self._write_tls()
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
        """A superuser connection (TLS, scram), one at a time. Kept open for ``postgres``."""
        import psycopg

        with self._admin_lock:
            if database != "postgres":
                with psycopg.connect(**self._admin_params(database), autocommit=True) as conn:
                    yield conn
                return
            if self._admin is None or self._admin.closed:
                self._admin = psycopg.connect(**self._admin_params(database), autocommit=True)
            yield self._admin

    def _admin_params(self, database: str) -> dict[str, Any]:
        return {
            "host": "localhost",
            "port": self.port,
            "dbname": database,
            "user": ADMIN_USER,
            "password": self._admin_password,
            "sslmode": "verify-full",
            "sslrootcert": str(self.ca_path),
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

    def _write_tls(self) -> None:
        import trustme

        ca = trustme.CA(organization_name="redshift-ephemeral local CA")
        server = ca.issue_cert("localhost", "127.0.0.1", "::1")
        self.tls_dir.mkdir(mode=0o700)
        ca.cert_pem.write_to_path(str(self.ca_path))
        self.ca_path.chmod(0o644)
        certificate, key = self.tls_dir / "server.crt", self.tls_dir / "server.key"
        for index, blob in enumerate(server.cert_chain_pems):
            blob.write_to_path(str(certificate), append=index > 0)
        server.private_key_pem.write_to_path(str(key))
        key.chmod(0o600)
        for path in (self.base_dir, self.tls_dir, certificate, key):
            self._chown(path)
        # Clients (us) need to reach the CA file; the server needs its own directory.
        self.base_dir.chmod(0o711)

    def _initdb(self) -> None:
        password_file = self.tls_dir / "bootstrap"
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(self._admin_password + "\n")
            self._chown(password_file)
            self._run_as_server(
                [
                    str(self.bindir / "initdb"),
                    "--pgdata",
                    str(self.data_dir),
                    "--username",
                    ADMIN_USER,
                    "--pwfile",
                    str(password_file),
                    "--auth",
                    "scram-sha-256",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C",
                    "--no-sync",
                    "--no-instructions",
                ]
            )
        finally:
            password_file.unlink(missing_ok=True)

    def _configure(self) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1,::1'",
            "port": str(self.port),
            "unix_socket_directories": "''",
            "max_connections": str(self.max_connections),
            "ssl": "on",
            "ssl_cert_file": f"'{self.tls_dir / 'server.crt'}'",
            "ssl_key_file": f"'{self.tls_dir / 'server.key'}'",
            "password_encryption": "'scram-sha-256'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "log_connections": "off",
            "timezone": "'UTC'",
        }
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# redshift-ephemeral local stack\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        # TLS and a SCRAM password, from loopback only: nothing else gets in.
        (self.data_dir / "pg_hba.conf").write_text(
            "hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n",
            encoding="utf-8",
        )

    def _launch(self) -> None:
        log = self.log_path.open("ab")
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
