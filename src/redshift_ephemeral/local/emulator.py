"""An AWS control-plane emulator on loopback that an unmodified boto3 client reaches through
``endpoint_url``.

moto's server answers what moto implements (CreateCluster, DescribeClusters, STS, IAM); this
WSGI layer in front of it answers what moto lacks or must do differently:

* the credential calls (GetClusterCredentials, GetClusterCredentialsWithIAM, serverless
  GetCredentials): each password is recorded for the Redshift endpoint to check
  (``passwords.py``) and its login role gets exactly its memberships (``roles.py``);
* redshift-serverless CreateWorkgroup / GetWorkgroup (JSON protocol);
* endpoints rewritten to the stack's Redshift endpoint (``redshift_endpoint.py``);
* AWS authentication and authorization for every call, moto's included: SigV4 against the
  keys of IAM users and STS sessions (``sigv4.py``, ``identities.py``), then the caller's
  identity-based policies (``iam_policy.py``) on the action and resource ARNs AWS uses;
* STS AssumeRole (trust policy, missing roles, time-scaled sessions) and custom domain names;
* AWS's unknown-operation error for anything neither this layer nor moto implements;
* knobs for tests and benchmarks: time scale, latency, throttling, outage, call counts and a
  record of issued passwords.

Errors have AWS's codes and shapes (query/XML for redshift, sts and iam, JSON for
redshift-serverless), so botocore raises what it would raise against AWS.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import random
import re
import secrets
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from . import validation
from .assume_role import assume_role
from .faults import JSON_SERVICES, AwsFault, access_denied, invalid_parameter, unknown_operation
from .iam_policy import (
    AuthorizationRequest,
    Decision,
    denial_message,
    evaluate,
)
from .identities import Identities, Identity
from .passthrough import UNAUTHORIZED_ACTIONS, moto_implements, resource_for
from .passwords import IssuedPasswords
from .roles import RoleKind, RoleNameTaken, Roles
from .sigv4 import AuthenticationError, Authorization, ReceivedRequest, verify
from .wire import Members, xml_elements

logger = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
REDSHIFT_XMLNS = "http://redshift.amazonaws.com/doc/2012-12-01/"
STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
# Signed by no one, as in AWS (the token in the request is the credential).
UNSIGNED_OPERATIONS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})
CONTROL_PREFIX = "/_local/"
_CREDENTIAL_SCOPE = re.compile(
    r"Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/"
)
_ENDPOINT = re.compile(rb"<Endpoint>\s*<Address>[^<]*</Address>\s*<Port>[^<]*</Port>\s*</Endpoint>")
_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "+/="

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class Knobs:
    """What tests and benchmarks can turn. All changes apply to the next call."""

    time_scale: float = 1.0  # 1/300: a 900 s password lasts 3 s (Expiration, and at login)
    latency_seconds: float = 0.0  # added to every AWS call
    throttle_rate: float = 0.0  # share of calls answered with AWS's throttling error
    outage: bool = False  # every AWS call fails with 503 ServiceUnavailable

    def update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown knob {key!r}")
            setattr(self, key, value)
        if not 0 < self.time_scale <= 1:
            raise ValueError("time_scale must be in (0, 1]")
        if not 0 <= self.throttle_rate <= 1:
            raise ValueError("throttle_rate must be in [0, 1]")


@dataclass(frozen=True)
class Call:
    service: str  # signing name: redshift, redshift-serverless, sts, iam
    operation: str
    params: dict[str, Any]
    access_key: str
    region: str
    identity: Identity | None = None  # set once the signature is verified

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"

    @property
    def caller(self) -> Identity:
        assert self.identity is not None, "authenticated calls only"
        return self.identity


def _new_password() -> str:
    # Redshift's temporary passwords are 40-odd characters of base64-like text.
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(44))


def login_name_for(principal_arn: str) -> str:
    """IAM identity → Redshift login: ``IAM:<user>`` or ``IAMR:<role>``."""
    resource = principal_arn.split(":", 5)[-1]
    if resource.startswith("assumed-role/"):
        return "IAMR:" + resource.split("/")[1]
    return "IAM:" + resource.rsplit("/", 1)[-1]


class Emulator:
    """The WSGI application. ``endpoint_host``/``endpoint_port`` (the Redshift endpoint) is
    what DescribeClusters and GetWorkgroup report."""

    def __init__(
        self,
        moto_app: WsgiApp,
        roles: Roles,
        passwords: IssuedPasswords,
        *,
        endpoint_port: int,
        control_token: str,
        endpoint_host: str = "localhost",
        seed: int = 0,
        restart_postgres: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._moto = moto_app
        self._roles = roles
        self._passwords = passwords
        self.endpoint_host = endpoint_host
        self.endpoint_port = endpoint_port
        self._control_token = control_token
        self._restart_postgres = restart_postgres
        self.knobs = Knobs()
        self.calls: Counter[str] = Counter()
        self.issued_passwords: list[str] = []
        self._workgroups: dict[str, dict[str, Any]] = {}
        self._namespaces: dict[str, dict[str, Any]] = {}
        # custom domain name -> association, per API (provisioned and serverless)
        self._cluster_domains: dict[str, dict[str, Any]] = {}
        self._workgroup_domains: dict[str, dict[str, Any]] = {}
        self.identities = Identities(ACCOUNT_ID)
        self._clock = clock
        self._lock = threading.Lock()
        self._seed = seed
        self._random = random.Random(seed)  # noqa: S311 - throttling dice, not secrets

    # -- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response, path[len(CONTROL_PREFIX) :])
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        call = self._parse(environ, body)
        if call.access_key == "" and call.operation in UNSIGNED_OPERATIONS:
            return self._pass_to_moto(environ, body, start_response)
        with self._lock:
            self.calls[call.action] += 1
            knobs = Knobs(**asdict(self.knobs))
            throttled = self._random.random() < knobs.throttle_rate
        if knobs.latency_seconds:
            time.sleep(knobs.latency_seconds)
        try:
            if knobs.outage:
                raise AwsFault(
                    "ServiceUnavailable", "Service is unavailable (local outage knob).", 503
                )
            if throttled:
                raise AwsFault(
                    "ThrottlingException"
                    if call.service == "redshift-serverless"
                    else "Throttling",
                    "Rate exceeded",
                    400,
                )
            call = replace(call, identity=self._authenticate(environ, body))
            handler = getattr(self, f"_{call.service.replace('-', '_')}_{call.operation}", None)
            if handler is None:
                if not moto_implements(call.service, call.operation):
                    raise unknown_operation(call.service, call.operation)
                if call.action not in UNAUTHORIZED_ACTIONS:
                    self._authorize(call, call.action, self._moto_resource(call))
                return self._pass_to_moto(environ, body, start_response)
            result = handler(call, knobs)
        except AwsFault as fault:
            return self._fault(call, fault.for_service(call.service), start_response)
        if call.service in JSON_SERVICES:
            return self._json_result(result, start_response)
        return self._xml_result(call, result, start_response)

    # -- parsing -----------------------------------------------------------------------------

    def _parse(self, environ: dict[str, Any], body: bytes) -> Call:
        """Service, operation and parameters; an unsigned request has no access key (its
        service is guessed from the protocol, for the error's format)."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is not None:
            service, access_key, region = scope["service"], scope["key"], scope["region"]
        else:
            service = "redshift-serverless" if target else "sts"
            access_key, region = "", "us-east-1"
        if target:
            operation = target.rsplit(".", 1)[-1]
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = {}
            if not isinstance(params, dict):
                params = {}
        else:
            form = {key: values[-1] for key, values in parse_qs(body.decode()).items()}
            operation = form.pop("Action", "")
            form.pop("Version", None)
            params = dict(form)
            groups = [value for key, value in sorted(form.items()) if key.startswith("DbGroups.")]
            if groups:
                params["DbGroups"] = groups
        return Call(service, operation, params, access_key, region)

    # -- authentication and authorization ---------------------------------------------------

    def _authenticate(self, environ: dict[str, Any], body: bytes) -> Identity:
        """The caller, once its SigV4 signature checks out against the key it names."""
        try:
            authorization = Authorization.parse(environ.get("HTTP_AUTHORIZATION"))
            identity = self.identities.find(authorization.access_key_id)
            verify(
                ReceivedRequest.from_wsgi(environ, body),
                authorization,
                identity.key if identity is not None else None,
                self._clock(),
            )
        except AuthenticationError as error:
            raise AwsFault(error.code, error.message, error.status) from None
        assert identity is not None
        return identity

    def _authorize(
        self,
        call: Call,
        action: str,
        resource: str,
        context: dict[str, str] | None = None,
    ) -> None:
        """Raise AWS's AccessDenied unless the caller's identity-based policies allow
        ``action`` on ``resource``."""
        request = AuthorizationRequest(
            action, resource, {**call.caller.context(), **(context or {})}
        )
        decision = evaluate(self.identities.policies(call.caller), request)
        if decision is not Decision.ALLOW:
            raise access_denied(call.service, denial_message(call.caller.arn, request, decision))

    def _moto_resource(self, call: Call) -> str:
        return resource_for(
            call.service,
            call.operation,
            call.params,
            region=call.region,
            account=ACCOUNT_ID,
            caller_arn=call.caller.arn,
        )

    def _principal(self, call: Call) -> str:
        return call.caller.arn

    # -- redshift (query protocol) -----------------------------------------------------------

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
                association = self._cluster_domains.get(domain)
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

    def _cluster(self, call: Call, identifier: str) -> Any:
        from moto.redshift.models import redshift_backends

        clusters = redshift_backends[ACCOUNT_ID][call.region].clusters
        if identifier not in clusters:
            raise AwsFault("ClusterNotFound", f"Cluster {identifier} not found.", 404)
        return clusters[identifier]

    def _require_database(self, call: Call, database: str) -> None:
        if not self._roles.database_exists(database):
            raise invalid_parameter(call.service, f"Database {database} does not exist.")

    def _issue(
        self,
        login: str,
        user: str,
        groups: Iterable[str],
        duration: int,
        knobs: Knobs,
        *,
        create_login: bool = True,
    ) -> tuple[str, datetime]:
        """A password for ``login``; unless ``create_login`` is false (the user does not
        exist: AWS answers, the login fails), the login role gets its memberships and the
        Redshift endpoint learns the password."""
        password = _new_password()
        expiration = datetime.now(UTC) + timedelta(seconds=duration * knobs.time_scale)
        if create_login:
            try:
                self._roles.issue(login, user, groups)
            except RoleNameTaken as error:
                # A name PostgreSQL cannot hold as a login: as for a missing user, AWS
                # answers and the login fails.
                logger.warning("no login role for %s: %s", login, error)
            else:
                self._passwords.add(login, password, expiration)
        with self._lock:
            self.issued_passwords.append(password)
        return password, expiration

    def _redshift_GetClusterCredentials(self, call: Call, knobs: Knobs) -> dict[str, Any]:
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
            self._authorize(call, action, resource, context)
        self._cluster(call, cluster_id)
        if database is not None:
            self._require_database(call, database)
        kind = self._roles.kind_of(user)
        exists = kind is RoleKind.USER
        created = False
        if kind is None and auto_create:
            with contextlib.suppress(RoleNameTaken):
                self._roles.create_user(user)
                created = True
        # AWS: "IAMA:" whenever AutoCreate is true, whether or not the user existed.
        login = ("IAMA:" if auto_create else "IAM:") + user
        # A DbUser that is not a database user (unknown without AutoCreate, or a group, a
        # system role, the administrator): AWS still answers; the login then fails.
        password, expiration = self._issue(
            login, user, groups, duration, knobs, create_login=exists or created
        )
        return {"DbUser": login, "DbPassword": password, "Expiration": expiration}

    def _redshift_GetClusterCredentialsWithIAM(self, call: Call, knobs: Knobs) -> dict[str, Any]:
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
        self._authorize(call, "redshift:GetClusterCredentialsWithIAM", resource, context)
        self._cluster(call, cluster_id)
        if database is not None:
            self._require_database(call, database)
        login, password, expiration, next_refresh = self._issue_to_caller(call, duration, knobs)
        return {
            "DbUser": login,
            "DbPassword": password,
            "Expiration": expiration,
            "NextRefreshTime": next_refresh,
        }

    def _redshift_CreateCustomDomainAssociation(self, call: Call, _: Knobs) -> dict[str, Any]:
        p = call.params
        domain = self._custom_domain(call, p.get("CustomDomainName"))
        certificate = p.get("CustomDomainCertificateArn")
        cluster_id = p.get("ClusterIdentifier")
        if not certificate or not cluster_id:
            raise invalid_parameter(
                call.service, "CustomDomainCertificateArn and ClusterIdentifier are required."
            )
        self._authorize(
            call,
            call.action,
            f"arn:aws:redshift:{call.region}:{ACCOUNT_ID}:cluster:{cluster_id}",
        )
        self._cluster(call, cluster_id)
        association = {
            "CustomDomainName": domain,
            "CustomDomainCertificateArn": certificate,
            "ClusterIdentifier": cluster_id,
            "CustomDomainCertExpiryTime": datetime.now(UTC) + timedelta(days=365),
        }
        with self._lock:
            if domain in self._cluster_domains:
                raise AwsFault(
                    "CustomCnameAssociationFault",
                    f"Custom domain {domain} is already associated with a cluster.",
                )
            self._cluster_domains[domain] = association
        return association

    def _redshift_DescribeCustomDomainAssociations(self, call: Call, _: Knobs) -> dict[str, Any]:
        self._authorize(call, call.action, "*")
        domain = call.params.get("CustomDomainName")
        certificate = call.params.get("CustomDomainCertificateArn")
        with self._lock:
            matching = [
                association
                for association in self._cluster_domains.values()
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

    @staticmethod
    def _custom_domain(call: Call, value: Any) -> str:
        from ..errors import ConfigurationError
        from ..targets import validate_custom_domain

        if not isinstance(value, str) or not value:
            raise invalid_parameter(call.service, "A custom domain name is required.")
        try:
            return validate_custom_domain(value)
        except ConfigurationError as error:
            raise invalid_parameter(call.service, str(error)) from None

    def _issue_to_caller(
        self, call: Call, duration: int, knobs: Knobs
    ) -> tuple[str, str, datetime, datetime]:
        """Identity mode: the login is the caller's IAM identity, with the privileges of the
        database user of the same name. Returns login, password, expiration, next refresh."""
        login = login_name_for(self._principal(call))
        password, expiration = self._issue(login, login.split(":", 1)[1], (), duration, knobs)
        next_refresh = expiration - (expiration - datetime.now(UTC)) / 4
        return login, password, expiration, next_refresh

    # -- sts (query protocol) ----------------------------------------------------------------

    def _sts_AssumeRole(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        return assume_role(
            call.params,
            call.caller,
            self.identities,
            region=call.region,
            now=self._clock(),
            time_scale=knobs.time_scale,
            authorize=lambda action, resource, context: self._authorize(
                call, action, resource, context
            ),
        )

    def _xml_result(
        self, call: Call, result: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        xmlns = {"sts": STS_XMLNS, "iam": IAM_XMLNS}.get(call.service, REDSHIFT_XMLNS)
        body = (
            f'<{call.operation}Response xmlns="{xmlns}"><{call.operation}Result>'
            f"{xml_elements(result)}</{call.operation}Result><ResponseMetadata><RequestId>"
            f"{uuid.uuid4()}</RequestId></ResponseMetadata></{call.operation}Response>"
        ).encode()
        return self._respond(start_response, 200, body, "text/xml")

    # -- redshift-serverless (JSON protocol) -------------------------------------------------

    def _workgroup_arn(self, call: Call, name: str) -> str:
        """The workgroup's ARN; for one that does not exist, an ARN naming it, so that a
        policy on ``workgroup/*`` lets the caller learn it is missing and others do not."""
        with self._lock:
            workgroup = self._workgroups.get(name)
        if workgroup is not None:
            return str(workgroup["workgroupArn"])
        return f"arn:aws:redshift-serverless:{call.region}:{ACCOUNT_ID}:workgroup/{name}"

    def _workgroup_named(self, name: str) -> dict[str, Any]:
        with self._lock:
            workgroup = self._workgroups.get(name)
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
                association = self._workgroup_domains.get(domain)
            if association is None:
                raise AwsFault(
                    "ResourceNotFoundException",
                    f"No workgroup is associated with custom domain {domain}.",
                )
            return str(association["workgroupName"])
        if not name:
            raise invalid_parameter(call.service, "workgroupName or customDomainName is required.")
        return str(name)

    def _redshift_serverless_CreateWorkgroup(self, call: Call, _: Knobs) -> dict[str, Any]:
        name, region = call.params.get("workgroupName"), call.region
        if not name:
            raise invalid_parameter(call.service, "workgroupName is required.")
        self._authorize(call, call.action, self._workgroup_arn(call, name))
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
            "port": self.endpoint_port,
            "publiclyAccessible": False,
            "endpoint": {"address": self.endpoint_host, "port": self.endpoint_port},
        }
        with self._lock:
            if name in self._workgroups:
                raise AwsFault("ConflictException", f"Workgroup {name} already exists.")
            self._workgroups[name] = workgroup
            # CreateNamespace is not emulated: a workgroup brings its namespace along.
            self._namespaces.setdefault(
                namespace,
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

    def _redshift_serverless_GetWorkgroup(self, call: Call, _: Knobs) -> dict[str, Any]:
        name = call.params.get("workgroupName")
        if not name:
            raise invalid_parameter(call.service, "workgroupName is required.")
        self._authorize(call, call.action, self._workgroup_arn(call, name))
        return {"workgroup": self._workgroup_named(name)}

    def _redshift_serverless_ListWorkgroups(self, call: Call, _: Knobs) -> dict[str, Any]:
        self._authorize(call, call.action, "*")
        with self._lock:
            return {"workgroups": list(self._workgroups.values())}

    def _redshift_serverless_GetNamespace(self, call: Call, _: Knobs) -> dict[str, Any]:
        name = call.params.get("namespaceName")
        if not name:
            raise invalid_parameter(call.service, "namespaceName is required.")
        with self._lock:
            namespace = self._namespaces.get(name)
        arn = (namespace or {}).get(
            "namespaceArn", f"arn:aws:redshift-serverless:{call.region}:{ACCOUNT_ID}:namespace/*"
        )
        self._authorize(call, call.action, str(arn))
        if namespace is None:
            raise AwsFault("ResourceNotFoundException", f"Namespace {name} not found.")
        return {"namespace": namespace}

    def _redshift_serverless_GetCredentials(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        p, service = call.params, call.service
        database = validation.db_name(service, p.get("dbName"), "dbName")
        duration = validation.duration(service, p.get("durationSeconds"), "durationSeconds")
        name = self._workgroup_name(call)
        context = {"redshift-serverless:DbName": database} if database is not None else {}
        self._authorize(call, call.action, self._workgroup_arn(call, name), context)
        self._workgroup_named(name)
        if database is not None:
            self._require_database(call, database)
        login, password, expiration, next_refresh = self._issue_to_caller(call, duration, knobs)
        return {
            "dbUser": login,
            "dbPassword": password,
            "expiration": expiration.timestamp(),
            "nextRefreshTime": next_refresh.timestamp(),
        }

    def _redshift_serverless_CreateCustomDomainAssociation(
        self, call: Call, _: Knobs
    ) -> dict[str, Any]:
        p = call.params
        domain = self._custom_domain(call, p.get("customDomainName"))
        certificate, name = p.get("customDomainCertificateArn"), p.get("workgroupName")
        if not certificate or not name:
            raise invalid_parameter(
                call.service, "customDomainCertificateArn and workgroupName are required."
            )
        self._authorize(call, call.action, self._workgroup_arn(call, name))
        self._workgroup_named(name)
        association = {
            "customDomainName": domain,
            "customDomainCertificateArn": certificate,
            "workgroupName": name,
            "customDomainCertificateExpiryTime": time.time() + 365 * 86400,
        }
        with self._lock:
            if domain in self._workgroup_domains:
                raise AwsFault(
                    "ConflictException", f"Custom domain {domain} is already associated."
                )
            self._workgroup_domains[domain] = association
        return association

    def _redshift_serverless_GetCustomDomainAssociation(
        self, call: Call, _: Knobs
    ) -> dict[str, Any]:
        domain, name = call.params.get("customDomainName"), call.params.get("workgroupName")
        if not domain or not name:
            raise invalid_parameter(
                call.service, "customDomainName and workgroupName are required."
            )
        self._authorize(call, call.action, self._workgroup_arn(call, name))
        with self._lock:
            association = self._workgroup_domains.get(domain)
        if association is None or association["workgroupName"] != name:
            raise AwsFault(
                "ResourceNotFoundException", f"Custom domain association {domain} not found."
            )
        return dict(association)

    def _redshift_serverless_ListCustomDomainAssociations(
        self, call: Call, _: Knobs
    ) -> dict[str, Any]:
        self._authorize(call, call.action, "*")
        domain = call.params.get("customDomainName")
        certificate = call.params.get("customDomainCertificateArn")
        with self._lock:
            return {
                "associations": [
                    dict(association)
                    for association in self._workgroup_domains.values()
                    if domain in (None, association["customDomainName"])
                    and certificate in (None, association["customDomainCertificateArn"])
                ]
            }

    def _json_result(
        self, result: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        return self._respond(
            start_response, 200, json.dumps(result).encode(), "application/x-amz-json-1.1"
        )

    # -- moto pass-through -------------------------------------------------------------------

    def _pass_to_moto(
        self, environ: dict[str, Any], body: bytes, start_response: StartResponse
    ) -> Iterable[bytes]:
        environ = dict(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            captured["status"], captured["headers"] = status, headers

        chunks = self._moto(environ, capture)
        try:
            content = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        # Clusters are reached through the stack's Redshift endpoint, not moto's invented one.
        endpoint = (
            f"<Endpoint><Address>{self.endpoint_host}</Address>"
            f"<Port>{self.endpoint_port}</Port></Endpoint>"
        ).encode()
        content = _ENDPOINT.sub(endpoint, content)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(content))))
        start_response(captured["status"], headers)
        return [content]

    # -- errors and responses ----------------------------------------------------------------

    def _fault(self, call: Call, fault: AwsFault, start_response: StartResponse) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        if call.service == "redshift-serverless":
            body = json.dumps({"__type": fault.code, "message": fault.message}).encode()
            return self._respond(
                start_response,
                fault.status,
                body,
                "application/x-amz-json-1.1",
                extra=[("x-amzn-ErrorType", fault.code)],
                request_id=request_id,
            )
        xmlns = STS_XMLNS if call.service == "sts" else REDSHIFT_XMLNS
        kind = "Receiver" if fault.status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="{xmlns}"><Error><Type>{kind}</Type><Code>{fault.code}</Code>'
            f"<Message>{escape(fault.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return self._respond(start_response, fault.status, body, "text/xml", request_id=request_id)

    @staticmethod
    def _respond(
        start_response: StartResponse,
        status: int,
        body: bytes,
        content_type: str,
        *,
        extra: list[tuple[str, str]] | None = None,
        request_id: str | None = None,
    ) -> Iterable[bytes]:
        reasons = {
            200: "OK",
            400: "Bad Request",
            403: "Forbidden",
            404: "Not Found",
            503: "Service Unavailable",
        }
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", request_id or str(uuid.uuid4())),
            *(extra or []),
        ]
        start_response(f"{status} {reasons.get(status, 'Error')}", headers)
        return [body]

    # -- control API (tests, benchmarks, the CLI) --------------------------------------------

    def _control(
        self, environ: dict[str, Any], start_response: StartResponse, command: str
    ) -> Iterable[bytes]:
        if not secrets.compare_digest(
            environ.get("HTTP_X_LOCAL_STACK_TOKEN", ""), self._control_token
        ):
            return self._respond(start_response, 403, b'{"error": "bad token"}', "application/json")
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if command == "restart-postgres" and self._restart_postgres is not None:
            self._restart_postgres()  # outside the lock: it takes a moment
            command = "state"
        elif command == "create-group":
            # The stack administrator's act (as CREATE GROUP on Redshift), never a request's.
            try:
                self._roles.create_group(str(json.loads(body)["name"]))
            except (ValueError, KeyError, TypeError) as error:
                return self._respond(
                    start_response,
                    400,
                    json.dumps({"error": str(error)}).encode(),
                    "application/json",
                )
            command = "state"
        try:
            with self._lock:
                if command == "knobs" and body:
                    self.knobs.update(json.loads(body))
                elif command == "reset":
                    self.knobs = Knobs()
                    self.calls.clear()
                    self._random.seed(self._seed)  # each test throttles the same calls
                elif command == "clear-issued":
                    self.issued_passwords.clear()
                elif command not in ("state", "knobs", "issued"):
                    raise ValueError(f"unknown control command {command!r}")
                state: dict[str, Any] = {"knobs": asdict(self.knobs), "calls": dict(self.calls)}
                if command == "issued":
                    state["issued_passwords"] = list(self.issued_passwords)
        except (ValueError, TypeError) as error:
            return self._respond(
                start_response, 400, json.dumps({"error": str(error)}).encode(), "application/json"
            )
        return self._respond(start_response, 200, json.dumps(state).encode(), "application/json")
