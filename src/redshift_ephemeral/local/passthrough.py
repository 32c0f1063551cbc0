"""What the emulator leaves to moto: which operations moto implements (anything else is
answered with AWS's unknown-operation error at once, never moto's HTML 500), and the resource
ARN IAM authorises each of them against."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import Any

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
