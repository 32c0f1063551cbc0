"""Tunnels and private endpoints with verify-full intact, against the local stack.

A ``TcpForwarder`` stands in for an SSH tunnel (``ssh -L 15439:cluster:5439``): a port on
127.0.0.2 - an address the endpoint's name (localhost) does not resolve to, so only a client
that really uses the connect address gets there - relaying bytes to the stack's endpoint.
With ``connect_address`` the client opens the connection there while libpq verifies the
certificate against the host name; a name that is not on the certificate is refused before
any password is sent (the hostile server proves it). Then Redshift-managed VPC endpoints,
found by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import pytest
import trustme

from redshift_ephemeral import (
    ConfigurationError,
    DatabaseConnectionError,
    connect,
    connect_async,
    connection_pool,
    create_engine,
)
from redshift_ephemeral.local import LocalStack, seed
from tests.e2e.conftest import run_cli, user_policy, uses_tls
from tests.e2e.fake_server import HostileServer
from tests.leak_scan import raises

LIBPQ_DRIVERS: list[Literal["psycopg2", "psycopg"]] = ["psycopg2", "psycopg"]
RELAY_TIMEOUT = 30.0
TUNNEL = "127.0.0.2"  # loopback, but not where "localhost" points


class TcpForwarder:
    """``with TcpForwarder(port) as tunnel:`` → ``TUNNEL:tunnel.port`` relays to
    127.0.0.1:``port``;
    ``tunnel.connections`` counts the clients it relayed. Bounded: every socket times out."""

    def __init__(self, target_port: int):
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server((TUNNEL, 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> TcpForwarder:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(self._target, timeout=RELAY_TIMEOUT)
            client.settimeout(RELAY_TIMEOUT)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_relay, args=(source, sink), daemon=True).start()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    for end in (source, sink):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def tunnel(redshift_local: LocalStack) -> Iterator[TcpForwarder]:
    with TcpForwarder(redshift_local.redshift_port) as forwarder:
        yield forwarder


def count_rows(connection: Any) -> int:
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM my_table")
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])
    finally:
        connection.close()


# -- connect_address: reached through the tunnel, the name verified ---------------------------


@pytest.mark.parametrize("driver", LIBPQ_DRIVERS)
def test_connect_through_a_tunnel_verifies_the_endpoint_name(
    redshift_local: LocalStack, tunnel: TcpForwarder, driver: Any
) -> None:
    source = redshift_local.source(db_user="alice", connect_address=f"{TUNNEL}:{tunnel.port}")
    connection = connect(source, driver=driver)
    assert uses_tls(connection)
    assert count_rows(connection) == 42
    assert tunnel.connections == 1  # the tunnel's port, not the endpoint's own
    credential = source.get()
    # The name DescribeClusters reported is what the certificate was checked against.
    assert (credential.host, credential.connect_address, credential.port) == (
        redshift_local.redshift_host,
        TUNNEL,
        tunnel.port,
    )
    assert credential.sslmode == "verify-full"


def test_engines_pools_and_asyncio_go_through_the_tunnel(
    redshift_local: LocalStack, tunnel: TcpForwarder
) -> None:
    source = redshift_local.source(db_user="alice", connect_address=f"{TUNNEL}:{tunnel.port}")
    for driver in LIBPQ_DRIVERS:
        engine = create_engine(source, driver=driver)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT COUNT(*) FROM my_table").scalar() == 42
        engine.dispose()
    with connection_pool(source, max_size=1) as pool, pool.connection() as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)

    async def count() -> int:
        async with await connect_async(source) as connection:
            cursor = await connection.execute("SELECT COUNT(*) FROM my_table")
            row = await cursor.fetchone()
            assert row is not None
            return int(row[0])

    assert asyncio.run(count()) == 42
    assert tunnel.connections == 4


@pytest.mark.parametrize("driver", LIBPQ_DRIVERS)
def test_a_host_name_not_on_the_certificate_is_refused_through_the_tunnel(
    redshift_local: LocalStack, tunnel: TcpForwarder, driver: Any
) -> None:
    """The custom domain does not resolve and is not on the stack's certificate: reaching
    the server through the tunnel does not make it acceptable."""
    source = redshift_local.source(
        db_user="alice",
        host=seed.CLUSTER_DOMAIN,
        connect_address=f"{TUNNEL}:{tunnel.port}",
    )
    with raises(DatabaseConnectionError, match=f"not for '{seed.CLUSTER_DOMAIN}'"):
        connect(source, driver=driver)
    assert tunnel.connections >= 1  # the TLS name check failed, not name resolution


def tls_context(ca: trustme.CA, name: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(name).configure_cert(context)
    return context


@pytest.fixture
def trusted_ca(tmp_path: Path) -> tuple[trustme.CA, str]:
    ca = trustme.CA(organization_name="trusted")
    path = str(tmp_path / "trusted-ca.pem")
    ca.cert_pem.write_to_path(path)
    return ca, path


@pytest.mark.parametrize("driver", LIBPQ_DRIVERS)
def test_no_password_reaches_a_server_whose_certificate_names_another_host(
    redshift_local: LocalStack, trusted_ca: tuple[trustme.CA, str], driver: Any
) -> None:
    """A trusted CA's certificate for db.example.test, at the connect address, while the
    source names localhost: the handshake happens (the address was reached) and fails on
    the name, so the server that asks for a clear-text password gets nothing."""
    ca, path = trusted_ca
    with HostileServer(tls=tls_context(ca, "db.example.test")) as server:
        source = redshift_local.source(
            db_user="alice",
            host="localhost",
            connect_address=f"127.0.0.1:{server.port}",
            sslrootcert=path,
        )
        with raises(DatabaseConnectionError, match="not for 'localhost'"):
            connect(source, driver=driver)
        assert server.connections >= 1
        assert server.passwords == [], "a server with another name's certificate got a password"


def test_a_name_that_does_not_resolve_is_verified_at_the_connect_address(
    redshift_local: LocalStack, trusted_ca: tuple[trustme.CA, str]
) -> None:
    """The converse: db.example.test resolves nowhere, yet with the connect address libpq
    reaches the server there and accepts its certificate for that name (and so answers the
    password request: this server is, by its certificate, the one named)."""
    ca, path = trusted_ca
    with HostileServer(tls=tls_context(ca, "db.example.test")) as server:
        source = redshift_local.source(
            db_user="alice",
            host="db.example.test",
            connect_address=f"127.0.0.1:{server.port}",
            sslrootcert=path,
        )
        with raises(DatabaseConnectionError):  # the fake server ends the session
            connect(source, driver="psycopg")
        assert len(server.passwords) >= 1, "verify-full against the name did not pass"


def test_redshift_connector_with_a_connect_address_fails_before_any_aws_call(
    redshift_local: LocalStack, tunnel: TcpForwarder
) -> None:
    source = redshift_local.source(db_user="alice", connect_address=f"{TUNNEL}:{tunnel.port}")
    before = redshift_local.calls()
    with raises(ConfigurationError, match="redshift_connector cannot use a connect"):
        connect(source, driver="redshift_connector")
    assert redshift_local.calls() == before
    assert tunnel.connections == 0


def test_exec_runs_psql_through_the_tunnel(
    env: dict[str, str], redshift_local: LocalStack, tunnel: TcpForwarder
) -> None:
    """PGHOSTADDR and PGPORT are the tunnel's, PGHOST the name; the passfile line matches the
    name and the tunnel's port, as libpq looks it up. An inherited PGHOSTADDR is replaced."""
    result = run_cli(
        [
            "exec",
            "--db-user",
            "alice",
            "--connect-address",
            f"{TUNNEL}:{tunnel.port}",
            "--",
            "psql",
            "-XtAc",
            "SELECT COUNT(*) FROM my_table",
        ],
        env | {"PGHOSTADDR": "192.0.2.1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "42"
    assert tunnel.connections == 1


def test_doctor_checks_tls_at_the_connect_address_against_the_name(
    env: dict[str, str], tunnel: TcpForwarder, redshift_local: LocalStack
) -> None:
    result = run_cli(
        ["doctor", "--db-user", "alice", "--connect-address", f"{TUNNEL}:{tunnel.port}"], env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"not looked up: connect address {TUNNEL}" in result.stdout
    assert f"for {redshift_local.redshift_host}, reached at {TUNNEL}:{tunnel.port}" in (
        result.stdout
    )


def test_creds_renders_the_connect_address(env: dict[str, str], tunnel: TcpForwarder) -> None:
    address = f"{TUNNEL}:{tunnel.port}"
    result = run_cli(["creds", "--db-user", "alice", "--connect-address", address], env)
    assert result.returncode == 0, result.stderr
    assert f"hostaddr     {TUNNEL} (TLS verifies the host name)" in result.stdout
    dsn = run_cli(
        ["creds", "--db-user", "alice", "--connect-address", address, "--format", "dsn"], env
    )
    assert f"hostaddr='{TUNNEL}'" in dsn.stdout
    assert f"port='{tunnel.port}'" in dsn.stdout


# -- Redshift-managed VPC endpoints, found by name ---------------------------------------------


@pytest.mark.parametrize(
    ("target", "action"),
    [
        (
            {"endpoint_name": seed.CLUSTER_VPC_ENDPOINT},
            "redshift:DescribeEndpointAccess",
        ),
        (
            {"workgroup": seed.WORKGROUP, "endpoint_name": seed.WORKGROUP_VPC_ENDPOINT},
            "redshift-serverless:GetEndpointAccess",
        ),
    ],
)
def test_an_endpoint_found_by_name_is_connected_to_with_verify_full(
    redshift_local: LocalStack, target: dict[str, str], action: str
) -> None:
    db_user = {} if "workgroup" in target else {"db_user": "alice"}
    source = redshift_local.source(**target, **db_user)
    connection = connect(source, driver="psycopg")
    assert uses_tls(connection)
    connection.close()
    calls = redshift_local.calls()
    assert calls.get(action) == 1
    assert "redshift:DescribeClusters" not in calls
    assert "redshift-serverless:GetWorkgroup" not in calls


def test_an_unknown_endpoint_name_is_an_aws_error_naming_it(env: dict[str, str]) -> None:
    result = run_cli(["creds", "--db-user", "alice", "--endpoint-name", "nowhere"], env)
    assert result.returncode == 3
    assert "nowhere" in result.stderr


def test_the_policy_printed_for_an_endpoint_name_is_enough(
    env: dict[str, str], redshift_local: LocalStack
) -> None:
    """Denied everything but what `policy --endpoint-name` prints, creds still works."""
    printed = run_cli(
        ["policy", "--db-user", "alice", "--endpoint-name", seed.CLUSTER_VPC_ENDPOINT], env
    )
    assert printed.returncode == 0, printed.stderr
    assert "redshift:DescribeEndpointAccess" in printed.stdout
    with user_policy(
        redshift_local,
        "Deny",
        "redshift:DescribeEndpointAccess",
    ):
        denied = run_cli(
            ["creds", "--db-user", "alice", "--endpoint-name", seed.CLUSTER_VPC_ENDPOINT],
            env | {"REDSHIFT_EPHEMERAL_SHARED_CACHE": "0"},
        )
        assert denied.returncode == 3
        assert "redshift:DescribeEndpointAccess" in denied.stderr
