"""Runs last (see conftest): every log record, CLI stdout/stderr and library error text the
e2e and CLI tests produced is searched for every password the emulator issued."""

from __future__ import annotations

from redshift_ephemeral.local import LocalStack
from tests.e2e.conftest import LEAK_TEXTS


def test_no_issued_password_appears_in_any_output(redshift_local_stack: LocalStack) -> None:
    passwords = redshift_local_stack.issued_passwords()
    assert passwords, "the session issued no password: the scan would prove nothing"
    assert LEAK_TEXTS, "no output was collected: the scan would prove nothing"
    leaks = [
        (index, text[max(0, text.find(password) - 80) : text.find(password)])
        for password in passwords
        for index, text in enumerate(LEAK_TEXTS)
        if password in text
    ]
    assert leaks == [], (
        f"{len(leaks)} outputs hold an issued password (context before it): {leaks[:3]}"
    )
