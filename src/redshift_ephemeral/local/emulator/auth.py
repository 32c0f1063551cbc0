"""Who is calling, and may they: AWS authentication and authorization for every call,
moto's included.

The SigV4 signature is checked against the keys of IAM users and STS sessions
(``sigv4.py``, ``identities.py``); then the caller's identity-based policies
(``iam_policy.py``) are evaluated on the action and resource ARN AWS itself uses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..iam_policy import AuthorizationRequest, Decision, denial_message, evaluate
from ..identities import Identities, Identity
from ..sigv4 import AuthenticationError, Authorization, ReceivedRequest, verify
from .calls import Call
from .faults import AwsFault, access_denied

UNSIGNED_OPERATIONS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})
"""Signed by no one, as in AWS (the token in the request is the credential)."""


class Auth:
    def __init__(self, identities: Identities, clock: Callable[[], datetime]):
        self.identities = identities
        self._clock = clock

    def authenticate(self, environ: dict[str, Any], body: bytes) -> Identity:
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

    def authorize(
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
