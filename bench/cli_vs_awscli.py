"""`redshift-ephemeral creds --format json` ÷ `aws redshift get-cluster-credentials`, against
the same emulator: 12 alternating runs each, ratio of median wall times.

The AWS CLI is the interop suite's, pinned and cached in a venv of its own
(``tests/interop/venvs.py``). Ours does more
(endpoint discovery, the real login user, the trust bundle) and still must be faster.
Both run from byte-compiled files, as `pip install` leaves them (an editable install under
PYTHONDONTWRITEBYTECODE would otherwise recompile our sources on every run).
Target (docs/design.md, "Numbers it must reach"): ≤ 0.8.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _bench import Figure, report
from redshift_ephemeral.local import LocalStack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for tests.interop
from tests.interop import venvs

RUNS = 12


def wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    aws = venvs.ensure("awscli") / "bin" / "aws"
    import redshift_ephemeral

    package = Path(redshift_ephemeral.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    ours_cli = str(Path(sys.executable).parent / "redshift-ephemeral")
    with LocalStack() as stack:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env |= stack.environment()
        ours_command = [ours_cli, "creds", "--format", "json", "--db-user", "alice"]
        aws_command = [
            str(aws),
            "redshift",
            "get-cluster-credentials",
            "--db-user",
            "alice",
            "--cluster-identifier",
            "demo-cluster",
            "--endpoint-url",
            stack.endpoint_url,
            "--output",
            "json",
        ]
        wall(ours_command, env)  # warm file caches for both
        wall(aws_command, env)
        ours, baseline = [], []
        for _ in range(RUNS):
            ours.append(wall(ours_command, env))
            baseline.append(wall(aws_command, env))
    ours_ms, aws_ms = statistics.median(ours) * 1e3, statistics.median(baseline) * 1e3
    report(
        [
            Figure(
                "creds ÷ aws redshift get-cluster-credentials (median wall)",
                ours_ms,
                "ms",
                "≤ 0.8",
                ours_ms / aws_ms <= 0.8,
                baseline=aws_ms,
                baseline_name="AWS CLI v1",
            )
        ]
    )


if __name__ == "__main__":
    main()
