"""Issued passwords made real: each one becomes a PostgreSQL login role named exactly as the
user AWS returned (``IAM:alice``), with that password and ``VALID UNTIL`` its expiration, and
membership in the database user it stands for and the requested groups - nothing more.

The password reaches PostgreSQL only as a SCRAM verifier computed here by libpq, so it never
appears in a server log line.

A difference from Redshift to know: PostgreSQL keeps one password per role, so issuing a new
password for a user replaces the previous one (Redshift keeps both valid until expiry).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .postgres import PostgresServer


class LoginRoles:
    def __init__(self, server: PostgresServer):
        self._server = server

    def role_exists(self, name: str) -> bool:
        with self._server.admin() as conn:
            row = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        return row is not None

    def create_user(self, name: str) -> None:
        """A database user with no privileges (AutoCreate)."""
        from psycopg import sql

        with self._server.admin() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)))

    def issue(
        self, login: str, password: str, valid_until: datetime, member_of: Iterable[str]
    ) -> None:
        """Create or update ``login`` with ``password`` until ``valid_until``; its role
        memberships become exactly the existing roles among ``member_of``."""
        from psycopg import sql

        wanted = set(member_of)
        with self._server.admin() as conn, conn.transaction():
            verifier = conn.pgconn.encrypt_password(
                password.encode(), login.encode(), b"scram-sha-256"
            ).decode()
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN INHERIT").format(sql.Identifier(login)))
            conn.execute(
                sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {} VALID UNTIL {}").format(
                    sql.Identifier(login),
                    sql.Literal(verifier),
                    sql.Literal(valid_until.isoformat()),
                )
            )
            rows = conn.execute(
                "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
                (login,),
            ).fetchall()
            current = {str(row[0]) for row in rows}
            existing = {
                str(row[0])
                for row in conn.execute(
                    "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (sorted(wanted),)
                ).fetchall()
            }
            for role in sorted(current - existing):
                conn.execute(
                    sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(role), sql.Identifier(login))
                )
            for role in sorted(existing - current):
                conn.execute(
                    sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(login))
                )

    def database_exists(self, name: str) -> bool:
        with self._server.admin() as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None
