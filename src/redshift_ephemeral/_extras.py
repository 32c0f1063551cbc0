"""Optional dependencies (drivers, pools, the local stack) with an error that names the extra
to install, instead of a bare ModuleNotFoundError."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator

from .errors import ConfigurationError


def _missing(module: str | None, extra: str) -> ConfigurationError:
    return ConfigurationError(
        f"{module or 'A module'} is not installed; it comes with the {extra!r} extra: "
        f"pip install 'redshift-ephemeral[{extra}]'"
    )


@contextlib.contextmanager
def optional(extra: str) -> Iterator[None]:
    """``with optional("psycopg"): import psycopg``"""
    try:
        yield
    except ImportError as error:
        raise _missing(error.name, extra) from None


def require_installed(extra: str, *modules: str) -> None:
    """Check that ``modules`` can be imported, without importing them."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise _missing(module, extra)
