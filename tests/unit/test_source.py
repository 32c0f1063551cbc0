"""CredentialSource: the label it gives the cache for log lines."""

from __future__ import annotations

import logging

import pytest

from redshift_ephemeral import AwsIdentity, CredentialCache, CredentialRequest, Target
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.source import CredentialSource
from tests.conftest import FakeClock, make_credential


@pytest.mark.parametrize(
    ("request_", "region", "label"),
    [
        (
            CredentialRequest(Target.cluster("demo-cluster", region="us-east-1"), db_user="alice"),
            None,
            "alice@demo-cluster (us-east-1)",
        ),
        (
            CredentialRequest(Target.cluster("demo-cluster")),
            "eu-west-1",
            "IAM identity@demo-cluster (eu-west-1)",
        ),
        (
            CredentialRequest(Target.workgroup("demo-workgroup", region="us-east-1")),
            None,
            "IAM identity@workgroup demo-workgroup (us-east-1)",
        ),
        (
            CredentialRequest(
                Target(Target.cluster("c").deployment, custom_domain="db.example.com"),
                db_user="bob",
            ),
            None,
            "bob@db.example.com",
        ),
    ],
)
def test_a_source_labels_its_key_short_and_human(
    request_: CredentialRequest, region: str | None, label: str
) -> None:
    source = CredentialSource(request_, AwsIdentity(region=region))
    assert source.key.label == label


def test_log_lines_of_a_source_name_its_label_not_its_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    credentials = iter([make_credential()])

    def issue(request: CredentialRequest) -> Credential:
        try:
            return next(credentials)
        except StopIteration:
            raise ConnectionError("AWS is down") from None

    request = CredentialRequest(Target.cluster("demo-cluster", region="us-east-1"), db_user="alice")
    source = CredentialSource(
        request,
        AwsIdentity(profile="a-long-profile-name", region="us-east-1"),
        cache=CredentialCache(clock=clock),
        issuer=issue,
    )
    with caplog.at_level(logging.DEBUG, logger="redshift_ephemeral.cache"):
        source.get()
        clock.advance(900 * 0.80)
        source.get()  # the advisory refresh fails: a warning
    messages = [record.getMessage() for record in caplog.records]
    assert any("advisory refresh" in message for message in messages)
    for message in messages:
        assert "alice@demo-cluster (us-east-1)" in message
        assert "a-long-profile-name" not in message
        assert "CacheKey" not in message
