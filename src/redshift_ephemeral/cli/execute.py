"""Run a command with libpq's variables set for the target: PGHOST, PGPORT, PGUSER,
PGDATABASE, PGSSLMODE, PGSSLROOTCERT and PGPASSFILE, a private passfile rewritten before each
password expires while the command runs and removed when it exits (any signal included).
Signals are passed on to the command; its exit code is returned.

  redshift-ephemeral exec analytics -- psql -c 'SELECT 1'
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from ..errors import RedshiftEphemeralError
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
# A shell's codes for a command it could not run (POSIX, "Command Search and Execution").
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


class CommandNotRunnable(RedshiftEphemeralError):
    """The command given to ``exec`` is missing, a directory or not executable."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


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


def resolve_command(name: str, search_path: str | None) -> str:
    """The file ``name`` runs, found as a shell finds it (a name with ``/`` as it is, any other
    on ``search_path``), or ``CommandNotRunnable`` with the shell's exit code: 127 when
    there is no such file, 126 when it is a directory or not executable."""
    if "/" in name:
        path = name
        if not os.path.exists(path):
            raise CommandNotRunnable(f"{name}: no such file", EXIT_NOT_FOUND)
    else:
        found = shutil.which(name, path=search_path if search_path is not None else os.defpath)
        if found is None:
            raise CommandNotRunnable(f"{name}: command not found on PATH", EXIT_NOT_FOUND)
        path = found
    if os.path.isdir(path):
        raise CommandNotRunnable(f"{name}: is a directory", EXIT_NOT_EXECUTABLE)
    if not os.access(path, os.X_OK):
        raise CommandNotRunnable(f"{name}: permission denied (not executable)", EXIT_NOT_EXECUTABLE)
    return path


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
    # Before any password is fetched: a command that cannot run needs none.
    executable = resolve_command(command[0], environ.get("PATH"))
    with RefreshingPassfile(source) as passfile:
        child_env = passfile.child_environment(environ) | {NESTED_MARKER: "1"}
        return run_forwarding_signals(list(command), executable, child_env)


def run_forwarding_signals(command: list[str], executable: str, env: dict[str, str]) -> int:
    """Run ``command`` and wait for it, passing our signals on to it; its exit code (128+N
    if a signal ended it, as shells report).

    Our handlers are installed *before* the child is spawned, for two reasons: a signal that
    arrives in between is kept and delivered once the child exists, and a signal this
    process inherited as ignored (SIGINT under ``nohup`` or ``&`` in a script) is no longer
    ignored when the child is exec'd - a caught signal resets to its default across
    ``execve``, an ignored one would stay ignored in the child."""
    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []

    def forward(signum: int, _: FrameType | None) -> None:
        if child is None:
            pending.append(signum)
        elif child.poll() is None:
            child.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS}
    try:
        try:
            child = subprocess.Popen(command, executable=executable, env=env)
        except OSError as error:  # removed or changed since it was resolved
            code = EXIT_NOT_FOUND if isinstance(error, FileNotFoundError) else EXIT_NOT_EXECUTABLE
            raise CommandNotRunnable(
                f"{command[0]}: {error.strerror or type(error).__name__}", code
            ) from None
        for signum in pending:
            child.send_signal(signum)
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code
