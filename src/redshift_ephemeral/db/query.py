"""Run one statement and return its whole result: what ``redshift-ephemeral query`` prints,
for programs too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import QueryError
from ..source import CredentialSource
from .connections import connect
from .drivers import Driver


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...] | None  # None: the statement returns no rows (DDL, INSERT)
    rows: Sequence[Sequence[Any]]
    rowcount: int  # rows affected; -1 when the driver does not know


def run_query(
    source: CredentialSource,
    sql: str,
    *,
    driver: Driver | None = None,
    driver_options: dict[str, Any] | None = None,
) -> QueryResult:
    """Run ``sql`` on a new connection, commit, close. A statement the database refuses
    (permissions, syntax) raises ``QueryError`` with the server's first line, and no driver
    exception attached (psycopg's would hold the whole conninfo)."""
    connection = connect(source, driver=driver, driver_options=driver_options)
    try:
        cursor = connection.cursor()
        refusal = None
        try:
            cursor.execute(sql)
        except Exception as error:
            text = str(error).strip()
            refusal = QueryError(
                f"The database refused the statement: {text.splitlines()[0] if text else ''}"
            )
        if refusal is not None:  # raised here, not in the except: no driver error chained
            raise refusal
        if cursor.description is None:
            result = QueryResult(None, [], cursor.rowcount)
        else:
            columns = tuple(str(column[0]) for column in cursor.description)
            result = QueryResult(columns, cursor.fetchall(), cursor.rowcount)
        connection.commit()
    finally:
        connection.close()
    return result
