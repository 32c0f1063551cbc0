"""The emulator's record of issued passwords, as the Redshift endpoint checks them.

Redshift accepts every unexpired password issued for a user - several at once - for the
database it was issued for (any database when the request named none), and refuses expired
and unknown ones. This record holds, per login user, what an MD5 challenge needs and
nothing more: ``md5(password + user)`` (PostgreSQL's stored MD5 form) and the expiration.
The plain password is never kept here, so a bug that printed this record would print no
password a client could use elsewhere.

Expiry is checked on the real clock against the (time-scaled) expiration the emulator
returned, so a 900 s password issued at time scale 1/300 is refused 3 s later.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def md5_inner(password: str, user: str) -> str:
    """PostgreSQL's stored MD5 form: hex of md5(password + user)."""
    return hashlib.md5((password + user).encode(), usedforsecurity=False).hexdigest()


def md5_answer(inner: str, salt: bytes) -> bytes:
    """What a client answers an MD5 challenge with: ``md5`` + hex md5(inner + salt)."""
    return b"md5" + hashlib.md5(inner.encode() + salt, usedforsecurity=False).hexdigest().encode()


@dataclass(frozen=True)
class _Issued:
    inner: str
    expires_at: datetime
    database: str | None  # None: any database (the request named none)

    def opens(self, database: str, now: datetime) -> bool:
        return self.expires_at > now and self.database in (None, database)


class IssuedPasswords:
    """Thread-safe: the emulator adds from its HTTP threads, the endpoint checks from its
    event loop."""

    def __init__(self, clock: Clock = _utcnow):
        self._clock = clock
        self._by_user: dict[str, list[_Issued]] = {}
        self._lock = threading.Lock()

    def add(
        self, user: str, password: str, expires_at: datetime, database: str | None = None
    ) -> None:
        """Record a password issued for ``user`` until ``expires_at``, for ``database`` (or
        any, if None); forget expired ones."""
        issued = _Issued(md5_inner(password, user), expires_at, database)
        now = self._clock()
        with self._lock:
            kept = [entry for entry in self._by_user.get(user, []) if entry.expires_at > now]
            self._by_user[user] = [*kept, issued]

    def accepts_md5(self, user: str, database: str, salt: bytes, answer: bytes) -> bool:
        """Whether ``answer`` to the challenge ``salt`` proves an unexpired password of
        ``user`` issued for ``database``. Every candidate is compared in constant time."""
        now = self._clock()
        with self._lock:
            candidates = [e for e in self._by_user.get(user, []) if e.opens(database, now)]
        accepted = False
        for entry in candidates:
            # No early exit: how long this takes says nothing about which entry matched.
            accepted |= hmac.compare_digest(md5_answer(entry.inner, salt), answer)
        return accepted

    def count(self, user: str) -> int:
        """How many unexpired passwords ``user`` has (for tests and status)."""
        now = self._clock()
        with self._lock:
            return sum(1 for entry in self._by_user.get(user, []) if entry.expires_at > now)
