"""Least-privilege IAM: the resource ARNs each credential call touches, and the policy
document that grants exactly those. Pure."""

from __future__ import annotations

from typing import Any

from .targets import CredentialRequest, Deployment, Operation

DEFAULT_DATABASE = "dev"


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


def discovery_statement(request: CredentialRequest, region: str, account: str) -> dict[str, Any]:
    target = request.target
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
    """Discovery runs unless an explicit host or a custom domain says where to connect."""
    target = request.target
    return target.host is None and target.custom_domain is None


def policy_document(request: CredentialRequest, region: str, account: str) -> dict[str, Any]:
    """The least-privilege IAM policy for this request."""
    statement: dict[str, Any] = {
        "Sid": "IssueDatabasePassword",
        "Effect": "Allow",
        "Action": request.operation.action,
        "Resource": credential_resources(request, region, account),
    }
    statements = [statement]
    if request.auto_create:
        statements.append(
            {
                "Sid": "AutoCreateDatabaseUser",
                "Effect": "Allow",
                "Action": "redshift:CreateClusterUser",
                "Resource": credential_resources(request, region, account)[0],
            }
        )
    if uses_discovery(request):
        statements.append(discovery_statement(request, region, account))
    return {"Version": "2012-10-17", "Statement": statements}
