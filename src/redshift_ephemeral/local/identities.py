"""Who signed a request, from moto's IAM and STS state: the access key's secret, the principal
it stands for (an IAM user, or a role session that STS issued in this stack) and the
identity-based policies that apply to that principal.

Read straight from moto's backends so that users, keys, roles and policies created through
the ordinary IAM API (CreateUser, CreateAccessKey, PutUserPolicy, AttachRolePolicy, …) take
effect at the next call, as in AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .sigv4 import SigningKey

PARTITION = "aws"
# What the stack's administrator may do: everything, as AWS's AdministratorAccess.
ADMINISTRATOR_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


@dataclass(frozen=True)
class Identity:
    """A principal as IAM sees it."""

    arn: str  # arn:aws:iam::…:user/alice or arn:aws:sts::…:assumed-role/reader/session
    user_id: str  # aws:userid: the user's id, or "<role id>:<session name>"
    kind: str  # "user" or "assumed-role"
    name: str  # the user's or the role's name
    key: SigningKey

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    def context(self) -> dict[str, str]:
        """The global condition keys AWS puts in every request context for this principal."""
        values = {
            "aws:userid": self.user_id,
            "aws:PrincipalArn": self.principal_arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalType": "User" if self.kind == "user" else "AssumedRole",
        }
        if self.kind == "user":
            values["aws:username"] = self.name
        return values

    @property
    def principal_arn(self) -> str:
        """For a role session, the role's ARN (what ``aws:PrincipalArn`` holds)."""
        if self.kind == "user":
            return self.arn
        return f"arn:{PARTITION}:iam::{self.account}:role/{self.name}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Identities:
    """Look-ups in moto's IAM and STS backends for one account."""

    def __init__(self, account_id: str):
        self.account_id = account_id

    @property
    def iam(self) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[self.account_id][PARTITION]

    @property
    def sts(self) -> Any:
        from moto.sts.models import sts_backends

        return sts_backends[self.account_id][PARTITION]

    def find(self, access_key_id: str) -> Identity | None:
        """The principal an access key belongs to; None for unknown or inactive keys."""
        for user in list(self.iam.users.values()):
            for key in list(user.access_keys):
                if key.access_key_id == access_key_id and key.status == "Active":
                    return Identity(
                        arn=user.arn,
                        user_id=user.id,
                        kind="user",
                        name=user.name,
                        key=SigningKey(access_key_id, key.secret_access_key),
                    )
        for session in list(self.sts.assumed_roles):
            if session.access_key_id == access_key_id:
                role_name = session.role_arn.split("/")[-1]
                return Identity(
                    arn=session.arn,
                    user_id=session.user_id,
                    kind="assumed-role",
                    name=role_name,
                    key=SigningKey(
                        access_key_id,
                        session.secret_access_key,
                        session.session_token,
                        _aware(session.expiration),
                    ),
                )
        return None

    def policies(self, identity: Identity) -> list[str]:
        """Every identity-based policy document of the principal: inline and attached, and
        for a user those of its groups."""
        if identity.kind == "user":
            user = self.iam.users.get(identity.name)
            if user is None:
                return []
            holders = [user, *self.iam.get_groups_for_user(user.name)]
        else:
            role = self._role_named(identity.name)
            holders = [role] if role is not None else []
        documents: list[str] = []
        for holder in holders:
            documents += [str(document) for document in holder.policies.values()]
            for managed in holder.managed_policies.values():
                documents += [
                    str(version.document) for version in managed.versions if version.is_default
                ]
        return documents

    def _role_named(self, name: str) -> Any:
        for role in list(self.iam.roles.values()):
            if role.name == name:
                return role
        return None

    def role(self, arn: str) -> Any:
        """The IAM role with this ARN, or None."""
        for role in list(self.iam.roles.values()):
            if role.arn == arn:
                return role
        return None

    def create_administrator(self, name: str, region: str) -> tuple[str, str]:
        """An IAM user allowed everything, created in the backend directly: the stack's
        bootstrap identity, which seeds everything else through the ordinary API. Returns its
        access key id and secret."""
        user = self.iam.create_user(region_name=region, user_name=name)
        self.iam.put_user_policy(name, "AdministratorAccess", ADMINISTRATOR_POLICY)
        key = self.iam.create_access_key(user_name=user.name)
        return str(key.access_key_id), str(key.secret_access_key)
