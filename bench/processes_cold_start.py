"""8 processes start cold at once on one key with the shared store: `redshift-ephemeral creds`
in 8 fresh processes sharing one new, empty ``XDG_CACHE_HOME``.

Each process imports the command line, says it is ready and waits on a start file; when all
8 are ready the file is made and they run ``main()`` together, so every one of them finds
the store empty (the emulator adds 200 ms to each AWS call, so all 8 are in flight while the
first call is). ROUNDS rounds, each with a new cache directory and the emulator's counts reset.
Targets (docs/design.md, "Numbers it must reach"): exactly 1 GetClusterCredentials and at
most 1 DescribeClusters per round, the worst round counting; every process prints the same
credential (compared here, never printed). Beside them, one round with
``--no-shared-cache``: each process on its own.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from _bench import Figure, report, run_released
from redshift_ephemeral.local import LocalStack

PROCESSES = 8
ROUNDS = 5
LATENCY = 0.2
READY_SECONDS = 60.0
CALL = "redshift:GetClusterCredentials"
DISCOVERY = "redshift:DescribeClusters"
ARGV = ["creds", "--format", "json", "--db-user", "alice"]

# A process of the command line that starts when the start file appears (bounded wait).
WORKER = """
import os, sys, time
from redshift_ephemeral.cli.main import main
ready, start, deadline = sys.argv[1], sys.argv[2], time.monotonic() + float(sys.argv[3])
open(ready, "w").close()
while not os.path.exists(start):
    if time.monotonic() > deadline:
        sys.exit("never started")
    time.sleep(0.001)
sys.exit(main(sys.argv[4:]))
"""


def one_round(
    stack: LocalStack, base: dict[str, str], scratch: Path, argv: list[str]
) -> tuple[int, int, int]:
    """AWS calls (credential, discovery) and distinct passwords of one round."""
    stack.reset()
    stack.set_knobs(latency_seconds=LATENCY)
    env = base | {"XDG_CACHE_HOME": str(scratch / "cache")}
    start = scratch / "start"
    ready = [scratch / f"ready-{index}" for index in range(PROCESSES)]
    commands = [
        [sys.executable, "-c", WORKER, str(path), str(start), str(READY_SECONDS), *argv]
        for path in ready
    ]
    outputs = run_released(
        commands, env, ready, start, ready_seconds=READY_SECONDS, finish_seconds=60
    )
    passwords = {json.loads(out)["password"] for out in outputs}
    calls = stack.calls()
    return calls.get(CALL, 0), calls.get(DISCOVERY, 0), len(passwords)


def main() -> None:
    rounds = []
    with LocalStack() as stack:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "REDSHIFT_EPHEMERAL_", "XDG_"))
        }
        base |= stack.environment()
        for run in range(ROUNDS + 1):
            with tempfile.TemporaryDirectory() as scratch:
                base["XDG_CONFIG_HOME"] = str(Path(scratch) / "config")
                if run < ROUNDS:
                    rounds.append(one_round(stack, base, Path(scratch), ARGV))
                else:  # the baseline: each process with its own cache
                    unshared = one_round(stack, base, Path(scratch), [*ARGV, "--no-shared-cache"])
    credential_calls = max(calls for calls, _, _ in rounds)
    discovery_calls = max(discovery for _, discovery, _ in rounds)
    passwords = max(distinct for _, _, distinct in rounds)
    per_round = ", ".join(f"{calls}+{discovery}" for calls, discovery, _ in rounds)
    report(
        [
            Figure(
                f"{PROCESSES} processes cold at once, one key: GetClusterCredentials",
                credential_calls,
                "calls",
                "exactly 1",
                credential_calls == 1 and passwords == 1,
                baseline=unshared[0],
                baseline_name="--no-shared-cache",
                note=f"worst of {ROUNDS} rounds, {LATENCY * 1e3:.0f} ms added to each AWS call; "
                f"GetClusterCredentials+DescribeClusters per round: {per_round}; distinct "
                f"credentials printed in the worst round: {passwords}",
            ),
            Figure(
                f"{PROCESSES} processes cold at once, one key: DescribeClusters",
                discovery_calls,
                "calls",
                "≤ 1",
                discovery_calls <= 1,
                baseline=unshared[1],
                baseline_name="--no-shared-cache",
            ),
        ]
    )


if __name__ == "__main__":
    main()
