"""asyncio over the Data API driver: the same connection and cursor, each call run off the
event loop (``asyncio.to_thread``), so polling never blocks other tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from .connection import Connection, Cursor, Description


class AsyncCursor:
    def __init__(self, cursor: Cursor):
        self._cursor = cursor

    @property
    def description(self) -> list[Description] | None:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def execute(
        self, operation: str, parameters: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> AsyncCursor:
        await asyncio.to_thread(self._cursor.execute, operation, parameters)
        return self

    async def executemany(
        self, operation: str, seq_of_parameters: Sequence[Mapping[str, Any]]
    ) -> AsyncCursor:
        await asyncio.to_thread(self._cursor.executemany, operation, seq_of_parameters)
        return self

    async def fetchone(self) -> tuple[Any, ...] | None:
        return await asyncio.to_thread(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self._cursor.fetchmany, size)

    async def fetchall(self) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self._cursor.fetchall)

    async def close(self) -> None:
        self._cursor.close()


class AsyncConnection:
    """``connect_async(..., driver="data_api")``: ``execute`` returns an ``AsyncCursor``."""

    def __init__(self, connection: Connection):
        self.sync_connection = connection

    def cursor(self) -> AsyncCursor:
        return AsyncCursor(self.sync_connection.cursor())

    async def execute(
        self, operation: str, parameters: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> AsyncCursor:
        return await self.cursor().execute(operation, parameters)

    async def commit(self) -> None:
        self.sync_connection.commit()

    async def close(self) -> None:
        self.sync_connection.close()

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
