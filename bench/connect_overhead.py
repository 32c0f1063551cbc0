"""connect + SELECT 1 with a cached ephemeral credential ÷ the same with a static password.

Same local stack, same server, same TLS (verify-full), same login: the static side is
psycopg.connect() with the password written out; ours is redshift_ephemeral.connect(),
which adds the cache lookup and the retry wrapper. 400 alternating runs each, ratio of
medians. Target (docs/design.md, "Numbers it must reach"): ≤ 1.05.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg

from _bench import Figure, report
from redshift_ephemeral import connect
from redshift_ephemeral.local import LocalStack

RUNS = 400


def timed(open_connection: Callable[[], Any]) -> float:
    started = time.perf_counter()
    connection = open_connection()
    connection.execute("SELECT 1").fetchone()
    connection.close()
    return time.perf_counter() - started


def main() -> None:
    with LocalStack() as stack:
        source = stack.source(db_user="alice")
        static = source.get().libpq_params()  # the same password, written out
        ours, baseline = [], []
        for _ in range(20):  # warm both paths
            timed(lambda: connect(source, driver="psycopg"))
            timed(lambda: psycopg.connect(**static))
        for _ in range(RUNS):
            ours.append(timed(lambda: connect(source, driver="psycopg")))
            baseline.append(timed(lambda: psycopg.connect(**static)))
    ours_ms, baseline_ms = statistics.median(ours) * 1e3, statistics.median(baseline) * 1e3
    ratio = ours_ms / baseline_ms
    report(
        [
            Figure(
                "connect + SELECT 1, ephemeral ÷ static (medians)",
                ours_ms,
                "ms",
                "≤ 1.05",
                ratio <= 1.05,
                baseline=baseline_ms,
                baseline_name="static password",
            )
        ]
    )


if __name__ == "__main__":
    main()
