"""The SQLAlchemy URL plugin's decisions, without a server: what a URL may say, where each
option comes from (URL > environment > config target), and what is refused before any AWS
call. SQLAlchemy loads the plugin through the installed entry point, as for any user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from redshift_ephemeral import ConfigurationError
from redshift_ephemeral.config import text_layer
from redshift_ephemeral.db.sqlalchemy_plugin import RedshiftEphemeralPlugin
from redshift_ephemeral.targets import Deployment

PLUGIN = "plugin=redshift_ephemeral"


@pytest.fixture(autouse=True)
def _environment(aws_sandbox: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No REDSHIFT_EPHEMERAL_* variable but a cluster and a CA, as after `local env`; a config
    file with a target ``reports``."""
    import os

    for name in [name for name in os.environ if name.startswith("REDSHIFT_EPHEMERAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("REDSHIFT_EPHEMERAL_CLUSTER_ID", "env-cluster")
    monkeypatch.setenv("REDSHIFT_EPHEMERAL_REGION", "eu-west-1")
    config = tmp_path / "redshift-ephemeral" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        '[targets.reports]\nworkgroup = "reports-wg"\nregion = "us-west-2"\n'
        'database = "analytics"\nduration = 1800\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return config


def plugin(url: str, **kwargs: Any) -> RedshiftEphemeralPlugin:
    return RedshiftEphemeralPlugin(sqlalchemy.make_url(url), kwargs)


def test_sqlalchemy_finds_the_plugin_by_its_entry_point_and_strips_its_parameters() -> None:
    engine = sqlalchemy.create_engine(
        f"postgresql+psycopg2://alice@/dev?{PLUGIN}&cluster_id=analytics&db_group=a"
        "&db_group=b&duration=1200&application_name=report"
    )
    assert dict(engine.url.query) == {"application_name": "report"}
    assert engine.url.render_as_string(hide_password=False) == (
        "postgresql+psycopg2://alice@/dev?application_name=report"
    )
    assert engine.dialect.dispatch.do_connect  # every new connection goes through the source


def test_url_parts_and_query_options_make_the_request() -> None:
    made = plugin(
        f"redshift+redshift_connector://alice@/dev?{PLUGIN}&cluster_id=analytics"
        "&db_group=a&db_group=b,c&duration=1200&auto_create=true&sslmode=verify-ca&timeout=5"
    )
    request = made.source.request
    assert (request.target.name, request.target.region) == ("analytics", "eu-west-1")
    assert (request.db_user, request.db_name) == ("alice", "dev")
    assert request.db_groups == ("a", "b", "c")
    assert (request.duration_seconds, request.auto_create) == (1200, True)
    assert made.source.tls.sslmode == "verify-ca"
    assert made.driver == "redshift_connector"
    assert made.driver_options == {"timeout": "5"}


def test_a_host_and_port_in_the_url_are_the_endpoint_to_connect_to() -> None:
    made = plugin(f"postgresql://tunnel.example.com:15439/dev?{PLUGIN}&db_user=alice")
    target = made.source.request.target
    assert (target.host, target.port, target.name) == ("tunnel.example.com", 15439, "env-cluster")
    # postgresql:// is SQLAlchemy's default driver (psycopg2 up to 2.0, psycopg from 2.1).
    assert made.driver == sqlalchemy.make_url("postgresql://").get_dialect().driver


def test_url_beats_environment_beats_the_named_target() -> None:
    from_target = plugin(f"postgresql+psycopg://?{PLUGIN}&target=reports").source.request
    # The environment's cluster names the target (a layer above the config table) ...
    assert from_target.target.name == "env-cluster"
    # ... its region wins over the table's; the table gives what nothing above gives.
    assert from_target.target.region == "eu-west-1"
    assert (from_target.db_name, from_target.duration_seconds) == ("analytics", 1800)
    overridden = plugin(
        f"postgresql+psycopg://?{PLUGIN}&target=reports&workgroup=url-wg&duration=900"
    ).source.request
    assert overridden.target.deployment is Deployment.SERVERLESS
    assert (overridden.target.name, overridden.duration_seconds) == ("url-wg", 900)


def test_a_password_in_the_url_is_refused_without_being_shown() -> None:
    for url in (
        f"postgresql+psycopg2://alice:s3cr3t-Pa55@host.example.com/dev?{PLUGIN}",
        f"postgresql+psycopg2://alice:@host.example.com/dev?{PLUGIN}",  # empty: still one
    ):
        with pytest.raises(ConfigurationError, match="holds a password") as refused:
            sqlalchemy.create_engine(url)
        assert "s3cr3t" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "kwargs", "match"),
    [
        # The driver guard of options.py, for the query string and connect_args alike.
        (f"postgresql+psycopg2://?{PLUGIN}&password=x", {}, "'password' may not be given in"),
        (f"postgresql+psycopg2://?{PLUGIN}&sslcert=/k", {}, "TLS comes from"),
        (f"postgresql+psycopg2://?{PLUGIN}", {"connect_args": {"host": "evil"}}, "'host'"),
        (f"postgresql+psycopg://?{PLUGIN}", {"connect_args": {"SSLMODE": "disable"}}, "TLS"),
        (f"redshift+redshift_connector://?{PLUGIN}&iam=true", {}, "only these options"),
        (f"postgresql+psycopg2://?{PLUGIN}", {"connect_args": "host=x"}, "dictionary"),
        # Engine options that would connect without the plugin.
        (f"postgresql+psycopg2://?{PLUGIN}", {"creator": object}, "'creator'"),
        # Our own options, checked by their rules.
        (f"postgresql+psycopg2://?{PLUGIN}&sslmode=disable", {}, "disable"),
        (f"postgresql+psycopg2://?{PLUGIN}&host=/tmp", {}, "Unix-socket"),
        (f"postgresql+psycopg2://?{PLUGIN}&duration=60", {}, "900"),
        (f"postgresql+psycopg2://?{PLUGIN}&duration=long", {}, "whole number"),
        (f"postgresql+psycopg2://?{PLUGIN}&auto_create=maybe", {}, "true or false"),
        (f"postgresql+psycopg2://?{PLUGIN}&database=%20", {}, "empty"),
        # Given twice, or differently in two places.
        (f"postgresql+psycopg2://?{PLUGIN}&cluster_id=a&cluster_id=b", {}, "more than once"),
        (f"postgresql+psycopg2://?{PLUGIN}&db_user=a&db-user=b", {}, "more than once"),
        (f"postgresql+psycopg2://?{PLUGIN}&target=a&target=b", {}, "more than once"),
        (f"postgresql+psycopg2://?{PLUGIN}&application_name=a&application_name=b", {}, "once"),
        (f"postgresql+psycopg2://alice@/dev?{PLUGIN}&db_user=bob", {}, "db_user twice"),
        # Options only a Python program can give, drivers the plugin does not serve.
        (f"postgresql+psycopg2://?{PLUGIN}&session=x", {}, "option for Python programs"),
        (f"postgresql+asyncpg://?{PLUGIN}", {}, "does not support"),
        (f"sqlite://?{PLUGIN}", {}, "does not support"),
        (f"postgresql+psycopg2://?{PLUGIN}&target=nowhere", {}, "'nowhere' is not defined"),
    ],
)
def test_refused_before_any_aws_call_with_the_cause(
    url: str, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        sqlalchemy.create_engine(url, **kwargs)


def test_an_asyncio_engine_is_refused_with_the_way_to_asyncio() -> None:
    # What create_async_engine() hands the plugin (without needing greenlet installed).
    with pytest.raises(ConfigurationError, match="connect_async"):
        plugin(f"postgresql+psycopg://?{PLUGIN}", _is_async=True)


def test_text_layer_converts_each_kind_and_merges_repeated_lists() -> None:
    layer = text_layer(
        {
            "db_group": ["a,b", "c"],
            "duration": ["1800"],
            "serverless": ["yes"],
            "db-user": ["alice"],
        },
        "the URL",
    )
    assert layer == {
        "db_groups": ["a", "b", "c"],
        "duration_seconds": 1800,
        "serverless": True,
        "db_user": "alice",
    }
    with pytest.raises(ConfigurationError, match="control character"):
        text_layer({"db_user": ["ali\nce"]}, "the URL")
