"""redshift-ephemeral: Amazon Redshift with short-lived database passwords over verified TLS.

The public surface; everything else is an implementation detail. Names are imported on first
use, so ``import redshift_ephemeral`` (and the command line's ``--help``) stays light until
AWS or a driver is really needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "CredentialCache": "cache",
    "RefreshPolicy": "cache",
    "connect": "db.connections",
    "connect_async": "db.connections",
    "Credential": "credentials",
    "AccessDeniedError": "errors",
    "AwsError": "errors",
    "AwsIdentityError": "errors",
    "ConfigurationError": "errors",
    "DatabaseConnectionError": "errors",
    "QueryError": "errors",
    "RedshiftEphemeralError": "errors",
    "TargetNotFoundError": "errors",
    "ThrottledError": "errors",
    "AwsIdentity": "aws.identity",
    "RoleToAssume": "aws.identity",
    "RefreshingPassfile": "db.passfile",
    "async_connection_pool": "db.pools",
    "connection_pool": "db.pools",
    "create_engine": "db.pools",
    "connect_to_redshift": "db.quickstart",
    "generate_redshift_credentials": "db.quickstart",
    "CredentialSource": "source",
    "CredentialRequest": "targets",
    "Deployment": "targets",
    "Operation": "targets",
    "Target": "targets",
    "parse_redshift_hostname": "targets",
    "TlsSettings": "tls",
    "amazon_trust_bundle": "tls",
}

__all__ = [
    "AccessDeniedError",
    "AwsError",
    "AwsIdentity",
    "AwsIdentityError",
    "ConfigurationError",
    "Credential",
    "CredentialCache",
    "CredentialRequest",
    "CredentialSource",
    "DatabaseConnectionError",
    "Deployment",
    "Operation",
    "QueryError",
    "RedshiftEphemeralError",
    "RefreshPolicy",
    "RefreshingPassfile",
    "RoleToAssume",
    "Target",
    "TargetNotFoundError",
    "ThrottledError",
    "TlsSettings",
    "amazon_trust_bundle",
    "async_connection_pool",
    "connect",
    "connect_async",
    "connect_to_redshift",
    "connection_pool",
    "create_engine",
    "generate_redshift_credentials",
    "parse_redshift_hostname",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # one place: pyproject.toml, read from the installed metadata
        from importlib.metadata import version

        return version("redshift-ephemeral")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'redshift_ephemeral' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    __version__: str

    from .aws.identity import AwsIdentity, RoleToAssume
    from .cache import CredentialCache, RefreshPolicy
    from .credentials import Credential
    from .db.connections import connect, connect_async
    from .db.passfile import RefreshingPassfile
    from .db.pools import async_connection_pool, connection_pool, create_engine
    from .db.quickstart import connect_to_redshift, generate_redshift_credentials
    from .errors import (
        AccessDeniedError,
        AwsError,
        AwsIdentityError,
        ConfigurationError,
        DatabaseConnectionError,
        QueryError,
        RedshiftEphemeralError,
        TargetNotFoundError,
        ThrottledError,
    )
    from .source import CredentialSource
    from .targets import CredentialRequest, Deployment, Operation, Target, parse_redshift_hostname
    from .tls import TlsSettings, amazon_trust_bundle
