"""The AWS identity that asks for database passwords: a value naming where its credentials
come from (profile, role chain, endpoint), never the credentials themselves.

It is part of every cache key, so building one imports nothing of botocore: a command served
from the shared cache never loads it. ``clients.AwsClients`` turns it into boto3 clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..config import MfaTokenProvider, RetryMode
from ..errors import ConfigurationError

if TYPE_CHECKING:
    import boto3

_ROLE_ARN_PREFIX = "arn:aws"
# Matched through re's cache, compiled on first use: most identities name no endpoint.
_DNS_NAME = r"(?i)^((?!-)[A-Z\d-]{1,63}(?<!-)\.)*((?!-)[A-Z\d-]{1,63}(?<!-))\.?$"


@dataclass(frozen=True)
class RoleToAssume:
    """One hop of a role chain."""

    arn: str
    external_id: str | None = None
    session_name: str | None = None
    mfa_serial: str | None = None

    def __post_init__(self) -> None:
        if not (self.arn.startswith(_ROLE_ARN_PREFIX) and ":role/" in self.arn):
            raise ConfigurationError(
                f"Invalid role ARN {self.arn!r}: expected arn:aws:iam::<account>:role/<name>."
            )

    def assume_role_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"RoleSessionName": self.session_name or "redshift-ephemeral"}
        if self.external_id is not None:
            args["ExternalId"] = self.external_id
        if self.mfa_serial is not None:
            args["SerialNumber"] = self.mfa_serial
        return args


def validate_endpoint_url(url: str) -> str:
    """An AWS endpoint URL: http or https, a host name or IP address, an optional port.
    Checked with the standard library when the identity is built; botocore checks it again
    (``clients.AwsClients``) before any client is made."""
    parts = urlsplit(url) if url.isprintable() and " " not in url else None
    try:
        port_ok = parts is not None and (parts.port is None or parts.port > 0)
        host = parts.hostname if parts is not None else None
    except ValueError:  # a port that is no number or out of range, a broken IPv6 literal
        port_ok, host = False, None
    if not (
        parts is not None
        and port_ok
        and parts.scheme in ("http", "https")
        and host
        and (re.match(_DNS_NAME, host) or _is_ip_address(host))
    ):
        raise ConfigurationError(
            f"Invalid endpoint URL {url!r}: expected http(s)://host[:port], such as "
            "https://redshift.us-east-1.amazonaws.com or the local stack's URL."
        )
    return url


def _is_ip_address(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class AwsIdentity:
    """How to obtain AWS credentials. Holds no secret: only where to find them.

    The identity is its own key (for issuers and cached credentials): every field takes part
    in equality and hash, a caller's session and MFA callable by object identity, so two
    identities that could obtain different credentials never share them."""

    profile: str | None = None
    region: str | None = None
    roles: tuple[RoleToAssume, ...] = ()
    endpoint_url: str | None = None
    retry_mode: RetryMode = "standard"
    max_attempts: int = 5
    session: boto3.Session | None = None
    mfa_token_provider: MfaTokenProvider | None = None
    # botocore's on-disk STS cache, as the AWS CLI uses, so MFA is asked once per session.
    sts_cache_dir: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.roles, tuple):
            object.__setattr__(self, "roles", tuple(self.roles))
        if self.retry_mode not in ("standard", "adaptive"):
            raise ConfigurationError(
                f"Invalid retry mode {self.retry_mode!r}: use 'standard' or 'adaptive'."
            )
        if self.endpoint_url is not None:
            validate_endpoint_url(self.endpoint_url)
