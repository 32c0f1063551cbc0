"""The record of issued passwords the Redshift endpoint checks: several per user, each until
its own expiry, proven by an MD5 answer to a fresh salt."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from redshift_ephemeral.local.passwords import IssuedPasswords, md5_answer, md5_inner

NOW = datetime(2030, 1, 1, tzinfo=UTC)
SALT = b"\x01\x02\x03\x04"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def answer(password: str, user: str, salt: bytes = SALT) -> bytes:
    """What libpq and redshift_connector send: md5 + md5(md5(password + user) + salt)."""
    return md5_answer(md5_inner(password, user), salt)


def test_md5_answer_is_what_libpq_computes() -> None:
    # libpq: pg_md5_encrypt(password, user), then pg_md5_encrypt(that without "md5", salt)
    inner = hashlib.md5(b"secretIAM:alice", usedforsecurity=False).hexdigest()
    expected = (
        b"md5" + hashlib.md5(inner.encode() + SALT, usedforsecurity=False).hexdigest().encode()
    )
    assert answer("secret", "IAM:alice") == expected


def test_every_unexpired_password_of_a_user_is_accepted() -> None:
    clock = Clock()
    record = IssuedPasswords(clock)
    for index in range(3):
        record.add("IAM:alice", f"password-{index}", NOW + timedelta(seconds=10 * (index + 1)))
    for index in range(3):
        assert record.accepts_md5(
            "IAM:alice", "dev", SALT, answer(f"password-{index}", "IAM:alice")
        )
    assert record.count("IAM:alice") == 3


def test_each_password_is_refused_after_its_own_expiry() -> None:
    clock = Clock()
    record = IssuedPasswords(clock)
    record.add("IAM:alice", "short", NOW + timedelta(seconds=1))
    record.add("IAM:alice", "long", NOW + timedelta(seconds=3))
    clock.now = NOW + timedelta(seconds=1)  # the expiration instant itself is too late
    assert not record.accepts_md5("IAM:alice", "dev", SALT, answer("short", "IAM:alice"))
    assert record.accepts_md5("IAM:alice", "dev", SALT, answer("long", "IAM:alice"))
    clock.now = NOW + timedelta(seconds=3)
    assert not record.accepts_md5("IAM:alice", "dev", SALT, answer("long", "IAM:alice"))


def test_another_users_password_unknown_passwords_and_other_salts_are_refused() -> None:
    record = IssuedPasswords(Clock())
    record.add("IAM:alice", "alices", NOW + timedelta(seconds=5))
    record.add("IAM:bob", "bobs", NOW + timedelta(seconds=5))
    assert not record.accepts_md5("IAM:alice", "dev", SALT, answer("bobs", "IAM:alice"))
    assert not record.accepts_md5("IAM:alice", "dev", SALT, answer("bobs", "IAM:bob"))
    assert not record.accepts_md5("IAM:carol", "dev", SALT, answer("alices", "IAM:carol"))
    assert not record.accepts_md5("IAM:alice", "dev", SALT, b"md5" + b"0" * 32)
    # An answer to one challenge does not answer another (no replay).
    assert not record.accepts_md5(
        "IAM:alice", "dev", b"\x09\x09\x09\x09", answer("alices", "IAM:alice")
    )


def test_the_record_keeps_no_plain_password() -> None:
    record = IssuedPasswords(Clock())
    record.add("IAM:alice", "plain-password-value", NOW + timedelta(seconds=5))
    assert "plain-password-value" not in repr(vars(record))


def test_expired_entries_are_forgotten_when_new_ones_arrive() -> None:
    clock = Clock()
    record = IssuedPasswords(clock)
    record.add("IAM:alice", "old", NOW + timedelta(seconds=1))
    clock.now = NOW + timedelta(seconds=2)
    record.add("IAM:alice", "new", NOW + timedelta(seconds=5))
    assert len(vars(record)["_by_user"]["IAM:alice"]) == 1


def test_a_password_opens_only_the_database_it_was_issued_for() -> None:
    record = IssuedPasswords(clock=lambda: NOW)
    record.add("IAM:alice", "for-dev", NOW + timedelta(seconds=5), "dev")
    record.add("IAM:alice", "for-any", NOW + timedelta(seconds=5), None)
    assert record.accepts_md5("IAM:alice", "dev", SALT, answer("for-dev", "IAM:alice"))
    assert not record.accepts_md5("IAM:alice", "postgres", SALT, answer("for-dev", "IAM:alice"))
    # Without DbName, AWS's password opens any database the user may log on to.
    assert record.accepts_md5("IAM:alice", "postgres", SALT, answer("for-any", "IAM:alice"))
