"""AWS's two wire protocols, as the emulated services speak them: reading a request into a
``Call``, and writing a result or an error back.

* query protocol (redshift, sts, iam): a form-encoded ``Action=...`` body in, XML out;
* JSON protocol (redshift-serverless): ``X-Amz-Target`` names the operation, JSON both ways.

Errors have AWS's shapes for each, so botocore raises what it would raise against AWS.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .calls import Call
from .faults import JSON_SERVICES, AwsFault

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

REDSHIFT_XMLNS = "http://redshift.amazonaws.com/doc/2012-12-01/"
STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
_CREDENTIAL_SCOPE = re.compile(
    r"Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/"
)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    503: "Service Unavailable",
}

# -- requests ---------------------------------------------------------------------------------


def read_body(environ: dict[str, Any]) -> bytes:
    return bytes(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))


def parse_call(environ: dict[str, Any], body: bytes) -> Call:
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


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Members:
    """A list in the query protocol: each item in an element named ``member_name``."""

    member_name: str
    items: list[Any]


def result_response(
    call: Call, result: dict[str, Any], start_response: StartResponse
) -> Iterable[bytes]:
    """A handler's result in the call's protocol."""
    if call.service in JSON_SERVICES:
        return respond(start_response, 200, json.dumps(result).encode(), JSON_CONTENT_TYPE)
    xmlns = {"sts": STS_XMLNS, "iam": IAM_XMLNS}.get(call.service, REDSHIFT_XMLNS)
    body = (
        f'<{call.operation}Response xmlns="{xmlns}"><{call.operation}Result>'
        f"{xml_elements(result)}</{call.operation}Result><ResponseMetadata><RequestId>"
        f"{uuid.uuid4()}</RequestId></ResponseMetadata></{call.operation}Response>"
    ).encode()
    return respond(start_response, 200, body, "text/xml")


def timestamp_xml(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def xml_elements(fields: Mapping[str, Any]) -> str:
    """``{"A": 1, "B": {"C": "x"}}`` → ``<A>1</A><B><C>x</C></B>``; None values are left out."""
    return "".join(
        f"<{name}>{_xml_value(value)}</{name}>"
        for name, value in fields.items()
        if value is not None
    )


def _xml_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return xml_elements(value)
    if isinstance(value, Members):
        return "".join(
            f"<{value.member_name}>{_xml_value(item)}</{value.member_name}>" for item in value.items
        )
    if isinstance(value, datetime):
        return timestamp_xml(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


# -- errors -----------------------------------------------------------------------------------


def fault_response(call: Call, fault: AwsFault, start_response: StartResponse) -> Iterable[bytes]:
    """An AWS error in the call's protocol, under the code that protocol uses."""
    fault = fault.for_service(call.service)
    request_id = str(uuid.uuid4())
    if call.service in JSON_SERVICES:
        body = json.dumps({"__type": fault.code, "message": fault.message}).encode()
        return respond(
            start_response,
            fault.status,
            body,
            JSON_CONTENT_TYPE,
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
    return respond(start_response, fault.status, body, "text/xml", request_id=request_id)


def respond(
    start_response: StartResponse,
    status: int,
    body: bytes,
    content_type: str,
    *,
    extra: list[tuple[str, str]] | None = None,
    request_id: str | None = None,
) -> Iterable[bytes]:
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", request_id or str(uuid.uuid4())),
        *(extra or []),
    ]
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]
