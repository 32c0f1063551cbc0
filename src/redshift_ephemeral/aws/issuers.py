"""The three AWS calls that issue database passwords, and endpoint discovery.

The only module that calls AWS APIs. One ``AwsIssuer`` per AWS identity; it reuses that
identity's clients and caches each target's endpoint for the life of the process.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from ..credentials import Credential
from ..errors import AwsError, ConfigurationError
from ..secret import Secret
from ..targets import (
    DEFAULT_PORT,
    CredentialRequest,
    Deployment,
    Endpoint,
    Operation,
    Target,
    validate_host,
    validate_port,
)
from .clients import AwsClients
from .errors import aws_error_from
from .identity import AwsIdentity
from .policy import DEFAULT_DATABASE, credential_resources, discovery_action, uses_discovery
from .redaction import install as install_log_redaction

logger = logging.getLogger(__name__)
install_log_redaction()

# Beyond this difference between our clock and AWS's Date header, the local clock is
# considered wrong and the credential's lifetime is measured on AWS's clock instead.
CLOCK_SKEW_TOLERANCE_SECONDS = 5.0


@dataclass(frozen=True)
class CallerIdentity:
    """sts:GetCallerIdentity's answer."""

    arn: str
    account: str
    user_id: str  # a role session's is "<role id>:<session name>"


@dataclass(frozen=True)
class PolicyInputs:
    request: CredentialRequest  # with the database filled in when it could be found
    region: str | None
    account: str | None


def _server_time(response: dict[str, Any]) -> datetime | None:
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if not date:
        return None
    try:
        return parsedate_to_datetime(date).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _issue_time(requested_at: datetime, response: dict[str, Any]) -> datetime:
    """When the password was issued, on the same clock as AWS's ``Expiration``: our own clock
    if it agrees with AWS's, else AWS's (so a skewed local clock cannot shorten or stretch the
    lifetime)."""
    server_time = _server_time(response)
    if server_time is not None:
        skew = abs((server_time - requested_at).total_seconds())
        if skew > CLOCK_SKEW_TOLERANCE_SECONDS:
            logger.warning(
                "local clock differs from AWS's by %.0f s; measuring credential lifetime on "
                "AWS's clock",
                skew,
            )
            # The Date header is whole seconds, rounded down: count from the end of that
            # second, so the lifetime is never overestimated.
            return server_time + timedelta(seconds=1)
    return requested_at


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _checked_endpoint(target: Target, host: object, port: object, database: object) -> Endpoint:
    """The endpoint AWS reported, held to the rules an explicit host must meet: a password is
    never sent to a Unix socket or a name that a DSN, URL or pgpass line would misread."""
    try:
        if not isinstance(host, str) or not isinstance(port, int):
            raise ConfigurationError(f"{host!r}:{port!r} is not a host name and a port")
        return Endpoint(validate_host(host), validate_port(port), str(database))
    except ConfigurationError as error:
        raise AwsError(
            f"AWS reported an endpoint for the {target.label} that cannot be used safely "
            f"({error}). Give --host and --port explicitly."
        ) from None


class AwsIssuer:
    """Issues credentials for requests, as one AWS identity."""

    def __init__(
        self, clients: AwsClients, *, wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ):
        self._clients = clients
        self._wall_clock = wall_clock
        self._endpoints: dict[tuple[Target, str | None], Endpoint] = {}
        self._endpoints_lock = threading.Lock()
        self._account: str | None = None

    @property
    def clients(self) -> AwsClients:
        return self._clients

    def issue(self, request: CredentialRequest, *, endpoint: Endpoint | None = None) -> Credential:
        """Call AWS for a new password for ``request``, at ``endpoint`` when the caller knows
        it (from a shared store), else the one ``endpoint()`` finds."""
        if endpoint is None:
            endpoint = self.endpoint(request.target)
        operation = request.operation
        requested_at = self._wall_clock()
        try:
            if operation is Operation.SERVERLESS_GET_CREDENTIALS:
                response = self._get_serverless_credentials(request, endpoint)
                user, password = response["dbUser"], response["dbPassword"]
                expiration, next_refresh = response["expiration"], response.get("nextRefreshTime")
            else:
                response = self._get_cluster_credentials(request, endpoint)
                user, password = response["DbUser"], response["DbPassword"]
                expiration, next_refresh = response["Expiration"], response.get("NextRefreshTime")
        except Exception as error:
            raise self._aws_error_from(error, request, operation.action) from None
        return Credential(
            host=endpoint.host,
            port=endpoint.port,
            database=request.db_name or endpoint.default_database,
            user=user,
            password=Secret(password),
            issued_at=_issue_time(requested_at, response),
            expires_at=_aware(expiration),
            next_refresh_at=_aware(next_refresh) if next_refresh is not None else None,
            operation=operation,
        )

    def endpoint(self, target: Target) -> Endpoint:
        """Where to connect: the explicit host, the custom domain, or what AWS reports
        (DescribeClusters / GetWorkgroup), cached per target."""
        if target.host is not None or target.custom_domain is not None:
            host = target.host or target.custom_domain
            assert host is not None
            return Endpoint(host, target.port or DEFAULT_PORT, DEFAULT_DATABASE)
        key = (target, self._clients.region(target.region))
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            endpoint = self._discover(target)
            with self._endpoints_lock:
                self._endpoints[key] = endpoint
        return endpoint

    def caller_identity(self, target: Target | None = None) -> CallerIdentity:
        """Who this identity is to AWS (sts:GetCallerIdentity), in ``target``'s region."""
        region = target.region if target is not None else None
        try:
            response = self._clients.sts(region).get_caller_identity()
        except Exception as error:
            raise aws_error_from(
                error,
                action="sts:GetCallerIdentity",
                target_label=target.label if target is not None else "AWS identity",
                region=self._clients.region(region),
            ) from None
        caller = CallerIdentity(
            str(response["Arn"]), str(response["Account"]), str(response["UserId"])
        )
        self._account = caller.account
        return caller

    def account(self) -> str | None:
        """The caller's AWS account (GetCallerIdentity), asked once; None if unavailable."""
        if self._account is None:
            try:
                return self.caller_identity().account
            except Exception:  # best effort: only used to word error messages
                logger.debug("GetCallerIdentity failed", exc_info=True)
                return None
        return self._account

    def policy_inputs(self, request: CredentialRequest, account: str | None = None) -> PolicyInputs:
        """What a least-privilege policy for ``request`` is written for: the region and
        ``account`` (asked of AWS when not given; None if it cannot be), and the database -
        the cluster's own when none is named and discovery can tell, else the request's."""
        region = self._clients.region(request.target.region)
        if request.db_name is None and uses_discovery(request):
            try:
                database = self.endpoint(request.target).default_database
                request = dataclasses.replace(request, db_name=database)
            except Exception:  # best effort: '*' stays correct, only broader
                logger.debug("endpoint discovery for the policy failed", exc_info=True)
        return PolicyInputs(request, region, account or self.account())

    # -- AWS calls -------------------------------------------------------------------------

    def _discover(self, target: Target) -> Endpoint:
        assert target.name is not None  # a custom domain or a host skips discovery
        region = target.region
        serverless = target.deployment is Deployment.SERVERLESS
        if target.endpoint_name is not None:
            return self._discover_managed_endpoint(target, target.endpoint_name)
        try:
            if serverless:
                workgroup = self._clients.redshift_serverless(region).get_workgroup(
                    workgroupName=target.name
                )["workgroup"]
                host = workgroup.get("endpoint", {}).get("address")
                port = workgroup.get("endpoint", {}).get("port")
                database = DEFAULT_DATABASE
            else:
                cluster = self._clients.redshift(region).describe_clusters(
                    ClusterIdentifier=target.name
                )["Clusters"][0]
                host = cluster.get("Endpoint", {}).get("Address")
                port = cluster.get("Endpoint", {}).get("Port")
                database = cluster.get("DBName") or DEFAULT_DATABASE
        except Exception as error:
            raise aws_error_from(
                error,
                action=discovery_action(target),
                target_label=target.label,
                region=self._clients.region(region),
                account=self.account,
            ) from None
        if not host or not port:
            raise AwsError(
                f"The {target.label} has no endpoint yet (is it still being created, paused or "
                "resizing?). Wait until it is available, or give --host and --port."
            )
        logger.debug("discovered endpoint of %s: %s:%s", target.label, host, port)
        return _checked_endpoint(target, host, port, database)

    def _discover_managed_endpoint(self, target: Target, name: str) -> Endpoint:
        """The address and port of the target's Redshift-managed VPC endpoint ``name``
        (DescribeEndpointAccess / serverless GetEndpointAccess). The endpoint must belong to
        the target: the password is for that cluster or workgroup. The database is the
        request's, else dev (these calls do not report the cluster's)."""
        assert target.name is not None
        region = target.region
        serverless = target.deployment is Deployment.SERVERLESS
        action = discovery_action(target)
        found: Any  # the two services' shapes differ; each field is checked below
        try:
            if serverless:
                found = self._clients.redshift_serverless(region).get_endpoint_access(
                    endpointName=name
                )["endpoint"]
                owner, status = found.get("workgroupName"), found.get("endpointStatus")
                host, port = found.get("address"), found.get("port")
            else:
                listed = self._clients.redshift(region).describe_endpoint_access(
                    ClusterIdentifier=target.name, EndpointName=name
                )["EndpointAccessList"]
                if not listed:
                    raise AwsError(
                        f"No Redshift-managed VPC endpoint {name!r} of the {target.label} in "
                        f"{self._clients.region(region)}: check the name (aws redshift "
                        "describe-endpoint-access) and --region."
                    )
                found = listed[0]
                owner, status = found.get("ClusterIdentifier"), found.get("EndpointStatus")
                host, port = found.get("Address"), found.get("Port")
        except AwsError:
            raise
        except Exception as error:
            raise aws_error_from(
                error,
                action=action,
                target_label=f"VPC endpoint {name!r} of the {target.label}",
                region=self._clients.region(region),
                account=self.account,
            ) from None
        if owner != target.name:
            raise AwsError(
                f"The VPC endpoint {name!r} belongs to {owner!r}, not to the {target.label}: "
                "give the endpoint of that cluster or workgroup, or its own name."
            )
        if not host or not port:
            raise AwsError(
                f"The VPC endpoint {name!r} of the {target.label} has no address yet "
                f"(status {status!r}). Wait until it is active."
            )
        logger.debug("discovered VPC endpoint %s of %s: %s:%s", name, target.label, host, port)
        return _checked_endpoint(target, host, port, DEFAULT_DATABASE)

    def _get_cluster_credentials(
        self, request: CredentialRequest, endpoint: Endpoint
    ) -> dict[str, Any]:
        target = request.target
        client = self._clients.redshift(target.region)
        params: dict[str, Any] = {
            "DbName": request.db_name or endpoint.default_database,
            "DurationSeconds": request.duration_seconds,
        }
        if target.name is not None:
            params["ClusterIdentifier"] = target.name
        else:
            params["CustomDomainName"] = target.custom_domain
        if request.operation is Operation.GET_CLUSTER_CREDENTIALS_WITH_IAM:
            return dict(client.get_cluster_credentials_with_iam(**params))
        params["DbUser"] = request.db_user
        params["AutoCreate"] = request.auto_create
        if request.db_groups:
            params["DbGroups"] = list(request.db_groups)
        return dict(client.get_cluster_credentials(**params))

    def _get_serverless_credentials(
        self, request: CredentialRequest, endpoint: Endpoint
    ) -> dict[str, Any]:
        target = request.target
        client = self._clients.redshift_serverless(target.region)
        params: dict[str, Any] = {
            "dbName": request.db_name or endpoint.default_database,
            "durationSeconds": request.duration_seconds,
        }
        if target.name is not None:
            params["workgroupName"] = target.name
        else:
            params["customDomainName"] = target.custom_domain
        return dict(client.get_credentials(**params))

    def _aws_error_from(
        self, error: Exception, request: CredentialRequest, action: str
    ) -> Exception:
        region = self._clients.region(request.target.region)

        def resource() -> str | None:
            account = self.account()
            if region is None or account is None:
                return None
            return credential_resources(request, region, account)[0]

        return aws_error_from(
            error,
            action=action,
            target_label=request.target.label,
            region=region,
            resource=resource,
            account=self.account,
        )


ISSUERS_KEPT = 64
"""Issuers kept for identities no source holds any more: enough for every identity a
process really uses (each call of the seed's functions or of ``connect(cluster_id=...)``
builds a new source, and must not rebuild a session), few enough that identities made per
call (a new ``boto3.Session`` each time) cannot pile up."""

_issuers: OrderedDict[AwsIdentity, AwsIssuer] = OrderedDict()
_issuers_lock = threading.Lock()


def issuer_for(identity: AwsIdentity) -> AwsIssuer:
    """The process-wide issuer for an AWS identity: one session, one client per service and
    region, one endpoint cache - built on first use and shared by every equal identity. The
    ``ISSUERS_KEPT`` most recently used are kept; a source holds its own either way."""
    with _issuers_lock:
        issuer = _issuers.get(identity)
        if issuer is None:
            issuer = _issuers[identity] = AwsIssuer(AwsClients(identity))
            if len(_issuers) > ISSUERS_KEPT:
                _issuers.popitem(last=False)
        else:
            _issuers.move_to_end(identity)
    return issuer


def forget_all() -> None:
    """Drop every issuer (sessions, clients, endpoint caches), as if the process restarted."""
    with _issuers_lock:
        _issuers.clear()
