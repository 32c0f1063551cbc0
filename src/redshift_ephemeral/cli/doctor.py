"""Check the path from your AWS identity to a query, one line per check: AWS identity,
endpoint discovery, permission for the credential call, DNS, TCP, TLS verification, login
with SELECT 1, clock skew against the server. Exit code: that of the first failure."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from .options import add_target_arguments, resolve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--driver",
        choices=("psycopg", "psycopg2", "redshift_connector"),
        help="driver for the login check (default: the first installed)",
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from ..doctor import run_checks
    from ..source import CredentialSource

    source = CredentialSource.from_options(**resolve(args, environ))
    exit_code = 0
    width = len("AWS identity")
    for result in run_checks(source, driver=args.driver):
        status = "ok  " if result.ok else "skip" if result.ok is None else "FAIL"
        line = f"{status}  {result.name:<{width}}  {result.detail}"
        if result.ok is False and result.fix:
            line += f"\n      {'':<{width}}  fix: {result.fix}"
        print(line, file=sys.stdout, flush=True)
        if result.ok is False and exit_code == 0:
            exit_code = result.exit_code or 1
    return exit_code
