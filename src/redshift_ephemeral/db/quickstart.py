"""The seed blog post's two functions, done right (docs/design.md, "The seed's API").

``generate_redshift_credentials`` returns the seed's dict, but from the real AWS call
(``redshift:GetClusterCredentials``), with the login user AWS returns (``IAM:<user>``), the
endpoint and database from DescribeClusters, and ``verify-full`` TLS against a real trust
bundle. ``connect_to_redshift`` opens a psycopg2 connection from that dict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Unpack

from .._extras import optional
from ..source import CredentialSource
from ..targets import DEFAULT_DURATION_SECONDS

if TYPE_CHECKING:
    import psycopg2.extensions

    from ..config import SeedOptions


def generate_redshift_credentials(
    database_user: str,
    cluster_identifier: str,
    duration_seconds: int = DEFAULT_DURATION_SECONDS,
    **options: Unpack[SeedOptions],
) -> dict[str, Any]:
    """Short-lived credentials for ``database_user`` on ``cluster_identifier``.

    ``options`` are those of ``CredentialSource.from_options`` (``region``, ``profile``,
    ``database``, ``db_groups``, ``auto_create``, ``role_arn``, ``sslrootcert`` …).
    Returns ``host``, ``port``, ``user``, ``password``, ``dbname``, ``sslmode``, ``sslrootcert``
    (and ``hostaddr`` with a ``connect_address``).
    """
    source = CredentialSource.from_options(
        db_user=database_user,
        cluster_id=cluster_identifier,
        duration_seconds=duration_seconds,
        **options,
    )
    return source.get().as_seed_dict()


def connect_to_redshift(credentials: dict[str, Any]) -> psycopg2.extensions.connection:
    """A psycopg2 connection from ``generate_redshift_credentials``'s dict."""
    with optional("psycopg2"):
        import psycopg2

    keywords = {
        name: credentials[name]
        for name in ("host", "port", "dbname", "user", "password", "sslmode", "sslrootcert")
    }
    if credentials.get("hostaddr"):  # a connect address: TCP goes there, TLS checks "host"
        keywords["hostaddr"] = credentials["hostaddr"]
    connection: psycopg2.extensions.connection = psycopg2.connect(**keywords)
    return connection
