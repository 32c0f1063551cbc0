"""The Airflow connection → options mapping and the provider info, without Airflow (the
interop suite runs them in real Airflow: tests/interop/test_airflow.py)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from redshift_ephemeral import OPTIONS, ConfigurationError, CredentialSource
from redshift_ephemeral.integrations.airflow import connection, provider
from redshift_ephemeral.integrations.airflow.connection import hook_settings

ROOT = Path(__file__).resolve().parents[2]


def test_standard_fields_and_extras_become_the_sources_options() -> None:
    settings = hook_settings(
        "reports",
        login="alice",
        schema="dev",
        host="10.0.0.7",
        port=5439,
        extra={
            "cluster_id": "analytics",
            "region": "eu-west-1",
            "db_group": ["analysts", "etl"],
            "auto_create": True,
            "duration": 1800,
            "aws_conn_id": "aws_reports",
            "driver": "psycopg",
        },
    )
    assert settings.options == {
        "db_user": "alice",
        "database": "dev",
        "host": "10.0.0.7",
        "port": 5439,
        "cluster_id": "analytics",
        "region": "eu-west-1",
        "db_groups": ["analysts", "etl"],
        "auto_create": True,
        "duration_seconds": 1800,
    }
    assert (settings.aws_conn_id, settings.driver) == ("aws_reports", "psycopg")
    source = CredentialSource.from_config(environ={}, **settings.options)
    assert source.request.db_groups == ("analysts", "etl")
    assert source.request.duration_seconds == 1800


def test_text_from_a_form_is_read_as_the_options_variable_would_be() -> None:
    settings = hook_settings(
        "reports",
        extra={
            f"extra__redshift_ephemeral__{key}": value
            for key, value in {
                "workgroup": "reports",
                "db-group": "analysts, etl",
                "duration": "1800",
                "shared_cache": "false",
                "role_arn": "",  # a field left empty is not given
            }.items()
        },
    )
    assert settings.options == {
        "workgroup": "reports",
        "db_groups": ["analysts", "etl"],
        "duration_seconds": 1800,
        "shared_cache": False,
    }


def test_a_password_on_the_connection_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigurationError, match="takes none") as caught:
        hook_settings("reports", login="alice", password="hunter2-stored")
    message = str(caught.value)
    assert "hunter2" not in message
    assert "airflow connections delete reports" in message
    assert "--conn-password" in message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"cluster_identifier": "x"}, "Unknown key 'cluster_identifier'.*known keys: cluster_id"),
        ({"db_user": "alice"}, "connection's Login"),
        ({"database": "dev"}, "connection's Schema"),
        ({"host": "h"}, "connection's Host"),
        ({"mfa_serial": "arn:aws:iam::1:mfa/a"}, "no terminal"),
        ({"duration": "soon"}, "duration in the extras.*expected a whole number"),
        ({"duration": 60}, "900"),
        ({"auto_create": "maybe"}, "expected true or false"),
        ({"db_group": 7}, "list of names"),
        ({"driver": "odbc"}, "not a driver; choose one of psycopg2"),
        ({"aws_conn_id": 3}, "expected a name"),
        ({"db_group": ["a"], "db-group": ["b"]}, "given twice"),
        ({"cluster_id": "demo\ncluster"}, "control character"),
    ],
)
def test_a_wrong_extra_names_the_key_and_the_fix(extra: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        settings = hook_settings("reports", extra=extra)
        CredentialSource.from_config(environ={}, **settings.options)


def test_the_form_offers_every_option_but_those_of_standard_fields() -> None:
    fields = connection.conn_fields()
    named = {option.name for option in OPTIONS} - {"db_user", "database", "host", "port"}
    assert set(fields) == named - {"mfa_serial"} | {"aws_conn_id", "driver"}
    assert fields["duration"]["schema"] == {"type": ["integer", "null"]}
    assert fields["serverless"]["schema"] == {"type": ["boolean", "null"]}
    assert "password" in connection.ui_field_behaviour()["hidden_fields"]


def test_provider_info_names_the_connection_type_hook_and_distribution() -> None:
    info = provider.get_provider_info()
    json.dumps(info)  # plain data, as Airflow validates it against its JSON schema
    assert info["package-name"] == "redshift-ephemeral"
    (connection_type,) = info["connection-types"]
    assert connection_type["connection-type"] == "redshift_ephemeral"
    assert connection_type["hook-class-name"] == provider.HOOK_CLASS_NAME
    assert connection_type["ui-field-behaviour"]["hidden-fields"] == ["password"]
    assert info["hook-class-names"] == [provider.HOOK_CLASS_NAME]
    module, _, name = provider.HOOK_CLASS_NAME.rpartition(".")
    assert (ROOT / "src" / Path(*module.split("."))).with_suffix(".py").is_file()
    assert (
        f"class {name}(" in (ROOT / "src" / Path(*module.split("."))).with_suffix(".py").read_text()
    )


def test_the_entry_point_is_declared_and_airflow_stays_out_of_all() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    entry = project["entry-points"]["apache_airflow_provider"]["provider_info"]
    assert entry == f"{provider.__name__}:{provider.get_provider_info.__name__}"
    assert not any("airflow" in extra for extra in project["optional-dependencies"]["all"])
