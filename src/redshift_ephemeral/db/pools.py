"""Connection pools that outlive every password: each new DB-API connection takes the current
credential from the cache, so a password that expires never breaks the pool, and no password
is ever baked into a URL.

* ``create_engine`` - SQLAlchemy, through its ``do_connect`` event;
* ``connection_pool`` / ``async_connection_pool`` - psycopg_pool, through a connection class
  whose ``connect`` asks the source.

psycopg_pool 3.3 also accepts a callable for ``kwargs``, called before each connect. It
cannot replace the connection class: a login the server refuses would reach the pool as a
failed attempt, retried after its backoff with the same cached password (nothing
invalidates it), where the class invalidates it and retries at once with a fresh one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Unpack

from .._extras import optional
from ..credentials import Credential
from ..source import CredentialSource, source_from
from .connections import (
    aopen_with_retry,
    check_driver_route,
    checked_driver_options,
    connect_data_api,
    libpq_connect_kwargs,
    open_driver_connection,
    open_with_retry,
)
from .drivers import Driver, default_driver
from .options import check_engine_options, check_pool_options

if TYPE_CHECKING:
    import psycopg_pool
    import sqlalchemy

    from ..config import SourceOptions


def _sqlalchemy_drivername(driver: Driver, dialect: str | None) -> str:
    if driver == "data_api":
        from .data_api.dialect import register

        return register()
    if driver == "redshift_connector" or dialect == "redshift":
        with optional("sqlalchemy"):
            import sqlalchemy_redshift  # noqa: F401 - registers the redshift dialect
        return f"redshift+{driver}"
    return f"postgresql+{driver}"


def create_engine(
    source: CredentialSource | None = None,
    /,
    *,
    driver: Driver | None = None,
    dialect: str | None = None,
    driver_options: dict[str, Any] | None = None,
    engine_options: dict[str, Any] | None = None,
    **source_options: Unpack[SourceOptions],
) -> sqlalchemy.Engine:
    """A SQLAlchemy engine whose every new connection uses the current credential.

    The URL holds the driver name only; host, user and password come from the source at
    connect time (``do_connect``), with one retry on a refused login. ``driver`` defaults
    to ``default_driver()``."""
    with optional("sqlalchemy"):
        import sqlalchemy

    driver = driver or default_driver()
    options = checked_driver_options(driver, driver_options)
    engine_options = dict(engine_options or {})
    check_engine_options(engine_options)
    source = source_from(source, source_options)
    check_driver_route(driver, source)
    url = sqlalchemy.URL.create(_sqlalchemy_drivername(driver, dialect))
    engine = sqlalchemy.create_engine(url, **engine_options)
    take_fresh_credentials(engine, source, driver, options)
    return engine


def take_fresh_credentials(
    engine: sqlalchemy.Engine, source: CredentialSource, driver: Driver, options: dict[str, Any]
) -> None:
    """Make every new DB-API connection of ``engine`` take the current credential of
    ``source`` (``do_connect``), with one retry on a refused login. The connect arguments
    the dialect made from the URL are ignored: host, login and TLS come from the credential,
    and ``options`` (already checked) are the only driver options."""
    import sqlalchemy

    @sqlalchemy.event.listens_for(engine, "do_connect")
    def _connect_with_fresh_credential(
        _dialect: Any, _record: Any, _cargs: Any, _cparams: Any
    ) -> Any:
        if driver == "data_api":
            return connect_data_api(source, options)
        return open_with_retry(
            source, lambda credential: open_driver_connection(driver, credential, options)
        )


def refuse_conninfo(conninfo: str) -> None:
    """A pool's connection string (set after the pool was built) would bypass the checks."""
    if conninfo:
        check_pool_options({"conninfo": conninfo})


def connection_pool(
    source: CredentialSource | None = None,
    /,
    *,
    min_size: int = 1,
    max_size: int | None = None,
    driver_options: dict[str, Any] | None = None,
    pool_options: dict[str, Any] | None = None,
    **source_options: Unpack[SourceOptions],
) -> psycopg_pool.ConnectionPool[Any]:
    """A ``psycopg_pool.ConnectionPool`` whose new connections use the current credential.
    Open it with ``with pool:`` or ``pool.open()``."""
    with optional("psycopg"):
        import psycopg
        import psycopg_pool

    options = checked_driver_options("psycopg", driver_options)
    pool_options = dict(pool_options or {})
    check_pool_options(pool_options)
    resolved = source_from(source, source_options)

    class EphemeralConnection(psycopg.Connection[Any]):
        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> EphemeralConnection:
            refuse_conninfo(conninfo)

            def open_one(credential: Credential) -> EphemeralConnection:
                return super(EphemeralConnection, cls).connect(
                    "", **libpq_connect_kwargs(credential, kwargs)
                )

            return open_with_retry(resolved, open_one)

    return psycopg_pool.ConnectionPool(
        connection_class=EphemeralConnection,
        kwargs=options,
        min_size=min_size,
        max_size=max_size,
        open=False,
        **pool_options,
    )


def async_connection_pool(
    source: CredentialSource | None = None,
    /,
    *,
    min_size: int = 1,
    max_size: int | None = None,
    driver_options: dict[str, Any] | None = None,
    pool_options: dict[str, Any] | None = None,
    **source_options: Unpack[SourceOptions],
) -> psycopg_pool.AsyncConnectionPool[Any]:
    """An ``AsyncConnectionPool`` whose new connections use the current credential, fetched
    off the event loop. Open it with ``async with pool:`` or ``await pool.open()``."""
    with optional("psycopg"):
        import psycopg
        import psycopg_pool

    options = checked_driver_options("psycopg", driver_options)
    pool_options = dict(pool_options or {})
    check_pool_options(pool_options)
    resolved = source_from(source, source_options)

    class EphemeralAsyncConnection(psycopg.AsyncConnection[Any]):
        @classmethod
        async def connect(cls, conninfo: str = "", **kwargs: Any) -> EphemeralAsyncConnection:
            refuse_conninfo(conninfo)

            async def open_one(credential: Credential) -> EphemeralAsyncConnection:
                return await super(EphemeralAsyncConnection, cls).connect(
                    "", **libpq_connect_kwargs(credential, kwargs)
                )

            return await aopen_with_retry(resolved, open_one)

    return psycopg_pool.AsyncConnectionPool(
        connection_class=EphemeralAsyncConnection,
        kwargs=options,
        min_size=min_size,
        max_size=max_size,
        open=False,
        **pool_options,
    )
