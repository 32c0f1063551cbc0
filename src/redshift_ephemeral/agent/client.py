"""Ask a running agent: what ``redshift-ephemeral password TARGET`` does first.

Lean on purpose: the standard library, the agent's paths and protocol, nothing of AWS or of
any driver - a password command runs at every connect of the tool that calls it.

``None`` means "the agent cannot help, fetch it yourself": no agent runs (no socket, or a
dead agent's socket), it does not keep that target, it has no valid password right now, or
it did not answer in time. A directory or agent that is not the caller's own is an error
(``AgentRefusedError``), never silently worked around.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError
from . import protocol
from .paths import AgentPathError, AgentPaths
from .peer import peer_of, supported

_NO_AGENT_ERRNOS = {errno.ENOENT, errno.ECONNREFUSED, errno.ENOTDIR}


class AgentRefusedError(ConfigurationError):
    """The agent refused us, or what answers at the socket is not our own agent."""


def ask(
    message: bytes, environ: Mapping[str, str] | None = None, *, quiet_paths: bool = True
) -> dict[str, Any] | None:
    """Send ``message`` to this user's agent and return its answer; None if there is no
    usable agent (see the module's doc). With ``quiet_paths``, an unusable
    ``XDG_RUNTIME_DIR`` also means "no agent" rather than an error."""
    if not supported():
        return None
    try:
        paths = AgentPaths.from_environment(environ)
    except AgentPathError:
        if quiet_paths:
            return None
        raise
    if not _directory_is_ours(paths):
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(protocol.READ_TIMEOUT_SECONDS)
        try:
            connection.connect(paths.socket)
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        except OSError as error:
            if error.errno in _NO_AGENT_ERRNOS or isinstance(error, TimeoutError):
                return None
            raise
        agent = peer_of(connection)
        if agent.uid != os.getuid():
            raise AgentRefusedError(
                f"The socket {paths.socket} is served by uid {agent.uid}, not by you (uid "
                f"{os.getuid()}): it is not your agent, so it is not asked. Remove it, or "
                "point XDG_RUNTIME_DIR at your own runtime directory."
            )
        try:
            connection.sendall(message)
            answer = protocol.decode(protocol.read_line(connection, protocol.MAX_ANSWER_BYTES))
        except (OSError, protocol.ProtocolError):
            return None  # a stopping or stuck agent: the caller fetches it itself
    if answer.get("ok") is False and answer.get("code") == protocol.REFUSED:
        raise AgentRefusedError(str(answer.get("error", "The agent refused the request.")))
    return answer


def _directory_is_ours(paths: AgentPaths) -> bool:
    """False if there is no agent directory; ``AgentRefusedError`` if there is one that is
    not private and ours (a planted one is not trusted, and not silently ignored)."""
    try:
        info = os.lstat(paths.directory)
    except (FileNotFoundError, NotADirectoryError):
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise AgentRefusedError(
            f"{paths.directory} is not a directory of yours (owner uid {info.st_uid}; you are "
            f"uid {os.getuid()}), so no agent there is asked. Remove it, or point "
            "XDG_RUNTIME_DIR at your own runtime directory."
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise AgentRefusedError(
            f"{paths.directory} is open to other users (mode "
            f"{stat.S_IMODE(info.st_mode):04o}), so no agent there is trusted. Stop the "
            "agent, remove the directory, and start the agent again."
        )
    return True


def agent_password(target: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The agent's current password for ``target``; None if the agent cannot give one."""
    answer = ask(protocol.request("password", target), environ)
    if answer is None or answer.get("ok") is not True:
        return None
    password = answer.get("password")
    return password if isinstance(password, str) and password else None


def agent_status(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The running agent's status (pid, files, targets - never a password); None if no
    agent runs. An unusable ``XDG_RUNTIME_DIR`` is an error here."""
    answer = ask(protocol.request("status"), environ, quiet_paths=False)
    return answer if answer is not None and answer.get("ok") is True else None
