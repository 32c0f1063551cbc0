"""What the agent writes for tools that are not Python: a libpq passfile and a
``pg_service.conf`` with one section per target. Pure text; the agent writes it
(``_private_files.write_private``: 0600, atomic).

libpq reads a service file line by line, strips leading and trailing white space, takes
``[name]`` as a section and ``key=value`` with no quoting and no escapes; PostgreSQL 15 and
older read each line into a 256-byte buffer. So a value holding a line break, NUL or other
control character, or white space at either end, cannot be written faithfully, and a section
name holding ``]`` would match another service: such values and names are refused with a
``ConfigurationError`` naming the field (never the password), and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..credentials import Credential
from ..errors import ConfigurationError

TARGET_NAME_RULE = (
    "1-63 characters: letters, digits, '_', '-' and '.', starting with a letter or digit"
)
_TARGET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
MAX_LINE_BYTES = 255
RESERVED_NAMES = ("env", "status")
"""Words ``redshift-ephemeral agent`` reads as actions, so no target can be called that."""


def check_target_name(name: str) -> str:
    """``name`` if it can be a service section (and a word on the command line); a
    ``ConfigurationError`` naming the rule otherwise."""
    if not _TARGET_NAME.fullmatch(name):
        raise ConfigurationError(
            f"Target name {name!r} cannot be a pg_service.conf section: it must be "
            f"{TARGET_NAME_RULE}. Rename the [targets.…] table in config.toml."
        )
    if name in RESERVED_NAMES:
        raise ConfigurationError(
            f"Target name {name!r} is a word of `redshift-ephemeral agent {name}`. Rename the "
            f"[targets.{name}] table in config.toml."
        )
    return name


def _value(target: str, key: str, value: str) -> str:
    problem = None
    if not value:
        problem = "it is empty"
    elif any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        problem = "it holds a line break, NUL or other control character"
    elif any("\ud800" <= char <= "\udfff" for char in value):
        problem = "it holds an unpaired surrogate"
    elif value != value.strip():
        problem = "it starts or ends with white space, which libpq strips"
    line = f"{key}={value}"
    if problem is None and len(line.encode("utf-8")) > MAX_LINE_BYTES:
        problem = f"the line would be longer than the {MAX_LINE_BYTES} bytes libpq reads"
    if problem is not None:
        shown = "" if key == "password" else f" {value!r}"
        raise ConfigurationError(
            f"Cannot write the pg_service.conf section [{target}]: its {key}{shown} cannot be "
            f"held in a service file ({problem}). Fix the {key} of the target (or, for the "
            "passfile, point XDG_RUNTIME_DIR at a plain path)."
        )
    return line


def service_section(target: str, credential: Credential, passfile: Path) -> str:
    """One ``[target]`` section: where and as whom to connect, TLS, and the passfile that
    holds the password (never the password itself)."""
    check_target_name(target)
    values = {"host": credential.host}
    if credential.connect_address is not None:  # TCP goes there; TLS still checks "host"
        values["hostaddr"] = credential.connect_address
    values |= {
        "port": str(credential.port),
        "dbname": credential.database,
        "user": credential.user,
        "sslmode": credential.sslmode,
    }
    if credential.sslrootcert is not None:
        values["sslrootcert"] = credential.sslrootcert
    values["passfile"] = str(passfile)
    lines = [f"[{target}]", *(_value(target, key, value) for key, value in values.items())]
    return "\n".join(lines) + "\n"


HEADER = (
    "# Written by `redshift-ephemeral agent`, rewritten at every refresh and removed when it\n"
    "# stops. Do not edit: changes are lost.\n"
)


def service_file(credentials: Mapping[str, Credential], passfile: Path) -> str:
    """The whole ``pg_service.conf``: one section per target, in name order."""
    sections = [service_section(name, credentials[name], passfile) for name in sorted(credentials)]
    return HEADER + "\n".join(["", *sections])


def passfile_text(credentials: Iterable[Credential]) -> str:
    """The passfile: one line per distinct login (host, port, database, user), the most
    recently issued first. libpq takes the first line that matches, and a newer password is
    the one a server that keeps one password per user still accepts."""
    newest_first = sorted(credentials, key=lambda credential: credential.issued_at, reverse=True)
    lines: list[str] = []
    seen: set[tuple[str, int, str, str]] = set()
    for credential in newest_first:
        login = (credential.host, credential.port, credential.database, credential.user)
        if login in seen:
            continue
        seen.add(login)
        lines.append(credential.pgpass_line())
    return "".join(f"{line}\n" for line in lines)
