"""``Connection`` and ``Cursor`` of the Data API driver (PEP 249).

* **Sessions.** A connection runs its statements in one Data API session: the first
  statement asks for one (``SessionKeepAliveSeconds``), the next ones name it
  (``SessionId``), so temporary tables and ``SET`` survive between statements. When AWS
  reports the session gone (it lapsed or was reclaimed: ``ValidationException``), the
  statement - which did not run - is submitted again in a new session, and a warning says
  that the old session's state is lost. ``close()`` lets the session lapse.
* **Waiting.** DescribeStatement is polled with a bounded exponential backoff (first poll
  after 10 ms, times 1.15 each time, at most 2 s apart) until the statement ends or
  ``statement_timeout`` passes; Ctrl-C or the timeout cancels it (CancelStatement).
* **Transactions.** Each statement commits on its own (the Data API has no open
  transaction between calls); a script of several statements in one ``execute``, and each
  chunk of up to 40 statements of ``executemany``, runs as one BatchExecuteStatement - one
  transaction. ``commit()`` therefore has nothing to do; ``rollback()`` cannot undo what
  has committed and raises ``NotSupportedError``.
* **Results** stream page by page through botocore's paginator: a cursor holds one page.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ...aws.data_api import DataApiClient, SessionGoneError, Submitted
from ...sql_text import split_statements
from .errors import InterfaceError, NotSupportedError, OperationalError, ProgrammingError
from .values import bind, csv_rows, from_field, from_text

if TYPE_CHECKING:
    from ...aws.data_api import DataApiTarget
    from ...aws.identity import AwsIdentity

logger = logging.getLogger(__name__)

FIRST_POLL_SECONDS = 0.01
POLL_GROWTH = 1.15
MAX_POLL_SECONDS = 2.0
DEFAULT_KEEP_ALIVE_SECONDS = 600
MAX_BATCH_STATEMENTS = 40
RESULT_FORMATS = ("JSON", "CSV")

Description = tuple[str, str, None, int | None, int | None, int | None, bool | None]


def poll_delays() -> Iterator[float]:
    """The waits between DescribeStatement calls: 10 ms, then times 1.15 up to 2 s."""
    delay = FIRST_POLL_SECONDS
    while True:
        yield delay
        delay = min(delay * POLL_GROWTH, MAX_POLL_SECONDS)


class Connection:
    """A DB-API connection over the Data API. Build it with ``connect``."""

    def __init__(
        self,
        identity: AwsIdentity,
        target: DataApiTarget,
        *,
        session_keep_alive_seconds: int = DEFAULT_KEEP_ALIVE_SECONDS,
        result_format: str = "JSON",
        statement_timeout: float | None = None,
        client: DataApiClient | None = None,
    ):
        if result_format not in RESULT_FORMATS:
            raise ProgrammingError(f"result_format must be one of {', '.join(RESULT_FORMATS)}.")
        if not 0 <= session_keep_alive_seconds <= 86400:
            raise ProgrammingError(
                "session_keep_alive_seconds must be 0 (no session) to 86400 (24 hours)."
            )
        self._client = client or DataApiClient(identity, target)
        self.keep_alive_seconds = session_keep_alive_seconds
        # A statement without a result set (or a batch) ran since the last commit(): for
        # SQLAlchemy's rollback, which cannot undo it (dialect.py).
        self.changed_since_commit = False
        self.result_format = result_format
        self.statement_timeout = statement_timeout
        self.session_id: str | None = None
        self.sessions_created = 0
        self.closed = False
        self.autocommit = True  # what every Data API statement does

    # -- PEP 249 -------------------------------------------------------------------------

    def cursor(self) -> Cursor:
        self._check_open()
        return Cursor(self)

    def commit(self) -> None:
        """Nothing to do: every statement (and every batch) has committed already."""
        self._check_open()
        self.changed_since_commit = False

    def rollback(self) -> None:
        raise NotSupportedError(
            "The Data API commits each statement when it ends, so there is nothing to roll "
            "back. Run statements that must succeed or fail together in one execute() as a "
            "script (one transaction), or with executemany()."
        )

    def close(self) -> None:
        """Close the connection; its session lapses after its keep-alive."""
        self.closed = True

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- running -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise InterfaceError("The connection is closed: open a new one with connect().")

    def run(self, sqls: Sequence[str], parameters: Mapping[str, str]) -> Mapping[str, Any]:
        """Submit ``sqls`` (several: one batch) in this connection's session, wait for the
        end, and return DescribeStatement's answer for a finished statement."""
        self._check_open()
        submitted = self._submit(sqls, parameters)
        description = self._wait(submitted.statement_id)
        status = description.get("Status")
        if status == "FINISHED":
            if not description.get("HasResultSet", True) or len(sqls) > 1:
                self.changed_since_commit = True  # committed already: no rollback undoes it
            return description
        error = str(description.get("Error") or "").strip()
        if status == "ABORTED":
            raise OperationalError(f"The statement was cancelled{': ' + error if error else ''}.")
        raise ProgrammingError(
            f"The database refused the statement on the {self._client.target.label}: {error}"
        )

    def _submit(self, sqls: Sequence[str], parameters: Mapping[str, str]) -> Submitted:
        keep_alive = self.keep_alive_seconds or None
        if self.session_id is not None:
            try:
                return self._client.submit(
                    sqls,
                    parameters,
                    session_id=self.session_id,
                    keep_alive_seconds=None,
                    result_format=self.result_format,
                )
            except SessionGoneError as gone:
                logger.warning(
                    "%s Opening a new session: the old one's temporary tables and settings "
                    "are lost.",
                    gone,
                )
                self.session_id = None
        submitted = self._client.submit(
            sqls,
            parameters,
            session_id=None,
            keep_alive_seconds=keep_alive,
            result_format=self.result_format,
        )
        if keep_alive and submitted.session_id:
            self.session_id = submitted.session_id
            self.sessions_created += 1
        return submitted

    def _wait(self, statement_id: str) -> Mapping[str, Any]:
        deadline = time.monotonic() + self.statement_timeout if self.statement_timeout else None
        try:
            for delay in poll_delays():
                if deadline is not None and time.monotonic() + delay > deadline:
                    if not self._client.cancel(statement_id):
                        # It ended as we gave up: report what it did, not a cancellation
                        # (a caller retrying a committed INSERT would run it twice).
                        return self._client.describe(statement_id)
                    raise OperationalError(
                        f"The statement did not finish within {self.statement_timeout} s and "
                        "was cancelled. Raise statement_timeout, or make the query cheaper."
                    )
                time.sleep(delay)
                description = self._client.describe(statement_id)
                if description.get("Status") in ("FINISHED", "FAILED", "ABORTED"):
                    return description
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):  # the Ctrl-C is what the caller must see
                self._client.cancel(statement_id)
            raise
        raise AssertionError("unreachable: poll_delays() never ends")  # pragma: no cover

    def result_rows(self, statement_id: str) -> tuple[list[Description], Iterator[tuple[Any, ...]]]:
        """The description and the rows of a finished statement's result, page by page."""
        csv = self.result_format == "CSV"
        pages = self._client.result_pages(statement_id, csv=csv)
        first = next(pages, None)
        if first is None:  # pragma: no cover - AWS always answers one page
            return [], iter(())
        metadata = list(first.get("ColumnMetadata") or [])
        description: list[Description] = [
            (
                str(column.get("name") or column.get("label") or ""),
                str(column.get("typeName") or ""),
                None,
                column.get("length"),
                column.get("precision"),
                column.get("scale"),
                None if column.get("nullable", 2) == 2 else bool(column.get("nullable")),
            )
            for column in metadata
        ]
        types = [column[1] for column in description]
        names = [column[0] for column in description]

        def rows() -> Iterator[tuple[Any, ...]]:
            page: Mapping[str, Any] | None = first
            header_pending = csv
            while page is not None:
                for record in page.get("Records") or []:
                    if not csv:
                        yield tuple(
                            from_field(type_name, field)
                            for type_name, field in zip(types, record, strict=True)
                        )
                        continue
                    for values in csv_rows(str(record.get("CSVRecords") or "")):
                        if header_pending:
                            header_pending = False
                            if values == names:
                                continue
                        yield tuple(
                            None if value is None else from_text(type_name, value)
                            for type_name, value in zip(types, values, strict=True)
                        )
                page = next(pages, None)

        return description, rows()


class Cursor:
    """A DB-API cursor over the Data API (paramstyle ``named``: ``:name`` and a dict)."""

    arraysize = 1

    def __init__(self, connection: Connection):
        self.connection = connection
        self.description: list[Description] | None = None
        self.rowcount = -1
        self.statement_id: str | None = None
        self._rows: Iterator[tuple[Any, ...]] | None = None
        self.closed = False

    # -- executing -----------------------------------------------------------------------

    def execute(
        self, operation: str, parameters: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> Cursor:
        """Run ``operation``: one statement, or a script of several (one transaction, the
        last statement's rows as the result)."""
        self._check_open()
        statements = split_statements(operation) or [operation]
        bound = [bind(sql, parameters) for sql in statements]
        merged: dict[str, str] = {}
        for _, texts in bound:
            merged.update(texts)
        self._run([sql for sql, _ in bound], merged)
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Mapping[str, Any]]) -> Cursor:
        """Run ``operation`` once per parameter set, in batches of up to 40 statements (each
        batch one transaction). ``rowcount`` is the total of rows affected."""
        self._check_open()
        total = 0
        chunk: list[tuple[str, dict[str, str]]] = []
        sets = list(seq_of_parameters)
        for index, parameters in enumerate(sets):
            sql, texts = bind(operation, parameters)
            prefix = f"p{index % MAX_BATCH_STATEMENTS}_"
            renamed = _rename(sql, prefix)
            chunk.append((renamed, {prefix + name: value for name, value in texts.items()}))
            if len(chunk) == MAX_BATCH_STATEMENTS or index == len(sets) - 1:
                merged: dict[str, str] = {}
                for _, texts_of in chunk:
                    merged.update(texts_of)
                self._run([sql for sql, _ in chunk], merged)
                total += max(self.rowcount, 0)
                chunk = []
        self.description, self._rows = None, None
        self.rowcount = total if sets else 0
        return self

    def _run(self, sqls: list[str], parameters: dict[str, str]) -> None:
        self.description, self._rows, self.rowcount = None, None, -1
        described = self.connection.run(sqls, parameters)
        self.statement_id = str(described["Id"])
        result_id = self.statement_id
        rows = described.get("ResultRows")
        has_result = bool(described.get("HasResultSet"))
        subs = described.get("SubStatements") or []
        if subs:
            with_result = [sub for sub in subs if sub.get("HasResultSet")]
            last = with_result[-1] if with_result else subs[-1]
            result_id, rows = str(last["Id"]), last.get("ResultRows")
            has_result = bool(last.get("HasResultSet"))
            if not has_result:
                rows = sum(max(int(sub.get("ResultRows") or 0), 0) for sub in subs)
        self.rowcount = int(rows) if rows is not None and int(rows) >= 0 else -1
        if has_result:
            self.description, self._rows = self.connection.result_rows(result_id)

    # -- fetching ------------------------------------------------------------------------

    def fetchone(self) -> tuple[Any, ...] | None:
        return next(self._result(), None)

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        rows = self._result()
        return [row for _, row in zip(range(size or self.arraysize), rows, strict=False)]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._result())

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self._result()

    def _result(self) -> Iterator[tuple[Any, ...]]:
        self._check_open()
        if self._rows is None:
            raise ProgrammingError("No result to fetch: the last statement returned no rows.")
        return self._rows

    # -- the rest of PEP 249 -------------------------------------------------------------

    def close(self) -> None:
        self.closed = True
        self._rows = None

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise InterfaceError("The cursor is closed: open a new one with cursor().")
        self.connection._check_open()


def _rename(sql: str, prefix: str) -> str:
    from ...sql_text import substitute

    return substitute(sql, lambda name: ":" + prefix + name)
