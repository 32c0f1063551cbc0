"""The credential value and its renderings."""

from __future__ import annotations

import dataclasses
from urllib.parse import unquote, urlsplit

import pytest

from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.secret import Secret
from tests.conftest import make_credential

TRICKY = "p@ss:w/ord 'quoted' \\back"


def tricky() -> Credential:
    return make_credential(password=TRICKY).with_tls("verify-full", "/etc/ca.pem")


def test_password_is_absent_from_repr_and_str() -> None:
    credential = tricky()
    assert TRICKY not in repr(credential)
    assert TRICKY not in str(credential)
    assert "IAM:alice" in repr(credential)


def test_credential_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        tricky().password = Secret("other")  # type: ignore[misc]


def test_0_1_names_of_the_libpq_keywords_still_work_and_warn() -> None:
    credential = tricky()
    for old_name in ("psycopg2_kwargs", "psycopg_kwargs"):
        with pytest.warns(DeprecationWarning, match=f"{old_name}.*libpq_params"):
            assert getattr(credential, old_name)() == credential.libpq_params()


def test_naive_timestamps_are_refused() -> None:
    credential = make_credential()
    with pytest.raises(ValueError, match="timezone-aware"):
        dataclasses.replace(credential, expires_at=credential.expires_at.replace(tzinfo=None))


def test_driver_keywords() -> None:
    credential = tricky()
    assert credential.libpq_params() == {
        "host": credential.host,
        "port": 5439,
        "dbname": "dev",
        "user": "IAM:alice",
        "password": TRICKY,
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ca.pem",
    }
    rc = credential.redshift_connector_kwargs()
    assert (rc["database"], rc["user"], rc["password"], rc["ssl"], rc["sslmode"]) == (
        "dev",
        "IAM:alice",
        TRICKY,
        True,
        "verify-full",
    )


def test_dsn_quotes_every_value() -> None:
    dsn = tricky().dsn()
    assert "password='p@ss:w/ord \\'quoted\\' \\\\back'" in dsn
    assert "user='IAM:alice'" in dsn
    assert "sslrootcert='/etc/ca.pem'" in dsn


def test_sqlalchemy_url_escapes_user_and_password() -> None:
    url = tricky().sqlalchemy_url()
    parts = urlsplit(url)
    assert parts.scheme == "postgresql+psycopg2"
    assert unquote(parts.username or "") == "IAM:alice"
    assert unquote(parts.password or "") == TRICKY
    assert parts.port == 5439
    assert "sslmode=verify-full" in parts.query


def test_environment_and_pgpass() -> None:
    credential = tricky()
    env = credential.environment()
    assert env["PGUSER"] == "IAM:alice"
    assert env["PGPASSWORD"] == TRICKY
    assert env["PGSSLROOTCERT"] == "/etc/ca.pem"
    line = credential.pgpass_line()
    assert line.endswith(":dev:IAM\\:alice:p@ss\\:w/ord 'quoted' \\\\back")


def test_seed_dict_has_the_seeds_keys() -> None:
    assert set(tricky().as_seed_dict()) == {
        "host",
        "port",
        "user",
        "password",
        "dbname",
        "sslmode",
        "sslrootcert",
    }
