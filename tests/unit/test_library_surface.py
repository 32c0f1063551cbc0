"""What the CLI used to do itself and the library now does: JSON rendering, run_query, the
caller identity, the policy inputs, the default driver; the CLI's exit codes from error types;
and the CLI's import contract."""

from __future__ import annotations

import ast
import json
import pkgutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

import redshift_ephemeral
from redshift_ephemeral import (
    DRIVERS,
    AccessDeniedError,
    AwsError,
    AwsIdentity,
    AwsIdentityError,
    ConfigurationError,
    CredentialRequest,
    CredentialSource,
    DatabaseConnectionError,
    QueryError,
    RedshiftEphemeralError,
    Target,
    default_driver,
    errors,
    run_query,
)
from redshift_ephemeral.aws import issuers
from redshift_ephemeral.aws.clients import AwsClients
from redshift_ephemeral.aws.issuers import AwsIssuer
from redshift_ephemeral.cli.main import exit_code_for
from redshift_ephemeral.db import query
from redshift_ephemeral.doctor import _failure
from tests.conftest import make_credential

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "src" / "redshift_ephemeral"
ACCOUNT = "123456789012"
CALLER = {
    "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/alice",
    "Account": ACCOUNT,
    "UserId": "AROAEXAMPLEID:alice",
}


# -- exit codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (ConfigurationError, 2),
        (AwsError, 3),
        (AccessDeniedError, 3),
        (AwsIdentityError, 3),
        (DatabaseConnectionError, 4),
        (QueryError, 4),
        (RedshiftEphemeralError, 1),
        (None, 1),
    ],
)
def test_the_cli_maps_error_types_to_exit_codes(kind: type[Exception] | None, code: int) -> None:
    assert exit_code_for(kind) == code


def test_library_errors_carry_no_exit_code() -> None:
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, RedshiftEphemeralError):
            assert not hasattr(value, "exit_code"), name


def test_a_doctor_failure_carries_its_kind() -> None:
    assert _failure("TLS", OSError("refused")).kind is DatabaseConnectionError
    denied = AccessDeniedError("no", principal=None, action="redshift:X", resource=None)
    assert _failure("permission", denied).kind is AccessDeniedError


# -- the CLI's import contract -------------------------------------------------------------------


def library_modules() -> set[str]:
    """Every top-level module and subpackage of the package but the CLI, the stack and the
    agent (the CLI may import those two, as it imports the public package)."""
    names = {f"redshift_ephemeral.{info.name}" for info in pkgutil.iter_modules([str(PACKAGE)])}
    return names - {
        "redshift_ephemeral.cli",
        "redshift_ephemeral.local",
        "redshift_ephemeral.agent",
        "redshift_ephemeral.__main__",
    }


def test_the_cli_contract_forbids_every_library_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(
        contract
        for contract in config["tool"]["importlinter"]["contracts"]
        if contract["source_modules"] == ["redshift_ephemeral.cli"]
    )
    assert set(contract["forbidden_modules"]) == library_modules()


def cli_imports() -> Iterator[tuple[str, str]]:
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                yield path.name, "." * node.level + (node.module or "")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                module = node.module if isinstance(node, ast.ImportFrom) else None
                for name in [module] if module else [a.name for a in node.names]:
                    if name.startswith("redshift_ephemeral"):
                        yield path.name, name


def test_the_cli_imports_the_public_package_the_local_stack_and_the_agent_only() -> None:
    # Lazy imports inside functions too, which import-linter reads as well; this also keeps
    # the CLI from reaching into the local stack's or the agent's internals.
    for module, imported in cli_imports():
        assert imported in ("..", "..local", "..agent"), (module, imported)


def test_every_public_name_is_exported_lazily() -> None:
    source = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    top_level_imports = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level > 0 and node.module
    ]
    assert top_level_imports == []  # `import redshift_ephemeral` loads nothing of its own
    for name in redshift_ephemeral.__all__:
        assert getattr(redshift_ephemeral, name) is not None


# -- drivers -------------------------------------------------------------------------------------


def test_one_driver_list_in_order_of_preference() -> None:
    assert DRIVERS == ("psycopg2", "psycopg", "redshift_connector")


def test_the_default_driver_is_the_first_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    missing: set[str] = set()

    def find_spec(name: str, *args: Any) -> Any:
        return None if name in missing else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert default_driver() == "psycopg2"
    missing.add("psycopg2")
    assert default_driver() == "psycopg"
    missing.update(DRIVERS)
    with pytest.raises(ConfigurationError, match="No database driver"):
        default_driver()


def test_connect_without_a_driver_uses_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from redshift_ephemeral.db import connections

    used: list[str] = []

    def open_driver_connection(driver: str, credential: object, options: object) -> str:
        used.append(driver)
        return "connection"

    monkeypatch.setattr(connections, "default_driver", lambda: "psycopg")
    monkeypatch.setattr(connections, "open_driver_connection", open_driver_connection)
    assert connections.connect(stub_source()) == "connection"
    assert used == ["psycopg"]


# -- Credential.json, run_query ------------------------------------------------------------------


def stub_source() -> CredentialSource:
    return CredentialSource(
        CredentialRequest(Target.cluster("demo"), db_user="alice"),
        issuer=lambda request: make_credential(),
    )


def test_a_credential_renders_as_json() -> None:
    credential = make_credential()
    document = json.loads(credential.json())
    assert document == {
        **credential.as_seed_dict(),
        "issued_at": "2026-01-01T12:00:00+00:00",
        "expires_at": credential.expires_at.isoformat(),
        "next_refresh_at": None,
        "operation": "redshift:GetClusterCredentials",
    }


class FakeCursor:
    def __init__(self, refusal: Exception | None, description: Any):
        self.refusal, self.description, self.rowcount = refusal, description, 3

    def execute(self, sql: str) -> None:
        if self.refusal is not None:
            raise self.refusal

    def fetchall(self) -> list[tuple[int]]:
        return [(42,)]


class FakeConnection:
    def __init__(self, cursor: FakeCursor):
        self._cursor, self.closed, self.committed = cursor, False, False

    def cursor(self) -> FakeCursor:
        return self._cursor

    def commit(self) -> None:
        self.committed = True

    def close(self) -> None:
        self.closed = True


def fake_connect(
    monkeypatch: pytest.MonkeyPatch, refusal: Exception | None = None, description: Any = None
) -> FakeConnection:
    connection = FakeConnection(FakeCursor(refusal, description))
    monkeypatch.setattr(query, "connect", lambda *args, **kwargs: connection)
    return connection


def test_run_query_returns_columns_and_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = fake_connect(monkeypatch, description=[("count",)])
    result = run_query(stub_source(), "SELECT COUNT(*) FROM my_table")
    assert (result.columns, list(result.rows)) == (("count",), [(42,)])
    assert connection.committed
    assert connection.closed


def test_run_query_reports_a_statement_without_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_connect(monkeypatch)
    result = run_query(stub_source(), "CREATE TABLE t (a int)")
    assert (result.columns, result.rowcount) == (None, 3)


def test_a_refused_statement_is_a_query_error_without_the_driver_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refusal = RuntimeError('permission denied for relation my_table\nDETAIL: password="x"')
    connection = fake_connect(monkeypatch, refusal=refusal)
    with pytest.raises(QueryError, match="refused the statement: permission denied") as caught:
        run_query(stub_source(), "SELECT 1")
    assert "DETAIL" not in str(caught.value)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    assert connection.closed


# -- the AWS identity and the policy inputs, through the issuer -----------------------------------


@pytest.fixture
def clients(aws_sandbox: None) -> AwsClients:
    import boto3

    session = boto3.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="source-secret",
        region_name="us-east-1",
    )
    return AwsClients(AwsIdentity(session=session, region="us-east-1"))


def test_the_issuer_asks_sts_who_the_caller_is(clients: AwsClients) -> None:
    with Stubber(clients.sts()) as sts:
        sts.add_response("get_caller_identity", CALLER, {})
        caller = AwsIssuer(clients).caller_identity()
    assert (caller.arn, caller.account, caller.user_id) == (
        CALLER["Arn"],
        ACCOUNT,
        "AROAEXAMPLEID:alice",
    )


def test_a_failed_caller_identity_is_a_library_error(clients: AwsClients) -> None:
    with Stubber(clients.sts()) as sts:
        sts.add_client_error("get_caller_identity", "ExpiredToken", "The token expired")
        with pytest.raises(AwsIdentityError):
            AwsIssuer(clients).caller_identity(Target.cluster("demo"))


def test_policy_inputs_name_the_cluster_s_own_database(clients: AwsClients) -> None:
    request = CredentialRequest(Target.cluster("demo"), db_user="alice")
    cluster = {"ClusterIdentifier": "demo", "DBName": "warehouse"}
    cluster["Endpoint"] = {"Address": "demo.abc.us-east-1.redshift.amazonaws.com", "Port": 5439}  # type: ignore[assignment]
    with Stubber(clients.redshift()) as redshift, Stubber(clients.sts()) as sts:
        redshift.add_response("describe_clusters", {"Clusters": [cluster]})
        sts.add_response("get_caller_identity", CALLER, {})
        inputs = AwsIssuer(clients).policy_inputs(request)
    assert (inputs.region, inputs.account, inputs.request.db_name) == (
        "us-east-1",
        ACCOUNT,
        "warehouse",
    )


def test_a_given_account_asks_sts_nothing(clients: AwsClients) -> None:
    request = CredentialRequest(Target.cluster("demo", host="localhost"), db_user="alice")
    with Stubber(clients.sts()):  # any call would fail: no response queued
        inputs = AwsIssuer(clients).policy_inputs(request, "210987654321")
    assert (inputs.account, inputs.request.db_name) == ("210987654321", None)


def test_the_source_writes_the_self_service_policy_for_the_current_role(
    clients: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer = AwsIssuer(clients)
    monkeypatch.setattr(issuers, "issuer_for", lambda identity: issuer)
    source = CredentialSource.from_options(cluster_id="demo", db_user="alice", host="localhost")
    with Stubber(clients.sts()) as sts:
        sts.add_response("get_caller_identity", CALLER, {})
        sts.add_response("get_caller_identity", CALLER, {})
        policy = source.iam_policy(self_service=True)
    statement = policy.document["Statement"][0]
    assert policy.account_known
    assert statement["Condition"] == {
        "StringEquals": {"aws:userid": "AROAEXAMPLEID:${redshift:DbUser}"}
    }


def test_an_account_that_is_not_12_digits_is_refused_before_any_call() -> None:
    source = CredentialSource.from_options(cluster_id="demo")
    with pytest.raises(ConfigurationError, match="12 digits"):
        source.iam_policy(account="1234")
