"""Cached credential lookup: ``CredentialSource.get()`` when the credential is fresh.

Median over 300 batches of 1,000 lookups, per lookup.
Target (docs/design.md, "Numbers it must reach"): ≤ 2 µs.
Baseline for comparison: botocore's ``RefreshableCredentials.get_frozen_credentials()``
on fresh credentials, the same kind of read in the library we copied the algorithm from.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from botocore.credentials import RefreshableCredentials

from _bench import Figure, report
from redshift_ephemeral import Credential, CredentialCache, CredentialSource, Operation
from redshift_ephemeral.secret import Secret

BATCHES, PER_BATCH = 300, 1000


def median_per_call(call: Callable[[], object]) -> float:
    samples = []
    for _ in range(BATCHES):
        started = time.perf_counter()
        for _ in range(PER_BATCH):
            call()
        samples.append((time.perf_counter() - started) / PER_BATCH)
    return statistics.median(samples)


def main() -> None:
    now = datetime.now(UTC)
    credential = Credential(
        host="h",
        port=5439,
        database="dev",
        user="IAM:alice",
        password=Secret("x"),
        issued_at=now,
        expires_at=now + timedelta(hours=1),
        operation=Operation.GET_CLUSTER_CREDENTIALS,
    )
    source = CredentialSource.from_options(
        cluster_id="demo", db_user="alice", region="us-east-1", cache=CredentialCache()
    )
    source._issuer = lambda request: credential
    source.get()
    ours = median_per_call(source.get) * 1e6

    botocore_credentials = RefreshableCredentials(
        "AKIA",
        "secret",
        "token",
        now + timedelta(hours=1),
        refresh_using=lambda: {},
        method="bench",
    )
    baseline = median_per_call(botocore_credentials.get_frozen_credentials) * 1e6
    report(
        [
            Figure(
                "cached credential lookup (median)",
                ours,
                "µs",
                "≤ 2 µs",
                ours <= 2,
                baseline=baseline,
                baseline_name="botocore get_frozen_credentials",
            )
        ]
    )


if __name__ == "__main__":
    main()
