"""What every local stack holds, so docs and tests can name things (SPEC §6)."""

from __future__ import annotations

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
REGION = "us-east-1"


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


def seed_aws(endpoint_url: str) -> dict[str, Any]:
    """Create the cluster, the workgroup, IAM users with access keys and an assumable role,
    through the emulator's own HTTP API. Returns the access keys by user."""
    import boto3

    session = boto3.Session(
        aws_access_key_id="AKIASTACKSEEDER00000",
        aws_secret_access_key="seed",  # noqa: S106 - a dummy key for the emulator
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
    session.client("redshift-serverless", endpoint_url=endpoint_url).create_workgroup(
        workgroupName=WORKGROUP, namespaceName="demo-namespace"
    )
    iam = session.client("iam", endpoint_url=endpoint_url)
    keys: dict[str, Any] = {}
    for user in (READER_USER, OTHER_USER):
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = {
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
        }
    iam.create_role(
        RoleName=ASSUMABLE_ROLE,
        AssumeRolePolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
            '{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}'
        ),
    )
    return keys
