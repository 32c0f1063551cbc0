"""redshift-ephemeral: Amazon Redshift with short-lived database passwords over verified TLS.

The public surface; everything else is an implementation detail.
"""

from .cache import CredentialCache, RefreshPolicy
from .credentials import Credential
from .errors import (
    AccessDeniedError,
    AwsError,
    AwsIdentityError,
    ConfigurationError,
    DatabaseConnectionError,
    RedshiftEphemeralError,
    TargetNotFoundError,
    ThrottledError,
)
from .identity import AwsIdentity, RoleToAssume
from .quickstart import connect_to_redshift, generate_redshift_credentials
from .source import CredentialSource
from .targets import CredentialRequest, Deployment, Operation, Target, parse_redshift_hostname
from .tls import TlsSettings, amazon_trust_bundle

__version__ = "0.1.0"

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
    "RedshiftEphemeralError",
    "RefreshPolicy",
    "RoleToAssume",
    "Target",
    "TargetNotFoundError",
    "ThrottledError",
    "TlsSettings",
    "amazon_trust_bundle",
    "connect_to_redshift",
    "generate_redshift_credentials",
    "parse_redshift_hostname",
]
