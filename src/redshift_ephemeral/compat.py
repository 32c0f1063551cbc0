"""Work-arounds for bugs in the drivers we support, each in one visible place.

redshift_connector (2.x) parses PostgreSQL's SASL mechanism list with a trailing empty name
(``data[4:-1].split(b"\\0")`` keeps the last terminator), and scramp rejects the empty name,
so redshift_connector cannot log in to any server that offers SCRAM - such as PostgreSQL, and
the local stack. Redshift itself does not offer SASL, which is why this went unnoticed. The
shim drops empty names before scramp sees them; nothing else changes.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_patched = False


def patch_redshift_connector_sasl() -> None:
    """Make redshift_connector ignore empty SASL mechanism names (idempotent)."""
    global _patched  # noqa: PLW0603 - one process-wide, idempotent patch
    with _lock:
        if _patched:
            return
        from redshift_connector import core

        original = core.ScramClient  # type: ignore[attr-defined]

        class ScramClientIgnoringEmptyNames(original):  # type: ignore[misc, valid-type]
            def __init__(self, mechanisms: list[str], *args: Any, **kwargs: Any) -> None:
                super().__init__([name for name in mechanisms if name], *args, **kwargs)

        core.ScramClient = ScramClientIgnoringEmptyNames  # type: ignore[attr-defined]
        _patched = True
