"""64 threads asking for credentials at once, with 100 ms of injected AWS latency.

* same cold key: AWS calls (target exactly 1) and wall time ÷ one call (target ≤ 1.5);
* 64 distinct cold keys: wall time ÷ one call (target ≤ 10; a global lock would give 64).

Real AWS calls to the local stack's emulator through boto3; the explicit host skips endpoint
discovery so one fetch is one call.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from _bench import Figure, report
from redshift_ephemeral import CredentialCache
from redshift_ephemeral.local import LocalStack

THREADS = 64
LATENCY = 0.1
CALL = "redshift:GetClusterCredentials"


def wall_of_threads(sources: list[Any]) -> float:
    barrier = threading.Barrier(len(sources) + 1)

    def worker(source: Any) -> None:
        barrier.wait()
        source.get()

    threads = [threading.Thread(target=worker, args=(source,)) for source in sources]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    with LocalStack() as stack:
        session = stack.session()

        def source(duration: int, cache: CredentialCache) -> Any:
            return stack.source(
                db_user="alice",
                host="localhost",
                port=stack.redshift_port,
                duration_seconds=duration,
                session=session,
                cache=cache,
            )

        source(3600, CredentialCache()).get()  # warm the client and its connections
        stack.set_knobs(latency_seconds=LATENCY)
        one_call = min(wall_of_threads([source(3599 - run, CredentialCache())]) for run in range(5))
        stack.reset()
        stack.set_knobs(latency_seconds=LATENCY)

        shared = CredentialCache()
        same_key = [source(900, shared) for _ in range(THREADS)]
        same_wall = wall_of_threads(same_key)
        same_calls = stack.calls().get(CALL, 0)

        distinct_cache = CredentialCache()
        distinct = [source(901 + index, distinct_cache) for index in range(THREADS)]
        distinct_wall = wall_of_threads(distinct)
    report(
        [
            Figure(
                "64 threads, same cold key: AWS calls",
                same_calls,
                "calls",
                "exactly 1",
                same_calls == 1,
            ),
            Figure(
                "64 threads, same cold key: wall ÷ one call",
                same_wall * 1e3,
                "ms",
                "≤ 1.5×",
                same_wall <= 1.5 * one_call,
                baseline=one_call * 1e3,
                baseline_name="one call",
            ),
            Figure(
                "64 threads, 64 distinct keys: wall ÷ one call",
                distinct_wall * 1e3,
                "ms",
                "≤ 10×",
                distinct_wall <= 10 * one_call,
                baseline=one_call * 1e3,
                baseline_name="one call",
                note="a global lock would make it 64×",
            ),
        ]
    )


if __name__ == "__main__":
    main()
