"""An AWS control-plane emulator on loopback that an unmodified boto3 client reaches through
``endpoint_url``.

moto's server answers what moto implements (CreateCluster, DescribeClusters, STS, IAM); this
WSGI layer in front of it answers what moto lacks or must do differently:

* the credential calls (GetClusterCredentials, GetClusterCredentialsWithIAM, serverless
  GetCredentials): each password is recorded for the Redshift endpoint to check
  (``passwords.py``) and its login role gets exactly its memberships (``roles.py``);
* redshift-serverless CreateWorkgroup / GetWorkgroup (JSON protocol);
* endpoints rewritten to the stack's Redshift endpoint (``redshift_endpoint.py``);
* knobs for tests and benchmarks: time scale, latency, throttling, denied actions, outage,
  call counts and a record of issued passwords.

Errors have AWS's codes and shapes (query/XML for redshift and sts, JSON for
redshift-serverless), so botocore raises what it would raise against AWS.
"""

from __future__ import annotations

import contextlib
import fnmatch
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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .passwords import IssuedPasswords
from .roles import RoleKind, RoleNameTaken, Roles

logger = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
REDSHIFT_XMLNS = "http://redshift.amazonaws.com/doc/2012-12-01/"
STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
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
    deny: list[dict[str, str]] = field(
        default_factory=list
    )  # [{"principal": glob, "action": glob}]
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

    def denies(self, principal: str, action: str) -> bool:
        return any(
            fnmatch.fnmatchcase(principal, rule.get("principal", "*"))
            and fnmatch.fnmatchcase(action, rule.get("action", "*"))
            for rule in self.deny
        )


class AwsFault(Exception):
    """An error answered in the service's own wire format."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class Call:
    service: str  # signing name: redshift, redshift-serverless, sts, iam
    operation: str
    params: dict[str, Any]
    access_key: str
    region: str

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"


def _timestamp_xml(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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
        if call is None:
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
            principal = self._principal(call)
            if knobs.denies(principal, call.action):
                raise AwsFault(
                    "AccessDeniedException"
                    if call.service == "redshift-serverless"
                    else "AccessDenied",
                    f"User: {principal} is not authorized to perform: {call.action} on "
                    f"resource: {self._resource(call)} because no identity-based policy allows "
                    f"the {call.action} action",
                    403,
                )
            handler = getattr(self, f"_{call.service.replace('-', '_')}_{call.operation}", None)
            if handler is None:
                return self._pass_to_moto(environ, body, start_response)
            result = handler(call, knobs)
        except AwsFault as fault:
            return self._fault(call, fault, start_response)
        if call.service == "redshift":
            return self._xml_result(call, result, start_response)
        return self._json_result(result, start_response)

    # -- parsing -----------------------------------------------------------------------------

    def _parse(self, environ: dict[str, Any], body: bytes) -> Call | None:
        scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None:
            return None
        service = scope["service"]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            operation = target.rsplit(".", 1)[-1]
            params = json.loads(body or b"{}")
        else:
            form = {key: values[-1] for key, values in parse_qs(body.decode()).items()}
            operation = form.pop("Action", "")
            form.pop("Version", None)
            params = dict(form)
            groups = [value for key, value in sorted(form.items()) if key.startswith("DbGroups.")]
            if groups:
                params["DbGroups"] = groups
        return Call(service, operation, params, scope["key"], scope["region"])

    def _principal(self, call: Call) -> str:
        from moto.sts.models import sts_backends

        backend = sts_backends[ACCOUNT_ID]["aws"]
        identity = backend.get_caller_identity(call.access_key, call.region)
        return str(identity[1])

    def _resource(self, call: Call) -> str:
        p, region = call.params, call.region
        prefix = f"arn:aws:redshift:{region}:{ACCOUNT_ID}"
        cluster = p.get("ClusterIdentifier") or p.get("CustomDomainName") or "*"
        if call.operation == "GetClusterCredentials":
            return f"{prefix}:dbuser:{cluster}/{p.get('DbUser')}"
        if call.operation == "GetClusterCredentialsWithIAM":
            return f"{prefix}:dbname:{cluster}/{p.get('DbName') or 'dev'}"
        if call.operation == "DescribeClusters":
            return f"{prefix}:cluster:{cluster}"
        if call.service == "redshift-serverless":
            workgroup = self._workgroups.get(p.get("workgroupName", ""), {})
            return str(
                workgroup.get(
                    "workgroupArn", f"arn:aws:redshift-serverless:{region}:{ACCOUNT_ID}:workgroup/*"
                )
            )
        if call.operation == "AssumeRole":
            return str(p.get("RoleArn", "*"))
        return "*"

    # -- redshift (query protocol) -----------------------------------------------------------

    def _cluster(self, call: Call) -> Any:
        from moto.redshift.models import redshift_backends

        identifier = call.params.get("ClusterIdentifier")
        if identifier is None:
            raise AwsFault(
                "ClusterNotFound",
                f"Cluster for custom domain {call.params.get('CustomDomainName')} not found.",
                404,
            )
        clusters = redshift_backends[ACCOUNT_ID][call.region].clusters
        if identifier not in clusters:
            raise AwsFault("ClusterNotFound", f"Cluster {identifier} not found.", 404)
        return clusters[identifier]

    @staticmethod
    def _duration(value: Any, name: str = "DurationSeconds") -> int:
        duration = int(value) if value is not None else 900
        if not 900 <= duration <= 3600:
            raise AwsFault("InvalidParameterValue", f"{name} must be between 900 and 3600 seconds.")
        return duration

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
        self._cluster(call)
        p = call.params
        user = p.get("DbUser")
        if not user:
            raise AwsFault("InvalidParameterValue", "DbUser is required.")
        duration = self._duration(p.get("DurationSeconds"))
        auto_create = str(p.get("AutoCreate", "false")).lower() == "true"
        kind = self._roles.kind_of(user)
        exists = kind is RoleKind.USER
        created = False
        if kind is None and auto_create:
            with contextlib.suppress(RoleNameTaken):
                self._roles.create_user(user)
                created = True
        prefix = "IAMA:" if created else "IAM:"
        login = prefix + user
        # A DbUser that is not a database user (unknown without AutoCreate, or a group, a
        # system role, the administrator): AWS still answers; the login then fails.
        password, expiration = self._issue(
            login,
            user,
            p.get("DbGroups", []),
            duration,
            knobs,
            create_login=exists or created,
        )
        return {"DbUser": login, "DbPassword": password, "Expiration": expiration}

    def _redshift_GetClusterCredentialsWithIAM(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        self._cluster(call)
        duration = self._duration(call.params.get("DurationSeconds"))
        login, password, expiration, next_refresh = self._issue_to_caller(call, duration, knobs)
        return {
            "DbUser": login,
            "DbPassword": password,
            "Expiration": expiration,
            "NextRefreshTime": next_refresh,
        }

    def _issue_to_caller(
        self, call: Call, duration: int, knobs: Knobs
    ) -> tuple[str, str, datetime, datetime]:
        """Identity mode: the login is the caller's IAM identity, with the privileges of the
        database user of the same name. Returns login, password, expiration, next refresh."""
        login = login_name_for(self._principal(call))
        password, expiration = self._issue(login, login.split(":", 1)[1], (), duration, knobs)
        next_refresh = expiration - (expiration - datetime.now(UTC)) / 4
        return login, password, expiration, next_refresh

    def _xml_result(
        self, call: Call, result: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        fields = "".join(
            f"<{key}>{escape(_timestamp_xml(value) if isinstance(value, datetime) else str(value))}"
            f"</{key}>"
            for key, value in result.items()
        )
        body = (
            f'<{call.operation}Response xmlns="{REDSHIFT_XMLNS}"><{call.operation}Result>'
            f"{fields}</{call.operation}Result><ResponseMetadata><RequestId>{uuid.uuid4()}"
            f"</RequestId></ResponseMetadata></{call.operation}Response>"
        ).encode()
        return self._respond(start_response, 200, body, "text/xml")

    # -- redshift-serverless (JSON protocol) -------------------------------------------------

    def _workgroup(self, call: Call) -> dict[str, Any]:
        name = call.params.get("workgroupName")
        if name is None:
            raise AwsFault(
                "ResourceNotFoundException",
                f"Workgroup for custom domain {call.params.get('customDomainName')} not found.",
            )
        with self._lock:
            workgroup = self._workgroups.get(name)
        if workgroup is None:
            raise AwsFault("ResourceNotFoundException", f"Workgroup {name} not found.")
        return workgroup

    def _redshift_serverless_CreateWorkgroup(self, call: Call, _: Knobs) -> dict[str, Any]:
        name, region = call.params["workgroupName"], call.region
        workgroup_id = str(uuid.uuid4())
        workgroup = {
            "workgroupName": name,
            "workgroupId": workgroup_id,
            "workgroupArn": f"arn:aws:redshift-serverless:{region}:{ACCOUNT_ID}:workgroup/"
            f"{workgroup_id}",
            "namespaceName": call.params.get("namespaceName", "default"),
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
        return {"workgroup": workgroup}

    def _redshift_serverless_GetWorkgroup(self, call: Call, _: Knobs) -> dict[str, Any]:
        return {"workgroup": self._workgroup(call)}

    def _redshift_serverless_GetCredentials(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        self._workgroup(call)
        try:
            duration = self._duration(call.params.get("durationSeconds"), "durationSeconds")
        except AwsFault as fault:
            raise AwsFault("ValidationException", fault.message) from None
        login, password, expiration, next_refresh = self._issue_to_caller(call, duration, knobs)
        return {
            "dbUser": login,
            "dbPassword": password,
            "expiration": expiration.timestamp(),
            "nextRefreshTime": next_refresh.timestamp(),
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
