"""Refresh-ahead and single-flight, driven by an injected clock."""

from __future__ import annotations

import asyncio
import copy
import logging
import pickle
import threading
import types
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from redshift_ephemeral import cache as cache_module
from redshift_ephemeral.cache import CacheKey, CredentialCache, RefreshPolicy, Schedule
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.errors import (
    AccessDeniedError,
    AwsError,
    ConfigurationError,
    CredentialExpiredOnArrivalError,
    RedshiftEphemeralError,
)
from tests.conftest import FakeClock, make_credential


class Issuer:
    """Counts calls; can be told to fail or to wait."""

    def __init__(self, lifetime: float = 900.0, next_refresh_after: float | None = None):
        self.calls = 0
        self.lifetime = lifetime
        self.next_refresh_after = next_refresh_after
        self.failure: Exception | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Credential:
        with self._lock:
            self.calls += 1
            number = self.calls
        if self.failure is not None:
            raise self.failure
        return make_credential(
            self.lifetime, password=f"password-{number}", next_refresh_after=self.next_refresh_after
        )


@pytest.fixture
def cache(clock: FakeClock) -> CredentialCache:
    return CredentialCache(clock=clock)


def test_fresh_credential_is_served_without_a_call(
    cache: CredentialCache, clock: FakeClock
) -> None:
    issuer = Issuer()
    first = cache.get("k", issuer)
    clock.advance(900 * 0.75 - 1)  # just before the advisory window
    assert cache.get("k", issuer) is first
    assert issuer.calls == 1


@pytest.mark.parametrize("lifetime", [900.0, 3.0])
def test_windows_are_relative_to_the_lifetime(
    cache: CredentialCache, clock: FakeClock, lifetime: float
) -> None:
    issuer = Issuer(lifetime)
    first = cache.get("k", issuer)
    clock.advance(lifetime * 0.75 - lifetime / 1000)
    assert cache.get("k", issuer) is first
    clock.advance(lifetime / 500)  # now in the advisory window (last 25 %)
    second = cache.get("k", issuer)
    assert second is not first
    assert issuer.calls == 2


def test_failing_refresh_in_advisory_window_keeps_serving(
    cache: CredentialCache, clock: FakeClock
) -> None:
    issuer = Issuer()
    first = cache.get("k", issuer)
    clock.advance(900 * 0.80)
    issuer.failure = ConnectionError("AWS is down")
    assert cache.get("k", issuer) is first
    calls_after_failure = issuer.calls
    # Straight after a failure, callers do not hammer AWS: no call until the retry delay.
    for _ in range(100):
        assert cache.get("k", issuer) is first
    assert issuer.calls == calls_after_failure
    clock.advance(900 * 0.02 + 0.001)
    assert cache.get("k", issuer) is first
    assert issuer.calls == calls_after_failure + 1


def test_failing_refresh_in_mandatory_window_raises(
    cache: CredentialCache, clock: FakeClock
) -> None:
    issuer = Issuer()
    cache.get("k", issuer)
    clock.advance(900 * 0.95)  # last 10 %: still valid, but must refresh
    issuer.failure = ConnectionError("AWS is down")
    with pytest.raises(ConnectionError, match="AWS is down"):
        cache.get("k", issuer)


def test_mandatory_window_blocks_and_refreshes(cache: CredentialCache, clock: FakeClock) -> None:
    issuer = Issuer()
    first = cache.get("k", issuer)
    clock.advance(900 * 0.95)
    second = cache.get("k", issuer)
    assert second is not first
    assert second.password.reveal() == "password-2"


def test_expired_credential_is_never_served(cache: CredentialCache, clock: FakeClock) -> None:
    issuer = Issuer()
    cache.get("k", issuer)
    clock.advance(901)
    issuer.failure = ConnectionError("AWS is down")
    with pytest.raises(ConnectionError):
        cache.get("k", issuer)
    assert cache.peek("k") is None


def test_next_refresh_time_brings_the_refresh_forward(
    cache: CredentialCache, clock: FakeClock
) -> None:
    issuer = Issuer(lifetime=900, next_refresh_after=300)
    first = cache.get("k", issuer)
    clock.advance(299)
    assert cache.get("k", issuer) is first
    clock.advance(2)
    assert cache.get("k", issuer) is not first
    assert issuer.calls == 2


def test_schedule_ignores_a_next_refresh_time_later_than_our_window() -> None:
    credential = make_credential(900, next_refresh_after=890)
    schedule = Schedule.for_credential(credential, 0.0, RefreshPolicy())
    assert schedule.advisory_at == pytest.approx(675)
    assert schedule.mandatory_at == pytest.approx(810)
    assert schedule.expires_at == pytest.approx(900)


def test_deadlines_follow_the_cache_clock_not_the_wall_clock(
    cache: CredentialCache, clock: FakeClock
) -> None:
    # Timestamps years in the past (a wall clock that jumped, or another machine's): the
    # lifetime still runs on the cache's clock, from when the request was sent - the 100 s
    # AWS took to answer count against it.
    calls = 0

    def slow_fetch_from_the_past() -> Credential:
        nonlocal calls
        calls += 1
        clock.advance(100)
        return make_credential(
            900, password=f"password-{calls}", issued_at=datetime(2001, 1, 1, tzinfo=UTC)
        )

    first = cache.get("k", slow_fetch_from_the_past)
    clock.advance(900 * 0.75 - 100 - 1)  # 1 s before the advisory point: served from memory
    assert cache.get("k", slow_fetch_from_the_past) is first
    assert cache.peek("k") is first
    assert calls == 1
    clock.advance(2)  # 1 s into the advisory window, counted from the request
    second = cache.get("k", slow_fetch_from_the_past)
    assert second.password.reveal() == "password-2"
    assert calls == 2
    clock.advance(900 + 1)  # the second one has expired on the cache's clock
    assert cache.peek("k") is None


def test_invalidate_forces_a_new_fetch(cache: CredentialCache) -> None:
    issuer = Issuer()
    first = cache.get("k", issuer)
    cache.invalidate("k", first)
    assert cache.get("k", issuer) is not first
    assert issuer.calls == 2


def test_invalidating_an_old_credential_keeps_the_newer_one(cache: CredentialCache) -> None:
    issuer = Issuer()
    first = cache.get("k", issuer)
    cache.invalidate("k", first)
    second = cache.get("k", issuer)
    cache.invalidate("k", first)  # a late refusal of the old password
    assert cache.get("k", issuer) is second


def test_64_threads_on_one_cold_key_make_one_call(cache: CredentialCache) -> None:
    threads_count = 64
    arrived = threading.Barrier(threads_count, timeout=10)
    all_asking = threading.Event()
    asking = 0
    asking_lock = threading.Lock()
    calls = 0

    def fetch() -> Credential:
        nonlocal calls
        calls += 1
        all_asking.wait(timeout=10)  # stay in flight until every thread has asked
        return make_credential()

    results: list[Credential] = []

    def worker() -> None:
        nonlocal asking
        arrived.wait()
        with asking_lock:
            asking += 1
            if asking == threads_count:
                all_asking.set()
        results.append(cache.get("cold", fetch))

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert calls == 1
    assert len(results) == threads_count
    assert len({id(result) for result in results}) == 1


def test_64_distinct_keys_are_fetched_concurrently(cache: CredentialCache) -> None:
    # Each fetch waits for all 64 to be in flight at once; a global lock would serialise them
    # and break the barrier.
    threads_count = 64
    in_flight = threading.Barrier(threads_count, timeout=10)
    errors: list[BaseException] = []

    def fetch() -> Credential:
        in_flight.wait()
        return make_credential()

    def worker(key: int) -> None:
        try:
            cache.get(key, fetch)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(key,)) for key in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []


def test_waiters_share_the_error_of_the_refresh_they_queued_behind(
    blocked: BlockedCount, cache: CredentialCache
) -> None:
    started = threading.Event()
    release = threading.Event()
    calls = 0

    def failing_fetch() -> Credential:
        nonlocal calls
        calls += 1
        started.set()
        release.wait(timeout=10)
        raise ConnectionError("AWS is down")

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            cache.get("k", failing_fetch)
        except BaseException as error:
            errors.append(error)

    leader = threading.Thread(target=worker)
    leader.start()
    assert started.wait(timeout=10)
    followers = [threading.Thread(target=worker) for _ in range(8)]
    for thread in followers:
        thread.start()
    blocked.wait_for(len(followers))
    release.set()
    for thread in [leader, *followers]:
        thread.join(timeout=10)
    assert len(errors) == 9
    assert calls == 1


class InstrumentedLock:
    """A ``threading.Lock`` that counts the threads blocked acquiring it (in ``blocked``)."""

    def __init__(self, blocked: BlockedCount) -> None:
        self._lock = threading.Lock()
        self._blocked = blocked

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        self._blocked.change(+1)
        try:
            return self._lock.acquire(timeout=timeout)
        finally:
            self._blocked.change(-1)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


class BlockedCount:
    """How many threads wait on the cache's locks, and a way to wait until enough do."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def change(self, by: int) -> None:
        with self._changed:
            self._count += by
            self._changed.notify_all()

    def wait_for(self, threads: int) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._count >= threads, timeout=10):
                raise AssertionError(
                    f"{self._count} threads blocked on a key's lock, not {threads}"
                )


@pytest.fixture
def blocked(monkeypatch: pytest.MonkeyPatch) -> BlockedCount:
    """The cache under test builds its locks as ``InstrumentedLock``s (in this module only)."""
    count = BlockedCount()
    locks = types.SimpleNamespace(Lock=lambda: InstrumentedLock(count))
    monkeypatch.setattr(cache_module, "threading", locks)
    return count


def test_asyncio_tasks_share_one_fetch_and_do_not_block_the_loop(cache: CredentialCache) -> None:
    # A heartbeat task counts the loop's iterations; the fetch is held until it has seen the
    # loop go round three more times, which it can only do if the fetch runs off the loop.
    calls = 0
    ticks = 0
    ticked = threading.Condition()

    def fetch() -> Credential:
        nonlocal calls
        calls += 1
        with ticked:
            seen = ticks
            if not ticked.wait_for(lambda: ticks >= seen + 3, timeout=5):
                raise AssertionError("the event loop stood still while the fetch was held")
        return make_credential()

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            with ticked:
                ticks += 1
                ticked.notify_all()
            await asyncio.sleep(0)

    async def main() -> list[Credential]:
        beat = asyncio.create_task(heartbeat())
        try:
            return await asyncio.gather(*(cache.aget("k", fetch) for _ in range(50)))
        finally:
            beat.cancel()

    results = asyncio.run(main())
    assert calls == 1
    assert len({id(result) for result in results}) == 1


def test_policy_rejects_inconsistent_windows() -> None:
    with pytest.raises(ValueError, match="mandatory_fraction"):
        RefreshPolicy(advisory_fraction=0.05, mandatory_fraction=0.10)


def test_cache_keys_compare_by_value_and_hash_once() -> None:
    first = CacheKey("identity", ("request", 1), label="one")
    second = CacheKey("identity", ("request", 1), label="another")  # the label is no part of it
    assert first == second
    assert hash(first) == hash(second)
    assert first != CacheKey("identity", ("request", 2), label="one")
    assert {first: 1}[second] == 1


# -- an expired password is never served (issue 10, point 5) --------------------------------


@pytest.mark.parametrize("outage_seconds", [900 * 0.12, 900 * 0.25])
def test_advisory_refresh_that_fails_past_the_mandatory_point_raises(
    cache: CredentialCache, clock: FakeClock, outage_seconds: float
) -> None:
    # botocore's retries during an outage outlast the advisory window: by the time the
    # refresh gives up, the old password is in its mandatory window (0.92) or expired (1.05).
    cache.get("k", Issuer())
    clock.advance(900 * 0.80)

    def fetch_outlasting_the_window() -> Credential:
        clock.advance(outage_seconds)
        raise ConnectionError("AWS is down")

    with pytest.raises(ConnectionError, match="AWS is down"):
        cache.get("k", fetch_outlasting_the_window)


# -- hardening (issue 10, point 6) ----------------------------------------------------------


def run_leader_and_waiters(
    blocked: BlockedCount,
    cache: CredentialCache,
    fetch: Callable[[], Credential],
    started: threading.Event,
    release: threading.Event,
    waiters: int = 8,
) -> tuple[list[object], list[object]]:
    """One thread fetches (``fetch`` sets ``started``, then waits for ``release``) while
    ``waiters`` threads queue behind it on the key's lock. Returns (leader's, waiters') outcomes:
    a credential or the exception raised."""
    leader_outcome: list[object] = []
    waiter_outcomes: list[object] = []
    outcomes_lock = threading.Lock()

    def worker(into: list[object]) -> None:
        try:
            outcome: object = cache.get("k", fetch)
        except BaseException as error:  # KeyboardInterrupt included: we want to see it
            outcome = error
        with outcomes_lock:
            into.append(outcome)

    leader = threading.Thread(target=worker, args=(leader_outcome,))
    leader.start()
    assert started.wait(timeout=10)
    followers = [threading.Thread(target=worker, args=(waiter_outcomes,)) for _ in range(waiters)]
    for thread in followers:
        thread.start()
    blocked.wait_for(waiters)
    release.set()
    for thread in [leader, *followers]:
        thread.join(timeout=10)
    return leader_outcome, waiter_outcomes


def _failing(error: Exception) -> Callable[[], Credential]:
    def fetch() -> Credential:
        raise error

    return fetch


def test_an_interrupt_in_the_leader_is_not_re_raised_in_waiters(
    blocked: BlockedCount, cache: CredentialCache
) -> None:
    # An earlier failure must not be served to waiters behind an interrupted attempt either.
    with pytest.raises(ConnectionError):
        cache.get("k", _failing(ConnectionError("earlier")))
    started, release = threading.Event(), threading.Event()
    calls = 0

    def fetch() -> Credential:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            release.wait(timeout=10)
            raise KeyboardInterrupt
        return make_credential()

    leader, waiters = run_leader_and_waiters(blocked, cache, fetch, started, release)
    assert isinstance(leader[0], KeyboardInterrupt)
    assert all(isinstance(outcome, Credential) for outcome in waiters), waiters
    assert calls == 2  # one waiter fetched after the interrupt; the rest took its result


def test_each_waiter_gets_its_own_copy_of_the_leaders_error(
    blocked: BlockedCount, cache: CredentialCache
) -> None:
    started, release = threading.Event(), threading.Event()
    denied = AccessDeniedError(
        "denied", principal="arn:aws:iam::1:user/a", action="redshift:X", resource=None, code="C"
    )

    def fetch() -> Credential:
        started.set()
        release.wait(timeout=10)
        raise denied

    leader, waiters = run_leader_and_waiters(blocked, cache, fetch, started, release)
    assert leader == [denied]
    assert len(waiters) == 8
    assert len({id(error) for error in waiters}) == 8
    for error in waiters:
        assert error is not denied
        # The type survives, so the CLI still maps it to AWS's exit code.
        assert type(error) is AccessDeniedError
        assert (error.principal, error.action, error.code) == (denied.principal, "redshift:X", "C")
        assert str(error) == "denied"
        assert error.__cause__ is denied


def test_a_waiter_gets_a_chained_error_even_when_the_leaders_cannot_be_copied(
    blocked: BlockedCount, cache: CredentialCache
) -> None:
    class Uncopyable(Exception):
        def __init__(self, *, detail: str):
            super().__init__(f"failed: {detail}")

    started, release = threading.Event(), threading.Event()
    foreign = Uncopyable(detail="boom")

    def fetch() -> Credential:
        started.set()
        release.wait(timeout=10)
        raise foreign

    _, waiters = run_leader_and_waiters(blocked, cache, fetch, started, release, waiters=2)
    for error in waiters:
        assert isinstance(error, RedshiftEphemeralError)
        assert "Uncopyable: failed: boom" in str(error)
        assert error.__cause__ is foreign


@pytest.mark.parametrize(
    "error",
    [
        AccessDeniedError("m", principal="p", action="a", resource="r", code="c", operation="o"),
        AwsError("m", code="c"),
        ConfigurationError("m"),
        CredentialExpiredOnArrivalError("m"),
    ],
)
def test_library_errors_copy_and_pickle_with_type_and_attributes(error: Exception) -> None:
    for copied in (copy.copy(error), pickle.loads(pickle.dumps(error))):  # noqa: S301 - ours
        assert type(copied) is type(error)
        assert copied.args == error.args
        assert vars(copied) == vars(error)


@pytest.mark.parametrize("lifetime", [0.0, -5.0])
def test_a_credential_expired_on_arrival_is_an_error_not_an_entry(
    cache: CredentialCache, lifetime: float
) -> None:
    issuer = Issuer(lifetime)
    with pytest.raises(CredentialExpiredOnArrivalError, match="clock"):
        cache.get("k", issuer)
    assert cache.peek("k") is None
    assert isinstance(CredentialExpiredOnArrivalError("m"), AwsError)  # CLI exit code 3


def test_expired_keys_are_dropped_as_new_keys_arrive(
    cache: CredentialCache, clock: FakeClock
) -> None:
    issuer = Issuer(lifetime=10)
    for key in range(10_000):
        cache.get(key, issuer)
        clock.advance(11)  # each key has expired by the time the next arrives
    assert len(cache._slots) <= 2 * 1024


def test_live_keys_survive_the_drop_of_expired_ones(
    cache: CredentialCache, clock: FakeClock
) -> None:
    issuer = Issuer(lifetime=900)
    for key in range(5_000):
        cache.get(key, issuer)
    calls = issuer.calls
    for key in range(5_000):
        cache.get(key, issuer)
    assert issuer.calls == calls


# -- log lines name a label, not the key (issue 10, point 9) --------------------------------


def test_log_lines_name_the_label_not_the_key(
    cache: CredentialCache, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    key = CacheKey(("a" * 300,), ("b" * 300,), label="alice@demo-cluster (us-east-1)")
    issuer = Issuer()
    with caplog.at_level(logging.DEBUG, logger="redshift_ephemeral.cache"):
        cache.get(key, issuer)
        clock.advance(900 * 0.80)
        issuer.failure = ConnectionError("AWS is down")
        cache.get(key, issuer)
        cache.invalidate(key)
    messages = [record.getMessage() for record in caplog.records]
    assert any("advisory refresh" in message for message in messages)
    for message in messages:
        assert "alice@demo-cluster (us-east-1)" in message
        assert "aaaa" not in message
        assert "CacheKey" not in message
        assert len(message) < 200
