"""AWS's rules for the parameters of the emulated credential calls, enforced by the emulator
itself: third-party clients (the AWS CLI, redshift_connector) send whatever they are given.

The rules are the library's own (``targets.py``, from AWS's API reference), so there is one
copy of them; the emulator answers them as AWS does, with the service's error code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import ConfigurationError
from ...targets import (
    MAX_DURATION_SECONDS,
    MIN_DURATION_SECONDS,
    validate_custom_domain,
    validate_db_group,
    validate_db_name,
    validate_db_user,
    validate_endpoint_name,
)
from .faults import invalid_parameter


def _checked(service: str, rule: Callable[[str], str], value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise invalid_parameter(service, f"{name} must be a string.")
    try:
        return rule(value)
    except ConfigurationError as error:
        raise invalid_parameter(service, f"{name}: {error}") from None


def db_user(service: str, value: Any, name: str = "DbUser") -> str:
    if value is None or value == "":
        raise invalid_parameter(service, f"{name} is required.")
    return _checked(service, validate_db_user, value, name)


def db_name(service: str, value: Any, name: str = "DbName") -> str | None:
    if value is None:
        return None
    return _checked(service, validate_db_name, value, name)


def db_groups(service: str, values: list[Any], name: str = "DbGroups") -> list[str]:
    return [_checked(service, validate_db_group, value, name) for value in values]


def duration(service: str, value: Any, name: str = "DurationSeconds") -> int:
    if value is None:
        return MIN_DURATION_SECONDS
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise invalid_parameter(service, f"{name} must be an integer.") from None
    if not MIN_DURATION_SECONDS <= seconds <= MAX_DURATION_SECONDS:
        raise invalid_parameter(
            service,
            f"{name} must be between {MIN_DURATION_SECONDS} and {MAX_DURATION_SECONDS} seconds.",
        )
    return seconds


def boolean(service: str, value: Any, name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in ("true", "false"):
        raise invalid_parameter(service, f"{name} must be true or false.")
    return text == "true"


def custom_domain(service: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid_parameter(service, "A custom domain name is required.")
    try:
        return validate_custom_domain(value)
    except ConfigurationError as error:
        raise invalid_parameter(service, str(error)) from None


def endpoint_name(service: str, value: Any, name: str = "EndpointName") -> str:
    if value is None or value == "":
        raise invalid_parameter(service, f"{name} is required.")
    return _checked(service, validate_endpoint_name, value, name)
