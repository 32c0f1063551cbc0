"""The interoperability suite: clients nobody here wrote, each from its own venv
(``venvs.py``), run as subprocesses against the local stack with nothing but the stack's
environment (``LocalStack.environment()``, the same as ``eval "$(redshift-ephemeral local
env)"``) plus ``PATH`` and a private ``HOME``, ``XDG_*`` and ``TMPDIR``.

Every output a client prints and every file it leaves in its private directories is kept
and searched for the stack's issued passwords when the session finishes
(``tests/leak_scan.py``).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from redshift_ephemeral.local.stack import LocalStack
from tests.leak_scan import RECORD

from . import venvs

OUR_CLI = Path(sys.executable).parent / "redshift-ephemeral"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
MAX_SCANNED_FILE_BYTES = 5_000_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/interop/" in str(item.fspath):
            item.add_marker(pytest.mark.interop)
            # The first test to use a client builds its venv if the cache lacks it (minutes,
            # cold; `.ci/run` builds them beforehand). Every subprocess has its own timeout.
            item.add_marker(pytest.mark.timeout(venvs.PIP_TIMEOUT_SECONDS + 300))


@dataclass
class Client:
    """Runs third-party programs as a user of the stack would, in a private home."""

    stack: LocalStack
    home: Path
    scanned: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        for directory in ("config", "cache", "data", "state", "runtime", "tmp"):
            (self.home / directory).mkdir(mode=0o700, parents=True, exist_ok=True)
        self.scanned.append(self.home)

    def environment(self, *venv_names: str, user: str = "alice") -> dict[str, str]:
        """The stack's environment, ``PATH`` (the named venvs first) and private dirs. Nothing
        from the test process leaks in: no AWS profile, no proxies, no PYTHON* variables."""
        bins = [str(venvs.ensure(name) / "bin") for name in venv_names]
        return {
            **self.stack.environment(user),
            "PATH": ":".join([*bins, str(OUR_CLI.parent), SYSTEM_PATH]),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_STATE_HOME": str(self.home / "state"),
            "XDG_RUNTIME_DIR": str(self.home / "runtime"),
            "TMPDIR": str(self.home / "tmp"),
        }

    def run(
        self,
        argv: Sequence[str | Path],
        *,
        venv: str | None = None,
        user: str = "alice",
        cwd: Path | None = None,
        stdin: str | None = None,
        timeout: float = 180,
        password_in_stdout: bool = False,
        environment: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` (a program found on the client environment's PATH). Its stdout and
        stderr go to the leak scan, stdout excepted when the user asked for a password
        (``aws redshift get-cluster-credentials`` prints one, as on AWS)."""
        env = (
            dict(environment)
            if environment is not None
            else self.environment(*([venv] if venv else []), user=user)
        )
        program = str(argv[0])
        if "/" not in program:
            found = _which(program, env["PATH"])
            if found is None:
                raise AssertionError(f"{program} is not on the client PATH {env['PATH']}")
            program = found
        result = subprocess.run(
            [program, *map(str, argv[1:])],
            env=env,
            cwd=cwd or self.home,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        where = " ".join(map(str, argv))
        RECORD.output(f"stderr of {where}", result.stderr)
        if not password_in_stdout:
            RECORD.output(f"stdout of {where}", result.stdout)
        return result

    def python(
        self, venv: str, script: str, *args: str, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """``python -c script args...`` in a client's venv."""
        return self.run(["python", "-c", script, *args], venv=venv, timeout=timeout)

    def collect_files(self) -> None:
        """Every file the client left in its private directories, for the leak scan - but
        the shared credential cache, whose entries hold a password by design (checked to be
        0600 files in a 0700 directory instead)."""
        for root in self.scanned:
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    if path.parent.name == "credentials" and path.parent.parent.name == (
                        "redshift-ephemeral"
                    ):
                        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
                        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path
                        continue
                    if path.stat().st_size > MAX_SCANNED_FILE_BYTES:
                        continue
                    text = path.read_bytes().decode("utf-8", "replace")
                    RECORD.output(f"file {path}", text)


def _which(program: str, path: str) -> str | None:
    for directory in path.split(":"):
        candidate = Path(directory) / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


@pytest.fixture
def client(redshift_local: LocalStack, tmp_path: Path) -> Iterator[Client]:
    """A private home on the session's stack; afterwards its files and the stack's issued
    passwords go to the leak scan. A client's venv is built on first use (``venvs.py``)."""
    runner = Client(redshift_local, tmp_path / "home")
    yield runner
    runner.collect_files()
    RECORD.issued(redshift_local.issued_passwords())


def assert_succeeded(result: subprocess.CompletedProcess[str]) -> None:
    """Exit 0, or a failure message with what the client said (its stdout too: a failed
    call has printed no password; the leak scan reads failure reports all the same)."""
    code = result.returncode  # pytest would explain result itself, stdout included
    if code != 0:
        pytest.fail(
            f"{' '.join(map(str, result.args))} exited {code}\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}",
            pytrace=False,
        )
