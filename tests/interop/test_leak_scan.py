"""Runs last (see conftest): everything the third-party clients printed, and every file they
left in their private home, is searched for every password the stack issued during the suite.
Outputs the user asked a password for (``aws redshift get-cluster-credentials``) are left out
by ``Client.run``."""

from __future__ import annotations

from tests.interop.conftest import CLIENT_OUTPUTS, ISSUED_PASSWORDS


def test_no_issued_password_appears_in_any_client_output() -> None:
    assert ISSUED_PASSWORDS, "the suite issued no password: the scan would prove nothing"
    assert CLIENT_OUTPUTS, "no output was collected: the scan would prove nothing"
    leaks = [
        (where, text[max(0, text.find(password) - 80) : text.find(password)])
        for password in ISSUED_PASSWORDS
        for where, text in CLIENT_OUTPUTS
        if password in text
    ]
    assert leaks == [], (
        f"{len(leaks)} outputs hold an issued password (where, context before it): {leaks[:3]}"
    )
