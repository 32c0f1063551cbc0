"""The shared file store: credentials and endpoints every process of this user reuses.

Like the AWS CLI's ``~/.aws/cli/cache`` (botocore's ``JSONFileCache``): one JSON entry per
key in ``$XDG_CACHE_HOME/redshift-ephemeral/credentials/`` (0700), each entry 0600 and
replaced atomically. The file name is a hash of the key; the key itself names the target, the
database login, the TLS settings and the AWS identity (profile, role chain, access key id -
never a secret key or a session token), so two identities never share an entry.

Cross-process single-flight: a ``flock`` per key (``<hash>.lock``). The kernel releases it
when its holder exits, however it exits, so a killed process never leaves a lock that blocks;
a waiter gives up after ``lock_timeout`` and fetches on its own rather than wait forever.

Every read goes through ``_private_files.read_private``: an entry that is a symlink, not ours,
open to group or others, corrupt, truncated or for another key is treated as absent (and
replaced by the next write), logged at DEBUG, never trusted. If the directory cannot be used
at all (read-only, full disk, planted by someone else), the store warns once and the cache
keeps working from memory.

Entries hold wall-clock times; the cache turns them back into a refresh schedule on its own
monotonic clock (``cache.CredentialCache``). This module knows files, not AWS.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ._private_files import (
    PRIVATE_FILE_MODE,
    UnsafePathError,
    private_directory,
    read_private,
    write_private,
)
from .cache import CredentialCache, StoredCredential
from .credentials import Credential
from .secret import Secret
from .targets import Operation

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
LOCK_TIMEOUT_SECONDS = 90.0
"""How long a process waits for another one's AWS call before making its own: longer than
botocore's standard retries of one call (5 attempts, 10 s connect, 30 s read) usually take."""
ENDPOINT_TTL_SECONDS = 3600.0
"""How long a discovered endpoint (DescribeClusters / GetWorkgroup) is reused."""
_CREDENTIAL_SUFFIX = ".json"
_LOCK_SUFFIX = ".lock"
_STALE_TEMPORARY = 60.0  # seconds: no write takes that long

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, so no shared store
    fcntl = None  # type: ignore[assignment]


def default_cache_directory(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/redshift-ephemeral`` (``~/.cache`` when unset or relative)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = environ.get("HOME") or str(Path.home())
        base = os.path.join(home, ".cache")
    return Path(base) / "redshift-ephemeral"


def key_digest(key: str) -> str:
    """The file name of a key: a hash, so no part of the key is readable in a listing."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True)
class EntrySummary:
    """What ``redshift-ephemeral cache list`` shows of an entry: never the password."""

    label: str
    user: str
    expires_at: datetime
    operation: str
    path: Path


class FileStore:
    """Credentials shared by every process of this user, in private files."""

    def __init__(
        self,
        directory: Path | str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        wall_clock: Callable[[], float] = time.time,
        lock_timeout: float = LOCK_TIMEOUT_SECONDS,
        endpoint_ttl: float = ENDPOINT_TTL_SECONDS,
    ):
        root = Path(directory) if directory is not None else default_cache_directory(environ)
        self.root = root
        self.credentials_directory = root / "credentials"
        self.endpoints_directory = root / "endpoints"
        self.wall_clock = wall_clock
        self.lock_timeout = lock_timeout
        self.endpoint_ttl = endpoint_ttl
        self._unusable: str | None = None if fcntl is not None else "this system has no flock"
        self._warn_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileStore({str(self.root)!r})"

    @property
    def usable(self) -> bool:
        """False once the directory proved unusable; the cache then keeps to memory."""
        return self._unusable is None

    def problem(self) -> str | None:
        """Why this store cannot be used (its directory is made private if missing, and
        must be writable); None if it can. For ``doctor``."""
        if self._unusable is not None:
            return self._unusable
        try:
            private_directory(self.root)
            directory = private_directory(self.credentials_directory)
        except (OSError, UnsafePathError) as error:
            return str(error)
        if not os.access(directory, os.W_OK):
            return f"{directory} is not writable"
        return None

    # -- credentials -------------------------------------------------------------------------

    def load(self, key: str) -> StoredCredential | None:
        """The entry for ``key`` if there is a trustworthy one; None otherwise. An entry past
        its expiry is deleted."""
        if not self.usable:
            return None
        path = self._credential_path(key)
        document = self._read_json(path)
        if document is None:
            return None
        try:
            if document.get("version") != FORMAT_VERSION or document.get("key") != key:
                raise ValueError("written for another key or format")
            stored = StoredCredential(
                _credential_from(document["credential"]),
                float(document["requested_at"]),
                str(document.get("label", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            # ConfigurationError (an invalid host) is a ValueError too.
            logger.debug("ignoring %s: not a valid entry (%s)", path, error)
            return None
        # Aged on this machine's clock from when it was requested, as the cache does (the
        # credential's own times are on AWS's clock).
        if self.wall_clock() >= stored.requested_at + stored.credential.lifetime_seconds:
            self._remove_if_unchanged(key, path, stored)
            return None
        return stored

    def save(self, key: str, label: str, credential: Credential, requested_at: float) -> None:
        """Write the entry for ``key``, replacing any other. Never raises: a directory that
        cannot be written makes the store unusable, with one warning."""
        if not self.usable:
            return
        document = {
            "version": FORMAT_VERSION,
            "key": key,
            "label": label,
            "requested_at": requested_at,
            "credential": _credential_record(credential),
        }
        self._write_json(self._credential_path(key), document)
        self.sweep()

    def sweep(self) -> int:
        """Delete the expired entries of every key (a key nobody asks for again would keep
        its entry forever), their locks, and the temporary files of writes that a killed
        process left behind. Returns how many entries went. Runs after each write: once per
        lifetime per key."""
        removed = 0
        now = self.wall_clock()
        for path in self._paths(self.credentials_directory, "", temporaries=True):
            if path.name.startswith("."):
                with contextlib.suppress(OSError):
                    if path.name.endswith(".tmp") and now - path.stat().st_mtime > _STALE_TEMPORARY:
                        path.unlink()
                continue
            if not _is_entry(path):
                continue
            document = self._read_json(path)
            key = document.get("key") if document is not None else None
            if isinstance(key, str) and self._credential_path(key) == path:
                removed += self.load(key) is None and not path.exists()
        return removed

    def discard(self, key: str, credential: Credential | None = None) -> None:
        """Delete the entry for ``key`` - with ``credential``, only if it still holds that
        password (a newer one another process wrote stays)."""
        if not self.usable:
            return
        path = self._credential_path(key)
        with self.locked(key, wait=True):
            stored = self.load(key)
            if stored is None:
                return
            if credential is None or stored.credential.password == credential.password:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                logger.info("shared entry for %s removed", stored.label or "a credential")

    @contextlib.contextmanager
    def locked(self, key: str, *, wait: bool) -> Iterator[bool]:
        """Hold the cross-process lock of ``key``. Yields True when held; False when another
        process holds it and ``wait`` is False, or it was not released within
        ``lock_timeout`` (then the caller goes ahead on its own, as without a store)."""
        if not self.usable:
            yield True
            return
        path = self.credentials_directory / f"{key_digest(key)}{_LOCK_SUFFIX}"
        descriptor = self._acquire(path, wait)
        if descriptor is None:
            yield False
            return
        try:
            yield True
        finally:
            os.close(descriptor)  # releases the flock

    # -- endpoints ---------------------------------------------------------------------------

    def load_endpoint(self, key: str) -> tuple[str, int, str] | None:
        """A discovered endpoint (host, port, default database) younger than
        ``endpoint_ttl``; None otherwise."""
        if not self.usable:
            return None
        path = self.endpoints_directory / f"{key_digest(key)}{_CREDENTIAL_SUFFIX}"
        document = self._read_json(path)
        if document is None:
            return None
        try:
            if document.get("version") != FORMAT_VERSION or document.get("key") != key:
                raise ValueError("written for another key or format")
            age = self.wall_clock() - float(document["discovered_at"])
            host, port, database = document["host"], document["port"], document["database"]
            if not (isinstance(host, str) and isinstance(database, str)):
                raise TypeError("host and database must be text")
            if isinstance(port, bool) or not isinstance(port, int):
                raise TypeError("port must be a number")
        except (KeyError, TypeError, ValueError) as error:
            logger.debug("ignoring %s: not a valid endpoint entry (%s)", path, error)
            return None
        if not 0 <= age < self.endpoint_ttl:
            return None
        return host, port, database

    def save_endpoint(self, key: str, host: str, port: int, database: str) -> None:
        if not self.usable:
            return
        document = {
            "version": FORMAT_VERSION,
            "key": key,
            "discovered_at": self.wall_clock(),
            "host": host,
            "port": port,
            "database": database,
        }
        path = self.endpoints_directory / f"{key_digest(key)}{_CREDENTIAL_SUFFIX}"
        self._write_json(path, document)

    # -- the whole store ---------------------------------------------------------------------

    def entries(self) -> list[EntrySummary]:
        """The unexpired credential entries, soonest expiry first; expired ones are
        deleted on the way."""
        summaries = []
        for path in self._paths(self.credentials_directory, _CREDENTIAL_SUFFIX):
            document = self._read_json(path)
            key = document.get("key") if document is not None else None
            stored = self.load(key) if isinstance(key, str) else None
            if stored is None or self._credential_path(key) != path:  # type: ignore[arg-type]
                continue
            summaries.append(
                EntrySummary(
                    stored.label,
                    stored.credential.user,
                    stored.credential.expires_at,
                    stored.credential.operation.action,
                    path,
                )
            )
        return sorted(summaries, key=lambda summary: summary.expires_at)

    def clear(self) -> int:
        """Delete every entry, endpoint, lock and half-written temporary file; return how
        many credentials went."""
        removed = 0
        for directory in (self.credentials_directory, self.endpoints_directory):
            for path in self._paths(directory, "", temporaries=True):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    is_entry = directory == self.credentials_directory and _is_entry(path)
                    removed += is_entry
        return removed

    # -- internals ---------------------------------------------------------------------------

    def _credential_path(self, key: str) -> Path:
        return self.credentials_directory / f"{key_digest(key)}{_CREDENTIAL_SUFFIX}"

    def _paths(self, directory: Path, suffix: str, *, temporaries: bool = False) -> list[Path]:
        """The files of ``directory`` ending in ``suffix`` (with ``temporaries``, also the
        hidden temporary files of writes a killed process left), if it is a directory of
        ours; none otherwise."""
        try:
            info = os.lstat(directory)
        except FileNotFoundError:
            return []
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            logger.debug("ignoring %s: not a directory of ours", directory)
            return []
        return sorted(
            path
            for path in directory.iterdir()
            if path.name.endswith(suffix) and (temporaries or not path.name.startswith("."))
        )

    def _read_json(self, path: Path) -> dict[str, Any] | None:
        data = read_private(path)
        if data is None:
            return None
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            logger.debug("ignoring %s: not JSON (%s)", path, error)
            return None
        if not isinstance(document, dict):
            logger.debug("ignoring %s: not a JSON object", path)
            return None
        return document

    def _write_json(self, path: Path, document: dict[str, Any]) -> None:
        try:
            private_directory(self.root)
            write_private(path, json.dumps(document, separators=(",", ":")))
        except (OSError, UnsafePathError) as error:
            self._give_up(error)

    def _remove_if_unchanged(self, key: str, path: Path, stored: StoredCredential) -> None:
        """Delete an expired entry, unless another process is writing a new one (its lock is
        held) - a new entry is never deleted by a reader of the old one."""
        with self.locked(key, wait=False) as held:
            if not held:
                return
            current = read_private(path)
            if current is None:
                return
            with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError, TypeError):
                document = json.loads(current)
                if float(document["requested_at"]) != stored.requested_at:
                    return  # replaced since we read it
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                logger.debug("removed the expired entry for %s", stored.label)
            # The lock goes too, while held: a process waiting on it sees it was removed
            # (``_acquire`` compares the file it locked with the path) and locks a new one.
            with contextlib.suppress(FileNotFoundError):
                path.with_suffix(_LOCK_SUFFIX).unlink()

    def _acquire(self, path: Path, wait: bool) -> int | None:
        """An open descriptor holding the flock of ``path``; None if not had in time."""
        assert fcntl is not None
        deadline = time.monotonic() + (self.lock_timeout if wait else 0.0)
        delay = 0.002
        while True:
            try:
                private_directory(path.parent)
                descriptor = os.open(
                    path,
                    os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                    PRIVATE_FILE_MODE,
                )
            except (OSError, UnsafePathError) as error:
                self._give_up(error)
                return None
            try:
                info = os.fstat(descriptor)
                if info.st_uid != os.getuid() or not stat.S_ISREG(info.st_mode):
                    raise UnsafePathError(f"{path} is not a regular file of ours")
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
            except (OSError, UnsafePathError) as error:
                os.close(descriptor)
                self._give_up(error)
                return None
            else:
                if _same_file(descriptor, path):
                    return descriptor
                os.close(descriptor)  # ``clear`` removed it while we waited: lock the new one
                continue
            if time.monotonic() >= deadline:
                if wait:
                    logger.warning(
                        "another process has been fetching this credential for %.0f s; "
                        "fetching it here too",
                        self.lock_timeout,
                    )
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _give_up(self, error: BaseException) -> None:
        with self._warn_lock:
            if self._unusable is not None:
                return
            reason = (
                os.strerror(error.errno)
                if isinstance(error, OSError) and error.errno in _FILESYSTEM_ERRNOS
                else str(error)
            )
            self._unusable = reason
        logger.warning(
            "the shared credential cache in %s cannot be used (%s); this process keeps its "
            "credentials in memory. Fix the directory, or turn the shared cache off "
            "(--no-shared-cache, REDSHIFT_EPHEMERAL_SHARED_CACHE=0).",
            self.root,
            reason,
        )


_FILESYSTEM_ERRNOS = {errno.EROFS, errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EDQUOT}


def _is_entry(path: Path) -> bool:
    return path.name.endswith(_CREDENTIAL_SUFFIX) and not path.name.startswith(".")


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _credential_record(credential: Credential) -> dict[str, Any]:
    return {
        "host": credential.host,
        "port": credential.port,
        "database": credential.database,
        "user": credential.user,
        "password": credential.password.reveal(),  # the point of the store: 0600, ours only
        "issued_at": credential.issued_at.isoformat(),
        "expires_at": credential.expires_at.isoformat(),
        "next_refresh_at": (
            credential.next_refresh_at.isoformat() if credential.next_refresh_at else None
        ),
        "operation": credential.operation.value,
        "sslmode": credential.sslmode,
        "sslrootcert": credential.sslrootcert,
        "connect_address": credential.connect_address,
    }


def _credential_from(record: Mapping[str, Any]) -> Credential:
    def text(name: str) -> str:
        value = record[name]
        if not isinstance(value, str):
            raise TypeError(f"{name} must be text")
        return value

    def moment(name: str) -> datetime:
        value = datetime.fromisoformat(text(name))
        if value.tzinfo is None:
            raise ValueError(f"{name} has no time zone")
        return value

    port = record["port"]
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError("port must be a number")
    root = record.get("sslrootcert")
    if root is not None and not isinstance(root, str):
        raise TypeError("sslrootcert must be text")
    address = record.get("connect_address")
    if address is not None and not isinstance(address, str):
        raise TypeError("connect_address must be text")
    return Credential(
        host=text("host"),
        port=port,
        database=text("database"),
        user=text("user"),
        password=Secret(text("password")),
        issued_at=moment("issued_at"),
        expires_at=moment("expires_at"),
        next_refresh_at=moment("next_refresh_at") if record.get("next_refresh_at") else None,
        operation=Operation(text("operation")),
        sslmode=text("sslmode"),
        sslrootcert=root,
        connect_address=address,
    )


_shared_caches: dict[Path, CredentialCache] = {}
_shared_caches_lock = threading.Lock()


def shared_cache(environ: Mapping[str, str] | None = None) -> CredentialCache:
    """The process-wide cache backed by the default ``FileStore``: every source of this
    process that opts in shares its memory, and every process shares its files."""
    root = default_cache_directory(environ)
    with _shared_caches_lock:
        cache = _shared_caches.get(root)
        if cache is None:
            cache = _shared_caches[root] = CredentialCache(store=FileStore(root))
        return cache


def forget_shared_caches() -> None:
    """Drop the process-wide shared caches (their files stay), as if the process restarted."""
    with _shared_caches_lock:
        _shared_caches.clear()
