"""A DB-API 2.0 driver over the Redshift Data API (``redshift-data``): SQL over HTTPS with
the caller's IAM identity - no password, no network path to the cluster, no open port
(docs/design.md, "The Data API driver").

    from redshift_ephemeral import connect
    conn = connect(cluster_id="analytics", db_user="alice", driver="data_api")

Module globals as PEP 249 names them; ``connect`` takes a ``CredentialSource`` (its target
and mode, not its password: the Data API issues none to the caller).
"""

from __future__ import annotations

import datetime as _dt
import time as _time
from typing import TYPE_CHECKING, Any, Unpack

from ...aws.data_api import DataApiTarget
from .connection import DEFAULT_KEEP_ALIVE_SECONDS, Connection, Cursor
from .errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)
from .values import BINARY, DATETIME, NUMBER, ROWID, STRING

if TYPE_CHECKING:
    from ...config import SourceOptions
    from ...source import CredentialSource

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections
paramstyle = "named"

Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> _dt.date:
    return _dt.date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _dt.time:
    return _dt.time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _dt.datetime:
    return _dt.datetime(*_time.localtime(ticks)[:6])


def connect(
    source: CredentialSource | None = None,
    /,
    *,
    session_keep_alive_seconds: int = DEFAULT_KEEP_ALIVE_SECONDS,
    result_format: str = "JSON",
    statement_timeout: float | None = None,
    **source_options: Unpack[SourceOptions],
) -> Connection:
    """A connection for the source's target and mode: a cluster with ``db_user``
    (GetClusterCredentials, done by the service), a cluster without (your IAM identity), or
    a workgroup. ``session_keep_alive_seconds`` (0: no session), ``result_format`` "JSON"
    (typed, exact NULLs) or "CSV" (GetStatementResultV2), ``statement_timeout`` in seconds
    (then the statement is cancelled)."""
    from ...source import source_from

    resolved = source_from(source, source_options)
    return Connection(
        resolved.identity,
        DataApiTarget.of(resolved.request),
        session_keep_alive_seconds=session_keep_alive_seconds,
        result_format=result_format,
        statement_timeout=statement_timeout,
    )


def options_of(options: dict[str, Any] | None) -> dict[str, Any]:
    """``driver_options`` for this driver, checked: only its own keywords."""
    allowed = {"session_keep_alive_seconds", "result_format", "statement_timeout"}
    unknown = sorted(set(options or {}) - allowed)
    if unknown:
        from ...errors import ConfigurationError

        raise ConfigurationError(
            f"Unknown data_api driver option {unknown[0]!r}: it takes {', '.join(sorted(allowed))}."
        )
    checked = dict(options or {})
    # A URL's query string gives text: numbers are read as numbers here, or refused.
    for name, kind in (("session_keep_alive_seconds", int), ("statement_timeout", float)):
        value = checked.get(name)
        if isinstance(value, str):
            try:
                checked[name] = kind(value)
            except ValueError:
                from ...errors import ConfigurationError

                raise ConfigurationError(
                    f"Invalid data_api driver option {name}={value!r}: expected a number."
                ) from None
    return checked


__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Connection",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Warning",
    "apilevel",
    "connect",
    "options_of",
    "paramstyle",
    "threadsafety",
]
