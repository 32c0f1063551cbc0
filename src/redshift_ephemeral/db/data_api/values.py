"""Values both ways: Python parameters to the Data API's strings, and result fields (JSON
``Field`` objects or CSV text) to Python values, typed by each column's ``typeName``.

The Data API sends parameters as non-empty strings that Redshift converts to the type the
statement needs; it has no NULL and no empty string, so those two are written into the SQL
text as ``NULL`` and ``''`` instead (``sql_text.substitute``).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...sql_text import placeholders, substitute
from .errors import NotSupportedError, ProgrammingError

_INTEGER_TYPES = frozenset({"int2", "int4", "int8", "smallint", "integer", "bigint", "oid"})
_FLOAT_TYPES = frozenset({"float4", "float8", "real", "double precision", "float"})
_DECIMAL_TYPES = frozenset({"numeric", "decimal"})
_BOOLEAN_TYPES = frozenset({"bool", "boolean"})
_TIMESTAMP_TYPES = frozenset({"timestamp", "timestamptz"})
_TIME_TYPES = frozenset({"time", "timetz"})
_BINARY_TYPES = frozenset({"bytea", "varbyte", "binary varying"})
_TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "char", "name", "character varying"})


class _TypeSet(frozenset[str]):
    """A PEP 249 type object: equal to every ``typeName`` it stands for."""

    def __eq__(self, other: object) -> bool:
        return other in self if isinstance(other, str) else frozenset.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = frozenset.__hash__


STRING = _TypeSet(_TEXT_TYPES)
BINARY = _TypeSet(_BINARY_TYPES)
NUMBER = _TypeSet(_INTEGER_TYPES | _FLOAT_TYPES | _DECIMAL_TYPES)
DATETIME = _TypeSet(_TIMESTAMP_TYPES | _TIME_TYPES | {"date"})
ROWID = _TypeSet({"oid"})


# -- parameters ------------------------------------------------------------------------------


def parameter_text(name: str, value: Any) -> str:
    """A non-NULL, non-empty parameter value as the Data API's string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | decimal.Decimal | str):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        raise NotSupportedError(
            f"Parameter :{name} is binary: the Data API sends parameters as text. Encode it "
            "(hex or base64) and decode it in SQL."
        )
    raise ProgrammingError(
        f"Parameter :{name} is a {type(value).__name__}, which has no SQL text: pass a str, "
        "number, bool, date/time or None."
    )


def bind(
    sql: str, parameters: Mapping[str, Any] | Sequence[Any] | None
) -> tuple[str, dict[str, str]]:
    """(SQL, Parameters) for one statement: named parameters (``:name``) only; NULL and ''
    written into the text; parameters the SQL does not name dropped (AWS refuses them)."""
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, Mapping):
        raise ProgrammingError(
            "The Data API driver's paramstyle is 'named': write :name in the SQL and pass a "
            "dict of values."
        )
    used = {placeholder.name for placeholder in placeholders(sql)}
    missing = sorted(used - set(parameters))
    if missing:
        raise ProgrammingError(f"The SQL names :{missing[0]}, but no value was given for it.")
    inline = {
        name: "NULL" if parameters[name] is None else "''"
        for name in used
        if parameters[name] is None or parameters[name] == ""
    }
    if inline:
        sql = substitute(sql, lambda name: inline.get(name, ":" + name))
    texts = {
        name: parameter_text(name, parameters[name]) for name in sorted(used) if name not in inline
    }
    return sql, texts


# -- results ---------------------------------------------------------------------------------


def from_text(type_name: str, text: str) -> Any:
    """A value the Data API returned as text, as the Python type of its column."""
    name = type_name.lower()
    if name in _INTEGER_TYPES:
        return int(text)
    if name in _FLOAT_TYPES:
        return float(text)
    if name in _DECIMAL_TYPES:
        return decimal.Decimal(text)
    if name in _BOOLEAN_TYPES:
        return text.lower() in ("t", "true", "1")
    if name == "date" or name in _TIMESTAMP_TYPES or name in _TIME_TYPES:
        parse = (
            dt.date.fromisoformat
            if name == "date"
            else dt.datetime.fromisoformat
            if name in _TIMESTAMP_TYPES
            else dt.time.fromisoformat
        )
        try:
            return parse(text)
        except ValueError:
            # A value Python's types cannot hold ('infinity', a date BC): its text, as the
            # server wrote it, rather than an error in the middle of a fetch.
            return text
    if name in _BINARY_TYPES:
        return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()
    return text


def from_field(type_name: str, field: Mapping[str, Any]) -> Any:
    """A JSON ``Field`` (GetStatementResult) as a Python value."""
    if field.get("isNull"):
        return None
    if "longValue" in field:
        return int(field["longValue"])
    if "doubleValue" in field:
        return float(field["doubleValue"])
    if "booleanValue" in field:
        return bool(field["booleanValue"])
    if "blobValue" in field:
        blob = field["blobValue"]
        return bytes(blob) if isinstance(blob, bytes | bytearray) else base64.b64decode(blob)
    if "stringValue" in field:
        return from_text(type_name, str(field["stringValue"]))
    return None


def csv_rows(text: str) -> Iterator[list[str | None]]:
    """The rows of RFC 4180 text; an unquoted empty field is None (NULL), ``""`` is ''."""
    row: list[str | None] = []
    position, length = 0, len(text)
    while position < length:
        if text[position] == '"':
            end = position + 1
            chunks: list[str] = []
            while end < length:
                quote = text.find('"', end)
                if quote < 0:
                    chunks.append(text[end:])
                    end = length
                    break
                chunks.append(text[end:quote])
                if quote + 1 < length and text[quote + 1] == '"':
                    chunks.append('"')
                    end = quote + 2
                    continue
                end = quote + 1
                break
            row.append("".join(chunks))
            position = end
        else:
            end = position
            while end < length and text[end] not in ",\r\n":
                end += 1
            row.append(text[position:end] if end > position else None)
            position = end
        if position < length and text[position] == ",":
            position += 1
            if position < length and text[position] not in "\r\n":
                continue
            row.append(None)  # a separator at the end of a line: an empty last field
        if position < length and text[position] == "\r":
            position += 1
        if position < length and text[position] == "\n":
            position += 1
        yield row
        row = []
    if row:
        yield row
