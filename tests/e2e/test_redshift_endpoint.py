"""The stack's Redshift endpoint: the only database address, TLS only, Redshift's MD5 login
against every unexpired issued password, PostgreSQL unreachable behind it."""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import stat
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import psycopg2
import pytest

from redshift_ephemeral.cache import CredentialCache
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.db.connections import is_login_refused, open_driver_connection
from redshift_ephemeral.local import LocalStack
from redshift_ephemeral.local.postgres import ServerAccount
from tests.e2e.conftest import wait_until_expired
from tests.e2e.fake_server import read_exactly
from tests.leak_scan import raises

SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def startup(user: str, database: str = "dev") -> bytes:
    body = struct.pack("!i", 3 << 16) + b"".join(
        key + b"\0" + value.encode() + b"\0"
        for key, value in ((b"user", user), (b"database", database))
    )
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    header = read_exactly(sock, 5)
    (length,) = struct.unpack("!i", header[1:])
    return header[:1], read_exactly(sock, length - 4)


def error_fields(body: bytes) -> dict[str, str]:
    return {part[:1].decode(): part[1:].decode() for part in body.split(b"\0") if part}


@pytest.fixture
def tls_client(redshift_local: LocalStack) -> Iterator[Any]:
    """Opens raw TLS connections to the endpoint, as a hand-written client would."""
    opened: list[socket.socket] = []

    def open_tls() -> ssl.SSLSocket:
        raw = socket.create_connection(("localhost", redshift_local.redshift_port), timeout=10)
        raw.sendall(SSL_REQUEST)
        assert raw.recv(1) == b"S"
        context = ssl.create_default_context(cafile=redshift_local.ca_path)
        wrapped = context.wrap_socket(raw, server_hostname="localhost")
        opened.append(wrapped)
        return wrapped

    yield open_tls
    for sock in opened:
        sock.close()


def md5_challenge(sock: ssl.SSLSocket, user: str) -> bytes:
    sock.sendall(startup(user))
    kind, body = read_message(sock)
    assert kind == b"R"
    assert struct.unpack("!i", body[:4])[0] == 5  # AuthenticationMD5Password
    return body[4:8]


def md5_answer(password: str, user: str, salt: bytes) -> bytes:
    inner = hashlib.md5((password + user).encode(), usedforsecurity=False).hexdigest()
    return b"md5" + hashlib.md5(inner.encode() + salt, usedforsecurity=False).hexdigest().encode()


def send_password(sock: ssl.SSLSocket, answer: bytes) -> tuple[bytes, bytes]:
    payload = answer + b"\0"
    sock.sendall(b"p" + struct.pack("!i", len(payload) + 4) + payload)
    return read_message(sock)


# -- the one endpoint ------------------------------------------------------------------------


def test_describe_clusters_and_get_workgroup_advertise_the_endpoint(
    redshift_local: LocalStack,
) -> None:
    session = redshift_local.session()
    cluster = session.client("redshift", endpoint_url=redshift_local.endpoint_url)
    endpoint = cluster.describe_clusters(ClusterIdentifier="demo-cluster")["Clusters"][0][
        "Endpoint"
    ]
    assert (endpoint["Address"], endpoint["Port"]) == ("localhost", redshift_local.redshift_port)
    serverless = session.client("redshift-serverless", endpoint_url=redshift_local.endpoint_url)
    workgroup = serverless.get_workgroup(workgroupName="demo-workgroup")["workgroup"]
    assert workgroup["endpoint"]["address"] == "localhost"
    assert workgroup["endpoint"]["port"] == redshift_local.redshift_port


def test_postgresql_listens_only_on_a_socket_only_the_stack_reaches(
    redshift_local: LocalStack,
) -> None:
    credential = redshift_local.source(db_user="alice").get()
    with psycopg.connect(**credential.libpq_params()) as connection:
        listen = connection.execute("SHOW listen_addresses").fetchone()
        assert listen == ("",)  # no TCP at all
        # A login may not even learn where the socket is.
        with raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("SHOW unix_socket_directories")
    socket_directory = Path(redshift_local.ca_path).parent / "postgres" / "socket"
    assert any(socket_directory.glob(".s.PGSQL.*"))
    directory = socket_directory.stat()
    assert stat.S_IMODE(directory.st_mode) == 0o700
    # The account PostgreSQL runs as: ours, or (as root) an unprivileged one.
    account = ServerAccount.choose()
    assert directory.st_uid == (account.uid if account is not None else os.getuid())


# -- several passwords at once, each until its own expiry ------------------------------------


def test_three_passwords_from_three_caches_all_log_in_until_their_own_expiry(
    redshift_local: LocalStack,
) -> None:
    # 900 s → 3 s: with 1 s lifetimes, a loaded 2-core machine (CI beside other jobs) let the
    # first password expire before the first round of logins had run.
    redshift_local.set_knobs(time_scale=1 / 300)
    drivers = ("psycopg", "psycopg2", "redshift_connector")
    credentials: list[Credential] = [
        # Independent processes, in effect: each its own cache, each its own AWS call.
        redshift_local.source(
            db_user="alice", duration_seconds=900 * (index + 1), cache=CredentialCache()
        ).get()
        for index in range(3)
    ]
    assert len({c.password.reveal() for c in credentials}) == 3
    assert redshift_local.calls()["redshift:GetClusterCredentials"] == 3

    def login_error(driver: str, credential: Credential) -> Exception | None:
        """None if ``driver`` logs in with ``credential`` and reads my_table."""
        try:
            connection = open_driver_connection(driver, credential, {})  # type: ignore[arg-type]
        except Exception as error:
            return error
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM my_table")
        assert cursor.fetchone()[0] == 42
        connection.close()
        return None

    for expired in range(4):
        errors = [login_error(d, c) for d, c in zip(drivers, credentials, strict=True)]
        for index, error in enumerate(errors):
            if index >= expired:
                assert error is None, f"{drivers[index]}: {error}"
            else:  # refused as Redshift refuses, in words the library recognises
                assert error is not None
                assert is_login_refused(error), error
                assert 'password authentication failed for user "IAM:alice"' in str(error)
        if expired < 3:
            wait_until_expired(credentials[expired], margin=0.1)


# -- attacks ---------------------------------------------------------------------------------


def test_a_client_without_tls_is_refused_before_authentication(
    redshift_local: LocalStack,
) -> None:
    with socket.create_connection(("localhost", redshift_local.redshift_port), timeout=10) as raw:
        raw.sendall(startup("IAM:alice"))
        kind, body = read_message(raw)
        assert kind == b"E"  # no AuthenticationMD5Password: no password is ever asked for
        fields = error_fields(body)
        assert fields["S"] == "FATAL"
        assert fields["C"] == "28000"
        assert "no encryption" in fields["M"]
        assert raw.recv(1024) == b""


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_sslmode_disable_never_reaches_a_password_prompt(
    redshift_local: LocalStack, driver: str
) -> None:
    credential = redshift_local.source(db_user="alice").get()
    module: Any = psycopg2 if driver == "psycopg2" else psycopg
    kwargs = credential.libpq_params() | {"sslmode": "disable"}
    with raises(module.OperationalError, match="no encryption"):
        module.connect(**kwargs)


def test_a_wrong_md5_answer_is_refused_with_redshifts_message(
    redshift_local: LocalStack, tls_client: Any
) -> None:
    redshift_local.source(db_user="alice").get()
    sock = tls_client()
    salt = md5_challenge(sock, "IAM:alice")
    kind, body = send_password(sock, md5_answer("not-the-password", "IAM:alice", salt))
    assert kind == b"E"
    fields = error_fields(body)
    assert fields["C"] == "28P01"
    assert fields["M"] == 'password authentication failed for user "IAM:alice"'


def test_each_attempt_gets_a_fresh_salt_so_an_answer_cannot_be_replayed(
    redshift_local: LocalStack, tls_client: Any
) -> None:
    credential = redshift_local.source(db_user="alice").get()
    password = credential.password.reveal()
    first = tls_client()
    salt = md5_challenge(first, "IAM:alice")
    kind, _ = send_password(first, md5_answer(password, "IAM:alice", salt))
    assert kind == b"R"  # AuthenticationOk: the right answer works
    salts = {salt}
    for _ in range(3):
        again = tls_client()
        new_salt = md5_challenge(again, "IAM:alice")
        salts.add(new_salt)
        kind, body = send_password(again, md5_answer(password, "IAM:alice", salt))
        if new_salt != salt:
            assert kind == b"E"
            assert error_fields(body)["C"] == "28P01"
    assert len(salts) > 1


def test_one_users_valid_password_does_not_log_in_another_user(
    redshift_local: LocalStack,
) -> None:
    bobs = redshift_local.source(db_user="bob").get()
    redshift_local.source(db_user="alice").get()  # alice has a live password too
    as_alice = credential_for_user(bobs, "IAM:alice")
    with raises(psycopg.OperationalError) as refused:
        psycopg.connect(**as_alice.libpq_params())
    assert 'password authentication failed for user "IAM:alice"' in str(refused.value)
    assert is_login_refused(refused.value)


def credential_for_user(credential: Credential, user: str) -> Credential:
    import dataclasses

    return dataclasses.replace(credential, user=user)


# -- cancel requests reach the session behind the endpoint -----------------------------------


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_a_running_query_can_be_cancelled(redshift_local: LocalStack, driver: str) -> None:
    credential = redshift_local.source(db_user="alice").get()
    module: Any = psycopg2 if driver == "psycopg2" else psycopg
    connection = module.connect(**credential.libpq_params())
    try:
        timer = threading.Timer(0.5, connection.cancel)
        timer.start()
        started = time.monotonic()
        cursor = connection.cursor()
        with raises(module.errors.QueryCanceled):
            cursor.execute("SELECT pg_sleep(20)")
        assert time.monotonic() - started < 10
        timer.join()
    finally:
        connection.close()


def test_a_password_opens_only_the_database_it_was_issued_for(redshift_local: LocalStack) -> None:
    """Redshift ties a password to the DbName it was issued for."""
    credential = redshift_local.source(db_user="alice", database="dev").get()
    with psycopg.connect(**credential.libpq_params()) as connection:
        assert connection.execute("SELECT current_database()").fetchone() == ("dev",)
    for other in ("postgres", "template1"):
        with raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(**{**credential.libpq_params(), "dbname": other})
