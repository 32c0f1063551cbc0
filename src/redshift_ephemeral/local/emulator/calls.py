"""What a handler receives: one parsed AWS call, whichever protocol carried it.

Kept apart from the protocols that build it and the handlers that answer it, so that each
service's module depends on this small value and nothing of the WSGI plumbing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..identities import Identity
from .knobs import Knobs

ACCOUNT_ID = "123456789012"
"""The one account the stack emulates."""


@dataclass(frozen=True)
class Call:
    service: str  # signing name: redshift, redshift-serverless, sts, iam
    operation: str
    params: dict[str, Any]
    access_key: str
    region: str
    identity: Identity | None = None  # set once the signature is verified

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"

    @property
    def caller(self) -> Identity:
        assert self.identity is not None, "authenticated calls only"
        return self.identity


Handler = Callable[[Call, Knobs], dict[str, Any]]
"""An operation's handler: the authenticated call and the knobs in force when it arrived, to
the result's fields (rendered by the service's protocol)."""
