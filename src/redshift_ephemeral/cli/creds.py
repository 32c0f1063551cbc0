"""Print a fresh short-lived credential. `table` (default) hides the password; json, env,
dsn, url and pgpass print it, because that is what they are for."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

from .options import add_target_arguments, source_from_arguments

FORMATS = ("table", "json", "env", "dsn", "url", "pgpass")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="output format (default: table, which hides the password)",
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    credential = source_from_arguments(args, environ).get()
    output = sys.stdout
    if args.format == "json":
        print(credential.json(), file=output)
    elif args.format == "env":
        for name, value in credential.environment().items():
            print(f"export {name}={shlex.quote(value)}", file=output)
    elif args.format == "dsn":
        print(credential.dsn(), file=output)
    elif args.format == "url":
        print(credential.sqlalchemy_url(), file=output)
    elif args.format == "pgpass":
        print(credential.pgpass_line(), file=output)
    else:
        left = int(credential.seconds_left(datetime.now(UTC)))
        rows = [
            ("host", credential.host),
            *(
                [
                    (
                        "hostaddr",
                        f"{credential.connect_address} ({_what_tls_checks(credential.sslmode)})",
                    )
                ]
                if credential.connect_address is not None
                else []
            ),
            ("port", str(credential.port)),
            ("database", credential.database),
            ("user", credential.user),
            ("password", "(hidden; use --format json|env|dsn|url|pgpass)"),
            ("expires", f"{credential.expires_at.isoformat()} (in {left} s)"),
            ("issued by", credential.operation.action),
            ("sslmode", credential.sslmode),
            ("sslrootcert", credential.sslrootcert or ""),
        ]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}", file=output)
    return 0


def _what_tls_checks(sslmode: str) -> str:
    if sslmode == "verify-full":
        return "TLS verifies the host name"
    if sslmode == "verify-ca":
        return "TLS verifies the CA, not the host name"
    return "TLS encrypts but verifies nothing"
