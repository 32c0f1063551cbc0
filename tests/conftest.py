"""Shared test helpers: an injected clock, credentials made to order, AWS sandboxing, and a
private home for every test."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.secret import Secret
from redshift_ephemeral.targets import Operation
from tests.interop.venvs import CACHE_ROOT_VARIABLE as INTEROP_CACHE_VARIABLE
from tests.interop.venvs import cache_root as interop_cache_root
from tests.leak_scan import RECORD


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def make_credential(
    lifetime: float = 900.0,
    *,
    password: str = "s3cret-Pa55word-value",
    next_refresh_after: float | None = None,
    issued_at: datetime | None = None,
) -> Credential:
    issued = issued_at or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    return Credential(
        host="demo-cluster.abc123.us-east-1.redshift.amazonaws.com",
        port=5439,
        database="dev",
        user="IAM:alice",
        password=Secret(password),
        issued_at=issued,
        expires_at=issued + timedelta(seconds=lifetime),
        next_refresh_at=(
            issued + timedelta(seconds=next_refresh_after)
            if next_refresh_after is not None
            else None
        ),
        operation=Operation.GET_CLUSTER_CREDENTIALS,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def aws_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No real AWS identity or config can leak into a unit test."""
    home = tmp_path_factory.mktemp("aws-home")
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_REDSHIFT",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Each test starts as a new process would: empty credential cache, no AWS clients."""
    from redshift_ephemeral import file_store
    from redshift_ephemeral.aws import issuers
    from redshift_ephemeral.cache import default_cache

    default_cache.clear()
    issuers.forget_all()
    file_store.forget_shared_caches()
    yield
    default_cache.clear()
    issuers.forget_all()
    file_store.forget_shared_caches()


# -- every test in a private home ------------------------------------------------------------

# What a user's files are found by: nothing the suite writes (the trust bundle, passfiles, a
# background stack's state, STS's cache) may land in the real user's directories.
PRIVATE_DIRECTORIES = {
    "HOME": "home",
    "XDG_CONFIG_HOME": "config",
    "XDG_CACHE_HOME": "cache",
    "XDG_DATA_HOME": "data",
    "XDG_STATE_HOME": "state",
    "XDG_RUNTIME_DIR": "runtime",
    "TMPDIR": "tmp",
}
# Short names: PostgreSQL's socket path, made under TMPDIR by a test's own stack, must stay
# within the 107 bytes a Unix socket's path may take.
# Traversable (never listable) by others: run as root, the local stack starts PostgreSQL as an
# unprivileged account in a directory it makes under TMPDIR, which that account must reach.
_TRAVERSABLE = 0o711
_test_numbers = itertools.count()


def make_private_directories(root: Path) -> dict[str, str]:
    """``root`` and one directory per variable of ``PRIVATE_DIRECTORIES`` inside it: the
    environment that points a process at them."""
    root.mkdir(mode=_TRAVERSABLE, parents=True)
    root.chmod(_TRAVERSABLE)
    environment = {}
    for variable, name in PRIVATE_DIRECTORIES.items():
        directory = root / name
        directory.mkdir(mode=0o700)
        if variable == "TMPDIR":
            directory.chmod(_TRAVERSABLE)
        environment[variable] = str(directory)
    return environment


@pytest.fixture(scope="session", autouse=True)
def _private_session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Before anything else of the session (the session's local stack included, and every
    subprocess it or a test starts, which inherit the environment): private directories."""
    tmp_path_factory.getbasetemp()  # pytest's own directory stays where it was
    # One cache outlives the run on purpose: the interop clients' venvs (minutes to build).
    os.environ.setdefault(INTEROP_CACHE_VARIABLE, str(interop_cache_root()))
    root = Path(tempfile.mkdtemp(prefix="rse-tests-"))
    root.chmod(_TRAVERSABLE)
    environment = make_private_directories(root / "s")
    saved = {variable: os.environ.get(variable) for variable in environment}
    saved_tempdir = tempfile.tempdir
    os.environ.update(environment)
    tempfile.tempdir = environment["TMPDIR"]
    try:
        yield root
    finally:
        tempfile.tempdir = saved_tempdir
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _private_home(_private_session_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Each test its own home: what one test leaves (a trust bundle, a passfile) is not there
    for the next. Subprocesses a test starts inherit these variables."""
    environment = make_private_directories(_private_session_home / f"t{next(_test_numbers)}")
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setattr(tempfile, "tempdir", environment["TMPDIR"])
    return environment


# -- the leak scan, once the whole session has run (tests/leak_scan.py) ---------------------


_leak_scan_verdict: list[tuple[bool, list[str]]] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    """A failure's report quotes what the test saw (an error's text, a CLI's or a third-party
    client's output): the leak scan reads it too."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed:
        RECORD.output(f"failure report of {item.nodeid}", report.longreprtext)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    verdict = RECORD.verdict()
    _leak_scan_verdict.append(verdict)
    if verdict[0] and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Printed after the session's hooks ran (the terminal summary comes last)."""
    for failed, lines in _leak_scan_verdict:
        if lines:
            terminalreporter.write_sep("=", "leak scan", red=failed, green=not failed)
            for line in lines:
                terminalreporter.write_line(line)
