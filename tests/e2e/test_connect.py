"""connect(), pools and asyncio against the local stack: every driver, verify-full, the three
MITM cases refused, pools that cross several password expiries without a failure."""

from __future__ import annotations

import asyncio
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy
import trustme

from redshift_ephemeral import DatabaseConnectionError
from redshift_ephemeral.cache import CredentialCache
from redshift_ephemeral.db.connections import connect, connect_async
from redshift_ephemeral.db.pools import async_connection_pool, connection_pool, create_engine
from redshift_ephemeral.local import LocalStack
from tests.e2e.conftest import uses_tls, wait_until_expired
from tests.leak_scan import raises

SEED_QUERY = "SELECT COUNT(*) FROM my_table"
LIFETIME_SCALE = 1 / 600  # 900 s → 1.5 s
CREDENTIAL_CALL = "redshift:GetClusterCredentials"


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg", "redshift_connector"])
def test_each_driver_connects_with_verify_full(redshift_local: LocalStack, driver: Any) -> None:
    source = redshift_local.source(db_user="alice")
    connection = connect(source, driver=driver)
    try:
        assert uses_tls(connection)
        cursor = connection.cursor()
        cursor.execute(SEED_QUERY)
        assert cursor.fetchone()[0] == 42
    finally:
        connection.close()


def test_connect_takes_plain_options(redshift_local: LocalStack) -> None:
    connection = connect(
        cluster_id="demo-cluster",
        db_user="alice",
        session=redshift_local.session(),
        region=redshift_local.region,
        endpoint_url=redshift_local.endpoint_url,
        sslrootcert=redshift_local.ca_path,
        driver="psycopg",
    )
    with connection:
        assert connection.execute(SEED_QUERY).fetchone() == (42,)


def test_a_refused_password_is_refreshed_and_the_login_retried_once(
    redshift_local: LocalStack,
) -> None:
    # A cache whose clock stands still keeps serving a password the server has expired
    # (as with a skewed clock): the server refuses it, connect() fetches anew and retries.
    redshift_local.set_knobs(time_scale=1 / 900)
    frozen = CredentialCache(clock=lambda: 0.0)
    source = redshift_local.source(db_user="alice", cache=frozen)
    stale = source.get()
    wait_until_expired(stale)
    assert source.get() is stale
    calls_before = redshift_local.calls()[CREDENTIAL_CALL]
    with connect(source, driver="psycopg") as connection:
        assert connection.execute(SEED_QUERY).fetchone() == (42,)
    assert redshift_local.calls()[CREDENTIAL_CALL] == calls_before + 1
    assert source.get() is not stale


def test_a_login_refused_twice_is_a_clear_error(redshift_local: LocalStack) -> None:
    source = redshift_local.source(db_user="carol")  # no such database user
    with raises(DatabaseConnectionError, match="even with a freshly issued password"):
        connect(source, driver="psycopg")


@pytest.fixture(scope="module")
def foreign_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("foreign") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg", "redshift_connector"])
def test_certificate_from_another_ca_is_refused(
    redshift_local: LocalStack, foreign_ca: str, driver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if driver == "redshift_connector":
        monkeypatch.setenv("SSL_CERT_FILE", foreign_ca)  # its only trust: see README
    source = redshift_local.source(db_user="alice", sslrootcert=foreign_ca)
    with raises(DatabaseConnectionError, match="not signed by a trusted CA"):
        connect(source, driver=driver)


@pytest.fixture
def server_without_tls() -> Iterator[int]:
    """Answers PostgreSQL's SSLRequest with 'N' (no TLS), for a bounded number of clients."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(4):
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with client:
                client.settimeout(5)
                client.recv(8)
                client.sendall(b"N")
                client.recv(1024)  # a well-behaved client hangs up here

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    listener.close()
    thread.join(timeout=10)


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_server_without_tls_is_refused(
    redshift_local: LocalStack, server_without_tls: int, driver: Any
) -> None:
    source = redshift_local.source(db_user="alice", host="localhost", port=server_without_tls)
    with raises(DatabaseConnectionError, match="does not offer TLS"):
        connect(source, driver=driver)


def test_unreachable_server_is_a_clear_error(redshift_local: LocalStack, closed_port: int) -> None:
    source = redshift_local.source(db_user="alice", host="localhost", port=closed_port)
    with raises(DatabaseConnectionError, match="Could not reach"):
        connect(source, driver="psycopg")


def test_refused_sslmodes_never_reach_the_network() -> None:
    from redshift_ephemeral import ConfigurationError

    with raises(ConfigurationError, match="refused"):
        connect(cluster_id="demo-cluster", db_user="alice", sslmode="allow")


# -- pools across expiries ------------------------------------------------------------------


def hammer(
    run_query: Any,
    lifetime: float,
    *,
    threads: int = 8,
    min_queries: int = 2000,
    min_expiries: float = 3.5,
    max_seconds: float = 60.0,
) -> tuple[int, int, float]:
    """Run queries from ``threads`` threads until at least ``min_queries`` ran and
    ``min_expiries`` lifetimes passed (bounded by ``max_seconds``). Returns (queries,
    failures, elapsed)."""
    started = time.monotonic()
    not_before = started + lifetime * min_expiries
    deadline = started + max_seconds
    counts = [0] * threads
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        while time.monotonic() < deadline:
            if sum(counts) >= min_queries and time.monotonic() >= not_before:
                return
            try:
                run_query()
                counts[index] += 1
            except Exception as error:
                failures.append(error)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=max_seconds + 30)
    return sum(counts), len(failures), time.monotonic() - started


def calls_bound(elapsed: float, lifetime: float) -> int:
    """At most one refresh per advisory interval (75 % of a lifetime), plus the first."""
    return math.ceil(elapsed / (0.75 * lifetime)) + 2


@pytest.mark.parametrize(
    ("driver", "dialect"),
    [
        ("psycopg2", None),
        ("psycopg", None),
        ("psycopg2", "redshift"),
        ("redshift_connector", "redshift"),
    ],
)
def test_sqlalchemy_engine_with_each_driver(
    redshift_local: LocalStack, driver: Any, dialect: str | None
) -> None:
    source = redshift_local.source(db_user="alice")
    engine = create_engine(source, driver=driver, dialect=dialect)
    assert engine.url.password is None
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text(SEED_QUERY)).scalar() == 42
    engine.dispose()


def test_sqlalchemy_engine_survives_several_expiries(redshift_local: LocalStack) -> None:
    redshift_local.set_knobs(time_scale=LIFETIME_SCALE)
    source = redshift_local.source(db_user="alice")
    lifetime = source.get().lifetime_seconds
    engine = create_engine(
        source, driver="psycopg2", engine_options={"pool_size": 8, "pool_recycle": lifetime / 5}
    )
    assert engine.url.password is None
    assert engine.url.host is None

    def run_query() -> None:
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text(SEED_QUERY)).scalar() == 42

    queries, failures, elapsed = hammer(run_query, lifetime)
    engine.dispose()
    calls = redshift_local.calls()[CREDENTIAL_CALL]
    assert failures == 0
    assert queries >= 2000
    assert elapsed >= 3 * lifetime
    assert 3 <= calls <= calls_bound(elapsed, lifetime)


def test_psycopg_pool_survives_several_expiries(redshift_local: LocalStack) -> None:
    redshift_local.set_knobs(time_scale=LIFETIME_SCALE)
    source = redshift_local.source(db_user="alice")
    lifetime = source.get().lifetime_seconds
    pool = connection_pool(
        source, min_size=2, max_size=8, pool_options={"max_lifetime": lifetime / 2}
    )

    def run_query() -> None:
        with pool.connection() as connection:
            assert connection.execute(SEED_QUERY).fetchone() == (42,)

    with pool:
        queries, failures, elapsed = hammer(run_query, lifetime)
    calls = redshift_local.calls()[CREDENTIAL_CALL]
    assert failures == 0
    assert queries >= 2000
    assert 3 <= calls <= calls_bound(elapsed, lifetime)


def test_50_tasks_on_one_cold_key_make_one_credential_call(redshift_local: LocalStack) -> None:
    redshift_local.set_knobs(latency_seconds=0.2)
    source = redshift_local.source(
        db_user="alice", host="localhost", port=redshift_local.redshift_port
    )

    async def main() -> set[int]:
        credentials = await asyncio.gather(*(source.aget() for _ in range(50)))
        return {id(credential) for credential in credentials}

    assert len(asyncio.run(main())) == 1
    assert redshift_local.calls() == {CREDENTIAL_CALL: 1}


def test_async_pool_crosses_an_expiry_without_failures(redshift_local: LocalStack) -> None:
    redshift_local.set_knobs(time_scale=LIFETIME_SCALE)
    source = redshift_local.source(db_user="alice")
    lifetime = source.get().lifetime_seconds

    async def main() -> tuple[int, int]:
        pool = async_connection_pool(
            source, min_size=1, max_size=4, pool_options={"max_lifetime": lifetime / 2}
        )
        failures = queries = 0
        async with pool:
            deadline = time.monotonic() + 2.5 * lifetime
            while time.monotonic() < deadline:
                try:
                    async with pool.connection() as connection:
                        cursor = await connection.execute(SEED_QUERY)
                        assert await cursor.fetchone() == (42,)
                    queries += 1
                except Exception:
                    failures += 1
                await asyncio.sleep(0.005)
        return queries, failures

    queries, failures = asyncio.run(main())
    assert failures == 0
    assert queries > 100
    assert redshift_local.calls()[CREDENTIAL_CALL] >= 3


def test_connect_async_runs_the_seed_query(redshift_local: LocalStack) -> None:
    async def main() -> Any:
        connection = await connect_async(redshift_local.source(db_user="alice"))
        async with connection:
            cursor = await connection.execute(SEED_QUERY)
            return await cursor.fetchone()

    assert asyncio.run(main()) == (42,)


def test_redshift_connector_is_refused_a_ca_its_trust_store_lacks(
    redshift_local: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It cannot be given a CA; rather than swap SSL_CERT_FILE for the whole process (every
    other thread's TLS, boto3's included, would see it), the connection is refused."""
    from redshift_ephemeral import ConfigurationError

    monkeypatch.delenv("SSL_CERT_FILE")
    source = redshift_local.source(db_user="alice")
    with raises(ConfigurationError, match="redshift_connector cannot be given a CA"):
        connect(source, driver="redshift_connector")
    assert "SSL_CERT_FILE" not in os.environ
