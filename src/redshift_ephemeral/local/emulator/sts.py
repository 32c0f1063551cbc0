"""Handlers of STS (query protocol) that moto must answer differently: AssumeRole, done as
AWS does it. The role must exist and its trust policy must trust the caller (and, when it
trusts the caller's whole account, an identity-based policy must allow ``sts:AssumeRole``
too); the session expires on the stack's time scale.

moto's own AssumeRole mints credentials for any ARN, existing or not, and checks nothing.
GetCallerIdentity and the web-identity / SAML calls are moto's (``passthrough.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..iam_policy import AuthorizationRequest, Trust, evaluate_trust
from ..identities import Identities, Identity
from .auth import Auth
from .calls import Call, Handler
from .faults import AwsFault
from .knobs import Knobs

_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
Authorize = Callable[[str, str, dict[str, str]], None]


class StsHandlers:
    def __init__(self, auth: Auth, clock: Callable[[], datetime]):
        self._auth = auth
        self._clock = clock

    def operations(self) -> dict[str, Handler]:
        return {"AssumeRole": self.assume_role}

    def assume_role(self, call: Call, knobs: Knobs) -> dict[str, Any]:
        return assume_role(
            call.params,
            call.caller,
            self._auth.identities,
            region=call.region,
            now=self._clock(),
            time_scale=knobs.time_scale,
            authorize=lambda action, resource, context: self._auth.authorize(
                call, action, resource, context
            ),
        )


def _validation(message: str) -> AwsFault:
    return AwsFault("ValidationError", message)


def assume_role(
    params: Mapping[str, Any],
    caller: Identity,
    identities: Identities,
    *,
    region: str,
    now: datetime,
    time_scale: float,
    authorize: Authorize,
) -> dict[str, Any]:
    """The AssumeRoleResult fields; ``authorize`` checks the caller's identity policies."""
    role_arn = str(params.get("RoleArn") or "")
    session_name = str(params.get("RoleSessionName") or "")
    if len(role_arn) < 20:
        raise _validation(
            "1 validation error detected: Value at 'roleArn' failed to satisfy "
            "constraint: Member must have length greater than or equal to 20"
        )
    if not _SESSION_NAME.fullmatch(session_name):
        raise _validation(
            f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed "
            "to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )
    # AWS never says whether a role exists: a missing role is refused like an untrusted one.
    refused = AwsFault(
        "AccessDenied",
        f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        403,
    )
    role = identities.role(role_arn)
    if role is None:
        raise refused
    maximum = int(role.max_session_duration or 3600)
    duration = int(params.get("DurationSeconds") or 3600)
    if duration < 900:
        raise _validation(
            "1 validation error detected: Value at 'durationSeconds' failed to satisfy "
            "constraint: Member must have value greater than or equal to 900"
        )
    if duration > maximum:
        raise _validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    context = {**caller.context(), "sts:RoleSessionName": session_name}
    if params.get("ExternalId"):
        context["sts:ExternalId"] = str(params["ExternalId"])
    trust = evaluate_trust(
        role.assume_role_policy_document,
        [caller.arn, caller.principal_arn],
        caller.account,
        AuthorizationRequest("sts:AssumeRole", role_arn, context),
    )
    if trust is Trust.DENIED:
        raise refused
    if trust is Trust.ACCOUNT:
        authorize("sts:AssumeRole", role_arn, {"sts:RoleSessionName": session_name})
    session = identities.sts.assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=params.get("Policy"),
        duration=duration,
        external_id=params.get("ExternalId"),
    )
    expiration = now + timedelta(seconds=duration * time_scale)
    session.expiration = expiration.astimezone(UTC).replace(tzinfo=None)  # moto keeps naive UTC
    return {
        "Credentials": {
            "AccessKeyId": session.access_key_id,
            "SecretAccessKey": session.secret_access_key,
            "SessionToken": session.session_token,
            "Expiration": expiration,
        },
        "AssumedRoleUser": {"AssumedRoleId": session.user_id, "Arn": session.arn},
        "PackedPolicySize": 6 if params.get("Policy") else None,
    }
