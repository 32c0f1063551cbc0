"""The Data API driver against the local stack: a DB-API conformance subset, the three
target modes, sessions (reuse and recovery), cancel, errors, pandas, SQLAlchemy, asyncio
and the command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import logging
import time
from typing import Any

import pytest
import sqlalchemy

from redshift_ephemeral import AccessDeniedError, ConfigurationError, connect, connect_async
from redshift_ephemeral import create_engine as ephemeral_engine
from redshift_ephemeral.db import data_api
from redshift_ephemeral.local import LocalStack, seed
from tests.e2e.conftest import denied, run_cli
from tests.leak_scan import raises


def open_connection(stack: LocalStack, **options: Any) -> data_api.Connection:
    driver_options = options.pop("driver_options", None)
    options.setdefault("db_user", seed.READER_USER)
    connection = connect(stack.source(**options), driver="data_api", driver_options=driver_options)
    assert isinstance(connection, data_api.Connection)
    return connection


# -- DB-API conformance ----------------------------------------------------------------------


def test_module_globals_are_pep_249() -> None:
    assert data_api.apilevel == "2.0"
    assert data_api.paramstyle == "named"
    assert data_api.threadsafety == 1
    assert issubclass(data_api.ProgrammingError, data_api.DatabaseError)
    assert issubclass(data_api.DatabaseError, data_api.Error)
    assert data_api.NUMBER == "int4"
    assert data_api.STRING == "varchar"
    assert data_api.DATETIME == "timestamptz"
    assert data_api.NUMBER != "text"


def test_execute_with_parameters_then_fetch_one_many_and_all(redshift_local: LocalStack) -> None:
    with open_connection(redshift_local) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT id, name FROM my_table WHERE id <= :last ORDER BY id", {"last": 5})
        assert cursor.rowcount == 5
        assert cursor.description is not None
        assert [column[0] for column in cursor.description] == ["id", "name"]
        assert cursor.description[0][1] == data_api.NUMBER
        assert cursor.description[1][1] == data_api.STRING
        assert cursor.fetchone() == (1, "row 1")
        assert cursor.fetchmany(2) == [(2, "row 2"), (3, "row 3")]
        assert cursor.fetchall() == [(4, "row 4"), (5, "row 5")]
        assert cursor.fetchone() is None
        cursor.execute("SELECT COUNT(*) FROM my_table")
        assert list(cursor) == [(42,)]
        cursor.close()
        with raises(data_api.InterfaceError, match="cursor is closed"):
            cursor.execute("SELECT 1")
    with raises(data_api.InterfaceError, match="connection is closed"):
        connection.cursor()


def test_values_come_back_as_python_types_and_none_and_empty_go_in(
    redshift_local: LocalStack,
) -> None:
    with open_connection(redshift_local) as connection:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT :n::numeric(5,2) AS n, :d::date AS d, :t::timestamp AS t, :b::boolean AS b, "
            ":f::float8 AS f, :none::text AS none, :empty::text AS empty",
            {
                "n": decimal.Decimal("1.25"),
                "d": dt.date(2024, 2, 29),
                "t": dt.datetime(2024, 2, 29, 12, 30, 5),
                "b": True,
                "f": 0.5,
                "none": None,
                "empty": "",
            },
        )
        assert cursor.fetchall() == [
            (
                decimal.Decimal("1.25"),
                dt.date(2024, 2, 29),
                dt.datetime(2024, 2, 29, 12, 30, 5),
                True,
                0.5,
                None,
                "",
            )
        ]


def test_csv_results_keep_null_apart_from_empty_text(redshift_local: LocalStack) -> None:
    options = {"result_format": "CSV"}
    with open_connection(redshift_local, driver_options=options) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT 1 AS a, NULL::text AS b, '' AS c, 'x,\"y\"' AS d")
        assert cursor.fetchall() == [(1, None, "", 'x,"y"')]


def test_dml_rowcount_and_a_script_runs_as_one_transaction(redshift_local: LocalStack) -> None:
    with open_connection(redshift_local) as connection:
        cursor = connection.cursor()
        cursor.execute("DROP TABLE IF EXISTS driver_probe; CREATE TABLE driver_probe (a int)")
        cursor.execute("INSERT INTO driver_probe SELECT generate_series(1, 7)")
        assert cursor.rowcount == 7
        assert cursor.description is None
        with raises(data_api.ProgrammingError, match="no_such_table"):
            cursor.execute("INSERT INTO driver_probe VALUES (8); SELECT * FROM no_such_table")
        cursor.execute("SELECT COUNT(*) FROM driver_probe")
        assert cursor.fetchone() == (7,)  # the failed script's INSERT was rolled back


def test_executemany_runs_batches_of_forty_as_transactions(redshift_local: LocalStack) -> None:
    with open_connection(redshift_local) as connection:
        cursor = connection.cursor()
        cursor.execute("CREATE TEMP TABLE many (a int, b text)")
        redshift_local.reset()
        cursor.executemany(
            "INSERT INTO many VALUES (:a, :b)",
            [{"a": number, "b": None if number % 2 else f"v{number}"} for number in range(45)],
        )
        assert cursor.rowcount == 45
        assert redshift_local.calls()["redshift-data:BatchExecuteStatement"] == 2
        cursor.execute("SELECT COUNT(*), COUNT(b) FROM many")
        assert cursor.fetchone() == (45, 23)


def test_commit_does_nothing_and_rollback_is_refused(redshift_local: LocalStack) -> None:
    with open_connection(redshift_local) as connection:
        connection.commit()
        with raises(data_api.NotSupportedError, match="nothing to roll back"):
            connection.rollback()


def test_positional_parameters_and_missing_names_are_refused(redshift_local: LocalStack) -> None:
    with open_connection(redshift_local) as connection:
        cursor = connection.cursor()
        with raises(data_api.ProgrammingError, match="paramstyle is 'named'"):
            cursor.execute("SELECT :a", [1])
        with raises(data_api.ProgrammingError, match="names :a"):
            cursor.execute("SELECT :a", {})
    assert redshift_local.calls().get("redshift-data:ExecuteStatement", 0) == 0


# -- modes, privileges, IAM ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "login"),
    [
        ({"db_user": "alice"}, "IAM:alice"),
        ({"db_user": None}, "IAM:alice"),
        ({"db_user": None, "workgroup": seed.WORKGROUP}, "IAM:alice"),
    ],
    ids=["database-user", "iam-identity", "serverless"],
)
def test_each_mode_runs_as_its_login(
    redshift_local: LocalStack, options: dict[str, Any], login: str
) -> None:
    source_options = {key: value for key, value in options.items() if value is not None}
    connection = connect(redshift_local.source(**source_options), driver="data_api")
    cursor = connection.cursor()
    cursor.execute("SELECT current_user")
    assert cursor.fetchone() == (login,)


def test_bobs_query_of_my_table_is_refused_with_the_database_error(
    redshift_local: LocalStack,
) -> None:
    connection = open_connection(redshift_local, db_user="bob", iam_user="bob")
    with raises(data_api.ProgrammingError, match="permission denied") as caught:
        connection.cursor().execute("SELECT * FROM my_table")
    assert "cluster demo-cluster, database dev" in str(caught.value)


def test_access_denied_names_the_action_and_points_at_policy(redshift_local: LocalStack) -> None:
    connection = open_connection(redshift_local)
    with (
        denied(redshift_local, "redshift-data:ExecuteStatement"),
        raises(AccessDeniedError, match="redshift-data:ExecuteStatement") as caught,
    ):
        connection.cursor().execute("SELECT 1")
    assert "redshift-ephemeral policy" in str(caught.value)


def test_a_custom_domain_or_groups_are_refused_before_any_call(
    redshift_local: LocalStack,
) -> None:
    with raises(ConfigurationError, match="custom domain"):
        connect(
            redshift_local.source(custom_domain=seed.CLUSTER_DOMAIN, db_user="alice"),
            driver="data_api",
        )
    with raises(ConfigurationError, match="database groups"):
        connect(redshift_local.source(db_user="alice", db_groups=["analysts"]), driver="data_api")
    with raises(ConfigurationError, match="Unknown data_api driver option"):
        connect(redshift_local.source(), driver="data_api", driver_options={"sslmode": "x"})
    assert redshift_local.calls() == {}


# -- sessions, cancel ------------------------------------------------------------------------


def test_statements_of_one_connection_share_one_session(redshift_local: LocalStack) -> None:
    with open_connection(redshift_local) as connection:
        cursor = connection.cursor()
        cursor.execute("CREATE TEMP TABLE kept AS SELECT 1 AS one")
        for _ in range(10):
            cursor.execute("SELECT one FROM kept")
            assert cursor.fetchone() == (1,)
        assert connection.sessions_created == 1
        client = redshift_local.session().client(
            "redshift-data", endpoint_url=redshift_local.endpoint_url
        )
        sessions = client.list_sessions(SessionId=connection.session_id)["Sessions"]
        assert sessions[0]["Status"] == "AVAILABLE"


def test_a_lapsed_session_is_replaced_transparently_with_a_warning(
    redshift_local: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    redshift_local.set_knobs(time_scale=1 / 60)
    options = {"session_keep_alive_seconds": 60}  # 1 s at this time scale
    with open_connection(redshift_local, driver_options=options) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        first = connection.session_id
        time.sleep(1.3)
        with caplog.at_level(logging.WARNING, logger="redshift_ephemeral"):
            cursor.execute("SELECT 2")
        assert cursor.fetchone() == (2,)
        assert connection.session_id not in (None, first)
        assert connection.sessions_created == 2
        assert any("temporary tables and settings are lost" in r.message for r in caplog.records)


def test_a_session_whose_database_restarted_is_replaced(redshift_local: LocalStack) -> None:
    with open_connection(redshift_local) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        redshift_local.restart_postgres()
        with raises(data_api.Error):
            cursor.execute("SELECT 1")  # the statement met the dropped connection
        cursor.execute("SELECT 3")  # and the next one finds the session gone, and a new one
        assert cursor.fetchone() == (3,)
        assert connection.sessions_created == 2


def test_a_statement_past_its_timeout_is_cancelled(redshift_local: LocalStack) -> None:
    options = {"statement_timeout": 0.5}
    with open_connection(redshift_local, driver_options=options) as connection:
        with raises(data_api.OperationalError, match="cancelled"):
            connection.cursor().execute("SELECT pg_sleep(30)")
        calls = redshift_local.calls()
        assert calls["redshift-data:CancelStatement"] == 1


def test_without_a_session_every_statement_stands_alone(redshift_local: LocalStack) -> None:
    options = {"session_keep_alive_seconds": 0}
    with open_connection(redshift_local, driver_options=options) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        assert connection.session_id is None
        assert connection.sessions_created == 0


# -- pandas, SQLAlchemy, asyncio, the command line -------------------------------------------


def test_sqlalchemy_engine_runs_text_queries(redshift_local: LocalStack) -> None:
    engine = ephemeral_engine(redshift_local.source(db_user="alice"), driver="data_api")
    with engine.connect() as connection:
        rows = connection.execute(
            sqlalchemy.text("SELECT COUNT(*) FROM my_table WHERE id > :above"), {"above": 40}
        ).all()
        connection.commit()
    assert rows == [(2,)]
    engine.dispose()


def test_pandas_reads_and_writes_through_the_engine(redshift_local: LocalStack) -> None:
    import pandas

    engine = ephemeral_engine(redshift_local.source(db_user="alice"), driver="data_api")
    frame = pandas.read_sql("SELECT id, name FROM my_table ORDER BY id", engine)
    assert len(frame) == 42
    assert frame["name"].iloc[0] == "row 1"
    written = pandas.DataFrame({"a": [1, 2, 3], "b": ["x", None, ""]})
    written.to_sql("pandas_probe", engine, index=False, if_exists="replace")
    back = pandas.read_sql("SELECT a, b FROM pandas_probe ORDER BY a", engine)
    assert back["a"].tolist() == [1, 2, 3]
    assert back["b"].isna().tolist() == [False, True, False]  # NULL stays NULL, '' stays ''
    assert back["b"].iloc[2] == ""
    engine.dispose()


def test_connect_async_with_the_data_api(redshift_local: LocalStack) -> None:
    async def count() -> Any:
        source = redshift_local.source(db_user="alice")
        async with await connect_async(source, driver="data_api") as connection:
            cursor = await connection.execute("SELECT COUNT(*) FROM my_table")
            return await cursor.fetchone()

    assert asyncio.run(count()) == (42,)


def test_cli_query_with_the_data_api_driver(env: dict[str, str]) -> None:
    result = run_cli(
        ["query", "--db-user", "alice", "--driver", "data_api", "--format", "csv",
         "SELECT COUNT(*) AS n FROM my_table"],
        env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "n\n42"


def test_a_rollback_through_sqlalchemy_after_a_write_is_an_error_not_a_silent_success(
    redshift_local: LocalStack,
) -> None:
    """Every Data API statement has committed when it ends: a failed ``engine.begin()`` block
    cannot roll its writes back, and says so; after reads only, a rollback is harmless."""
    from redshift_ephemeral.db.data_api import NotSupportedError

    engine = ephemeral_engine(redshift_local.source(db_user="alice"), driver="data_api")
    try:
        with engine.connect() as connection:  # reads only: the implicit rollback is fine
            connection.execute(sqlalchemy.text("SELECT 1")).all()
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("CREATE TABLE IF NOT EXISTS rollback_probe (n int)"))
        with raises(Exception) as caught, engine.begin() as connection:
            connection.execute(sqlalchemy.text("INSERT INTO rollback_probe VALUES (1)"))
            raise RuntimeError("the block fails after its write")
        # SQLAlchemy re-raises the block's own error; the refused rollback is in its chain.
        chain, error = [], caught.value
        while error is not None and len(chain) < 10:
            chain.append(error)
            error = error.__context__
        refused = [error for error in chain if isinstance(error, NotSupportedError)]
        assert refused, chain
        assert "committed" in str(refused[0])
        with engine.connect() as connection:
            count = connection.execute(sqlalchemy.text("SELECT COUNT(*) FROM rollback_probe"))
            assert count.scalar() == 1  # the write stayed, as the error said
    finally:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("DROP TABLE IF EXISTS rollback_probe"))
        engine.dispose()
