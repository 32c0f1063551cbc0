"""`redshift-ephemeral password TARGET` with the agent running ÷ `aws redshift
get-cluster-credentials`, against the same emulator: 12 alternating runs each, ratio of
median wall times.

What a tool with a "password command" field pays at every connect. The agent answers from
memory over its Unix socket, so the command is Python's start, the CLI's parser and one
socket round trip - no botocore, no AWS call. The AWS CLI is the interop suite's, pinned
and cached in a venv of its own (``tests/interop/venvs.py``); both run from byte-compiled
files. Target (docs/design.md, "Numbers it must reach"): ≤ 0.15.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import Figure, aws_get_cluster_credentials, report, wall
from redshift_ephemeral.local import LocalStack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for tests.interop
from tests.interop import venvs

RUNS = 12
START_SECONDS = 60.0


def main() -> None:
    aws = venvs.ensure("awscli") / "bin" / "aws"
    import redshift_ephemeral

    package = Path(redshift_ephemeral.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    ours_cli = str(Path(sys.executable).parent / "redshift-ephemeral")
    with LocalStack() as stack, tempfile.TemporaryDirectory(prefix="bench-agent-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env |= stack.environment()
        for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
            env[variable] = os.path.join(home, variable.lower())
            os.mkdir(env[variable], 0o700)
        config = Path(env["XDG_CONFIG_HOME"]) / "redshift-ephemeral" / "config.toml"
        config.parent.mkdir()
        config.write_text('[targets.bench]\ncluster_id = "demo-cluster"\ndb_user = "alice"\n')
        agent = subprocess.Popen(
            [ours_cli, "agent", "bench"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        try:
            socket_path = Path(env["XDG_RUNTIME_DIR"]) / "redshift-ephemeral/agent/agent.sock"
            deadline = time.monotonic() + START_SECONDS
            while not socket_path.exists():
                if agent.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the agent did not start")
                time.sleep(0.05)
            ours_command = [ours_cli, "password", "bench"]
            aws_command = aws_get_cluster_credentials(aws, stack.endpoint_url)
            wall(ours_command, env)  # warm file caches for both
            wall(aws_command, env)
            calls_before = stack.calls().get("redshift:GetClusterCredentials", 0)
            ours, baseline = [], []
            for _ in range(RUNS):
                ours.append(wall(ours_command, env))
                baseline.append(wall(aws_command, env))
            aws_calls = stack.calls().get("redshift:GetClusterCredentials", 0) - calls_before
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=30)
    ours_ms, aws_ms = statistics.median(ours) * 1e3, statistics.median(baseline) * 1e3
    report(
        [
            Figure(
                "password (agent running) ÷ aws redshift get-cluster-credentials (median wall)",
                ours_ms,
                "ms",
                "≤ 0.15",
                ours_ms / aws_ms <= 0.15,
                baseline=aws_ms,
                baseline_name="AWS CLI v1",
                note=f"{aws_calls - RUNS} AWS calls for {RUNS} password commands (the AWS CLI "
                f"made {RUNS})",
            )
        ]
    )


if __name__ == "__main__":
    main()
