"""The one guard over driver, pool, engine and command-line options: anything that touches the
host, the login or TLS is refused, whatever its spelling; harmless options pass."""

from __future__ import annotations

import pytest

from redshift_ephemeral.db.options import (
    LIBPQ_HARMLESS,
    LIBPQ_RESERVED,
    REDSHIFT_CONNECTOR_ALLOWED,
    check_command_line,
    check_driver_options,
    check_engine_options,
    check_pool_options,
    libpq_environment,
    merge,
)
from redshift_ephemeral.errors import ConfigurationError


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
@pytest.mark.parametrize("option", sorted(LIBPQ_RESERVED))
def test_every_reserved_libpq_option_is_refused_in_any_case(driver: str, option: str) -> None:
    for spelling in (option, option.upper()):
        with pytest.raises(ConfigurationError, match="may not be given in driver_options"):
            check_driver_options(driver, {spelling: "x"}, "driver_options")


@pytest.mark.parametrize(
    "option",
    [
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslnegotiation",
        "host",
        "hostaddr",
        "port",
        "service",
        "passfile",
        "password",
        "user",
    ],
)
def test_the_options_the_issue_names_are_reserved(option: str) -> None:
    assert option in LIBPQ_RESERVED


def test_every_keyword_the_installed_libpq_knows_is_classified() -> None:
    """A new libpq keyword (libpq 18 brought sslkeylogfile, which writes the TLS secrets to a
    file) fails here until someone decides whether it is harmless."""
    import psycopg

    keywords = {default.keyword.decode() for default in psycopg.pq.Conninfo.get_defaults()}
    unclassified = keywords - set(LIBPQ_RESERVED) - LIBPQ_HARMLESS
    assert not unclassified, f"classify these libpq keywords in db/options.py: {unclassified}"
    assert not set(LIBPQ_RESERVED) & LIBPQ_HARMLESS


@pytest.mark.parametrize("option", ["sslkeylogfile", "scram_client_key", "oauth_issuer"])
def test_libpq_18_keywords_that_expose_or_replace_the_login_are_refused(option: str) -> None:
    with pytest.raises(ConfigurationError, match="may not be given in driver_options"):
        check_driver_options("psycopg", {option: "x"}, "driver_options")


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_harmless_libpq_options_pass(driver: str) -> None:
    check_driver_options(
        driver,
        {
            "application_name": "x",
            "connect_timeout": 3,
            "options": "-c search_path=x",
            "keepalives": 1,
            "autocommit": True,
        },
        "driver_options",
    )


@pytest.mark.parametrize(
    "option",
    [
        "ssl",
        "sslmode",
        "unix_sock",
        "host",
        "port",
        "iam",
        "db_user",
        "password",
        "credentials_provider",
        "ssl_insecure",
        "endpoint_url",
        "token",
    ],
)
def test_redshift_connector_takes_only_harmless_options(option: str) -> None:
    assert option not in REDSHIFT_CONNECTOR_ALLOWED
    with pytest.raises(ConfigurationError, match="only these options are passed through"):
        check_driver_options("redshift_connector", {option: "x"}, "driver_options")
    check_driver_options("redshift_connector", {"timeout": 5, "application_name": "x"}, "d")


@pytest.mark.parametrize("option", ["conninfo", "kwargs", "connection_class"])
def test_pool_options_that_bypass_the_guard_are_refused(option: str) -> None:
    with pytest.raises(ConfigurationError, match="pool_options"):
        check_pool_options({option: "x"})
    check_pool_options({"max_lifetime": 60, "timeout": 5})


@pytest.mark.parametrize("option", ["creator", "async_creator", "pool", "connect_args"])
def test_engine_options_that_bypass_the_guard_are_refused(option: str) -> None:
    with pytest.raises(ConfigurationError, match="engine_options"):
        check_engine_options({option: "x"})
    check_engine_options({"pool_size": 8, "pool_recycle": 300, "echo": False})


def test_our_connection_settings_win_the_merge() -> None:
    merged = merge(
        {"connect_timeout": 10},
        {"sslmode": "disable", "connect_timeout": 3},
        {"sslmode": "verify-full", "host": "h"},
    )
    assert merged == {"connect_timeout": 3, "sslmode": "verify-full", "host": "h"}


@pytest.mark.parametrize(
    "arguments",
    [
        ["sslmode=disable"],
        ["  Host = evil"],
        ["dbname=dev sslmode=disable"],
        ["postgresql://evil/dev"],
        ["POSTGRES://evil"],
        ["-h", "evil"],
        ["-hevil"],
        ["-qXh", "evil"],
        ["--host=evil"],
        ["--port", "5432"],
        ["-U", "postgres"],
        ["-d", "dev"],
        ["--dbname=x"],
        ["PGSSLMODE=disable", "psql"],
        ["PGHOST=evil"],
        ["application_name=x sslmode=disable"],
        ["application_name='a b' hostaddr=127.0.0.2"],
        ["--dbname=hostaddr=127.0.0.2 sslmode=disable"],
        ["-dhostaddr=127.0.0.2"],
        ["--maintenance-db=postgresql://evil/dev"],
    ],
)
def test_psql_arguments_that_override_the_target_are_refused(arguments: list[str]) -> None:
    with pytest.raises(ConfigurationError, match="would override"):
        check_command_line(arguments, psql=True)


@pytest.mark.parametrize(
    "arguments",
    [
        ["-c", "SELECT 1"],
        ["-c", "SELECT host = 1 FROM t"],
        ["-XqAt", "-c", "select 1"],
        ["-ch"],  # -c's value is "h", not the -h option
        ["-f", "script.sql"],
        ["-H"],
        ["-P", "pager=off"],
        ["-v", "ON_ERROR_STOP=1"],
    ],
)
def test_ordinary_psql_arguments_pass(arguments: list[str]) -> None:
    check_command_line(arguments, psql=True)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--dbname=hostaddr=127.0.0.2 sslmode=disable"],
        ["-d", "application_name=x sslmode=disable"],
        ["-dhost=evil"],
        ["postgres://evil/dev"],
    ],
)
def test_any_libpq_program_given_a_connection_string_is_refused(arguments: list[str]) -> None:
    with pytest.raises(ConfigurationError, match="would override"):
        check_command_line(arguments, psql=False)


@pytest.mark.parametrize(
    "key", ["application_name=x hostaddr", "a b", "x'", "", "sslmode ", "\nhost", "é"]
)
def test_an_option_name_that_is_no_name_cannot_smuggle_a_keyword(key: str) -> None:
    """psycopg2 writes keys into the connection string as they are."""
    for driver in ("psycopg2", "psycopg", "redshift_connector"):
        with pytest.raises(ConfigurationError, match="not an option name"):
            check_driver_options(driver, {key: "127.0.0.2"}, "driver_options")


def test_a_child_inherits_no_libpq_variable_that_could_redirect_it() -> None:
    inherited = {
        "PATH": "/bin",
        "HOME": "/home/u",
        "PGSERVICE": "evil",
        "PGSERVICEFILE": "/tmp/evil",
        "PGSYSCONFDIR": "/tmp",
        "PGHOSTADDR": "127.0.0.2",
        "PGSSLMODE": "disable",
        "PGSSLNEGOTIATION": "direct",
        "PGPASSWORD": "old",
        "PGSOMETHINGNEW": "x",
        "PGAPPNAME": "report",
    }
    ours = {"PGHOST": "h", "PGSSLMODE": "verify-full", "PGPASSFILE": "/run/p"}
    assert libpq_environment(inherited, ours) == {
        "PATH": "/bin",
        "HOME": "/home/u",
        "PGAPPNAME": "report",
        **ours,
    }


def test_other_commands_keep_their_own_short_options() -> None:
    check_command_line(["-h", "-p", "1"], psql=False)  # e.g. `exec -- mytool -h`
    with pytest.raises(ConfigurationError):
        check_command_line(["sslmode=disable"], psql=False)
