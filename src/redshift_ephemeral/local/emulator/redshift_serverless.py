"""Handlers of the Redshift Serverless API (JSON protocol), which moto does not implement:
workgroups (each bringing its namespace along), the credential call GetCredentials, custom
domain names and managed VPC endpoints (CreateEndpointAccess, GetEndpointAccess). Workgroups
and their VPC endpoints report the stack's Redshift endpoint as theirs.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from . import validation
from .auth import Auth
from .calls import ACCOUNT_ID, Call, Handler
from .faults import AwsFault, invalid_parameter
from .knobs import Knobs
from .logins import Logins


class RedshiftServerlessHandlers:
    def __init__(self, auth: Auth, logins: Logins, *, endpoint_host: str, endpoint_port: int):
        self._auth = auth
        self._logins = logins
        self._endpoint_host = endpoint_host
        self._endpoint_port = endpoint_port
        # By (region, name): a workgroup exists in one region only, as in AWS.
        self._workgroups: dict[tuple[str, str], dict[str, Any]] = {}
        self._namespaces: dict[tuple[str, str], dict[str, Any]] = {}
        self._domains: dict[str, dict[str, Any]] = {}  # custom domain name -> association
        self._endpoints: dict[tuple[str, str], dict[str, Any]] = {}  # by (region, name)
        self._lock = threading.Lock()

    def operations(self) -> dict[str, Handler]:
        return {
            "CreateWorkgroup": self.create_workgroup,
            "GetWorkgroup": self.get_workgroup,
            "ListWorkgroups": self.list_workgroups,
            "GetNamespace": self.get_namespace,
            "GetCredentials": self.get_credentials,
            "CreateCustomDomainAssociation": self.create_custom_domain_association,
            "GetCustomDomainAssociation": self.get_custom_domain_association,
            "ListCustomDomainAssociations": self.list_custom_domain_associations,
            "CreateEndpointAccess": self.create_endpoint_access,
            "GetEndpointAccess": self.get_endpoint_access,
        }

    # -- operations ----------------------------------------------------------------------

    def create_workgroup(self, call: Call, _: Knobs) -> dict[str, Any]:
        name, region = call.params.get("workgroupName"), call.region
        if not name:
            raise invalid_parameter(call.service, "workgroupName is required.")
        self._auth.authorize(call, call.action, self._workgroup_arn(call, name))
        namespace = call.params.get("namespaceName", "default")
        workgroup_id = str(uuid.uuid4())
        workgroup = {
            "workgroupName": name,
            "workgroupId": workgroup_id,
            "workgroupArn": f"arn:aws:redshift-serverless:{region}:{ACCOUNT_ID}:workgroup/"
            f"{workgroup_id}",
            "namespaceName": namespace,
            "baseCapacity": call.params.get("baseCapacity", 128),
            "status": "AVAILABLE",
            "creationDate": time.time(),
            "port": self._endpoint_port,
            "publiclyAccessible": False,
            "endpoint": {"address": self._endpoint_host, "port": self._endpoint_port},
        }
        with self._lock:
            if (region, name) in self._workgroups:
                raise AwsFault("ConflictException", f"Workgroup {name} already exists.")
            self._workgroups[(region, name)] = workgroup
            # CreateNamespace is not emulated: a workgroup brings its namespace along.
            self._namespaces.setdefault(
                (region, namespace),
                {
                    "namespaceName": namespace,
                    "namespaceId": str(uuid.uuid4()),
                    "namespaceArn": f"arn:aws:redshift-serverless:{region}:{ACCOUNT_ID}:"
                    f"namespace/{uuid.uuid4()}",
                    "dbName": "dev",
                    "status": "AVAILABLE",
                    "creationDate": time.time(),
                },
            )
        return {"workgroup": workgroup}

    def get_workgroup(self, call: Call, _: Knobs) -> dict[str, Any]:
        name = call.params.get("workgroupName")
        if not name:
            raise invalid_parameter(call.service, "workgroupName is required.")
        self._auth.authorize(call, call.action, self._workgroup_arn(call, name))
        return {"workgroup": self._workgroup_named(call, name)}

    def list_workgroups(self, call: Call, _: Knobs) -> dict[str, Any]:
        self._auth.authorize(call, call.action, "*")
        with self._lock:
            return {
                "workgroups": [
                    workgroup
                    for (region, _), workgroup in self._workgroups.items()
                    if region == call.region
                ]
            }

    def get_namespace(self, call: Call, _: Knobs) -> dict[str, Any]:
        name = call.params.get("namespaceName")
        if not name:
            raise invalid_parameter(call.service, "namespaceName is required.")
        with self._lock:
            namespace = self._namespaces.get((call.region, name))
        arn = (namespace or {}).get(
            "namespaceArn", f"arn:aws:redshift-serverless:{call.region}:{ACCOUNT_ID}:namespace/*"
        )
        self._auth.authorize(call, call.action, str(arn))
        if namespace is None:
            raise AwsFault("ResourceNotFoundException", f"Namespace {name} not found.")
        return {"namespace": namespace}

    def get_credentials(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        p, service = call.params, call.service
        database = validation.db_name(service, p.get("dbName"), "dbName")
        duration = validation.duration(service, p.get("durationSeconds"), "durationSeconds")
        name = self._workgroup_name(call)
        context = {"redshift-serverless:DbName": database} if database is not None else {}
        self._auth.authorize(call, call.action, self._workgroup_arn(call, name), context)
        self._workgroup_named(call, name)
        if database is not None:
            self._logins.require_database(service, database)
        login, password, expiration, next_refresh = self._logins.issue_to_caller(
            call.caller.arn, duration, knobs.time_scale, database
        )
        return {
            "dbUser": login,
            "dbPassword": password,
            "expiration": expiration.timestamp(),
            "nextRefreshTime": next_refresh.timestamp(),
        }

    def create_custom_domain_association(self, call: Call, _: Knobs) -> dict[str, Any]:
        p = call.params
        domain = validation.custom_domain(call.service, p.get("customDomainName"))
        certificate, name = p.get("customDomainCertificateArn"), p.get("workgroupName")
        if not certificate or not name:
            raise invalid_parameter(
                call.service, "customDomainCertificateArn and workgroupName are required."
            )
        self._auth.authorize(call, call.action, self._workgroup_arn(call, name))
        self._workgroup_named(call, name)
        association = {
            "customDomainName": domain,
            "customDomainCertificateArn": certificate,
            "workgroupName": name,
            "customDomainCertificateExpiryTime": time.time() + 365 * 86400,
        }
        with self._lock:
            if domain in self._domains:
                raise AwsFault(
                    "ConflictException", f"Custom domain {domain} is already associated."
                )
            self._domains[domain] = association
        return association

    def get_custom_domain_association(self, call: Call, _: Knobs) -> dict[str, Any]:
        domain, name = call.params.get("customDomainName"), call.params.get("workgroupName")
        if not domain or not name:
            raise invalid_parameter(
                call.service, "customDomainName and workgroupName are required."
            )
        self._auth.authorize(call, call.action, self._workgroup_arn(call, name))
        with self._lock:
            association = self._domains.get(domain)
        if association is None or association["workgroupName"] != name:
            raise AwsFault(
                "ResourceNotFoundException", f"Custom domain association {domain} not found."
            )
        return dict(association)

    def list_custom_domain_associations(self, call: Call, _: Knobs) -> dict[str, Any]:
        self._auth.authorize(call, call.action, "*")
        domain = call.params.get("customDomainName")
        certificate = call.params.get("customDomainCertificateArn")
        with self._lock:
            return {
                "associations": [
                    dict(association)
                    for association in self._domains.values()
                    if domain in (None, association["customDomainName"])
                    and certificate in (None, association["customDomainCertificateArn"])
                ]
            }

    def workgroup_arn_of(self, region: str, name: str) -> str | None:
        """The ARN of an existing workgroup, else None (for other services' handlers)."""
        with self._lock:
            workgroup = self._workgroups.get((region, name))
        return str(workgroup["workgroupArn"]) if workgroup is not None else None

    def create_endpoint_access(self, call: Call, _: Knobs) -> dict[str, Any]:
        """A managed VPC endpoint of a workgroup: the stack's Redshift endpoint, its network
        interface 127.0.0.1, available at once."""
        p, region = call.params, call.region
        name = validation.endpoint_name(call.service, p.get("endpointName"), "endpointName")
        workgroup, subnets = p.get("workgroupName"), p.get("subnetIds")
        if not workgroup or not isinstance(subnets, list) or not subnets:
            raise invalid_parameter(call.service, "workgroupName and subnetIds are required.")
        self._auth.authorize(call, call.action, self._workgroup_arn(call, workgroup))
        self._workgroup_named(call, workgroup)
        endpoint = {
            "endpointName": name,
            "endpointArn": f"arn:aws:redshift-serverless:{region}:{ACCOUNT_ID}:"
            f"managedvpcendpoint/{uuid.uuid4()}",
            "endpointCreateTime": time.time(),
            "endpointStatus": "ACTIVE",
            "workgroupName": workgroup,
            "address": self._endpoint_host,
            "port": self._endpoint_port,
            "subnetIds": [str(subnet) for subnet in subnets],
            "vpcSecurityGroups": [],
            "vpcEndpoint": {
                "vpcEndpointId": f"vpce-{uuid.uuid4().hex[:17]}",
                "vpcId": "vpc-local",
                "networkInterfaces": [
                    {
                        "networkInterfaceId": "eni-local",
                        "subnetId": str(subnets[0]),
                        "privateIpAddress": "127.0.0.1",
                        "availabilityZone": f"{region}a",
                    }
                ],
            },
        }
        with self._lock:
            if (region, name) in self._endpoints:
                raise AwsFault("ConflictException", f"Endpoint {name} already exists.")
            self._endpoints[(region, name)] = endpoint
        return {"endpoint": endpoint}

    def get_endpoint_access(self, call: Call, _: Knobs) -> dict[str, Any]:
        name = validation.endpoint_name(
            call.service, call.params.get("endpointName"), "endpointName"
        )
        self._auth.authorize(call, call.action, "*")
        with self._lock:
            endpoint = self._endpoints.get((call.region, name))
        if endpoint is None:
            raise AwsFault("ResourceNotFoundException", f"Endpoint {name} not found.")
        return {"endpoint": endpoint}

    # -- helpers -------------------------------------------------------------------------

    def _workgroup_arn(self, call: Call, name: str) -> str:
        """The workgroup's ARN; for one that does not exist, an ARN naming it, so that a
        policy on ``workgroup/*`` lets the caller learn it is missing and others do not."""
        with self._lock:
            workgroup = self._workgroups.get((call.region, name))
        if workgroup is not None:
            return str(workgroup["workgroupArn"])
        return f"arn:aws:redshift-serverless:{call.region}:{ACCOUNT_ID}:workgroup/{name}"

    def _workgroup_named(self, call: Call, name: str) -> dict[str, Any]:
        with self._lock:
            workgroup = self._workgroups.get((call.region, name))
        if workgroup is None:
            raise AwsFault("ResourceNotFoundException", f"Workgroup {name} not found.")
        return workgroup

    def _workgroup_name(self, call: Call) -> str:
        """workgroupName, or the workgroup its customDomainName is associated with."""
        name = call.params.get("workgroupName")
        domain = call.params.get("customDomainName")
        if name and domain:
            raise invalid_parameter(
                call.service, "Specify either workgroupName or customDomainName, not both."
            )
        if domain:
            with self._lock:
                association = self._domains.get(domain)
            if association is None:
                raise AwsFault(
                    "ResourceNotFoundException",
                    f"No workgroup is associated with custom domain {domain}.",
                )
            return str(association["workgroupName"])
        if not name:
            raise invalid_parameter(call.service, "workgroupName or customDomainName is required.")
        return str(name)
