"""Refresh-ahead, single-flight credential cache.

The algorithm is botocore's ``RefreshableCredentials``, with windows relative to the issued
lifetime so it behaves the same for a 900 s password and for a 3 s one in a time-scaled test:

* fresh       (before the advisory point)  → served from memory, no lock taken;
* advisory    (last 25 % of the lifetime, or from AWS's ``NextRefreshTime``) → one caller
  refreshes under a non-blocking try-lock; everyone else, and that caller too if AWS fails,
  keeps the old credential - unless the failed call took so long that it reached its
  mandatory point, then the error is raised;
* mandatory   (last 10 %) or expired or cold → callers block on the key's lock; one refreshes,
  the others take its result, or each a copy of its error chained to it.

A credential issued already expired is an error, never an entry. Keys whose credential has
expired are dropped, a sweep at a time, as new keys arrive.

Deadlines are kept on a monotonic clock measured from the moment the request was sent, so a
jump of the wall clock neither serves an expired password nor causes a refresh loop.

With a ``store`` (``file_store.FileStore``), processes share what they fetch: a key the
process does not hold (or holds past its advisory point) is first looked up in the store, and
a refresh runs under the store's per-key lock, which is taken before the fetch and re-checked
under it - N processes cold on one key make one call. Store entries carry wall-clock times;
a reader rebuilds its schedule on its own monotonic clock, taking a skew margin off, and
never adopts an entry past its mandatory point.

This module knows clocks, a fetch function and a store interface. It knows nothing about AWS,
files or drivers.
"""

from __future__ import annotations

import copy
import reprlib
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ._logs import Logger
from .credentials import Credential
from .errors import CredentialExpiredOnArrivalError, RedshiftEphemeralError

if TYPE_CHECKING:
    import asyncio
    from contextlib import AbstractContextManager

logger = Logger(__name__)

Clock = Callable[[], float]
Fetch = Callable[[], Credential]


@dataclass(frozen=True)
class RefreshPolicy:
    """Fractions of the issued lifetime."""

    advisory_fraction: float = 0.25
    mandatory_fraction: float = 0.10
    # After a failed advisory refresh, wait this share of the lifetime before trying again,
    # so an AWS outage does not turn every connect into an AWS call.
    retry_fraction: float = 0.02

    def __post_init__(self) -> None:
        if not 0 < self.mandatory_fraction <= self.advisory_fraction < 1:
            raise ValueError("need 0 < mandatory_fraction <= advisory_fraction < 1")


@dataclass(frozen=True)
class Schedule:
    """When, on the cache's clock, a credential enters each window."""

    advisory_at: float
    mandatory_at: float
    expires_at: float

    @classmethod
    def for_credential(
        cls, credential: Credential, requested_at: float, policy: RefreshPolicy
    ) -> Schedule:
        lifetime = max(credential.lifetime_seconds, 0.0)
        expires_at = requested_at + lifetime
        mandatory_at = expires_at - lifetime * policy.mandatory_fraction
        advisory_at = expires_at - lifetime * policy.advisory_fraction
        if credential.next_refresh_at is not None:
            # AWS says when to refresh: honour it if it comes earlier than our own window.
            offset = (credential.next_refresh_at - credential.issued_at).total_seconds()
            advisory_at = min(advisory_at, requested_at + max(offset, 0.0))
        return cls(min(advisory_at, mandatory_at), mandatory_at, expires_at)


class CacheKey:
    """A cache key whose hash is computed once: the hot path looks it up on every connect.

    ``label`` names the key in log lines (``alice@demo-cluster (us-east-1)``); it takes no
    part in equality, and the parts themselves (hundreds of characters) are never logged.
    ``shared`` is the key as text, the same in every process (no object identities), for a
    shared store; a key without it stays in this process's memory."""

    __slots__ = ("_hash", "label", "parts", "shared")

    def __init__(self, *parts: Hashable, label: str, shared: str | None = None):
        self.parts = parts
        self.label = label
        self.shared = shared
        self._hash = hash(parts)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, CacheKey) and self._hash == other._hash and self.parts == other.parts
        )

    def __repr__(self) -> str:
        return f"CacheKey{self.parts!r}"


def _label(key: Hashable) -> str:
    """How log lines name a key: a ``CacheKey``'s label; any other key, a bounded repr."""
    return key.label if isinstance(key, CacheKey) else reprlib.repr(key)


@dataclass(frozen=True)
class Moment:
    """When something happened, on clocks another process can compare with its own: the wall
    clock, and - where the system has them - the boot's id and its boot-time clock
    (``CLOCK_BOOTTIME``), which no wall-clock step moves."""

    wall: float
    boot_id: str | None = None
    boot_time: float | None = None


@dataclass(frozen=True)
class StoredCredential:
    """A store's entry: the credential, when its request was sent, and the key's label for
    listings."""

    credential: Credential
    requested: Moment
    label: str = ""


@dataclass(frozen=True)
class StoredFailure:
    """A store's record that a refresh failed: another process waiting for it raises this
    rather than repeat the call (an AWS outage then costs one timeout, not one per process)."""

    failed: Moment
    error_type: str
    message: str
    attributes: dict[str, str | int | float | bool | None] = field(default_factory=dict)


class CredentialStore(Protocol):
    """Where credentials are shared beyond one process (``file_store.FileStore``). Its
    methods never raise for an unusable store: it then holds nothing."""

    def now(self) -> Moment: ...

    def age(self, moment: Moment) -> float | None:
        """Seconds since ``moment`` (negative if it looks future); None if unknowable."""

    def age_uncertainty(self, moment: Moment) -> float:
        """How many seconds ``age(moment)`` may be off by (0 on one shared clock)."""

    def load(self, key: str) -> StoredCredential | None: ...

    def save(self, key: str, label: str, credential: Credential, requested: Moment) -> None: ...

    def discard(self, key: str, credential: Credential | None = None) -> None: ...

    def locked(self, key: str, *, wait: bool) -> AbstractContextManager[bool]: ...

    def record_failure(self, key: str, error: Exception) -> None: ...

    def failure_since(self, key: str, moment: Moment) -> StoredFailure | None: ...

    def load_endpoint(self, key: str) -> tuple[str, int, str] | None: ...

    def save_endpoint(self, key: str, host: str, port: int, database: str) -> None: ...


_SKEW_MARGIN_FRACTION = 0.05
"""The most taken off an entry's remaining life for the store's clock uncertainty (none when
both processes read one boot clock), as a share of its lifetime."""


@dataclass(frozen=True, slots=True)
class _Entry:
    """A cached credential and its schedule, published together: a reader without the lock
    sees both from the same fetch, never an old credential with a new schedule."""

    credential: Credential
    schedule: Schedule


class _Slot:
    """One key's state. Readers take ``entry`` without a lock; it is replaced whole, under
    ``lock``."""

    __slots__ = ("attempts", "entry", "last_error", "lock", "retry_after")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entry: _Entry | None = None
        self.retry_after = 0.0
        self.attempts = 0
        self.last_error: Exception | None = None


class CredentialCache:
    """Credentials by key (a hashable value holding no secret)."""

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        policy: RefreshPolicy | None = None,
        store: CredentialStore | None = None,
    ):
        self._clock = clock
        self._policy = policy or RefreshPolicy()
        self.store = store
        self._slots: dict[Hashable, _Slot] = {}
        self._slots_lock = threading.Lock()
        self._sweep_at = _SWEEP_MIN_KEYS
        self._async_inflight: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Hashable, asyncio.Future[Credential]]
        ] = weakref.WeakKeyDictionary()

    def get(self, key: Hashable, fetch: Fetch) -> Credential:
        """The credential for ``key``, calling ``fetch`` only when a refresh is due."""
        return self._fresh(key) or self._get_slow(key, fetch)

    def _fresh(self, key: Hashable) -> Credential | None:
        """The cached credential if it is before its advisory window: the lock-free path."""
        slot = self._slots.get(key)
        if (
            slot is not None
            and (entry := slot.entry) is not None
            and self._clock() < entry.schedule.advisory_at
        ):
            return entry.credential
        return None

    def peek(self, key: Hashable) -> Credential | None:
        """The cached credential if it has not expired, without fetching (the store's, when
        this process holds none)."""
        slot = self._slots.get(key)
        entry = slot.entry if slot is not None else None
        if entry is None and (shared := self._shared(key)) is not None:
            entry = self._entry_from_store(shared)
        if entry is None:
            return None
        return entry.credential if self._clock() < entry.schedule.expires_at else None

    def invalidate(self, key: Hashable, credential: Credential | None = None) -> None:
        """Forget ``key`` (e.g. the server refused its password). With ``credential``, forget
        only if it is still the cached one, so a refusal of an old password does not throw
        away a newer one another thread just fetched."""
        slot = self._slots.get(key)
        if slot is not None:
            with slot.lock:
                entry = slot.entry
                if entry is not None and (credential is None or entry.credential is credential):
                    slot.entry = None
                    logger.info("credential for %s invalidated", _label(key))
        if self.store is not None and (shared := self._shared(key)) is not None:
            self.store.discard(shared, credential)

    def clear(self) -> None:
        """Forget every credential this process holds (a store keeps its entries)."""
        with self._slots_lock:
            self._slots.clear()

    async def aget(self, key: Hashable, fetch: Fetch) -> Credential:
        """``get`` for asyncio: the fetch runs in a worker thread, never on the loop, and
        concurrent tasks for one key share a single fetch."""
        credential = self._fresh(key)
        if credential is not None:
            return credential
        import asyncio  # here, not at import time: most users never need it

        loop = asyncio.get_running_loop()
        inflight = self._async_inflight.setdefault(loop, {})
        future = inflight.get(key)
        if future is None:
            future = loop.create_task(asyncio.to_thread(self._get_slow, key, fetch))
            inflight[key] = future
            future.add_done_callback(lambda _: inflight.pop(key, None))
        return await asyncio.shield(future)

    # -- internals ---------------------------------------------------------------------------

    def _slot(self, key: Hashable) -> _Slot:
        slot = self._slots.get(key)
        if slot is None:
            with self._slots_lock:
                slot = self._slots.get(key)
                if slot is None:
                    if len(self._slots) >= self._sweep_at:
                        self._drop_expired()
                    slot = self._slots[key] = _Slot()
        return slot

    def _drop_expired(self) -> None:
        """Under ``_slots_lock``: forget keys whose credential expired (or never came) and that
        no thread is refreshing, so a process cycling through keys does not grow forever.
        Runs once the key count has doubled since the last sweep: amortised O(1) per new key,
        and readers on the fast path never take a lock. A thread still holding a dropped slot
        finishes on it; at worst its key is fetched once more."""
        now = self._clock()
        for key, slot in list(self._slots.items()):
            entry = slot.entry
            if (entry is None or now >= entry.schedule.expires_at) and not slot.lock.locked():
                del self._slots[key]
        self._sweep_at = max(_SWEEP_MIN_KEYS, 2 * len(self._slots))

    def _get_slow(self, key: Hashable, fetch: Fetch) -> Credential:
        slot = self._slot(key)
        entry = slot.entry
        now = self._clock()
        if entry is not None and now < entry.schedule.advisory_at:
            return entry.credential
        shared = self._shared(key)
        if shared is not None:
            entry = self._adopt(slot, shared) or entry
            now = self._clock()
            if entry is not None and now < entry.schedule.advisory_at:
                return entry.credential
        if entry is not None and now < entry.schedule.mandatory_at:
            return self._refresh_advisory(key, slot, entry, fetch, now)
        return self._refresh_mandatory(key, slot, fetch)

    # -- the shared store --------------------------------------------------------------------

    def _shared(self, key: Hashable) -> str | None:
        """The key's text for the store; None when there is no store or the key has none."""
        if self.store is None or not isinstance(key, CacheKey):
            return None
        return key.shared

    def _entry_from_store(self, shared: str) -> _Entry | None:
        """The store's entry on this process's clock; None if absent or past its mandatory
        point. The wall-clock age is taken on the reader's clock plus a skew margin, and an
        entry requested "in the future" (the clock went back) cannot be aged, so it is not
        trusted."""
        assert self.store is not None
        stored = self.store.load(shared)
        if stored is None:
            return None
        now, age = self._clock(), self.store.age(stored.requested)
        credential = stored.credential
        lifetime = credential.lifetime_seconds
        uncertainty = self.store.age_uncertainty(stored.requested)
        margin = min(uncertainty, lifetime * _SKEW_MARGIN_FRACTION)
        if lifetime <= 0 or age is None or age < -margin:
            return None
        requested_at = now - max(age, 0.0) - margin
        entry = _Entry(credential, Schedule.for_credential(credential, requested_at, self._policy))
        return entry if now < entry.schedule.mandatory_at else None

    def _adopt(self, slot: _Slot, shared: str) -> _Entry | None:
        """Publish the store's entry if it outlives the one this process holds. Skipped while
        another thread of ours holds the slot (it is fetching, and will look itself)."""
        if not slot.lock.acquire(blocking=False):
            return None
        try:
            return self._adopt_locked(slot, shared)
        finally:
            slot.lock.release()

    def _adopt_locked(self, slot: _Slot, shared: str) -> _Entry | None:
        entry = self._entry_from_store(shared)
        if entry is None:
            return None
        current = slot.entry
        if current is not None and current.schedule.expires_at >= entry.schedule.expires_at:
            return None
        slot.entry = entry
        slot.retry_after = 0.0
        return entry

    def _refresh_advisory(
        self,
        key: Hashable,
        slot: _Slot,
        current_entry: _Entry,
        fetch: Fetch,
        now: float,
    ) -> Credential:
        current, schedule = current_entry.credential, current_entry.schedule
        if now < slot.retry_after or not slot.lock.acquire(blocking=False):
            return current  # someone else is refreshing, or AWS failed a moment ago
        try:
            entry = slot.entry
            if entry is not None and entry.credential is not current:
                return entry.credential  # refreshed while we were arriving
            try:
                fetched = self._fetch_shared(key, slot, fetch, mandatory=False)
                return current if fetched is None else fetched
            except Exception as error:
                failed_at = self._clock()
                if failed_at >= schedule.mandatory_at:
                    # The failed call (botocore retries included) outlasted the advisory
                    # window: the old credential is due or expired, so it may not be served.
                    raise
                retry_in = current.lifetime_seconds * self._policy.retry_fraction
                slot.retry_after = failed_at + retry_in
                logger.warning(
                    "advisory refresh for %s failed (%s: %s); keeping the current credential "
                    "until the mandatory refresh window",
                    _label(key),
                    type(error).__name__,
                    error,
                )
                return current
        finally:
            slot.lock.release()

    def _refresh_mandatory(self, key: Hashable, slot: _Slot, fetch: Fetch) -> Credential:
        attempts_seen = slot.attempts
        with slot.lock:
            entry = slot.entry
            if entry is not None and self._clock() < entry.schedule.mandatory_at:
                return entry.credential  # another thread refreshed while we waited
            if slot.attempts != attempts_seen and (error := slot.last_error) is not None:
                # The refresh we queued behind just failed: share its error rather than
                # sending AWS one more call per waiting thread. Each waiter raises its own
                # copy (a shared instance would collect every thread's traceback).
                raise _copy_for_waiter(error) from error
            credential = self._fetch_shared(key, slot, fetch, mandatory=True)
            assert credential is not None
            return credential

    def _fetch_shared(
        self, key: Hashable, slot: _Slot, fetch: Fetch, *, mandatory: bool
    ) -> Credential | None:
        """Under ``slot.lock``: fetch, or, with a store, take the key's cross-process lock
        first and use what another process fetched meanwhile. None (advisory only): another
        process is refreshing it right now; keep the current credential."""
        shared = self._shared(key)
        if shared is None:
            return self._fetch_into(key, slot, fetch)
        assert self.store is not None
        store = self.store
        waiting_from = store.now()
        with store.locked(shared, wait=mandatory) as held:
            if not held and not mandatory:
                return None
            previous = slot.entry
            entry = self._entry_from_store(shared)
            if entry is not None and (
                previous is None or entry.schedule.expires_at > previous.schedule.expires_at
            ):
                slot.entry, slot.retry_after = entry, 0.0
                if self._clock() < entry.schedule.advisory_at or mandatory:
                    logger.debug("credential for %s taken from the shared store", _label(key))
                    return entry.credential
            if mandatory and (failure := store.failure_since(shared, waiting_from)) is not None:
                raise _error_from(failure, _label(key))
            requested = store.now()
            try:
                credential = self._fetch_into(key, slot, fetch)
            except Exception as error:
                store.record_failure(shared, error)
                raise
            try:
                store.save(shared, _label(key), credential, requested)
            except Exception as error:  # a store never costs the caller a credential
                logger.warning(
                    "could not share the credential for %s (%s: %s)",
                    _label(key),
                    type(error).__name__,
                    error,
                )
            return credential

    def _fetch_into(self, key: Hashable, slot: _Slot, fetch: Fetch) -> Credential:
        """Fetch under ``slot.lock`` and publish the result."""
        requested_at = self._clock()
        logger.debug("fetching credential for %s", _label(key))
        # Cleared first: waiters behind an interrupted attempt (KeyboardInterrupt, SystemExit:
        # not stored, not shared) then fetch themselves rather than raise an older error.
        slot.last_error = None
        try:
            credential = fetch()
            if credential.lifetime_seconds <= 0:
                # Stored, it would sit in the mandatory window: an AWS call on every get().
                raise CredentialExpiredOnArrivalError(
                    f"The password issued for {_label(key)} had already expired when it arrived "
                    f"(issued {credential.issued_at.isoformat(timespec='seconds')}, expires "
                    f"{credential.expires_at.isoformat(timespec='seconds')}). A clock is probably "
                    "wrong: check this machine's time synchronisation, then retry."
                )
        except Exception as error:
            slot.last_error = error
            raise
        finally:
            slot.attempts += 1  # counts finished attempts, so waiters can tell one ended
        slot.retry_after = 0.0
        schedule = Schedule.for_credential(credential, requested_at, self._policy)
        slot.entry = _Entry(credential, schedule)
        logger.debug(
            "credential for %s issued, valid %.0f s", _label(key), credential.lifetime_seconds
        )
        return credential


def _error_from(failure: StoredFailure, label: str) -> RedshiftEphemeralError:
    """The error another process's failed refresh raised, as this library's error of the
    same name (so the command line exits with the same code)."""
    from . import errors

    kind = getattr(errors, failure.error_type, None)
    if not (isinstance(kind, type) and issubclass(kind, RedshiftEphemeralError)):
        kind, attributes = RedshiftEphemeralError, {}
    else:
        attributes = failure.attributes
    message = (
        f"{failure.message} (another process asked AWS for the credential for {label} while "
        "this one waited, and failed; not asking again at once)"
    )
    error = errors._rebuild(kind, (message,))  # the type and attributes, without __init__
    vars(error).update(attributes)
    return error


def _copy_for_waiter(error: Exception) -> Exception:
    """A new instance of the leader's ``error`` for one waiting thread: the same type (so the
    CLI maps it to the same exit code), or, for an exception that cannot be copied, a library
    error that names it."""
    copied: Exception | None
    try:
        copied = copy.copy(error)
    except Exception:  # a foreign class whose __init__ the copy protocol cannot call
        copied = None
    if copied is not None and type(copied) is type(error) and copied is not error:
        return copied
    return RedshiftEphemeralError(
        f"The credential refresh this call waited for failed ({type(error).__name__}: {error})."
    )


_SWEEP_MIN_KEYS = 1024
"""Below this many keys, expired ones are not worth a sweep."""

default_cache = CredentialCache()
"""The process-wide cache shared by every credential source that is not given its own."""
