"""SQLAlchemy's URL plugin ``redshift_ephemeral``, for tools configured with a URL alone
(jupysql, pandas, Superset, ...)::

    create_engine("postgresql+psycopg2://?plugin=redshift_ephemeral&target=reports")
    create_engine("redshift+redshift_connector://alice@/dev?plugin=redshift_ephemeral"
                  "&cluster_id=analytics&region=eu-west-1&db_group=analysts")

SQLAlchemy finds it through the ``sqlalchemy.plugins`` entry point and hands it the URL and
``create_engine``'s keyword arguments before anything connects. What the URL may hold:

* the driver: ``postgresql`` / ``postgresql+psycopg2``, ``postgresql+psycopg``,
  ``redshift`` / ``redshift+psycopg2`` and ``redshift+redshift_connector`` (sqlalchemy-redshift),
  and ``postgresql+data_api`` (SQL over the Redshift Data API: no network path, no password);
* a user name, host, port and database: the options ``db_user``, ``host``, ``port`` and
  ``database``, as typed in a tool's form (given twice, differently: an error);
* query parameters: ``target=<name>`` (a ``[targets.<name>]`` table of the config file),
  any option under its config key (``cluster_id``, ``db_group`` repeated, ``duration``, ...),
  and driver options that pass the guard of ``options.py`` (``application_name=...``).

Values come from the URL > ``REDSHIFT_EPHEMERAL_*`` variables > the target's table, as on
the command line (``CredentialSource.from_target`` / ``from_config``). A password in the URL,
driver options or ``connect_args`` touching host, login or TLS, and a ``creator`` or ``pool``
are refused before any AWS call. The plugin removes its parameters from the URL; every new
DB-API connection then takes the current credential (``pools.take_fresh_credentials``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy.engine import URL, CreateEnginePlugin, Engine

from ..config import OPTION_BY_CONFIG_KEY, PROGRAM_ONLY_OPTIONS, SourceOptions, text_layer
from ..errors import ConfigurationError
from ..source import CredentialSource
from .connections import check_driver_route
from .drivers import DRIVERS, Driver, check_driver
from .options import check_driver_options, check_engine_options
from .pools import take_fresh_credentials

PLUGIN_NAME = "redshift_ephemeral"
TARGET_PARAMETER = "target"
_SQLALCHEMY_PARAMETERS = ("plugin", "plugins")  # SQLAlchemy removes them itself
_IN_THE_URL = "the URL"
_DIALECTS = ("postgresql", "redshift")
_SUPPORTED = (
    "postgresql+psycopg2, postgresql+psycopg, redshift+psycopg2, redshift+redshift_connector "
    "or postgresql+data_api"
)


def _values(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _driver_of(url: URL, kwargs: Mapping[str, Any]) -> Driver:
    """The URL's DB-API driver, if the plugin supports it."""
    if kwargs.get("_is_async"):
        raise ConfigurationError(
            f"plugin={PLUGIN_NAME} works with create_engine(), not create_async_engine(). "
            "For asyncio use redshift_ephemeral.connect_async or async_connection_pool."
        )
    dialect = url.get_dialect()
    if dialect.name not in _DIALECTS or dialect.driver not in DRIVERS:
        raise ConfigurationError(
            f"plugin={PLUGIN_NAME} does not support {url.drivername!r} (dialect {dialect.name}, "
            f"driver {dialect.driver}). Use {_SUPPORTED}."
        )
    return check_driver(dialect.driver)


def _url_parts(url: URL) -> dict[str, object]:
    """The user name, host, port and database the URL names, as options."""
    if url.password is not None:
        # Never show the URL: the password is in it.
        raise ConfigurationError(
            f"The URL holds a password, but with plugin={PLUGIN_NAME} every connection takes a "
            "short-lived one from AWS. Remove it from the URL (user@host, not "
            "user:password@host), and rotate it if it was a real one."
        )
    parts = {
        "db_user": url.username,
        "host": url.host,
        "port": url.port,
        "database": url.database,
    }
    return {keyword: value for keyword, value in parts.items() if value not in (None, "")}


class RedshiftEphemeralPlugin(CreateEnginePlugin):
    """``?plugin=redshift_ephemeral``: see the module's documentation."""

    def __init__(self, url: URL, kwargs: dict[str, Any]) -> None:
        super().__init__(url, kwargs)
        self.driver = _driver_of(url, kwargs)
        options: dict[str, list[str]] = {}
        driver_options: dict[str, Any] = {}
        target: str | None = None
        self._ours: list[str] = [TARGET_PARAMETER]
        for key, value in url.query.items():
            values = _values(value)
            if key in _SQLALCHEMY_PARAMETERS:
                continue
            if key == TARGET_PARAMETER:
                if len(values) != 1:
                    raise ConfigurationError(
                        f"{TARGET_PARAMETER} is given more than once in {_IN_THE_URL}."
                    )
                target = values[0]
            elif key in OPTION_BY_CONFIG_KEY:
                options[key] = values
                self._ours.append(key)
            elif key in PROGRAM_ONLY_OPTIONS:
                raise ConfigurationError(
                    f"{key} cannot be given in a URL: it is an option for Python programs "
                    "(CredentialSource.from_options). Leave it out of the URL."
                )
            elif len(values) != 1:
                raise ConfigurationError(f"{key} is given more than once in {_IN_THE_URL}.")
            else:
                driver_options[key] = values[0]
        check_driver_options(self.driver, driver_options, "the URL's query string")
        connect_args = kwargs.pop("connect_args", None) or {}
        if not isinstance(connect_args, dict):
            raise ConfigurationError("connect_args must be a dictionary of driver options.")
        check_driver_options(self.driver, connect_args, "connect_args")
        check_engine_options(kwargs, f"create_engine() with plugin={PLUGIN_NAME}")
        self.driver_options = {**driver_options, **connect_args}

        layer = text_layer(options, _IN_THE_URL)
        for keyword, part in _url_parts(url).items():
            if layer.get(keyword, part) != part:
                raise ConfigurationError(
                    f"The URL names {keyword} twice, differently ({part!r} and "
                    f"{layer[keyword]!r} in its query string). Give it once."
                )
            layer[keyword] = part
        overrides = cast(SourceOptions, layer)
        self.source = (
            CredentialSource.from_target(target, **overrides)
            if target is not None
            else CredentialSource.from_config(**overrides)
        )
        check_driver_route(self.driver, self.source)  # before any AWS call, as create_engine

    def update_url(self, url: URL) -> URL:
        """The URL without the plugin's own parameters (SQLAlchemy requires it)."""
        return url.difference_update_query(self._ours)

    def engine_created(self, engine: Engine) -> None:
        take_fresh_credentials(engine, self.source, self.driver, self.driver_options)
