"""The local stack (SPEC §6): a Redshift endpoint that logs users in as Redshift does and
refuses every expired password, a real PostgreSQL server behind it that only the stack can
reach, and an AWS emulator that issues the passwords.

    from redshift_ephemeral.local import LocalStack

    with LocalStack(time_scale=1/300) as stack:      # a 900 s password lasts 3 s
        source = stack.source(db_user="alice")
        stack.set_knobs(latency_seconds=0.1, throttle_rate=0.5)
        print(stack.calls())

Needs the ``local`` extra and PostgreSQL's server binaries.
"""

from . import seed
from .stack import LocalStack

__all__ = ["LocalStack", "seed"]
