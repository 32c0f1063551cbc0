"""AWS calls for 10,000 connections over 2 simulated hours, one user, 900 s credentials.

Ours: the real CredentialSource / AwsIssuer path against moto, with the cache's clock
advanced 0.72 s per connection; every AWS API call botocore makes is counted.
Baselines: the seed's per-connection fetch (DescribeClusters + GetClusterCredentials per
connection; measured on 200 connections, scaled), and a cache that serves each password
until the second it expires (the same cache with its refresh windows squeezed to nothing).
Target (docs/design.md, "Numbers it must reach"): ≤ 12; per-connection fetch 20,000.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from moto import mock_aws

from _bench import Figure, report
from redshift_ephemeral import CredentialCache, CredentialSource, RefreshPolicy

CONNECTIONS = 10_000
SIMULATED_SECONDS = 2 * 3600
SEED_SAMPLE = 200


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def count_calls(session: boto3.Session) -> dict[str, int]:
    counts: dict[str, int] = {}

    def before_call(model: Any, **_: Any) -> None:
        counts[model.name] = counts.get(model.name, 0) + 1

    session.events.register("before-call.redshift.*", before_call)
    return counts


def cached_calls(policy: RefreshPolicy) -> int:
    clock = FakeClock()
    session = boto3.Session(region_name="us-east-1")
    counts = count_calls(session)
    source = CredentialSource.from_options(
        cluster_id="bench-cluster",
        db_user="alice",
        session=session,
        cache=CredentialCache(clock=clock, policy=policy),
    )
    step = SIMULATED_SECONDS / CONNECTIONS
    for _ in range(CONNECTIONS):
        source.get()
        clock.now += step
    return sum(counts.values())


def seed_calls_per_connection() -> float:
    """The seed blog post's recipe, corrected to run: two calls per connection."""
    session = boto3.Session(region_name="us-east-1")
    counts = count_calls(session)
    redshift = session.client("redshift")
    for _ in range(SEED_SAMPLE):
        redshift.describe_clusters(ClusterIdentifier="bench-cluster")
        redshift.get_cluster_credentials(
            DbUser="alice", ClusterIdentifier="bench-cluster", DurationSeconds=900
        )
    return sum(counts.values()) / SEED_SAMPLE


def main() -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "AKIABENCH",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    with mock_aws():
        boto3.client("redshift", region_name="us-east-1").create_cluster(
            ClusterIdentifier="bench-cluster",
            NodeType="ra3.xlplus",
            NumberOfNodes=2,
            MasterUsername="awsuser",
            MasterUserPassword="Bench-Password-1",
        )
        ours = cached_calls(RefreshPolicy())
        until_expiry = cached_calls(RefreshPolicy(advisory_fraction=1e-9, mandatory_fraction=1e-9))
        per_connection = seed_calls_per_connection() * CONNECTIONS
    report(
        [
            Figure(
                "AWS calls, 10,000 connections / 2 h",
                ours,
                "calls",
                "≤ 12",
                ours <= 12,
                baseline=per_connection,
                baseline_name="per-connection fetch",
                note=f"a cache serving until the second of expiry makes {until_expiry:.0f} "
                "calls, but hands out passwords about to expire mid-connect",
            ),
        ]
    )


if __name__ == "__main__":
    main()
