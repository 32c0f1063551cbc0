"""The Data API driver against the local stack's emulator.

* ``SELECT 1`` round trip through the driver ÷ the emulator's own statement time (target
  ≤ 1.2: polling adds little). Each statement is held ``STATEMENT_SECONDS`` in SUBMITTED
  (the ``statement_seconds`` knob, as Redshift's queue and compilation hold a Data API
  statement for a few hundred milliseconds); the emulator's time is the ``Duration`` it
  reports (submission to end). Medians of ``RUNS`` runs.
* a 10,000-row result: GetStatementResult calls ÷ the result's pages (target: one pass,
  each page fetched once) and the peak memory of streaming it ÷ streaming one 4 times larger
  (target ≤ 1.5: flat - a driver that buffered every page would need 4 times as much).
* 100 statements on one connection: sessions created (target 1; a client that asked for a
  session with every statement would create 100).
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from typing import Any

from _bench import Figure, report
from redshift_ephemeral import connect
from redshift_ephemeral.local import LocalStack

RUNS = 15
STATEMENT_SECONDS = 0.25
ROWS = 10_000
STATEMENTS = 100


def round_trips(stack: LocalStack, connection: Any, client: Any) -> tuple[float, float]:
    """(median driver round trip, median emulator Duration), seconds."""
    cursor = connection.cursor()
    ours, emulator = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        cursor.execute("SELECT 1")
        assert cursor.fetchall() == [(1,)]
        ours.append(time.perf_counter() - started)
        emulator.append(client.describe_statement(Id=cursor.statement_id)["Duration"] / 1e9)
    return statistics.median(ours), statistics.median(emulator)


def streamed_peak(connection: Any, rows: int) -> int:
    cursor = connection.cursor()
    cursor.execute(f"SELECT n, repeat('x', 40) AS s FROM generate_series(1, {rows}) n")  # noqa: S608
    tracemalloc.start()
    seen = 0
    while batch := cursor.fetchmany(500):
        seen += len(batch)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seen == rows
    return peak


def main() -> None:
    with LocalStack() as stack:
        source = stack.source(db_user="alice")
        client = stack.session().client("redshift-data", endpoint_url=stack.endpoint_url)
        connection = connect(source, driver="data_api")
        connection.cursor().execute("SELECT 1")  # warm the client and the session
        fast_ours, fast_emulator = round_trips(stack, connection, client)
        stack.set_knobs(statement_seconds=STATEMENT_SECONDS)
        ours, emulator = round_trips(stack, connection, client)
        stack.reset()

        cursor = connection.cursor()
        cursor.execute(f"SELECT n, repeat('x', 40) AS s FROM generate_series(1, {ROWS}) n")  # noqa: S608
        statement_id = cursor.statement_id
        pages = sum(
            1 for _ in client.get_paginator("get_statement_result").paginate(Id=statement_id)
        )
        stack.reset()
        fetched = len(cursor.fetchall())
        assert fetched == ROWS
        result_calls = stack.calls().get("redshift-data:GetStatementResult", 0) + 1  # + first
        small_peak = streamed_peak(connection, ROWS)
        large_peak = streamed_peak(connection, 4 * ROWS)

        fresh = connect(source, driver="data_api")
        fresh_cursor = fresh.cursor()
        for number in range(STATEMENTS):
            fresh_cursor.execute("SELECT :n", {"n": number})
        sessions = fresh.sessions_created
    report(
        [
            Figure(
                "Data API SELECT 1 round trip ÷ the emulator's statement time",
                ours * 1e3,
                "ms",
                "≤ 1.2×",
                ours <= 1.2 * emulator,
                baseline=emulator * 1e3,
                baseline_name="emulator Duration",
                note=(
                    f"statements held {STATEMENT_SECONDS * 1e3:.0f} ms (statement_seconds); "
                    f"with no hold: {fast_ours * 1e3:.1f} ms beside {fast_emulator * 1e3:.1f} "
                    "ms (three HTTP calls and a 10 ms first poll dominate)"
                ),
            ),
            Figure(
                "10,000-row result: GetStatementResult calls ÷ pages",
                result_calls,
                "calls",
                "one pass",
                result_calls == pages,
                baseline=pages,
                baseline_name="pages",
            ),
            Figure(
                "streaming 40,000 rows ÷ 10,000 rows: peak memory",
                large_peak / 1e6,
                "MB",
                "≤ 1.5× (flat)",
                large_peak <= 1.5 * small_peak,
                baseline=small_peak / 1e6,
                baseline_name="10,000 rows",
                note="buffering every page would make it 4×",
            ),
            Figure(
                "100 statements on one connection: sessions created",
                sessions,
                "sessions",
                "1",
                sessions == 1,
                baseline=STATEMENTS,
                baseline_name="a session per statement",
            ),
        ]
    )


if __name__ == "__main__":
    main()
