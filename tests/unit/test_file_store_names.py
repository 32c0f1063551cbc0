"""An entry's file name is SHA-256 of its key, however it is computed: every process of the
user (any Python, with or without CPython's own hash modules) must find the same file."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from redshift_ephemeral.file_store import key_digest


@given(st.text())
def test_the_file_name_of_a_key_is_its_sha256(key: str) -> None:
    assert key_digest(key) == hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
