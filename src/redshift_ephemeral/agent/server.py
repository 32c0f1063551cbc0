"""The agent's Unix socket: accepts connections, checks who connected, reads one bounded
request and writes one answer.

Only the user who runs the agent is answered. The socket is 0600 in a 0700 directory, so
the file system keeps other users out; and because root (or anyone with
``CAP_DAC_OVERRIDE``) passes those checks, every connection's user is also taken from the
kernel (``SO_PEERCRED``) and any other uid gets a refusal and nothing else. No TCP.

A peer can only cost the agent a bounded amount: one request line of at most
``MAX_REQUEST_BYTES``, read within ``READ_TIMEOUT_SECONDS``; at most ``MAX_CLIENTS``
connections are served at once (more are closed at once). A malformed request gets an error
answer, a peer that disconnects is forgotten, and nothing a peer sends ends the agent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import protocol
from .peer import peer_of

logger = logging.getLogger(__name__)

Answer = Callable[[str, str | None], dict[str, Any]]
MAX_CLIENTS = 16
_POLL_SECONDS = 0.5


class SocketServer:
    """``bind()``, then ``serve(stop)`` in a thread until ``stop`` is set; ``close()``."""

    def __init__(self, path: Path, answer: Answer, *, uid: int | None = None):
        self.path = path
        self._answer = answer
        self._uid = os.getuid() if uid is None else uid
        self._listener: socket.socket | None = None
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)

    def bind(self) -> None:
        """Listen on ``path`` (mode 0600 from its creation). The caller holds the agent's
        lock, so anything already at ``path`` is a dead agent's socket and is replaced."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        previous_umask = os.umask(0o177)
        try:
            listener.bind(str(self.path))
        except BaseException:
            listener.close()
            raise
        finally:
            os.umask(previous_umask)
        os.chmod(self.path, 0o600)
        listener.listen(MAX_CLIENTS)
        self._listener = listener

    def serve(self, stop: threading.Event) -> None:
        listener = self._listener
        assert listener is not None, "bind() first"
        listener.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            while not stop.is_set():
                if not selector.select(_POLL_SECONDS):
                    continue
                try:
                    connection, _ = listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as error:  # EMFILE and the like: wait, do not spin
                    logger.warning("the agent could not accept a connection (%s)", error)
                    stop.wait(_POLL_SECONDS)
                    continue
                if not self._slots.acquire(blocking=False):
                    logger.warning("agent: %d connections open; one more closed", MAX_CLIENTS)
                    connection.close()
                    continue
                threading.Thread(
                    target=self._serve_one, args=(connection,), name="agent-client", daemon=True
                ).start()

    def close(self) -> None:
        """Stop listening and remove the socket. Idempotent."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _serve_one(self, connection: socket.socket) -> None:
        try:
            with connection:
                connection.setblocking(True)
                reply = self.reply(connection)
                connection.settimeout(protocol.READ_TIMEOUT_SECONDS)
                connection.sendall(reply)
                _drain(connection)
        except OSError as error:  # the peer went away mid-answer
            logger.debug("agent client disconnected (%s)", type(error).__name__)
        except Exception:
            logger.exception("the agent failed to answer a request")
        finally:
            self._slots.release()

    def reply(self, connection: socket.socket) -> bytes:
        """The answer to the one request on ``connection``, as bytes to send."""
        peer = peer_of(connection)
        line, problem = b"", None
        try:
            line = protocol.read_line(connection, protocol.MAX_REQUEST_BYTES)
        except protocol.ProtocolError as error:
            problem = error
        if peer.uid != self._uid:  # refused whatever it asked; the request is not looked at
            logger.warning(
                "refused a request from uid %d (pid %d): this agent answers uid %d only",
                peer.uid,
                peer.pid,
                self._uid,
            )
            return protocol.failure(
                protocol.REFUSED,
                f"Refused: this agent serves uid {self._uid} only, and you are uid {peer.uid}. "
                "Run your own agent (redshift-ephemeral agent), with XDG_RUNTIME_DIR pointing "
                "at your own runtime directory.",
            )
        try:
            if problem is not None:
                raise problem
            op, target = protocol.parse_request(line)
        except protocol.ProtocolError as error:
            logger.debug("agent: bad request (%s)", error)
            return protocol.failure(protocol.BAD_REQUEST, f"Bad request: {error}.")
        return protocol.encode(self._answer(op, target))


_DRAIN_BYTES = 64 * 1024
_DRAIN_SECONDS = 0.2


def _drain(connection: socket.socket) -> None:
    """Read and drop what the peer sent beyond its request (an oversized one), a bounded
    amount for a bounded time: a Unix socket closed with unread input resets the peer,
    which would then lose the answer explaining what was wrong."""
    connection.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + _DRAIN_SECONDS
    dropped = 0
    with contextlib.suppress(OSError):
        while dropped < _DRAIN_BYTES and (left := deadline - time.monotonic()) > 0:
            connection.settimeout(left)
            chunk = connection.recv(16384)
            if not chunk:
                return
            dropped += len(chunk)
