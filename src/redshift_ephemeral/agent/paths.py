"""Where the agent keeps its socket, lock and rendered files: one private directory,
``$XDG_RUNTIME_DIR/redshift-ephemeral/agent/`` (0700), per user.

``$XDG_RUNTIME_DIR`` is the per-user runtime directory the login session provides (systemd
makes it ``/run/user/<uid>``, 0700, removed at logout): nowhere else is both private and
short-lived enough for a socket that hands out passwords, so the agent refuses to guess one.

Imported by the ``password`` client: nothing here may import more than the standard library
and ``errors``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..errors import ConfigurationError

# sun_path is 108 bytes on Linux (104 on macOS), the terminating NUL included.
MAX_SOCKET_PATH_BYTES = 107
SOCKET_NAME = "agent.sock"
LOCK_NAME = "agent.lock"
PASSFILE_NAME = "pgpass"
SERVICE_FILE_NAME = "pg_service.conf"


class AgentPathError(ConfigurationError):
    """The agent's directory cannot be placed or used (exit 2)."""


class AgentPaths:
    """The agent's files, all inside ``directory``. Plain strings (no ``pathlib``, no
    ``dataclasses``): the ``password`` client pays for every import at every call."""

    __slots__ = ("directory", "lock", "passfile", "service_file", "socket")

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = os.fspath(directory)
        self.socket = os.path.join(self.directory, SOCKET_NAME)
        self.lock = os.path.join(self.directory, LOCK_NAME)
        self.passfile = os.path.join(self.directory, PASSFILE_NAME)
        self.service_file = os.path.join(self.directory, SERVICE_FILE_NAME)

    def __repr__(self) -> str:
        return f"AgentPaths({self.directory!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AgentPaths) and other.directory == self.directory

    def __hash__(self) -> int:
        return hash(self.directory)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AgentPaths:
        """The paths for this user, from ``$XDG_RUNTIME_DIR``; ``AgentPathError`` (naming
        the fix) if it is unset, relative, or so long that the socket's path would not fit
        in an ``AF_UNIX`` address."""
        environ = os.environ if environ is None else environ
        runtime = environ.get("XDG_RUNTIME_DIR", "")
        if not runtime:
            raise AgentPathError(
                "XDG_RUNTIME_DIR is not set, and the agent keeps its socket and files only "
                "in your private runtime directory. Log in through a session that sets it "
                "(systemd does: /run/user/$(id -u)), or set it to a directory of yours with "
                "mode 0700: export XDG_RUNTIME_DIR=/run/user/$(id -u)"
            )
        if not os.path.isabs(runtime):
            raise AgentPathError(
                f"XDG_RUNTIME_DIR is {runtime!r}, a relative path; it must be absolute. Set it "
                "to your runtime directory, e.g. export XDG_RUNTIME_DIR=/run/user/$(id -u)"
            )
        paths = cls(os.path.join(runtime, "redshift-ephemeral", "agent"))
        length = len(os.fsencode(paths.socket))
        if length > MAX_SOCKET_PATH_BYTES:
            raise AgentPathError(
                f"The agent's socket path {paths.socket!r} is {length} bytes, longer "
                f"than the {MAX_SOCKET_PATH_BYTES} a Unix socket address holds. Point "
                "XDG_RUNTIME_DIR at a shorter directory (e.g. /run/user/$(id -u))."
            )
        return paths
