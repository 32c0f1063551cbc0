"""The agent against the local stack, as users run it: the installed console script in the
background, real psql through `service=`, a second user's process, signals, and the
password command with and without an agent."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from redshift_ephemeral.agent import protocol
from redshift_ephemeral.local import LocalStack
from tests.e2e.conftest import CLI, run_cli
from tests.leak_scan import RECORD

TARGET = "reports"
CONFIG = f'[targets.{TARGET}]\ncluster_id = "demo-cluster"\ndb_user = "alice"\n'
START_SECONDS = 60.0


def psql_binary() -> str:
    found = shutil.which("psql") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), reverse=True)), None
    )
    if found is None:
        pytest.skip("psql is not installed (apt-get install -y postgresql-client)")
    return str(found)


def write_config(env: Mapping[str, str], text: str = CONFIG) -> None:
    path = Path(env["XDG_CONFIG_HOME"]) / "redshift-ephemeral" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def agent_directory(env: Mapping[str, str]) -> Path:
    return Path(env["XDG_RUNTIME_DIR"]) / "redshift-ephemeral" / "agent"


class RunningAgent:
    """`redshift-ephemeral agent` in the background; its output goes to files (a full pipe
    would block it) and, at the end, to the leak scan."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_directory: Path,
        *args: str,
        command: Sequence[str] = (CLI,),
        **popen: object,
    ):
        self.directory = agent_directory(env)
        self.stdout_path = log_directory / f"agent-{time.monotonic_ns()}.out"
        self.stderr_path = self.stdout_path.with_suffix(".err")
        with self.stdout_path.open("w") as stdout, self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [*command, "agent", *args],
                env={**env, "REDSHIFT_EPHEMERAL_LOG": "debug"},
                stdout=stdout,
                stderr=stderr,
                **popen,  # type: ignore[call-overload]
            )
        for path in (self.stdout_path, self.stderr_path):
            path.chmod(0o666)  # an agent run as another user writes through the open file

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not (self.directory / "agent.sock").exists():
            if self.process.poll() is not None:
                raise AssertionError(f"the agent exited {self.process.returncode}: {self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the agent did not start in time: {self.output()}")
            time.sleep(0.05)
        # Started: its first lines name the files.
        deadline = time.monotonic() + 10
        while "service file" not in self.stdout_path.read_text():
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)

    def output(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return int(self.process.wait(timeout=30))
        finally:
            RECORD.output("stdout of redshift-ephemeral agent", self.stdout_path.read_text())
            RECORD.output("stderr of redshift-ephemeral agent", self.stderr_path.read_text())


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[list[RunningAgent]]:
    started: list[RunningAgent] = []
    yield started
    for agent in started:
        agent.stop(signal.SIGKILL)


def start_agent(
    agents: list[RunningAgent],
    env: Mapping[str, str],
    tmp_path: Path,
    *args: str,
    command: Sequence[str] = (CLI,),
    **popen: object,
) -> RunningAgent:
    agent = RunningAgent(env, tmp_path, *args, command=command, **popen)
    agents.append(agent)
    agent.wait_ready()
    return agent


def passfile_password(directory: Path) -> str:
    line = (directory / "pgpass").read_text().splitlines()[0]
    return line.rsplit(":", 1)[1]


def test_psql_through_the_agent_s_service_stays_connected_across_expiries(
    env: dict[str, str],
    redshift_local: LocalStack,
    tmp_path: Path,
    agents: list[RunningAgent],
) -> None:
    psql = psql_binary()
    redshift_local.set_knobs(time_scale=1 / 300)  # 900 s → 3 s
    write_config(env)
    agent = start_agent(agents, env, tmp_path)
    exported = run_cli(["agent", "env"], env).stdout.splitlines()
    assert exported == [
        f"export PGSERVICEFILE={agent.directory / 'pg_service.conf'}",
        f"export PGPASSFILE={agent.directory / 'pgpass'}",
    ]
    libpq = dict(line.removeprefix("export ").split("=", 1) for line in exported)
    assert str(agent.directory / "pg_service.conf") in agent.output()
    assert oct(agent.directory.stat().st_mode & 0o777) == "0o700"
    for name in ("pg_service.conf", "pgpass", "agent.sock"):
        assert oct((agent.directory / name).stat().st_mode & 0o777) == "0o600", name

    passwords: set[str] = set()
    users: list[str] = []
    deadline = time.monotonic() + 11  # > 3 lifetimes of 3 s
    while time.monotonic() < deadline:
        result = subprocess.run(
            [psql, f"service={TARGET}", "-tAc", "SELECT current_user"],
            env=env | libpq,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        RECORD.output("psql through the agent", result.stdout + result.stderr)
        assert result.returncode == 0, result.stderr
        users.append(result.stdout.strip())
        passwords.add(passfile_password(agent.directory))
        time.sleep(0.5)
    assert set(users) == {"IAM:alice"}
    assert len(users) >= 15
    assert len(passwords) >= 4  # the first password and at least three refreshes
    assert redshift_local.calls()["redshift:GetClusterCredentials"] >= 4
    assert agent.stop() == 0


def test_the_password_command_asks_the_agent_and_falls_back_without_one(
    env: dict[str, str],
    redshift_local: LocalStack,
    tmp_path: Path,
    agents: list[RunningAgent],
) -> None:
    write_config(env)
    # No agent: fetched here, through the shared cache.
    first = run_cli(["password", TARGET], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("\n") == 1
    password = first.stdout.removesuffix("\n")
    assert password in redshift_local.issued_passwords()
    assert run_cli(["password", TARGET], env).stdout == first.stdout  # the shared cache
    assert redshift_local.calls()["redshift:GetClusterCredentials"] == 1
    # With the agent: its password, no AWS call for the command.
    agent = start_agent(agents, env, tmp_path)
    calls = redshift_local.calls()["redshift:GetClusterCredentials"]
    served = run_cli(["password", TARGET], env)
    assert served.returncode == 0, served.stderr
    assert served.stdout == passfile_password(agent.directory) + "\n"
    assert redshift_local.calls()["redshift:GetClusterCredentials"] == calls
    # A target the agent does not keep: fetched here.
    write_config(env, CONFIG + '[targets.other]\ncluster_id = "demo-cluster"\ndb_user = "bob"\n')
    other = run_cli(["password", "other"], env)
    assert other.returncode == 0, other.stderr
    assert other.stdout.removesuffix("\n") in redshift_local.issued_passwords()
    status = run_cli(["agent", "status", "--json"], env)
    assert json.loads(status.stdout)["targets"][0]["name"] == TARGET
    assert agent.stop() == 0


def test_sigterm_removes_everything_a_second_agent_is_refused_a_killed_one_blocks_nobody(
    env: dict[str, str],
    redshift_local: LocalStack,
    tmp_path: Path,
    agents: list[RunningAgent],
) -> None:
    write_config(env)
    first = start_agent(agents, env, tmp_path)
    second = run_cli(["agent"], env)
    assert second.returncode == 2
    assert f"already running for this user (pid {first.process.pid}" in second.stderr
    assert first.stop(signal.SIGTERM) == 0
    assert sorted(path.name for path in first.directory.iterdir()) == []
    assert "socket and files are removed" in first.output()

    killed = start_agent(agents, env, tmp_path)
    assert killed.stop(signal.SIGKILL) == -signal.SIGKILL
    leftovers = sorted(path.name for path in killed.directory.iterdir())
    assert leftovers == ["agent.lock", "agent.sock", "pg_service.conf", "pgpass"]
    fallback = run_cli(["password", TARGET], env)  # a dead agent's socket: fetched here
    assert fallback.returncode == 0, fallback.stderr
    third = start_agent(agents, env, tmp_path)
    served = run_cli(["password", TARGET], env)
    assert served.stdout == passfile_password(third.directory) + "\n"
    assert third.stop(signal.SIGINT) == 0
    assert list(third.directory.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"XDG_RUNTIME_DIR": ""}, "XDG_RUNTIME_DIR is not set"),
        ({"XDG_RUNTIME_DIR": "relative/run"}, "must be absolute"),
        ({"XDG_RUNTIME_DIR": "/" + "r" * 90}, "Unix socket address"),
    ],
)
def test_an_unusable_runtime_directory_stops_the_agent_with_exit_2(
    env: dict[str, str], change: dict[str, str], says: str
) -> None:
    write_config(env)
    result = run_cli(["agent"], env | change, logs=False)
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_no_configured_target_is_an_error_naming_the_fix(env: dict[str, str]) -> None:
    result = run_cli(["agent"], env, logs=False)
    assert result.returncode == 2
    assert "No targets to keep" in result.stderr
    assert "[targets.<name>]" in result.stderr


# -- a second user ---------------------------------------------------------------------------


@contextlib.contextmanager
def home_of(account: pwd.struct_passwd, ca_file: str) -> Iterator[dict[str, str]]:
    """Private directories owned by ``account`` (and a copy of the stack's CA it can read)."""
    root = Path(tempfile.mkdtemp(prefix="rse-agent-", dir="/tmp"))
    root.chmod(0o711)
    directories = {}
    for variable in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "TMPDIR"):
        directory = root / variable.lower()
        directory.mkdir(mode=0o700)
        os.chown(directory, account.pw_uid, account.pw_gid)
        directories[variable] = str(directory)
    ca = Path(directories["HOME"]) / "ca.pem"
    shutil.copyfile(ca_file, ca)
    os.chown(ca, account.pw_uid, account.pw_gid)
    directories["REDSHIFT_EPHEMERAL_SSLROOTCERT"] = str(ca)
    try:
        yield directories
    finally:
        shutil.rmtree(root, ignore_errors=True)


def command_for(account: pwd.struct_passwd) -> list[str]:
    """This venv's console script as ``account`` can run it: this interpreter if the account
    may execute it, else a system Python of the same version given this venv's packages (a
    venv made from a Python under root's 0700 home is out of the account's reach)."""
    bootstrap = (
        "import site, sys; site.addsitedir(sys.argv.pop(1)); "
        "from redshift_ephemeral.cli.main import main; sys.exit(main())"
    )
    packages = sysconfig.get_paths()["purelib"]
    for interpreter in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        try:
            probe = subprocess.run(
                [interpreter, "-c", "import sys; print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                check=False,
                user=account.pw_uid,
                group=account.pw_gid,
                extra_groups=[],
                cwd="/",
                timeout=30,
            )
        except OSError:  # missing, or not executable by the account
            continue
        if probe.stdout.strip() == str(sys.version_info[:2]):
            return [interpreter, "-c", bootstrap, packages]
    pytest.skip(f"no Python {sys.version_info[:2]} that {account.pw_name} may run")


def test_another_user_s_process_is_refused_by_the_agent_s_peer_check(
    env: dict[str, str],
    redshift_local: LocalStack,
    tmp_path: Path,
    agents: list[RunningAgent],
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root, to run the agent as another (unprivileged) user")
    account = pwd.getpwnam("nobody")
    # Not coverage's subprocess hook: the unprivileged agent cannot write its data file.
    clean = {key: value for key, value in env.items() if not key.startswith("COVERAGE")}
    with home_of(account, env["REDSHIFT_EPHEMERAL_SSLROOTCERT"]) as directories:
        agent_env = clean | directories
        write_config(agent_env)
        config = Path(agent_env["XDG_CONFIG_HOME"]) / "redshift-ephemeral"
        for path in (config, config / "config.toml"):
            os.chown(path, account.pw_uid, account.pw_gid)
        command = command_for(account)
        as_account = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        agent = start_agent(agents, agent_env, tmp_path, command=command, cwd="/", **as_account)
        assert agent.directory.stat().st_uid == account.pw_uid
        password = passfile_password(agent.directory)

        # Root passes the 0700 directory and the 0600 socket; the kernel's peer check does not.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(10)
            connection.connect(str(agent.directory / "agent.sock"))
            connection.sendall(protocol.request("password", TARGET))
            raw = b""
            while chunk := connection.recv(65536):
                raw += chunk
        RECORD.output("the agent's answer to root", raw.decode("utf-8", "replace"))
        answer = json.loads(raw)
        assert answer["ok"] is False
        assert answer["code"] == protocol.REFUSED
        assert f"serves uid {account.pw_uid} only, and you are uid 0" in answer["error"]
        assert password.encode() not in raw

        # Root's own password command does not even ask a directory that is not root's.
        refused = run_cli(["password", TARGET], clean | directories, logs=False)
        assert refused.returncode == 2
        assert refused.stdout == ""
        assert "not a directory of yours" in refused.stderr
        assert password not in refused.stderr

        # The agent's own user is served.
        served = subprocess.run(
            [*command, "password", TARGET],
            env=agent_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd="/",
            user=account.pw_uid,
            group=account.pw_gid,
            extra_groups=[],
        )
        RECORD.output("stderr of password as the agent's user", served.stderr)
        assert served.returncode == 0, served.stderr
        assert served.stdout == password + "\n"
        assert agent.stop() == 0
        assert "refused a request from uid 0" in agent.output()
