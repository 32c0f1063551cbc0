"""End-to-end tests run against the local stack (a real PostgreSQL server and the emulator),
through the package's own pytest plugin fixtures (``redshift_local``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from redshift_ephemeral.credentials import Credential


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def wait_until_expired(credential: Credential, margin: float = 0.3) -> None:
    """The server enforces VALID UNTIL on its own clock: real time has to pass."""
    remaining = (credential.expires_at - datetime.now(UTC)).total_seconds()
    if remaining > 10:
        raise AssertionError(f"credential lives {remaining:.0f} s more: set a time scale")
    time.sleep(max(remaining, 0) + margin)


def connect(driver: str, credential: Credential, **overrides: Any) -> Any:
    """A real connection with the named driver."""
    if driver == "psycopg2":
        import psycopg2

        return psycopg2.connect(**{**credential.psycopg2_kwargs(), **overrides})
    import psycopg

    return psycopg.connect(**{**credential.psycopg_kwargs(), **overrides})


def count_rows(driver: str, credential: Credential) -> int:
    connection = connect(driver, credential)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM my_table")
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])
    finally:
        connection.close()
