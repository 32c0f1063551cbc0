"""What the emulator leaves to moto: which operations moto implements (anything else is
answered with AWS's unknown-operation error at once, never moto's HTML 500), the resource
ARN IAM authorises each of them against, and the forwarding itself - with cluster endpoints
rewritten to the stack's Redshift endpoint, as moto invents its own."""

from __future__ import annotations

import importlib
import io
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from .protocols import StartResponse

WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_ENDPOINT = re.compile(rb"<Endpoint>\s*<Address>[^<]*</Address>\s*<Port>[^<]*</Port>\s*</Endpoint>")

# Services whose remaining operations moto answers, and the class that answers them.
MOTO_RESPONSES = {
    "redshift": "moto.redshift.responses:RedshiftResponse",
    "iam": "moto.iam.responses:IamResponse",
    "sts": "moto.sts.responses:TokenResponse",
}
# Answered without any IAM permission, as in AWS.
UNAUTHORIZED_ACTIONS = frozenset({"sts:GetCallerIdentity"})


@cache
def moto_implements(service: str, operation: str) -> bool:
    from moto.core.utils import camelcase_to_underscores

    location = MOTO_RESPONSES.get(service)
    if location is None or not operation.isalnum():
        return False
    module, _, name = location.partition(":")
    responses = getattr(importlib.import_module(module), name)
    return callable(getattr(responses, camelcase_to_underscores(operation), None))


def resource_for(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    *,
    region: str,
    account: str,
    caller_arn: str,
) -> str:
    """The ARN an operation moto answers is authorised against ('*' when AWS uses none)."""
    if service == "redshift":
        cluster = params.get("ClusterIdentifier")
        if cluster or operation.endswith("Clusters") or operation.endswith("Cluster"):
            return f"arn:aws:redshift:{region}:{account}:cluster:{cluster or '*'}"
        return "*"
    if service == "iam":
        iam = f"arn:aws:iam::{account}"
        if "PolicyArn" in params and not {"UserName", "RoleName", "GroupName"} & set(params):
            return str(params["PolicyArn"])
        for key, kind in (("UserName", "user"), ("RoleName", "role"), ("GroupName", "group")):
            if key in params:
                return f"{iam}:{kind}/{params[key]}"
        if operation in ("CreateAccessKey", "ListAccessKeys", "GetUser", "ListUserPolicies"):
            return caller_arn  # without UserName these act on the caller
        return "*"
    return "*"


class MotoPassthrough:
    """Forwards a request to moto's WSGI app and returns its answer, cluster endpoints
    rewritten to ``endpoint_host:endpoint_port``."""

    def __init__(self, moto_app: WsgiApp, endpoint_host: str, endpoint_port: int):
        self._moto = moto_app
        self._endpoint = (
            f"<Endpoint><Address>{endpoint_host}</Address><Port>{endpoint_port}</Port></Endpoint>"
        ).encode()

    def __call__(
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
        content = _ENDPOINT.sub(self._endpoint, content)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(content))))
        start_response(captured["status"], headers)
        return [content]
