"""The local stack (docs/design.md, "What the local stack emulates"): a Redshift endpoint
that logs users in as Redshift does and refuses every expired password, a real PostgreSQL
server behind it that only the stack can reach, and an AWS emulator that issues the
passwords.

    from redshift_ephemeral.local import LocalStack

    with LocalStack(time_scale=1/300) as stack:      # a 900 s password lasts 3 s
        source = stack.source(db_user="alice")
        stack.set_knobs(latency_seconds=0.1, throttle_rate=0.5)
        print(stack.calls())

Needs the ``local`` extra and PostgreSQL's server binaries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["LocalStack", "background", "seed"]

if TYPE_CHECKING:
    from . import background, seed
    from .stack import LocalStack


def __getattr__(name: str) -> Any:
    # Imported on first use: the pytest plugin (loaded into every pytest run of every user
    # who installed the package) must cost nothing until a test asks for the stack.
    if name in ("seed", "background"):  # modules: seeded names; `local up`/`down`
        return importlib.import_module(f".{name}", __name__)
    if name == "LocalStack":
        return importlib.import_module(".stack", __name__).LocalStack
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
