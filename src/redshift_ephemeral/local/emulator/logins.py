"""What a credential call does on the database side, for every service that issues one: a
new temporary password, the login role given exactly its memberships (``roles.py``), the
password handed to the Redshift endpoint to check (``passwords.py``), and a record of every
password issued, for leak scans.
"""

from __future__ import annotations

import logging
import secrets
import string
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from ..passwords import IssuedPasswords
from ..roles import RoleNameTaken, Roles
from .faults import invalid_parameter

logger = logging.getLogger(__name__)

_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "+/="


def new_password() -> str:
    # Redshift's temporary passwords are 40-odd characters of base64-like text.
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(44))


def login_name_for(principal_arn: str) -> str:
    """IAM identity → Redshift login: ``IAM:<user>`` or ``IAMR:<role>``."""
    resource = principal_arn.split(":", 5)[-1]
    if resource.startswith("assumed-role/"):
        return "IAMR:" + resource.split("/")[1]
    return "IAM:" + resource.rsplit("/", 1)[-1]


class Logins:
    def __init__(self, roles: Roles, passwords: IssuedPasswords):
        self.roles = roles
        self._passwords = passwords
        self._issued: list[str] = []
        self._lock = threading.Lock()

    def require_database(self, service: str, database: str) -> None:
        if not self.roles.database_exists(database):
            raise invalid_parameter(service, f"Database {database} does not exist.")

    def issue(
        self,
        login: str,
        user: str,
        groups: Iterable[str],
        duration: int,
        time_scale: float,
        *,
        database: str | None,
        create_login: bool = True,
    ) -> tuple[str, datetime]:
        """A password for ``login``, good for ``database`` only (any database if None, as
        AWS does without DbName); unless ``create_login`` is false (the user does not exist:
        AWS answers, the login fails), the login role gets its memberships and the Redshift
        endpoint learns the password."""
        password = new_password()
        expiration = datetime.now(UTC) + timedelta(seconds=duration * time_scale)
        if create_login and self.prepare(login, user, groups):
            self._passwords.add(login, password, expiration, database)
        with self._lock:
            self._issued.append(password)
        return password, expiration

    def prepare(self, login: str, user: str, groups: Iterable[str]) -> bool:
        """Make ``login`` a login role with its memberships (``roles.py``), as a credential
        call does before the login; False if the name cannot be a login (a name PostgreSQL
        cannot hold, or a role of another kind): as for a missing user, AWS answers and the
        login fails."""
        try:
            self.roles.issue(login, user, groups)
        except RoleNameTaken as error:
            logger.warning("no login role for %s: %s", login, error)
            return False
        return True

    def issue_to_caller(
        self, caller_arn: str, duration: int, time_scale: float, database: str | None
    ) -> tuple[str, str, datetime, datetime]:
        """Identity mode: the login is the caller's IAM identity, with the privileges of the
        database user of the same name. Returns login, password, expiration, next refresh."""
        login = login_name_for(caller_arn)
        password, expiration = self.issue(
            login, login.split(":", 1)[1], (), duration, time_scale, database=database
        )
        next_refresh = expiration - (expiration - datetime.now(UTC)) / 4
        return login, password, expiration, next_refresh

    def issued(self) -> list[str]:
        """Every password issued since the last ``clear_issued``, oldest first."""
        with self._lock:
            return list(self._issued)

    def clear_issued(self) -> None:
        with self._lock:
            self._issued.clear()
