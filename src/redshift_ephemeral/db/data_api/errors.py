"""The DB-API 2.0 exceptions of the Data API driver, inside this library's hierarchy: every
one is a ``RedshiftEphemeralError``, and a statement the database refused is also a
``QueryError`` (as with the other drivers, through ``run_query``)."""

from __future__ import annotations

from ...errors import QueryError, RedshiftEphemeralError


class Warning(Exception):
    """PEP 249's warning (never raised: the Data API reports no warnings)."""


class Error(RedshiftEphemeralError):
    """Base of the driver's errors (PEP 249)."""


class InterfaceError(Error):
    """The driver was used wrongly: a closed connection or cursor, a fetch with no result."""


class DatabaseError(Error):
    """The statement failed in the database or in the Data API."""


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    """The statement was cancelled, timed out, or the Data API could not run it."""


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError, QueryError):
    """The database refused the statement (syntax, permissions, a missing table), or its
    parameters cannot be sent."""


class NotSupportedError(DatabaseError):
    """What the Data API cannot do (rolling back a committed statement, binary parameters)."""
