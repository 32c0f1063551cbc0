"""Entry point: parses arguments, runs one command, turns errors into one or two plain lines
and an exit code (0 ok, 2 usage/configuration, 3 AWS, 4 connection/TLS)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

# Each command lives in its own module with ``add_arguments(parser)`` and ``run(args)``;
# modules import the library lazily inside ``run`` so ``--help`` stays fast.
COMMANDS = {
    "creds": "print a fresh short-lived credential",
    "demo": "run the whole flow end to end on the local stack",
    "local": "start, stop or inspect the local stack in the background",
}
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(
            EXIT_USAGE,
            f"redshift-ephemeral: error: {message}\nRun '{self.prog} --help' for usage.\n",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="redshift-ephemeral",
        description="Amazon Redshift with short-lived database passwords over verified TLS.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name, summary in COMMANDS.items():
        module = importlib.import_module(f".{name}", __package__)
        sub = subparsers.add_parser(name, help=summary, description=module.__doc__)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args, os.environ))
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        from ..errors import RedshiftEphemeralError

        if args.debug:
            traceback.print_exc()
        if isinstance(error, RedshiftEphemeralError):
            print(f"redshift-ephemeral: {error}", file=sys.stderr)
            return error.exit_code
        print(
            f"redshift-ephemeral: unexpected {type(error).__name__}: {error}\n"
            "Run again with --debug for the traceback, and report it if it persists.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
