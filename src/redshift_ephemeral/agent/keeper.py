"""Keeps each target's credential fresh ahead of expiry: the agent's schedule.

Each target is refreshed at its advisory point - the cache's ``RefreshPolicy`` (the last
25 % of the lifetime, or AWS's ``NextRefreshTime`` if earlier) - by asking its source, whose
cache makes the AWS call (or takes what another process of this user already put in the
shared store). So a caller of the agent never waits on AWS. When a refresh fails, or the
cache kept the old credential (it does in the advisory window when AWS fails), the keeper
tries again with exponential backoff and keeps serving the previous password while it is
valid; an expired one is never served.

Time comes from an injected wall clock (``time.time`` by default), so tests drive ``tick()``
without sleeping. No file, no socket: ``on_change`` is told when the set of credentials
changed, and the agent writes its files then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ..cache import RefreshPolicy, Schedule
from ..credentials import Credential

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Fetch = Callable[[], Credential]

COLD_RETRY_SECONDS = 1.0
"""First retry after a failure with no credential yet (no lifetime to scale by)."""
MAX_RETRY_SECONDS = 300.0
MIN_RETRY_SECONDS = 0.05
MAX_SLEEP_SECONDS = 30.0
"""The longest the keeper sleeps between looks, whatever the schedule: a wall clock that
jumps is noticed within this."""


@dataclass
class TargetState:
    """One target: its latest credential and when to look again (wall-clock seconds)."""

    name: str
    fetch: Fetch
    credential: Credential | None = None
    next_attempt: float = 0.0
    failures: int = 0
    last_error: str | None = None
    last_exception: Exception | None = None
    expired_shown: bool = False


class Keeper:
    """``tick()`` refreshes what is due and says how long to sleep; ``run(stop)`` loops."""

    def __init__(
        self,
        fetches: Mapping[str, Fetch],
        *,
        clock: Clock = time.time,
        policy: RefreshPolicy | None = None,
        on_change: Callable[[], None] = lambda: None,
    ):
        if not fetches:
            raise ValueError("a keeper needs at least one target")
        self._clock = clock
        self._policy = policy or RefreshPolicy()
        self._on_change = on_change
        self.targets = {name: TargetState(name, fetch) for name, fetch in fetches.items()}

    # -- what callers read -------------------------------------------------------------------

    def current(self, name: str) -> Credential | None:
        """The target's credential if it has not expired (by the keeper's clock); None if
        there is none yet or it expired (AWS kept failing)."""
        state = self.targets.get(name)
        credential = state.credential if state is not None else None
        if credential is None or self._clock() >= credential.expires_at.timestamp():
            return None
        return credential

    def valid_credentials(self) -> dict[str, Credential]:
        """Every target's unexpired credential, by target name."""
        return {
            name: credential
            for name in self.targets
            if (credential := self.current(name)) is not None
        }

    def known_credentials(self) -> dict[str, Credential]:
        """Every target's latest credential, expired or not (where to connect stays true)."""
        return {
            name: state.credential
            for name, state in self.targets.items()
            if state.credential is not None
        }

    # -- the schedule ------------------------------------------------------------------------

    def advisory_at(self, credential: Credential) -> float:
        """When (wall clock) ``credential`` enters its advisory window."""
        issued = credential.issued_at.timestamp()
        return Schedule.for_credential(credential, issued, self._policy).advisory_at

    def retry_delay(self, state: TargetState) -> float:
        """Exponential backoff from a share of the lifetime: 2 %, 4 %, … at most 5 % of it
        (and 300 s); from 1 s for a target that has no credential yet."""
        credential = state.credential
        if credential is None:
            base, cap = COLD_RETRY_SECONDS, MAX_RETRY_SECONDS
        else:
            lifetime = credential.lifetime_seconds
            base = max(MIN_RETRY_SECONDS, lifetime * self._policy.retry_fraction)
            cap = max(base, min(MAX_RETRY_SECONDS, lifetime * 0.05))
        return float(min(cap, base * 2 ** min(state.failures - 1, 16)))

    def tick(self) -> float:
        """Refresh every target that is due; tell ``on_change`` if any credential changed or
        expired; return the seconds until the next one is due."""
        changed = False
        for state in self.targets.values():
            if self._clock() >= state.next_attempt:
                changed |= self._refresh(state)
            changed |= self._note_expiry(state)
        if changed:
            self._on_change()
        return self._sleep_seconds()

    def run(self, stop: threading.Event) -> None:
        """``tick()`` until ``stop`` is set; each sleep is cut short by it."""
        delay = 0.0
        while not stop.wait(delay):
            try:
                delay = self.tick()
            except Exception:  # never let a bug in one pass end the agent's refreshes
                logger.exception("the agent's refresh pass failed; trying again in 1 s")
                delay = 1.0

    # -- internals ---------------------------------------------------------------------------

    def _refresh(self, state: TargetState) -> bool:
        previous = state.credential
        try:
            credential = state.fetch()
        except Exception as error:
            state.failures += 1
            state.last_error = f"{type(error).__name__}: {error}"
            state.last_exception = error
            delay = self.retry_delay(state)
            state.next_attempt = self._clock() + delay
            logger.warning(
                "refreshing %s failed (%s); %s; next try in %.1f s",
                state.name,
                state.last_error,
                _keeping(previous, self._clock()),
                delay,
            )
            return False
        now = self._clock()
        is_new = previous is None or _differs(credential, previous)
        if now < self.advisory_at(credential):
            state.credential, state.next_attempt = credential, self.advisory_at(credential)
            state.failures, state.expired_shown = 0, False
            state.last_error = state.last_exception = None
            if is_new:
                logger.info(
                    "%s: new password for %s, valid until %s",
                    state.name,
                    credential.user,
                    credential.expires_at.isoformat(timespec="seconds"),
                )
            return is_new
        # Already in its advisory window: the cache kept an old credential (AWS failed, or
        # another process is refreshing it right now). Keep it and look again soon.
        state.credential = credential
        state.failures += 1
        delay = self.retry_delay(state)
        state.next_attempt = now + delay
        logger.debug("%s: not refreshed yet; next try in %.2f s", state.name, delay)
        return is_new

    def _note_expiry(self, state: TargetState) -> bool:
        """True once when the target's credential expires (its password leaves the files)."""
        credential = state.credential
        if credential is None or state.expired_shown:
            return False
        if self._clock() < credential.expires_at.timestamp():
            return False
        state.expired_shown = True
        logger.warning(
            "%s: the password expired and could not be refreshed (%s); callers get an error "
            "until a refresh succeeds",
            state.name,
            state.last_error or "no refresh succeeded",
        )
        return True

    def _sleep_seconds(self) -> float:
        now = self._clock()
        due = [state.next_attempt for state in self.targets.values()]
        due += [
            state.credential.expires_at.timestamp()
            for state in self.targets.values()
            if state.credential is not None and not state.expired_shown
        ]
        return max(0.0, min(MAX_SLEEP_SECONDS, min(due) - now))


def _differs(credential: Credential, previous: Credential) -> bool:
    return (
        credential.issued_at != previous.issued_at
        or credential.expires_at != previous.expires_at
        or credential.password.reveal() != previous.password.reveal()
    )


def _keeping(previous: Credential | None, now: float) -> str:
    if previous is None:
        return "no password yet"
    expires = previous.expires_at
    if now >= expires.timestamp():
        return "the previous password has expired"
    left = (expires - datetime.fromtimestamp(now, UTC)).total_seconds()
    return f"keeping the current password, valid {left:.0f} s more"
