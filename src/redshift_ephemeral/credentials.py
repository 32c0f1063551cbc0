"""The issued credential: an immutable value and its renderings for drivers and tools.

The password is a ``Secret``, excluded from equality, so ``repr``, ``str``, ``vars()``,
``dataclasses.asdict()`` and logging of a credential, of an exception holding one, or of a
cache entry never show it, and ``pickle`` refuses it. Renderings that must contain it (driver
keyword arguments, DSN, URL, environment, pgpass) exist because the user asked for exactly
that; they are the only callers of ``reveal()`` here.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .errors import ConfigurationError
from .secret import REDACTED, Secret
from .targets import ConnectAddress, Operation, parse_connect_address, validate_host

REDSHIFT_CONNECTOR_NO_HOSTADDR = (
    "redshift_connector cannot use a connect address: it has no hostaddr, and opens the "
    "connection at the address its host name resolves to. Use the psycopg or psycopg2 driver "
    "(libpq connects to the address and verifies the name), or drop connect_address and map "
    "the host name to the tunnel in /etc/hosts."
)


def _libpq_quote(value: str) -> str:
    """Quote a libpq conninfo value: single quotes, backslash-escaped."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _pgpass_field(value: str) -> str:
    """A pgpass match field, as libpq reads it: ``\\`` escapes the next character, an
    unescaped ``:`` ends the field, and a field that is exactly ``*`` matches anything - so a
    literal ``*`` is escaped too."""
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("*", "\\*")


def _pgpass_password(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def _url_part(value: str) -> str:
    """Percent-encode every reserved character, so no value can end its URL component."""
    return quote(value, safe="")


def _url_host(host: str) -> str:
    """IPv6 literals go in brackets (RFC 3986); names and IPv4 need no escaping, because
    ``validate_host`` lets through nothing a URL would read as a delimiter."""
    return f"[{host}]" if ":" in host else host


def _refuse_unrenderable(rendering: str, fields: dict[str, str], forbidden: str) -> None:
    """Raise before writing a rendering that some field cannot be expressed in, naming the
    field (and its value, unless it is the password)."""
    for name, value in fields.items():
        if any(char in forbidden for char in value) or _has_surrogate(value):
            shown = "the password" if name == "password" else f"the {name} {value!r}"
            raise ConfigurationError(
                f"Cannot write a {rendering}: {shown} contains a character it cannot hold "
                f"({_describe(forbidden)} or an unpaired surrogate). Use another format, "
                "such as JSON."
            )


def _describe(characters: str) -> str:
    names = {"\0": "NUL", "\n": "line feed", "\r": "carriage return"}
    return ", ".join(names.get(char, repr(char)) for char in characters)


def _warn_renamed(old_name: str) -> None:
    warnings.warn(
        f"Credential.{old_name}() is deprecated: use Credential.libpq_params(), the same "
        "keywords (psycopg2 and psycopg both pass them to libpq).",
        DeprecationWarning,
        stacklevel=3,
    )


def _has_surrogate(value: str) -> bool:
    # Lone surrogates cannot be encoded as UTF-8, so no file, URL or environment holds them.
    return any("\ud800" <= char <= "\udfff" for char in value)


@dataclass(frozen=True, repr=False)
class Credential:
    """A short-lived database login issued by AWS, and where to use it."""

    host: str
    port: int
    database: str
    user: str
    password: Secret = field(compare=False, hash=False)
    issued_at: datetime
    expires_at: datetime
    operation: Operation
    next_refresh_at: datetime | None = None
    sslmode: str = "verify-full"
    sslrootcert: str | None = None
    # libpq's hostaddr: the IP address the connection is opened at (a tunnel's local end, an
    # endpoint's address), ``port`` being the port there; TLS is verified against ``host``.
    connect_address: str | None = None

    def __post_init__(self) -> None:
        # Every rendering trusts the host not to change its meaning (no socket path, no URL
        # or pgpass delimiter), whoever built the credential.
        object.__setattr__(self, "host", validate_host(self.host))
        if self.connect_address is not None:
            parsed = parse_connect_address(self.connect_address)
            if parsed.port is not None:
                raise ConfigurationError(
                    f"Credential.connect_address {self.connect_address!r} holds a port: give "
                    "the address alone, and the port as Credential.port."
                )
            object.__setattr__(self, "connect_address", parsed.address)
        if isinstance(self.password, str):  # accepted for convenience; kept only as a Secret
            object.__setattr__(self, "password", Secret(self.password))
        for name in ("issued_at", "expires_at", "next_refresh_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"Credential.{name} must be timezone-aware (UTC)")

    def __repr__(self) -> str:
        route = (
            f", connect_address={self.connect_address!r}"
            if self.connect_address is not None
            else ""
        )
        return (
            f"Credential(host={self.host!r}, port={self.port}{route}, "
            f"database={self.database!r}, user={self.user!r}, password={REDACTED!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, operation={self.operation.action!r}, "
            f"sslmode={self.sslmode!r})"
        )

    __str__ = __repr__

    def with_tls(self, sslmode: str, sslrootcert: str | None) -> Credential:
        return dataclasses.replace(self, sslmode=sslmode, sslrootcert=sslrootcert)

    def via(self, address: ConnectAddress | None) -> Credential:
        """This credential reached at ``address`` (its port, if it has one, replaces the
        endpoint's); the host name stays what TLS verifies. Itself when ``address`` is None."""
        if address is None:
            return self
        return dataclasses.replace(
            self, connect_address=address.address, port=address.port or self.port
        )

    def _hostaddr(self) -> dict[str, str]:
        return {"hostaddr": self.connect_address} if self.connect_address is not None else {}

    @property
    def lifetime_seconds(self) -> float:
        return (self.expires_at - self.issued_at).total_seconds()

    def seconds_left(self, now: datetime | None = None) -> float:
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds()

    # -- renderings -------------------------------------------------------------------------

    def _tls_params(self) -> dict[str, str]:
        params = {"sslmode": self.sslmode}
        if self.sslrootcert is not None:
            params["sslrootcert"] = self.sslrootcert
        return params

    def libpq_params(self) -> dict[str, Any]:
        """libpq keywords (contains the password): what ``psycopg2.connect()`` and
        ``psycopg.connect()`` both take, as both hand them to libpq unchanged."""
        return {
            "host": self.host,
            **self._hostaddr(),
            "port": self.port,
            "dbname": self.database,
            "user": self.user,
            "password": self.password.reveal(),
            **self._tls_params(),
        }

    # 0.1.0's README showed these two names for the same dict; they stay for that code.

    def psycopg2_kwargs(self) -> dict[str, Any]:
        """Deprecated: the same dict as :meth:`libpq_params`, under 0.1.0's name."""
        _warn_renamed("psycopg2_kwargs")
        return self.libpq_params()

    def psycopg_kwargs(self) -> dict[str, Any]:
        """Deprecated: the same dict as :meth:`libpq_params`, under 0.1.0's name."""
        _warn_renamed("psycopg_kwargs")
        return self.libpq_params()

    def redshift_connector_kwargs(self) -> dict[str, Any]:
        """redshift_connector.connect() keywords. It verifies against its own Redshift bundle
        plus the system roots and takes ``verify-ca`` / ``verify-full`` only. It has no
        ``hostaddr``: it connects to the name it verifies, so a credential with a connect
        address is refused rather than sent to the name's own address."""
        if self.connect_address is not None:
            raise ConfigurationError(REDSHIFT_CONNECTOR_NO_HOSTADDR)
        return {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "user": self.user,
            "password": self.password.reveal(),
            "ssl": True,
            "sslmode": self.sslmode,
        }

    def _text_fields(self) -> dict[str, str]:
        """Every text value a rendering holds, named for error messages."""
        fields = {
            "host": self.host,
            "database": self.database,
            "user": self.user,
            "password": self.password.reveal(),
            "sslmode": self.sslmode,
        }
        if self.sslrootcert is not None:
            fields["sslrootcert"] = self.sslrootcert
        fields.update(self._hostaddr())
        return fields

    def dsn(self) -> str:
        """A libpq connection string (contains the password). Any character but NUL can be
        quoted."""
        _refuse_unrenderable("libpq connection string", self._text_fields(), "\0")
        params = self.libpq_params()
        return " ".join(f"{key}={_libpq_quote(str(value))}" for key, value in params.items())

    def sqlalchemy_url(self, drivername: str = "postgresql+psycopg2") -> str:
        """A SQLAlchemy URL, every part escaped (contains the password). Pools should not
        bake this in; use ``pools.create_engine``, which takes a fresh password per connection.

        ``sqlalchemy.make_url`` reads back exactly these values: user, password and database
        are percent-decoded, the query is ``parse_qsl``-decoded, an IPv6 host is bracketed."""
        _refuse_unrenderable("SQLAlchemy URL", self._text_fields(), "\0")
        # hostaddr rides in the query, which SQLAlchemy's PostgreSQL dialects hand to the
        # driver as a keyword: the URL's host stays the name TLS verifies.
        tls = [*self._hostaddr().items(), *self._tls_params().items()]
        query = "&".join(f"{key}={_url_part(value)}" for key, value in tls)
        return (
            f"{drivername}://{_url_part(self.user)}:{_url_part(self.password.reveal())}"
            f"@{_url_host(self.host)}:{self.port}/{_url_part(self.database)}?{query}"
        )

    def environment(self) -> dict[str, str]:
        """libpq's ``PG*`` variables (contains the password in ``PGPASSWORD``)."""
        _refuse_unrenderable("set of environment variables", self._text_fields(), "\0")
        env = {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGDATABASE": self.database,
            "PGUSER": self.user,
            "PGPASSWORD": self.password.reveal(),
            "PGSSLMODE": self.sslmode,
        }
        if self.sslrootcert is not None:
            env["PGSSLROOTCERT"] = self.sslrootcert
        if self.connect_address is not None:
            env["PGHOSTADDR"] = self.connect_address
        return env

    def pgpass_line(self) -> str:
        """One ``host:port:database:user:password`` line for a libpq passfile. libpq matches
        the line's host against the ``host`` parameter when one is given - the name, even
        with a ``hostaddr`` - and its port against the port connected to. A line break
        (libpq reads the file line by line and strips trailing CR/LF) or a NUL cannot be
        escaped there: such a value is refused, never written."""
        fields = {
            "host": self.host,
            "database": self.database,
            "user": self.user,
            "password": self.password.reveal(),
        }
        _refuse_unrenderable("pgpass line", fields, "\0\n\r")
        matched = (self.host, str(self.port), self.database, self.user)
        return ":".join(
            [*(_pgpass_field(part) for part in matched), _pgpass_password(fields["password"])]
        )

    def as_seed_dict(self) -> dict[str, Any]:
        """The dict the seed blog post's ``generate_redshift_credentials`` returns."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password.reveal(),
            "dbname": self.database,
            "sslmode": self.sslmode,
            "sslrootcert": self.sslrootcert,
            **self._hostaddr(),
        }

    def json(self, indent: int | None = 2) -> str:
        """A JSON object: the seed's dict (password included) with the issue and expiry
        times (ISO 8601, UTC) and the AWS call that issued it."""
        document = {
            **self.as_seed_dict(),
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "next_refresh_at": self.next_refresh_at.isoformat() if self.next_refresh_at else None,
            "operation": self.operation.action,
        }
        return json.dumps(document, indent=indent)
