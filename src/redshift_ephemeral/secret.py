"""A value that must not be shown: a database password.

``Secret`` holds it where ``repr``, ``str``, f-strings, ``%`` formatting, ``vars()``,
``dataclasses.asdict()`` and logging can only ever see ``********``, and refuses ``pickle``
(which would write it somewhere nobody decided to write it). The one way to the value is
``reveal()``, so every place that sends a password somewhere says so in its code.
"""

from __future__ import annotations

from typing import Any, NoReturn, final

REDACTED = "********"


@final
class Secret:
    """``Secret("…").reveal()`` is the value; everything else shows ``********``."""

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str):
        if not isinstance(value, str):
            raise TypeError(f"a Secret holds text, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The value itself: for a driver, a passfile, or output the user asked for."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        import hmac  # here, not at import: comparing secrets is rare, loading them is not

        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]  # a hash would be a fingerprint of the value

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a Secret cannot be changed")

    def __copy__(self) -> Secret:
        return self  # immutable: copies (and dataclasses.asdict) share it, never expose it

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            "A Secret (a database password) cannot be pickled: it would be written out in "
            "clear. Send the CredentialSource's options instead and fetch in the other process."
        )
