"""What to reach and as whom: the target (cluster, workgroup, host), the credential request,
AWS's naming rules, and standard Redshift hostname parsing. Pure: no I/O, no boto3.

Every rule here is checked when the value is built, so an invalid request never reaches AWS.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from enum import Enum

from .errors import ConfigurationError

MIN_DURATION_SECONDS = 900
MAX_DURATION_SECONDS = 3600
DEFAULT_DURATION_SECONDS = 900
DEFAULT_PORT = 5439

# Redshift's reserved words (docs: "Reserved words"); database, user and group names may not be one.
RESERVED_WORDS = frozenset(
    """
    AES128 AES256 ALL ALLOWOVERWRITE ANALYSE ANALYZE AND ANY ARRAY AS ASC AUTHORIZATION AZ64
    BACKUP BETWEEN BINARY BLANKSASNULL BOTH BYTEDICT BZIP2 CASE CAST CHECK COLLATE COLUMN
    CONSTRAINT CREATE CREDENTIALS CROSS CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER
    CURRENT_USER_ID DEFAULT DEFERRABLE DEFLATE DEFRAG DELTA DELTA32K DESC DISABLE DISTINCT DO
    ELSE EMPTYASNULL ENABLE ENCODE ENCRYPT ENCRYPTION END EXCEPT EXPLICIT FALSE FOR FOREIGN
    FREEZE FROM FULL GLOBALDICT256 GLOBALDICT64K GRANT GROUP GZIP HAVING IDENTITY IGNORE ILIKE
    IN INITIALLY INNER INTERSECT INTERVAL INTO IS ISNULL JOIN LANGUAGE LEADING LEFT LIKE LIMIT
    LOCALTIME LOCALTIMESTAMP LUN LUNS LZO LZOP MINUS MOSTLY16 MOSTLY32 MOSTLY8 NATURAL NEW NOT
    NOTNULL NULL NULLS OFF OFFLINE OFFSET OID OLD ON ONLY OPEN OR ORDER OUTER OVERLAPS PARALLEL
    PARTITION PERCENT PERMISSIONS PIVOT PLACING PRIMARY RAW READRATIO RECOVER REFERENCES
    REJECTLOG RESORT RESPECT RESTORE RIGHT SELECT SESSION_USER SIMILAR SNAPSHOT SOME SYSDATE
    SYSTEM TABLE TAG TDES TEXT255 TEXT32K THEN TIMESTAMP TO TOP TRAILING TRUE TRUNCATECOLUMNS
    UNION UNIQUE UNNEST UNPIVOT USER USING VERBOSE WALLET WHEN WHERE WITH WITHOUT
    """.split()
)

# Patterns as text, matched through ``re``'s own cache: compiled on first use, not at import
# (a command served from the shared store validates a few names and parses no hostname).
_CLUSTER_ID = r"[a-z](?:[a-z0-9]|-(?!-))*"
_WORKGROUP = r"[a-z0-9-]+"
_DB_OBJECT = r"[A-Za-z][A-Za-z0-9_+.@-]*"
_GROUP = r"[a-z][a-z0-9_+.@-]*"
_CUSTOM_DOMAIN = r"(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])"
_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
MAX_HOSTNAME_LENGTH = 253
_REGION = r"[a-z]{2}(-[a-z]+)+-\d+"
_PROVISIONED_HOST = (
    r"(?P<cluster>[a-z][a-z0-9-]*)\.(?P<unique>[a-z0-9]+)\.(?P<region>[a-z0-9-]+)"
    r"\.redshift\.amazonaws\.com(\.cn)?\.?"
)
_SERVERLESS_HOST = (
    r"(?P<workgroup>[a-z0-9-]+)\.(?P<account>\d{12})\.(?P<region>[a-z0-9-]+)"
    r"\.redshift-serverless\.amazonaws\.com(\.cn)?\.?"
)
# A Redshift-managed VPC endpoint's address has the cluster's or workgroup's domain, but its
# first label is "<endpoint name>-endpoint-<id>": not a cluster identifier or workgroup name.
_MANAGED_ENDPOINT_LABEL = r".+-endpoint-[a-z0-9]+"
_ENDPOINT_NAME = r"[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*"


def validate_cluster_identifier(value: str) -> str:
    """AWS: 1-63 characters; lowercase letters, digits or hyphens; starts with a letter;
    no trailing hyphen and no two consecutive hyphens."""
    rule = (
        "a cluster identifier has 1-63 lowercase letters, digits or hyphens, starts with a "
        "letter, and has no two consecutive hyphens and no trailing hyphen"
    )
    if not (1 <= len(value) <= 63 and re.fullmatch(_CLUSTER_ID, value) and not value.endswith("-")):
        raise ConfigurationError(f"Invalid cluster identifier {value!r}: {rule}.")
    return value


def validate_workgroup_name(value: str) -> str:
    """AWS: 3-64 characters matching ^[a-z0-9-]+$."""
    if not (3 <= len(value) <= 64 and re.fullmatch(_WORKGROUP, value)):
        raise ConfigurationError(
            f"Invalid workgroup name {value!r}: a workgroup name has 3-64 lowercase letters, "
            "digits or hyphens."
        )
    return value


def _validate_db_object(value: str, what: str, pattern: str, letters: str) -> str:
    if not 1 <= len(value) <= 64:
        raise ConfigurationError(f"Invalid {what} {value!r}: it must be 1-64 characters long.")
    if ":" in value or "/" in value:
        raise ConfigurationError(f"Invalid {what} {value!r}: it must not contain ':' or '/'.")
    if not re.fullmatch(pattern, value):
        raise ConfigurationError(
            f"Invalid {what} {value!r}: it must start with a letter and contain only {letters}, "
            "digits, '_', '+', '.', '@' or '-'."
        )
    if value.upper() in RESERVED_WORDS:
        raise ConfigurationError(
            f"Invalid {what} {value!r}: it is a Redshift reserved word; choose another name."
        )
    return value


def validate_db_user(value: str) -> str:
    """AWS GetClusterCredentials DbUser rules; PUBLIC is not a user."""
    if value.upper() == "PUBLIC":
        raise ConfigurationError("Invalid database user 'PUBLIC': PUBLIC is a group, not a user.")
    return _validate_db_object(value, "database user", _DB_OBJECT, "letters")


def validate_db_name(value: str) -> str:
    return _validate_db_object(value, "database name", _DB_OBJECT, "letters")


def validate_db_group(value: str) -> str:
    """DbGroups: like a user name, but lowercase only."""
    return _validate_db_object(value, "database group", _GROUP, "lowercase letters")


def validate_custom_domain(value: str) -> str:
    if not (1 <= len(value) <= 253 and re.fullmatch(_CUSTOM_DOMAIN, value)):
        raise ConfigurationError(
            f"Invalid custom domain name {value!r}: expected a DNS name such as "
            "'redshift.example.com'."
        )
    return value


def validate_host(value: str) -> str:
    """A host to send a password to: a DNS name (RFC 1123 labels, at most 253 characters) or
    an IP literal, returned in the form the renderings expect (an IPv6 address without
    brackets). Anything else is refused, because libpq would read it differently: a leading
    ``/`` or ``@`` is a Unix socket, where libpq sends the password without TLS; a comma lists
    several hosts; a newline or ``:`` would change a pgpass line or a URL."""
    if value.startswith(("/", "@")):
        raise ConfigurationError(
            f"Invalid host {value!r}: it is a Unix-socket path, where libpq sends the password "
            "without TLS, and Redshift listens on TCP only. Give the endpoint's DNS name or IP "
            "address."
        )
    address = _ip_literal(value)
    if address is not None:
        return address
    name = value[:-1] if value.endswith(".") else value  # a fully qualified trailing dot
    labels = name.split(".")
    if not (
        0 < len(name) <= MAX_HOSTNAME_LENGTH
        and all(re.fullmatch(_DNS_LABEL, label) for label in labels)
        # An all-numeric last label is not a name (RFC 3696 §2): "10.1" would be read by the
        # resolver as the address 10.0.0.1.
        and not labels[-1].isdigit()
    ):
        raise ConfigurationError(
            f"Invalid host {value!r}: give a DNS name (letters, digits and hyphens in "
            "dot-separated labels, at most 253 characters) or an IP address."
        )
    return value


def _ip_literal(value: str) -> str | None:
    """``value`` as a canonical IPv4/IPv6 literal (brackets dropped); None if it is none.
    Scoped IPv6 addresses (``fe80::1%eth0``) are refused: link-local is never Redshift."""
    text = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        raise ConfigurationError(
            f"Invalid host {value!r}: an IPv6 zone id (%...) names a link-local interface; "
            "give the endpoint's DNS name or a routable address."
        )
    return str(address)


@dataclass(frozen=True)
class ConnectAddress:
    """Where to open the TCP connection when it is not where the host name points: libpq's
    ``hostaddr`` (and the port, when given), for an SSH tunnel's local end, an NLB's or a VPC
    endpoint's IP address. TLS is still verified against the host name."""

    address: str  # a canonical IP literal, IPv6 without brackets
    port: int | None = None

    def __str__(self) -> str:
        shown = f"[{self.address}]" if ":" in self.address else self.address
        return shown if self.port is None else f"{shown}:{self.port}"


def parse_connect_address(value: str) -> ConnectAddress:
    """``ADDRESS[:PORT]``: an IPv4 address (``10.0.1.5``, ``127.0.0.1:15439``) or an IPv6
    address, bare (``fd00::5``) or in brackets, which it needs to take a port
    (``[::1]:15439``). Not a name: libpq's ``hostaddr`` takes numbers only, and a name here
    would be resolved where no certificate vouches for the answer."""
    rule = (
        "give an IP address, optionally with a port: 127.0.0.1:15439, 10.0.1.5, "
        "[::1]:15439 or fd00::5 (libpq's hostaddr takes no names: resolve one first)"
    )
    address_text, port_text = value, None
    if value.startswith("["):
        close = value.find("]")
        rest = value[close + 1 :] if close > 0 else "?"
        if rest and not rest.startswith(":"):
            raise ConfigurationError(f"Invalid connect address {value!r}: {rule}.")
        address_text, port_text = value[1:close], (rest[1:] if rest else None)
    elif value.count(":") == 1:
        address_text, port_text = value.split(":")
    try:
        address = ipaddress.ip_address(address_text)
    except ValueError:
        raise ConfigurationError(f"Invalid connect address {value!r}: {rule}.") from None
    if value.startswith("[") and not isinstance(address, ipaddress.IPv6Address):
        raise ConfigurationError(f"Invalid connect address {value!r}: {rule}.")
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        raise ConfigurationError(
            f"Invalid connect address {value!r}: an IPv6 zone id (%...) names a link-local "
            "interface; give a routable address."
        )
    port = None
    if port_text is not None:
        if not (port_text.isascii() and port_text.isdigit()):
            raise ConfigurationError(f"Invalid connect address {value!r}: {rule}.")
        port = validate_port(int(port_text))
    return ConnectAddress(str(address), port)


def validate_connect_address(value: str) -> str:
    parse_connect_address(value)
    return value


def validate_endpoint_name(value: str) -> str:
    """AWS (CreateEndpointAccess): 1-30 letters, digits and hyphens; starts with a letter; no
    two consecutive hyphens and no trailing hyphen."""
    if not (1 <= len(value) <= 30 and re.fullmatch(_ENDPOINT_NAME, value)):
        raise ConfigurationError(
            f"Invalid endpoint name {value!r}: a Redshift-managed VPC endpoint's name has 1-30 "
            "letters, digits or hyphens, starts with a letter, and has no two consecutive "
            "hyphens and no trailing hyphen."
        )
    return value


def validate_region(value: str) -> str:
    if not re.fullmatch(_REGION, value):
        raise ConfigurationError(
            f"Invalid AWS region {value!r}: expected a region code such as 'us-east-1'."
        )
    return value


def validate_duration(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"Invalid duration {value!r}: give whole seconds.")
    if not MIN_DURATION_SECONDS <= value <= MAX_DURATION_SECONDS:
        raise ConfigurationError(
            f"Invalid duration {value} s: AWS issues database passwords for "
            f"{MIN_DURATION_SECONDS}-{MAX_DURATION_SECONDS} seconds."
        )
    return value


def validate_port(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigurationError(f"Invalid port {value!r}: a TCP port is 1-65535.")
    return value


DATA_API_DEFAULT_DATABASE = "dev"
"""Redshift's default database: the Data API needs one, and uses it when none is named."""


class Deployment(Enum):
    PROVISIONED = "provisioned"
    SERVERLESS = "serverless"


class Operation(Enum):
    """The AWS call that issues the password (docs/design.md, "Where passwords come from")."""

    GET_CLUSTER_CREDENTIALS = "redshift:GetClusterCredentials"
    GET_CLUSTER_CREDENTIALS_WITH_IAM = "redshift:GetClusterCredentialsWithIAM"
    SERVERLESS_GET_CREDENTIALS = "redshift-serverless:GetCredentials"

    @property
    def action(self) -> str:
        """The IAM action name, e.g. ``redshift:GetClusterCredentials``."""
        return self.value


@dataclass(frozen=True)
class Endpoint:
    """Where a target answers, and its default database (DescribeClusters / GetWorkgroup)."""

    host: str
    port: int
    default_database: str


@dataclass(frozen=True)
class ParsedHostname:
    deployment: Deployment
    name: str
    region: str
    account: str | None = None


def parse_redshift_hostname(host: str) -> ParsedHostname | None:
    """Recognise ``<cluster>.<id>.<region>.redshift.amazonaws.com`` and
    ``<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com``; None otherwise.

    Only a name that can be nothing else is taken apart: a first label that breaks AWS's rules
    for a cluster identifier or workgroup name, a region that is not a region code, a
    Redshift-managed VPC endpoint (``<name>-endpoint-<id>.…``: its first label names the
    endpoint, not the cluster), an interface endpoint (``vpce-….vpce.amazonaws.com``) or any
    other domain give None, so they are never mistaken for a cluster id."""
    host = host.lower()
    if match := re.fullmatch(_PROVISIONED_HOST, host):
        deployment, name, account = Deployment.PROVISIONED, match["cluster"], None
    elif match := re.fullmatch(_SERVERLESS_HOST, host):
        deployment, name, account = Deployment.SERVERLESS, match["workgroup"], match["account"]
    else:
        return None
    if re.fullmatch(_MANAGED_ENDPOINT_LABEL, name) or not re.fullmatch(_REGION, match["region"]):
        return None
    try:
        if deployment is Deployment.SERVERLESS:
            validate_workgroup_name(name)
        else:
            validate_cluster_identifier(name)
    except ConfigurationError:
        return None
    return ParsedHostname(deployment, name, match["region"], account)


@dataclass(frozen=True)
class Target:
    """Where the database is: a provisioned cluster or a serverless workgroup, named by its
    identifier or its custom domain. It is reached at the endpoint AWS reports for it
    (DescribeClusters / GetWorkgroup), or for its Redshift-managed VPC endpoint
    ``endpoint_name`` (DescribeEndpointAccess / GetEndpointAccess), or at an explicit host and
    port (a name on the server's certificate), which skips discovery. ``connect_address``
    opens the TCP connection elsewhere (an SSH tunnel's local end, an NLB's or endpoint's IP
    address) while TLS is still verified against that host name."""

    deployment: Deployment
    name: str | None = None
    custom_domain: str | None = None
    host: str | None = None
    port: int | None = None
    region: str | None = None
    endpoint_name: str | None = None
    connect_address: ConnectAddress | None = None

    def __post_init__(self) -> None:
        kind = "workgroup" if self.deployment is Deployment.SERVERLESS else "cluster"
        if self.name is None and self.custom_domain is None:
            raise ConfigurationError(f"No {kind} given: name the {kind} or its custom domain name.")
        if self.name is not None and self.custom_domain is not None:
            raise ConfigurationError(
                f"Both a {kind} name and a custom domain name were given: AWS takes one or "
                "the other; keep one."
            )
        if self.name is not None:
            if self.deployment is Deployment.SERVERLESS:
                validate_workgroup_name(self.name)
            else:
                validate_cluster_identifier(self.name)
        if self.custom_domain is not None:
            validate_custom_domain(self.custom_domain)
        if self.host is not None:
            object.__setattr__(self, "host", validate_host(self.host))
        if self.port is not None:
            validate_port(self.port)
            if self.host is None and self.custom_domain is None:
                raise ConfigurationError(
                    "A port was given without a host: give --host too, or neither to use the "
                    "endpoint AWS reports (a tunnel's port goes in --connect-address "
                    "ADDRESS:PORT)."
                )
        if self.region is not None:
            validate_region(self.region)
        self._check_route()

    def _check_route(self) -> None:
        """The endpoint name and connect address, and how they combine with a host."""
        if self.endpoint_name is not None:
            validate_endpoint_name(self.endpoint_name)
            if self.host is not None or self.custom_domain is not None:
                raise ConfigurationError(
                    "Both an endpoint name and a host or custom domain were given: the "
                    "endpoint name asks AWS where the endpoint is, a host or custom domain says "
                    "it. Keep one (a tunnel's address goes in --connect-address)."
                )
        if self.connect_address is not None and not isinstance(
            self.connect_address, ConnectAddress
        ):
            raise ConfigurationError(
                "connect_address must be parsed with parse_connect_address(), or given as "
                "text to Target.from_options()."
            )

    @classmethod
    def cluster(
        cls,
        identifier: str,
        *,
        region: str | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> Target:
        return cls(Deployment.PROVISIONED, name=identifier, region=region, host=host, port=port)

    @classmethod
    def workgroup(
        cls,
        name: str,
        *,
        region: str | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> Target:
        return cls(Deployment.SERVERLESS, name=name, region=region, host=host, port=port)

    @classmethod
    def from_options(
        cls,
        *,
        cluster_id: str | None = None,
        workgroup: str | None = None,
        custom_domain: str | None = None,
        serverless: bool = False,
        host: str | None = None,
        port: int | None = None,
        region: str | None = None,
        endpoint_name: str | None = None,
        connect_address: str | None = None,
    ) -> Target:
        """Build a target from loose options, as the CLI and config file give them.

        A standard Redshift hostname given as ``host`` supplies the cluster or workgroup and
        the region when they are not given (``parse_redshift_hostname``: never from a VPC
        endpoint's, an NLB's or any other name)."""
        if cluster_id is not None and workgroup is not None:
            raise ConfigurationError(
                "Both a cluster id and a workgroup were given: a target is either a provisioned "
                "cluster or a serverless workgroup; keep one."
            )
        deployment = (
            Deployment.SERVERLESS if workgroup is not None or serverless else Deployment.PROVISIONED
        )
        name = workgroup if workgroup is not None else cluster_id
        if host is not None and (parsed := parse_redshift_hostname(host)) is not None:
            if name is None and custom_domain is None:
                deployment, name = parsed.deployment, parsed.name
            elif name is not None and (
                (parsed.deployment, parsed.name) != (deployment, name)
                or (region is not None and region != parsed.region)
            ):
                # The password is issued for the named target: it must not go to the
                # endpoint of another one (which has a genuine Amazon certificate too).
                raise ConfigurationError(
                    f"The host {host!r} is the endpoint of {parsed.deployment.value} "
                    f"{parsed.name!r} in {parsed.region}, but the target is "
                    f"{deployment.value} {name!r}"
                    + (f" in {region}" if region else "")
                    + ": its password would go to another cluster. Name the same target in "
                    "both, or give only one of them."
                )
            region = region or parsed.region
        if name is None and custom_domain is None:
            if host is not None:
                raise ConfigurationError(
                    f"The host {host!r} does not name a cluster or workgroup (only "
                    "<cluster>.<id>.<region>.redshift.amazonaws.com and "
                    "<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com do; a "
                    "VPC endpoint's, an NLB's or a tunnel's name does not): give --cluster-id "
                    "or --workgroup (or --custom-domain) too."
                )
            raise ConfigurationError(
                "No target given: name a cluster (--cluster-id), a workgroup (--workgroup), a "
                "custom domain (--custom-domain), or a standard Redshift --host."
            )
        return cls(
            deployment,
            name=name,
            custom_domain=custom_domain,
            host=host,
            port=port,
            region=region,
            endpoint_name=endpoint_name,
            connect_address=(
                parse_connect_address(connect_address) if connect_address is not None else None
            ),
        )

    @property
    def label(self) -> str:
        """Human name for messages: ``cluster 'demo-cluster'``."""
        kind = "workgroup" if self.deployment is Deployment.SERVERLESS else "cluster"
        if self.name is not None:
            return f"{kind} {self.name!r}"
        return f"{kind} with custom domain {self.custom_domain!r}"


@dataclass(frozen=True)
class CredentialRequest:
    """Everything that decides which password AWS issues. Hashable and free of secrets, so it
    is (with the AWS identity) the cache key."""

    target: Target
    db_user: str | None = None
    db_name: str | None = None
    db_groups: tuple[str, ...] = field(default=())
    auto_create: bool = False
    duration_seconds: int = DEFAULT_DURATION_SECONDS

    def __post_init__(self) -> None:
        if not isinstance(self.db_groups, tuple):
            object.__setattr__(self, "db_groups", tuple(self.db_groups))
        validate_duration(self.duration_seconds)
        if self.db_user is not None:
            validate_db_user(self.db_user)
        if self.db_name is not None:
            validate_db_name(self.db_name)
        for group in self.db_groups:
            validate_db_group(group)
        operation = self.operation
        if operation is Operation.GET_CLUSTER_CREDENTIALS:
            return
        call = operation.action
        if self.target.deployment is Deployment.SERVERLESS and self.db_user is not None:
            raise ConfigurationError(
                f"A database user was given for a serverless workgroup, but {call} takes none: "
                "the login user is your IAM identity. Drop the database user."
            )
        if self.db_groups:
            raise ConfigurationError(
                f"Database groups were given, but {call} takes none (only "
                "redshift:GetClusterCredentials with a database user does). Drop the groups or "
                "give a database user."
            )
        if self.auto_create:
            raise ConfigurationError(
                f"Auto-create was asked for, but {call} takes no such parameter (only "
                "redshift:GetClusterCredentials with a database user does). Drop it or give a "
                "database user."
            )

    @property
    def operation(self) -> Operation:
        """A database user → GetClusterCredentials; none → WithIAM, or serverless GetCredentials."""
        if self.target.deployment is Deployment.SERVERLESS:
            return Operation.SERVERLESS_GET_CREDENTIALS
        if self.db_user is not None:
            return Operation.GET_CLUSTER_CREDENTIALS
        return Operation.GET_CLUSTER_CREDENTIALS_WITH_IAM
