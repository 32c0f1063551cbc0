"""pytest fixtures for testing your own code against the local stack.

Installed as a pytest plugin with the package. In your tests::

    def test_report(redshift_local):
        source = redshift_local.source(db_user="alice")
        with psycopg.connect(**source.get().libpq_params()) as conn:
            assert conn.execute("SELECT COUNT(*) FROM my_table").fetchone() == (42,)

``redshift_local_stack`` is started once per session (about 3 s) and stopped at the end;
``redshift_local`` is the same stack with knobs and call counts reset around each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported when a fixture runs: loading the plugin costs nothing
    from .stack import LocalStack


@pytest.fixture(scope="session")
def redshift_local_stack() -> Iterator[LocalStack]:
    """One local stack for the whole test session."""
    from .stack import LocalStack

    with LocalStack() as stack:
        yield stack


@pytest.fixture
def redshift_local(redshift_local_stack: LocalStack) -> Iterator[LocalStack]:
    """The session's stack, with default knobs and zeroed call counts for this test."""
    redshift_local_stack.reset()
    yield redshift_local_stack
    redshift_local_stack.reset()
