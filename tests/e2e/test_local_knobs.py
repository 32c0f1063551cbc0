"""The emulator's knobs: throttling, outage, latency, call counts."""

from __future__ import annotations

import time

from redshift_ephemeral import AwsError, TargetNotFoundError
from redshift_ephemeral.local import LocalStack
from tests.leak_scan import raises


def test_half_the_calls_throttled_are_absorbed_by_botocores_retries(
    redshift_local: LocalStack,
) -> None:
    redshift_local.set_knobs(throttle_rate=0.5)
    issued = 6
    for number in range(issued):
        # A new duration is a new request: a real call each time, not a cache hit.
        source = redshift_local.source(
            db_user="alice", duration_seconds=900 + number, max_attempts=15
        )
        assert source.get().user == "IAM:alice"
    calls = redshift_local.calls()
    received = calls["redshift:GetClusterCredentials"] + calls["redshift:DescribeClusters"]
    assert received > issued + 1  # throttled answers were retried
    assert calls["redshift:GetClusterCredentials"] >= issued


def test_unknown_cluster_is_not_found_with_region_and_account(redshift_local: LocalStack) -> None:
    with raises(TargetNotFoundError) as caught:
        redshift_local.source(cluster_id="no-such-cluster", db_user="alice").get()
    message = str(caught.value)
    assert "cluster 'no-such-cluster'" in message
    assert "us-east-1" in message
    assert "123456789012" in message


def test_outage_fails_calls_with_a_clear_aws_error(redshift_local: LocalStack) -> None:
    redshift_local.set_knobs(outage=True)
    with raises(AwsError, match="ServiceUnavailable"):
        redshift_local.source(db_user="alice", max_attempts=2).get()
    redshift_local.set_knobs(outage=False)
    assert redshift_local.source(db_user="alice").get().user == "IAM:alice"


def test_calls_are_counted_per_operation(redshift_local: LocalStack) -> None:
    source = redshift_local.source(db_user="alice")
    for _ in range(5):
        source.get()  # cached after the first
    assert redshift_local.calls() == {
        "redshift:DescribeClusters": 1,
        "redshift:GetClusterCredentials": 1,
    }


def test_added_latency_is_observable(redshift_local: LocalStack) -> None:
    redshift_local.set_knobs(latency_seconds=0.3)
    source = redshift_local.source(
        db_user="alice", host="localhost", port=redshift_local.redshift_port
    )
    started = time.monotonic()
    source.get()  # one call: discovery is skipped with an explicit host
    assert time.monotonic() - started >= 0.3
    assert redshift_local.calls() == {"redshift:GetClusterCredentials": 1}


def test_issued_passwords_are_recorded(redshift_local: LocalStack) -> None:
    credential = redshift_local.source(db_user="alice", duration_seconds=1234).get()
    assert credential.password.reveal() in redshift_local.issued_passwords()


def test_invalid_knobs_are_refused(redshift_local: LocalStack) -> None:
    with raises(Exception, match="400"):
        redshift_local.set_knobs(throttle_rate=2)
