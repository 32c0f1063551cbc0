"""The agent's wire protocol: one JSON object per line each way, over its Unix socket.

A request is ``{"v": 1, "op": "password" | "status", "target": NAME}``; an answer is
``{"ok": true, ...}`` or ``{"ok": false, "code": CODE, "error": MESSAGE}``. Both sides read
at most a bounded number of bytes within a bounded time (``read_line``), so a peer that sends
too much, too slowly, or nothing at all costs a few seconds and a few kilobytes, never a
thread forever.

Pure encoding and the bounded read; no file, no AWS. Imported by the ``password`` client.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

VERSION = 1
MAX_REQUEST_BYTES = 4096
MAX_ANSWER_BYTES = 256 * 1024
READ_TIMEOUT_SECONDS = 2.0
OPERATIONS = ("password", "status")

# Why a request was not answered; the client decides from the code whether to fetch the
# password itself (the agent cannot help) or to stop (it must not be asked).
REFUSED = "refused"  # the peer is another user
UNKNOWN_TARGET = "unknown-target"  # the agent does not keep that target
UNAVAILABLE = "unavailable"  # no valid password right now (AWS failing)
BAD_REQUEST = "bad-request"
BUSY = "busy"


class ProtocolError(Exception):
    """A line that is not a valid message: too long, cut short, not JSON, wrong shape."""


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8") + b"\n"


def request(op: str, target: str | None = None) -> bytes:
    document: dict[str, Any] = {"v": VERSION, "op": op}
    if target is not None:
        document["target"] = target
    return encode(document)


def failure(code: str, message: str) -> bytes:
    return encode({"ok": False, "code": code, "error": message})


def read_line(
    connection: socket.socket, limit: int, timeout: float = READ_TIMEOUT_SECONDS
) -> bytes:
    """Bytes up to the first newline (excluded), read within ``timeout`` seconds in all and
    at most ``limit`` bytes; ``ProtocolError`` otherwise (also when the peer closes first)."""
    deadline = time.monotonic() + timeout
    received = bytearray()
    while b"\n" not in received:
        if len(received) > limit:
            raise ProtocolError(f"message longer than {limit} bytes")
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProtocolError(f"no complete message within {timeout:g} s")
        connection.settimeout(left)
        try:
            chunk = connection.recv(min(65536, limit + 1 - len(received)))
        except TimeoutError:
            raise ProtocolError(f"no complete message within {timeout:g} s") from None
        if not chunk:
            raise ProtocolError("the peer closed the connection before a complete message")
        received += chunk
    line = bytes(received[: received.index(b"\n")])
    if len(line) > limit:
        raise ProtocolError(f"message longer than {limit} bytes")
    return line


def decode(line: bytes) -> dict[str, Any]:
    """One message as a JSON object; ``ProtocolError`` if it is anything else."""
    try:
        document = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ProtocolError(f"not a JSON message ({type(error).__name__})") from None
    if not isinstance(document, dict):
        raise ProtocolError("not a JSON object")
    return document


def parse_request(line: bytes) -> tuple[str, str | None]:
    """(operation, target) of a request line; ``ProtocolError`` naming what is wrong."""
    document = decode(line)
    if document.get("v") != VERSION:
        raise ProtocolError(f"unsupported protocol version (this agent speaks {VERSION})")
    op = document.get("op")
    if op not in OPERATIONS:
        raise ProtocolError(f"unknown operation; known: {', '.join(OPERATIONS)}")
    target = document.get("target")
    if op == "password" and not (isinstance(target, str) and 0 < len(target) <= 256):
        raise ProtocolError("a password request needs a target name (text, 1-256 characters)")
    return op, target if isinstance(target, str) else None
