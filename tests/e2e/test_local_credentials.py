"""Every credential call yields a real password, enforced by the stack's Redshift endpoint
in front of a real PostgreSQL server."""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg
import psycopg2
import pytest

from redshift_ephemeral.local import LocalStack
from redshift_ephemeral.secret import Secret
from redshift_ephemeral.targets import Operation
from tests.e2e.conftest import connect, count_rows, uses_tls, wait_until_expired
from tests.leak_scan import raises

REFUSED = (psycopg2.OperationalError, psycopg.OperationalError)
DRIVERS = ["psycopg2", "psycopg"]
CALLS: list[tuple[dict[str, Any], Operation, str]] = [
    ({"db_user": "alice"}, Operation.GET_CLUSTER_CREDENTIALS, "IAM:alice"),
    ({}, Operation.GET_CLUSTER_CREDENTIALS_WITH_IAM, "IAM:alice"),
    ({"workgroup": "demo-workgroup"}, Operation.SERVERLESS_GET_CREDENTIALS, "IAM:alice"),
]


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(("options", "operation", "login"), CALLS)
def test_each_call_logs_in_with_verify_full_and_runs_the_seed_query(
    redshift_local: LocalStack,
    driver: str,
    options: dict[str, Any],
    operation: Operation,
    login: str,
) -> None:
    credential = redshift_local.source(**options).get()
    assert credential.operation is operation
    assert credential.user == login
    assert credential.sslmode == "verify-full"
    assert credential.sslrootcert == redshift_local.ca_path
    assert count_rows(driver, credential) == 42
    connection = connect(driver, credential)
    assert uses_tls(connection)
    connection.close()


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(("options", "operation", "login"), CALLS)
def test_password_is_refused_by_the_server_after_its_time_scaled_expiry(
    redshift_local: LocalStack,
    driver: str,
    options: dict[str, Any],
    operation: Operation,
    login: str,
) -> None:
    redshift_local.set_knobs(time_scale=1 / 900)  # 900 s → 1 s
    credential = redshift_local.source(**options).get()
    assert credential.lifetime_seconds < 2
    assert count_rows(driver, credential) == 42
    wait_until_expired(credential)
    with raises(REFUSED, match="password authentication failed"):
        connect(driver, credential)


@pytest.mark.parametrize("driver", DRIVERS)
def test_wrong_password_is_refused(redshift_local: LocalStack, driver: str) -> None:
    credential = redshift_local.source(db_user="alice").get()
    wrong = dataclasses.replace(credential, password=Secret(credential.password.reveal()[::-1]))
    with raises(REFUSED, match="password authentication failed"):
        connect(driver, wrong)


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_connection_without_tls_is_refused(redshift_local: LocalStack, driver: str) -> None:
    credential = redshift_local.source(db_user="alice").get()
    with raises(REFUSED, match="no encryption"):
        connect(driver, credential, sslmode="disable")


def test_auto_create_false_for_an_unknown_user_fails_at_login(redshift_local: LocalStack) -> None:
    credential = redshift_local.source(db_user="carol").get()
    assert credential.user == "IAM:carol"
    with raises(REFUSED, match="password authentication failed"):
        connect("psycopg", credential)


def test_auto_create_makes_a_user_without_privileges(redshift_local: LocalStack) -> None:
    credential = redshift_local.source(db_user="dave", auto_create=True).get()
    assert credential.user == "IAMA:dave"
    with (
        connect("psycopg", credential) as connection,
        raises(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("SELECT COUNT(*) FROM my_table")


def test_bob_alone_may_not_read_my_table(redshift_local: LocalStack) -> None:
    credential = redshift_local.source(db_user="bob").get()
    with (
        connect("psycopg", credential) as connection,
        raises(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("SELECT COUNT(*) FROM my_table")


def test_db_groups_grant_what_the_group_grants_and_no_more(redshift_local: LocalStack) -> None:
    credential = redshift_local.source(db_user="bob", db_groups=["analysts"]).get()
    assert count_rows("psycopg", credential) == 42
    with (
        connect("psycopg", credential) as connection,
        raises(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("INSERT INTO my_table VALUES (1000, 'not allowed')")
    # Without the group again, the membership is gone.
    redshift_local_source = redshift_local.source(db_user="bob", duration_seconds=1000)
    without_group = redshift_local_source.get()
    with (
        connect("psycopg", without_group) as connection,
        raises(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("SELECT COUNT(*) FROM my_table")


def test_an_assumed_role_logs_in_as_iamr(redshift_local: LocalStack) -> None:
    source = redshift_local.source(role_arn="arn:aws:iam::123456789012:role/reader")
    credential = source.get()
    assert credential.user == "IAMR:reader"
    with connect("psycopg", credential) as connection:
        assert connection.info.user == "IAMR:reader"


def test_bobs_iam_identity_maps_to_bobs_privileges(redshift_local: LocalStack) -> None:
    credential = redshift_local.source(iam_user="bob").get()
    assert credential.user == "IAM:bob"
    with (
        connect("psycopg", credential) as connection,
        raises(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("SELECT COUNT(*) FROM my_table")
