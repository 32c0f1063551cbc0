"""The agent's parts without AWS: where its files go, what it writes, its schedule (an
injected clock), its lock, and its socket against real peers on a real Unix socket -
malformed, oversized, silent or disconnecting requests, and a user it must refuse."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from redshift_ephemeral.agent import protocol
from redshift_ephemeral.agent.client import AgentRefusedError, agent_password, ask
from redshift_ephemeral.agent.daemon import Agent, targets_to_keep
from redshift_ephemeral.agent.instance import AgentAlreadyRunning, InstanceLock
from redshift_ephemeral.agent.keeper import Keeper
from redshift_ephemeral.agent.paths import MAX_SOCKET_PATH_BYTES, AgentPathError, AgentPaths
from redshift_ephemeral.agent.rendering import (
    check_target_name,
    passfile_text,
    service_file,
    service_section,
)
from redshift_ephemeral.agent.server import MAX_CLIENTS, SocketServer
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.errors import AwsError, ConfigurationError
from redshift_ephemeral.secret import Secret
from redshift_ephemeral.targets import Operation
from tests.conftest import FakeClock

PASSWORD = "agent-unit-Pa55word"
START = 1_800_000_000.0


def credential_at(
    issued: float, lifetime: float = 900.0, *, password: str = PASSWORD, user: str = "IAM:alice"
) -> Credential:
    issued_at = datetime.fromtimestamp(issued, UTC)
    return Credential(
        host="demo.abc.us-east-1.redshift.amazonaws.com",
        port=5439,
        database="dev",
        user=user,
        password=Secret(password),
        issued_at=issued_at,
        expires_at=issued_at + timedelta(seconds=lifetime),
        operation=Operation.GET_CLUSTER_CREDENTIALS,
        sslrootcert="/etc/ssl/amazon.pem",
    )


# -- paths -----------------------------------------------------------------------------------


def test_the_agent_lives_in_the_runtime_directory() -> None:
    paths = AgentPaths.from_environment({"XDG_RUNTIME_DIR": "/run/user/1000"})
    assert paths.directory == "/run/user/1000/redshift-ephemeral/agent"
    assert paths.socket == "/run/user/1000/redshift-ephemeral/agent/agent.sock"
    assert paths.service_file.endswith("/pg_service.conf")
    assert paths.passfile.endswith("/pgpass")


@pytest.mark.parametrize(
    ("runtime", "says"),
    [
        (None, "XDG_RUNTIME_DIR is not set"),
        ("", "XDG_RUNTIME_DIR is not set"),
        ("run/user/1000", "relative path"),
        ("/" + "r" * 80, f"longer than the {MAX_SOCKET_PATH_BYTES}"),
    ],
)
def test_an_unusable_runtime_directory_is_a_configuration_error_naming_the_fix(
    runtime: str | None, says: str
) -> None:
    environ = {} if runtime is None else {"XDG_RUNTIME_DIR": runtime}
    with pytest.raises(AgentPathError, match=says) as caught:
        AgentPaths.from_environment(environ)
    assert isinstance(caught.value, ConfigurationError)  # exit 2
    assert "XDG_RUNTIME_DIR" in str(caught.value)
    assert "export XDG_RUNTIME_DIR=" in str(caught.value) or "shorter" in str(caught.value)


def test_the_longest_socket_path_that_fits_is_accepted() -> None:
    suffix = len("/redshift-ephemeral/agent/agent.sock")
    fits = "/" + "r" * (MAX_SOCKET_PATH_BYTES - suffix - 1)
    assert len(AgentPaths.from_environment({"XDG_RUNTIME_DIR": fits}).socket) == 107
    with pytest.raises(AgentPathError):
        AgentPaths.from_environment({"XDG_RUNTIME_DIR": fits + "r"})


# -- rendering -------------------------------------------------------------------------------


def parse_service_file(text: str) -> dict[str, dict[str, str]]:
    """As libpq reads it: lines stripped, comments skipped, [section], key=value."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line[1 : line.index("]")], {})
            continue
        assert current is not None
        key, value = line.split("=", 1)
        current[key] = value
    return sections


def test_a_service_section_names_where_and_who_and_the_passfile_never_the_password() -> None:
    text = service_file(
        {"reports": credential_at(START), "ops": credential_at(START, user="IAM:bob")},
        Path("/run/user/1/redshift-ephemeral/agent/pgpass"),
    )
    assert PASSWORD not in text
    assert parse_service_file(text) == {
        "ops": {
            "host": "demo.abc.us-east-1.redshift.amazonaws.com",
            "port": "5439",
            "dbname": "dev",
            "user": "IAM:bob",
            "sslmode": "verify-full",
            "sslrootcert": "/etc/ssl/amazon.pem",
            "passfile": "/run/user/1/redshift-ephemeral/agent/pgpass",
        },
        "reports": {
            "host": "demo.abc.us-east-1.redshift.amazonaws.com",
            "port": "5439",
            "dbname": "dev",
            "user": "IAM:alice",
            "sslmode": "verify-full",
            "sslrootcert": "/etc/ssl/amazon.pem",
            "passfile": "/run/user/1/redshift-ephemeral/agent/pgpass",
        },
    }


@pytest.mark.parametrize(
    ("sslrootcert", "problem"),
    [
        ("/tmp/ca.pem\nhost=evil.example.com", "line break"),
        ("/tmp/ca.pem\rhost=evil", "line break"),
        ("/tmp/ca\0.pem", "NUL"),
        ("/tmp/ca\x1b.pem", "control character"),
        ("/tmp/ca.pem ", "white space"),
        (" /tmp/ca.pem", "white space"),
        ("/" + "c" * 260, "255 bytes"),
    ],
)
def test_a_value_a_service_file_cannot_hold_is_refused_never_written(
    sslrootcert: str, problem: str
) -> None:
    import dataclasses

    credential = dataclasses.replace(credential_at(START), sslrootcert=sslrootcert)
    with pytest.raises(ConfigurationError, match=problem) as caught:
        service_section("reports", credential, Path("/run/pgpass"))
    assert "sslrootcert" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_a_passfile_path_a_service_file_cannot_hold_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="passfile"):
        service_section("reports", credential_at(START), Path("/run/a\nhost=x/pgpass"))


@pytest.mark.parametrize(
    "name", ["", "a]b", "re ports", "reports]\nhost=x", "-dash", "x" * 64, "ré", "env", "status"]
)
def test_a_target_name_that_cannot_be_a_section_is_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match="Rename the"):
        check_target_name(name)


@pytest.mark.parametrize("name", ["reports", "a", "prod.eu-west_1", "9x", "x" * 63])
def test_plain_target_names_are_sections(name: str) -> None:
    assert check_target_name(name) == name


def test_the_passfile_holds_one_line_per_login_newest_first() -> None:
    old = credential_at(START, password="old-Pa55")
    new = credential_at(START + 10, password="new-Pa55")
    bob = credential_at(START + 5, password="bob-Pa55", user="IAM:bob")
    lines = passfile_text([old, bob, new]).splitlines()
    assert [line.rsplit(":", 1)[1] for line in lines] == ["new-Pa55", "bob-Pa55"]
    assert lines[0] == new.pgpass_line()


def test_a_target_left_out_of_the_config_file_is_an_error(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    with pytest.raises(ConfigurationError, match="No targets to keep"):
        targets_to_keep([], environ)
    config = tmp_path / "redshift-ephemeral" / "config.toml"
    config.parent.mkdir()
    config.write_text('[targets.b]\ncluster_id = "x"\n[targets.a]\ncluster_id = "y"\n')
    assert targets_to_keep([], environ) == ["a", "b"]
    assert targets_to_keep(["b", "b"], environ) == ["b"]
    config.write_text('[targets."bad name"]\ncluster_id = "x"\n')
    with pytest.raises(ConfigurationError, match=r"cannot be a pg_service\.conf section"):
        targets_to_keep([], environ)


# -- the schedule ----------------------------------------------------------------------------


class Issuer:
    """Issues credentials on the fake clock; fails while ``failing`` is set."""

    def __init__(self, clock: FakeClock, lifetime: float = 100.0):
        self.clock, self.lifetime, self.calls, self.failing = clock, lifetime, 0, False

    def __call__(self) -> Credential:
        self.calls += 1
        if self.failing:
            raise AwsError("AWS is unreachable (test)")
        return credential_at(self.clock(), self.lifetime, password=f"{PASSWORD}-{self.calls}")


@pytest.fixture
def wall() -> FakeClock:
    return FakeClock(START)


def test_the_keeper_refreshes_at_the_advisory_point_and_not_before(wall: FakeClock) -> None:
    issuer, changes = Issuer(wall), []
    keeper = Keeper({"reports": issuer}, clock=wall, on_change=lambda: changes.append(1))
    assert keeper.tick() == 30.0  # it looks again at least every 30 s (a clock may jump)
    assert keeper.targets["reports"].next_attempt == START + 75  # last 25 % of 100 s
    assert (issuer.calls, len(changes)) == (1, 1)
    wall.advance(74.9)
    keeper.tick()
    assert issuer.calls == 1
    wall.advance(0.1)
    keeper.tick()
    assert (issuer.calls, len(changes)) == (2, 2)
    current = keeper.current("reports")
    assert current is not None
    assert current.password.reveal() == f"{PASSWORD}-2"


def test_a_failed_refresh_keeps_the_valid_password_retries_with_backoff_never_serves_expired(
    wall: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    issuer, changes = Issuer(wall), []
    keeper = Keeper({"reports": issuer}, clock=wall, on_change=lambda: changes.append(1))
    keeper.tick()
    wall.advance(75)
    issuer.failing = True
    delays = []
    for _ in range(4):
        delays.append(keeper.tick())
        current = keeper.current("reports")
        assert current is not None
        assert current.password.reveal() == f"{PASSWORD}-1"  # kept while valid
        wall.advance(delays[-1])
    assert delays == pytest.approx([2.0, 4.0, 5.0, 5.0])  # 2 %, doubling, at most 5 %
    assert "AWS is unreachable" in caplog.text
    assert PASSWORD not in caplog.text
    wall.advance(100)  # past expiry
    keeper.tick()
    assert keeper.current("reports") is None
    assert keeper.valid_credentials() == {}
    assert "reports" in keeper.known_credentials()  # where to connect is still known
    issuer.failing = False
    wall.advance(keeper.tick())
    keeper.tick()
    current = keeper.current("reports")
    assert current is not None
    assert current.password.reveal().startswith(PASSWORD)
    assert keeper.targets["reports"].failures == 0


def test_a_target_that_never_worked_is_retried_from_one_second(wall: FakeClock) -> None:
    issuer = Issuer(wall)
    issuer.failing = True
    keeper = Keeper({"reports": issuer}, clock=wall)
    assert [keeper.tick() for _ in range(1)] == [1.0]
    wall.advance(1.0)
    assert keeper.tick() == 2.0
    assert keeper.current("reports") is None


def test_a_credential_kept_by_the_cache_in_its_advisory_window_is_retried_soon(
    wall: FakeClock,
) -> None:
    held = credential_at(START)
    keeper = Keeper({"reports": lambda: held}, clock=wall)  # as a cache whose refresh failed
    keeper.tick()
    wall.advance(700)
    assert keeper.tick() == pytest.approx(18.0)  # 2 % of 900 s
    assert keeper.current("reports") is held


# -- one agent per user ----------------------------------------------------------------------


def test_a_second_agent_is_refused_naming_the_first_and_a_leftover_lock_blocks_nobody(
    tmp_path: Path,
) -> None:
    first, second = InstanceLock(tmp_path / "agent.lock"), InstanceLock(tmp_path / "agent.lock")
    first.acquire()
    with pytest.raises(AgentAlreadyRunning, match=f"pid {os.getpid()}"):
        second.acquire()
    first.release()
    assert not (tmp_path / "agent.lock").exists()
    (tmp_path / "agent.lock").write_text("999999\n")  # what a SIGKILLed agent leaves
    second.acquire()
    assert (tmp_path / "agent.lock").read_text() == f"{os.getpid()}\n"
    second.release()


# -- the socket ------------------------------------------------------------------------------


@pytest.fixture
def short_directory() -> Iterator[Path]:
    """A directory whose socket path fits in sun_path (pytest's tmp_path may not)."""
    directory = Path(tempfile.mkdtemp(prefix="ag-"))
    directory.chmod(0o700)
    yield directory
    shutil.rmtree(directory)


class Answers:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []

    def __call__(self, op: str, target: str | None) -> dict[str, Any]:
        self.asked.append((op, target))
        return {"ok": True, "password": PASSWORD}


@pytest.fixture
def served(short_directory: Path) -> Iterator[tuple[Path, Answers, SocketServer]]:
    answers = Answers()
    server = SocketServer(short_directory / "agent.sock", answers)
    server.bind()
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    yield short_directory / "agent.sock", answers, server
    stop.set()
    thread.join(timeout=5)
    server.close()


def exchange(path: Path, data: bytes, *, close_write: bool = False) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(10)
        connection.connect(str(path))
        connection.sendall(data)
        if close_write:
            connection.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def test_the_socket_is_private_and_answers_a_password_request(
    served: tuple[Path, Answers, SocketServer],
) -> None:
    path, answers, _ = served
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    answer = json.loads(exchange(path, protocol.request("password", "reports")))
    assert answer == {"ok": True, "password": PASSWORD}
    assert answers.asked == [("password", "reports")]


@pytest.mark.parametrize(
    ("request_line", "says"),
    [
        (b"not json\n", "not a JSON message"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'{"v": 2, "op": "password", "target": "x"}\n', "protocol version"),
        (b'{"v": 1, "op": "shutdown"}\n', "unknown operation"),
        (b'{"v": 1, "op": "password"}\n', "needs a target"),
        (b'{"v": 1, "op": "password", "target": 7}\n', "needs a target"),
        (b"\xff\xfe\n", "not a JSON message"),
        (b"[" * 5000 + b"\n", "longer than"),
        (b"x" * (protocol.MAX_REQUEST_BYTES + 1) + b"\n", "longer than"),
        (b'{"v": 1, "op": "status"}', "closed the connection"),  # no newline, then EOF
    ],
)
def test_a_malformed_request_gets_an_error_and_the_agent_keeps_serving(
    served: tuple[Path, Answers, SocketServer], request_line: bytes, says: str
) -> None:
    path, answers, _ = served
    answer = json.loads(exchange(path, request_line, close_write=True))
    assert answer["ok"] is False
    assert answer["code"] == protocol.BAD_REQUEST
    assert says in answer["error"]
    assert answers.asked == []
    assert json.loads(exchange(path, protocol.request("status")))["ok"] is True


def test_peers_that_disconnect_or_stay_silent_cost_a_bounded_time(
    served: tuple[Path, Answers, SocketServer],
) -> None:
    path, _, _ = served
    for _ in range(5):  # connect and vanish
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(str(path))
    silent = []
    for _ in range(MAX_CLIENTS + 4):  # more idle peers than the agent serves at once
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(str(path))
        silent.append(connection)
    started = time.monotonic()
    try:
        answer = b""
        deadline = started + protocol.READ_TIMEOUT_SECONDS * 3
        while not answer and time.monotonic() < deadline:  # served once the silent time out
            try:
                answer = exchange(path, protocol.request("password", "reports"))
            except OSError:
                time.sleep(0.1)
        assert json.loads(answer)["ok"] is True
        assert time.monotonic() - started < protocol.READ_TIMEOUT_SECONDS * 3
    finally:
        for connection in silent:
            connection.close()


def test_a_peer_of_another_uid_is_refused_before_its_request_is_looked_at(
    short_directory: Path,
) -> None:
    answers = Answers()
    # The agent's own uid is what SO_PEERCRED is compared with; here it is not ours.
    server = SocketServer(short_directory / "agent.sock", answers, uid=os.getuid() + 1)
    server.bind()
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        raw = exchange(short_directory / "agent.sock", protocol.request("password", "reports"))
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
    answer = json.loads(raw)
    assert answer["code"] == protocol.REFUSED
    assert f"you are uid {os.getuid()}" in answer["error"]
    assert PASSWORD.encode() not in raw
    assert answers.asked == []
    assert not (short_directory / "agent.sock").exists()  # close() removes it


# -- the client ------------------------------------------------------------------------------


def runtime_for(directory: Path) -> dict[str, str]:
    return {"XDG_RUNTIME_DIR": str(directory)}


def test_no_agent_means_fetch_it_yourself(short_directory: Path) -> None:
    assert agent_password("reports", runtime_for(short_directory)) is None  # no directory
    assert agent_password("reports", {}) is None  # no XDG_RUNTIME_DIR: no agent either
    agent_directory = short_directory / "redshift-ephemeral" / "agent"
    agent_directory.mkdir(mode=0o700, parents=True)
    assert agent_password("reports", runtime_for(short_directory)) is None  # no socket
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # a SIGKILLed agent's socket
    dead.bind(str(agent_directory / "agent.sock"))
    dead.close()
    assert agent_password("reports", runtime_for(short_directory)) is None


def test_an_agent_directory_open_to_others_is_not_trusted(short_directory: Path) -> None:
    agent_directory = short_directory / "redshift-ephemeral" / "agent"
    agent_directory.mkdir(mode=0o700, parents=True)
    agent_directory.chmod(0o777)
    with pytest.raises(AgentRefusedError, match="open to other users"):
        ask(protocol.request("status"), runtime_for(short_directory))


def test_the_client_reads_the_password_from_a_running_agent(short_directory: Path) -> None:
    paths = AgentPaths.from_environment(runtime_for(short_directory))
    wall = FakeClock(time.time())
    issuer = Issuer(wall, lifetime=900)
    agent = Agent({"reports": issuer}, paths, clock=wall)
    agent.start()
    try:
        assert agent_password("reports", runtime_for(short_directory)) == f"{PASSWORD}-1"
        assert agent_password("other", runtime_for(short_directory)) is None  # not kept
        for path in (paths.socket, paths.passfile, paths.service_file, paths.directory):
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            assert mode == (0o700 if path == paths.directory else 0o600), path
        assert (
            Path(paths.passfile).read_text()
            == issuer().pgpass_line().replace(f"{PASSWORD}-2", f"{PASSWORD}-1") + "\n"
        )
        status = agent.status()
        assert PASSWORD not in json.dumps(status)
        wall.advance(10_000)  # expired, and AWS fails: an error, never the expired password
        issuer.failing = True
        answer = agent.answer("password", "reports")
        assert answer["code"] == protocol.UNAVAILABLE
        assert PASSWORD not in json.dumps(answer)
    finally:
        agent.stop()
    for path in (paths.socket, paths.passfile, paths.service_file, paths.lock):
        assert not os.path.exists(path), path
