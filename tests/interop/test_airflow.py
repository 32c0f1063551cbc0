"""Apache Airflow, unmodified in its own venv (SQLite metadata database, no scheduler or
webserver), with this checkout's package installed beside it as its wheel would be: the
``apache_airflow_provider`` entry point registers the ``redshift_ephemeral`` connection
type and ``RedshiftEphemeralHook``.

A user adds connections with ``airflow connections add`` (no password: AWS issues one) and
runs a DAG's tasks with ``airflow tasks test``: ``SQLExecuteQueryOperator`` finds the hook
from the connection type alone; two task processes of one worker query ``my_table`` for
three time-scaled password lifetimes and share one password per lifetime through the
shared store; a third gets its AWS identity from an Airflow AWS connection (``aws_conn_id``).
Every output, task log, exported connection and the metadata database go to the leak scan.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from redshift_ephemeral.file_store import FileStore, default_cache_directory
from redshift_ephemeral.local import seed
from redshift_ephemeral.local.stack import LocalStack
from tests.docs.examples import examples_run_by
from tests.leak_scan import RECORD

from . import venvs
from .conftest import Client, assert_succeeded

TIME_SCALE = 1 / 300  # a 900 s password lasts 3 s
LIFETIME_SECONDS = 900 * TIME_SCALE
LOOP_SECONDS = 3 * LIFETIME_SECONDS  # each worker task spans three lifetimes
DAG_ID = "redshift_report"
REPORT_MARK = "REDSHIFT-REPORT "

# The DAG, as a user writes it. The two worker tasks wait for each other (a file each) so
# that they query over the same lifetimes; each query gets its hook the way Airflow's own
# operators do, from the connection id (the connection type names the hook class).
DAG = f'''
import json
import os
import time
from pathlib import Path

from airflow.sdk import BaseHook, dag, task

from redshift_ephemeral import ConfigurationError

BARRIER = Path(os.environ["REPORT_BARRIER_DIR"])


@dag(schedule=None)
def {DAG_ID}():
    @task
    def worker_task(name: str, seconds: float):
        (BARRIER / name).touch()
        deadline = time.monotonic() + 300
        while len(list(BARRIER.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        first = time.time()
        counts, users, queries = set(), set(), 0
        while time.time() - first < seconds:
            hook = BaseHook.get_hook("redshift_reports")  # a new hook, as each task has
            if queries % 2:
                with hook.get_sqlalchemy_engine().connect() as conn:
                    users.add(conn.exec_driver_sql("select current_user").scalar())
            else:
                counts.add(hook.get_records("select count(*) from my_table")[0][0])
            queries += 1
            time.sleep(0.1)
        report = {{"task": name, "type": type(hook).__name__, "first": first,
                   "last": time.time(), "queries": queries, "counts": sorted(counts),
                   "users": sorted(users)}}
        print("{REPORT_MARK}" + json.dumps(report))

    worker_task.override(task_id="worker_task_1")("one", {LOOP_SECONDS})
    worker_task.override(task_id="worker_task_2")("two", {LOOP_SECONDS})

    @task
    def whoami_with_aws_connection():
        user = BaseHook.get_hook("redshift_iam").get_first("select current_user")[0]
        try:
            BaseHook.get_hook("redshift_with_password").get_records("select 1")
            refused = None
        except ConfigurationError as error:
            refused = str(error)
        print("{REPORT_MARK}" + json.dumps({{"user": user, "refused": refused}}))

    whoami_with_aws_connection()


{DAG_ID}()
'''  # noqa: S608 - Python source, not SQL

# What the user types (with their own endpoint, keys and CA instead of the stack's): the
# reports connection and the DAG of docs/airflow.md, and these.
DOCS = examples_run_by("tests/interop/test_airflow.py")
DOCS_DAG_ID = "nightly_report"


def more_connections(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """For ``airflow connections import``: an AWS connection with bob's keys, a connection
    with no login (the IAM identity of that AWS connection: GetClusterCredentialsWithIAM),
    and one with a stored password, which the hook refuses."""
    key_id, secret = stack.access_keys(seed.OTHER_USER)
    return {
        "aws_bob": {"conn_type": "aws", "login": key_id, "password": secret},
        "redshift_iam": {
            "conn_type": "redshift_ephemeral",
            "extra": {"cluster_id": seed.CLUSTER_ID, "aws_conn_id": "aws_bob"},
        },
        "redshift_with_password": {
            "conn_type": "redshift_ephemeral",
            "login": seed.READER_USER,
            "password": "a-stored-database-password",
        },
    }


@dataclass
class Airflow:
    """An Airflow installation: its venv, this checkout beside it, a home and a database."""

    client: Client
    home: Path
    environment: dict[str, str]

    def run(self, *args: str, timeout: float = 300) -> str:
        result = self.client.run(["airflow", *args], environment=self.environment, timeout=timeout)
        assert_succeeded(result)
        return result.stdout

    def task(self, task_id: str, dag_id: str = DAG_ID) -> tuple[str, list[dict[str, Any]]]:
        """``airflow tasks test`` of one task, in a process of its own, on a copy of the
        metadata database: SQLite takes one writer at a time, and the database has no part
        in credentials (the worker's shared store has). Its output, and the reports it
        printed."""
        database = self.home / f"airflow-{dag_id}-{task_id}.db"
        shutil.copyfile(self.home / "airflow.db", database)
        environment = {
            **self.environment,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{database}",
        }
        result = self.client.run(
            ["airflow", "tasks", "test", dag_id, task_id], environment=environment, timeout=300
        )
        assert_succeeded(result)
        reports = [
            json.loads(line.split(REPORT_MARK, 1)[1])
            for line in result.stdout.splitlines()
            if REPORT_MARK in line
        ]
        return result.stdout, reports


@pytest.fixture(scope="module")
def airflow(
    redshift_local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Airflow]:
    """Airflow with a migrated SQLite database, the DAG, and the user's connections."""
    root = tmp_path_factory.mktemp("airflow")
    client = Client(redshift_local_stack, root / "home")
    site = venvs.install_checkout("airflow", root / "site")
    home = client.home / "airflow"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / f"{DAG_ID}.py").write_text(DAG)
    barrier = client.home / "barrier"
    barrier.mkdir()
    environment = {
        **client.environment("airflow"),
        "PYTHONPATH": str(site),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "REPORT_BARRIER_DIR": str(barrier),
    }
    installation = Airflow(client, home, environment)
    installation.run("db", "migrate")
    (add_connection,) = [example.code for example in DOCS if example.kind == "shell"]
    (docs_dag,) = [example.code for example in DOCS if example.kind == "python"]
    (home / "dags" / f"{DOCS_DAG_ID}.py").write_text(docs_dag)
    assert_succeeded(client.run(["bash", "-e", "-c", add_connection], environment=environment))
    imported = root / "connections.json"
    imported.write_text(json.dumps(more_connections(redshift_local_stack)))
    installation.run("connections", "import", str(imported))
    yield installation
    client.collect_files()  # the task logs and the metadata database among them
    RECORD.issued(redshift_local_stack.issued_passwords())


def test_connections_added_with_the_cli_keep_their_type_and_hold_no_password(
    airflow: Airflow,
) -> None:
    # An unknown --conn-type would have been stored as "generic": the provider is registered.
    stored = json.loads(airflow.run("connections", "get", "redshift_reports", "-o", "json"))
    assert [(c["conn_type"], c["login"], c["schema"]) for c in stored] == [
        ("redshift_ephemeral", seed.READER_USER, seed.DATABASE)
    ]
    assert not stored[0].get("password")
    exported = airflow.home / "connections.json"
    airflow.run("connections", "export", str(exported), "--file-format", "json")
    connections = json.loads(exported.read_text())
    assert connections["redshift_reports"]["conn_type"] == "redshift_ephemeral"
    assert not connections["redshift_reports"].get("password")
    with sqlite3.connect(airflow.home / "airflow.db") as database:
        rows = database.execute(
            "select conn_id, password from connection where conn_type = 'redshift_ephemeral'"
        ).fetchall()
    # Only the connection the user gave a password to holds one (and the hook refuses it).
    assert {conn_id for conn_id, password in rows if password} == {"redshift_with_password"}


def test_the_docs_dag_counts_my_table_with_the_operator_and_the_hook(
    airflow: Airflow, redshift_local: LocalStack
) -> None:
    redshift_local.set_knobs(time_scale=TIME_SCALE)  # expired before the next test's tasks
    with ThreadPoolExecutor(max_workers=2) as pool:
        counted, user = pool.map(
            lambda task_id: airflow.task(task_id, DOCS_DAG_ID)[0], ["count_rows", "current_user"]
        )
    # SQLExecuteQueryOperator found the hook from the connection type alone.
    assert "RedshiftEphemeralHook" in counted
    assert "[(42,)]" in counted
    assert f"Returned value was: IAM:{seed.READER_USER}" in user
    assert 1 <= redshift_local.calls().get("redshift:GetClusterCredentials", 0) <= 2


def test_task_processes_of_one_worker_share_one_password_per_lifetime(
    airflow: Airflow, redshift_local: LocalStack
) -> None:
    redshift_local.set_knobs(time_scale=TIME_SCALE)
    with ThreadPoolExecutor(max_workers=3) as pool:
        workers = pool.map(
            airflow.task, ["worker_task_1", "worker_task_2", "whoami_with_aws_connection"]
        )
        (one,), (two,), (whoami,) = [reports for _output, reports in workers]
    reports = [one, two]
    assert {report["type"] for report in reports} == {"RedshiftEphemeralHook"}
    assert all(report["counts"] == [seed.TABLE_ROWS] for report in reports), reports
    assert all(report["users"] == [f"IAM:{seed.READER_USER}"] for report in reports), reports
    calls = redshift_local.calls()
    credential_calls = calls.get("redshift:GetClusterCredentials", 0)
    queries = sum(report["queries"] for report in reports)
    span = max(report["last"] for report in reports) - min(report["first"] for report in reports)
    # One call per lifetime of the worker, not one per query nor one per task process: the
    # refresh comes in the last 25 % of a lifetime (up to 5 % earlier when read from the
    # shared store), so a span covers at most 1 + span / (0.70 lifetime) calls.
    bound = 1 + int(span / (0.70 * LIFETIME_SECONDS)) + 1
    print(
        f"airflow: {queries} queries in 2 task processes over {span:.1f} s "
        f"({span / LIFETIME_SECONDS:.1f} lifetimes): {credential_calls} GetClusterCredentials, "
        f"{calls.get('redshift:DescribeClusters', 0)} DescribeClusters (bound {bound})"
    )
    assert span >= 2.5 * LIFETIME_SECONDS  # at least two expiries crossed
    assert 2 <= credential_calls <= bound, (credential_calls, bound, calls)
    assert queries >= 10 * credential_calls
    # The shared store: private to the worker's user.
    store = FileStore(default_cache_directory(airflow.environment))
    assert stat.S_IMODE(store.credentials_directory.stat().st_mode) == 0o700
    entries = list(store.credentials_directory.iterdir())
    assert entries
    assert {stat.S_IMODE(entry.stat().st_mode) for entry in entries} == {0o600}
    # The Airflow AWS connection's identity (bob's keys), and a stored password refused.
    assert whoami["user"] == f"IAM:{seed.OTHER_USER}"
    assert calls.get("redshift:GetClusterCredentialsWithIAM") == 1
    assert "takes none" in str(whoami["refused"])
    assert "airflow connections delete redshift_with_password" in str(whoami["refused"])
