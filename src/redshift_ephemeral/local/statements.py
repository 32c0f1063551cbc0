"""The database side of the Redshift Data API: statements that run asynchronously on the real
PostgreSQL server as the login the caller's IAM identity maps to, sessions that keep one
connection between statements, and results kept for paging.

The API surface (parameters, IAM, result shapes) is ``emulator/redshift_data.py``; this
module knows PostgreSQL and threads, not AWS's wire format.

* A statement moves SUBMITTED → STARTED → FINISHED, FAILED or ABORTED on a thread of its own;
  ``statement_seconds`` (a knob) holds it in SUBMITTED first, as Redshift's queue does.
* Without a session, each statement opens its own connection and closes it; a session's
  statements share one connection, one at a time. A session closes ``keep_alive`` seconds
  (time-scaled) after its last statement ends, or when its connection breaks.
* Limits (AWS's "Considerations when calling the Data API"): a row of at most 64 KB and a
  result of at most 100 MB, results kept 24 hours (time-scaled), at most 500 active
  statements per cluster or workgroup.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

MAX_ROW_BYTES = 64 * 1024
MAX_RESULT_BYTES = 100 * 1024 * 1024
RESULT_RETENTION_SECONDS = 24 * 3600
MAX_ACTIVE_STATEMENTS = 500
MAX_SESSION_SECONDS = 24 * 3600
ACTIVE = ("SUBMITTED", "PICKED", "STARTED")
DONE = ("FINISHED", "FAILED", "ABORTED")

Connector = Callable[[str, str], "psycopg.Connection[Any]"]
"""(login, database) → an autocommit connection as that login."""

# PostgreSQL type oids the Data API returns as numbers, booleans or bytes; the rest as text.
_INTEGER_OIDS = frozenset({20, 21, 23, 26})
_FLOAT_OIDS = frozenset({700, 701})
_BOOL_OID = 16
_BYTEA_OID = 17
_SIGNED_OIDS = _INTEGER_OIDS | _FLOAT_OIDS | {1700}
_TEXT_OIDS = frozenset({25, 1042, 1043, 18, 19})


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StatementRefused(Exception):
    """The statement cannot be accepted (a session that is not available, too many active
    statements): the API answers ``code`` with ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Column:
    name: str
    type_name: str
    type_oid: int
    precision: int
    scale: int


@dataclass
class Part:
    """One SQL statement of a run (a batch has several: ``<id>:1``, ``<id>:2``, …)."""

    sql: str
    status: str = "SUBMITTED"
    error: str | None = None
    created_at: datetime = field(default_factory=_utcnow)
    updated_at: datetime = field(default_factory=_utcnow)
    duration_ns: int = 0
    columns: list[Column] | None = None  # None: no result set
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    result_rows: int = -1
    result_size: int = -1


@dataclass
class Session:
    id: str
    owner_arn: str
    owner_principal: str
    owner_user_id: str
    target_kind: str  # "cluster" or "workgroup"
    target: str
    database: str
    login: str
    keep_alive_seconds: int
    created_at: datetime
    updated_at: datetime
    connection: psycopg.Connection[Any] | None = None
    status: str = "AVAILABLE"
    current_statement: str | None = None
    expires_at: datetime | None = None


@dataclass
class Statement:
    id: str
    owner_arn: str
    owner_principal: str
    owner_user_id: str
    target_kind: str
    target: str
    database: str
    login: str
    parts: list[Part]
    is_batch: bool
    transaction: bool  # a batch in one transaction (ExecutionMode TRANSACTION)
    result_format: str
    name: str | None
    parameters: list[dict[str, str]] | None
    session_id: str | None
    created_at: datetime = field(default_factory=_utcnow)
    updated_at: datetime = field(default_factory=_utcnow)
    status: str = "SUBMITTED"
    error: str | None = None
    duration_ns: int = 0
    redshift_pid: int | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancel_requested: bool = False
    connection: psycopg.Connection[Any] | None = None
    finished_at: datetime | None = None


class Statements:
    """Every statement and session of the stack. Thread-safe."""

    def __init__(self, connect_as: Connector, clock: Callable[[], datetime] = _utcnow):
        self._connect_as = connect_as
        self._clock = clock
        self._statements: dict[str, Statement] = {}
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    # -- submitting --------------------------------------------------------------------------

    def submit(
        self,
        statement: Statement,
        *,
        keep_alive_seconds: int | None,
        time_scale: float,
        queue_seconds: float,
    ) -> Statement:
        """Accept ``statement`` and start running it; with ``keep_alive_seconds`` in a new
        session, with ``statement.session_id`` in that existing one."""
        self.sweep()
        now = self._clock()
        with self._lock:
            active = sum(
                1
                for other in self._statements.values()
                if other.status in ACTIVE and other.target == statement.target
            )
            if active >= MAX_ACTIVE_STATEMENTS:
                raise StatementRefused(
                    "ActiveStatementsExceededException",
                    f"Active statements exceeded the allowed quota ({MAX_ACTIVE_STATEMENTS}).",
                )
            session = None
            if statement.session_id is not None:
                session = self._sessions.get(statement.session_id)
                if session is None or session.owner_principal != statement.owner_principal:
                    raise StatementRefused(
                        "ValidationException",
                        f"Session with Id: {statement.session_id} is invalid.",
                    )
                if session.status == "CLOSED":
                    raise StatementRefused("ValidationException", "Session is not available")
                if session.status == "BUSY":
                    raise StatementRefused(
                        "ValidationException",
                        f"Session is busy: statement {session.current_statement} is running in it.",
                    )
                statement.target_kind, statement.target = session.target_kind, session.target
                statement.database, statement.login = session.database, session.login
            elif keep_alive_seconds is not None:
                session = Session(
                    id=str(uuid.uuid4()),
                    owner_arn=statement.owner_arn,
                    owner_principal=statement.owner_principal,
                    owner_user_id=statement.owner_user_id,
                    target_kind=statement.target_kind,
                    target=statement.target,
                    database=statement.database,
                    login=statement.login,
                    keep_alive_seconds=keep_alive_seconds,
                    created_at=now,
                    updated_at=now,
                )
                self._sessions[session.id] = session
                statement.session_id = session.id
            if session is not None:
                session.status, session.current_statement = "BUSY", statement.id
                session.updated_at = now
            self._statements[statement.id] = statement
        threading.Thread(
            target=self._run,
            args=(statement, session, time_scale, queue_seconds),
            name=f"data-api-{statement.id[:8]}",
            daemon=True,
        ).start()
        return statement

    # -- reading -----------------------------------------------------------------------------

    def get(self, statement_id: str, time_scale: float) -> Statement | None:
        """The statement (for a batch's ``<id>:<n>``, its run), or None if unknown or its
        results are past retention."""
        run_id = statement_id.split(":", 1)[0]
        with self._lock:
            statement = self._statements.get(run_id)
            if statement is None:
                return None
            retention = timedelta(seconds=RESULT_RETENTION_SECONDS * time_scale)
            if statement.finished_at is not None and self._clock() > (
                statement.finished_at + retention
            ):
                del self._statements[run_id]
                return None
            return statement

    def statements_of(self, principal: str) -> list[Statement]:
        with self._lock:
            mine = [s for s in self._statements.values() if s.owner_principal == principal]
        return sorted(mine, key=lambda s: s.created_at, reverse=True)

    def sessions_of(self, principal: str) -> list[Session]:
        self.sweep()
        with self._lock:
            mine = [s for s in self._sessions.values() if s.owner_principal == principal]
        return sorted(mine, key=lambda s: s.created_at, reverse=True)

    def session(self, session_id: str) -> Session | None:
        self.sweep()
        with self._lock:
            return self._sessions.get(session_id)

    # -- cancelling and closing --------------------------------------------------------------

    def cancel(self, statement: Statement) -> None:
        """Stop ``statement`` if it is still active; raise ``StatementRefused`` if not."""
        with self._lock:
            if statement.status not in ACTIVE:
                raise StatementRefused(
                    "ValidationException",
                    f"Could not cancel a query that is already in {statement.status} state.",
                )
            statement.cancel_requested = True
            connection = statement.connection
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.cancel_safe(timeout=5)
        statement.done.wait(10)

    def sweep(self) -> None:
        """Close sessions whose keep-alive ran out (or that hit the 24-hour cap)."""
        now = self._clock()
        closing: list[psycopg.Connection[Any]] = []
        with self._lock:
            for session in self._sessions.values():
                expired = session.expires_at is not None and now >= session.expires_at
                if session.status == "AVAILABLE" and expired:
                    session.status, session.updated_at = "CLOSED", now
                    if session.connection is not None:
                        closing.append(session.connection)
                        session.connection = None
        for connection in closing:
            with contextlib.suppress(Exception):
                connection.close()

    def close_all(self) -> None:
        """Close every session and stop every statement (the stack is stopping)."""
        with self._lock:
            connections = [s.connection for s in self._sessions.values() if s.connection]
            connections += [s.connection for s in self._statements.values() if s.connection]
            for session in self._sessions.values():
                session.status, session.connection = "CLOSED", None
        for connection in connections:
            with contextlib.suppress(Exception):
                connection.close()

    # -- running -----------------------------------------------------------------------------

    def _run(
        self,
        statement: Statement,
        session: Session | None,
        time_scale: float,
        queue_seconds: float,
    ) -> None:
        started = time.monotonic()
        finish = functools.partial(self._finish, started=started, time_scale=time_scale)
        connection = None
        try:
            if queue_seconds > 0:
                time.sleep(queue_seconds)
            if statement.cancel_requested:
                finish(statement, session, "ABORTED", None)
                return
            connection = session.connection if session is not None else None
            if connection is None or connection.closed:
                try:
                    connection = self._connect_as(statement.login, statement.database)
                except Exception as error:
                    finish(statement, session, "FAILED", _first_line(error))
                    return
                if session is not None:
                    session.connection = connection
            with self._lock:
                statement.connection = connection
                statement.redshift_pid = connection.info.backend_pid
                statement.status = "STARTED"
                statement.updated_at = self._clock()
            status, failure = self._execute(statement, connection)
            finish(statement, session, status, failure)
        except Exception as crash:  # never leave a statement active
            logger.exception("Data API statement %s crashed", statement.id)
            finish(statement, session, "FAILED", _first_line(crash))
        finally:
            if session is None and connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()

    def _execute(
        self, statement: Statement, connection: psycopg.Connection[Any]
    ) -> tuple[str, str | None]:
        """Run the parts; (final status, error text)."""
        import psycopg

        transaction = (
            connection.transaction()
            if statement.transaction and len(statement.parts) > 1
            else contextlib.nullcontext()
        )
        failed: tuple[str, str | None] | None = None
        try:
            with transaction:
                for part in statement.parts:
                    if failed is not None:
                        part.status = "ABORTED"
                        continue
                    failed = self._execute_part(statement, part, connection)
                    if failed is not None and statement.transaction:
                        raise _Rollback
        except _Rollback:
            pass
        except psycopg.Error as error:  # the COMMIT itself failed
            failed = ("FAILED", _first_line(error))
        for part in statement.parts:
            if part.status == "SUBMITTED":
                part.status = "ABORTED"
        return failed if failed is not None else ("FINISHED", None)

    def _execute_part(
        self, statement: Statement, part: Part, connection: psycopg.Connection[Any]
    ) -> tuple[str, str | None] | None:
        """Run one part; None if it finished, else (status, error)."""
        import psycopg

        part.status, part.updated_at = "STARTED", self._clock()
        started = time.monotonic()
        outcome: tuple[str, str | None] | None = None
        try:
            with connection.cursor() as cursor:
                cursor.execute(part.sql.encode())  # bytes: no placeholder parsing by psycopg
                outcome = _collect(cursor, part, connection)
        except psycopg.errors.QueryCanceled:
            outcome = ("ABORTED", "Query cancelled on user's request")
        except psycopg.Error as error:
            outcome = ("FAILED", _first_line(error))
        if statement.cancel_requested and outcome is None:
            outcome = ("ABORTED", "Query cancelled on user's request")
        part.duration_ns = int((time.monotonic() - started) * 1e9)
        part.updated_at = self._clock()
        if outcome is None:
            part.status = "FINISHED"
            return None
        part.status, part.error = outcome
        part.columns, part.rows = None, []
        return outcome

    def _finish(
        self,
        statement: Statement,
        /,
        session: Session | None,
        status: str,
        error: str | None,
        *,
        started: float,
        time_scale: float,
    ) -> None:
        now = self._clock()
        with self._lock:
            if statement.cancel_requested and status != "FINISHED":
                status = "ABORTED"
            statement.status, statement.error = status, error
            statement.duration_ns = int((time.monotonic() - started) * 1e9)
            statement.updated_at = statement.finished_at = now
            statement.connection = None
            if session is not None:
                broken = session.connection is None or session.connection.closed
                session.current_statement = None
                session.updated_at = now
                if broken:
                    session.status, session.connection = "CLOSED", None
                else:
                    session.status = "AVAILABLE"
                    keep = min(session.keep_alive_seconds, MAX_SESSION_SECONDS)
                    session.expires_at = now + timedelta(seconds=keep * time_scale)
        statement.done.set()


class _Rollback(Exception):
    """Leave a batch's transaction block, rolling it back."""


def _collect(
    cursor: psycopg.Cursor[Any], part: Part, connection: psycopg.Connection[Any]
) -> tuple[str, str | None] | None:
    """Keep the part's result as the server's text of each value (the Data API returns
    numbers and booleans typed, everything else as the server prints it)."""
    description = cursor.description
    result = cursor.pgresult
    if description is None or result is None:
        part.columns = None
        part.result_rows = max(cursor.rowcount, 0)
        part.result_size = 0
        return None
    part.columns = [
        Column(
            name=column.name,
            type_name=_type_name(connection, column.type_code),
            type_oid=column.type_code,
            precision=column.precision or column.internal_size or 0,
            scale=column.scale or 0,
        )
        for column in description
    ]
    oids = [column.type_code for column in description]
    total = 0
    rows: list[tuple[Any, ...]] = []
    for row_index in range(result.ntuples):
        raw = [result.get_value(row_index, column) for column in range(result.nfields)]
        size = sum(len(value) for value in raw if value is not None)
        if size > MAX_ROW_BYTES:
            return ("FAILED", "Packet for query is too large: a row exceeds 64 KB.")
        total += size
        if total > MAX_RESULT_BYTES:
            return ("FAILED", "Database response exceeded size limit (100 MB).")
        rows.append(tuple(_value(oid, value) for oid, value in zip(oids, raw, strict=True)))
    part.rows = rows
    part.result_rows = len(rows)
    part.result_size = total
    return None


def _value(oid: int, raw: bytes | None) -> Any:
    if raw is None:
        return None
    text = bytes(raw).decode()
    if oid in _INTEGER_OIDS:
        return int(text)
    if oid in _FLOAT_OIDS:
        return float(text)
    if oid == _BOOL_OID:
        return text == "t"
    if oid == _BYTEA_OID:
        return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()
    return text


_TYPE_NAMES: dict[int, str] = {}


def _type_name(connection: psycopg.Connection[Any], oid: int) -> str:
    from psycopg.postgres import types

    known = types.get(oid)
    if known is not None:
        return known.name
    if oid not in _TYPE_NAMES:
        with connection.cursor() as cursor:
            row = cursor.execute(
                "SELECT typname FROM pg_catalog.pg_type WHERE oid = %s", (oid,)
            ).fetchone()
        _TYPE_NAMES[oid] = str(row[0]) if row else "unknown"
    return _TYPE_NAMES[oid]


def is_signed(column: Column) -> bool:
    return column.type_oid in _SIGNED_OIDS


def is_text(column: Column) -> bool:
    return column.type_oid in _TEXT_OIDS


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def part_ids(statement: Statement) -> Sequence[str]:
    if not statement.is_batch:
        return [statement.id]
    return [f"{statement.id}:{index}" for index in range(1, len(statement.parts) + 1)]
