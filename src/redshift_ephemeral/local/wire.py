"""Rendering of results in the query protocol's XML (nested structures and lists)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Members:
    """A list in the query protocol: each item in an element named ``member_name``."""

    member_name: str
    items: list[Any]


def timestamp_xml(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def xml_elements(fields: Mapping[str, Any]) -> str:
    """``{"A": 1, "B": {"C": "x"}}`` → ``<A>1</A><B><C>x</C></B>``; None values are left out."""
    return "".join(
        f"<{name}>{_xml_value(value)}</{name}>"
        for name, value in fields.items()
        if value is not None
    )


def _xml_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return xml_elements(value)
    if isinstance(value, Members):
        return "".join(
            f"<{value.member_name}>{_xml_value(item)}</{value.member_name}>" for item in value.items
        )
    if isinstance(value, datetime):
        return timestamp_xml(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))
