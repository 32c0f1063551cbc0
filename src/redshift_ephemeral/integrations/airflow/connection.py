"""An Airflow connection of type ``redshift_ephemeral`` as this library's options.

Pure: takes the connection's fields and its extras, imports nothing of Airflow. The extras
are a ``[targets.<name>]`` table of ``config.toml`` written as JSON - the same keys
(``cluster_id``, ``workgroup``, ``db_group``, ``duration``, ``role_arn``, ...), built from
``config.OPTIONS`` - plus two of the hook's own (``aws_conn_id``, ``driver``). Airflow's
standard fields name what they name everywhere else:

========== ============ ==========================================================
field      option       note
========== ============ ==========================================================
login      ``db_user``  empty: your IAM identity (GetClusterCredentialsWithIAM)
schema     ``database`` Airflow's "Schema" is the database, as for Postgres
host       ``host``     optional: a tunnel, NLB or custom endpoint; a standard
                        Redshift host name also gives the cluster and region
port       ``port``     with host
password   (refused)    AWS issues the password; a stored one is an error
========== ============ ==========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redshift_ephemeral import DRIVERS, OPTIONS, ConfigurationError, OptionKind
from redshift_ephemeral.config import OPTION_BY_KEYWORD, settings_value

CONN_TYPE = "redshift_ephemeral"
HOOK_NAME = "Amazon Redshift (IAM, short-lived passwords)"
FORM_PREFIX = f"extra__{CONN_TYPE}__"  # how Airflow 2's connection form names extras

# Airflow's standard field → the option it gives.
FIELD_OPTIONS = {"login": "db_user", "schema": "database", "host": "host", "port": "port"}
# Options that are not extras, and why.
NOT_EXTRAS = {
    "db_user": "give it as the connection's Login (--conn-login)",
    "database": "give it as the connection's Schema (--conn-schema)",
    "host": "give it as the connection's Host (--conn-host)",
    "port": "give it as the connection's Port (--conn-port)",
    "mfa_serial": (
        "an Airflow task has no terminal to ask for an MFA code; assume a role that needs "
        "none, or give an aws_conn_id whose AWS connection does"
    ),
}
# The hook's own extras, beside the options.
HOOK_EXTRAS = {
    "aws_conn_id": (
        "an Airflow AWS connection (needs apache-airflow-providers-amazon) whose boto3 "
        "session asks AWS for the password; without it, boto3's own credential chain"
    ),
    "driver": f"DB-API driver: {', '.join(DRIVERS)} (default: the first installed)",
}
_SCHEMA_TYPES = {
    OptionKind.TEXT: "string",
    OptionKind.NUMBER: "integer",
    OptionKind.SWITCH: "boolean",
    OptionKind.NAMES: "string",  # comma-separated in a form; a JSON list in --conn-extra
}


@dataclass(frozen=True)
class HookSettings:
    """What a connection says: keyword arguments for ``CredentialSource.from_config``, and
    the hook's own settings."""

    options: dict[str, Any] = field(default_factory=dict)
    aws_conn_id: str | None = None
    driver: str | None = None


def extra_options() -> list[str]:
    """The options a connection's extras may hold (their config keys), in ``OPTIONS`` order."""
    return [option.name for option in OPTIONS if option.keyword not in NOT_EXTRAS]


def hook_settings(
    conn_id: str,
    *,
    host: str | None = None,
    port: int | None = None,
    login: str | None = None,
    password: str | None = None,
    schema: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> HookSettings:
    """The options of connection ``conn_id``; a ``ConfigurationError`` naming the field and
    the fix for a password, an unknown or misplaced extra, or a value of the wrong kind."""
    where = f"Airflow connection {conn_id!r}"
    if password:
        raise ConfigurationError(
            f"{where} has a password, but a {CONN_TYPE} connection takes none: AWS issues a "
            f"short-lived one for each connection. Remove it: airflow connections delete "
            f"{conn_id}, then add it again without --conn-password."
        )
    options: dict[str, Any] = {}
    for field_name, value in (("login", login), ("schema", schema), ("host", host)):
        if value:  # Airflow stores an empty form field as "" or None
            given = OPTION_BY_KEYWORD[FIELD_OPTIONS[field_name]]
            options[given.keyword] = settings_value(given, value, f"the {field_name} of {where}")
    if port is not None:
        options["port"] = settings_value(OPTION_BY_KEYWORD["port"], port, f"the port of {where}")
    hook_extras: dict[str, str] = {}
    for key, value in _extras(extra or {}):
        origin = f"{key} in the extras of {where}"
        if key in HOOK_EXTRAS:
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"Invalid value for {origin}: expected a name.")
            hook_extras[key] = _driver(value, origin) if key == "driver" else value
            continue
        option = _EXTRA_KEYS.get(key)
        if option is None:
            raise ConfigurationError(
                f"Unknown key {key!r} in the extras of {where}; known keys: "
                f"{', '.join([*extra_options(), *HOOK_EXTRAS])}."
            )
        if option.keyword in NOT_EXTRAS:
            raise ConfigurationError(f"{origin}: {NOT_EXTRAS[option.keyword]}.")
        if option.keyword in options:
            raise ConfigurationError(f"{origin} is given twice (as {option.name}). Keep one.")
        options[option.keyword] = settings_value(option, value, origin)
    return HookSettings(options, hook_extras.get("aws_conn_id"), hook_extras.get("driver"))


_EXTRA_KEYS = {key: option for option in OPTIONS for key in option.config_keys}


def _extras(extra: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(key, value) of the extras that hold a value, Airflow 2's form prefix removed."""
    return [
        (key.removeprefix(FORM_PREFIX), value)
        for key, value in extra.items()
        if value is not None and value != ""  # a form field left empty
    ]


def _driver(value: str, origin: str) -> str:
    if value not in DRIVERS:
        raise ConfigurationError(
            f"Invalid value for {origin}: {value!r} is not a driver; choose one of "
            f"{', '.join(DRIVERS)}."
        )
    return value


def conn_fields() -> dict[str, dict[str, Any]]:
    """The extras as form fields (provider info's ``conn-fields``, Airflow >= 3.2)."""
    fields: dict[str, dict[str, Any]] = {}
    for option in OPTIONS:
        if option.keyword in NOT_EXTRAS:
            continue
        fields[option.name] = {
            "label": option.name,
            "description": option.help,
            "schema": {"type": [_SCHEMA_TYPES[option.kind], "null"]},
        }
    for key, text in HOOK_EXTRAS.items():
        fields[key] = {"label": key, "description": text, "schema": {"type": ["string", "null"]}}
    return fields


def ui_field_behaviour() -> dict[str, Any]:
    """The standard fields: no password; login and schema under the names they have here.
    (``hidden_fields`` / ``relabeling`` / ``placeholders``, as ``get_ui_field_behaviour``
    returns them.)"""
    return {
        "hidden_fields": ["password"],
        "relabeling": {"login": "Database user", "schema": "Database"},
        "placeholders": {
            "login": "empty: your IAM identity",
            "schema": "default: the cluster's database, or dev",
            "host": "optional: a tunnel or NLB (default: the endpoint AWS describes)",
            "port": "with Host (default 5439)",
            "extra": '{"cluster_id": "analytics", "region": "eu-west-1"}',
        },
    }
