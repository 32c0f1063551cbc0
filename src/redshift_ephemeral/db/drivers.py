"""The database drivers, one list, and the rule that picks one when none is named. Imports
no driver (and nothing else), so the command line can offer the choices without loading one."""

from __future__ import annotations

import importlib.util
from typing import Literal

from ..errors import ConfigurationError

Driver = Literal["psycopg2", "psycopg", "redshift_connector", "data_api"]
# The drivers that connect to the cluster with a password, in the order ``default_driver``
# prefers them; each one's module is its name.
NETWORK_DRIVERS: tuple[Driver, ...] = ("psycopg2", "psycopg", "redshift_connector")
# Every driver: those, and the Data API (``db/data_api``: HTTPS to AWS, no password), which
# is chosen only by name.
DRIVERS: tuple[Driver, ...] = (*NETWORK_DRIVERS, "data_api")


def default_driver() -> Driver:
    """The driver used when none is named: the first installed of ``DRIVERS``, in that
    order - psycopg2 (the seed's driver and SQLAlchemy's default for PostgreSQL), psycopg,
    redshift_connector."""
    for driver in NETWORK_DRIVERS:
        if importlib.util.find_spec(driver) is not None:
            return driver
    raise ConfigurationError(
        "No database driver is installed: `pip install 'redshift-ephemeral[psycopg2]'` (or "
        "[psycopg], [redshift_connector])."
    )


def check_driver(driver: str) -> Driver:
    """``driver`` if it is one of ``DRIVERS``, else a ConfigurationError naming them."""
    for known in DRIVERS:
        if driver == known:
            return known
    raise ConfigurationError(f"Unknown driver {driver!r}: use one of {', '.join(DRIVERS)}.")
