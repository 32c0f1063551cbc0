"""The SQLAlchemy URL plugin against the local stack: a URL is all a tool is given
(``postgresql+psycopg2://alice@/dev?plugin=redshift_ephemeral``), with the stack's
environment as after ``eval "$(redshift-ephemeral local env)"``. Plain
``sqlalchemy.create_engine``, ``pandas.read_sql`` and Polars ``read_database`` keep
connecting across several time-scaled password expiries; a URL with a password baked in
(what those tools are usually given) fails in the same scenario."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas
import polars
import pytest
import sqlalchemy

from redshift_ephemeral import ConfigurationError, CredentialSource, DatabaseConnectionError
from redshift_ephemeral.cache import default_cache
from redshift_ephemeral.local import LocalStack, seed
from tests.e2e.conftest import wait_until_expired
from tests.leak_scan import raises

SEED_QUERY = "SELECT COUNT(*) AS n FROM my_table"
WHO_AND_COUNT = "SELECT COUNT(*), current_user FROM my_table"
LIFETIME_SCALE = 1 / 300  # 900 s → 3 s
LIFETIME_SECONDS = 900 * LIFETIME_SCALE
CREDENTIAL_CALL = "redshift:GetClusterCredentials"
EXPIRIES = 2
PLUGIN = "plugin=redshift_ephemeral"


@pytest.fixture
def shell(
    redshift_local: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> LocalStack:
    """This process's environment as after `eval "$(redshift-ephemeral local env)"`, and the
    config file of a target ``reports`` (alice, group analysts) in a private config home."""
    for name, value in redshift_local.environment().items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "config" / "redshift-ephemeral" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'[targets.reports]\ncluster_id = "{seed.CLUSTER_ID}"\ndb_user = "{seed.READER_USER}"\n'
        f'db_group = ["{seed.GROUP}"]\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config.parent.parent))
    redshift_local.set_knobs(time_scale=LIFETIME_SCALE)
    return redshift_local


def across_expiries(stack: LocalStack, read: Callable[[], Any]) -> list[Any]:
    """``read()`` twice in each of ``EXPIRIES + 1`` password lifetimes, waiting out a whole
    lifetime between them: what each returned. Each lifetime's first read needs a new
    password (the one before has expired on the server), the second reuses it."""
    results = []
    for lifetime in range(EXPIRIES + 1):
        if lifetime:
            time.sleep(LIFETIME_SECONDS + 0.3)
        results += [read(), read()]
    # A password per lifetime, not per read. (A slow read on a busy machine may reach the
    # advisory window, where the cache refreshes ahead: one more call, never one per read.)
    assert EXPIRIES + 1 <= stack.calls()[CREDENTIAL_CALL] < len(results)
    return results


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg2://alice@/dev?{PLUGIN}",
        f"postgresql+psycopg://?{PLUGIN}&db_user=alice&application_name=notebook",
        f"redshift+redshift_connector://?{PLUGIN}&target=reports",
        f"redshift+psycopg2://?{PLUGIN}&db_user=alice&db_group=analysts&duration=900",
    ],
)
def test_plain_create_engine_keeps_connecting_across_expiries(shell: LocalStack, url: str) -> None:
    engine = sqlalchemy.create_engine(url)
    assert "plugin" not in engine.url.query
    assert engine.url.password is None

    def read() -> tuple[Any, ...]:
        engine.dispose()  # every read on a new DB-API connection, as a pool's growth does
        with engine.connect() as connection:
            row = connection.execute(sqlalchemy.text(WHO_AND_COUNT)).one()
            return tuple(row)

    assert set(across_expiries(shell, read)) == {(42, "IAM:alice")}
    engine.dispose()


def test_pandas_read_sql_with_the_url_keeps_working_across_expiries(shell: LocalStack) -> None:
    # pandas builds (and disposes of) an engine from the URL at every call.
    url = f"postgresql+psycopg2://?{PLUGIN}&target=reports"
    frames = across_expiries(shell, lambda: pandas.read_sql(SEED_QUERY, url))
    assert [frame["n"].tolist() for frame in frames] == [[42]] * len(frames)


def test_pandas_and_polars_with_one_engine_keep_working_across_expiries(
    shell: LocalStack,
) -> None:
    engine = sqlalchemy.create_engine(
        f"postgresql+psycopg://?{PLUGIN}&db_user=alice", poolclass=sqlalchemy.NullPool
    )

    def read() -> tuple[int, int]:
        with_pandas = pandas.read_sql(SEED_QUERY, engine)
        with_polars = polars.read_database(SEED_QUERY, engine)
        return int(with_pandas["n"][0]), int(with_polars["n"][0])

    assert set(across_expiries(shell, read)) == {(42, 42)}


def test_a_url_with_a_baked_password_fails_after_the_first_expiry(shell: LocalStack) -> None:
    """The scenario above is real: the URL tools are usually given breaks in it."""
    source = CredentialSource.from_config(db_user="alice")
    credential = source.get()
    engine = sqlalchemy.create_engine(
        credential.sqlalchemy_url("postgresql+psycopg2"), poolclass=sqlalchemy.NullPool
    )
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text(SEED_QUERY)).scalar() == 42
    wait_until_expired(credential)
    with raises(sqlalchemy.exc.OperationalError, match="password authentication failed"):
        engine.connect()


def test_a_refused_login_is_retried_once_with_a_fresh_password(
    shell: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process's cache on a clock that stands still keeps serving a password the server
    # has expired (as with a skewed clock): the login is refused, and retried once.
    monkeypatch.setattr(default_cache, "_clock", lambda: 0.0)
    engine = sqlalchemy.create_engine(f"postgresql+psycopg2://?{PLUGIN}&db_user=alice")
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text(SEED_QUERY)).scalar() == 42
    engine.dispose()
    time.sleep(LIFETIME_SECONDS + 0.3)
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text(SEED_QUERY)).scalar() == 42
    assert shell.calls()[CREDENTIAL_CALL] == 2
    engine.dispose()


def test_an_unknown_login_is_a_clear_error_after_one_retry(shell: LocalStack) -> None:
    engine = sqlalchemy.create_engine(f"postgresql+psycopg2://carol@/dev?{PLUGIN}")
    with raises(DatabaseConnectionError, match="even with a freshly issued password"):
        engine.connect()
    assert shell.calls()[CREDENTIAL_CALL] == 2


@pytest.mark.parametrize(
    ("url", "kwargs", "match"),
    [
        (f"postgresql+psycopg2://alice:hunter2@/dev?{PLUGIN}", {}, "holds a password"),
        (f"postgresql+psycopg2://?{PLUGIN}&sslmode=disable", {}, "disable"),
        (f"postgresql+psycopg2://?{PLUGIN}&hostaddr=10.0.0.1", {}, "'hostaddr'"),
        (f"postgresql+psycopg2://?{PLUGIN}", {"connect_args": {"sslmode": "require"}}, "TLS"),
        (f"redshift+redshift_connector://?{PLUGIN}&iam=true", {}, "'iam'"),
    ],
)
def test_what_would_redirect_the_password_is_refused_before_any_aws_call(
    shell: LocalStack, url: str, kwargs: dict[str, Any], match: str
) -> None:
    with raises(ConfigurationError, match=match) as refused:
        sqlalchemy.create_engine(url, **kwargs)
    assert "hunter2" not in str(refused.value)
    assert shell.calls() == {}


def test_a_data_api_url_runs_sql_through_the_data_api(shell: LocalStack) -> None:
    """``postgresql+data_api://`` (the ``sqlalchemy.dialects`` entry point): SQL over the
    Data API as the URL's user, no password anywhere - the same URL a tool is given."""
    engine = sqlalchemy.create_engine(f"postgresql+data_api://alice@/dev?{PLUGIN}")
    try:
        with engine.connect() as connection:
            count, user = connection.execute(sqlalchemy.text(WHO_AND_COUNT)).one()
        frame = pandas.read_sql(SEED_QUERY, engine)
    finally:
        engine.dispose()
    assert (count, user) == (42, "IAM:alice")
    assert frame["n"].tolist() == [42]
    calls = shell.calls()
    assert calls.get("redshift-data:ExecuteStatement", 0) >= 2, calls
    assert CREDENTIAL_CALL not in calls  # the Data API asks for the password, not this process
