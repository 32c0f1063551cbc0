"""Run one SQL statement on the target and print the result.

redshift-ephemeral query analytics "SELECT COUNT(*) FROM my_table" --format csv
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .options import add_target_arguments, source_from_arguments

FORMATS = ("table", "csv", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .. import DRIVERS

    add_target_arguments(parser)
    parser.add_argument("sql", metavar="SQL", help="the statement to run")
    parser.add_argument(
        "--driver", choices=DRIVERS, help="database driver (default: the first installed of these)"
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="table", help="output format (default: table)"
    )


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], output_format: str) -> str:
    if output_format == "json":
        return json.dumps(
            [dict(zip(columns, row, strict=True)) for row in rows], default=str, indent=2
        )
    if output_format == "csv":
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    cells = [[str(value) for value in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    lines = [
        "  ".join(name.ljust(width) for name, width in zip(columns, widths, strict=True)),
        "  ".join("-" * width for width in widths),
    ]
    lines += [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from .. import run_query

    result = run_query(source_from_arguments(args, environ), args.sql, driver=args.driver)
    if result.columns is None:
        print(f"OK ({result.rowcount} rows affected)" if result.rowcount >= 0 else "OK")
    else:
        print(render(result.columns, result.rows, args.format), file=sys.stdout)
    return 0
