"""doctor's decisions, without a server: which checks a failure skips, and when the clock is
too far off. (The checks' I/O runs against the local stack in tests/e2e/test_cli.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from redshift_ephemeral import doctor
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.errors import DatabaseConnectionError
from redshift_ephemeral.source import CredentialSource
from redshift_ephemeral.targets import CredentialRequest, Target
from tests.conftest import make_credential

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def source() -> CredentialSource:
    def issuer(_: CredentialRequest) -> Credential:
        raise AssertionError("no password may be asked for here")

    request = CredentialRequest(Target.cluster("demo", region="us-east-1"), db_user="alice")
    return CredentialSource(request, issuer=issuer)


@pytest.mark.usefixtures("aws_sandbox")
def test_a_failed_check_skips_every_check_that_needs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # No AWS credentials at all: botocore refuses to sign, nothing reaches the network.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    results = {result.name: result for result in doctor.run_checks(source())}
    assert list(results) == [
        "AWS identity",
        "endpoint",
        "permission",
        "shared cache",
        "DNS",
        "TCP",
        "TLS",
        "login",
        "clock",
    ]
    assert results["shared cache"].ok is True
    assert results["shared cache"].detail == "off: credentials stay in each process"
    identity = results["AWS identity"]
    assert identity.ok is False
    assert "No AWS credentials" in identity.detail
    assert "aws sso login" in identity.fix
    skipped_because = {
        "endpoint": "AWS identity",
        "permission": "endpoint",
        "DNS": "endpoint",
        "TCP": "DNS",
        "TLS": "TCP",
        "login": "permission",
        "clock": "permission",
    }
    for name, cause in skipped_because.items():
        assert results[name].ok is None
        assert results[name].detail == f"skipped: {cause} did not pass"


class FakeConnection:
    """Answers ``SELECT 1, now()`` with the server's time."""

    def __init__(self, server_time: datetime) -> None:
        self.server_time = server_time
        self.closed = False

    def cursor(self) -> FakeConnection:
        return self

    def execute(self, query: str) -> None:
        assert query == "SELECT 1, now()"

    def fetchone(self) -> tuple[int, datetime]:
        return 1, self.server_time

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    ("server_time", "ok", "detail"),
    [
        (NOW + timedelta(seconds=59), True, "+59.0 s"),
        (NOW - timedelta(seconds=60), True, "-60.0 s"),
        (NOW + timedelta(seconds=61), False, "+61.0 s"),
        (NOW - timedelta(minutes=10), False, "-600.0 s"),
        (NOW.replace(tzinfo=None) + timedelta(seconds=120), False, "+120.0 s"),  # naive: UTC
    ],
)
def test_a_clock_more_than_a_minute_off_the_servers_fails(
    monkeypatch: pytest.MonkeyPatch, server_time: datetime, ok: bool, detail: str
) -> None:
    connection = FakeConnection(server_time)

    def connect(*_: Any, **__: Any) -> FakeConnection:
        return connection

    monkeypatch.setattr(doctor, "connect", connect)
    diagnosis = doctor._Diagnosis(source(), "psycopg", now=lambda: NOW)
    diagnosis.credential = make_credential()
    login, clock = diagnosis.login_and_clock()
    assert login.ok is True
    assert login.detail == "logged in as IAM:alice; SELECT 1 → 1"
    assert connection.closed
    assert clock.ok is ok
    assert detail in clock.detail
    if not ok:
        assert "synchronise" in clock.fix
        assert clock.kind is DatabaseConnectionError  # the CLI maps it to exit 4


def test_a_failed_login_skips_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    def connect(*_: Any, **__: Any) -> FakeConnection:
        raise ConnectionError("refused")

    monkeypatch.setattr(doctor, "connect", connect)
    diagnosis = doctor._Diagnosis(source(), "psycopg", now=lambda: NOW)
    diagnosis.credential = make_credential()
    login, clock = diagnosis.login_and_clock()
    assert (login.ok, login.detail) == (False, "refused")
    assert (clock.ok, clock.detail) == (None, "skipped: login failed")
