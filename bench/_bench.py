"""Shared by the benchmark scripts: one way to print a figure beside its baseline and
target, and to time things."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


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
