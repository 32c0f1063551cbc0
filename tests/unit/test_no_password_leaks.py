"""With DEBUG logging on everywhere, no issued password appears in any log record, repr, str
or exception message along the AWS paths."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from redshift_ephemeral import (
    AccessDeniedError,
    AwsIdentity,
    CredentialCache,
    CredentialRequest,
    CredentialSource,
    Target,
)
from redshift_ephemeral.aws.issuers import issuer_for
from tests.conftest import FakeClock

STUBBED_PASSWORDS = ("Stubbed-WithIAM-pw-0001", "Stubbed-Serverless-pw-0002")


@pytest.fixture
def debug_everywhere(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("botocore", "boto3", "urllib3")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    yield caplog
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def assert_nowhere(secrets: list[str], texts: list[str]) -> None:
    assert secrets, "the scenario issued no password: the scan would prove nothing"
    for secret in secrets:
        for text in texts:
            assert secret not in text


def test_no_password_in_logs_reprs_or_errors(
    aws_sandbox: None, debug_everywhere: pytest.LogCaptureFixture
) -> None:
    issued: list[str] = []
    texts: list[str] = []
    with mock_aws():
        redshift = boto3.client("redshift", region_name="us-east-1")
        redshift.create_cluster(
            ClusterIdentifier="demo-cluster",
            NodeType="dc2.large",
            MasterUsername="admin",
            MasterUserPassword="Admin1234",
            NumberOfNodes=1,
        )
        clock = FakeClock()
        source = CredentialSource.from_options(
            cluster_id="demo-cluster",
            db_user="alice",
            region="us-east-1",
            cache=CredentialCache(clock=clock),
        )
        first = source.get()
        clock.advance(900 * 0.95)  # mandatory refresh: a second real call through botocore
        second = source.get()
        issued += [first.password.reveal(), second.password.reveal()]
        texts += [repr(first), str(second), repr(source), str(first.as_seed_dict().keys())]

        # Role assumption through STS (moto): its response carries secrets too.
        role_source = CredentialSource.from_options(
            cluster_id="demo-cluster",
            db_user="bob",
            region="us-east-1",
            role_arn="arn:aws:iam::123456789012:role/reader",
        )
        role_credential = role_source.get()
        issued.append(role_credential.password.reveal())
        texts.append(repr(role_credential))

    # Stubbed paths: WithIAM, serverless, then an AccessDenied after a success.
    identity = AwsIdentity(region="us-east-1")
    clients = issuer_for(identity).clients
    expires = datetime.now(UTC) + timedelta(minutes=15)
    with (
        Stubber(clients.redshift()) as redshift_stub,
        Stubber(clients.redshift_serverless()) as serverless_stub,
    ):
        redshift_stub.add_response(
            "get_cluster_credentials_with_iam",
            {"DbUser": "IAM:alice", "DbPassword": STUBBED_PASSWORDS[0], "Expiration": expires},
        )
        serverless_stub.add_response(
            "get_credentials",
            {"dbUser": "IAM:alice", "dbPassword": STUBBED_PASSWORDS[1], "expiration": expires},
        )
        redshift_stub.add_client_error(
            "get_cluster_credentials",
            service_error_code="AccessDenied",
            http_status_code=403,
            service_message="User: arn:aws:iam::123456789012:user/x is not authorized to "
            "perform: redshift:GetClusterCredentials",
        )
        with_iam = CredentialSource(
            CredentialRequest(Target.cluster("demo-cluster", host="localhost")), identity
        ).get()
        serverless = CredentialSource(
            CredentialRequest(Target.workgroup("demo-workgroup", host="localhost")), identity
        ).get()
        issued += [with_iam.password.reveal(), serverless.password.reveal()]
        texts += [repr(with_iam), repr(serverless)]
        with pytest.raises(AccessDeniedError) as denied:
            CredentialSource(
                CredentialRequest(
                    Target.cluster("demo-cluster", host="localhost"), db_user="alice"
                ),
                identity,
            ).get()
        texts += [
            str(denied.value),
            repr(denied.value),
            "".join(traceback.format_exception(denied.value)),
        ]

    records = debug_everywhere.records
    bodies = [r for r in records if r.name == "botocore.parsers" and "Response body" in r.msg]
    assert bodies, "botocore logged no response body: the scan would prove nothing"
    for record in records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append("".join(traceback.format_exception(*record.exc_info)))
    assert_nowhere(issued, texts)
    assert set(STUBBED_PASSWORDS) <= set(issued)
