"""Attacks on the promise that a password only ever reaches a server whose identity was
verified over TLS. A hostile server (``fake_server.HostileServer``) asks every client for its
password in clear text; each test fails if one ever arrives - whatever the path: every driver,
every pool and engine, every CLI command, over TCP and over a Unix socket, and with every
option a careless user or a hostile config could use to lower TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg_pool
import pytest
import sqlalchemy
import trustme

from redshift_ephemeral import ConfigurationError, DatabaseConnectionError, RedshiftEphemeralError
from redshift_ephemeral.db.connections import connect, connect_async
from redshift_ephemeral.db.pools import async_connection_pool, connection_pool, create_engine
from redshift_ephemeral.local import LocalStack
from tests.e2e.conftest import run_cli
from tests.e2e.fake_server import HostileServer
from tests.leak_scan import raises

DRIVERS = ["psycopg2", "psycopg", "redshift_connector"]


@pytest.fixture(scope="module")
def foreign_ca() -> trustme.CA:
    return trustme.CA(organization_name="attacker")


def tls_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture(params=["plaintext", "foreign-ca", "wrong-name"])
def hostile(
    request: pytest.FixtureRequest,
    foreign_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    redshift_local: LocalStack,
) -> Iterator[tuple[HostileServer, str]]:
    """A hostile server and the CA the client is told to trust:
    plaintext - no TLS at all (the stack's CA is trusted);
    foreign-ca - TLS with a certificate for "localhost" from a CA nobody trusts;
    wrong-name - TLS with a certificate from a trusted CA, for another host name."""
    if request.param == "plaintext":
        context, trusted = None, redshift_local.ca_path
    elif request.param == "foreign-ca":
        context, trusted = tls_context(foreign_ca, "localhost", "127.0.0.1"), redshift_local.ca_path
    else:
        trusted_ca = trustme.CA(organization_name="trusted")
        context = tls_context(trusted_ca, "db.example.test")
        trusted = str(tmp_path / "trusted-ca.pem")
        trusted_ca.cert_pem.write_to_path(trusted)
        # redshift_connector trusts only OpenSSL's default store: put the CA there, so the
        # handshake (and its name check) is really tried rather than refused up front.
        monkeypatch.setenv("SSL_CERT_FILE", trusted)
    with HostileServer(tls=context) as server:
        yield server, trusted
        assert server.passwords == [], "the hostile server received a password"


def source_at(stack: LocalStack, host: str, port: int, sslrootcert: str) -> Any:
    return stack.source(db_user="alice", host=host, port=port, sslrootcert=sslrootcert)


REFUSED = (DatabaseConnectionError, ConfigurationError)


REASONS = {
    "plaintext": "does not offer TLS",
    "foreign-ca": "not signed by a trusted CA",
    "wrong-name": r"not for 'localhost'",
}


@pytest.mark.parametrize("driver", DRIVERS)
def test_connect_never_sends_a_password_to_an_unverified_server(
    redshift_local: LocalStack,
    hostile: tuple[HostileServer, str],
    driver: Any,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, trusted = hostile
    kind = request.node.callspec.params["hostile"]
    if kind != "wrong-name" and driver == "redshift_connector":
        monkeypatch.setenv("SSL_CERT_FILE", redshift_local.ca_bundle_path)
    source = source_at(redshift_local, "localhost", server.port, trusted)
    with raises(DatabaseConnectionError, match=REASONS[kind]):
        connect(source, driver=driver)


def test_connect_async_never_sends_a_password_to_an_unverified_server(
    redshift_local: LocalStack, hostile: tuple[HostileServer, str]
) -> None:
    server, trusted = hostile
    source = source_at(redshift_local, "localhost", server.port, trusted)
    with raises(REFUSED):
        asyncio.run(connect_async(source))


@pytest.mark.parametrize("driver", DRIVERS)
def test_engines_never_send_a_password_to_an_unverified_server(
    redshift_local: LocalStack, hostile: tuple[HostileServer, str], driver: Any
) -> None:
    server, trusted = hostile
    engine = create_engine(
        source_at(redshift_local, "localhost", server.port, trusted), driver=driver
    )
    with raises(REFUSED):
        engine.connect()
    engine.dispose()


def test_pools_never_send_a_password_to_an_unverified_server(
    redshift_local: LocalStack, hostile: tuple[HostileServer, str]
) -> None:
    server, trusted = hostile
    source = source_at(redshift_local, "localhost", server.port, trusted)
    pool = connection_pool(source, min_size=1, max_size=1)
    with raises(psycopg_pool.PoolTimeout):
        pool.open(wait=True, timeout=2)
    pool.close()

    async def async_pool() -> None:
        apool = async_connection_pool(source, min_size=1, max_size=1)
        try:
            await apool.open(wait=True, timeout=2)
        finally:
            await apool.close()

    with raises(psycopg_pool.PoolTimeout):
        asyncio.run(async_pool())
    assert server.connections >= 2  # the pools did try: the test is not vacuous


def cli_env(stack: LocalStack, tmp_path: Path) -> dict[str, str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "REDSHIFT_EPHEMERAL_", "PG"))
    }
    return clean | stack.environment() | {"XDG_CONFIG_HOME": str(tmp_path)}


CLI_COMMANDS: list[list[str]] = [
    ["query", "SELECT 1"],
    ["query", "--driver", "psycopg2", "SELECT 1"],
    ["query", "--driver", "redshift_connector", "SELECT 1"],
    ["psql", "--", "-c", "SELECT 1"],
    ["exec", "--", "psql", "-c", "SELECT 1"],
    ["doctor"],
]


@pytest.mark.parametrize("command", CLI_COMMANDS, ids=lambda c: " ".join(c[:3]))
def test_cli_never_sends_a_password_to_an_unverified_server(
    redshift_local: LocalStack,
    hostile: tuple[HostileServer, str],
    tmp_path: Path,
    command: list[str],
) -> None:
    server, trusted = hostile
    name, *rest = command
    target = ["--db-user", "alice", "--host", "localhost", "--port", str(server.port)]
    target += ["--sslrootcert", trusted]
    env = cli_env(redshift_local, tmp_path) | {
        key: value for key, value in os.environ.items() if key == "SSL_CERT_FILE"
    }
    result = run_cli([name, *target, *rest], env)
    assert result.returncode != 0, result.stdout


# -- Unix sockets: libpq ignores sslmode there, so a socket host is refused on every path --


def socket_host_paths(socket_dir: str, port: int) -> list[tuple[str, Callable[[Any], Any]]]:
    return [
        *[
            (f"connect[{driver}]", lambda source, d=driver: connect(source, driver=d))
            for driver in DRIVERS
        ],
        ("connect_async", lambda source: asyncio.run(connect_async(source))),
        ("create_engine", lambda source: create_engine(source).connect()),
        ("connection_pool", lambda source: connection_pool(source).open(wait=True, timeout=2)),
    ]


@pytest.mark.parametrize("socket_form", ["directory", "abstract"])
def test_a_unix_socket_host_is_refused_before_any_aws_call(
    redshift_local: LocalStack, socket_form: str
) -> None:
    with HostileServer() as server:
        host = server.socket_dir if socket_form == "directory" else "@hostile"
        for name, open_path in socket_host_paths(server.socket_dir, server.port):
            with raises(ConfigurationError, match="socket"):
                open_path(source_at(redshift_local, host, server.port, redshift_local.ca_path))
            assert redshift_local.calls() == {}, name
        assert server.passwords == []
        assert server.connections == 0


@pytest.mark.parametrize("command", CLI_COMMANDS, ids=lambda c: " ".join(c[:3]))
def test_cli_refuses_a_unix_socket_host_before_any_aws_call(
    redshift_local: LocalStack, tmp_path: Path, command: list[str]
) -> None:
    with HostileServer() as server:
        name, *rest = command
        target = ["--db-user", "alice", "--host", server.socket_dir, "--port", str(server.port)]
        result = run_cli([name, *target, *rest], cli_env(redshift_local, tmp_path), logs=False)
        assert result.returncode == 2, result.stderr
        assert "socket" in result.stderr
        assert "Traceback" not in result.stderr
        assert redshift_local.calls() == {}
        assert server.passwords == []
        assert server.connections == 0


# -- options that would lower TLS or send the password elsewhere ----------------------------


@pytest.fixture
def plaintext_server() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server
        assert server.passwords == [], "the hostile server received a password"


LIBPQ_DOWNGRADES: list[dict[str, Any]] = [
    {"sslmode": "disable"},
    {"sslmode": "allow"},
    {"sslmode": "prefer"},
    {"SSLMODE": "disable"},
    {"sslrootcert": "system"},
    {"sslnegotiation": "direct"},
    {"gssencmode": "require"},
    {"host": "127.0.0.1"},
    {"hostaddr": "127.0.0.1"},
    {"port": 5432},
    {"service": "evil"},
    {"passfile": "/tmp/elsewhere"},
    {"password": "x"},
    {"user": "postgres"},
    {"dbname": "postgres"},
]
REDSHIFT_CONNECTOR_DOWNGRADES: list[dict[str, Any]] = [
    {"ssl": False},
    {"sslmode": "disable"},
    {"unix_sock": "/tmp/.s.PGSQL.5439"},
    {"host": "127.0.0.1"},
    {"port": 5432},
    {"iam": True},
    {"password": "x"},
]


def every_driver_path(
    driver: str, source: Any, options: dict[str, Any]
) -> list[tuple[str, Callable[[], Any]]]:
    paths: list[tuple[str, Callable[[], Any]]] = [
        ("connect", lambda: connect(source, driver=driver, driver_options=options)),  # type: ignore[arg-type]
        ("create_engine", lambda: create_engine(source, driver=driver, driver_options=options)),  # type: ignore[arg-type]
    ]
    if driver == "psycopg":
        paths += [
            ("connect_async", lambda: asyncio.run(connect_async(source, driver_options=options))),
            ("connection_pool", lambda: connection_pool(source, driver_options=options)),
            (
                "async_connection_pool",
                lambda: async_connection_pool(source, driver_options=options),
            ),
        ]
    return paths


@pytest.mark.parametrize(
    ("driver", "options"),
    [("psycopg2", o) for o in LIBPQ_DOWNGRADES]
    + [("psycopg", o) for o in LIBPQ_DOWNGRADES]
    + [("redshift_connector", o) for o in REDSHIFT_CONNECTOR_DOWNGRADES],
    ids=str,
)
def test_driver_options_that_touch_host_login_or_tls_are_refused_before_any_aws_call(
    redshift_local: LocalStack, plaintext_server: HostileServer, driver: str, options: Any
) -> None:
    source = source_at(redshift_local, "localhost", plaintext_server.port, redshift_local.ca_path)
    for name, open_path in every_driver_path(driver, source, options):
        with raises(ConfigurationError, match="may not be given in driver_options"):
            open_path()
        assert redshift_local.calls() == {}, name
    assert plaintext_server.connections == 0


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("pool", {"conninfo": "sslmode=disable"}),
        ("pool", {"kwargs": {"sslmode": "disable"}}),
        ("pool", {"connection_class": object}),
        ("engine", {"connect_args": {"sslmode": "disable"}}),
        ("engine", {"creator": lambda: None}),
        ("engine", {"pool": object()}),
    ],
    ids=str,
)
def test_pool_and_engine_options_that_bypass_the_checks_are_refused(
    redshift_local: LocalStack, plaintext_server: HostileServer, kind: str, options: Any
) -> None:
    source = source_at(redshift_local, "localhost", plaintext_server.port, redshift_local.ca_path)
    with raises(ConfigurationError, match="may not be given in"):
        if kind == "pool":
            connection_pool(source, pool_options=options)
        else:
            create_engine(source, engine_options=options)
    assert redshift_local.calls() == {}


def test_options_changed_on_a_built_pool_are_refused_at_connect(
    redshift_local: LocalStack, plaintext_server: HostileServer
) -> None:
    source = source_at(redshift_local, "localhost", plaintext_server.port, redshift_local.ca_path)
    pool = connection_pool(source, min_size=1, max_size=1)
    assert isinstance(pool.kwargs, dict)
    pool.kwargs["sslmode"] = "disable"
    with raises(psycopg_pool.PoolTimeout):
        pool.open(wait=True, timeout=2)
    pool.close()
    assert plaintext_server.connections == 0


@pytest.mark.parametrize(
    "command",
    [
        ["psql", "--", "sslmode=disable"],
        ["psql", "--", "postgresql://localhost/dev?sslmode=disable"],
        ["psql", "--", "-h", "127.0.0.1"],
        ["psql", "--", "--host=127.0.0.1"],
        ["psql", "--", "-qh", "127.0.0.1"],
        ["psql", "--", "-d", "host=127.0.0.1 sslmode=disable"],
        ["exec", "--", "psql", "sslmode=disable", "-c", "SELECT 1"],
        ["exec", "--", "psql", "-h", "127.0.0.1", "-c", "SELECT 1"],
        ["exec", "--", "env", "PGSSLMODE=disable", "psql", "-c", "SELECT 1"],
        ["exec", "--", "env", "PGHOST=127.0.0.1", "psql"],
        ["exec", "--", "pg_isready", "--dbname=hostaddr=127.0.0.1 sslmode=disable"],
        ["exec", "--", "psql", "-c", "SELECT 1", "application_name=x sslmode=disable"],
    ],
    ids=" ".join,
)
def test_cli_pass_through_that_overrides_host_or_tls_is_refused(
    redshift_local: LocalStack, plaintext_server: HostileServer, tmp_path: Path, command: list[str]
) -> None:
    name, *rest = command
    target = ["--db-user", "alice", "--host", "localhost", "--port", str(plaintext_server.port)]
    result = run_cli([name, *target, *rest], cli_env(redshift_local, tmp_path), logs=False)
    assert result.returncode == 2, result.stderr
    assert "would override" in result.stderr
    assert redshift_local.calls() == {}
    assert plaintext_server.connections == 0


def test_sqlalchemy_engine_url_holds_no_host_or_password(redshift_local: LocalStack) -> None:
    engine = create_engine(redshift_local.source(db_user="alice"))
    assert engine.url.host is None
    assert engine.url.password is None
    assert isinstance(engine, sqlalchemy.Engine)


# -- exceptions: nothing we raise may lead to an object that shows the password ---------------


def reachable_from(error: BaseException) -> list[object]:
    """Every object an error leads to: its cause and context chain, args and attributes, and
    theirs (what a logger, a debugger or an error tracker would walk)."""
    seen: set[int] = set()
    pending: list[tuple[object, int]] = [(error, 0)]
    found: list[object] = []
    while pending:
        current, depth = pending.pop()
        if id(current) in seen or depth > 6:
            continue
        seen.add(id(current))
        found.append(current)
        children: list[object] = []
        if isinstance(current, BaseException):
            children += [current.__cause__, current.__context__, *current.args]
        children += list(getattr(current, "__dict__", {}).values())
        for name in ("pgconn", "pgresult", "diag"):
            with contextlib.suppress(Exception):
                children.append(getattr(current, name))
        pending += [(child, depth + 1) for child in children if child is not None]
    return found


def assert_no_password_reachable(error: BaseException, passwords: list[str]) -> None:
    for item in reachable_from(error):
        if isinstance(item, BaseException):
            assert isinstance(item, RedshiftEphemeralError), f"{type(item)} is reachable"
        shown = f"{item!r} {item!s}"
        assert not [p for p in passwords if p in shown], f"a password shows in {type(item)}"


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("failure", ["login-refused", "untrusted", "unreachable"])
def test_connection_errors_reference_nothing_that_holds_a_password(
    redshift_local: LocalStack,
    foreign_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    closed_port: int,
    driver: Any,
    failure: str,
) -> None:
    if driver == "redshift_connector":
        monkeypatch.setenv("SSL_CERT_FILE", redshift_local.ca_bundle_path)
    if failure == "login-refused":
        source = redshift_local.source(db_user="carol")  # issued, but no such database user
    elif failure == "untrusted":
        foreign = str(tmp_path / "foreign.pem")
        foreign_ca.cert_pem.write_to_path(foreign)
        if driver == "redshift_connector":
            monkeypatch.setenv("SSL_CERT_FILE", foreign)
        source = redshift_local.source(db_user="alice", sslrootcert=foreign)
    else:
        source = redshift_local.source(db_user="alice", host="localhost", port=closed_port)
    with raises(DatabaseConnectionError) as raised:
        connect(source, driver=driver)
    passwords = redshift_local.issued_passwords()
    assert passwords
    assert_no_password_reachable(raised.value, passwords)


def test_exec_and_psql_ignore_libpq_settings_inherited_from_the_environment(
    redshift_local: LocalStack, plaintext_server: HostileServer, tmp_path: Path
) -> None:
    """A service file or PG* variables in the caller's environment (a CI runner's, a shell's)
    would override the target: libpq applies PGSERVICE's settings over PG* variables."""
    service_file = tmp_path / "pg_service.conf"
    service_file.write_text(
        f"[evil]\nhostaddr=127.0.0.1\nport={plaintext_server.port}\nsslmode=disable\n"
    )
    inherited = {
        "PGSERVICEFILE": str(service_file),
        "PGSERVICE": "evil",
        "PGHOSTADDR": "127.0.0.1",
        "PGSSLMODE": "disable",
        "PGSSLROOTCERT": "system",
    }
    env = cli_env(redshift_local, tmp_path) | inherited
    for command in (
        ["psql", "--db-user", "alice", "--", "-tAc", "SELECT 42"],
        ["exec", "--db-user", "alice", "--", "psql", "-tAc", "SELECT 42"],
    ):
        result = run_cli(command, env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "42"  # the real target, over verified TLS
    assert plaintext_server.connections == 0
