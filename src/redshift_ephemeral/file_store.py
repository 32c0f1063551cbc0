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
import functools
import importlib
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ._logs import Logger
from ._private_files import (
    PRIVATE_FILE_MODE,
    UnsafePathError,
    private_directory,
    read_private,
    write_private,
)
from .cache import CredentialCache, Moment, StoredCredential, StoredFailure
from .credentials import Credential
from .errors import RedshiftEphemeralError
from .secret import Secret
from .targets import Operation, validate_host, validate_port

logger = Logger(__name__)

FORMAT_VERSION = 1
LOCK_TIMEOUT_SECONDS = 90.0
"""How long a process waits for another one's AWS call before making its own: longer than
botocore's standard retries of one call (5 attempts, 10 s connect, 30 s read) usually take."""
ENDPOINT_TTL_SECONDS = 3600.0
"""How long a discovered endpoint (DescribeClusters / GetWorkgroup) is reused."""
_CREDENTIAL_SUFFIX = ".json"
_LOCK_SUFFIX = ".lock"
_FAILURE_SUFFIX = ".failed"
_STALE_TEMPORARY = 60.0  # seconds: no write takes that long
WALL_CLOCK_UNCERTAINTY = 2.0
"""Seconds an age taken on the wall clock (an entry of another boot) may be off by: NTP
adjustments between the write and the read."""
MAX_ENTRY_BYTES = 64 * 1024
"""An entry is well under 2 KiB; anything bigger is not ours and is not read whole."""
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")

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


@functools.cache
def _sha256() -> Callable[[bytes], Any]:
    """SHA-256 from CPython's own module when it has one (``_sha2`` from 3.12, ``_sha256``
    before): the same digest as ``hashlib.sha256`` without loading OpenSSL, which is what
    importing hashlib costs (about 3 ms of a warm ``creds``)."""
    for name in ("_sha2", "_sha256"):
        try:
            return importlib.import_module(name).sha256  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    import hashlib  # pragma: no cover - a build without CPython's own hashes

    return hashlib.sha256  # pragma: no cover


def key_digest(key: str) -> str:
    """The file name of a key: a hash, so no part of the key is readable in a listing."""
    return str(_sha256()(key.encode("utf-8")).hexdigest())[:40]


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
        boot_clock: Callable[[], tuple[str, float] | None] | None = None,
        lock_timeout: float = LOCK_TIMEOUT_SECONDS,
        endpoint_ttl: float = ENDPOINT_TTL_SECONDS,
    ):
        root = Path(directory) if directory is not None else default_cache_directory(environ)
        self.root = root
        self.credentials_directory = root / "credentials"
        self.endpoints_directory = root / "endpoints"
        self.wall_clock = wall_clock
        self.boot_clock = boot_clock or _boot_clock
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

    # -- time --------------------------------------------------------------------------------

    def now(self) -> Moment:
        boot = self.boot_clock()
        if boot is None:
            return Moment(self.wall_clock())
        return Moment(self.wall_clock(), boot[0], boot[1])

    def age(self, moment: Moment) -> float | None:
        """Seconds since ``moment``: on the boot-time clock when both were taken in this
        boot (a step of the wall clock moves neither), else on the wall clock. None when the
        wall clock says it is in the future of another boot: its age cannot be told."""
        boot = self.boot_clock()
        if boot is not None and moment.boot_time is not None and boot[0] == moment.boot_id:
            return boot[1] - moment.boot_time
        age = self.wall_clock() - moment.wall
        return age if age >= 0 else None

    def age_uncertainty(self, moment: Moment) -> float:
        """How wrong ``age(moment)`` may be: nothing on the boot clock (one clock for every
        process of the boot), ``WALL_CLOCK_UNCERTAINTY`` on the wall clock."""
        boot = self.boot_clock()
        if boot is not None and moment.boot_time is not None and boot[0] == moment.boot_id:
            return 0.0
        return WALL_CLOCK_UNCERTAINTY

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
                _moment_from(document["requested"]),
                str(document.get("label", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # ConfigurationError (an invalid host) is a ValueError too.
            logger.debug("ignoring %s: not a valid entry (%s)", path, error)
            return None
        # Aged on this machine's clocks from when it was requested, as the cache does (the
        # credential's own times are on AWS's clock).
        age = self.age(stored.requested)
        if age is not None and age >= stored.credential.lifetime_seconds:
            self._remove_if_unchanged(key, path, stored)
            return None
        return stored

    def save(self, key: str, label: str, credential: Credential, requested: Moment) -> None:
        """Write the entry for ``key``, replacing any other (and any record of a failure).
        Never raises: a directory that cannot be written makes the store unusable, with one
        warning."""
        if not self.usable:
            return
        document = {
            "version": FORMAT_VERSION,
            "key": key,
            "label": label,
            "requested": _moment_record(requested),
            "credential": _credential_record(credential),
        }
        self._write_json(self._credential_path(key), document)
        with contextlib.suppress(OSError):
            self._failure_path(key).unlink()
        self.sweep()

    def record_failure(self, key: str, error: Exception) -> None:
        """Note that a refresh of ``key`` just failed, for the processes waiting on it. A
        library error keeps its type and plain attributes; another is named only."""
        if not self.usable:
            return
        ours = isinstance(error, RedshiftEphemeralError)
        attributes = {
            name: value
            for name, value in (vars(error).items() if ours else ())
            if isinstance(value, str | int | float | bool) or value is None
        }
        document = {
            "version": FORMAT_VERSION,
            "key": key,
            "failed": _moment_record(self.now()),
            "error_type": type(error).__name__,
            "message": str(error) if ours else f"{type(error).__name__}: {error}",
            "attributes": attributes,
        }
        self._write_json(self._failure_path(key), document)

    def failure_since(self, key: str, moment: Moment) -> StoredFailure | None:
        """The failure recorded for ``key`` after ``moment``, if any."""
        if not self.usable:
            return None
        document = self._read_json(self._failure_path(key))
        if document is None or document.get("key") != key:
            return None
        try:
            failed = _moment_from(document["failed"])
            attributes = document.get("attributes", {})
            if not isinstance(attributes, dict):
                raise TypeError("attributes must be an object")
            failure = StoredFailure(
                failed, str(document["error_type"]), str(document["message"]), attributes
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            logger.debug("ignoring a failure record for a key: %s", error)
            return None
        since_failure, since_moment = self.age(failed), self.age(moment)
        if since_failure is None or since_moment is None or since_failure >= since_moment:
            return None  # not after the wait began, or of unknowable age
        return failure

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
        if descriptor == _NO_LOCK:
            yield True
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
            age = self.age(_moment_from(document["discovered"]))
            host, port, database = document["host"], document["port"], document["database"]
            if not (isinstance(host, str) and isinstance(database, str)):
                raise TypeError("host and database must be text")
            if isinstance(port, bool) or not isinstance(port, int):
                raise TypeError("port must be a number")
            validate_host(host)  # held to the rules of a host AWS reports, every time
            validate_port(port)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            logger.debug("ignoring %s: not a valid endpoint entry (%s)", path, error)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        if age is None:
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
            "discovered": _moment_record(self.now()),
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
        """Delete every entry, endpoint, failure record and half-written temporary file, and
        every lock no process holds; return how many credentials went. Anything that is not
        a regular file is left alone."""
        removed = 0
        for directory in (self.credentials_directory, self.endpoints_directory):
            for path in self._paths(directory, "", temporaries=True):
                try:
                    if not stat.S_ISREG(os.lstat(path).st_mode):
                        continue
                    if path.name.endswith(_LOCK_SUFFIX):
                        self._remove_lock_if_free(path)
                        continue
                    path.unlink()
                except OSError:
                    continue
                removed += directory == self.credentials_directory and _is_entry(path)
        return removed

    # -- internals ---------------------------------------------------------------------------

    def _credential_path(self, key: str) -> Path:
        return self.credentials_directory / f"{key_digest(key)}{_CREDENTIAL_SUFFIX}"

    def _failure_path(self, key: str) -> Path:
        return self.credentials_directory / f"{key_digest(key)}{_FAILURE_SUFFIX}"

    def _remove_lock_if_free(self, path: Path) -> None:
        """Delete a lock file only while holding it: a process that holds it keeps its
        single flight (and a waiter on a removed lock locks the new one)."""
        assert fcntl is not None
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_file(descriptor, path):
                path.unlink()
        except OSError:
            pass  # held by a process: it stays
        finally:
            os.close(descriptor)

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
        data = read_private(path, max_bytes=MAX_ENTRY_BYTES)
        if data is None:
            return None
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, nested too deep
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
            document = self._read_json(path)
            if document is None:
                return
            with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
                if _moment_from(document["requested"]) != stored.requested:
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
        replaced = False
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
                    # Not a lock of ours (in our own private directory): replace it.
                    os.close(descriptor)
                    if replaced:
                        logger.debug("cannot replace the lock %s; going on without it", path)
                        return _NO_LOCK
                    logger.debug("replacing %s: not a regular file of ours", path)
                    path.unlink()
                    replaced = True
                    continue
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
            except OSError as error:
                with contextlib.suppress(OSError):
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


_NO_LOCK = -1
"""``_acquire``'s answer when the lock file could not be made a lock: go ahead unlocked."""


def _boot_clock() -> tuple[str, float] | None:
    """This boot's id and ``CLOCK_BOOTTIME`` (Linux); None elsewhere."""
    boot_id = _boot_id()
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if boot_id is None or clock is None:
        return None
    return boot_id, time.clock_gettime(clock)


@functools.cache
def _boot_id() -> str | None:
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _moment_record(moment: Moment) -> dict[str, Any]:
    return {"wall": moment.wall, "boot_id": moment.boot_id, "boot_time": moment.boot_time}


def _moment_from(record: Mapping[str, Any]) -> Moment:
    wall, boot_id, boot_time = record["wall"], record.get("boot_id"), record.get("boot_time")
    if boot_id is not None and not isinstance(boot_id, str):
        raise TypeError("boot_id must be text")
    return Moment(
        float(wall),
        boot_id,
        float(boot_time) if boot_time is not None else None,
    )


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
