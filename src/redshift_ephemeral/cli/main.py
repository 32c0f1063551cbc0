"""Entry point: parses arguments, runs one command, turns errors into one or two plain lines
and an exit code (0 ok, 2 usage/configuration, 3 AWS, 4 connection/TLS)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

# command → (module, summary). Each module has ``add_arguments(parser)`` and
# ``run(args, environ)`` and imports the library lazily inside ``run``, so ``--help`` and
# ``creds`` pay only for what they use.
COMMANDS = {
    "creds": ("creds", "print a fresh short-lived credential"),
    "exec": ("execute", "run a command with libpq variables and a refreshing passfile"),
    "psql": ("psql", "open psql on the target"),
    "query": ("query", "run one SQL statement and print the result"),
    "doctor": ("doctor", "check identity, permission, network, TLS, login and clock"),
    "policy": ("policy", "print the least-privilege IAM policy for the target"),
    "cache": ("cache", "list or clear the credentials shared between your commands"),
    "agent": ("agent", "keep targets fresh for psql, GUI tools and password commands"),
    "password": ("password", "print only the password of TARGET, for password commands"),
    "demo": ("demo", "run the whole flow end to end on the local stack"),
    "local": ("local", "start, stop or inspect the local stack in the background"),
    "completion": ("completion", "print a shell completion script (bash or zsh)"),
}
EXIT_USAGE = 2
EXIT_AWS = 3
EXIT_CONNECTION = 4
EXIT_UNEXPECTED = 1


def exit_code_for(kind: type[Exception] | None, error: BaseException | None = None) -> int:
    """The exit code for a failure of ``kind`` (a library error type): the one place the
    library's errors become the CLI's codes. ``exec``'s unrunnable command exits as a
    shell would (126 / 127)."""
    from .. import AwsError, ConfigurationError, DatabaseConnectionError
    from .execute import CommandNotRunnable

    if isinstance(error, CommandNotRunnable):
        return error.exit_code
    for base, code in (
        (ConfigurationError, EXIT_USAGE),
        (AwsError, EXIT_AWS),
        (DatabaseConnectionError, EXIT_CONNECTION),
    ):
        if kind is not None and issubclass(kind, base):
            return code
    return EXIT_UNEXPECTED


def _help_width() -> int:
    """``shutil.get_terminal_size().columns - 2``, argparse's default width, without importing
    shutil: argparse builds a formatter at every ``add_argument`` and each one imports it,
    with the compression modules it brings (about 3 ms of a warm ``creds``)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


class _Formatter(argparse.HelpFormatter):
    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ):
        width = _help_width() if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class _RawDescriptionFormatter(_Formatter, argparse.RawDescriptionHelpFormatter):
    """A command's help: its description (the module's docstring) as written."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs: Any):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(
            EXIT_USAGE,
            f"redshift-ephemeral: error: {message}\nRun '{self.prog} --help' for usage.\n",
        )


class _MainParser(_Parser):
    """The top-level parser, which keeps each command's parser at hand (``commands``)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}


def build_parser(only: str | None = None) -> _MainParser:
    """The parser; with ``only``, just that command's options are built (argparse takes
    ~3 ms per command, and a run needs one), the others get their one-line summary."""
    parser = _MainParser(
        prog="redshift-ephemeral",
        description="Amazon Redshift with short-lived database passwords over verified TLS.",
        epilog="Exit codes: 0 ok, 2 usage or configuration, 3 AWS identity or API, 4 "
        "connection or TLS; exec and psql return the command's own. Set "
        "REDSHIFT_EPHEMERAL_LOG=debug for logs without tracebacks.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    # --debug is accepted after the command too (default SUPPRESS keeps the top-level value).
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and debug logs",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name, (module_name, summary) in COMMANDS.items():
        if only is not None and name != only:
            subparsers.add_parser(name, help=summary)
            continue
        module = importlib.import_module(f".{module_name}", __package__)
        sub = subparsers.add_parser(
            name,
            help=summary,
            description=module.__doc__,
            parents=[common],
            formatter_class=_RawDescriptionFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
        parser.commands[name] = sub
    return parser


# Commands whose arguments after a bare `--` belong to the child process.
PASSTHROUGH_COMMANDS = ("exec", "psql")


def split_passthrough(argv: list[str]) -> tuple[list[str], list[str]]:
    """``exec TARGET -- CMD ARGS`` → (``exec TARGET``, ``CMD ARGS``)."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command in PASSTHROUGH_COMMANDS and "--" in argv:
        index = argv.index("--")
        return argv[:index], argv[index + 1 :]
    return argv, []


def parse_arguments(own: list[str]) -> argparse.Namespace:
    """Parse ``own`` (argv without any pass-through). Within a command, options and
    positionals come in any order, as README shows them (``query TARGET --format csv SQL``):
    the command's parser reads them intermixed. argparse cannot intermix through
    subparsers, so the command word is found first and the top level keeps what precedes it
    (only ``--debug``); anything else there (``--help``, a typo) goes to the full parser."""
    index = next((i for i, arg in enumerate(own) if not arg.startswith("-")), None)
    if index is None or own[index] not in COMMANDS or any(arg != "--debug" for arg in own[:index]):
        return build_parser(only="").parse_args(own)  # prints help or a usage error
    command = own[index]
    args = build_parser(only=command).commands[command].parse_intermixed_args(own[index + 1 :])
    args.command = command
    args.debug = bool(own[:index]) or getattr(args, "debug", False)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    own, passthrough = split_passthrough(list(sys.argv[1:] if argv is None else argv))
    args = parse_arguments(own)
    args.passthrough = passthrough
    # --debug: debug logs and tracebacks; REDSHIFT_EPHEMERAL_LOG=debug|info|…: logs only.
    log_level = "DEBUG" if args.debug else os.environ.get("REDSHIFT_EPHEMERAL_LOG", "").upper()
    if log_level:
        import logging

        logging.basicConfig(
            level=getattr(logging, log_level, logging.WARNING),
            format="%(levelname)s %(name)s: %(message)s",
        )
    try:
        return int(args.run(args, os.environ))
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        from .. import RedshiftEphemeralError

        if args.debug:
            import traceback

            traceback.print_exc()
        if isinstance(error, RedshiftEphemeralError):
            print(f"redshift-ephemeral: {error}", file=sys.stderr)
            return exit_code_for(type(error), error)
        print(
            f"redshift-ephemeral: unexpected {type(error).__name__}: {error}\n"
            "Run again with --debug for the traceback, and report it if it persists.",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED


# Commands that hold nothing to clean up once they have printed: for them the interpreter's
# own teardown (freeing botocore's models and clients, ~50 ms) is skipped.
FAST_EXIT_COMMANDS = ("creds", "password", "cache")


def run() -> NoReturn:
    """The ``redshift-ephemeral`` console script: ``main()``, then the exit. After a
    ``FAST_EXIT_COMMANDS`` command, output is flushed and the process ends at once
    (``os._exit``) - unless coverage is measuring it, whose data is written at exit."""
    code = main()
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if command in FAST_EXIT_COMMANDS and "coverage" not in sys.modules:
        if "logging" in sys.modules:
            import logging

            logging.shutdown()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed pipe: exit as Python would, with 120
            os._exit(120)
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
