"""SQL text as the Redshift Data API reads it: named placeholders (``:name``) and statement
boundaries (``;``), found outside string literals, quoted identifiers, comments and
dollar-quoted bodies. Pure: no driver, no AWS.

Used by the Data API driver (``db/data_api``: NULL values, ``executemany``, scripts) and by
the local stack's emulation of the service, which substitutes parameters as AWS does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# PostgreSQL's rule: a tag is an identifier without "$" - letters (any alphabet, as in
# ``$é$``), digits after the first, underscores.
_DOLLAR_TAG = re.compile(r"\$([^\W\d][\w]*)?\$")
_IDENTIFIER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")


@dataclass(frozen=True)
class Placeholder:
    name: str
    start: int  # index of the colon
    end: int  # index after the name


def _skip_quoted(sql: str, index: int, quote: str, *, backslash: bool = False) -> int:
    """Index after the literal or identifier opening at ``index`` (doubled quotes escape;
    backslashes too in E'' strings). An unterminated one runs to the end."""
    position = index + 1
    while position < len(sql):
        char = sql[position]
        if backslash and char == "\\":
            position += 2
            continue
        if char == quote:
            if position + 1 < len(sql) and sql[position + 1] == quote:
                position += 2
                continue
            return position + 1
        position += 1
    return len(sql)


def _skip_block_comment(sql: str, index: int) -> int:
    depth, position = 0, index
    while position < len(sql):
        if sql.startswith("/*", position):
            depth += 1
            position += 2
        elif sql.startswith("*/", position):
            depth -= 1
            position += 2
            if depth == 0:
                return position
        else:
            position += 1
    return len(sql)


def _tokens(sql: str) -> Iterator[tuple[str, int, int]]:
    """("code", start, end) for each character of plain SQL text, and ("other", start, end)
    for each literal, quoted identifier, comment or dollar-quoted body."""
    position = 0
    length = len(sql)
    while position < length:
        char = sql[position]
        end = position + 1
        if char == "'":
            escaped = (
                position > 0
                and sql[position - 1] in "eE"
                and (position < 2 or sql[position - 2] not in _IDENTIFIER_CHARS)
            )
            end = _skip_quoted(sql, position, "'", backslash=escaped)
        elif char == '"':
            end = _skip_quoted(sql, position, '"')
        elif sql.startswith("--", position):
            # PostgreSQL ends a line comment at a carriage return as at a line feed.
            ends = [
                index
                for index in (sql.find("\n", position), sql.find("\r", position))
                if index >= 0
            ]
            end = min(ends) + 1 if ends else length
        elif sql.startswith("/*", position):
            end = _skip_block_comment(sql, position)
        elif char == "$" and (position == 0 or sql[position - 1] not in _IDENTIFIER_CHARS):
            tag = _DOLLAR_TAG.match(sql, position)
            if tag is not None:
                closing = sql.find(tag.group(0), tag.end())
                end = length if closing < 0 else closing + len(tag.group(0))
        else:
            yield "code", position, end
            position = end
            continue
        yield "other", position, end
        position = end


def placeholders(sql: str) -> list[Placeholder]:
    """Every ``:name`` in plain SQL text. ``::type`` casts and slices such as ``a[1:2]``
    are not placeholders."""
    found: list[Placeholder] = []
    skip_until = 0
    for kind, start, _ in _tokens(sql):
        if kind != "code" or start < skip_until or sql[start] != ":":
            continue
        if sql.startswith("::", start):
            skip_until = start + 2
            continue
        previous = sql[start - 1] if start > 0 else ""
        if previous and (previous in _IDENTIFIER_CHARS or previous in ":]"):
            continue
        match = _NAME.match(sql, start + 1)
        if match is not None:
            found.append(Placeholder(match.group(0), start, match.end()))
            skip_until = match.end()
    return found


def substitute(sql: str, replacement: Callable[[str], str]) -> str:
    """``sql`` with each ``:name`` replaced by ``replacement(name)``."""
    parts: list[str] = []
    position = 0
    for placeholder in placeholders(sql):
        parts.append(sql[position : placeholder.start])
        parts.append(replacement(placeholder.name))
        position = placeholder.end
    parts.append(sql[position:])
    return "".join(parts)


def split_statements(sql: str) -> list[str]:
    """The statements of a script: split at each ``;`` in plain SQL text, stripped, empty
    ones (and comment-only ones) dropped."""
    statements: list[str] = []
    start = 0
    has_code = False
    for kind, position, _ in _tokens(sql):
        if kind == "code" and sql[position] == ";":
            if has_code:
                statements.append(sql[start:position].strip())
            start, has_code = position + 1, False
        elif not (sql[position].isspace() or sql.startswith(("--", "/*"), position)):
            has_code = True
    if has_code:
        statements.append(sql[start:].strip())
    return statements
