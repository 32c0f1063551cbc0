"""A "Redshift front door" for the local PostgreSQL: a TLS relay that accepts what Redshift
drivers send and PostgreSQL refuses.

redshift_connector sends startup parameters only Redshift knows (``client_protocol_version``,
``driver_version``, ``os_version``, ``driver_discovery_version``, ``plugin_name`` …) and
PostgreSQL ends the session on an unknown one. This relay terminates TLS with the server's own
certificate (so verify-full and SCRAM channel binding still hold), drops those parameters from
the startup message, and relays everything else byte for byte to PostgreSQL over TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import struct
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
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
_MAX_STARTUP = 10_000


async def _read_message(reader: asyncio.StreamReader) -> bytes:
    """A length-prefixed start-up message (length includes itself)."""
    header = await reader.readexactly(4)
    (length,) = struct.unpack("!i", header)
    if not 8 <= length <= _MAX_STARTUP:
        raise ConnectionError(f"bad start-up message length {length}")
    return header + await reader.readexactly(length - 4)


def filter_startup(message: bytes) -> bytes:
    """The start-up message without Redshift-only parameters."""
    protocol = message[4:8]
    fields = message[8:].split(b"\0")
    pairs = []
    for index in range(0, len(fields) - 1, 2):
        key, value = fields[index], fields[index + 1]
        if not key:
            break
        if key.decode("ascii", "replace") not in REDSHIFT_ONLY_PARAMETERS:
            pairs.append(key + b"\0" + value + b"\0")
    body = protocol + b"".join(pairs) + b"\0"
    return struct.pack("!i", len(body) + 4) + body


def clean_parameter_status(message: bytes) -> bytes:
    """``server_version`` as a bare version: Debian's "15.18 (Debian 15.18-0+deb12u1)"
    breaks drivers that parse it (redshift_connector does, Redshift says "8.0.2")."""
    name, _, rest = message[5:].partition(b"\0")
    if name != b"server_version":
        return message
    value = rest.rstrip(b"\0").split(b" ", 1)[0]
    body = name + b"\0" + value + b"\0"
    return b"S" + struct.pack("!i", len(body) + 4) + body


async def _relay_until_ready(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Server → client, message by message until ReadyForQuery, cleaning ParameterStatus."""
    while True:
        header = await reader.readexactly(5)
        kind, length = header[:1], struct.unpack("!i", header[1:])[0]
        message = header + await reader.readexactly(length - 4)
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


class RedshiftFront:
    """Listens on 127.0.0.1 (``port``) in a thread of its own running an event loop; TLS is
    handled by asyncio, one loop for every connection."""

    def __init__(self, postgres_port: int, certificate: Path, key: Path, ca: Path):
        self._postgres_port = postgres_port
        self._server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_tls.load_cert_chain(str(certificate), str(key))
        self._client_tls = ssl.create_default_context(cafile=str(ca))
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self.port = 0

    def start(self) -> RedshiftFront:
        ready = threading.Event()

        async def listen() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = int(self._server.sockets[0].getsockname()[1])
            ready.set()

        def run() -> None:
            self._loop.run_until_complete(listen())
            self._loop.run_forever()

        threading.Thread(target=run, name="redshift-front", daemon=True).start()
        if not ready.wait(30):
            raise RuntimeError("the Redshift front door did not start")
        return self

    def stop(self) -> None:
        def close() -> None:
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(close)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            first = await asyncio.wait_for(_read_message(reader), 30)
            code = struct.unpack("!i", first[4:8])[0]
            if code == CANCEL_REQUEST:  # sent in clear, before any TLS: pass it on
                _, cancel = await asyncio.open_connection("127.0.0.1", self._postgres_port)
                cancel.write(first)
                await cancel.drain()
                cancel.close()
                return
            if code == GSSENC_REQUEST:
                writer.write(b"N")
                first = await asyncio.wait_for(_read_message(reader), 30)
                code = struct.unpack("!i", first[4:8])[0]
            if code != SSL_REQUEST:
                writer.write(b"N")  # never without TLS, like the server behind us
                await writer.drain()
                return
            writer.write(b"S")
            await writer.drain()
            await writer.start_tls(self._server_tls)
            startup = filter_startup(await asyncio.wait_for(_read_message(reader), 30))
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self._postgres_port
            )
            upstream_writer.write(struct.pack("!ii", 8, SSL_REQUEST))
            await upstream_writer.drain()
            if await upstream_reader.readexactly(1) != b"S":
                raise ConnectionError("PostgreSQL refused TLS")
            await upstream_writer.start_tls(self._client_tls, server_hostname="localhost")
            upstream_writer.write(startup)
            await upstream_writer.drain()
            to_server = asyncio.ensure_future(_relay(reader, upstream_writer))

            async def to_client() -> None:
                await _relay_until_ready(upstream_reader, writer)
                await _relay(upstream_reader, writer)

            await asyncio.gather(to_server, to_client())
        except (
            TimeoutError,
            OSError,
            ConnectionError,
            ssl.SSLError,
            asyncio.IncompleteReadError,
        ) as error:
            logger.debug("redshift front connection ended: %s", error)
        finally:
            for stream in (writer, upstream_writer):
                if stream is not None:
                    with contextlib.suppress(OSError, ConnectionError, RuntimeError):
                        stream.close()
