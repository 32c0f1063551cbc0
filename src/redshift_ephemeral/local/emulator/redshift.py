"""Handlers of the provisioned Redshift API (query protocol) that moto lacks or must answer
differently: the two credential calls, custom domain names and Redshift-managed VPC endpoints
(CreateEndpointAccess, DescribeEndpointAccess). DescribeClusters, CreateCluster and the rest
are moto's (``passthrough.py``).

Each handler authorises exactly what AWS's API reference says the call needs, on the
``dbuser:``/``dbname:``/``dbgroup:`` resources AWS uses, with the same condition keys.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ..roles import RoleKind, RoleNameTaken
from . import validation
from .auth import Auth
from .calls import ACCOUNT_ID, Call, Handler
from .faults import AwsFault, invalid_parameter
from .knobs import Knobs
from .logins import Logins
from .protocols import Members


class RedshiftHandlers:
    def __init__(
        self,
        auth: Auth,
        logins: Logins,
        *,
        endpoint_host: str = "localhost",
        endpoint_port: int = 5439,
    ):
        self._auth = auth
        self._logins = logins
        self._endpoint_host = endpoint_host
        self._endpoint_port = endpoint_port
        self._domains: dict[str, dict[str, Any]] = {}  # custom domain name -> association
        # By (region, endpoint name): a VPC endpoint's name is unique in its account's region.
        self._endpoints: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def operations(self) -> dict[str, Handler]:
        return {
            "GetClusterCredentials": self.get_cluster_credentials,
            "GetClusterCredentialsWithIAM": self.get_cluster_credentials_with_iam,
            "CreateCustomDomainAssociation": self.create_custom_domain_association,
            "DescribeCustomDomainAssociations": self.describe_custom_domain_associations,
            "CreateEndpointAccess": self.create_endpoint_access,
            "DescribeEndpointAccess": self.describe_endpoint_access,
        }

    # -- operations ----------------------------------------------------------------------

    def get_cluster_credentials(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        p, service = call.params, call.service
        user = validation.db_user(service, p.get("DbUser"))
        database = validation.db_name(service, p.get("DbName"))
        groups = validation.db_groups(service, p.get("DbGroups", []))
        duration = validation.duration(service, p.get("DurationSeconds"))
        auto_create = validation.boolean(service, p.get("AutoCreate"), "AutoCreate")
        cluster_id = self._cluster_id(call)
        # What AWS authorises (API reference, GetClusterCredentials): the call on the dbuser,
        # the dbname when given and each dbgroup; JoinGroup on each dbgroup; CreateClusterUser
        # on the dbuser when AutoCreate is true. The condition keys name the request's values.
        prefix = f"arn:aws:redshift:{call.region}:{ACCOUNT_ID}"
        dbuser = f"{prefix}:dbuser:{cluster_id}/{user}"
        dbgroups = [f"{prefix}:dbgroup:{cluster_id}/{group}" for group in groups]
        needed = [("redshift:GetClusterCredentials", dbuser)]
        if database is not None:
            needed.append(
                ("redshift:GetClusterCredentials", f"{prefix}:dbname:{cluster_id}/{database}")
            )
        needed += [("redshift:GetClusterCredentials", arn) for arn in dbgroups]
        needed += [("redshift:JoinGroup", arn) for arn in dbgroups]
        if auto_create:
            needed.append(("redshift:CreateClusterUser", dbuser))
        context = {"redshift:DbUser": user, "redshift:DurationSeconds": str(duration)}
        if database is not None:
            context["redshift:DbName"] = database
        for action, resource in needed:
            self._auth.authorize(call, action, resource, context)
        _cluster(call, cluster_id)
        if database is not None:
            self._logins.require_database(service, database)
        roles = self._logins.roles
        kind = roles.kind_of(user)
        exists = kind is RoleKind.USER
        created = False
        if kind is None and auto_create:
            with contextlib.suppress(RoleNameTaken):
                roles.create_user(user)
                created = True
        # AWS: "IAMA:" whenever AutoCreate is true, whether or not the user existed.
        login = ("IAMA:" if auto_create else "IAM:") + user
        # A DbUser that is not a database user (unknown without AutoCreate, or a group, a
        # system role, the administrator): AWS still answers; the login then fails.
        password, expiration = self._logins.issue(
            login,
            user,
            groups,
            duration,
            knobs.time_scale,
            database=database,
            create_login=exists or created,
        )
        return {"DbUser": login, "DbPassword": password, "Expiration": expiration}

    def get_cluster_credentials_with_iam(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        p, service = call.params, call.service
        database = validation.db_name(service, p.get("DbName"))
        duration = validation.duration(service, p.get("DurationSeconds"))
        cluster_id = self._cluster_id(call)
        # Without DbName the password opens every database: the policy must allow them all.
        resource = (
            f"arn:aws:redshift:{call.region}:{ACCOUNT_ID}:dbname:{cluster_id}/{database or '*'}"
        )
        context = {"redshift:DurationSeconds": str(duration)}
        if database is not None:
            context["redshift:DbName"] = database
        self._auth.authorize(call, "redshift:GetClusterCredentialsWithIAM", resource, context)
        _cluster(call, cluster_id)
        if database is not None:
            self._logins.require_database(service, database)
        login, password, expiration, next_refresh = self._logins.issue_to_caller(
            call.caller.arn, duration, knobs.time_scale, database
        )
        return {
            "DbUser": login,
            "DbPassword": password,
            "Expiration": expiration,
            "NextRefreshTime": next_refresh,
        }

    def create_custom_domain_association(self, call: Call, _: Knobs) -> dict[str, Any]:
        p = call.params
        domain = validation.custom_domain(call.service, p.get("CustomDomainName"))
        certificate = p.get("CustomDomainCertificateArn")
        cluster_id = p.get("ClusterIdentifier")
        if not certificate or not cluster_id:
            raise invalid_parameter(
                call.service, "CustomDomainCertificateArn and ClusterIdentifier are required."
            )
        self._auth.authorize(
            call,
            call.action,
            f"arn:aws:redshift:{call.region}:{ACCOUNT_ID}:cluster:{cluster_id}",
        )
        _cluster(call, cluster_id)
        association = {
            "CustomDomainName": domain,
            "CustomDomainCertificateArn": certificate,
            "ClusterIdentifier": cluster_id,
            "CustomDomainCertExpiryTime": datetime.now(UTC) + timedelta(days=365),
        }
        with self._lock:
            if domain in self._domains:
                raise AwsFault(
                    "CustomCnameAssociationFault",
                    f"Custom domain {domain} is already associated with a cluster.",
                )
            self._domains[domain] = association
        return association

    def describe_custom_domain_associations(self, call: Call, _: Knobs) -> dict[str, Any]:
        self._auth.authorize(call, call.action, "*")
        domain = call.params.get("CustomDomainName")
        certificate = call.params.get("CustomDomainCertificateArn")
        with self._lock:
            matching = [
                association
                for association in self._domains.values()
                if domain in (None, association["CustomDomainName"])
                and certificate in (None, association["CustomDomainCertificateArn"])
            ]
        if not matching and (domain or certificate):
            raise AwsFault(
                "CustomDomainAssociationNotFoundFault",
                "An error occurred. The custom domain name couldn't be found.",
                404,
            )
        by_certificate: dict[str, list[dict[str, Any]]] = {}
        for association in matching:
            by_certificate.setdefault(association["CustomDomainCertificateArn"], []).append(
                association
            )
        return {
            "Associations": Members(
                "Association",
                [
                    {
                        "CustomDomainCertificateArn": arn,
                        "CustomDomainCertificateExpiryDate": group[0]["CustomDomainCertExpiryTime"],
                        "CertificateAssociations": Members(
                            "CertificateAssociation",
                            [
                                {
                                    "CustomDomainName": a["CustomDomainName"],
                                    "ClusterIdentifier": a["ClusterIdentifier"],
                                }
                                for a in group
                            ],
                        ),
                    }
                    for arn, group in by_certificate.items()
                ],
            )
        }

    def create_endpoint_access(self, call: Call, _: Knobs) -> dict[str, Any]:
        """A Redshift-managed VPC endpoint of a cluster. Its address is the stack's Redshift
        endpoint (there is no VPC here), its network interface 127.0.0.1; it is active at
        once rather than after minutes of "creating"."""
        p = call.params
        name = validation.endpoint_name(call.service, p.get("EndpointName"))
        cluster_id, subnet_group = p.get("ClusterIdentifier"), p.get("SubnetGroupName")
        if not cluster_id or not subnet_group:
            raise invalid_parameter(
                call.service, "ClusterIdentifier and SubnetGroupName are required."
            )
        self._auth.authorize(
            call,
            call.action,
            f"arn:aws:redshift:{call.region}:{ACCOUNT_ID}:cluster:{cluster_id}",
        )
        _cluster(call, cluster_id)
        endpoint = {
            "ClusterIdentifier": cluster_id,
            "ResourceOwner": ACCOUNT_ID,
            "SubnetGroupName": subnet_group,
            "EndpointStatus": "active",
            "EndpointName": name,
            "EndpointCreateTime": datetime.now(UTC),
            "Port": self._endpoint_port,
            "Address": self._endpoint_host,
            "VpcSecurityGroups": Members("VpcSecurityGroup", []),
            "VpcEndpoint": {
                "VpcEndpointId": f"vpce-{uuid.uuid4().hex[:17]}",
                "VpcId": "vpc-local",
                "NetworkInterfaces": Members(
                    "NetworkInterface",
                    [
                        {
                            "NetworkInterfaceId": "eni-local",
                            "SubnetId": "subnet-local",
                            "PrivateIpAddress": "127.0.0.1",
                            "AvailabilityZone": f"{call.region}a",
                        }
                    ],
                ),
            },
        }
        with self._lock:
            if (call.region, name) in self._endpoints:
                raise AwsFault("EndpointAlreadyExists", f"An endpoint named {name} already exists.")
            self._endpoints[(call.region, name)] = endpoint
        return endpoint

    def describe_endpoint_access(self, call: Call, _: Knobs) -> dict[str, Any]:
        self._auth.authorize(call, call.action, "*")
        cluster_id, name = call.params.get("ClusterIdentifier"), call.params.get("EndpointName")
        with self._lock:
            matching = [
                endpoint
                for (region, _), endpoint in self._endpoints.items()
                if region == call.region
                and name in (None, endpoint["EndpointName"])
                and cluster_id in (None, endpoint["ClusterIdentifier"])
            ]
        if cluster_id is not None and not matching:
            _cluster(call, cluster_id)  # ClusterNotFound, as AWS answers for an unknown one
        if name is not None and not matching:
            raise AwsFault("EndpointNotFound", f"The endpoint {name} could not be found.", 404)
        return {"EndpointAccessList": Members("member", matching)}

    # -- helpers -------------------------------------------------------------------------

    def _cluster_id(self, call: Call) -> str:
        """ClusterIdentifier, or the cluster its CustomDomainName is associated with."""
        identifier = call.params.get("ClusterIdentifier")
        domain = call.params.get("CustomDomainName")
        if identifier and domain:
            raise AwsFault(
                "InvalidParameterCombination",
                "Specify either ClusterIdentifier or CustomDomainName, not both.",
            )
        if domain:
            with self._lock:
                association = self._domains.get(domain)
            if association is None:
                raise AwsFault(
                    "ClusterNotFound", f"No cluster is associated with custom domain {domain}.", 404
                )
            return str(association["ClusterIdentifier"])
        if not identifier:
            raise invalid_parameter(
                call.service, "ClusterIdentifier or CustomDomainName is required."
            )
        return str(identifier)


def _cluster(call: Call, identifier: str) -> Any:
    """The cluster from moto's backend (created through moto's own CreateCluster)."""
    from moto.redshift.models import redshift_backends

    clusters = redshift_backends[ACCOUNT_ID][call.region].clusters
    if identifier not in clusters:
        raise AwsFault("ClusterNotFound", f"Cluster {identifier} not found.", 404)
    return clusters[identifier]


def cluster_exists(region: str, identifier: str) -> bool:
    """Whether moto holds the cluster (for other services' handlers, through the app)."""
    from moto.redshift.models import redshift_backends

    return identifier in redshift_backends[ACCOUNT_ID][region].clusters
