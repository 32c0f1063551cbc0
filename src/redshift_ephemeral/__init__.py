"""redshift-ephemeral: Amazon Redshift with short-lived database passwords over verified TLS.

The public surface; everything else is an implementation detail. Names are imported on first
use, so ``import redshift_ephemeral`` (and the command line's ``--help``) stays light until
AWS or a driver is really needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "AwsIdentity": "aws.identity",
    "RoleToAssume": "aws.identity",
    "CredentialCache": "cache",
    "CredentialStore": "cache",
    "RefreshPolicy": "cache",
    "OPTIONS": "config",
    "Option": "config",
    "OptionKind": "config",
    "SeedOptions": "config",
    "SourceOptions": "config",
    "configured_targets": "config",
    "Credential": "credentials",
    "DRIVERS": "db.drivers",
    "Driver": "db.drivers",
    "connect": "db.connections",
    "connect_async": "db.connections",
    "default_driver": "db.drivers",
    "is_login_refused": "db.connections",
    "check_command_line": "db.options",
    "RefreshingPassfile": "db.passfile",
    "async_connection_pool": "db.pools",
    "connection_pool": "db.pools",
    "create_engine": "db.pools",
    "QueryResult": "db.query",
    "run_query": "db.query",
    "connect_to_redshift": "db.quickstart",
    "generate_redshift_credentials": "db.quickstart",
    "FileStore": "file_store",
    "CheckResult": "doctor",
    "run_checks": "doctor",
    "AccessDeniedError": "errors",
    "AwsError": "errors",
    "AwsIdentityError": "errors",
    "ConfigurationError": "errors",
    "DatabaseConnectionError": "errors",
    "QueryError": "errors",
    "RedshiftEphemeralError": "errors",
    "TargetNotFoundError": "errors",
    "ThrottledError": "errors",
    "CredentialSource": "source",
    "IamPolicy": "source",
    "CredentialRequest": "targets",
    "Deployment": "targets",
    "Operation": "targets",
    "Target": "targets",
    "parse_redshift_hostname": "targets",
    "TlsSettings": "tls",
    "amazon_trust_bundle": "tls",
}

__all__ = [
    "DRIVERS",
    "OPTIONS",
    "AccessDeniedError",
    "AwsError",
    "AwsIdentity",
    "AwsIdentityError",
    "CheckResult",
    "ConfigurationError",
    "Credential",
    "CredentialCache",
    "CredentialRequest",
    "CredentialSource",
    "CredentialStore",
    "DatabaseConnectionError",
    "Deployment",
    "Driver",
    "FileStore",
    "IamPolicy",
    "Operation",
    "Option",
    "OptionKind",
    "QueryError",
    "QueryResult",
    "RedshiftEphemeralError",
    "RefreshPolicy",
    "RefreshingPassfile",
    "RoleToAssume",
    "SeedOptions",
    "SourceOptions",
    "Target",
    "TargetNotFoundError",
    "ThrottledError",
    "TlsSettings",
    "amazon_trust_bundle",
    "async_connection_pool",
    "check_command_line",
    "configured_targets",
    "connect",
    "connect_async",
    "connect_to_redshift",
    "connection_pool",
    "create_engine",
    "default_driver",
    "generate_redshift_credentials",
    "is_login_refused",
    "parse_redshift_hostname",
    "run_checks",
    "run_query",
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
    from .cache import CredentialCache, CredentialStore, RefreshPolicy
    from .config import OPTIONS, Option, OptionKind, SeedOptions, SourceOptions, configured_targets
    from .credentials import Credential
    from .db.connections import connect, connect_async, is_login_refused
    from .db.drivers import DRIVERS, Driver, default_driver
    from .db.options import check_command_line
    from .db.passfile import RefreshingPassfile
    from .db.pools import async_connection_pool, connection_pool, create_engine
    from .db.query import QueryResult, run_query
    from .db.quickstart import connect_to_redshift, generate_redshift_credentials
    from .doctor import CheckResult, run_checks
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
    from .file_store import FileStore
    from .source import CredentialSource, IamPolicy
    from .targets import CredentialRequest, Deployment, Operation, Target, parse_redshift_hostname
    from .tls import TlsSettings, amazon_trust_bundle
