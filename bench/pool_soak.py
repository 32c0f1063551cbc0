"""Pool soak: a SQLAlchemy engine and a psycopg pool, 8 threads each, at least 10,000 queries
and at least 3 password expiries (the stack's time scale makes 900 s last 1.5 s; pools
recycle connections often so new ones keep needing the current password).
Target (docs/design.md, "Numbers it must reach"): 0 failed queries. AWS calls are printed
beside the bound the lifetime implies (one per 75 % of a lifetime, plus the first).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy

from _bench import Figure, report
from redshift_ephemeral.db.pools import connection_pool, create_engine
from redshift_ephemeral.local import LocalStack

THREADS = 8
MIN_QUERIES = 10_000
MIN_EXPIRIES = 3.5
MAX_SECONDS = 120.0
CALL = "redshift:GetClusterCredentials"


def soak(run_query: Callable[[], None], lifetime: float) -> tuple[int, int, float]:
    started = time.monotonic()
    not_before, deadline = started + lifetime * MIN_EXPIRIES, started + MAX_SECONDS
    counts, failures = [0] * THREADS, [0] * THREADS

    def worker(index: int) -> None:
        while time.monotonic() < deadline and not (
            sum(counts) >= MIN_QUERIES and time.monotonic() >= not_before
        ):
            try:
                run_query()
                counts[index] += 1
            except Exception:
                failures[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts), sum(failures), time.monotonic() - started


def soak_engine(source: Any, lifetime: float) -> tuple[int, int, float]:
    engine = create_engine(
        source,
        driver="psycopg2",
        engine_options={"pool_size": THREADS, "pool_recycle": lifetime / 5},
    )

    def run_query() -> None:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1")).scalar()

    try:
        return soak(run_query, lifetime)
    finally:
        engine.dispose()


def soak_pool(source: Any, lifetime: float) -> tuple[int, int, float]:
    pool = connection_pool(
        source, min_size=2, max_size=THREADS, pool_options={"max_lifetime": lifetime / 2}
    )

    def run_query() -> None:
        with pool.connection() as connection:
            connection.execute("SELECT 1").fetchone()

    with pool:
        return soak(run_query, lifetime)


def main() -> None:
    figures: list[Figure] = []
    with LocalStack(time_scale=1 / 600) as stack:
        for name, run in (("SQLAlchemy engine", soak_engine), ("psycopg pool", soak_pool)):
            stack.reset()
            stack.set_knobs(time_scale=1 / 600)
            source = stack.source(db_user="alice", duration_seconds=900 + len(figures))
            lifetime = source.get().lifetime_seconds
            queries, failures, elapsed = run(source, lifetime)
            calls = stack.calls().get(CALL, 0)
            bound = math.ceil(elapsed / (0.75 * lifetime)) + 2
            figures.append(
                Figure(
                    f"pool soak, {name}: failed queries",
                    failures,
                    "",
                    "0",
                    failures == 0,
                    note=f"{queries:,} queries over {elapsed:.1f} s = {elapsed / lifetime:.1f} "
                    f"password lifetimes; {calls} credential calls (bound {bound})",
                )
            )
    report(figures)


if __name__ == "__main__":
    main()
