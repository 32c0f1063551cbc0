"""Open psql on the target (exec with psql): the password reaches psql only through a
private passfile kept fresh while psql runs.

  redshift-ephemeral psql analytics -- -c 'SELECT COUNT(*) FROM my_table'
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Mapping

from .execute import run_with_passfile
from .options import add_target_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.usage = "%(prog)s [TARGET] [options] [-- PSQL ARGS...]"


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from .. import ConfigurationError, check_command_line

    check_command_line(args.passthrough, psql=True)

    psql = shutil.which("psql", path=environ.get("PATH"))
    if psql is None:
        raise ConfigurationError(
            "psql was not found on PATH: install it (Debian/Ubuntu "
            "`apt-get install -y postgresql-client`, macOS "
            "`brew install libpq`)."
        )
    return run_with_passfile(args, environ, [psql, *args.passthrough])
