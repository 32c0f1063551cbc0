"""Which driver, pool and engine options a caller may pass, and the one merge that enforces it.

Where the password goes (host, port, socket), who receives it (user, database), and how the
server is verified (every TLS setting) come from the ``CredentialSource`` and its
``TlsSettings`` alone. An option that would change any of them - ``sslmode="disable"`` in
``driver_options``, a ``conninfo`` in ``pool_options``, a ``creator`` in an engine's options,
``sslmode=disable`` or ``-h`` on psql's command line - is a ``ConfigurationError`` raised
before any AWS call, naming where to set it instead. Options merged after ours could
otherwise lower TLS or send the password elsewhere; refusing them makes that impossible
rather than unlikely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigurationError

_ON_THE_SOURCE = (
    "set it on the CredentialSource (host=/port=, database=, db_user=; --host/--port, "
    "--database, --db-user on the command line)"
)
_IN_TLS_SETTINGS = (
    "TLS comes from the source's TlsSettings alone: use sslmode= (verify-full, verify-ca, "
    "require) and sslrootcert= (--sslmode/--sslrootcert)"
)
_FROM_AWS = "the login and password come from AWS, fresh for every connection"

# libpq keywords (psycopg2, psycopg, their pools) that decide where the password goes, who
# gets it, or how the server is verified: https://www.postgresql.org/docs/current/libpq-connect.html
_CONNECT_ADDRESS = (
    "set connect_address= on the CredentialSource (--connect-address ADDRESS[:PORT]): it is "
    "passed as hostaddr, with the certificate still checked against the host name"
)

LIBPQ_RESERVED: Mapping[str, str] = {
    **dict.fromkeys(("host", "port", "dbname", "database"), _ON_THE_SOURCE),
    "hostaddr": _CONNECT_ADDRESS,
    **dict.fromkeys(("user", "password", "passfile", "require_auth"), _FROM_AWS),
    **dict.fromkeys(("service", "servicefile", "conninfo", "dsn"), _ON_THE_SOURCE),
    **dict.fromkeys(
        (
            "sslmode",
            "requiressl",
            "sslrootcert",
            "sslcert",
            "sslkey",
            "sslpassword",
            "sslcertmode",
            "sslcrl",
            "sslcrldir",
            "sslsni",
            "sslnegotiation",
            "ssl_min_protocol_version",
            "ssl_max_protocol_version",
            "channel_binding",
            "gssencmode",
            "gsslib",
            "krbsrvname",
            "gssdelegation",
            "sslkeylogfile",  # libpq 18: writes the TLS session secrets to a file
            "sslcompression",
            "min_protocol_version",
            "max_protocol_version",
        ),
        _IN_TLS_SETTINGS,
    ),
    # libpq 18's other ways to authenticate or to say who the server must be.
    **dict.fromkeys(
        (
            "scram_client_key",
            "scram_server_key",
            "oauth_issuer",
            "oauth_client_id",
            "oauth_client_secret",
            "oauth_scope",
            "requirepeer",
            "replication",
        ),
        _FROM_AWS,
    ),
}

LIBPQ_HARMLESS = frozenset(
    {
        "application_name",
        "fallback_application_name",
        "client_encoding",
        "connect_timeout",
        "keepalives",
        "keepalives_count",
        "keepalives_idle",
        "keepalives_interval",
        "load_balance_hosts",
        "options",
        "target_session_attrs",
        "tcp_user_timeout",
    }
)
"""The libpq keywords known to change neither where the password goes nor how the server is
verified. A test holds every keyword the installed libpq knows to one of the two lists, so a
new libpq's keyword is classified by hand before it can pass the guard unexamined."""

# redshift_connector takes its IAM and identity-provider settings as connect() options: any
# of them would make the driver fetch (or invent) credentials of its own. So for it the rule
# is the other way round: these harmless options only.
REDSHIFT_CONNECTOR_ALLOWED = frozenset(
    {
        "timeout",
        "source_address",
        "tcp_keepalive",
        "application_name",
        "max_prepared_statements",
        "client_protocol_version",
        "database_metadata_current_db_only",
        "numeric_to_float",
    }
)

POOL_RESERVED: Mapping[str, str] = {
    "conninfo": _ON_THE_SOURCE,
    "kwargs": "pass driver options as driver_options=",
    "connection_class": "the pool's connection class is what takes fresh credentials",
}

ENGINE_RESERVED: Mapping[str, str] = {
    "creator": "the engine's connect hook is what takes fresh credentials",
    "async_creator": "the engine's connect hook is what takes fresh credentials",
    "pool": "a ready-made pool would connect without this library; use poolclass= instead",
    "connect_args": "pass driver options as driver_options=",
}


def _refuse(option: str, where: str, hint: str) -> ConfigurationError:
    return ConfigurationError(
        f"{option!r} may not be given in {where}: it changes where the password goes or how the "
        f"server is verified; {hint}."
    )


_OPTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_driver_options(driver: str, options: Mapping[str, Any], where: str) -> None:
    """Refuse ``options`` (for ``driver``'s connect) that touch the host, the login or TLS."""
    for option in options:
        if not isinstance(option, str) or not _OPTION_NAME.fullmatch(option):
            # psycopg2 writes keys into a connection string unquoted: "x=1 hostaddr" would
            # smuggle a second keyword past the check below.
            raise ConfigurationError(
                f"{option!r} in {where} is not an option name (letters, digits and '_')."
            )
        if driver == "redshift_connector":
            if option not in REDSHIFT_CONNECTOR_ALLOWED:
                allowed = ", ".join(sorted(REDSHIFT_CONNECTOR_ALLOWED))
                raise _refuse(
                    option,
                    where,
                    f"for redshift_connector only these options are passed through: {allowed}",
                )
        elif (hint := LIBPQ_RESERVED.get(option.lower())) is not None:
            raise _refuse(option, where, hint)


def check_pool_options(options: Mapping[str, Any]) -> None:
    for option in options:
        if (hint := POOL_RESERVED.get(option)) is not None:
            raise _refuse(option, "pool_options", hint)


def check_engine_options(options: Mapping[str, Any], where: str = "engine_options") -> None:
    for option in options:
        if (hint := ENGINE_RESERVED.get(option)) is not None:
            raise _refuse(option, where, hint)


def merge(
    defaults: Mapping[str, Any], user: Mapping[str, Any], ours: Mapping[str, Any]
) -> dict[str, Any]:
    """The keyword arguments for one connect: ``defaults`` < the caller's ``user`` options
    (already checked) < ``ours`` (host, login, TLS), so ours win even if a check were missed."""
    return {**defaults, **user, **ours}


# -- environments and command lines handed to libpq programs (psql, commands run by exec) ----

# The libpq variables a child may inherit: none of them changes where the password goes, who
# gets it or how the server is verified. Every other PG* variable (PGSERVICE, PGHOSTADDR,
# PGSSLMODE, PGSYSCONFDIR, ..., and any libpq adds later) is dropped: set after ours, or
# through a service file, it would override them. A PGHOSTADDR the child gets is ours alone,
# from the source's connect_address.
LIBPQ_ENVIRONMENT_KEPT = frozenset(
    {"PGAPPNAME", "PGCLIENTENCODING", "PGDATESTYLE", "PGTZ", "PGGEQO", "PGCONNECT_TIMEOUT"}
)


def libpq_environment(inherited: Mapping[str, str], ours: Mapping[str, str]) -> dict[str, str]:
    """``inherited`` without its libpq variables (but the harmless ones), plus ``ours``."""
    kept = {
        name: value
        for name, value in inherited.items()
        if not name.startswith("PG") or name in LIBPQ_ENVIRONMENT_KEPT
    }
    return kept | dict(ours)


# A libpq connection string: one or more keyword=value pairs, values bare or single-quoted.
_CONNINFO_PAIR = r"\s*(?P<keyword>\w+)\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s']*)"
_CONNINFO = re.compile(rf"(?:{_CONNINFO_PAIR})+\s*")
_CONNINFO_KEYWORD = re.compile(_CONNINFO_PAIR)


def _reserved_conninfo_keyword(text: str) -> str | None:
    """The first reserved keyword of ``text`` if it is a whole connection string."""
    if not _CONNINFO.fullmatch(text):
        return None  # e.g. SQL for psql -c: "SELECT host = 1" is no connection string
    for match in _CONNINFO_KEYWORD.finditer(text):
        if match["keyword"].lower() in LIBPQ_RESERVED:
            return match["keyword"]
    return None


_URI = re.compile(r"^\s*postgres(?:ql)?://", re.IGNORECASE)
# libpq's environment variables for the same settings, as `env PGSSLMODE=disable psql` sets them.
_ENVIRONMENT_ASSIGNMENT = re.compile(
    r"^(?P<keyword>PG(HOST|HOSTADDR|PORT|DATABASE|USER|PASSWORD|PASSFILE|SERVICE|SERVICEFILE"
    r"|SSL[A-Z]*|REQUIRESSL|CHANNELBINDING|GSS[A-Z]*|KRBSRVNAME|REQUIREAUTH))="
)
_PSQL_CONNECTION_LONG = re.compile(r"^--(host|port|username|dbname)(=|$)")
_PSQL_CONNECTION_SHORT = frozenset("hpUd")
_PSQL_SHORT_WITH_VALUE = frozenset("cfFLoPRTv")  # the rest of the word is the value


def _psql_connection_flag(argument: str) -> str | None:
    """The psql option in ``argument`` that sets the host, port, user or database, if any:
    ``--host=x``, ``-h``, ``-hx``, or bundled as in ``-qh x``."""
    if match := _PSQL_CONNECTION_LONG.match(argument):
        return f"--{match[1]}"
    if argument.startswith("-") and not argument.startswith("--"):
        for letter in argument[1:]:
            if letter in _PSQL_CONNECTION_SHORT:
                return f"-{letter}"
            if letter in _PSQL_SHORT_WITH_VALUE:
                return None
    return None


def _values(argument: str) -> list[str]:
    """The argument itself and, for ``--name=value`` or ``-dvalue`` forms, the value: libpq
    programs take a connection string as ``--dbname=…`` or ``-d…`` as well."""
    values = [argument]
    if argument.startswith("--") and "=" in argument:
        values.append(argument.split("=", 1)[1])
    elif argument.startswith("-d") and len(argument) > 2:
        values.append(argument[2:])
    return values


def check_command_line(arguments: Iterable[str], *, psql: bool) -> None:
    """Refuse arguments that would point a libpq program elsewhere or lower its TLS: a
    connection string (``sslmode=disable``, ``host=…``) or URI, also as the value of
    ``--dbname=``/``-d``, and for psql its ``-h``, ``-p``, ``-U`` and ``-d`` options. The
    target's settings reach the program through the ``PG*`` variables and the passfile; an
    argument would override them. An arbitrary command (``sh -c …``) cannot be policed this
    way: README says so."""
    for argument in [value for given in arguments for value in _values(given)]:
        if _URI.match(argument):
            shown = "a postgres:// URI"
        elif keyword := _reserved_conninfo_keyword(argument):
            shown = f"'{keyword}=...'"
        elif match := _ENVIRONMENT_ASSIGNMENT.match(argument):
            shown = f"'{match['keyword']}=...'"
        elif psql and (flag := _psql_connection_flag(argument)):
            shown = f"psql's {flag} option"
        else:
            continue
        raise ConfigurationError(
            f"The command line holds {shown}, which would override the target's host, port, "
            "login or TLS settings that redshift-ephemeral passes through PG* variables and "
            "the passfile. Drop it and set the target with redshift-ephemeral's own options "
            "(--host, --port, --database, --db-user, --sslmode, --sslrootcert)."
        )
