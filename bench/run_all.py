#!/usr/bin/env python3
"""Run every benchmark (one script per figure of docs/design.md's "Numbers it must reach")
and print one table: figure, ours, baseline, ratio, target, met. Run it with the
project's virtualenv Python:

    .venv/bin/python bench/run_all.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _bench import Figure, render  # noqa: E402

SCRIPTS = [
    "aws_calls_10k_connections.py",
    "cached_lookup.py",
    "connect_overhead.py",
    "single_flight.py",
    "cli_vs_awscli.py",
    "agent_password.py",
    "redshift_connector_iam.py",
    "pool_soak.py",
]


def main() -> int:
    started = time.monotonic()
    figures: list[Figure] = []
    for script in SCRIPTS:
        print(f"running {script} ...", file=sys.stderr, flush=True)
        result = subprocess.run(
            [sys.executable, str(BENCH / script)],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        lines = [line for line in result.stdout.splitlines() if line.startswith("FIGURE ")]
        if result.returncode != 0 or not lines:
            print(f"{script} failed:\n{result.stdout}{result.stderr}", file=sys.stderr)
            return 1
        figures += [Figure(**json.loads(line[len("FIGURE ") :])) for line in lines]
    print(render(figures))
    print(f"\n{len(figures)} figures in {time.monotonic() - started:.0f} s on this machine.")
    return 0 if all(figure.met for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
