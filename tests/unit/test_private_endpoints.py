"""Redshift-managed VPC endpoints found by name (DescribeEndpointAccess / serverless
GetEndpointAccess, checked by botocore's Stubber against AWS's service model), the IAM policy
that allows it, and host names that are never taken for a cluster or workgroup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from redshift_ephemeral import AwsError, AwsIdentity, ConfigurationError, CredentialRequest, Target
from redshift_ephemeral.aws.clients import AwsClients
from redshift_ephemeral.aws.issuers import AwsIssuer
from redshift_ephemeral.aws.policy import policy_document
from redshift_ephemeral.targets import Deployment, parse_redshift_hostname

REGION = "us-east-1"
EXPIRES = datetime(2030, 1, 1, 12, 15, tzinfo=UTC)
ACCOUNT = "123456789012"
ENDPOINT_HOST = "reports-endpoint-xyz0123456789abcdef.cabc123.us-east-1.redshift.amazonaws.com"


@pytest.fixture
def clients(aws_sandbox: None) -> AwsClients:
    session = boto3.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="source-secret",
        region_name=REGION,
    )
    return AwsClients(AwsIdentity(session=session, region=REGION))


@pytest.fixture
def redshift(clients: AwsClients) -> Iterator[Stubber]:
    with Stubber(clients.redshift()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def serverless(clients: AwsClients) -> Iterator[Stubber]:
    with Stubber(clients.redshift_serverless()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def endpoint_access(cluster: str = "demo-cluster", **changes: Any) -> dict[str, Any]:
    return {
        "ClusterIdentifier": cluster,
        "EndpointName": "reports",
        "EndpointStatus": "active",
        "Address": ENDPOINT_HOST,
        "Port": 5439,
        "VpcEndpoint": {
            "VpcEndpointId": "vpce-0123456789abcdef0",
            "NetworkInterfaces": [{"PrivateIpAddress": "10.0.1.5", "SubnetId": "subnet-1"}],
        },
        **changes,
    }


def test_endpoint_name_is_found_with_describe_endpoint_access(
    clients: AwsClients, redshift: Stubber
) -> None:
    redshift.add_response(
        "describe_endpoint_access",
        {"EndpointAccessList": [endpoint_access()]},
        {"ClusterIdentifier": "demo-cluster", "EndpointName": "reports"},
    )
    redshift.add_response(
        "get_cluster_credentials",
        {"DbUser": "IAM:alice", "DbPassword": "pw-1", "Expiration": EXPIRES},
        {
            "DbUser": "alice",
            "DbName": "dev",
            "ClusterIdentifier": "demo-cluster",
            "DurationSeconds": 900,
            "AutoCreate": False,
        },
    )
    target = Target.from_options(cluster_id="demo-cluster", endpoint_name="reports")
    credential = AwsIssuer(clients).issue(CredentialRequest(target, db_user="alice"))
    # The endpoint's own name is what libpq connects to and verifies.
    assert (credential.host, credential.port) == (ENDPOINT_HOST, 5439)


def test_serverless_endpoint_name_is_found_with_get_endpoint_access(
    clients: AwsClients, serverless: Stubber
) -> None:
    host = "reports-endpoint-abc.123456789012.us-east-1.redshift-serverless.amazonaws.com"
    serverless.add_response(
        "get_endpoint_access",
        {
            "endpoint": {
                "endpointName": "reports",
                "workgroupName": "demo-workgroup",
                "endpointStatus": "ACTIVE",
                "address": host,
                "port": 5440,
            }
        },
        {"endpointName": "reports"},
    )
    target = Target.from_options(workgroup="demo-workgroup", endpoint_name="reports")
    endpoint = AwsIssuer(clients).endpoint(target)
    assert (endpoint.host, endpoint.port, endpoint.default_database) == (host, 5440, "dev")


def test_an_endpoint_of_another_workgroup_is_refused(
    clients: AwsClients, serverless: Stubber
) -> None:
    serverless.add_response(
        "get_endpoint_access",
        {"endpoint": {"workgroupName": "other", "address": "x.example.com", "port": 5439}},
        {"endpointName": "reports"},
    )
    target = Target.from_options(workgroup="demo-workgroup", endpoint_name="reports")
    with pytest.raises(AwsError, match="belongs to 'other'"):
        AwsIssuer(clients).endpoint(target)


def test_an_unknown_endpoint_name_says_how_to_list_them(
    clients: AwsClients, redshift: Stubber
) -> None:
    redshift.add_response(
        "describe_endpoint_access",
        {"EndpointAccessList": []},
        {"ClusterIdentifier": "demo-cluster", "EndpointName": "reports"},
    )
    target = Target.from_options(cluster_id="demo-cluster", endpoint_name="reports")
    with pytest.raises(AwsError, match="describe-endpoint-access"):
        AwsIssuer(clients).endpoint(target)


def test_an_endpoint_still_being_created_is_reported_with_its_status(
    clients: AwsClients, redshift: Stubber
) -> None:
    creating = endpoint_access(EndpointStatus="creating")
    del creating["Address"]
    redshift.add_response(
        "describe_endpoint_access",
        {"EndpointAccessList": [creating]},
        {"ClusterIdentifier": "demo-cluster", "EndpointName": "reports"},
    )
    target = Target.from_options(cluster_id="demo-cluster", endpoint_name="reports")
    with pytest.raises(AwsError, match="status 'creating'"):
        AwsIssuer(clients).endpoint(target)


def test_an_endpoint_address_that_is_a_socket_path_is_never_used(
    clients: AwsClients, redshift: Stubber
) -> None:
    redshift.add_response(
        "describe_endpoint_access",
        {"EndpointAccessList": [endpoint_access(Address="/tmp/evil")]},
        {"ClusterIdentifier": "demo-cluster", "EndpointName": "reports"},
    )
    target = Target.from_options(cluster_id="demo-cluster", endpoint_name="reports")
    with pytest.raises(AwsError, match="cannot be used safely"):
        AwsIssuer(clients).endpoint(target)


@pytest.mark.parametrize(
    ("options", "rule"),
    [
        ({"cluster_id": "demo", "endpoint_name": "9lives"}, "starts with a letter"),
        ({"cluster_id": "demo", "endpoint_name": "a--b"}, "two consecutive"),
        ({"cluster_id": "demo", "endpoint_name": "a" * 31}, "1-30"),
        ({"cluster_id": "demo", "endpoint_name": "ep", "host": "db.example.com"}, "Keep one"),
        ({"custom_domain": "db.example.com", "endpoint_name": "ep"}, "Keep one"),
    ],
)
def test_endpoint_name_rules_are_checked_before_any_call(
    options: dict[str, Any], rule: str
) -> None:
    with pytest.raises(ConfigurationError, match=rule):
        Target.from_options(**options)


@pytest.mark.parametrize(
    ("deployment", "action"),
    [
        ({"cluster_id": "demo-cluster"}, "redshift:DescribeEndpointAccess"),
        ({"workgroup": "demo-workgroup"}, "redshift-serverless:GetEndpointAccess"),
    ],
)
def test_policy_allows_finding_the_endpoint_by_name(
    deployment: dict[str, Any], action: str
) -> None:
    target = Target.from_options(**deployment, endpoint_name="reports")
    document = policy_document(CredentialRequest(target), REGION, ACCOUNT)
    discovery = document["Statement"][-1]
    assert (discovery["Action"], discovery["Resource"]) == (action, "*")
    # ...instead of DescribeClusters / GetWorkgroup, which the endpoint's lookup replaces.
    actions = [statement["Action"] for statement in document["Statement"]]
    assert "redshift:DescribeClusters" not in actions
    assert "redshift-serverless:GetWorkgroup" not in actions


# -- host names that are not a cluster's ----------------------------------------------------

_HEX = st.text(alphabet="0123456789abcdef", min_size=8, max_size=17)
_ALNUM = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
_REGIONS = st.sampled_from(["us-east-1", "eu-west-2", "ap-southeast-1", "cn-north-1"])


@given(endpoint=_HEX, suffix=_ALNUM, service=_HEX, region=_REGIONS)
def test_an_interface_endpoint_name_is_never_taken_for_a_cluster(
    endpoint: str, suffix: str, service: str, region: str
) -> None:
    for host in (
        f"vpce-{endpoint}-{suffix}.vpce-svc-{service}.{region}.vpce.amazonaws.com",
        f"vpce-{endpoint}-{suffix}.redshift.{region}.vpce.amazonaws.com",
        f"vpce-{endpoint}-{suffix}.redshift-serverless.{region}.vpce.amazonaws.com",
        f"{region}a.vpce-{endpoint}-{suffix}.redshift.{region}.vpce.amazonaws.com",
    ):
        assert parse_redshift_hostname(host) is None
        with pytest.raises(ConfigurationError, match="does not name a cluster or workgroup"):
            Target.from_options(host=host)


@given(name=st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True), unique=_ALNUM, id_=_ALNUM)
def test_a_managed_vpc_endpoint_name_is_never_taken_for_a_cluster(
    name: str, unique: str, id_: str
) -> None:
    for host in (
        f"{name}-endpoint-{id_}.{unique}.us-east-1.redshift.amazonaws.com",
        f"{name}-endpoint-{id_}.{ACCOUNT}.us-east-1.redshift-serverless.amazonaws.com",
    ):
        assert parse_redshift_hostname(host) is None


@given(cluster=st.from_regex(r"[a-z](-?[a-z0-9]){0,20}", fullmatch=True), unique=_ALNUM)
def test_a_standard_cluster_host_still_names_its_cluster(cluster: str, unique: str) -> None:
    parsed = parse_redshift_hostname(f"{cluster}.{unique}.eu-west-2.redshift.amazonaws.com")
    if "-endpoint-" in cluster:
        assert parsed is None  # the one ambiguity: such a cluster needs --cluster-id
        return
    assert parsed is not None
    assert (parsed.deployment, parsed.name, parsed.region) == (
        Deployment.PROVISIONED,
        cluster,
        "eu-west-2",
    )


@pytest.mark.parametrize(
    "host",
    [
        "demo.abc123.us-east-1.redshift.amazonaws.com.evil.example",
        "demo.abc123.us-east-1.redshift.amazonaws.com-evil.example",
        "demo.abc123.us-east-1.redshift.amazonaws.co",
        "demo.abc123.notaregion.redshift.amazonaws.com",
        "demo--x.abc123.us-east-1.redshift.amazonaws.com",  # not a cluster identifier
        "demo-.abc123.us-east-1.redshift.amazonaws.com",
        "wg.123456789012.us-east-1.redshift-serverless.amazonaws.com",  # too short a workgroup
        "demo-wg.12345678901.us-east-1.redshift-serverless.amazonaws.com",
        "demo-wg.123456789012.us-east-1.redshift-serverless.example.com",
        "demo-wg.123456789012.us-east-1.redshift-serverless.amazonaws.com.evil.example",
        "redshift.us-east-1.amazonaws.com",
        "redshift-serverless.us-east-1.amazonaws.com",
    ],
)
def test_look_alike_hosts_name_no_cluster_or_workgroup(host: str) -> None:
    assert parse_redshift_hostname(host) is None


def test_a_standard_workgroup_host_still_names_its_workgroup() -> None:
    parsed = parse_redshift_hostname(
        "demo-wg.123456789012.us-east-1.redshift-serverless.amazonaws.com"
    )
    assert parsed is not None
    assert (parsed.deployment, parsed.name, parsed.account) == (
        Deployment.SERVERLESS,
        "demo-wg",
        ACCOUNT,
    )
