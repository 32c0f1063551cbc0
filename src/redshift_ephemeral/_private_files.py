"""Files only the current user can read or change, and the checks that make them trustworthy
when read back.

Every file this project writes and later trusts - the trust bundle, passfiles, the local
stack's state, any cache - lives in a directory that is owned by the current user, mode 0700
and not a symlink, and is itself owned by the user, a regular file and without group or
other permissions. A directory or file planted by another user (say in a shared 1777 ``/tmp``)
fails these checks and is never trusted: directories raise ``UnsafePathError``, files read
back as absent so the caller rewrites them.

Writes are atomic (a private temporary file in the same directory, then ``os.replace``), so
a reader sees the whole old file or the whole new one. Reads open with ``O_NOFOLLOW`` and
check the opened file (``fstat``), not the path, so nothing can be swapped in between.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from .errors import ConfigurationError

logger = logging.getLogger(__name__)

PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_NOT_OWNER_ONLY = stat.S_IRWXG | stat.S_IRWXO


class UnsafePathError(ConfigurationError):
    """A path that should be private is not: another owner, a symlink, or open to others."""


def _problem(info: os.stat_result, *, directory: bool) -> str | None:
    """Why ``info`` cannot be trusted as a private directory or file; None if it can."""
    kind = "directory" if directory else "file"
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link"
    if directory and not stat.S_ISDIR(info.st_mode):
        return "it is not a directory"
    if not directory and not stat.S_ISREG(info.st_mode):
        return f"it is not a regular {kind}"
    if info.st_uid != os.getuid():
        return f"it belongs to uid {info.st_uid}, not to you (uid {os.getuid()})"
    if info.st_mode & _NOT_OWNER_ONLY:
        return f"its mode {stat.S_IMODE(info.st_mode):04o} lets other users in"
    return None


def private_directory(path: Path) -> Path:
    """Create ``path`` (mode 0700) if missing and check it is private; return it.

    A directory of ours with a looser mode is tightened; one owned by someone else, a
    symlink, or not a directory raises ``UnsafePathError`` (we never trust or change it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=PRIVATE_DIRECTORY_MODE)
    info = os.lstat(path)
    problem = _problem(info, directory=True)
    if (
        problem is not None
        and stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not stat.S_ISLNK(info.st_mode)
    ):
        # Ours, just too open (an old umask, a manual chmod): tighten it, then re-check.
        os.chmod(path, PRIVATE_DIRECTORY_MODE, follow_symlinks=False)
        problem = _problem(os.lstat(path), directory=True)
    if problem is not None:
        raise UnsafePathError(
            f"{path} cannot be used as a private directory: {problem}. Remove it, or point "
            "the setting that chose it elsewhere."
        )
    return path


def write_private(path: Path, content: str | bytes) -> None:
    """Replace ``path`` atomically with ``content``, readable by the owner only. The
    directory is created or checked with ``private_directory`` first."""
    private_directory(path.parent)
    data = content.encode("utf-8") if isinstance(content, str) else content
    # A unique temporary name: two writers never share one, and O_EXCL refuses anything
    # already there (a planted file or symlink).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    descriptor = os.open(
        temporary,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
        PRIVATE_FILE_MODE,
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_private(path: Path, *, max_bytes: int | None = None) -> bytes | None:
    """The content of ``path`` if it is a private file of ours in a private directory (and,
    with ``max_bytes``, no larger); None if it is missing or cannot be trusted (logged at
    DEBUG, so the caller rewrites it)."""
    try:
        problem = _problem(os.lstat(path.parent), directory=True)
        if problem is not None:
            logger.debug("ignoring %s: its directory cannot be trusted (%s)", path, problem)
            return None
        # O_NONBLOCK: a FIFO planted in place of the file must not hang the open.
        descriptor = os.open(
            path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        )
    except FileNotFoundError:
        return None
    except OSError as error:  # ELOOP: a symlink; EACCES: not ours
        logger.debug("ignoring %s: %s", path, error)
        return None
    try:
        # The opened file is checked before it is read (a directory cannot even be wrapped).
        info = os.fstat(descriptor)
        problem = _problem(info, directory=False)
        if problem is None and max_bytes is not None and info.st_size > max_bytes:
            problem = f"it is {info.st_size} bytes, more than {max_bytes}"
        if problem is not None:
            logger.debug("ignoring %s: %s", path, problem)
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except OSError as error:
        logger.debug("ignoring %s: %s", path, error)
        return None
    finally:
        os.close(descriptor)
