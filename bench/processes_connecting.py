"""8 worker processes connecting for 3 credential lifetimes: AWS credential calls with the
shared store, beside the same 8 processes each with its own cache.

Each worker builds ``CredentialSource.from_config(db_user="alice", shared_cache=...)`` from
the local stack's environment and, once all 8 are ready, loops ``redshift_ephemeral.connect``
(psycopg, verify-full) + ``SELECT 1`` + close until 3 lifetimes have passed. The stack's time
scale makes a 900 s password last 1.5 s (PostgreSQL refuses it after that), so the run takes
4.5 s and every process goes through 3 expiries. A credential is refreshed ahead of expiry,
at 75 % of its lifetime, so one process alone makes about lifetimes + 1 calls.
Target (docs/design.md, "Numbers it must reach"): with the shared store, credential calls
≤ lifetimes + 1 for all 8 together, and no failed connection; per-process caches make
about 8 times as many.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _bench import Figure, report, run_released
from redshift_ephemeral.local import LocalStack

PROCESSES = 8
LIFETIMES = 3
TIME_SCALE = 1 / 600
DURATION_SECONDS = 900
READY_SECONDS = 60.0
MAX_CONNECTIONS = 100_000  # per worker: the loop is bounded by count as well as by time
CALL = "redshift:GetClusterCredentials"


def worker(ready: str, start: str, seconds: float, shared: bool) -> None:
    """One process: connect + SELECT 1 until ``seconds`` after the start file appears."""
    import botocore.session  # noqa: F401 - loaded before the start, as a running service has it
    import psycopg  # noqa: F401

    from redshift_ephemeral import CredentialSource, connect

    source = CredentialSource.from_config(
        db_user="alice", duration_seconds=DURATION_SECONDS, shared_cache=shared
    )
    Path(ready).touch()
    deadline = time.monotonic() + READY_SECONDS
    while not os.path.exists(start):
        if time.monotonic() > deadline:
            sys.exit("never started")
        time.sleep(0.001)
    connections = failures = 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop and connections + failures < MAX_CONNECTIONS:
        try:
            with connect(source) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            connections += 1
        except Exception:
            failures += 1
    print(json.dumps({"connections": connections, "failures": failures}))


def run(stack: LocalStack, base: dict[str, str], lifetime: float, shared: bool) -> dict[str, int]:
    """Credential calls, connections and failures of 8 workers over LIFETIMES lifetimes."""
    stack.reset()
    stack.set_knobs(time_scale=TIME_SCALE)
    with tempfile.TemporaryDirectory() as scratch:
        env = base | {
            "XDG_CACHE_HOME": str(Path(scratch) / "cache"),
            "XDG_CONFIG_HOME": str(Path(scratch) / "config"),
        }
        start = Path(scratch) / "start"
        ready = [Path(scratch) / f"ready-{index}" for index in range(PROCESSES)]
        seconds = str(LIFETIMES * lifetime)
        commands = [
            [sys.executable, __file__, "worker", str(path), str(start), seconds, str(shared)]
            for path in ready
        ]
        outputs = run_released(
            commands, env, ready, start, ready_seconds=READY_SECONDS, finish_seconds=120
        )
    results = [json.loads(out) for out in outputs]
    return {
        "calls": stack.calls().get(CALL, 0),
        "connections": sum(result["connections"] for result in results),
        "failures": sum(result["failures"] for result in results),
    }


def main() -> None:
    with LocalStack(time_scale=TIME_SCALE) as stack:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "REDSHIFT_EPHEMERAL_", "XDG_"))
        }
        base |= stack.environment()
        probe = stack.source(db_user="alice", duration_seconds=DURATION_SECONDS + 1)
        lifetime = probe.get().lifetime_seconds  # 900 s at the time scale
        shared = run(stack, base, lifetime, shared=True)
        unshared = run(stack, base, lifetime, shared=False)
    bound = LIFETIMES + 1
    factor = unshared["calls"] / max(shared["calls"], 1)
    report(
        [
            Figure(
                f"{PROCESSES} processes connecting for {LIFETIMES} lifetimes, shared store: "
                "credential calls",
                shared["calls"],
                "calls",
                f"≤ lifetimes + 1 ({bound})",
                shared["calls"] <= bound and shared["failures"] == unshared["failures"] == 0,
                baseline=unshared["calls"],
                baseline_name="per-process caches",
                note=f"lifetime {lifetime:.2f} s (900 s at time scale 1/{1 / TIME_SCALE:.0f}); "
                f"shared: {shared['connections']:,} connections, {shared['failures']} failed; "
                f"per-process: {unshared['connections']:,} connections, "
                f"{unshared['failures']} failed, {factor:.1f} × the calls (about {PROCESSES} × "
                "expected: each process refreshes on its own)",
            )
        ]
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        ready, start, seconds, shared = sys.argv[2:6]
        worker(ready, start, float(seconds), shared == "True")
    else:
        main()
