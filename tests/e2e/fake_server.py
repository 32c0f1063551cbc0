"""A hostile PostgreSQL server for attack tests: it asks every client for its password in
clear text and records whatever arrives. A test fails if it ever receives one.

It listens on loopback TCP and on a Unix socket (``<directory>/.s.PGSQL.<port>``, where libpq
looks for one), and either refuses TLS (``tls=None``: a plaintext server, as an attacker on
the path would run) or accepts it with whatever certificate it is given (a foreign CA, or a
trusted CA's certificate for another name). Bounded: each client gets a few seconds, the
server stops when the test ends.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import tempfile
import threading
from pathlib import Path
from types import TracebackType

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
AUTH_CLEARTEXT_PASSWORD = struct.pack("!cii", b"R", 8, 3)
CLIENT_TIMEOUT = 5.0


def read_exactly(connection: socket.socket | ssl.SSLSocket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


def _read_startup(connection: socket.socket | ssl.SSLSocket) -> bytes:
    (length,) = struct.unpack("!i", read_exactly(connection, 4))
    if not 8 <= length <= 10_000:
        raise ConnectionError("bad length")
    return read_exactly(connection, length - 4)


class HostileServer:
    """``with HostileServer(tls=context) as server:`` → ``server.port``, ``server.socket_dir``,
    ``server.passwords`` (whatever clients sent), ``server.connections`` (clients seen)."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self._tls = tls
        self.passwords: list[bytes] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._tcp = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._tcp.getsockname()[1]
        self._directory = tempfile.TemporaryDirectory(prefix="hostile-pg-")
        self.socket_dir = self._directory.name
        self._unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._unix.bind(str(Path(self.socket_dir) / f".s.PGSQL.{self.port}"))
        self._unix.listen()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._accept, args=(listener,), daemon=True)
            for listener in (self._tcp, self._unix)
        ]

    def __enter__(self) -> HostileServer:
        for listener in (self._tcp, self._unix):
            listener.settimeout(0.2)
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._tcp.close()
        self._unix.close()
        self._directory.cleanup()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        connection: socket.socket | ssl.SSLSocket = client
        with contextlib.suppress(OSError, ConnectionError, ssl.SSLError, struct.error):
            client.settimeout(CLIENT_TIMEOUT)
            message = _read_startup(connection)
            code = struct.unpack("!i", message[:4])[0]
            if code == GSSENC_REQUEST:
                connection.sendall(b"N")
                message = _read_startup(connection)
                code = struct.unpack("!i", message[:4])[0]
            if code == SSL_REQUEST:
                if self._tls is None:
                    connection.sendall(b"N")  # "no TLS here": a careful client hangs up now
                else:
                    connection.sendall(b"S")
                    connection = self._tls.wrap_socket(client, server_side=True)
                message = _read_startup(connection)
            # A start-up message: ask for the password in clear text.
            connection.sendall(AUTH_CLEARTEXT_PASSWORD)
            kind = read_exactly(connection, 1)
            (length,) = struct.unpack("!i", read_exactly(connection, 4))
            body = read_exactly(connection, length - 4)
            if kind == b"p":
                with self._lock:
                    self.passwords.append(body.rstrip(b"\0"))
        with contextlib.suppress(OSError):
            connection.close()
