"""A host is a DNS name or an IP literal, on every path: never a Unix-socket path (libpq sends
the password there without TLS), never a value a DSN, URL or pgpass line would misread. The
check is in ``Target`` (so flags, ``connect()``, pools and engines all inherit it) and on the
endpoint AWS reports, before any password is asked for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.stub import Stubber

from redshift_ephemeral import AwsIdentity, ConfigurationError, CredentialRequest, Target
from redshift_ephemeral.aws.clients import AwsClients
from redshift_ephemeral.aws.issuers import AwsIssuer
from redshift_ephemeral.errors import AwsError
from redshift_ephemeral.targets import validate_host

SOCKET_PATHS = ["/tmp", "/var/run/postgresql", "@abstract-socket", "/"]
NOT_HOSTS = [
    "",
    "x\n*",
    "a\0b",
    "localhost:1/dev?sslmode=disable&x=",
    "host with space",
    "h1,h2",  # libpq: a list of hosts
    "-leading-hyphen.example",
    "trailing-hyphen-.example",
    "under_score.example",
    "a..b",
    "10.1",  # the resolver reads it as 10.0.0.1
    "1.2.3.4.5",
    "01.2.3.4",
    "fe80::1%eth0",
    "[::1",
    "x" * 64 + ".example",
    ".".join(["abcdefghi"] * 26),  # 259 characters
    "ex\u00e4mple.com",
]
HOSTS = [
    "localhost",
    "demo-cluster.abc123.us-east-1.redshift.amazonaws.com",
    "redshift.example.com.",
    "10.0.0.1",
    "::1",
    "2001:db8::5",
    "3com.example",
    "x" * 63 + ".example",
]


@pytest.mark.parametrize("host", SOCKET_PATHS)
def test_a_unix_socket_path_is_refused_naming_the_reason(host: str) -> None:
    with pytest.raises(ConfigurationError, match=r"Unix-socket path.*without TLS"):
        Target.cluster("demo-cluster", host=host, port=5439)


@pytest.mark.parametrize("host", NOT_HOSTS)
def test_a_value_that_is_no_dns_name_or_ip_is_refused(host: str) -> None:
    with pytest.raises(ConfigurationError, match="Invalid host"):
        Target.cluster("demo-cluster", host=host, port=5439)


@pytest.mark.parametrize("host", HOSTS)
def test_dns_names_and_ip_literals_are_accepted(host: str) -> None:
    assert Target.cluster("demo-cluster", host=host).host == host


def test_a_bracketed_ipv6_literal_is_kept_without_brackets() -> None:
    assert validate_host("[2001:db8::5]") == "2001:db8::5"


@pytest.fixture
def no_aws_call() -> Iterator[mock.Mock]:
    with mock.patch.object(AwsIssuer, "issue", side_effect=AssertionError("AWS was called")):
        yield mock.Mock()


@pytest.mark.parametrize("host", ["/tmp", "@sock", "", "x\n*"])
def test_connect_and_engines_refuse_the_host_before_any_aws_call(
    host: str, no_aws_call: mock.Mock
) -> None:
    from redshift_ephemeral import connect
    from redshift_ephemeral.db.pools import connection_pool, create_engine

    options: dict[str, Any] = {"cluster_id": "demo-cluster", "host": host, "port": 5439}
    with pytest.raises(ConfigurationError, match="host"):
        connect(**options)
    with pytest.raises(ConfigurationError, match="host"):
        create_engine(**options)
    with pytest.raises(ConfigurationError, match="host"):
        connection_pool(**options)


# -- the endpoint AWS reports ---------------------------------------------------------------


@pytest.fixture
def clients(aws_sandbox: None) -> AwsClients:
    session = boto3.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="source-secret",
        region_name="us-east-1",
    )
    return AwsClients(AwsIdentity(session=session, region="us-east-1"))


@pytest.fixture
def redshift(clients: AwsClients) -> Iterator[Stubber]:
    with Stubber(clients.redshift()) as stubber:
        yield stubber


@pytest.fixture
def serverless(clients: AwsClients) -> Iterator[Stubber]:
    with Stubber(clients.redshift_serverless()) as stubber:
        yield stubber


@pytest.mark.parametrize("address", ["/var/run/postgresql", "@sock", "evil\n*", "a:1/x?y"])
def test_a_reported_cluster_endpoint_that_is_no_host_gets_no_password(
    clients: AwsClients, redshift: Stubber, address: str
) -> None:
    redshift.add_response(
        "describe_clusters",
        {"Clusters": [{"ClusterIdentifier": "demo", "Endpoint": {"Address": address, "Port": 1}}]},
        {"ClusterIdentifier": "demo"},
    )
    # No GetClusterCredentials response is stubbed: asking for a password would fail the
    # Stubber with a different error than the one expected here.
    with pytest.raises(AwsError, match=r"cannot be used safely.*Give --host"):
        AwsIssuer(clients).issue(CredentialRequest(Target.cluster("demo"), db_user="alice"))
    redshift.assert_no_pending_responses()


def test_a_reported_workgroup_socket_endpoint_gets_no_password(
    clients: AwsClients, serverless: Stubber
) -> None:
    serverless.add_response(
        "get_workgroup",
        {
            "workgroup": {
                "workgroupName": "demo-wg",
                "endpoint": {"address": "/tmp", "port": 5439},
            }
        },
        {"workgroupName": "demo-wg"},
    )
    with pytest.raises(AwsError, match="Unix-socket"):
        AwsIssuer(clients).issue(CredentialRequest(Target.workgroup("demo-wg")))
