"""The local stack's Redshift Data API, through an unmodified boto3 client: statuses,
privileges, IAM, sessions, pagination, result formats, cancel and batches."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from redshift_ephemeral.local import LocalStack, seed
from tests.e2e.conftest import denied
from tests.leak_scan import raises

DONE = ("FINISHED", "FAILED", "ABORTED")
CLUSTER = {"ClusterIdentifier": seed.CLUSTER_ID, "Database": seed.DATABASE}


def data_api(stack: LocalStack, user: str = seed.READER_USER) -> Any:
    return stack.session(user).client("redshift-data", endpoint_url=stack.endpoint_url)


def wait(client: Any, statement_id: str, timeout: float = 30) -> Mapping[str, Any]:
    """DescribeStatement until the statement ends (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described: Mapping[str, Any] = client.describe_statement(Id=statement_id)
        if described["Status"] in DONE:
            return described
        time.sleep(0.02)
    raise AssertionError(f"statement {statement_id} did not end in {timeout} s")


def test_statement_moves_from_submitted_to_finished_and_returns_typed_fields(
    redshift_local: LocalStack,
) -> None:
    redshift_local.set_knobs(statement_seconds=0.5)
    client = data_api(redshift_local)
    submitted = client.execute_statement(
        Sql="SELECT id, name, 1.5::numeric AS n, NULL::text AS z, true AS b FROM my_table "
        "WHERE id <= :last ORDER BY id",
        Parameters=[{"name": "last", "value": "2"}],
        DbUser="alice",
        **CLUSTER,
    )
    assert client.describe_statement(Id=submitted["Id"])["Status"] == "SUBMITTED"
    described = wait(client, submitted["Id"])
    assert described["Status"] == "FINISHED", described.get("Error")
    assert described["DbUser"] == "IAM:alice"
    assert described["ResultRows"] == 2
    assert described["Duration"] >= 0.5e9
    result = client.get_statement_result(Id=submitted["Id"])
    assert [column["typeName"] for column in result["ColumnMetadata"]] == [
        "int4",
        "text",
        "numeric",
        "text",
        "bool",
    ]
    assert result["Records"][1] == [
        {"longValue": 2},
        {"stringValue": "row 2"},
        {"stringValue": "1.5"},
        {"isNull": True},
        {"booleanValue": True},
    ]
    assert result["TotalNumRows"] == 2


def test_bob_runs_as_himself_and_cannot_read_my_table(redshift_local: LocalStack) -> None:
    client = data_api(redshift_local, seed.OTHER_USER)
    submitted = client.execute_statement(
        Sql="SELECT COUNT(*) FROM my_table", DbUser=seed.OTHER_USER, **CLUSTER
    )
    described = wait(client, submitted["Id"])
    assert described["Status"] == "FAILED"
    assert "permission denied" in described["Error"]
    assert described["DbUser"] == "IAM:bob"


def test_identity_mode_and_serverless_run_as_the_iam_login(redshift_local: LocalStack) -> None:
    client = data_api(redshift_local)
    for target in (CLUSTER, {"WorkgroupName": seed.WORKGROUP, "Database": seed.DATABASE}):
        submitted = client.execute_statement(Sql="SELECT current_user", **target)
        assert wait(client, submitted["Id"])["Status"] == "FINISHED"
        records = client.get_statement_result(Id=submitted["Id"])["Records"]
        assert records == [[{"stringValue": "IAM:alice"}]]


def test_a_database_user_the_policy_does_not_allow_is_denied(redshift_local: LocalStack) -> None:
    # bob's policy allows the database user named like him (${aws:username}), no other.
    client = data_api(redshift_local, seed.OTHER_USER)
    with raises(ClientError, match="redshift:GetClusterCredentials") as caught:
        client.execute_statement(Sql="SELECT 1", DbUser="alice", **CLUSTER)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_an_explicit_deny_of_execute_statement_is_access_denied(
    redshift_local: LocalStack,
) -> None:
    client = data_api(redshift_local)
    with (
        denied(redshift_local, "redshift-data:ExecuteStatement"),
        raises(ClientError, match="redshift-data:ExecuteStatement") as caught,
    ):
        client.execute_statement(Sql="SELECT 1", DbUser="alice", **CLUSTER)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_statements_of_another_identity_do_not_exist_for_the_caller(
    redshift_local: LocalStack,
) -> None:
    alice = data_api(redshift_local)
    submitted = alice.execute_statement(Sql="SELECT 1", DbUser="alice", **CLUSTER)
    wait(alice, submitted["Id"])
    bob = data_api(redshift_local, seed.OTHER_USER)
    for call in (bob.describe_statement, bob.get_statement_result, bob.cancel_statement):
        with raises(ClientError) as caught:
            call(Id=submitted["Id"])
        # bob's policy allows his own statements only (statement-owner-iam-userid).
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    listed = bob.list_statements(Status="ALL")["Statements"]
    assert submitted["Id"] not in [statement["Id"] for statement in listed]


def test_a_session_keeps_temporary_tables_and_lapses_after_its_keep_alive(
    redshift_local: LocalStack,
) -> None:
    redshift_local.set_knobs(time_scale=1 / 60)  # keep-alive 60 s lasts 1 s
    client = data_api(redshift_local)
    first = client.execute_statement(
        Sql="CREATE TEMP TABLE scratch AS SELECT 7 AS seven",
        SessionKeepAliveSeconds=60,
        DbUser="alice",
        **CLUSTER,
    )
    assert wait(client, first["Id"])["Status"] == "FINISHED"
    session_id = first["SessionId"]
    second = client.execute_statement(Sql="SELECT seven FROM scratch", SessionId=session_id)
    assert wait(client, second["Id"])["Status"] == "FINISHED"
    assert client.get_statement_result(Id=second["Id"])["Records"] == [[{"longValue": 7}]]
    sessions = client.list_sessions()["Sessions"]
    assert [s["Status"] for s in sessions if s["SessionId"] == session_id] == ["AVAILABLE"]
    time.sleep(1.3)
    with raises(ClientError, match="Session is not available") as caught:
        client.execute_statement(Sql="SELECT 1", SessionId=session_id)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    closed = client.list_sessions(SessionId=session_id)["Sessions"]
    assert closed[0]["Status"] == "CLOSED"


def test_a_session_that_never_existed_is_invalid(redshift_local: LocalStack) -> None:
    client = data_api(redshift_local)
    unknown = "00000000-0000-0000-0000-000000000000"
    with raises(ClientError, match="is invalid") as caught:
        client.execute_statement(Sql="SELECT 1", SessionId=unknown)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    with raises(ClientError) as listed:
        client.list_sessions(SessionId=unknown)
    assert listed.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_ten_thousand_rows_come_in_several_pages_through_the_paginator(
    redshift_local: LocalStack,
) -> None:
    client = data_api(redshift_local)
    submitted = client.execute_statement(
        Sql="SELECT n, 'value ' || n AS s FROM generate_series(1, 10000) n ORDER BY n",
        DbUser="alice",
        **CLUSTER,
    )
    wait(client, submitted["Id"])
    pages = list(client.get_paginator("get_statement_result").paginate(Id=submitted["Id"]))
    assert len(pages) > 2
    rows = [record[0]["longValue"] for page in pages for record in page["Records"]]
    assert rows == list(range(1, 10001))
    assert {page["TotalNumRows"] for page in pages} == {10000}


def test_csv_results_have_a_header_then_rows_with_null_as_an_empty_field(
    redshift_local: LocalStack,
) -> None:
    client = data_api(redshift_local)
    submitted = client.execute_statement(
        Sql="SELECT 1 AS a, NULL::text AS b, '' AS c, 'x,\"y\"' AS d",
        ResultFormat="CSV",
        DbUser="alice",
        **CLUSTER,
    )
    wait(client, submitted["Id"])
    result = client.get_statement_result_v2(Id=submitted["Id"])
    assert result["ResultFormat"] == "CSV"
    assert result["Records"] == [{"CSVRecords": 'a,b,c,d\n1,,"","x,""y"""\n'}]
    with raises(ClientError, match="GetStatementResultV2"):
        client.get_statement_result(Id=submitted["Id"])


def test_cancel_stops_a_running_statement(redshift_local: LocalStack) -> None:
    client = data_api(redshift_local)
    submitted = client.execute_statement(Sql="SELECT pg_sleep(30)", DbUser="alice", **CLUSTER)
    deadline = time.monotonic() + 10
    while client.describe_statement(Id=submitted["Id"])["Status"] != "STARTED":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert client.cancel_statement(Id=submitted["Id"])["Status"] is True
    assert wait(client, submitted["Id"], timeout=5)["Status"] == "ABORTED"
    with raises(ClientError, match="already in ABORTED state"):
        client.cancel_statement(Id=submitted["Id"])


def test_a_failed_batch_rolls_back_as_one_transaction(redshift_local: LocalStack) -> None:
    client = data_api(redshift_local)
    setup = client.execute_statement(
        Sql="CREATE TABLE IF NOT EXISTS batch_probe (a int)", DbUser="alice", **CLUSTER
    )
    wait(client, setup["Id"])
    batch = client.batch_execute_statement(
        Sqls=["INSERT INTO batch_probe VALUES (1)", "SELECT * FROM no_such_table"],
        DbUser="alice",
        **CLUSTER,
    )
    described = wait(client, batch["Id"])
    assert described["Status"] == "FAILED"
    assert [sub["Status"] for sub in described["SubStatements"]] == ["FINISHED", "FAILED"]
    count = client.execute_statement(
        Sql="SELECT COUNT(*) FROM batch_probe", DbUser="alice", **CLUSTER
    )
    wait(client, count["Id"])
    assert client.get_statement_result(Id=count["Id"])["Records"] == [[{"longValue": 0}]]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"Sql": "SELECT :x", "Parameters": [{"name": "y", "value": "1"}]}, "parameter :x"),
        ({"Sql": "SELECT 1", "Parameters": [{"name": "y", "value": "1"}]}, "not referenced"),
        ({"Sql": "SELECT 1", "SecretArn": "arn:aws:secretsmanager:x"}, "SecretArn"),
        ({"Sql": "SELECT 1", "SessionId": "00000000-0000-0000-0000-000000000000"}, "cannot"),
    ],
)
def test_invalid_requests_are_validation_errors(
    redshift_local: LocalStack, arguments: dict[str, Any], message: str
) -> None:
    client = data_api(redshift_local)
    with raises(ClientError, match=message) as caught:
        client.execute_statement(DbUser="alice", **CLUSTER, **arguments)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_two_sessions_of_one_role_do_not_see_each_others_statements(
    redshift_local: LocalStack,
) -> None:
    """One principal (the role), two sessions: the owner condition of the role's policy
    (``statement-owner-iam-userid`` = ``${aws:userid}``) is evaluated on the statement's
    owner, so the second session can neither read nor list the first one's statement."""
    sts = redshift_local.session().client("sts", endpoint_url=redshift_local.endpoint_url)
    role_arn = f"arn:aws:iam::{seed.ACCOUNT}:role/{seed.ASSUMABLE_ROLE}"

    def role_session(name: str) -> Any:
        keys = sts.assume_role(RoleArn=role_arn, RoleSessionName=name)["Credentials"]
        return boto3.Session(
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys["SessionToken"],
            region_name=redshift_local.region,
        ).client("redshift-data", endpoint_url=redshift_local.endpoint_url)

    first, second = role_session("first"), role_session("second")
    submitted = first.execute_statement(Sql="SELECT 'first session only' AS s", **CLUSTER)
    wait(first, submitted["Id"])
    assert first.get_statement_result(Id=submitted["Id"])["Records"]
    for call in (second.describe_statement, second.get_statement_result):
        with raises(ClientError) as caught:
            call(Id=submitted["Id"])
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    listed = second.list_statements(Status="ALL")["Statements"]
    assert submitted["Id"] not in [statement["Id"] for statement in listed]


def test_a_parameter_is_a_value_never_sql(redshift_local: LocalStack) -> None:
    """The emulator binds by writing literals: a backslash before a quote (with
    standard_conforming_strings off) stays text."""
    alice = data_api(redshift_local)
    session = alice.execute_statement(
        Sql="SET standard_conforming_strings TO off", SessionKeepAliveSeconds=60, **CLUSTER
    )
    wait(alice, session["Id"])
    value = "\\' AS v, (SELECT COUNT(*) FROM my_table) AS injected --"
    submitted = alice.execute_statement(
        Sql="SELECT :x AS v",
        Parameters=[{"name": "x", "value": value}],
        SessionId=session["SessionId"],
    )
    described = wait(alice, submitted["Id"])
    assert described["Status"] == "FINISHED", described.get("Error")
    result = alice.get_statement_result(Id=submitted["Id"])
    assert [column["name"] for column in result["ColumnMetadata"]] == ["v"]
    assert result["Records"] == [[{"stringValue": value}]]


def test_a_placeholder_inside_a_dollar_quote_with_any_tag_is_text(
    redshift_local: LocalStack,
) -> None:
    """``$é$ … :x … $é$`` is a dollar-quoted string for PostgreSQL, so ``:x`` there is no
    parameter (and a parameter named x is refused as unused) - never a place where the
    value's own ``$é$`` could end the string and run as SQL."""
    alice = data_api(redshift_local)
    with raises(ClientError) as caught:
        alice.execute_statement(
            Sql="SELECT $é$ note: :x $é$ AS v",
            Parameters=[{"name": "x", "value": "$é$ || (SELECT 1) || $é$"}],
            **CLUSTER,
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
