"""The leak scan: every password the local stack issued during the session is searched for in
everything a user of the session could have read - each log record, each CLI stdout and
stderr, the text of each error a test caught or saw fail, each failure report.

Suites that use the stack record into ``RECORD`` as they go (``tests/e2e/conftest.py``); the
check runs once, when the session finishes (``pytest_sessionfinish`` in ``tests/conftest.py``),
and fails the session if any output holds a password. It depends on no test order.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

CONTEXT_CHARACTERS = 80

E = TypeVar("E", bound=BaseException)


@dataclass
class LeakRecord:
    """Outputs (where, text) and the passwords to look for in them."""

    outputs: list[tuple[str, str]] = field(default_factory=list)
    passwords: set[str] = field(default_factory=set)

    def output(self, where: str, text: str) -> None:
        if text:
            self.outputs.append((where, text))

    def error(self, where: str, error: BaseException) -> None:
        """An exception as a user meets it: its message, its chain and its traceback."""
        self.output(where, "".join(traceback.format_exception(error)))

    def issued(self, passwords: Iterable[str]) -> None:
        self.passwords.update(passwords)

    def leaks(self) -> list[tuple[str, str]]:
        """(where, the text just before the password) for each output holding one."""
        return [
            (where, text[max(0, text.find(password) - CONTEXT_CHARACTERS) : text.find(password)])
            for password in sorted(self.passwords)
            for where, text in self.outputs
            if password in text
        ]

    def verdict(self) -> tuple[bool, list[str]]:
        """(failed, lines to print)."""
        if not self.passwords:
            return False, []
        if not self.outputs:
            return True, [
                f"{len(self.passwords)} passwords were issued but no output was collected: "
                "the scan would prove nothing"
            ]
        leaks = self.leaks()
        summary = f"{len(self.outputs)} outputs searched for {len(self.passwords)} issued passwords"
        if not leaks:
            return False, [f"{summary}: none found"]
        return True, [
            f"{summary}: {len(leaks)} outputs hold one (where, and the text before it):",
            *(f"  {where}: ...{before!r}" for where, before in leaks[:10]),
        ]


RECORD = LeakRecord()


@contextmanager
def raises(
    expected: type[E] | tuple[type[E], ...], *, match: str | None = None
) -> Iterator[pytest.ExceptionInfo[E]]:
    """``pytest.raises``, and what was raised goes to the leak scan: an error's text is output
    a user reads. Suites that use the stack catch errors with this one."""
    with pytest.raises(expected, match=match) as caught:
        try:
            yield caught
        except BaseException as error:
            test = os.environ.get("PYTEST_CURRENT_TEST", "a test").rsplit(" ", 1)[0]
            RECORD.error(f"an error caught in {test}", error)
            raise
