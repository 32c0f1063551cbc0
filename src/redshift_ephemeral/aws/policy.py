"""Least-privilege IAM: the resource ARNs each credential call touches, and the policy
document that grants exactly those. Pure.

What AWS authorises (API reference, GetClusterCredentials): the call on the ``dbuser``, the
``dbname`` and each ``dbgroup``; ``redshift:JoinGroup`` on each ``dbgroup``;
``redshift:CreateClusterUser`` on the ``dbuser`` when AutoCreate is true.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigurationError
from ..targets import CredentialRequest, Deployment, Operation, Target

DEFAULT_DATABASE = "dev"
_ROLE_ID = re.compile(r"AROA[A-Z0-9]{4,124}")


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def credential_resources(request: CredentialRequest, region: str, account: str) -> list[str]:
    """ARNs the credential call is authorised against (AWS docs: "Resource types defined by
    Amazon Redshift")."""
    target = request.target
    if target.deployment is Deployment.SERVERLESS:
        # The workgroup's ARN holds its generated id, not its name.
        return [f"arn:{_partition(region)}:redshift-serverless:{region}:{account}:workgroup/*"]
    prefix = f"arn:{_partition(region)}:redshift:{region}:{account}"
    cluster = target.name or "*"
    database = request.db_name or "*"
    if request.operation is Operation.GET_CLUSTER_CREDENTIALS_WITH_IAM:
        return [f"{prefix}:dbname:{cluster}/{database}"]
    resources = [
        f"{prefix}:dbuser:{cluster}/{request.db_user}",
        f"{prefix}:dbname:{cluster}/{database}",
    ]
    resources += [f"{prefix}:dbgroup:{cluster}/{group}" for group in request.db_groups]
    return resources


def discovery_action(target: Target) -> str:
    """The IAM action of the call that finds ``target``'s endpoint."""
    serverless = target.deployment is Deployment.SERVERLESS
    if target.endpoint_name is not None:
        return (
            "redshift-serverless:GetEndpointAccess"
            if serverless
            else "redshift:DescribeEndpointAccess"
        )
    return "redshift-serverless:GetWorkgroup" if serverless else "redshift:DescribeClusters"


def discovery_statement(request: CredentialRequest, region: str, account: str) -> dict[str, Any]:
    target = request.target
    if target.endpoint_name is not None:
        # Written on "*": the endpoint is looked up by its name, and its ARN (with a
        # generated id for serverless) is not known before.
        return {
            "Sid": "DiscoverVpcEndpoint",
            "Effect": "Allow",
            "Action": discovery_action(target),
            "Resource": "*",
        }
    if target.deployment is Deployment.SERVERLESS:
        return {
            "Sid": "DiscoverWorkgroupEndpoint",
            "Effect": "Allow",
            "Action": "redshift-serverless:GetWorkgroup",
            "Resource": credential_resources(request, region, account),
        }
    return {
        "Sid": "DiscoverClusterEndpoint",
        "Effect": "Allow",
        "Action": "redshift:DescribeClusters",
        "Resource": f"arn:{_partition(region)}:redshift:{region}:{account}:cluster:"
        f"{target.name or '*'}",
    }


def uses_discovery(request: CredentialRequest) -> bool:
    """Discovery runs unless an explicit host or a custom domain says where to connect (an
    endpoint name is discovered too: DescribeEndpointAccess / GetEndpointAccess)."""
    target = request.target
    return target.host is None and target.custom_domain is None


SELF_SERVICE_DB_USER = "${redshift:DbUser}"


def policy_document(
    request: CredentialRequest,
    region: str,
    account: str,
    *,
    self_service_role_id: str | None = None,
    data_api: bool = False,
) -> dict[str, Any]:
    """The least-privilege IAM policy for this request.

    ``self_service_role_id``: AWS's self-service pattern instead of the one database user -
    any session of the role with that unique id (``AROA…``) may get credentials as the
    database user named like its session, and no other: ``dbuser:<cluster>/${redshift:DbUser}``
    under the condition ``aws:userid`` = ``<role id>:${redshift:DbUser}``.
    """
    resources = credential_resources(request, region, account)
    condition: dict[str, Any] | None = None
    if self_service_role_id is not None:
        if request.operation is not Operation.GET_CLUSTER_CREDENTIALS:
            raise ConfigurationError(
                "--self-service applies to a named database user (--db-user): with the IAM "
                "identity modes the database user already is the caller."
            )
        if not _ROLE_ID.fullmatch(self_service_role_id):
            raise ConfigurationError(
                f"Invalid role id {self_service_role_id!r}: a role's unique id starts with "
                "'AROA' (aws iam get-role --role-name NAME --query Role.RoleId)."
            )
        dbuser = resources[0].rsplit("/", 1)[0] + "/" + SELF_SERVICE_DB_USER
        resources = [dbuser, *resources[1:]]
        condition = {
            "StringEquals": {"aws:userid": f"{self_service_role_id}:{SELF_SERVICE_DB_USER}"}
        }
    statement: dict[str, Any] = {
        "Sid": "IssueDatabasePassword",
        "Effect": "Allow",
        "Action": request.operation.action,
        "Resource": resources,
    }
    if condition is not None:
        statement["Condition"] = condition
    statements = [statement]
    if request.auto_create:
        create: dict[str, Any] = {
            "Sid": "AutoCreateDatabaseUser",
            "Effect": "Allow",
            "Action": "redshift:CreateClusterUser",
            "Resource": resources[0],
        }
        if condition is not None:
            create["Condition"] = condition
        statements.append(create)
    groups = [arn for arn in resources if ":dbgroup:" in arn]
    if groups:
        statements.append(
            {
                "Sid": "JoinDatabaseGroups",
                "Effect": "Allow",
                "Action": "redshift:JoinGroup",
                "Resource": groups,
            }
        )
    if data_api:
        statements += data_api_statements(request, region, account)
    elif uses_discovery(request):
        statements.append(discovery_statement(request, region, account))
    return {"Version": "2012-10-17", "Statement": statements}


DATA_API_OWNER_ACTIONS = (
    "redshift-data:DescribeStatement",
    "redshift-data:GetStatementResult",
    "redshift-data:GetStatementResultV2",
    "redshift-data:CancelStatement",
    "redshift-data:ListStatements",
)


def data_api_statements(
    request: CredentialRequest, region: str, account: str
) -> list[dict[str, Any]]:
    """What the Data API driver needs beyond the credential call (which the service makes
    on the caller's behalf): running statements on the cluster or workgroup, running them
    in the caller's own sessions, and reading, cancelling and listing only the caller's own
    statements and sessions - as AWS's AmazonRedshiftDataFullAccess grants them."""
    partition = _partition(region)
    target = request.target
    if target.deployment is Deployment.SERVERLESS:
        where = f"arn:{partition}:redshift-serverless:{region}:{account}:workgroup/*"
    else:
        where = f"arn:{partition}:redshift:{region}:{account}:cluster:{target.name or '*'}"
    run = ["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"]
    return [
        {"Sid": "DataApiRunStatements", "Effect": "Allow", "Action": run, "Resource": where},
        {
            "Sid": "DataApiOwnSessions",
            "Effect": "Allow",
            "Action": [*run, "redshift-data:ListSessions"],
            "Resource": [f"arn:{partition}:redshift-data:{region}:{account}:session:*", "*"],
            "Condition": {
                "StringEquals": {"redshift-data:session-owner-iam-userid": "${aws:userid}"}
            },
        },
        {
            "Sid": "DataApiOwnStatements",
            "Effect": "Allow",
            "Action": list(DATA_API_OWNER_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}
            },
        },
    ]
