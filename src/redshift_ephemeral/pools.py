"""Connection pools that outlive every password: each new DB-API connection takes the current
credential from the cache, so a password that expires never breaks the pool, and no password
is ever baked into a URL.

* ``create_engine`` - SQLAlchemy, through its ``do_connect`` event;
* ``connection_pool`` / ``async_connection_pool`` - psycopg_pool, through a connection class
  whose ``connect`` asks the source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .connections import (
    DEFAULT_CONNECT_TIMEOUT,
    Driver,
    aopen_with_retry,
    open_driver_connection,
    open_with_retry,
)
from .credentials import Credential
from .extras import optional
from .source import CredentialSource, source_from

if TYPE_CHECKING:
    import psycopg_pool
    import sqlalchemy


def _sqlalchemy_drivername(driver: Driver, dialect: str | None) -> str:
    if driver == "redshift_connector" or dialect == "redshift":
        with optional("sqlalchemy"):
            import sqlalchemy_redshift  # noqa: F401 - registers the redshift dialect
        return f"redshift+{driver}"
    return f"postgresql+{driver}"


def create_engine(
    source: CredentialSource | None = None,
    /,
    *,
    driver: Driver = "psycopg2",
    dialect: str | None = None,
    driver_options: dict[str, Any] | None = None,
    engine_options: dict[str, Any] | None = None,
    **source_options: Any,
) -> sqlalchemy.Engine:
    """A SQLAlchemy engine whose every new connection uses the current credential.

    The URL holds the driver name only; host, user and password come from the source at
    connect time (``do_connect``), with one retry on a refused login."""
    with optional("sqlalchemy"):
        import sqlalchemy

    source = source_from(source, source_options)
    url = sqlalchemy.URL.create(_sqlalchemy_drivername(driver, dialect))
    engine = sqlalchemy.create_engine(url, **(engine_options or {}))
    options = dict(driver_options or {})

    @sqlalchemy.event.listens_for(engine, "do_connect")
    def _connect_with_fresh_credential(
        _dialect: Any, _record: Any, _cargs: Any, _cparams: Any
    ) -> Any:
        return open_with_retry(
            source, lambda credential: open_driver_connection(driver, credential, options)
        )

    return engine


def connection_pool(
    source: CredentialSource | None = None,
    /,
    *,
    min_size: int = 1,
    max_size: int | None = None,
    driver_options: dict[str, Any] | None = None,
    pool_options: dict[str, Any] | None = None,
    **source_options: Any,
) -> psycopg_pool.ConnectionPool[Any]:
    """A ``psycopg_pool.ConnectionPool`` whose new connections use the current credential.
    Open it with ``with pool:`` or ``pool.open()``."""
    with optional("psycopg"):
        import psycopg
        import psycopg_pool

    resolved = source_from(source, source_options)
    defaults = {"connect_timeout": DEFAULT_CONNECT_TIMEOUT}

    class EphemeralConnection(psycopg.Connection[Any]):
        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> EphemeralConnection:
            def open_one(credential: Credential) -> EphemeralConnection:
                params = {**defaults, **credential.psycopg_kwargs(), **kwargs}
                return super(EphemeralConnection, cls).connect(conninfo, **params)

            return open_with_retry(resolved, open_one)

    return psycopg_pool.ConnectionPool(
        connection_class=EphemeralConnection,
        kwargs=dict(driver_options or {}),
        min_size=min_size,
        max_size=max_size,
        open=False,
        **(pool_options or {}),
    )


def async_connection_pool(
    source: CredentialSource | None = None,
    /,
    *,
    min_size: int = 1,
    max_size: int | None = None,
    driver_options: dict[str, Any] | None = None,
    pool_options: dict[str, Any] | None = None,
    **source_options: Any,
) -> psycopg_pool.AsyncConnectionPool[Any]:
    """An ``AsyncConnectionPool`` whose new connections use the current credential, fetched
    off the event loop. Open it with ``async with pool:`` or ``await pool.open()``."""
    with optional("psycopg"):
        import psycopg
        import psycopg_pool

    resolved = source_from(source, source_options)
    defaults = {"connect_timeout": DEFAULT_CONNECT_TIMEOUT}

    class EphemeralAsyncConnection(psycopg.AsyncConnection[Any]):
        @classmethod
        async def connect(cls, conninfo: str = "", **kwargs: Any) -> EphemeralAsyncConnection:
            async def open_one(credential: Credential) -> EphemeralAsyncConnection:
                params = {**defaults, **credential.psycopg_kwargs(), **kwargs}
                return await super(EphemeralAsyncConnection, cls).connect(conninfo, **params)

            return await aopen_with_retry(resolved, open_one)

    return psycopg_pool.AsyncConnectionPool(
        connection_class=EphemeralAsyncConnection,
        kwargs=dict(driver_options or {}),
        min_size=min_size,
        max_size=max_size,
        open=False,
        **(pool_options or {}),
    )
