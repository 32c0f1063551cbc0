"""End-to-end tests run against the local stack (a real PostgreSQL server and the emulator),
through the package's own pytest plugin fixtures (``redshift_local``)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.local import LocalStack, seed
from tests.leak_scan import RECORD

CLI = str(Path(sys.executable).parent / "redshift-ephemeral")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 where nothing listens: bound (never listening) for the whole
    test, so a connection to it is refused and no other process can take it meanwhile."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def wait_until_expired(credential: Credential, margin: float = 0.3) -> None:
    """The Redshift endpoint checks expiry on the real clock: real time has to pass."""
    remaining = (credential.expires_at - datetime.now(UTC)).total_seconds()
    if remaining > 10:
        raise AssertionError(f"credential lives {remaining:.0f} s more: set a time scale")
    time.sleep(max(remaining, 0) + margin)


def connect(driver: str, credential: Credential, **overrides: Any) -> Any:
    """A real connection with the named driver."""
    if driver == "psycopg2":
        import psycopg2

        return psycopg2.connect(**{**credential.libpq_params(), **overrides})
    import psycopg

    return psycopg.connect(**{**credential.libpq_params(), **overrides})


def uses_tls(connection: Any) -> bool:
    """Whether the client's own connection is encrypted (psycopg, psycopg2 or
    redshift_connector): the endpoint terminates TLS, PostgreSQL behind it has none."""
    import ssl

    if hasattr(connection, "pgconn"):  # psycopg 3
        return bool(connection.pgconn.ssl_in_use)
    if hasattr(connection, "info") and hasattr(connection.info, "ssl_in_use"):  # psycopg2
        return bool(connection.info.ssl_in_use)
    return isinstance(connection._usock, ssl.SSLSocket)  # redshift_connector


def count_rows(driver: str, credential: Credential) -> int:
    connection = connect(driver, credential)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM my_table")
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])
    finally:
        connection.close()


@pytest.fixture
def env(redshift_local: LocalStack, tmp_path: Path) -> dict[str, str]:
    """What `eval "$(redshift-ephemeral local env)"` gives a shell, and a private config."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "REDSHIFT_EPHEMERAL_", "PG"))
    }
    return clean | redshift_local.environment() | {"XDG_CONFIG_HOME": str(tmp_path)}


def iam_admin(stack: LocalStack) -> Any:
    """An IAM client as the stack's administrator: what a test uses to change policies."""
    return stack.session(seed.ADMIN_USER).client("iam", endpoint_url=stack.endpoint_url)


@contextmanager
def user_policy(
    stack: LocalStack,
    effect: str,
    action: str | list[str],
    *,
    user: str = seed.READER_USER,
    resource: str = "*",
) -> Iterator[None]:
    """A statement attached to the IAM user for the duration, through the IAM API, as an
    administrator would in AWS."""
    iam = iam_admin(stack)
    name = f"test-{effect.lower()}"
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": effect, "Action": action, "Resource": resource}],
    }
    iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=json.dumps(document))
    try:
        yield
    finally:
        iam.delete_user_policy(UserName=user, PolicyName=name)


def denied(
    stack: LocalStack, action: str, *, user: str = seed.READER_USER, resource: str = "*"
) -> contextlib.AbstractContextManager[None]:
    """An explicit Deny of ``action`` for the IAM user, for the duration."""
    return user_policy(stack, "Deny", action, user=user, resource=resource)


@pytest.fixture(autouse=True)
def _redshift_connector_trusts_the_stack(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after `eval "$(redshift-ephemeral local env)"`: redshift_connector, which trusts
    only OpenSSL's default store, finds the stack's CA in SSL_CERT_FILE. Only for tests that
    use the stack (one that does not must not start it for this)."""
    if "redshift_local" in request.fixturenames:
        stack: LocalStack = request.getfixturevalue("redshift_local")
        monkeypatch.setenv("SSL_CERT_FILE", stack.ca_bundle_path)


# -- the leak scan (tests/leak_scan.py): what every e2e test let a user see ------------------

PASSWORD_FORMATS = frozenset({"json", "env", "dsn", "url", "pgpass"})


@pytest.fixture(autouse=True)
def _outputs_recorded(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Every e2e test runs with DEBUG logging everywhere; its records go to the leak scan,
    and so do the passwords the session's stack issued (read after each test that used it:
    a test may clear the stack's record)."""
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("botocore", "urllib3", "redshift_ephemeral")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
    # By phase: at this fixture's teardown, ``caplog.records`` holds the teardown's alone.
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    for record in records:
        where = f"log record of {request.node.nodeid}"
        RECORD.output(where, record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            RECORD.error(where, record.exc_info[1])
    if "redshift_local_stack" in request.fixturenames:
        stack: LocalStack = request.getfixturevalue("redshift_local_stack")
        RECORD.issued(stack.issued_passwords())


def asked_for_password(args: list[str]) -> bool:
    """Output the user asked to contain the password: ``creds --format json|env|…`` and
    ``password TARGET``."""
    if args[:1] == ["password"]:
        return True
    if not args or args[0] != "creds":
        return False
    for index, arg in enumerate(args):
        if arg == "--format" and index + 1 < len(args):
            return args[index + 1] in PASSWORD_FORMATS
        if arg.startswith("--format="):
            return arg.split("=", 1)[1] in PASSWORD_FORMATS
    return False


def run_cli(
    args: list[str], env: dict[str, str], *, logs: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The installed console script, with DEBUG logs on (unless ``logs=False``, for tests of
    the error output itself); stdout and stderr go to the leak scan."""
    if logs:
        env = env | {"REDSHIFT_EPHEMERAL_LOG": "debug"}
    result = subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    where = f"redshift-ephemeral {' '.join(args)}"
    RECORD.output(f"stderr of {where}", result.stderr)
    if not asked_for_password(args):
        RECORD.output(f"stdout of {where}", result.stdout)
    return result
