"""Shared test helpers: an injected clock, credentials made to order, AWS sandboxing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.secret import Secret
from redshift_ephemeral.targets import Operation


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
    from redshift_ephemeral.aws import issuers
    from redshift_ephemeral.cache import default_cache

    default_cache.clear()
    issuers.forget_all()
    yield
    default_cache.clear()
    issuers.forget_all()
