"""Run a command with libpq's variables set for the target: PGHOST, PGPORT, PGUSER,
PGDATABASE, PGSSLMODE, PGSSLROOTCERT and PGPASSFILE, a private passfile rewritten before each
password expires while the command runs and removed when it exits (any signal included).
Signals are passed on to the command; its exit code is returned.

  redshift-ephemeral exec analytics -- psql -c 'SELECT 1'
"""

from __future__ import annotations

import argparse
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from .options import add_target_arguments, resolve

NESTED_MARKER = "REDSHIFT_EPHEMERAL_EXEC"
FORWARDED_SIGNALS = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.usage = "%(prog)s [TARGET] [options] -- CMD [ARGS...]"


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from ..db.options import check_command_line
    from ..errors import ConfigurationError

    command = list(args.passthrough)
    if not command:
        raise ConfigurationError(
            "No command given: put it after `--`, e.g. `redshift-ephemeral exec -- psql`."
        )
    check_command_line(command[1:], psql=Path(command[0]).name == "psql")
    return run_with_passfile(args, environ, command)


def run_with_passfile(
    args: argparse.Namespace, environ: Mapping[str, str], command: Sequence[str]
) -> int:
    from ..db.passfile import RefreshingPassfile
    from ..errors import ConfigurationError
    from ..source import CredentialSource

    if environ.get(NESTED_MARKER):
        raise ConfigurationError(
            "Already inside `redshift-ephemeral exec`: the PG* variables are set; run the "
            "command directly, or exit the outer exec first."
        )
    source = CredentialSource.from_options(**resolve(args, environ))
    with RefreshingPassfile(source) as passfile:
        child_env = {key: value for key, value in environ.items() if key != "PGPASSWORD"}
        child_env |= passfile.environment() | {NESTED_MARKER: "1"}
        try:
            child = subprocess.Popen(list(command), env=child_env)
        except FileNotFoundError:
            raise ConfigurationError(
                f"Command not found: {command[0]!r}. Check the name and PATH."
            ) from None
        return wait_forwarding_signals(child)


def wait_forwarding_signals(child: subprocess.Popen[bytes]) -> int:
    """Wait for ``child``, passing our signals on to it; its exit code (128+N if a signal
    ended it, as shells report)."""

    def forward(signum: int, _: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS}
    try:
        while True:
            try:
                code = child.wait()
                break
            except InterruptedError:  # pragma: no cover - wait() retries by itself
                continue
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code
