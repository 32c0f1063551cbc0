"""redshift_connector's own IAM path (``iam=True``) beside ours, over 200 connections each to
the same local stack (through its Redshift endpoint) and the same emulator: AWS calls made
and median time per connection (connect + SELECT 1 + close).

redshift_connector builds a new boto3 session and client on every connect and caches the
password until it expires; ours reuses one client and refreshes ahead of expiry.
No target in docs/design.md; printed beside the others for comparison.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import redshift_connector

from _bench import Figure, report
from redshift_ephemeral import connect
from redshift_ephemeral.local import LocalStack

CONNECTIONS = 200


def per_connection(open_connection: Callable[[], Any]) -> float:
    samples = []
    for _ in range(CONNECTIONS):
        started = time.perf_counter()
        connection = open_connection()
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchone()
        connection.close()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)  # redshift_connector's SSLContext()
    with LocalStack() as stack:
        # redshift_connector has no option for a CA file; OpenSSL's default file is the way
        # (as `local env` exports it: public roots + the local CA).
        os.environ["SSL_CERT_FILE"] = stack.ca_bundle_path
        key_id, secret = stack.access_keys()

        def theirs() -> Any:
            return redshift_connector.connect(
                iam=True,
                db_user="alice",
                cluster_identifier="demo-cluster",
                database="dev",
                region=stack.region,
                access_key_id=key_id,
                secret_access_key=secret,
                endpoint_url=stack.endpoint_url,
                host="localhost",
                port=stack.redshift_port,
                ssl=True,
                sslmode="verify-full",
            )

        source = stack.source(db_user="alice", host="localhost", port=stack.redshift_port)

        def ours() -> Any:
            return connect(source, driver="redshift_connector")

        stack.reset()
        their_time = per_connection(theirs)
        their_calls = sum(stack.calls().values())
        stack.reset()
        our_time = per_connection(ours)
        our_calls = sum(stack.calls().values())
    report(
        [
            Figure(
                "redshift_connector IAM vs ours: AWS calls / 200 connections",
                our_calls,
                "calls",
                "(comparison)",
                our_calls <= their_calls,
                baseline=their_calls,
                baseline_name="redshift_connector iam=True",
            ),
            Figure(
                "redshift_connector IAM vs ours: time per connection",
                our_time * 1e3,
                "ms",
                "(comparison)",
                our_time <= their_time,
                baseline=their_time * 1e3,
                baseline_name="redshift_connector iam=True",
            ),
        ]
    )


if __name__ == "__main__":
    main()
