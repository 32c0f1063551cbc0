"""``exec``: a command that cannot run exits 127/126 as a shell does, before any password is
fetched; signals reach the child even when this process inherited them as ignored."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import pytest

from redshift_ephemeral.aws.issuers import AwsIssuer
from redshift_ephemeral.cli.main import main


def run_exec(command: list[str], environ: dict[str, str]) -> tuple[int, str]:
    stderr = io.StringIO()
    with (
        mock.patch.object(AwsIssuer, "issue", side_effect=AssertionError("AWS was called")),
        mock.patch.dict(os.environ, environ, clear=True),
        contextlib.redirect_stderr(stderr),
    ):
        code = main(["exec", "--cluster-id", "demo", "--db-user", "alice", "--", *command])
    return code, stderr.getvalue()


@pytest.fixture
def not_executable(tmp_path: Path) -> str:
    path = tmp_path / "script.sh"
    path.write_text("#!/bin/sh\necho hi\n")
    path.chmod(0o644)
    return str(path)


@pytest.mark.parametrize(
    ("command", "code", "message"),
    [
        ("no-such-command-xyz", 127, "command not found on PATH"),
        ("/no/such/file", 127, "no such file"),
        ("DIR", 126, "is a directory"),
        ("NOT_EXECUTABLE", 126, "not executable"),
    ],
)
def test_a_command_that_cannot_run_exits_as_a_shell_does_without_aws(
    command: str, code: int, message: str, tmp_path: Path, not_executable: str
) -> None:
    command = {"DIR": str(tmp_path), "NOT_EXECUTABLE": not_executable}.get(command, command)
    exit_code, stderr = run_exec([command], {"PATH": "/usr/bin:/bin"})
    assert exit_code == code
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_a_command_is_looked_up_on_the_childs_path(tmp_path: Path) -> None:
    exit_code, stderr = run_exec(["ls"], {"PATH": str(tmp_path)})
    assert (exit_code, "ls: command not found on PATH") == (127, stderr.strip().split(": ", 1)[1])


# One process (no shell in between, which could be waiting for a command when the signal
# comes): it reports which signals it ignores and where its passfile is, then waits.
REPORTING_CHILD = [
    sys.executable,
    "-c",
    "import os, time\n"
    "status = open('/proc/self/status').read().splitlines()\n"
    "print([line for line in status if line.startswith('SigIgn:')][0].split()[1])\n"
    "print(os.environ.get('PGPASSFILE'), flush=True)\n"
    "time.sleep(60)",
]


def sigint_is_ignored(mask: str) -> bool:
    return bool(int(mask, 16) & (1 << (signal.SIGINT - 1)))


def test_sigint_inherited_as_ignored_is_default_in_the_child_and_forwarded() -> None:
    """As under ``nohup`` or ``cmd &`` in a script: the child must not inherit the ignore."""
    script = textwrap.dedent(
        f"""
        import signal, sys
        from redshift_ephemeral.cli.execute import run_forwarding_signals
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        child = {REPORTING_CHILD!r}
        sys.exit(run_forwarding_signals(child, child[0], {{}}))
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert not sigint_is_ignored(process.stdout.readline()), "the child ignores SIGINT"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 128 + signal.SIGINT
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
