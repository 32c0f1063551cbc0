"""The stack's Redshift endpoint - the address DescribeClusters and GetWorkgroup advertise
and the only way any client reaches the database.

It speaks PostgreSQL's wire protocol as Redshift does for IAM passwords:

1. **TLS or nothing.** A start-up message sent without TLS is refused with an error before
   any authentication is offered (PostgreSQL's own wording for a ``hostssl``-only server).
   TLS uses the stack's certificate (``localhost``, ``127.0.0.1``, ``::1``).
2. **An MD5 password challenge** (AuthenticationMD5Password, a fresh random 4-byte salt per
   attempt). The answer is checked against the emulator's record of issued passwords
   (``passwords.py``): any unexpired password of that user is accepted; an expired, unknown
   or another user's password gets Redshift's ``password authentication failed for user
   "…"`` (SQLSTATE 28P01). Neither the password nor the answer is ever logged.
3. **The session, as that user.** Only then does it open PostgreSQL's private Unix socket
   (``postgres.py``: a 0700 directory only the stack's uid and root can enter, ``local all
   all trust``) and start a session as the very user who proved the password, forwarding
   the client's start-up parameters minus the Redshift-only ones (and ``replication``).
   Trust is safe there because this process is the only client that can reach the socket;
   it keeps PostgreSQL free of any issued password (no ``VALID UNTIL``: expiry is decided
   here, on the real clock, against the time-scaled expiration).
4. **Relay.** Everything else is relayed byte for byte, except ``server_version``, which is
   cleaned for drivers that parse it. Cancel requests (in clear, or inside TLS as libpq 17
   sends them) go to PostgreSQL, which checks their secret key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
import struct
import threading
from pathlib import Path

from .passwords import IssuedPasswords

logger = logging.getLogger(__name__)

PROTOCOL_3 = 3 << 16
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
AUTH_OK = 0
AUTH_MD5 = 5
REDSHIFT_ONLY_PARAMETERS = frozenset(
    {
        "client_protocol_version",
        "driver_version",
        "os_version",
        "driver_discovery_version",
        "plugin_name",
        "idp_type",
        "provider_name",
        "token_type",
        "identity_namespace",
    }
)
# Not forwarded: Redshift has no replication protocol (and pg_hba refuses it anyway).
_DROPPED_PARAMETERS = REDSHIFT_ONLY_PARAMETERS | {"replication"}
MAX_NAME_BYTES = 63  # PostgreSQL would truncate a longer user name into another one
_MAX_MESSAGE = 10_000
_TIMEOUT = 30.0


class Refused(Exception):
    """End the session with this FATAL error (SQLSTATE, message) sent to the client."""

    def __init__(self, sqlstate: str, message: str):
        super().__init__(message)
        self.sqlstate, self.message = sqlstate, message


# -- messages --------------------------------------------------------------------------------


async def _read_startup(reader: asyncio.StreamReader) -> bytes:
    """An untyped start-up message (length includes itself)."""
    header = await reader.readexactly(4)
    (length,) = struct.unpack("!i", header)
    if not 8 <= length <= _MAX_MESSAGE:
        raise ConnectionError(f"bad start-up message length {length}")
    return header + await reader.readexactly(length - 4)


async def _read_typed(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """A typed message: (type byte, body)."""
    header = await reader.readexactly(5)
    (length,) = struct.unpack("!i", header[1:])
    if not 4 <= length <= _MAX_MESSAGE:
        raise ConnectionError(f"bad message length {length}")
    return header[:1], await reader.readexactly(length - 4)


def _code(message: bytes) -> int:
    return int(struct.unpack("!i", message[4:8])[0])


def parse_startup(message: bytes) -> dict[str, str]:
    """The parameters of a start-up message."""
    fields = message[8:].split(b"\0")
    parameters: dict[str, str] = {}
    for index in range(0, len(fields) - 1, 2):
        key, value = fields[index], fields[index + 1]
        if not key:
            break
        parameters[key.decode("utf-8")] = value.decode("utf-8")
    return parameters


def startup_message(parameters: dict[str, str]) -> bytes:
    """A protocol 3.0 start-up message with ``parameters`` minus the dropped ones."""
    pairs = b"".join(
        key.encode() + b"\0" + value.encode() + b"\0"
        for key, value in parameters.items()
        if key not in _DROPPED_PARAMETERS
    )
    body = struct.pack("!i", PROTOCOL_3) + pairs + b"\0"
    return struct.pack("!i", len(body) + 4) + body


def md5_challenge(salt: bytes) -> bytes:
    return b"R" + struct.pack("!ii", 12, AUTH_MD5) + salt


def error_response(sqlstate: str, message: str) -> bytes:
    fields = b"".join(
        kind + value.encode() + b"\0"
        for kind, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


def clean_parameter_status(message: bytes) -> bytes:
    """``server_version`` as a bare version: Debian's "15.18 (Debian 15.18-0+deb12u1)"
    breaks drivers that parse it (redshift_connector does, Redshift says "8.0.2")."""
    name, _, rest = message[5:].partition(b"\0")
    if name != b"server_version":
        return message
    value = rest.rstrip(b"\0").split(b" ", 1)[0]
    body = name + b"\0" + value + b"\0"
    return b"S" + struct.pack("!i", len(body) + 4) + body


def login_refused(user: str) -> Refused:
    return Refused("28P01", f'password authentication failed for user "{user}"')


# -- relaying --------------------------------------------------------------------------------


async def _relay_until_ready(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """PostgreSQL → client, message by message until ReadyForQuery (or an error), cleaning
    ParameterStatus. The first message must be AuthenticationOk: a server that asks for a
    password here is misconfigured, and nothing of the client's is sent on to it."""
    first = True
    while True:
        kind, body = await _read_typed(reader)
        if first and kind == b"R" and struct.unpack("!i", body[:4])[0] != AUTH_OK:
            raise Refused("08006", "the database behind the endpoint asked for a password")
        first = False
        message = kind + struct.pack("!i", len(body) + 4) + body
        writer.write(clean_parameter_status(message) if kind == b"S" else message)
        await writer.drain()
        if kind in (b"Z", b"E"):
            return


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(OSError, ConnectionError, RuntimeError):
        writer.close()


# -- the endpoint ----------------------------------------------------------------------------


class RedshiftEndpoint:
    """Listens on ``127.0.0.1`` (and ``::1`` where available) on one port, in a thread of
    its own running an event loop."""

    host = "localhost"

    def __init__(
        self,
        passwords: IssuedPasswords,
        postgres_socket: Path,
        certificate: Path,
        key: Path,
    ):
        self._passwords = passwords
        self._postgres_socket = postgres_socket
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
        self._tls.load_cert_chain(str(certificate), str(key))
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self.port = 0

    def start(self) -> RedshiftEndpoint:
        ready = threading.Event()

        async def listen() -> None:
            server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self._servers.append(server)
            self.port = int(server.sockets[0].getsockname()[1])
            # "localhost" may resolve to ::1 first: answer there too, on the same port.
            with contextlib.suppress(OSError):
                self._servers.append(await asyncio.start_server(self._serve, "::1", self.port))
            ready.set()

        def run() -> None:
            self._loop.run_until_complete(listen())
            self._loop.run_forever()

        threading.Thread(target=run, name="redshift-endpoint", daemon=True).start()
        if not ready.wait(30):
            raise RuntimeError("the Redshift endpoint did not start")
        return self

    def stop(self) -> None:
        def close() -> None:
            for server in self._servers:
                server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(close)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            upstream = await self._session(reader, writer)
        except Refused as refused:
            logger.debug("redshift endpoint refused a session: %s", refused.message)
            with contextlib.suppress(OSError, ConnectionError, RuntimeError):
                writer.write(error_response(refused.sqlstate, refused.message))
                await writer.drain()
        except (
            TimeoutError,
            OSError,
            ConnectionError,
            UnicodeDecodeError,
            ssl.SSLError,
            asyncio.IncompleteReadError,
        ) as error:
            logger.debug("redshift endpoint connection ended: %s", type(error).__name__)
        finally:
            for stream in (writer, upstream):
                if stream is not None:
                    with contextlib.suppress(OSError, ConnectionError, RuntimeError):
                        stream.close()

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> asyncio.StreamWriter | None:
        """Negotiate TLS, authenticate, open the PostgreSQL session and relay it. Returns the
        upstream writer (for closing), or None for a cancel request."""
        first = await asyncio.wait_for(_read_startup(reader), _TIMEOUT)
        if _code(first) == CANCEL_REQUEST:
            await self._cancel(first)
            return None
        if _code(first) == GSSENC_REQUEST:
            writer.write(b"N")
            first = await asyncio.wait_for(_read_startup(reader), _TIMEOUT)
        if _code(first) != SSL_REQUEST:
            # Before any authentication: a password must never cross the wire in clear.
            user = parse_startup(first).get("user", "") if _code(first) == PROTOCOL_3 else ""
            raise Refused(
                "28000",
                f'no pg_hba.conf entry for host "{_peer(writer)}", user "{user}", no encryption',
            )
        writer.write(b"S")
        await writer.drain()
        await writer.start_tls(self._tls)
        startup = await asyncio.wait_for(_read_startup(reader), _TIMEOUT)
        if _code(startup) == CANCEL_REQUEST:
            await self._cancel(startup)
            return None
        if _code(startup) >> 16 != PROTOCOL_3 >> 16:
            raise Refused("0A000", "unsupported frontend protocol")
        parameters = parse_startup(startup)
        user = parameters.get("user", "")
        if not user:
            raise Refused("28000", "no PostgreSQL user name specified in startup packet")
        # As PostgreSQL does, a start-up message without a database means the user's name.
        await self._authenticate(reader, writer, user, parameters.get("database") or user)
        upstream_reader, upstream = await asyncio.open_unix_connection(str(self._postgres_socket))
        upstream.write(startup_message(parameters))
        await upstream.drain()
        await _relay_until_ready(upstream_reader, writer)
        to_server = asyncio.ensure_future(_relay(reader, upstream))
        await asyncio.gather(to_server, _relay(upstream_reader, writer))
        return upstream

    async def _authenticate(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        user: str,
        database: str,
    ) -> None:
        """MD5 challenge; raises ``Refused`` unless the answer proves an unexpired password
        issued for ``user`` and ``database``."""
        salt = secrets.token_bytes(4)  # fresh per attempt: an answer cannot be replayed
        writer.write(md5_challenge(salt))
        await writer.drain()
        kind, body = await asyncio.wait_for(_read_typed(reader), _TIMEOUT)
        if kind != b"p":
            raise Refused("08P01", "expected a password response")
        answer = body.rstrip(b"\0")
        if len(user.encode()) > MAX_NAME_BYTES or not self._passwords.accepts_md5(
            user, database, salt, answer
        ):
            raise login_refused(user)

    async def _cancel(self, message: bytes) -> None:
        """Pass a cancel request on; PostgreSQL checks its key and answers nothing."""
        with contextlib.suppress(OSError):
            _, cancel = await asyncio.open_unix_connection(str(self._postgres_socket))
            cancel.write(message)
            await cancel.drain()
            cancel.close()


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "local"
