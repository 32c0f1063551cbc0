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

from .options import add_target_arguments, resolve

DRIVERS = ("psycopg", "psycopg2", "redshift_connector")
FORMATS = ("table", "csv", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("sql", metavar="SQL", help="the statement to run")
    parser.add_argument(
        "--driver", choices=DRIVERS, help="database driver (default: the first installed)"
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
    from ..db.connections import connect, default_driver
    from ..errors import QueryError
    from ..source import CredentialSource

    source = CredentialSource.from_options(**resolve(args, environ))
    connection = connect(source, driver=args.driver or default_driver())
    try:
        cursor = connection.cursor()
        refusal = None
        try:
            cursor.execute(args.sql)
        except Exception as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            refusal = QueryError(f"The database refused the statement: {first_line}")
        if refusal is not None:  # raised here, not in the except: no driver error chained
            raise refusal
        if cursor.description is None:
            print(f"OK ({cursor.rowcount} rows affected)" if cursor.rowcount >= 0 else "OK")
        else:
            columns = [str(column[0]) for column in cursor.description]
            print(render(columns, cursor.fetchall(), args.format), file=sys.stdout)
        connection.commit()
    finally:
        connection.close()
    return 0
