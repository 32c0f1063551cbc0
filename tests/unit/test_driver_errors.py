"""A driver's connection failure in plain words (``connection_error_from``): the cause, the
fix, never the password. Pure: the drivers' errors are built here, as libpq and
redshift_connector word them."""

from __future__ import annotations

import pytest

from redshift_ephemeral.db.connections import connection_error_from, is_login_refused
from redshift_ephemeral.errors import DatabaseConnectionError
from tests.conftest import make_credential

PASSWORD = "s3cret-Pa55word-value"
CREDENTIAL = make_credential(password=PASSWORD)
WHERE = f"{CREDENTIAL.host}:{CREDENTIAL.port}"


class OperationalError(Exception):
    """Stands for psycopg's and psycopg2's: only the text matters."""


def chained(outer: str, cause: BaseException) -> OperationalError:
    error = OperationalError(outer)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            OperationalError('FATAL:  password authentication failed for user "IAM:alice"'),
            ["refused the login of IAM:alice", "password authentication failed"],
        ),
        (
            OperationalError("server does not support SSL, but SSL was required"),
            ["does not offer TLS, so the password was not sent"],
        ),
        (
            chained(
                "connection failed",
                OSError("hostname 'x' doesn't match 'demo-cluster.example.com'"),
            ),
            ["is not for 'demo-cluster.abc123", "verify-ca"],
        ),
        (
            chained("SSL error", OSError("certificate verify failed: self-signed certificate")),
            ["not signed by a trusted CA", "do not turn verification off"],
        ),
        (
            OperationalError("connection to server failed: Connection refused\nIs it running?"),
            [f"Could not reach {WHERE}: connection to server failed: Connection refused."],
        ),
        (OperationalError("something else"), [f"Could not connect to {WHERE}: something else."]),
        (OperationalError(""), [f"Could not connect to {WHERE}: OperationalError."]),
    ],
)
def test_each_failure_names_its_cause_and_never_the_password(
    error: Exception, words: list[str]
) -> None:
    result = connection_error_from(error, CREDENTIAL)
    assert isinstance(result, DatabaseConnectionError)
    for word in words:
        assert word in str(result)
    assert PASSWORD not in str(result)


def test_a_login_refused_with_a_fresh_password_names_the_likely_causes() -> None:
    refused = OperationalError("FATAL: 28P01")
    assert is_login_refused(refused)
    message = str(connection_error_from(refused, CREDENTIAL, retried=True))
    assert "even with a freshly issued password" in message
    assert "--auto-create" in message
    assert "'dev'" in message


def test_only_a_refused_login_is_worth_a_retry() -> None:
    assert is_login_refused(chained("wrapped", OSError("password authentication failed")))
    assert not is_login_refused(OperationalError("Connection refused"))
