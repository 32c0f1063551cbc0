"""Faults of docs/design.md's "Bad input and faults": AWS outages in each refresh window,
a throttling storm, a database restart under pools, a wall clock that jumps."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy

from redshift_ephemeral import AwsError, CredentialCache, CredentialSource, ThrottledError
from redshift_ephemeral.aws.clients import AwsClients
from redshift_ephemeral.aws.issuers import AwsIssuer
from redshift_ephemeral.db.pools import connection_pool, create_engine
from redshift_ephemeral.local import LocalStack
from tests.conftest import FakeClock
from tests.e2e.conftest import count_rows
from tests.leak_scan import raises

CALL = "redshift:GetClusterCredentials"


def source_on_clock(stack: LocalStack, clock: FakeClock, **options: Any) -> CredentialSource:
    """A source whose cache runs on ``clock``; AWS and the server stay real."""
    source: CredentialSource = stack.source(
        db_user="alice", cache=CredentialCache(clock=clock), **options
    )
    return source


def test_outage_in_the_advisory_window_keeps_serving_the_valid_password(
    redshift_local: LocalStack,
) -> None:
    clock = FakeClock()
    source = source_on_clock(redshift_local, clock, max_attempts=2)
    first = source.get()
    clock.advance(first.lifetime_seconds * 0.80)  # advisory window
    redshift_local.set_knobs(outage=True)
    assert source.get() is first
    assert redshift_local.calls()[CALL] == 1 + 2  # it tried (a call and its retry)...
    redshift_local.set_knobs(outage=False)
    assert count_rows("psycopg", source.get()) == 42  # ...and the password still works


def test_outage_past_the_mandatory_window_is_a_clear_error(redshift_local: LocalStack) -> None:
    clock = FakeClock()
    source = source_on_clock(redshift_local, clock, max_attempts=2)
    first = source.get()
    redshift_local.set_knobs(outage=True)
    clock.advance(first.lifetime_seconds * 0.95)  # mandatory window
    with raises(AwsError, match="could not serve redshift:GetClusterCredentials"):
        source.get()
    clock.advance(first.lifetime_seconds)  # expired: never served
    with raises(AwsError, match="Try again in a few minutes"):
        source.get()


def test_throttling_storm_stays_bounded_in_calls(redshift_local: LocalStack) -> None:
    redshift_local.set_knobs(throttle_rate=1.0)
    source = redshift_local.source(
        db_user="alice", host="localhost", port=redshift_local.redshift_port, max_attempts=3
    )
    threads_count = 32
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            source.get()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(errors) == threads_count
    assert all(isinstance(error, ThrottledError) for error in errors)
    # One caller's three attempts, shared by the threads queued behind it - not 32 times 3.
    assert redshift_local.calls()[CALL] <= 2 * 3


def test_sqlalchemy_engine_recovers_from_a_server_restart(redshift_local: LocalStack) -> None:
    engine = create_engine(
        redshift_local.source(db_user="alice"),
        driver="psycopg2",
        engine_options={"pool_size": 4, "pool_pre_ping": True},
    )

    def query() -> Any:
        with engine.connect() as connection:
            return connection.execute(sqlalchemy.text("SELECT COUNT(*) FROM my_table")).scalar()

    assert [query() for _ in range(8)] == [42] * 8
    redshift_local.restart_postgres()
    assert [query() for _ in range(20)] == [42] * 20
    engine.dispose()


def test_psycopg_pool_recovers_from_a_server_restart(redshift_local: LocalStack) -> None:
    import psycopg_pool

    pool = connection_pool(
        redshift_local.source(db_user="alice"),
        min_size=2,
        max_size=4,
        pool_options={"check": psycopg_pool.ConnectionPool.check_connection},
    )

    def query() -> Any:
        with pool.connection() as connection:
            return connection.execute("SELECT COUNT(*) FROM my_table").fetchone()

    with pool:
        assert [query() for _ in range(8)] == [(42,)] * 8
        redshift_local.restart_postgres()
        assert [query() for _ in range(20)] == [(42,)] * 20


def jumped_source(stack: LocalStack, jump: timedelta, clock: FakeClock) -> CredentialSource:
    """A source whose wall clock is ``jump`` away from AWS's, cache on ``clock``."""
    base = stack.source(db_user="alice")
    issuer = AwsIssuer(AwsClients(base.identity), wall_clock=lambda: datetime.now(UTC) + jump)
    return CredentialSource(
        base.request,
        base.identity,
        base.tls,
        cache=CredentialCache(clock=clock),
        issuer=issuer.issue,
    )


def test_wall_clock_jumped_forward_does_not_refresh_in_a_loop(redshift_local: LocalStack) -> None:
    clock = FakeClock()
    source = jumped_source(redshift_local, timedelta(hours=2), clock)
    first = source.get()
    assert 890 <= first.lifetime_seconds <= 900
    for _ in range(50):
        clock.advance(1)
        assert source.get() is first
    assert redshift_local.calls()[CALL] == 1


def test_wall_clock_jumped_back_never_serves_an_expired_password(
    redshift_local: LocalStack,
) -> None:
    redshift_local.set_knobs(time_scale=1 / 300)  # 900 s → 3 s
    clock = FakeClock()
    source = jumped_source(redshift_local, timedelta(hours=-2), clock)
    first = source.get()
    # Measured on AWS's clock: 3 s, not 2 h + 3 s.
    assert first.lifetime_seconds <= 3
    clock.advance(3)  # the password has expired on the server's clock too
    second = source.get()
    assert second is not first
    assert count_rows("psycopg", second) == 42
