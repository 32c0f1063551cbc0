"""What every local stack holds, so docs and tests can name things (docs/local-stack.md,
"What it holds")."""

from __future__ import annotations

import json
from typing import Any

from .postgres import PostgresServer
from .roles import Roles

CLUSTER_ID = "demo-cluster"
WORKGROUP = "demo-workgroup"
DATABASE = "dev"
TABLE = "my_table"
TABLE_ROWS = 42
READER_USER = "alice"  # may read my_table
OTHER_USER = "bob"  # may not
GROUP = "analysts"  # may read my_table
ASSUMABLE_ROLE = "reader"  # an IAM role tests can assume (login IAMR:reader, no privileges)
ADMIN_USER = "admin"  # IAM user allowed everything: seeds the stack; tests use it to edit IAM
REGION = "us-east-1"
ACCOUNT = "123456789012"
CLUSTER_DOMAIN = f"{CLUSTER_ID}.redshift.local.test"
WORKGROUP_DOMAIN = f"{WORKGROUP}.redshift.local.test"
CERTIFICATE_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/local-stack"
# Redshift-managed VPC endpoints (their address is the stack's endpoint: there is no VPC).
CLUSTER_VPC_ENDPOINT = "demo-cluster-endpoint"
WORKGROUP_VPC_ENDPOINT = "demo-workgroup-endpoint"
_REDSHIFT = f"arn:aws:redshift:{REGION}:{ACCOUNT}"
# Reading endpoints and custom domains: everything that discovers where to connect.
DISCOVERY_ACTIONS = [
    "redshift:DescribeClusters",
    "redshift:DescribeCustomDomainAssociations",
    "redshift:DescribeEndpointAccess",
    "redshift-serverless:GetWorkgroup",
    "redshift-serverless:GetEndpointAccess",
    "redshift-serverless:ListWorkgroups",
    "redshift-serverless:GetNamespace",
    "redshift-serverless:GetCustomDomainAssociation",
    "redshift-serverless:ListCustomDomainAssociations",
]

DATA_API_OWNER_ACTIONS = [
    "DescribeStatement",
    "GetStatementResult",
    "GetStatementResultV2",
    "CancelStatement",
    "ListStatements",
]


def seed_database(server: PostgresServer, roles: Roles) -> None:
    with server.admin() as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")
    for user in (READER_USER, OTHER_USER):
        roles.create_user(user)
    roles.create_group(GROUP)
    with server.admin(DATABASE) as conn:
        conn.execute(f"CREATE TABLE public.{TABLE} (id integer PRIMARY KEY, name text NOT NULL)")
        conn.execute(
            f"INSERT INTO public.{TABLE} "  # noqa: S608 - our own constants
            f"SELECT n, 'row ' || n FROM generate_series(1, {TABLE_ROWS}) n"
        )
        conn.execute(f"GRANT SELECT ON public.{TABLE} TO {READER_USER}, {GROUP}")
        # Redshift's default (PostgreSQL 15 dropped CREATE): anyone may build tables in
        # public, as `dbt run` does.
        conn.execute("GRANT CREATE, USAGE ON SCHEMA public TO PUBLIC")


def seeded_policies(workgroup_arn: str) -> dict[str, dict[str, Any]]:
    """The identity-based policies of the seeded IAM users and role (README: "Local stack")."""

    def document(*statements: dict[str, Any]) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": list(statements)}

    discover = {"Sid": "Discover", "Effect": "Allow", "Action": DISCOVERY_ACTIONS, "Resource": "*"}
    own_identity = {
        "Sid": "IdentityMode",
        "Effect": "Allow",
        "Action": "redshift:GetClusterCredentialsWithIAM",
        "Resource": f"{_REDSHIFT}:dbname:{CLUSTER_ID}/{DATABASE}",
    }
    serverless = {
        "Sid": "Serverless",
        "Effect": "Allow",
        "Action": "redshift-serverless:GetCredentials",
        "Resource": workgroup_arn,
    }
    # The Data API, as AWS's managed policy AmazonRedshiftDataFullAccess grants it: run on the
    # cluster and the workgroup; read, cancel and list only one's own statements and sessions.
    data_api_run = {
        "Sid": "DataApiRun",
        "Effect": "Allow",
        "Action": ["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"],
        "Resource": [f"{_REDSHIFT}:cluster:{CLUSTER_ID}", workgroup_arn],
    }
    data_api_own = {
        "Sid": "DataApiOwnStatements",
        "Effect": "Allow",
        "Action": [f"redshift-data:{action}" for action in DATA_API_OWNER_ACTIONS],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}
        },
    }
    data_api_sessions = {
        "Sid": "DataApiOwnSessions",
        "Effect": "Allow",
        "Action": [
            "redshift-data:ExecuteStatement",
            "redshift-data:BatchExecuteStatement",
            "redshift-data:ListSessions",
        ],
        "Resource": [f"arn:aws:redshift-data:{REGION}:{ACCOUNT}:session:*", "*"],
        "Condition": {"StringEquals": {"redshift-data:session-owner-iam-userid": "${aws:userid}"}},
    }
    data_api = (data_api_run, data_api_own, data_api_sessions)
    return {
        READER_USER: document(
            discover,
            *data_api,
            {
                "Sid": "AnyDatabaseUser",
                "Effect": "Allow",
                "Action": ["redshift:GetClusterCredentials", "redshift:CreateClusterUser"],
                "Resource": [
                    f"{_REDSHIFT}:dbuser:{CLUSTER_ID}/*",
                    f"{_REDSHIFT}:dbname:{CLUSTER_ID}/{DATABASE}",
                    f"{_REDSHIFT}:dbgroup:{CLUSTER_ID}/{GROUP}",
                ],
            },
            {
                "Sid": "JoinAnalysts",
                "Effect": "Allow",
                "Action": "redshift:JoinGroup",
                "Resource": f"{_REDSHIFT}:dbgroup:{CLUSTER_ID}/{GROUP}",
            },
            own_identity,
            serverless,
            {
                "Sid": "AssumeReader",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": f"arn:aws:iam::{ACCOUNT}:role/{ASSUMABLE_ROLE}",
            },
        ),
        OTHER_USER: document(
            discover,
            *data_api,
            {
                # AWS's policy variable: each IAM user as the database user of their own name.
                "Sid": "OwnDatabaseUser",
                "Effect": "Allow",
                "Action": "redshift:GetClusterCredentials",
                "Resource": [
                    f"{_REDSHIFT}:dbuser:{CLUSTER_ID}/${{aws:username}}",
                    f"{_REDSHIFT}:dbname:{CLUSTER_ID}/{DATABASE}",
                ],
            },
            own_identity,
            serverless,
        ),
        ASSUMABLE_ROLE: document(discover, *data_api, own_identity, serverless),
    }


def seed_aws(endpoint_url: str, admin_keys: tuple[str, str]) -> dict[str, Any]:
    """Create the cluster, the workgroup, their custom domains, IAM users with access keys and
    policies, and an assumable role, through the emulator's own HTTP API, signed by the stack's
    administrator (``Identities.create_administrator``). Returns the access keys by user."""
    import boto3

    session = boto3.Session(
        aws_access_key_id=admin_keys[0],
        aws_secret_access_key=admin_keys[1],
        region_name=REGION,
    )
    redshift = session.client("redshift", endpoint_url=endpoint_url)
    redshift.create_cluster(
        ClusterIdentifier=CLUSTER_ID,
        NodeType="ra3.xlplus",
        NumberOfNodes=2,
        DBName=DATABASE,
        MasterUsername="awsuser",
        MasterUserPassword="Unused-Password-1",
    )
    redshift.create_custom_domain_association(
        CustomDomainName=CLUSTER_DOMAIN,
        CustomDomainCertificateArn=CERTIFICATE_ARN,
        ClusterIdentifier=CLUSTER_ID,
    )
    redshift.create_endpoint_access(
        ClusterIdentifier=CLUSTER_ID,
        EndpointName=CLUSTER_VPC_ENDPOINT,
        SubnetGroupName="local-subnets",
    )
    serverless = session.client("redshift-serverless", endpoint_url=endpoint_url)
    workgroup = serverless.create_workgroup(
        workgroupName=WORKGROUP, namespaceName="demo-namespace"
    )["workgroup"]
    serverless.create_custom_domain_association(
        customDomainName=WORKGROUP_DOMAIN,
        customDomainCertificateArn=CERTIFICATE_ARN,
        workgroupName=WORKGROUP,
    )
    serverless.create_endpoint_access(
        workgroupName=WORKGROUP, endpointName=WORKGROUP_VPC_ENDPOINT, subnetIds=["subnet-local"]
    )
    policies = seeded_policies(workgroup["workgroupArn"])
    iam = session.client("iam", endpoint_url=endpoint_url)
    keys: dict[str, Any] = {
        ADMIN_USER: {"access_key_id": admin_keys[0], "secret_access_key": admin_keys[1]}
    }
    for user in (READER_USER, OTHER_USER):
        iam.create_user(UserName=user)
        iam.put_user_policy(
            UserName=user, PolicyName="redshift-access", PolicyDocument=json.dumps(policies[user])
        )
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = {
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
        }
    iam.create_role(
        RoleName=ASSUMABLE_ROLE,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        # The account: any of its principals whose own policy allows it.
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    iam.put_role_policy(
        RoleName=ASSUMABLE_ROLE,
        PolicyName="redshift-access",
        PolicyDocument=json.dumps(policies[ASSUMABLE_ROLE]),
    )
    return keys
