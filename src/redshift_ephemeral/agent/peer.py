"""Who is at the other end of a Unix socket: the kernel's answer (``SO_PEERCRED``), not
anything the peer says about itself.

Linux only: ``struct ucred`` is three ints, pid, uid and gid, taken when the connection was
made. Elsewhere the agent does not start (``PeerCredentialsUnsupported``).
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

from ..errors import ConfigurationError

_UCRED = struct.Struct("3i")


class PeerCredentialsUnsupported(ConfigurationError):
    """This system cannot tell who connected to a Unix socket, so the agent cannot run."""


class Peer(NamedTuple):
    pid: int
    uid: int
    gid: int


def supported() -> bool:
    return hasattr(socket, "SO_PEERCRED")


def require_support() -> None:
    if not supported():
        raise PeerCredentialsUnsupported(
            "The agent needs SO_PEERCRED (Linux) to check which user connects to its socket, "
            "and this system has none. Use `redshift-ephemeral exec` or the shared cache "
            "(`creds`) instead."
        )


def peer_of(connection: socket.socket) -> Peer:
    """The process, user and group that opened the other end of ``connection``."""
    require_support()
    raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return Peer(pid, uid, gid)
