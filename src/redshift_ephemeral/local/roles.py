"""Database roles and privileges as Redshift grants them (docs/design.md, "What the local
stack emulates").

Redshift keeps users and groups apart; PostgreSQL has only roles. So every role this stack
manages carries its kind in PostgreSQL's own catalog, as the role's comment
(``redshift-ephemeral:user``, ``…:group``, ``…:login``; ``pg_shdescription``, shared by every
database). That comment is the one notion of what a "group" is: a role is a group if and
only if the stack's administrator created it as one (``create_group``). Only roles with
CREATEROLE may comment on a role, and no login has it, so a login cannot forge the marker.

Kinds:

* **user** - a database user (``alice``, ``bob``, or created by AutoCreate): NOLOGIN, holds
  privileges. Created with none (AutoCreate gives a user only PUBLIC's).
* **group** - a database group (``analysts``): NOLOGIN, holds privileges.
* **login** - what a client logs in as (``IAM:alice``, ``IAMA:dave``, ``IAMR:reader``):
  LOGIN, never superuser, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS, member of exactly
  the user it stands for and the requested groups that are groups.

Everything else - ``pg_*`` system roles, the stack's administrator, any superuser, a role
of another kind - is never granted, whatever a request names: the security property is that
no issued login reaches superuser or ``COPY … PROGRAM`` (``pg_execute_server_program``,
``pg_read_server_files``, ``pg_write_server_files``).

Groups named in DbGroups that are not groups are ignored (the login works, without them):
AWS documents DbGroups as "existing database groups" and checks only the names' format at
the API, since it cannot see inside the database; it does not document an error at login.

A difference from Redshift: memberships belong to the login role and are set when a
password is issued, so the latest request's DbGroups apply to every session of that login
from then on; Redshift applies each credential's groups to the sessions it opens.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .postgres import PostgresServer

if TYPE_CHECKING:
    import psycopg

MARKER_PREFIX = "redshift-ephemeral:"
# PostgreSQL truncates longer names silently: two different names must never meet in one role.
MAX_NAME_BYTES = 63
_LOGIN_ATTRIBUTES = "LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
_NOLOGIN_ATTRIBUTES = (
    "NOLOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
)


class RoleKind(enum.Enum):
    USER = "user"
    GROUP = "group"
    LOGIN = "login"
    OTHER = "other"  # exists, not ours to grant: pg_*, the administrator, superusers, …


_MARKED = {MARKER_PREFIX + kind.value: kind for kind in RoleKind}


class RoleNameTaken(ValueError):
    """The name belongs to a role of another kind (or is too long to be one)."""


class Roles:
    def __init__(self, server: PostgresServer):
        self._server = server

    # -- reading -----------------------------------------------------------------------------

    def kinds(self, names: Iterable[str]) -> dict[str, RoleKind]:
        """The kind of each existing role among ``names`` (missing names are absent)."""
        with self._server.admin() as conn:
            return _kinds(conn, names)

    def kind_of(self, name: str) -> RoleKind | None:
        return self.kinds([name]).get(name)

    # -- creating ----------------------------------------------------------------------------

    def create_user(self, name: str) -> None:
        """A database user with no privileges (AutoCreate); nothing if it already is one."""
        self._create(name, RoleKind.USER)

    def create_group(self, name: str) -> None:
        """A database group (the stack's administrator's act, never a request's)."""
        self._create(name, RoleKind.GROUP)

    def _create(self, name: str, kind: RoleKind) -> None:
        from psycopg import sql

        _check_length(name)
        with self._server.admin() as conn, conn.transaction():
            existing = _kinds(conn, [name]).get(name)
            if existing is kind:
                return
            if existing is not None:
                raise RoleNameTaken(f"{name!r} is already a role of another kind")
            role = sql.Identifier(name)
            conn.execute(sql.SQL("CREATE ROLE {} " + _NOLOGIN_ATTRIBUTES).format(role))
            _mark(conn, name, kind)

    # -- issuing -----------------------------------------------------------------------------

    def issue(self, login: str, user: str | None, groups: Iterable[str]) -> None:
        """Make ``login`` a login role that is a member of exactly ``user`` (if it is a
        database user) and those of ``groups`` that are database groups.

        Raises ``RoleNameTaken`` if ``login`` names a role that is not a login."""
        from psycopg import sql

        _check_length(login)
        wanted_groups = set(groups)
        with self._server.admin() as conn, conn.transaction():
            kinds = _kinds(conn, [login, *([user] if user else []), *wanted_groups])
            existing = kinds.get(login)
            role = sql.Identifier(login)
            if existing is None:
                conn.execute(sql.SQL("CREATE ROLE {} " + _LOGIN_ATTRIBUTES).format(role))
                _mark(conn, login, RoleKind.LOGIN)
            elif existing is RoleKind.LOGIN:
                # Re-assert the attributes on every issue: nothing can have added one since.
                conn.execute(sql.SQL("ALTER ROLE {} " + _LOGIN_ATTRIBUTES).format(role))
            else:
                raise RoleNameTaken(f"{login!r} is a role of another kind")
            wanted = {name for name in wanted_groups if kinds.get(name) is RoleKind.GROUP}
            if user is not None and kinds.get(user) is RoleKind.USER:
                wanted.add(user)
            rows = conn.execute(
                "SELECT r.rolname FROM pg_catalog.pg_auth_members m "
                "JOIN pg_catalog.pg_roles r ON r.oid = m.roleid "
                "JOIN pg_catalog.pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
                (login,),
            ).fetchall()
            current = {str(row[0]) for row in rows}
            for name in sorted(current - wanted):
                conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(name), role))
            for name in sorted(wanted - current):
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(name), role))

    def database_exists(self, name: str) -> bool:
        with self._server.admin() as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (name,)
            ).fetchone()
        return row is not None


def _check_length(name: str) -> None:
    if not name or len(name.encode()) > MAX_NAME_BYTES:
        raise RoleNameTaken(f"role names are 1 to {MAX_NAME_BYTES} bytes here")


def _mark(conn: psycopg.Connection[tuple[object, ...]], name: str, kind: RoleKind) -> None:
    from psycopg import sql

    conn.execute(
        sql.SQL("COMMENT ON ROLE {} IS {}").format(
            sql.Identifier(name), sql.Literal(MARKER_PREFIX + kind.value)
        )
    )


def _kinds(
    conn: psycopg.Connection[tuple[object, ...]], names: Iterable[str]
) -> dict[str, RoleKind]:
    rows = conn.execute(
        "SELECT r.rolname, r.rolsuper, "
        "pg_catalog.shobj_description(r.oid, 'pg_authid') "
        "FROM pg_catalog.pg_roles r WHERE r.rolname = ANY(%s)",
        (sorted(set(names)),),
    ).fetchall()
    kinds: dict[str, RoleKind] = {}
    for name, superuser, comment in rows:
        kind = RoleKind.OTHER
        # A superuser or a system role is never ours, whatever its comment says.
        if not superuser and not str(name).startswith("pg_") and isinstance(comment, str):
            marked = (
                comment.removeprefix(MARKER_PREFIX) if comment.startswith(MARKER_PREFIX) else ""
            )
            kind = next((k for k in RoleKind if k.value == marked), RoleKind.OTHER)
        kinds[str(name)] = kind
    return kinds
