"""``RedshiftEphemeralHook``: a ``DbApiHook`` whose connections and SQLAlchemy engines take
their password from this library - issued by AWS, cached, refreshed ahead of expiry - and
never from the Airflow connection.

Every hook of a worker shares one credential per target and login through the shared file
store (``CredentialSource.from_config(..., shared_cache=True)``), across task processes: one
AWS call per password lifetime, not one per task. The AWS identity is the ``aws_conn_id``
extra's Airflow AWS connection when given (the amazon provider's ``AwsBaseHook`` session),
else boto3's own credential chain of the worker.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from airflow.providers.common.sql.hooks.sql import DbApiHook

from redshift_ephemeral import ConfigurationError, CredentialSource, connect, create_engine

from .connection import CONN_TYPE, HOOK_NAME, HookSettings, hook_settings, ui_field_behaviour

if TYPE_CHECKING:
    import sqlalchemy

    from redshift_ephemeral import Driver


class RedshiftEphemeralHook(DbApiHook):  # type: ignore[misc]  # Airflow ships no types here
    """Runs SQL on Amazon Redshift with a short-lived password for the connection's target.

    :param redshift_ephemeral_conn_id: the ``redshift_ephemeral`` connection
        (default ``redshift_ephemeral_default``)
    :param aws_conn_id: an Airflow AWS connection, overriding the connection's extra
    """

    conn_name_attr = "redshift_ephemeral_conn_id"
    default_conn_name = "redshift_ephemeral_default"
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME
    supports_autocommit = True
    supports_executemany = True

    def __init__(self, *args: Any, aws_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._aws_conn_id = aws_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """For Airflow < 3.2, which asks the hook (later versions read the provider info)."""
        return ui_field_behaviour()

    @cached_property
    def connection_settings(self) -> HookSettings:
        """The connection as this library's options (``connection.hook_settings``)."""
        conn = self.connection
        return hook_settings(
            self.get_conn_id(),
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            schema=conn.schema,
            extra=conn.extra_dejson,
        )

    @cached_property
    def source(self) -> CredentialSource:
        """The credential source: the connection's options over ``REDSHIFT_EPHEMERAL_*``
        variables, in the worker's shared store unless the extras say ``shared_cache:
        false``."""
        options: dict[str, Any] = dict(self.connection_settings.options)
        aws_conn_id = self._aws_conn_id or self.connection_settings.aws_conn_id
        if aws_conn_id is not None:
            options["session"] = _aws_session(aws_conn_id, options.get("region"))
        return CredentialSource.from_config(defaults={"shared_cache": True}, **options)

    @property
    def driver(self) -> Driver | None:
        return self.connection_settings.driver  # type: ignore[return-value]  # checked against DRIVERS

    def get_conn(self) -> Any:
        """A DB-API connection with the current password, over verified TLS."""
        return connect(self.source, driver=self.driver)

    def get_sqlalchemy_engine(self, engine_kwargs: dict[str, Any] | None = None) -> Any:
        """An engine whose every new connection takes the current password: a pool outlives
        any one password. ``engine_kwargs`` go to ``sqlalchemy.create_engine``."""
        return create_engine(self.source, driver=self.driver, engine_options=engine_kwargs)

    @property
    def sqlalchemy_url(self) -> sqlalchemy.URL:
        """The engine's URL: the dialect and driver only - no host, user or password."""
        return cast("sqlalchemy.URL", self.get_sqlalchemy_engine().url)

    def get_uri(self) -> str:
        """``sqlalchemy_url`` as text (Airflow reads the dialect from it)."""
        return str(self.sqlalchemy_url)


def _aws_session(aws_conn_id: str, region: str | None) -> Any:
    """The boto3 session of an Airflow AWS connection."""
    try:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    except ImportError:
        raise ConfigurationError(
            f"aws_conn_id {aws_conn_id!r} needs the amazon provider: pip install "
            "apache-airflow-providers-amazon. Or drop aws_conn_id to use boto3's own "
            "credential chain."
        ) from None
    return AwsBaseHook(aws_conn_id=aws_conn_id, client_type="redshift").get_session(
        region_name=region
    )
