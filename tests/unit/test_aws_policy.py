"""The least-privilege policy document for each kind of request: pure, no AWS."""

from __future__ import annotations

from typing import Any

import pytest

from redshift_ephemeral.aws.policy import credential_resources, policy_document
from redshift_ephemeral.errors import ConfigurationError
from redshift_ephemeral.targets import CredentialRequest, Target

ACCOUNT = "123456789012"
ROLE_ID = "AROAEXAMPLEROLEID1234"


def statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert document["Version"] == "2012-10-17"
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_a_database_user_with_groups_and_auto_create_gets_exactly_those() -> None:
    request = CredentialRequest(
        Target.cluster("demo"),
        db_user="alice",
        db_name="sales",
        db_groups=("readers", "writers"),
        auto_create=True,
    )
    prefix = f"arn:aws:redshift:eu-west-1:{ACCOUNT}"
    found = statements(policy_document(request, "eu-west-1", ACCOUNT))
    assert found == {
        "IssueDatabasePassword": {
            "Sid": "IssueDatabasePassword",
            "Effect": "Allow",
            "Action": "redshift:GetClusterCredentials",
            "Resource": [
                f"{prefix}:dbuser:demo/alice",
                f"{prefix}:dbname:demo/sales",
                f"{prefix}:dbgroup:demo/readers",
                f"{prefix}:dbgroup:demo/writers",
            ],
        },
        "AutoCreateDatabaseUser": {
            "Sid": "AutoCreateDatabaseUser",
            "Effect": "Allow",
            "Action": "redshift:CreateClusterUser",
            "Resource": f"{prefix}:dbuser:demo/alice",
        },
        "JoinDatabaseGroups": {
            "Sid": "JoinDatabaseGroups",
            "Effect": "Allow",
            "Action": "redshift:JoinGroup",
            "Resource": [f"{prefix}:dbgroup:demo/readers", f"{prefix}:dbgroup:demo/writers"],
        },
        "DiscoverClusterEndpoint": {
            "Sid": "DiscoverClusterEndpoint",
            "Effect": "Allow",
            "Action": "redshift:DescribeClusters",
            "Resource": f"{prefix}:cluster:demo",
        },
    }


def test_the_iam_identity_mode_grants_the_database_alone() -> None:
    request = CredentialRequest(Target.cluster("demo"), db_name="dev")
    found = statements(policy_document(request, "us-east-1", ACCOUNT))
    assert set(found) == {"IssueDatabasePassword", "DiscoverClusterEndpoint"}
    issue = found["IssueDatabasePassword"]
    assert issue["Action"] == "redshift:GetClusterCredentialsWithIAM"
    assert issue["Resource"] == [f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbname:demo/dev"]


def test_a_serverless_workgroup_is_granted_by_workgroup_arn() -> None:
    request = CredentialRequest(Target.workgroup("analytics"))
    found = statements(policy_document(request, "us-east-1", ACCOUNT))
    workgroups = [f"arn:aws:redshift-serverless:us-east-1:{ACCOUNT}:workgroup/*"]
    assert found["IssueDatabasePassword"]["Action"] == "redshift-serverless:GetCredentials"
    assert found["IssueDatabasePassword"]["Resource"] == workgroups
    assert found["DiscoverWorkgroupEndpoint"]["Action"] == "redshift-serverless:GetWorkgroup"
    assert found["DiscoverWorkgroupEndpoint"]["Resource"] == workgroups


def test_an_explicit_host_needs_no_discovery_permission() -> None:
    request = CredentialRequest(
        Target.cluster("demo", host="tunnel.example.com", port=5439), db_user="alice"
    )
    assert set(statements(policy_document(request, "us-east-1", ACCOUNT))) == {
        "IssueDatabasePassword"
    }


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_arns_name_the_regions_partition(region: str, partition: str) -> None:
    request = CredentialRequest(Target.cluster("demo"), db_user="alice")
    for arn in credential_resources(request, region, ACCOUNT):
        assert arn.startswith(f"arn:{partition}:redshift:{region}:{ACCOUNT}:")


def test_self_service_grants_each_role_session_its_own_database_user() -> None:
    request = CredentialRequest(Target.cluster("demo"), db_user="alice", auto_create=True)
    found = statements(policy_document(request, "us-east-1", ACCOUNT, self_service_role_id=ROLE_ID))
    condition = {"StringEquals": {"aws:userid": f"{ROLE_ID}:${{redshift:DbUser}}"}}
    dbuser = f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbuser:demo/${{redshift:DbUser}}"
    assert found["IssueDatabasePassword"]["Resource"][0] == dbuser
    assert found["IssueDatabasePassword"]["Condition"] == condition
    assert found["AutoCreateDatabaseUser"]["Resource"] == dbuser
    assert found["AutoCreateDatabaseUser"]["Condition"] == condition
    assert "alice" not in str(found)


@pytest.mark.parametrize(
    ("request_", "role_id", "message"),
    [
        (CredentialRequest(Target.cluster("demo")), ROLE_ID, "--db-user"),
        (CredentialRequest(Target.workgroup("analytics")), ROLE_ID, "--db-user"),
        (CredentialRequest(Target.cluster("demo"), db_user="alice"), "AIDAUSERID1", "AROA"),
    ],
)
def test_self_service_refuses_what_it_cannot_express(
    request_: CredentialRequest, role_id: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        policy_document(request_, "us-east-1", ACCOUNT, self_service_role_id=role_id)
