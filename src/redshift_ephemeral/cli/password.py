"""Print a fresh password for TARGET and nothing else (followed by a newline): for tools
with a "password command" field. From the running agent in milliseconds; without one (or
if it does not keep TARGET), fetched here through the shared cache, so it always works.

  redshift-ephemeral password reports
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET", help="a named target from the config file")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from ..agent import agent_password

    password = agent_password(args.target, environ)
    if password is None:
        from .. import CredentialSource
        from .options import ON_BY_DEFAULT

        source = CredentialSource.from_target(args.target, environ=environ, defaults=ON_BY_DEFAULT)
        password = source.get().password.reveal()
    if any(char in password for char in "\0\n\r"):
        from .. import ConfigurationError

        raise ConfigurationError(
            "The password holds a line break or NUL, which a password command cannot print "
            "as one line. Use `redshift-ephemeral creds TARGET --format json` instead."
        )
    sys.stdout.write(password + "\n")
    sys.stdout.flush()
    return 0
