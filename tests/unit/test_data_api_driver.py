"""The Data API driver without a server: SQL text, values both ways, and every AWS call it
makes checked against AWS's model by botocore's Stubber (parameter names and shapes)."""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from redshift_ephemeral.aws.data_api import DataApiClient, DataApiTarget, SessionGoneError
from redshift_ephemeral.aws.identity import AwsIdentity
from redshift_ephemeral.db.data_api.connection import Connection, poll_delays
from redshift_ephemeral.db.data_api.errors import (
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from redshift_ephemeral.db.data_api.values import bind, csv_rows, from_field, from_text
from redshift_ephemeral.errors import ConfigurationError
from redshift_ephemeral.sql_text import placeholders, split_statements
from redshift_ephemeral.targets import CredentialRequest, Deployment, Target

STATEMENT_ID = "d9b6c0c9-0747-4bf4-b142-e8883122f766"
SESSION_ID = "a1b2c3d4-0747-4bf4-b142-e8883122f766"
NEW_SESSION_ID = "b1b2c3d4-0747-4bf4-b142-e8883122f766"
CLUSTER_TARGET = DataApiTarget("analytics", None, "dev", "alice", "eu-west-1")


# -- SQL text --------------------------------------------------------------------------------


def test_placeholders_are_found_outside_literals_comments_and_casts() -> None:
    sql = (
        "SELECT :a, ':b', \":c\", $$ :d $$, $t$ :e $t$, x::int, y[1:2], E'\\' :f' "
        "-- :g\n/* :h /* :i */ */ FROM t WHERE z = :j_1"
    )
    assert [p.name for p in placeholders(sql)] == ["a", "j_1"]


def test_the_tokenizer_follows_postgresql_where_it_differs_from_ascii_habits() -> None:
    """A dollar-quote tag may be any identifier (``$é$``), and a line comment also ends at a
    carriage return: placeholders inside either are text, outside are placeholders. (The
    emulator binds by tokenizing: a disagreement here was SQL injection there.)"""
    assert placeholders("SELECT $é$ note: :x $é$") == []
    assert [p.name for p in placeholders("SELECT 1 -- comment\r, :y")] == ["y"]
    assert split_statements("SELECT 1 -- comment\r; SELECT 2") == [
        "SELECT 1 -- comment",
        "SELECT 2",
    ]


def test_scripts_split_at_semicolons_in_plain_text_only() -> None:
    sql = "SELECT ';'; -- a comment; still comment\nSELECT $$;$$ ;; /* ; */ ;SELECT 3"
    assert split_statements(sql) == [
        "SELECT ';'",
        "-- a comment; still comment\nSELECT $$;$$",
        "SELECT 3",
    ]


# -- values ----------------------------------------------------------------------------------


def test_none_and_empty_strings_are_written_into_the_sql_and_the_rest_sent_as_text() -> None:
    sql, texts = bind(
        "SELECT :n, :e, :i, :b, :d, :t, :unused_in_sql_is_dropped_not_sent",
        {
            "n": None,
            "e": "",
            "i": 7,
            "b": False,
            "d": dt.date(2024, 1, 2),
            "t": dt.datetime(2024, 1, 2, 3, 4, 5),
            "unused_in_sql_is_dropped_not_sent": "x",
            "other": "y",
        },
    )
    assert sql == "SELECT NULL, '', :i, :b, :d, :t, :unused_in_sql_is_dropped_not_sent"
    assert texts == {
        "i": "7",
        "b": "false",
        "d": "2024-01-02",
        "t": "2024-01-02 03:04:05",
        "unused_in_sql_is_dropped_not_sent": "x",
    }


@pytest.mark.parametrize(
    ("parameters", "error", "match"),
    [
        ([1], ProgrammingError, "named"),
        ({}, ProgrammingError, "names :a"),
        ({"a": b"\x00"}, NotSupportedError, "binary"),
        ({"a": object()}, ProgrammingError, "no SQL text"),
    ],
)
def test_parameters_the_data_api_cannot_take_are_refused(
    parameters: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        bind("SELECT :a", parameters)


def test_fields_and_text_become_python_values_by_type_name() -> None:
    assert from_field("int8", {"longValue": 5}) == 5
    assert from_field("numeric", {"stringValue": "1.50"}) == decimal.Decimal("1.50")
    assert from_field("timestamptz", {"stringValue": "2024-01-02 03:04:05+00"}) == dt.datetime(
        2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC
    )
    assert from_field("date", {"stringValue": "2024-01-02"}) == dt.date(2024, 1, 2)
    assert from_field("text", {"isNull": True}) is None
    assert from_field("bytea", {"blobValue": b"\x01"}) == b"\x01"
    assert from_text("bool", "t") is True
    assert from_text("float8", "0.5") == 0.5
    assert from_text("varchar", "12") == "12"


def test_csv_tells_null_from_empty_text_and_keeps_quoted_separators() -> None:
    text = 'a,b,c\n1,,""\n,"x,""y""\nz",\n'
    assert list(csv_rows(text)) == [["a", "b", "c"], ["1", None, ""], [None, 'x,"y"\nz', None]]


# -- AWS calls, checked by the Stubber -------------------------------------------------------


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Connection, Stubber]]:
    client = boto3.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name="eu-west-1"
    ).client("redshift-data")
    data_api = DataApiClient.__new__(DataApiClient)
    data_api.target = CLUSTER_TARGET
    data_api._region = "eu-west-1"
    data_api._clients = _FixedClients(client)  # type: ignore[assignment]
    clock = _Clock()
    monkeypatch.setattr(time, "sleep", clock.sleep)
    monkeypatch.setattr(time, "monotonic", clock.monotonic)
    connection = Connection(AwsIdentity(), CLUSTER_TARGET, client=data_api)
    with Stubber(client) as stubber:
        yield connection, stubber
        stubber.assert_no_pending_responses()


class _Clock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


class _FixedClients:
    def __init__(self, client: Any):
        self._client = client

    def redshift_data(self, region: str | None = None) -> Any:
        return self._client

    def region(self, wanted: str | None = None) -> str | None:
        return wanted


def _finished(stubber: Stubber, statement_id: str = STATEMENT_ID, **fields: Any) -> None:
    stubber.add_response(
        "describe_statement",
        {"Id": statement_id, "Status": "FINISHED", "HasResultSet": False, **fields},
        {"Id": statement_id},
    )


def test_first_statement_opens_a_session_and_the_next_names_it(
    stubbed: tuple[Connection, Stubber],
) -> None:
    connection, stubber = stubbed
    stubber.add_response(
        "execute_statement",
        {"Id": STATEMENT_ID, "SessionId": SESSION_ID},
        {
            "Sql": "DELETE FROM t WHERE id = :id",
            "Parameters": [{"name": "id", "value": "3"}],
            "ClusterIdentifier": "analytics",
            "Database": "dev",
            "DbUser": "alice",
            "SessionKeepAliveSeconds": 600,
            "ResultFormat": "JSON",
        },
    )
    _finished(stubber, ResultRows=1)
    stubber.add_response(
        "execute_statement",
        {"Id": STATEMENT_ID},
        {"Sql": "SELECT 1", "SessionId": SESSION_ID, "ResultFormat": "JSON"},
    )
    _finished(stubber, ResultRows=0)
    cursor = connection.cursor()
    cursor.execute("DELETE FROM t WHERE id = :id", {"id": 3})
    assert cursor.rowcount == 1
    cursor.execute("SELECT 1")
    assert connection.sessions_created == 1


def test_a_gone_session_is_replaced_and_the_statement_submitted_again(
    stubbed: tuple[Connection, Stubber],
) -> None:
    connection, stubber = stubbed
    connection.session_id = SESSION_ID
    stubber.add_client_error("execute_statement", "ValidationException", "Session is not available")
    stubber.add_response(
        "execute_statement",
        {"Id": STATEMENT_ID, "SessionId": NEW_SESSION_ID},
        {
            "Sql": "SELECT 1",
            "ClusterIdentifier": "analytics",
            "Database": "dev",
            "DbUser": "alice",
            "SessionKeepAliveSeconds": 600,
            "ResultFormat": "JSON",
        },
    )
    _finished(stubber)
    connection.cursor().execute("SELECT 1")
    assert connection.session_id == NEW_SESSION_ID


def test_other_validation_errors_are_not_taken_for_a_gone_session(
    stubbed: tuple[Connection, Stubber],
) -> None:
    connection, stubber = stubbed
    stubber.add_client_error("execute_statement", "ValidationException", "Sql is too long")
    with pytest.raises(ConfigurationError, match="Sql is too long"):
        connection.cursor().execute("SELECT 1")


def test_executemany_sends_batches_of_forty_with_renamed_parameters(
    stubbed: tuple[Connection, Stubber],
) -> None:
    connection, stubber = stubbed
    connection.keep_alive_seconds = 0
    for size in (40, 5):
        stubber.add_response(
            "batch_execute_statement",
            {"Id": STATEMENT_ID},
            {
                "Sqls": [f"INSERT INTO t VALUES (:p{i}_a)" for i in range(size)],  # noqa: S608
                "Parameters": ANY,
                "ClusterIdentifier": "analytics",
                "Database": "dev",
                "DbUser": "alice",
                "ResultFormat": "JSON",
            },
        )
        subs = [
            {"Id": f"{STATEMENT_ID}:{i + 1}", "ResultRows": 1, "HasResultSet": False}
            for i in range(size)
        ]
        _finished(stubber, SubStatements=subs)
    cursor = connection.cursor()
    cursor.executemany("INSERT INTO t VALUES (:a)", [{"a": n} for n in range(45)])
    assert cursor.rowcount == 45


def test_a_statement_past_its_timeout_is_cancelled(stubbed: tuple[Connection, Stubber]) -> None:
    connection, stubber = stubbed
    connection.statement_timeout = 0.05
    connection.keep_alive_seconds = 0
    stubber.add_response("execute_statement", {"Id": STATEMENT_ID}, {"Sql": ANY, **_target()})
    # Waits of 10, 11.5, 13.2 and 15.2 ms end at 49.9 ms; the next would pass 50 ms.
    for _ in range(4):
        stubber.add_response(
            "describe_statement", {"Id": STATEMENT_ID, "Status": "STARTED"}, {"Id": STATEMENT_ID}
        )
    stubber.add_response("cancel_statement", {"Status": True}, {"Id": STATEMENT_ID})
    with pytest.raises(OperationalError, match="cancelled"):
        connection.cursor().execute("SELECT pg_sleep(10)")


def test_a_statement_that_ended_as_the_timeout_came_is_not_reported_cancelled(
    stubbed: tuple[Connection, Stubber],
) -> None:
    """CancelStatement refused (the statement had finished): its real outcome is returned,
    so a caller does not retry a statement that committed."""
    connection, stubber = stubbed
    connection.statement_timeout = 0.05
    connection.keep_alive_seconds = 0
    stubber.add_response("execute_statement", {"Id": STATEMENT_ID}, {"Sql": ANY, **_target()})
    for _ in range(4):
        stubber.add_response(
            "describe_statement", {"Id": STATEMENT_ID, "Status": "STARTED"}, {"Id": STATEMENT_ID}
        )
    stubber.add_client_error(
        "cancel_statement",
        service_error_code="ValidationException",
        service_message="Could not cancel a query that is already in FINISHED state",
        expected_params={"Id": STATEMENT_ID},
    )
    finished = {"Id": STATEMENT_ID, "Status": "FINISHED", "HasResultSet": False}
    stubber.add_response("describe_statement", finished, {"Id": STATEMENT_ID})
    cursor = connection.cursor()
    cursor.execute("INSERT INTO t VALUES (1)")
    assert connection.changed_since_commit


def _target() -> dict[str, Any]:
    return {
        "ClusterIdentifier": "analytics",
        "Database": "dev",
        "DbUser": "alice",
        "ResultFormat": "JSON",
    }


def test_a_failed_statement_raises_the_database_error(stubbed: tuple[Connection, Stubber]) -> None:
    connection, stubber = stubbed
    connection.keep_alive_seconds = 0
    stubber.add_response("execute_statement", {"Id": STATEMENT_ID}, {"Sql": ANY, **_target()})
    stubber.add_response(
        "describe_statement",
        {"Id": STATEMENT_ID, "Status": "FAILED", "Error": 'relation "x" does not exist'},
        {"Id": STATEMENT_ID},
    )
    with pytest.raises(ProgrammingError, match='relation "x" does not exist'):
        connection.cursor().execute("SELECT * FROM x")


def test_results_are_read_page_by_page(stubbed: tuple[Connection, Stubber]) -> None:
    connection, stubber = stubbed
    connection.keep_alive_seconds = 0
    stubber.add_response("execute_statement", {"Id": STATEMENT_ID}, {"Sql": ANY, **_target()})
    _finished(stubber, HasResultSet=True, ResultRows=3)
    metadata = [{"name": "n", "typeName": "int4"}]
    stubber.add_response(
        "get_statement_result",
        {"Records": [[{"longValue": 1}], [{"longValue": 2}]], "ColumnMetadata": metadata,
         "NextToken": "page-2"},
        {"Id": STATEMENT_ID},
    )  # fmt: skip
    cursor = connection.cursor()
    cursor.execute("SELECT n FROM t")
    assert cursor.fetchmany(2) == [(1,), (2,)]
    # The second page is asked for only now, when a row of it is wanted.
    stubber.add_response(
        "get_statement_result",
        {"Records": [[{"longValue": 3}]], "ColumnMetadata": metadata},
        {"Id": STATEMENT_ID, "NextToken": "page-2"},
    )
    assert cursor.fetchall() == [(3,)]


def test_polling_starts_within_fifty_milliseconds_and_stays_bounded() -> None:
    delays = list(itertools.islice(poll_delays(), 60))
    assert delays[0] <= 0.05
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert max(delays) == 2.0


def test_gone_session_error_is_an_aws_error_naming_the_session() -> None:
    error = SessionGoneError("Data API session x is not available (…).")
    assert "session x" in str(error)


def test_targets_the_data_api_cannot_reach_are_refused() -> None:
    domain = CredentialRequest(Target(Deployment.PROVISIONED, custom_domain="db.example.com"))
    with pytest.raises(ConfigurationError, match="custom domain"):
        DataApiTarget.of(domain)
    serverless = DataApiTarget.of(CredentialRequest(Target(Deployment.SERVERLESS, name="wg-1")))
    assert serverless.parameters() == {"Database": "dev", "WorkgroupName": "wg-1"}


def test_rollback_is_refused_and_commit_is_a_no_op(stubbed: tuple[Connection, Stubber]) -> None:
    connection, _ = stubbed
    connection.commit()
    with pytest.raises(NotSupportedError):
        connection.rollback()


@pytest.mark.parametrize(
    ("type_name", "text"),
    [("date", "infinity"), ("date", "0044-03-15 BC"), ("timestamp", "-infinity")],
)
def test_dates_python_cannot_hold_come_back_as_their_text(type_name: str, text: str) -> None:
    from redshift_ephemeral.db.data_api.values import from_text

    assert from_text(type_name, text) == text


def test_numbers_from_a_url_are_read_as_numbers_and_nonsense_is_refused() -> None:
    from redshift_ephemeral.db.data_api import options_of
    from redshift_ephemeral.errors import ConfigurationError

    checked = options_of({"session_keep_alive_seconds": "60", "statement_timeout": "5"})
    assert checked == {"session_keep_alive_seconds": 60, "statement_timeout": 5.0}
    with pytest.raises(ConfigurationError, match="expected a number"):
        options_of({"statement_timeout": "soon"})
