"""Open database connections with fresh credentials: psycopg2, psycopg 3 (sync and async) and
redshift_connector.

A login the server refuses (the password expired or was replaced) is retried once with a
newly issued password. Every other failure - untrusted certificate, wrong hostname, a server
without TLS, an unreachable host - becomes a ``DatabaseConnectionError`` naming the cause and
the fix.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

from .credentials import Credential
from .errors import ConfigurationError, DatabaseConnectionError, RedshiftEphemeralError
from .extras import optional
from .source import CredentialSource, source_from

if TYPE_CHECKING:
    import psycopg

Driver = Literal["psycopg2", "psycopg", "redshift_connector"]
DRIVERS: tuple[Driver, ...] = ("psycopg2", "psycopg", "redshift_connector")
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


def translate(
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
            "/etc/hosts), or use sslmode=verify-ca."
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


def _first_attempt_failed(
    error: Exception, source: CredentialSource, credential: Credential
) -> None:
    """Raise what a failed first attempt means - unless the server refused the login, when a
    fresh password may help: then forget the stale one, for one retry."""
    if isinstance(error, RedshiftEphemeralError):
        raise error
    if not is_login_refused(error):
        raise translate(error, credential) from None
    source.invalidate(credential)


def _retry_failed(error: Exception, credential: Credential) -> NoReturn:
    if isinstance(error, RedshiftEphemeralError):
        raise error
    raise translate(error, credential, retried=True) from None


def open_with_retry(source: CredentialSource, open_one: Callable[[Credential], T]) -> T:
    """``open_one(credential)``; if the login is refused, once more with a new password."""
    credential = source.get()
    try:
        return open_one(credential)
    except Exception as error:
        _first_attempt_failed(error, source, credential)
    fresh = source.get()
    try:
        return open_one(fresh)
    except Exception as error:
        _retry_failed(error, fresh)


async def aopen_with_retry(
    source: CredentialSource, open_one: Callable[[Credential], Awaitable[T]]
) -> T:
    """``open_with_retry`` for asyncio."""
    credential = await source.aget()
    try:
        return await open_one(credential)
    except Exception as error:
        _first_attempt_failed(error, source, credential)
    fresh = await source.aget()
    try:
        return await open_one(fresh)
    except Exception as error:
        _retry_failed(error, fresh)


# -- drivers ---------------------------------------------------------------------------------

_ssl_cert_file_lock = threading.Lock()


@contextlib.contextmanager
def _trust_for_redshift_connector(credential: Credential) -> Iterator[None]:
    """redshift_connector trusts the system roots plus its own Redshift bundle and has no
    parameter for another CA. For a custom ``sslrootcert`` (a local CA, a proxy's), point
    OpenSSL's default verify file at it while the connection is made."""
    from .tls import amazon_trust_bundle

    custom = credential.sslrootcert
    if custom is None or custom == amazon_trust_bundle():
        yield
        return
    with _ssl_cert_file_lock:
        previous = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = custom
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = previous


def default_driver() -> Driver:
    """The first installed of psycopg, psycopg2 and redshift_connector."""
    import importlib.util

    for driver, module in (
        ("psycopg", "psycopg"),
        ("psycopg2", "psycopg2"),
        ("redshift_connector", "redshift_connector"),
    ):
        if importlib.util.find_spec(module) is not None:
            return driver  # type: ignore[return-value]
    raise ConfigurationError(
        "No database driver is installed: `pip install 'redshift-ephemeral[psycopg]'` (or "
        "[psycopg2], [redshift_connector])."
    )


def open_driver_connection(driver: Driver, credential: Credential, options: dict[str, Any]) -> Any:
    """One connection attempt with ``driver``; driver exceptions pass through."""
    if driver == "psycopg2":
        with optional("psycopg2"):
            import psycopg2

        options = {"connect_timeout": DEFAULT_CONNECT_TIMEOUT, **options}
        return psycopg2.connect(**credential.psycopg2_kwargs(), **options)
    if driver == "psycopg":
        with optional("psycopg"):
            import psycopg

        options = {"connect_timeout": DEFAULT_CONNECT_TIMEOUT, **options}
        return psycopg.connect(**credential.psycopg_kwargs(), **options)
    if driver == "redshift_connector":
        with optional("redshift_connector"):
            import redshift_connector

        if credential.sslmode not in ("verify-ca", "verify-full"):
            raise ConfigurationError(
                f"redshift_connector cannot use sslmode={credential.sslmode!r}: it verifies the "
                "server always; use 'verify-full' (default) or 'verify-ca'."
            )

        options = {"timeout": DEFAULT_CONNECT_TIMEOUT, **options}
        with _trust_for_redshift_connector(credential):
            return redshift_connector.connect(**credential.redshift_connector_kwargs(), **options)
    raise ConfigurationError(f"Unknown driver {driver!r}: use one of {', '.join(DRIVERS)}.")


def connect(
    source: CredentialSource | None = None,
    /,
    *,
    driver: Driver = "psycopg2",
    driver_options: dict[str, Any] | None = None,
    **source_options: Any,
) -> Any:
    """A DB-API connection with a fresh credential, over verified TLS.

    Give a ``CredentialSource``, or the options of ``CredentialSource.from_options``
    (``cluster_id=…, db_user=…, region=…``). ``driver_options`` go to the driver's connect."""
    source = source_from(source, source_options)
    options = dict(driver_options or {})
    return open_with_retry(
        source, lambda credential: open_driver_connection(driver, credential, options)
    )


async def connect_async(
    source: CredentialSource | None = None,
    /,
    *,
    driver_options: dict[str, Any] | None = None,
    **source_options: Any,
) -> psycopg.AsyncConnection[Any]:
    """A psycopg 3 ``AsyncConnection`` with a fresh credential; the credential fetch runs off
    the event loop and is shared by concurrent tasks."""
    with optional("psycopg"):
        import psycopg

    source = source_from(source, source_options)
    options = {"connect_timeout": DEFAULT_CONNECT_TIMEOUT, **(driver_options or {})}

    async def open_one(credential: Credential) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(**credential.psycopg_kwargs(), **options)

    return await aopen_with_retry(source, open_one)
