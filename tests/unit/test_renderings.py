"""Property-based: every rendering of a credential (libpq conninfo, SQLAlchemy URL, pgpass
line, environment) reads back - through libpq's own parser, ``sqlalchemy.make_url`` and a
pgpass reader that follows libpq's code - to exactly the values it was made from, or is
refused before anything is written. Hosts are what ``validate_host`` accepts; user, database
and password are any text, since AWS chooses them."""

from __future__ import annotations

import ipaddress
import shlex
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import make_url

from redshift_ephemeral import ConfigurationError
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.secret import Secret
from redshift_ephemeral.targets import Operation, validate_host

NOW = datetime(2024, 1, 1, tzinfo=UTC)

dns_label = st.from_regex(r"\A[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
dns_names = (
    st.lists(dns_label, min_size=1, max_size=5)
    .filter(lambda labels: not labels[-1].isdigit())
    .map(".".join)
    .filter(lambda name: len(name) <= 253)
)
ipv4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
ipv6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
hosts = st.one_of(dns_names, ipv4, ipv6)
ports = st.integers(1, 65535)
any_text = st.text(max_size=40)
sslrootcerts = st.one_of(st.none(), st.text(min_size=1, max_size=40))


def credential(
    host: str, port: int, user: str, database: str, password: str, *, sslrootcert: str | None = None
) -> Credential:
    return Credential(
        host=host,
        port=port,
        database=database,
        user=user,
        password=Secret(password),
        issued_at=NOW,
        expires_at=NOW + timedelta(minutes=15),
        operation=Operation.GET_CLUSTER_CREDENTIALS,
        sslrootcert=sslrootcert,
    )


# -- libpq's pgpass reader (fe-connect.c: passwordFromFile, pwdfMatchesString) --------------


def _pgpass_match(field: str, token: str) -> str | None:
    """The rest of ``field`` after it matched ``token``; None if it does not match."""
    if field.startswith("*:"):
        return field[2:]
    index, position, escaped = 0, 0, False
    while index < len(field):
        if field[index] == "\\" and not escaped:
            index += 1
            escaped = True
            if index == len(field):
                return None
        if field[index] == ":" and position == len(token) and not escaped:
            return field[index + 1 :]
        escaped = False
        if position == len(token) or field[index] != token[position]:
            return None
        index += 1
        position += 1
    return None


def libpq_pgpass_password(
    content: str, host: str, port: str, database: str, user: str
) -> str | None:
    """The password libpq takes from ``content`` for this host, port, database and user."""
    for line in content.split("\n"):
        if line.startswith("#"):
            continue
        stripped = line.rstrip("\r\n")
        rest: str | None = stripped
        for token in (host, port, database, user):
            rest = _pgpass_match(rest, token) if rest is not None else None
        if stripped and rest is not None:
            password, index = [], 0
            while index < len(rest) and rest[index] != ":":
                if rest[index] == "\\" and index + 1 < len(rest):
                    index += 1
                password.append(rest[index])
                index += 1
            return "".join(password)
    return None


def _unrenderable(forbidden: str, *values: str) -> bool:
    return any(
        char in forbidden or "\ud800" <= char <= "\udfff" for value in values for char in value
    )


@given(hosts)
def test_generated_hosts_are_accepted_unchanged(host: str) -> None:
    assert validate_host(host) == host


@settings(max_examples=400, deadline=None)
@given(hosts, ports, st.tuples(any_text, any_text, any_text), sslrootcerts)
def test_every_rendering_reads_back_to_the_same_values(
    host: str, port: int, texts: tuple[str, str, str], sslrootcert: str | None
) -> None:
    user, database, password = texts
    cred = credential(host, port, user, database, password, sslrootcert=sslrootcert)
    text_values = (user, database, password, sslrootcert or "")

    if _unrenderable("\0", *text_values):
        for render in (cred.dsn, cred.sqlalchemy_url, cred.environment):
            with pytest.raises(ConfigurationError):
                render()
        return

    parsed = conninfo_to_dict(cred.dsn())
    assert parsed == {
        "host": host,
        "port": str(port),
        "dbname": database,
        "user": user,
        "password": password,
        "sslmode": "verify-full",
        **({"sslrootcert": sslrootcert} if sslrootcert is not None else {}),
    }

    url = make_url(cred.sqlalchemy_url())
    assert (url.host, url.port, url.database, url.username, url.password) == (
        host,
        port,
        database,
        user,
        password,
    )
    assert dict(url.query) == {
        "sslmode": "verify-full",
        **({"sslrootcert": sslrootcert} if sslrootcert is not None else {}),
    }

    for name, value in cred.environment().items():
        assert shlex.split(f"{name}={shlex.quote(value)}") == [f"{name}={value}"]

    if _unrenderable("\n\r", user, database, password):
        with pytest.raises(ConfigurationError):
            cred.pgpass_line()
        return
    line = cred.pgpass_line()
    assert not {"\n", "\r"} & set(line)
    assert libpq_pgpass_password(line + "\n", host, str(port), database, user) == password
    # Nothing but these exact values matches: no wildcard, no field running into the next.
    assert libpq_pgpass_password(line, host + "x", str(port), database, user) is None
    assert libpq_pgpass_password(line, host, str(port), database + "x", user) is None
    assert libpq_pgpass_password(line, host, str(port), database, user + "x") is None


@pytest.mark.parametrize(
    ("host", "rendered"),
    [("::1", "[::1]"), ("2001:db8::5", "[2001:db8::5]"), ("10.0.0.1", "10.0.0.1")],
)
def test_ip_literals_render_as_sqlalchemy_reads_them(host: str, rendered: str) -> None:
    url = credential(host, 5439, "IAM:alice", "dev", "pw").sqlalchemy_url()
    assert f"@{rendered}:5439/" in url
    assert make_url(url).host == host


def test_a_wildcard_user_matches_only_itself_in_pgpass() -> None:
    line = credential("h.example", 5439, "*", "*", "pw").pgpass_line()
    assert line == "h.example:5439:\\*:\\*:pw"
    assert libpq_pgpass_password(line, "h.example", "5439", "dev", "alice") is None


def test_a_pgpass_line_break_is_refused_without_showing_the_password() -> None:
    with pytest.raises(ConfigurationError, match="the password contains") as refused:
        credential("h.example", 5439, "IAM:alice", "dev", "sec\nret").pgpass_line()
    assert "sec" not in str(refused.value)
    with pytest.raises(ConfigurationError, match="user 'IAM:a\\\\nb'"):
        credential("h.example", 5439, "IAM:a\nb", "dev", "pw").pgpass_line()


def test_a_credential_for_a_socket_path_cannot_be_built() -> None:
    with pytest.raises(ConfigurationError, match="Unix-socket"):
        credential("/tmp", 5439, "IAM:alice", "dev", "pw")
