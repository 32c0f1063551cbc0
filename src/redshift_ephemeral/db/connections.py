"""Open database connections with fresh credentials: psycopg2, psycopg 3 (sync and async) and
redshift_connector.

A login the server refuses (the password expired or was replaced) is retried once with a
newly issued password. Every other failure - untrusted certificate, wrong hostname, a server
without TLS, an unreachable host - becomes a ``DatabaseConnectionError`` naming the cause and
the fix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Unpack, assert_never, overload

from .._extras import optional
from ..credentials import REDSHIFT_CONNECTOR_NO_HOSTADDR, Credential
from ..errors import ConfigurationError, DatabaseConnectionError, RedshiftEphemeralError
from ..source import CredentialSource, source_from
from ..tls import check_redshift_connector_trust
from .drivers import Driver, check_driver, default_driver
from .options import check_driver_options, merge

if TYPE_CHECKING:
    import psycopg

    from ..config import SourceOptions
    from .data_api.aio import AsyncConnection

DEFAULT_CONNECT_TIMEOUT = 10
T = TypeVar("T")

# libpq's and redshift_connector's words for each failure (SQLSTATE 28P01: invalid_password).
_LOGIN_REFUSED = ("password authentication failed", "28P01")
_UNTRUSTED = (
    "certificate verify failed",
    "CERTIFICATE_VERIFY_FAILED",
    "self-signed certificate",
    "unable to get local issuer certificate",
)
_WRONG_NAME = (
    "does not match host name",
    "Hostname mismatch",
    "doesn't match",
    "IP address mismatch",
)
_NO_TLS = ("server does not support SSL", "Server refuses SSL", "SSL was required")
_UNREACHABLE = (
    "Connection refused",
    "could not translate host name",
    "timeout expired",
    "Name or service not known",
    "No route to host",
    "timed out",
    "Network is unreachable",
    "communication error",
)


def _matches(text: str, needles: tuple[str, ...]) -> bool:
    return any(needle in text for needle in needles)


def _describe(error: BaseException) -> str:
    """The error and its causes as one string (drivers wrap the SSL error they met)."""
    parts: list[str] = []
    current: BaseException | None = error
    while current is not None and len(parts) < 5:
        parts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)


def is_login_refused(error: BaseException) -> bool:
    return _matches(_describe(error), _LOGIN_REFUSED)


def connection_error_from(
    error: BaseException, credential: Credential, *, retried: bool = False
) -> DatabaseConnectionError:
    """A driver's connection failure, in plain words. Never includes the password: drivers'
    messages name the user, not the password."""
    text = _describe(error)
    where = f"{credential.host}:{credential.port}"
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if _matches(text, _LOGIN_REFUSED):
        if retried:
            message = (
                f"The server at {where} refused the login of {credential.user} even with a "
                "freshly issued password. Check that the database user exists (or use "
                "--auto-create) and may connect to database "
                f"{credential.database!r}."
            )
        else:
            message = f"The server at {where} refused the login of {credential.user}: {reason}."
    elif _matches(text, _NO_TLS):
        message = (
            f"The server at {where} does not offer TLS, so the password was not sent. "
            "Check the host and port: Redshift always offers TLS."
        )
    elif _matches(text, _WRONG_NAME):
        message = (
            f"The server's TLS certificate is not for {credential.host!r} "
            f"(sslmode={credential.sslmode}). Connect by the name on the certificate (the "
            "cluster's endpoint; through a tunnel, map that name to the tunnel in "
            "/etc/hosts). Do not switch to verify-ca: with Amazon's roots it would accept any "
            "server with an Amazon-issued certificate."
        )
    elif _matches(text, _UNTRUSTED):
        message = (
            f"The server's TLS certificate at {where} is not signed by a trusted CA "
            f"({credential.sslrootcert or 'system roots'}). If a proxy presents its own "
            "certificate, pass its CA with sslrootcert; do not turn verification off."
        )
    elif _matches(text, _UNREACHABLE):
        message = (
            f"Could not reach {where}: {reason}. Check the host and port, security "
            "groups and routes (or your tunnel), and that the cluster is available."
        )
    else:
        message = f"Could not connect to {where}: {reason}."
    return DatabaseConnectionError(message)


def _failure_of_first_attempt(
    error: Exception, credential: Credential
) -> RedshiftEphemeralError | None:
    """What a failed first attempt means: None if the server refused the login (a fresh
    password may help: retry once), else the error to raise."""
    if isinstance(error, RedshiftEphemeralError):
        return error
    if is_login_refused(error):
        return None
    return connection_error_from(error, credential)


def _failure_of_retry(error: Exception, credential: Credential) -> RedshiftEphemeralError:
    if isinstance(error, RedshiftEphemeralError):
        return error
    return connection_error_from(error, credential, retried=True)


# The driver's exception is turned into ours inside each ``except`` block, and ours is raised
# after it: raised inside, it would keep the driver's exception as ``__context__``, and with
# it objects that hold the password (psycopg's ``pgconn`` shows the whole conninfo).


def open_with_retry(source: CredentialSource, open_one: Callable[[Credential], T]) -> T:
    """``open_one(credential)``; if the login is refused, once more with a new password."""
    credential = source.get()
    try:
        return open_one(credential)
    except Exception as error:
        failure = _failure_of_first_attempt(error, credential)
    if failure is not None:
        raise failure
    source.invalidate(credential)
    fresh = source.get()
    try:
        return open_one(fresh)
    except Exception as error:
        failure = _failure_of_retry(error, fresh)
    raise failure


async def aopen_with_retry(
    source: CredentialSource, open_one: Callable[[Credential], Awaitable[T]]
) -> T:
    """``open_with_retry`` for asyncio."""
    credential = await source.aget()
    try:
        return await open_one(credential)
    except Exception as error:
        failure = _failure_of_first_attempt(error, credential)
    if failure is not None:
        raise failure
    source.invalidate(credential)
    fresh = await source.aget()
    try:
        return await open_one(fresh)
    except Exception as error:
        failure = _failure_of_retry(error, fresh)
    raise failure


# -- drivers ---------------------------------------------------------------------------------


def libpq_connect_kwargs(credential: Credential, options: dict[str, Any]) -> dict[str, Any]:
    """psycopg2 / psycopg keyword arguments: our defaults, the caller's options (checked
    again here, at every connect: a pool's options can be changed after it was built), then
    the credential's host, login and TLS, which always win."""
    check_driver_options("psycopg", options, "driver_options")
    return merge({"connect_timeout": DEFAULT_CONNECT_TIMEOUT}, options, credential.libpq_params())


def open_driver_connection(driver: Driver, credential: Credential, options: dict[str, Any]) -> Any:
    """One connection attempt with ``driver``; driver exceptions pass through. ``options``
    must have passed ``check_driver_options``."""
    if driver == "psycopg2":
        with optional("psycopg2"):
            import psycopg2

        return psycopg2.connect(**libpq_connect_kwargs(credential, options))
    if driver == "psycopg":
        with optional("psycopg"):
            import psycopg

        return psycopg.connect(**libpq_connect_kwargs(credential, options))
    if driver == "data_api":
        raise ConfigurationError(
            "The data_api driver takes no password: open it with connect(source, "
            'driver="data_api"), not with a credential.'
        )
    if driver == "redshift_connector":
        with optional("redshift_connector"):
            import redshift_connector

        if credential.sslmode not in ("verify-ca", "verify-full"):
            raise ConfigurationError(
                f"redshift_connector cannot use sslmode={credential.sslmode!r}: it verifies the "
                "server always; use 'verify-full' (default) or 'verify-ca'."
            )
        check_redshift_connector_trust(credential.sslrootcert)
        check_driver_options(driver, options, "driver_options")
        params = merge(
            {"timeout": DEFAULT_CONNECT_TIMEOUT}, options, credential.redshift_connector_kwargs()
        )
        return redshift_connector.connect(**params)
    assert_never(check_driver(driver))  # an unknown name raises in check_driver


def check_driver_route(driver: str, source: CredentialSource) -> None:
    """Refuse, before any AWS call, a driver that cannot connect where ``source`` says:
    redshift_connector has no ``hostaddr``, so it cannot open the connection at a connect
    address while verifying the certificate against the host name."""
    if driver == "redshift_connector" and source.request.target.connect_address is not None:
        raise ConfigurationError(REDSHIFT_CONNECTOR_NO_HOSTADDR)


def checked_driver_options(
    driver: str, options: dict[str, Any] | None, where: str = "driver_options"
) -> dict[str, Any]:
    """A copy of the caller's ``options`` for ``driver``, refused (before any AWS call) if
    one touches the host, the login or TLS."""
    if check_driver(driver) == "data_api":
        from .data_api import options_of

        return options_of(options)
    checked = dict(options or {})
    check_driver_options(driver, checked, where)
    return checked


def connect(
    source: CredentialSource | None = None,
    /,
    *,
    driver: Driver | None = None,
    driver_options: dict[str, Any] | None = None,
    **source_options: Unpack[SourceOptions],
) -> Any:
    """A DB-API connection with a fresh credential, over verified TLS.

    Give a ``CredentialSource``, or the options of ``CredentialSource.from_options``
    (``cluster_id=…, db_user=…, region=…``). ``driver`` defaults to ``default_driver()``;
    ``driver_options`` go to the driver's connect."""
    driver = driver or default_driver()
    if driver == "data_api":
        return connect_data_api(source_from(source, source_options), driver_options)
    options = checked_driver_options(driver, driver_options)
    source = source_from(source, source_options)
    check_driver_route(driver, source)
    return open_with_retry(
        source, lambda credential: open_driver_connection(driver, credential, options)
    )


def connect_data_api(source: CredentialSource, driver_options: dict[str, Any] | None) -> Any:
    """A Data API connection (``db/data_api``): no password, no network path to the
    cluster; ``driver_options`` are that driver's own (session keep-alive, result format,
    statement timeout)."""
    from . import data_api

    return data_api.connect(source, **checked_driver_options("data_api", driver_options))


@overload
async def connect_async(
    source: CredentialSource | None = None,
    /,
    *,
    driver: Literal["psycopg"] | None = None,
    driver_options: dict[str, Any] | None = None,
    **source_options: Unpack[SourceOptions],
) -> psycopg.AsyncConnection[Any]: ...


@overload
async def connect_async(
    source: CredentialSource | None = None,
    /,
    *,
    driver: Literal["data_api"],
    driver_options: dict[str, Any] | None = None,
    **source_options: Unpack[SourceOptions],
) -> AsyncConnection: ...


async def connect_async(
    source: CredentialSource | None = None,
    /,
    *,
    driver: Literal["psycopg", "data_api"] | None = None,
    driver_options: dict[str, Any] | None = None,
    **source_options: Unpack[SourceOptions],
) -> psycopg.AsyncConnection[Any] | AsyncConnection:
    """A psycopg 3 ``AsyncConnection`` with a fresh credential; the credential fetch runs off
    the event loop and is shared by concurrent tasks. With ``driver="data_api"``, the Data
    API driver's ``AsyncConnection`` (its calls run off the event loop)."""
    if driver == "data_api":
        from .data_api.aio import AsyncConnection

        options = checked_driver_options("data_api", driver_options)
        resolved = source_from(source, source_options)
        return AsyncConnection(await asyncio.to_thread(connect_data_api, resolved, options))
    if driver not in (None, "psycopg"):
        raise ConfigurationError(
            f"connect_async takes driver 'psycopg' or 'data_api', not {driver!r}."
        )
    with optional("psycopg"):
        import psycopg

    options = checked_driver_options("psycopg", driver_options)
    source = source_from(source, source_options)

    async def open_one(credential: Credential) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(**libpq_connect_kwargs(credential, options))

    return await aopen_with_retry(source, open_one)
