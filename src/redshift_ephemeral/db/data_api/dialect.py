"""SQLAlchemy's PostgreSQL dialect over the Data API driver (``postgresql+data_api``), for
``create_engine(source, driver="data_api")``: named parameters, and no transaction to commit
or roll back - each Data API statement commits on its own (``connection.py``), so the pool's
reset-on-return and ``Connection.commit()`` have nothing to do."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from sqlalchemy.dialects.postgresql.base import PGDialect

NAME = "postgresql.data_api"


class DataApiDialect(PGDialect):
    driver = "data_api"
    supports_statement_cache = True
    default_paramstyle = "named"
    supports_sane_multi_rowcount = False

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        from .. import data_api

        return data_api

    def do_rollback(self, dbapi_connection: Any) -> None:
        """Nothing can be rolled back: every statement has committed already. After reads
        only (and on the pool's reset) that is the same; after a write it is not, so that
        rollback (a failed ``engine.begin()`` block, ``session.rollback()``) is an error
        rather than a silent success."""
        connection = _unwrapped(dbapi_connection)
        if getattr(connection, "changed_since_commit", False):
            connection.changed_since_commit = False
            from .errors import NotSupportedError

            raise NotSupportedError(
                "Rollback requested, but the Data API committed each statement when it ended: "
                "the changes made since the last commit stay. Run statements that must succeed "
                "or fail together as one script (one execute() with several statements) or "
                "with executemany(), which the Data API runs as one transaction."
            )

    def do_commit(self, dbapi_connection: Any) -> None:
        """Nothing to commit: every statement has committed already."""
        _unwrapped(dbapi_connection).changed_since_commit = False

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        return "AUTOCOMMIT"

    def set_isolation_level(self, dbapi_connection: Any, level: Any) -> None:
        """Every Data API statement autocommits; no other level exists."""


def _unwrapped(connection: Any) -> Any:
    """The driver's connection under SQLAlchemy's pool proxy (which forwards reads, but keeps
    attributes set on it for itself)."""
    return getattr(connection, "dbapi_connection", None) or connection


def register() -> str:
    """Make ``postgresql+data_api`` known to SQLAlchemy; returns the URL's drivername."""
    from sqlalchemy.dialects import registry

    registry.register(NAME, __name__, "DataApiDialect")
    return "postgresql+data_api"
