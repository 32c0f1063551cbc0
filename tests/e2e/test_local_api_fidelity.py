"""The emulated operations answer as AWS does: AutoCreate's prefix, parameter rules with
AWS's codes, unknown operations at once, custom domain names."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from redshift_ephemeral.local import LocalStack, seed
from tests.e2e.test_local_iam import client, credentials, error
from tests.leak_scan import raises


def test_auto_create_answers_iama_every_time(redshift_local: LocalStack) -> None:
    assert credentials(redshift_local, DbUser="alice", AutoCreate=True)["DbUser"] == "IAMA:alice"
    assert credentials(redshift_local, DbUser="alice", AutoCreate=True)["DbUser"] == "IAMA:alice"
    assert credentials(redshift_local, DbUser="alice", AutoCreate=False)["DbUser"] == "IAM:alice"


@pytest.mark.parametrize(
    "params",
    [
        {"DbUser": "1alice"},
        {"DbUser": "PUBLIC"},
        {"DbUser": "select"},
        {"DbUser": "a" * 65},
        {"DbUser": "al:ice"},
        {"DbUser": "alice", "DbGroups": ["Analysts"]},
        {"DbUser": "alice", "DbGroups": ["group"]},
        {"DbUser": "alice", "DbName": "dev/x"},
        {"DbUser": "alice", "DurationSeconds": 899},
        {"DbUser": "alice", "DurationSeconds": 3601},
    ],
)
def test_parameters_break_aws_rules_are_invalid_parameter_value(
    redshift_local: LocalStack, params: dict[str, Any]
) -> None:
    params = {"DbName": seed.DATABASE, **params}
    redshift = client(redshift_local, "redshift")
    code, _ = error(redshift.get_cluster_credentials, ClusterIdentifier=seed.CLUSTER_ID, **params)
    assert code == "InvalidParameterValue"


def test_invalid_parameters_issue_no_password(redshift_local: LocalStack) -> None:
    redshift_local.clear_issued_passwords()
    redshift = client(redshift_local, "redshift")
    error(redshift.get_cluster_credentials, ClusterIdentifier=seed.CLUSTER_ID, DbUser="PUBLIC")
    assert redshift_local.issued_passwords() == []


def test_a_database_that_does_not_exist_is_refused(redshift_local: LocalStack) -> None:
    redshift = client(redshift_local, "redshift", redshift_local.session(seed.ADMIN_USER))
    code, message = error(
        redshift.get_cluster_credentials,
        ClusterIdentifier=seed.CLUSTER_ID,
        DbUser="alice",
        DbName="nosuchdb",
    )
    assert code == "InvalidParameterValue"
    assert "nosuchdb" in message
    serverless = client(redshift_local, "redshift-serverless")
    code, _ = error(serverless.get_credentials, workgroupName=seed.WORKGROUP, dbName="nosuchdb")
    assert code == "ValidationException"


def test_serverless_parameters_are_validation_exceptions(redshift_local: LocalStack) -> None:
    serverless = client(redshift_local, "redshift-serverless")
    for params in ({"dbName": "1dev"}, {"dbName": "dev", "durationSeconds": 60}):
        code, _ = error(serverless.get_credentials, workgroupName=seed.WORKGROUP, **params)
        assert code == "ValidationException", params
    code, _ = error(
        serverless.get_credentials,
        workgroupName=seed.WORKGROUP,
        customDomainName=seed.WORKGROUP_DOMAIN,
        dbName="dev",
    )
    assert code == "ValidationException"


@pytest.mark.parametrize(
    ("service", "call", "params", "code"),
    [
        ("redshift", "describe_events", {}, "InvalidAction"),
        ("redshift", "delete_endpoint_access", {"EndpointName": "x"}, "InvalidAction"),
        ("redshift-serverless", "list_namespaces", {}, "UnknownOperationException"),
        (
            "redshift-serverless",
            "delete_endpoint_access",
            {"endpointName": "x"},
            "UnknownOperationException",
        ),
    ],
)
def test_an_operation_not_emulated_fails_at_once_with_aws_shaped_error(
    redshift_local: LocalStack, service: str, call: str, params: dict[str, Any], code: str
) -> None:
    api = redshift_local.session(seed.ADMIN_USER).client(
        service, endpoint_url=redshift_local.endpoint_url
    )  # botocore's default retries: a retryable answer would show as several calls
    with raises(ClientError) as caught:
        getattr(api, call)(**params)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sum(redshift_local.calls().values()) == 1


def test_vpc_endpoints_answer_as_aws_does(redshift_local: LocalStack) -> None:
    """The seeded endpoints through DescribeEndpointAccess / GetEndpointAccess, with AWS's
    shapes (botocore parses them) and AWS's errors."""
    redshift = client(redshift_local, "redshift")
    listed = redshift.describe_endpoint_access(ClusterIdentifier=seed.CLUSTER_ID)
    [endpoint] = listed["EndpointAccessList"]
    assert endpoint["EndpointName"] == seed.CLUSTER_VPC_ENDPOINT
    assert (endpoint["Address"], endpoint["Port"], endpoint["EndpointStatus"]) == (
        redshift_local.redshift_host,
        redshift_local.redshift_port,
        "active",
    )
    interface = endpoint["VpcEndpoint"]["NetworkInterfaces"][0]
    assert interface["PrivateIpAddress"] == "127.0.0.1"
    assert error(redshift.describe_endpoint_access, EndpointName="nope")[0] == "EndpointNotFound"
    code, _ = error(redshift.describe_endpoint_access, ClusterIdentifier="no-such-cluster")
    assert code == "ClusterNotFound"
    admin = redshift_local.session(seed.ADMIN_USER).client(
        "redshift", endpoint_url=redshift_local.endpoint_url
    )
    for name, expected in (
        (seed.CLUSTER_VPC_ENDPOINT, "EndpointAlreadyExists"),
        ("bad--name", "InvalidParameterValue"),
    ):
        code, _ = error(
            admin.create_endpoint_access,
            ClusterIdentifier=seed.CLUSTER_ID,
            EndpointName=name,
            SubnetGroupName="local-subnets",
        )
        assert code == expected
    code, _ = error(  # alice may discover, not create
        redshift.create_endpoint_access,
        ClusterIdentifier=seed.CLUSTER_ID,
        EndpointName="mine",
        SubnetGroupName="local-subnets",
    )
    assert code == "AccessDenied"
    serverless = client(redshift_local, "redshift-serverless")
    found = serverless.get_endpoint_access(endpointName=seed.WORKGROUP_VPC_ENDPOINT)["endpoint"]
    assert (found["workgroupName"], found["address"], found["port"]) == (
        seed.WORKGROUP,
        redshift_local.redshift_host,
        redshift_local.redshift_port,
    )
    code, _ = error(serverless.get_endpoint_access, endpointName="nope")
    assert code == "ResourceNotFoundException"


def test_list_workgroups_and_get_namespace(redshift_local: LocalStack) -> None:
    serverless = client(redshift_local, "redshift-serverless")
    workgroups = serverless.list_workgroups()["workgroups"]
    assert [w["workgroupName"] for w in workgroups] == [seed.WORKGROUP]
    namespace = serverless.get_namespace(namespaceName=workgroups[0]["namespaceName"])
    assert namespace["namespace"]["dbName"] == seed.DATABASE
    code, _ = error(serverless.get_namespace, namespaceName="nope")
    assert code == "ResourceNotFoundException"


def test_describe_custom_domain_associations_lists_the_seeded_domain(
    redshift_local: LocalStack,
) -> None:
    redshift = client(redshift_local, "redshift")
    found = redshift.describe_custom_domain_associations(CustomDomainName=seed.CLUSTER_DOMAIN)
    association = found["Associations"][0]
    assert association["CustomDomainCertificateArn"] == seed.CERTIFICATE_ARN
    # What redshift_connector reads on every connect to a non-AWS host:
    certificate = association["CertificateAssociations"][0]
    assert certificate == {
        "CustomDomainName": seed.CLUSTER_DOMAIN,
        "ClusterIdentifier": seed.CLUSTER_ID,
    }
    assert len(redshift.describe_custom_domain_associations()["Associations"]) == 1
    code, _ = error(
        redshift.describe_custom_domain_associations, CustomDomainName="localhost.example"
    )
    assert code == "CustomDomainAssociationNotFoundFault"


def test_credentials_by_custom_domain_name(redshift_local: LocalStack) -> None:
    redshift = client(redshift_local, "redshift")
    by_domain = redshift.get_cluster_credentials(
        CustomDomainName=seed.CLUSTER_DOMAIN, DbUser="alice", DbName=seed.DATABASE
    )
    assert by_domain["DbUser"] == "IAM:alice"
    with_iam = redshift.get_cluster_credentials_with_iam(
        CustomDomainName=seed.CLUSTER_DOMAIN, DbName=seed.DATABASE
    )
    assert with_iam["DbUser"] == "IAM:alice"
    code, _ = error(
        redshift.get_cluster_credentials,
        CustomDomainName=seed.CLUSTER_DOMAIN,
        ClusterIdentifier=seed.CLUSTER_ID,
        DbUser="alice",
    )
    assert code == "InvalidParameterCombination"
    code, _ = error(
        redshift.get_cluster_credentials, CustomDomainName="other.example.com", DbUser="alice"
    )
    assert code == "ClusterNotFound"
    serverless = client(redshift_local, "redshift-serverless")
    assert (
        serverless.get_credentials(customDomainName=seed.WORKGROUP_DOMAIN, dbName="dev")["dbUser"]
        == "IAM:alice"
    )
    listed = serverless.list_custom_domain_associations()["associations"]
    assert [(a["customDomainName"], a["workgroupName"]) for a in listed] == [
        (seed.WORKGROUP_DOMAIN, seed.WORKGROUP)
    ]


def test_the_library_gets_credentials_through_a_custom_domain(redshift_local: LocalStack) -> None:
    credential = redshift_local.source(custom_domain=seed.CLUSTER_DOMAIN, db_user="alice").get()
    assert credential.user == "IAM:alice"


def test_a_workgroup_lives_in_its_own_region_only(redshift_local: LocalStack) -> None:
    """A client configured for another region must not be served the us-east-1 workgroup
    (as the administrator, whom IAM lets through: what is tested is where it lives)."""
    serverless = redshift_local.session(seed.ADMIN_USER).client(
        "redshift-serverless", endpoint_url=redshift_local.endpoint_url, region_name="eu-west-1"
    )
    operations: list[Any] = [serverless.get_workgroup, serverless.get_credentials]
    for operation in operations:
        with raises(ClientError) as caught:
            operation(workgroupName=seed.WORKGROUP)
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert serverless.list_workgroups()["workgroups"] == []
    home = redshift_local.session().client(
        "redshift-serverless", endpoint_url=redshift_local.endpoint_url
    )
    assert home.get_workgroup(workgroupName=seed.WORKGROUP)["workgroup"]["workgroupName"] == (
        seed.WORKGROUP
    )
