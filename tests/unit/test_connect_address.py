"""connect_address: libpq's hostaddr, so the connection opens at a tunnel's or endpoint's IP
address while TLS is still verified against the host name. Its syntax, every rendering that
carries it, the cache key, exec's environment, and the driver that cannot (redshift_connector)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy

from redshift_ephemeral import (
    ConfigurationError,
    CredentialCache,
    CredentialRequest,
    CredentialSource,
    connect,
    create_engine,
)
from redshift_ephemeral.config import resolve
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.db.passfile import RefreshingPassfile
from redshift_ephemeral.file_store import FileStore, _credential_from, _credential_record
from redshift_ephemeral.targets import ConnectAddress, parse_connect_address
from tests.conftest import make_credential

PASSWORD = "s3cret-Pa55word-value"
NAME = "demo-cluster.abc123.us-east-1.redshift.amazonaws.com"


class CountingIssuer:
    """Issues make_credential()'s credential for the request's target, counting calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: CredentialRequest) -> Credential:
        self.calls += 1
        return make_credential(password=PASSWORD)


def source(
    issuer: CountingIssuer, cache: CredentialCache | None = None, **options: Any
) -> CredentialSource:
    built = CredentialSource.from_options(cluster_id="demo-cluster", db_user="alice", **options)
    return CredentialSource(built.request, built.identity, built.tls, cache=cache, issuer=issuer)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ConnectAddress("127.0.0.1")),
        ("127.0.0.1:15439", ConnectAddress("127.0.0.1", 15439)),
        ("10.0.1.5:5439", ConnectAddress("10.0.1.5", 5439)),
        ("::1", ConnectAddress("::1")),
        ("fd00:0::5", ConnectAddress("fd00::5")),  # canonical form
        ("[fd00::5]", ConnectAddress("fd00::5")),
        ("[::1]:15439", ConnectAddress("::1", 15439)),
    ],
)
def test_connect_address_syntax_is_an_ip_with_an_optional_port(
    text: str, expected: ConnectAddress
) -> None:
    assert parse_connect_address(text) == expected
    assert parse_connect_address(str(expected)) == expected  # str() reads back the same


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("localhost", "takes no names"),
        ("tunnel.example.com:15439", "takes no names"),
        ("/tmp/.s.PGSQL.5439", "takes no names"),  # a socket path never becomes a hostaddr
        ("@abstract", "takes no names"),
        ("127.0.0.1:0", "1-65535"),
        ("127.0.0.1:65536", "1-65535"),
        ("127.0.0.1:", "takes no names"),
        (":5439", "takes no names"),
        ("127.0.0.1:54 39", "takes no names"),
        ("127.0.0.1:٥٤٣٩", "takes no names"),  # non-ASCII digits
        ("[127.0.0.1]:5439", "takes no names"),
        ("[::1", "takes no names"),
        ("[::1]5439", "takes no names"),
        ("fe80::1%eth0", "zone id"),
        ("127.0.0.1,10.0.0.1", "takes no names"),  # libpq would read a list of addresses
    ],
)
def test_connect_address_that_is_not_one_ip_is_refused_before_any_aws_call(
    text: str, rule: str
) -> None:
    issuer = CountingIssuer()
    with pytest.raises(ConfigurationError, match=rule):
        source(issuer, connect_address=text).get()
    assert issuer.calls == 0


def test_every_rendering_carries_the_address_and_keeps_the_name_for_tls() -> None:
    credential = make_credential().via(ConnectAddress("127.0.0.1", 15439))
    params = credential.libpq_params()
    assert (params["host"], params["hostaddr"], params["port"]) == (NAME, "127.0.0.1", 15439)
    assert params["sslmode"] == "verify-full"
    # The DSN, as libpq itself (through psycopg) reads it back.
    parsed = psycopg.conninfo.conninfo_to_dict(credential.dsn())
    assert (parsed["host"], parsed["hostaddr"], parsed["port"]) == (NAME, "127.0.0.1", "15439")
    # SQLAlchemy: the URL's host is the name; hostaddr rides in the query, which the
    # PostgreSQL dialects hand to the driver.
    url = sqlalchemy.make_url(credential.sqlalchemy_url())
    assert (url.host, url.port, url.query["hostaddr"]) == (NAME, 15439, "127.0.0.1")
    _, driver_kwargs = url.get_dialect()().create_connect_args(url)
    assert (driver_kwargs["host"], driver_kwargs["hostaddr"]) == (NAME, "127.0.0.1")
    env = credential.environment()
    assert (env["PGHOST"], env["PGHOSTADDR"], env["PGPORT"]) == (NAME, "127.0.0.1", "15439")
    # libpq matches a passfile line's host against the host parameter (the name, even with a
    # hostaddr) and its port against the port connected to: the tunnel's.
    assert credential.pgpass_line().startswith(f"{NAME}:15439:dev:IAM\\:alice:")
    assert credential.as_seed_dict()["hostaddr"] == "127.0.0.1"
    assert "connect_address='127.0.0.1'" in repr(credential)
    assert PASSWORD not in repr(credential)


def test_without_a_connect_address_no_rendering_names_hostaddr() -> None:
    credential = make_credential()
    assert "hostaddr" not in credential.libpq_params()
    assert "hostaddr" not in credential.dsn()
    assert "hostaddr" not in credential.sqlalchemy_url()
    assert "PGHOSTADDR" not in credential.environment()
    assert "hostaddr" not in credential.as_seed_dict()


def test_ipv6_connect_address_renders_unbracketed_for_libpq() -> None:
    credential = make_credential().via(ConnectAddress("fd00::5"))
    assert credential.libpq_params()["hostaddr"] == "fd00::5"
    assert credential.port == 5439  # no port given: the endpoint's
    assert sqlalchemy.make_url(credential.sqlalchemy_url()).query["hostaddr"] == "fd00::5"


def test_a_credential_refuses_a_connect_address_that_is_not_an_ip() -> None:
    with pytest.raises(ConfigurationError, match="takes no names"):
        dataclasses.replace(make_credential(), connect_address="evil.example.com")
    with pytest.raises(ConfigurationError, match="holds a port"):
        dataclasses.replace(make_credential(), connect_address="127.0.0.1:5439")


def test_source_hands_out_credentials_reached_at_the_connect_address() -> None:
    issuer = CountingIssuer()
    credential = source(issuer, connect_address="127.0.0.1:15439").get()
    assert (credential.host, credential.connect_address, credential.port) == (
        NAME,
        "127.0.0.1",
        15439,
    )
    assert source(CountingIssuer(), connect_address="10.0.0.7").get().port == 5439


def test_connect_address_is_part_of_the_cache_key() -> None:
    """Two sources that differ only in the address must not share a credential: it holds
    the address."""
    one = source(CountingIssuer(), connect_address="127.0.0.1:15439")
    other = source(CountingIssuer(), connect_address="127.0.0.1:15440")
    plain = source(CountingIssuer())
    assert len({one.key, other.key, plain.key}) == 3


def test_connect_address_is_part_of_the_shared_key(tmp_path: Path) -> None:
    """In the file store too: another process with another address gets its own entry."""
    cache = CredentialCache(store=FileStore(private(tmp_path)))
    keys = {
        source(CountingIssuer(), cache, connect_address=address).key.shared
        for address in ("127.0.0.1:15439", "127.0.0.1:15440", None)
    }
    assert None not in keys
    assert len(keys) == 3


def test_connect_address_comes_from_flags_environment_and_config(tmp_path: Path) -> None:
    environ = {"REDSHIFT_EPHEMERAL_CONNECT_ADDRESS": "[::1]:15439", "HOME": str(tmp_path)}
    assert resolve({}, environ=environ)["connect_address"] == "[::1]:15439"
    assert resolve({"connect_address": "10.0.0.1"}, environ=environ)["connect_address"] == (
        "10.0.0.1"
    )
    with pytest.raises(ConfigurationError, match="takes no names"):
        resolve({}, environ={**environ, "REDSHIFT_EPHEMERAL_CONNECT_ADDRESS": "tunnel.local"})


@pytest.mark.parametrize("build", ["connect", "create_engine"])
def test_redshift_connector_with_a_connect_address_fails_before_any_aws_call(build: str) -> None:
    issuer = CountingIssuer()
    routed = source(issuer, connect_address="127.0.0.1:15439")
    opener = connect if build == "connect" else create_engine
    with pytest.raises(ConfigurationError, match="redshift_connector cannot use a connect"):
        opener(routed, driver="redshift_connector")
    assert issuer.calls == 0


def test_redshift_connector_kwargs_refuse_a_credential_with_a_connect_address() -> None:
    credential = make_credential().via(ConnectAddress("127.0.0.1"))
    with pytest.raises(ConfigurationError, match="no hostaddr"):
        credential.redshift_connector_kwargs()


def test_hostaddr_in_driver_options_is_still_refused_and_points_at_connect_address() -> None:
    issuer = CountingIssuer()
    with pytest.raises(ConfigurationError, match="connect_address"):
        connect(source(issuer), driver="psycopg", driver_options={"hostaddr": "10.9.9.9"})
    assert issuer.calls == 0


def test_exec_sets_its_own_pghostaddr_and_drops_an_inherited_one(tmp_path: Path) -> None:
    inherited = {"PGHOSTADDR": "10.9.9.9", "PATH": "/usr/bin"}
    routed = RefreshingPassfile(
        source(CountingIssuer(), connect_address="127.0.0.1:15439"), directory=private(tmp_path)
    )
    with routed:
        env = routed.child_environment(inherited)
        assert (env["PGHOST"], env["PGHOSTADDR"], env["PGPORT"]) == (NAME, "127.0.0.1", "15439")
        assert "PGPASSWORD" not in env
    plain = RefreshingPassfile(source(CountingIssuer()), directory=private(tmp_path))
    with plain:
        assert "PGHOSTADDR" not in plain.child_environment(inherited)


def test_the_shared_store_keeps_the_connect_address() -> None:
    credential = make_credential().via(ConnectAddress("127.0.0.1", 15439))
    restored = _credential_from(_credential_record(credential))
    assert (restored.connect_address, restored.port) == ("127.0.0.1", 15439)
    assert _credential_from(_credential_record(make_credential())).connect_address is None


def private(tmp_path: Path) -> Path:
    directory = tmp_path / "passfiles"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory


def test_the_agents_service_file_carries_the_connect_address(tmp_path: Path) -> None:
    from redshift_ephemeral.agent.rendering import service_section

    routed = make_credential().via(ConnectAddress("127.0.0.1", 15439))
    lines = service_section("reports", routed, tmp_path / "pgpass").splitlines()
    assert lines[1:4] == [f"host={NAME}", "hostaddr=127.0.0.1", "port=15439"]
    plain = service_section("reports", make_credential(), tmp_path / "pgpass")
    assert "hostaddr" not in plain
