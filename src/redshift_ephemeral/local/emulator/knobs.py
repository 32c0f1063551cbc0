"""The knobs tests and benchmarks turn - time scale, latency, throttling, outage - and the
call counts they read back.

Every knob takes effect here, before a call reaches its handler, except the time scale,
which handlers read to shorten the lifetimes they hand out.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from .faults import JSON_SERVICES, AwsFault


@dataclass
class Knobs:
    """What tests and benchmarks can turn. All changes apply to the next call."""

    time_scale: float = 1.0  # 1/300: a 900 s password lasts 3 s (Expiration, and at login)
    latency_seconds: float = 0.0  # added to every AWS call
    throttle_rate: float = 0.0  # share of calls answered with AWS's throttling error
    outage: bool = False  # every AWS call fails with 503 ServiceUnavailable
    statement_seconds: float = 0.0  # each Data API statement waits this long in SUBMITTED

    def update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown knob {key!r}")
            setattr(self, key, value)
        if not 0 < self.time_scale <= 1:
            raise ValueError("time_scale must be in (0, 1]")
        if not 0 <= self.statement_seconds <= 60:
            raise ValueError("statement_seconds must be in [0, 60]")
        if not 0 <= self.throttle_rate <= 1:
            raise ValueError("throttle_rate must be in [0, 1]")


class KnobBoard:
    """The knobs in force, the calls counted by action, and the seeded dice that pick which
    calls are throttled (reseeded on reset, so each test throttles the same calls)."""

    def __init__(self, seed: int = 0):
        self.knobs = Knobs()
        self.calls: Counter[str] = Counter()
        self._seed = seed
        self._random = random.Random(seed)  # noqa: S311 - throttling dice, not secrets
        self.lock = threading.Lock()

    def admit(self, action: str, service: str) -> tuple[Knobs, AwsFault | None]:
        """Count a call, wait the knobbed latency, and say which knobs it runs under and
        which fault (outage, throttling), if any, answers it instead of its handler."""
        with self.lock:
            self.calls[action] += 1
            knobs = Knobs(**asdict(self.knobs))
            throttled = self._random.random() < knobs.throttle_rate
        if knobs.latency_seconds:
            time.sleep(knobs.latency_seconds)
        if knobs.outage:
            return knobs, AwsFault(
                "ServiceUnavailable", "Service is unavailable (local outage knob).", 503
            )
        if throttled:
            code = "ThrottlingException" if service in JSON_SERVICES else "Throttling"
            return knobs, AwsFault(code, "Rate exceeded", 400)
        return knobs, None

    def reset(self) -> None:
        """Under ``lock``: knobs to defaults, counts to zero, the dice to their seed."""
        self.knobs = Knobs()
        self.calls.clear()
        self._random.seed(self._seed)

    def state(self) -> dict[str, Any]:
        """Under ``lock``: what the control API reports."""
        return {"knobs": asdict(self.knobs), "calls": dict(self.calls)}
