"""Shared by the benchmark scripts: one way to print a figure beside its baseline and
target, and to time things."""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    name: str
    ours: float
    unit: str
    target: str  # as docs/design.md's "Numbers it must reach" states it
    met: bool
    baseline: float | None = None
    baseline_name: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:.3g}"
    return f"{text} {unit}".strip()


def render(figures: list[Figure]) -> str:
    rows = [("figure", "ours", "baseline", "ratio", "target", "met")]
    for figure in figures:
        baseline = _number(figure.baseline, figure.unit)
        if figure.baseline_name:
            baseline += f" ({figure.baseline_name})"
        ratio = (
            "-"
            if figure.ratio is None
            else (f"{figure.ratio:.3f}" if figure.ratio >= 0.01 else f"{figure.ratio:.2g}")
        )
        rows.append(
            (
                figure.name,
                _number(figure.ours, figure.unit),
                baseline,
                ratio,
                figure.target,
                "yes" if figure.met else "NO",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"  * {figure.name}: {figure.note}" for figure in figures if figure.note]
    return "\n".join(lines + notes)


def report(figures: list[Figure]) -> None:
    """Print the table for a reader and one FIGURE line each for bench/run_all.py."""
    print(render(figures))
    for figure in figures:
        print("FIGURE " + json.dumps(asdict(figure)))


def median_seconds(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# -- processes --------------------------------------------------------------------------------


def wall(command: list[str], env: dict[str, str], limit: float = 60.0) -> float:
    """Wall time of one run of ``command``, killed after ``limit`` seconds. (Not
    ``subprocess.run(timeout=...)``: its wait polls with sleeps of up to 50 ms, which rounds
    every measurement up to the next 50 ms step.)"""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    watchdog = threading.Timer(limit, process.kill)
    watchdog.start()
    try:
        code = process.wait()
    finally:
        watchdog.cancel()
    elapsed = time.perf_counter() - started
    if code != 0:
        raise subprocess.CalledProcessError(code, command)
    return elapsed


def aws_get_cluster_credentials(aws: Path, endpoint_url: str) -> list[str]:
    """The AWS CLI baseline: ``aws redshift get-cluster-credentials`` for alice on the local
    stack's cluster."""
    return [
        str(aws),
        "redshift",
        "get-cluster-credentials",
        "--db-user",
        "alice",
        "--cluster-identifier",
        "demo-cluster",
        "--endpoint-url",
        endpoint_url,
        "--output",
        "json",
    ]


def run_released(
    commands: list[list[str]],
    env: dict[str, str],
    ready: list[Path],
    start: Path,
    *,
    ready_seconds: float,
    finish_seconds: float,
) -> list[str]:
    """Start one process per command, wait until each has touched its ``ready`` file, then
    release them all at once by creating ``start``; their outputs. Every process is killed
    if the run does not finish in time; one that fails fails the run."""
    processes = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for command in commands
    ]
    try:
        deadline = time.monotonic() + ready_seconds
        while not all(path.exists() for path in ready):
            if time.monotonic() > deadline:
                raise TimeoutError(f"processes not ready after {ready_seconds} s")
            time.sleep(0.005)
        start.touch()
        outputs = [process.communicate(timeout=finish_seconds) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    failed = [
        err for process, (_, err) in zip(processes, outputs, strict=True) if process.returncode
    ]
    if failed:
        raise RuntimeError(f"{len(failed)} processes failed: {failed[0]}")
    return [out for out, _ in outputs]
