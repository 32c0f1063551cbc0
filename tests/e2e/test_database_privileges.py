"""Database privileges as Redshift grants them: DbGroups name only database groups, DbUser
only database users, and no issued login ever reaches superuser or an OS command."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql

from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.db.connections import is_login_refused
from redshift_ephemeral.local import LocalStack
from tests.e2e.conftest import user_policy
from tests.leak_scan import raises

DANGEROUS_ROLES = [
    "pg_execute_server_program",
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_signal_backend",
    "stack_admin",  # the stack's administrator, a superuser
    "alice",  # a database user, not a group
]


@pytest.fixture(autouse=True)
def _alice_may_ask_for_any_group(redshift_local: LocalStack) -> Iterator[None]:
    """IAM stops most of these requests first (alice may join `analysts` only): an
    administrator allows them here, so what is tested is the database layer behind IAM."""
    actions = ["redshift:GetClusterCredentials", "redshift:JoinGroup", "redshift:CreateClusterUser"]
    with user_policy(redshift_local, "Allow", actions):
        yield


@contextmanager
def session(credential: Credential) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(**credential.libpq_params(), autocommit=True) as connection:
        yield connection


def assert_powerless(connection: psycopg.Connection[Any]) -> None:
    """No superuser, no server program, no server files, no way to become someone who has
    them."""
    row = connection.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
        "FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert row == (False, False, False, False, False)
    for role in DANGEROUS_ROLES[:-1]:
        held = connection.execute(
            "SELECT pg_has_role(current_user, %s, 'MEMBER')", (role,)
        ).fetchone()
        assert held == (False,), role
    attempts = [
        "COPY (SELECT 1) TO PROGRAM 'id'",
        "CREATE TEMP TABLE t (line text); COPY t FROM PROGRAM 'id'",
        "SELECT pg_read_file('/etc/passwd')",
        "COPY (SELECT 1) TO '/tmp/redshift-ephemeral-should-not-exist'",
        "SET ROLE stack_admin",
        "SET ROLE pg_execute_server_program",
        "SET SESSION AUTHORIZATION stack_admin",
        "ALTER ROLE CURRENT_USER SUPERUSER",
        "CREATE ROLE intruder SUPERUSER",
        "GRANT pg_execute_server_program TO CURRENT_USER",
    ]
    # The group marker lives in a role comment: a login may not forge it, even on itself.
    me = connection.execute("SELECT quote_ident(current_user)").fetchone()
    assert me is not None
    attempts.append(f"COMMENT ON ROLE {me[0]} IS 'redshift-ephemeral:group'")
    for statement in attempts:
        with raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(statement)


def memberships(connection: psycopg.Connection[Any]) -> set[str]:
    """The roles the session's user is a direct member of."""
    rows = connection.execute(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = current_user"
    ).fetchall()
    return {str(row[0]) for row in rows}


@pytest.mark.parametrize("group", DANGEROUS_ROLES)
def test_db_groups_naming_a_system_role_the_admin_or_a_user_grant_nothing(
    redshift_local: LocalStack, group: str
) -> None:
    # AWS answers (it cannot see inside the database); the group is simply never joined.
    credential = redshift_local.source(db_user="bob", db_groups=[group]).get()
    with session(credential) as connection:
        assert_powerless(connection)
        assert memberships(connection) == {"bob"}
        if group == "alice":  # alice may read my_table; bob, even "in group alice", may not
            with raises(psycopg.errors.InsufficientPrivilege):
                connection.execute("SELECT COUNT(*) FROM my_table")


@pytest.mark.parametrize(
    "db_user", ["stack_admin", "pg_execute_server_program", "pg_read_server_files", "analysts"]
)
@pytest.mark.parametrize("auto_create", [False, True])
def test_db_user_naming_the_admin_a_system_role_or_a_group_cannot_log_in(
    redshift_local: LocalStack, db_user: str, auto_create: bool
) -> None:
    credential = redshift_local.source(db_user=db_user, auto_create=auto_create).get()
    with raises(psycopg.OperationalError) as refused:
        psycopg.connect(**credential.libpq_params())
    assert is_login_refused(refused.value)


def test_another_users_name_as_a_group_and_set_role_tricks_fail(
    redshift_local: LocalStack,
) -> None:
    redshift_local.source(db_user="alice").get()  # IAM:alice exists
    credential = redshift_local.source(db_user="bob", db_groups=["alice", "analysts"]).get()
    with session(credential) as connection:
        assert memberships(connection) == {"bob", "analysts"}
        for role in ("alice", "IAM:alice", "stack_admin"):
            with raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        connection.execute("SET ROLE analysts")  # a real group it joined: allowed
        assert connection.execute("SELECT COUNT(*) FROM my_table").fetchone() == (42,)


def test_a_group_the_admin_creates_can_be_joined(redshift_local: LocalStack) -> None:
    group = f"engineers_{uuid.uuid4().hex[:8]}"
    credential = redshift_local.source(db_user="bob", db_groups=[group]).get()
    with session(credential) as connection:  # not a group yet: ignored
        assert memberships(connection) == {"bob"}
    redshift_local.create_group(group)
    credential = redshift_local.source(db_user="bob", db_groups=[group], duration_seconds=901).get()
    with session(credential) as connection:
        assert memberships(connection) == {"bob", group}
        assert_powerless(connection)


def test_an_unknown_group_is_ignored_and_the_login_works(redshift_local: LocalStack) -> None:
    credential = redshift_local.source(db_user="alice", db_groups=["no_such_group"]).get()
    with session(credential) as connection:
        assert connection.execute("SELECT COUNT(*) FROM my_table").fetchone() == (42,)


def test_public_may_create_in_schema_public_as_on_redshift(redshift_local: LocalStack) -> None:
    # An auto-created user has only PUBLIC's privileges - enough for `dbt run` to build.
    name = f"model_{uuid.uuid4().hex[:8]}"
    user = f"newcomer_{uuid.uuid4().hex[:8]}"  # AutoCreate makes it now
    credential = redshift_local.source(db_user=user, auto_create=True).get()
    assert credential.user == f"IAMA:{user}"
    with session(credential) as connection:
        assert_powerless(connection)
        with raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("SELECT COUNT(*) FROM my_table")
        connection.execute(f"CREATE TABLE public.{name} AS SELECT 1 AS id")
        assert connection.execute(f"SELECT id FROM {name}").fetchone() == (1,)  # noqa: S608
        connection.execute(f"DROP TABLE {name}")


@pytest.mark.parametrize("options", [{"db_user": "alice"}, {}, {"workgroup": "demo-workgroup"}])
def test_every_credential_call_gives_a_powerless_login(
    redshift_local: LocalStack, options: dict[str, Any]
) -> None:
    with session(redshift_local.source(**options).get()) as connection:
        assert_powerless(connection)


def test_a_login_name_postgresql_would_truncate_never_logs_in(redshift_local: LocalStack) -> None:
    # "IAMA:" + 60 characters is 65 bytes; PostgreSQL truncates names to 63, which would let
    # two different users meet in one role. The API answers (as AWS does); the login fails.
    prefix = "u" + uuid.uuid4().hex[:7]  # a user name starts with a letter
    for last in "xy":
        user = (prefix + "a" * 51 + last)[:60]
        credential = redshift_local.source(db_user=user, auto_create=True).get()
        with raises(psycopg.OperationalError) as refused:
            psycopg.connect(**credential.libpq_params())
        assert is_login_refused(refused.value)
