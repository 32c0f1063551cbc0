"""The issued credential: an immutable value and its renderings for drivers and tools.

The password is a ``Secret``, excluded from equality, so ``repr``, ``str``, ``vars()``,
``dataclasses.asdict()`` and logging of a credential, of an exception holding one, or of a
cache entry never show it, and ``pickle`` refuses it. Renderings that must contain it (driver
keyword arguments, DSN, URL, environment, pgpass) exist because the user asked for exactly
that; they are the only callers of ``reveal()`` here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .secret import REDACTED, Secret
from .targets import Operation


def _libpq_quote(value: str) -> str:
    """Quote a libpq conninfo value: single quotes, backslash-escaped."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _pgpass_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


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

    def __post_init__(self) -> None:
        if isinstance(self.password, str):  # accepted for convenience; kept only as a Secret
            object.__setattr__(self, "password", Secret(self.password))
        for name in ("issued_at", "expires_at", "next_refresh_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"Credential.{name} must be timezone-aware (UTC)")

    def __repr__(self) -> str:
        return (
            f"Credential(host={self.host!r}, port={self.port}, database={self.database!r}, "
            f"user={self.user!r}, password={REDACTED!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, operation={self.operation.action!r}, "
            f"sslmode={self.sslmode!r})"
        )

    __str__ = __repr__

    def with_tls(self, sslmode: str, sslrootcert: str | None) -> Credential:
        return dataclasses.replace(self, sslmode=sslmode, sslrootcert=sslrootcert)

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
        """libpq keywords, as psycopg2.connect() and psycopg.connect() take them."""
        return {
            "host": self.host,
            "port": self.port,
            "dbname": self.database,
            "user": self.user,
            "password": self.password.reveal(),
            **self._tls_params(),
        }

    def psycopg2_kwargs(self) -> dict[str, Any]:
        return self.libpq_params()

    def psycopg_kwargs(self) -> dict[str, Any]:
        return self.libpq_params()

    def redshift_connector_kwargs(self) -> dict[str, Any]:
        """redshift_connector.connect() keywords. It verifies against its own Redshift bundle
        plus the system roots and takes ``verify-ca`` / ``verify-full`` only."""
        return {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "user": self.user,
            "password": self.password.reveal(),
            "ssl": True,
            "sslmode": self.sslmode,
        }

    def dsn(self) -> str:
        """A libpq connection string (contains the password)."""
        params = self.libpq_params()
        return " ".join(f"{key}={_libpq_quote(str(value))}" for key, value in params.items())

    def sqlalchemy_url(self, drivername: str = "postgresql+psycopg2") -> str:
        """A SQLAlchemy URL, every part escaped (contains the password). Pools should not
        bake this in; use ``pools.create_engine``, which takes a fresh password per connection."""
        tls = self._tls_params().items()
        query = "&".join(f"{key}={quote(value, safe='')}" for key, value in tls)
        return (
            f"{drivername}://{quote(self.user, safe='')}:{quote(self.password.reveal(), safe='')}"
            f"@{self.host}:{self.port}/{quote(self.database, safe='')}?{query}"
        )

    def environment(self) -> dict[str, str]:
        """libpq's ``PG*`` variables (contains the password in ``PGPASSWORD``)."""
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
        return env

    def pgpass_line(self) -> str:
        """One ``host:port:database:user:password`` line for a libpq passfile."""
        fields = (self.host, str(self.port), self.database, self.user, self.password.reveal())
        return ":".join(_pgpass_escape(part) for part in fields)

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
        }
