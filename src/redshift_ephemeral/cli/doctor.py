"""Check the path from your AWS identity to a query, one line per check: AWS identity,
endpoint discovery, permission for the credential call, DNS, TCP, TLS verification, login
with SELECT 1, clock skew against the server. Exit code: that of the first failure."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from .options import add_target_arguments, source_from_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .. import DRIVERS

    add_target_arguments(parser)
    parser.add_argument(
        "--driver",
        choices=DRIVERS,
        help="driver for the login check (default: the first installed of these)",
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from .. import run_checks
    from .main import exit_code_for

    source = source_from_arguments(args, environ)
    exit_code = 0
    width = len("AWS identity")
    for result in run_checks(source, driver=args.driver):
        status = "ok  " if result.ok else "skip" if result.ok is None else "FAIL"
        line = f"{status}  {result.name:<{width}}  {result.detail}"
        if result.ok is False and result.fix:
            line += f"\n      {'':<{width}}  fix: {result.fix}"
        print(line, file=sys.stdout, flush=True)
        if result.ok is False and exit_code == 0:
            exit_code = exit_code_for(result.kind)
    return exit_code
