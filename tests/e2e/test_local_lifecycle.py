"""The local stack starts, runs side by side, and leaves nothing behind however it ends."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from redshift_ephemeral.local import LocalStack
from tests.e2e.conftest import CLI, count_rows, run_cli


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def wait_for(condition: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def base_dir_of(ca_path: str) -> Path:
    return Path(ca_path).parent


def test_demo_runs_end_to_end_and_leaves_nothing_behind() -> None:
    started = time.monotonic()
    result = run_cli(["demo"], dict(os.environ))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "SELECT COUNT(*) FROM my_table → 42" in output
    assert "user IAM:alice" in output
    assert "now refused by the server" in output
    assert "password authentication failed" in output
    assert elapsed < 30, f"demo took {elapsed:.1f} s"
    ca_path = re.search(r"local CA: (\S+\.pem)", output)
    assert ca_path is not None
    base = base_dir_of(ca_path[1])
    assert not base.exists()
    assert processes_mentioning(str(base)) == []


CHILD = """
import json, sys, time
from redshift_ephemeral.local import LocalStack
stack = LocalStack().start()
print(json.dumps({"ca": stack.ca_path, "pid": stack.pid}), flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("ending", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_stack_stops_and_cleans_up_when_its_owner_ends(ending: signal.Signals) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        base = base_dir_of(info["ca"])
        assert base.exists()
        assert processes_mentioning(str(base)) != []
        child.send_signal(ending)
        child.wait(timeout=60)
        wait_for(
            lambda: not base.exists() and processes_mentioning(str(base)) == [],
            "the stack to stop and remove its directory",
        )
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_two_stacks_run_side_by_side(redshift_local: LocalStack) -> None:
    with LocalStack() as second:
        assert second.redshift_port != redshift_local.redshift_port
        assert second.endpoint_url != redshift_local.endpoint_url
        for stack in (redshift_local, second):
            assert count_rows("psycopg", stack.source(db_user="alice").get()) == 42


REDSHIFT_CONNECTOR_WITH_SHELL_ENV = """
import json, os, shlex, subprocess, sys
import redshift_connector
lines = subprocess.run(
    [sys.argv[1], "creds", "--db-user", "alice", "--format", "env"],
    capture_output=True, text=True, check=True,
).stdout.splitlines()
pg = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in lines)
try:
    # No CA parameter exists: only SSL_CERT_FILE (from `local env`) makes it trust the stack.
    connection = redshift_connector.connect(
        host=pg["PGHOST"], port=int(pg["PGPORT"]), database=pg["PGDATABASE"],
        user=pg["PGUSER"], password=pg["PGPASSWORD"], ssl=True, sslmode="verify-full",
    )
except Exception as error:
    print("refused:", type(error).__name__, "certificate" in str(error).lower())
    sys.exit(1)
cursor = connection.cursor()
cursor.execute("SELECT COUNT(*) FROM my_table")
print("rows", cursor.fetchone()[0])
"""


def stack_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    for name in [n for n in env if n.startswith(("AWS_", "REDSHIFT_EPHEMERAL_", "SSL_CERT"))]:
        if name != "AWS_CA_BUNDLE":
            env.pop(name)
    return env


def test_local_up_env_status_down(tmp_path: Path) -> None:
    env = stack_env(tmp_path)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), env)

    # Two `local up` at the same moment start one stack; both report it.
    ups = [
        subprocess.Popen([CLI, "local", "up"], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [up.communicate(timeout=120)[0] for up in ups]
    assert [up.returncode for up in ups] == [0, 0], outputs
    pids = {re.search(r"pid (\d+)", output)[1] for output in outputs}  # type: ignore[index]
    try:
        state = next(tmp_path.glob("redshift-ephemeral-*/local-stack.json"))
        assert len(pids) == 1
        assert processes_mentioning(str(state)) == [int(next(iter(pids)))]
        assert state.stat().st_mode & 0o777 == 0o600
        assert state.parent.stat().st_mode & 0o777 == 0o700
        exported = cli("local", "env")
        assert exported.returncode == 0
        variables = dict(re.findall(r"^export (\w+)=(\S+)$", exported.stdout, re.MULTILINE))
        assert variables["REDSHIFT_EPHEMERAL_CLUSTER_ID"] == "demo-cluster"
        for name in (
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "REDSHIFT_EPHEMERAL_SSLROOTCERT",
            "SSL_CERT_FILE",
        ):
            assert name in variables
        # SSL_CERT_FILE: the public roots (other TLS clients keep working) + the stack's CA.
        bundle = Path(variables["SSL_CERT_FILE"]).read_text()
        import certifi

        assert Path(certifi.where()).read_text().strip() in bundle
        assert Path(variables["REDSHIFT_EPHEMERAL_SSLROOTCERT"]).read_text().strip() in bundle
        # `eval "$(redshift-ephemeral local env)"` then `creds --db-user alice` works.
        shell = subprocess.run(
            ["bash", "-c", f'eval "$({CLI} local env)" && {CLI} creds --db-user alice'],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert shell.returncode == 0, shell.stderr
        assert "IAM:alice" in shell.stdout
        # An unmodified redshift_connector trusts the stack through SSL_CERT_FILE alone.
        script = tmp_path / "rc.py"
        script.write_text(REDSHIFT_CONNECTOR_WITH_SHELL_ENV)
        for keep_bundle, expected in ((True, "rows 42"), (False, "refused:")):
            unset = "" if keep_bundle else "unset SSL_CERT_FILE && "
            connector = subprocess.run(
                [
                    "bash",
                    "-c",
                    f'eval "$({CLI} local env)" && {unset}{sys.executable} {script} {CLI}',
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )
            assert expected in connector.stdout, connector.stderr[-2000:]
        status = cli("local", "status")
        assert status.returncode == 0
        assert "redshift:GetClusterCredentials=" in status.stdout
        as_json = cli("local", "status", "--json")
        assert as_json.returncode == 0
        document = json.loads(as_json.stdout)
        assert document["calls"]["redshift:GetClusterCredentials"] >= 1
        assert document["ca_path"] == variables["REDSHIFT_EPHEMERAL_SSLROOTCERT"]
        assert document["aws_endpoint_url"] == variables["AWS_ENDPOINT_URL"]
        assert document["region"] == "us-east-1"
        assert document["redshift_endpoint"]["host"] == "localhost"
        assert str(document["redshift_endpoint"]["port"]) in status.stdout
        assert "control_token" not in as_json.stdout
        assert variables["AWS_SECRET_ACCESS_KEY"] not in as_json.stdout
    finally:
        down = cli("local", "down")
    assert down.returncode == 0
    assert "stopped" in down.stdout
    assert not state.exists()
    assert processes_mentioning(str(state)) == []
    assert cli("local", "status").returncode == 2


@pytest.fixture
def unrelated_process() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def plant_state(tmp_path: Path, info: dict[str, object], mode: int = 0o600) -> Path:
    directory = tmp_path / f"redshift-ephemeral-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    state = directory / "local-stack.json"
    state.write_text(json.dumps(info))
    state.chmod(mode)
    return state


def test_a_stale_state_file_with_a_reused_pid_is_never_signalled(
    tmp_path: Path, unrelated_process: subprocess.Popen[bytes]
) -> None:
    from redshift_ephemeral._processes import start_time

    started = start_time(unrelated_process.pid)
    assert started is not None
    # A stack that ran under this PID earlier (so: an earlier start) and died uncleanly.
    plant_state(
        tmp_path,
        {
            "pid": unrelated_process.pid,
            "process_start": started - 100,
            "endpoint_url": "http://127.0.0.1:9",
            "control_token": "x",
        },
    )
    env = stack_env(tmp_path)
    assert run_cli(["local", "status"], env).returncode == 2
    down = run_cli(["local", "down"], env)
    assert "no local stack was running" in down.stdout
    time.sleep(0.2)
    assert unrelated_process.poll() is None


@pytest.mark.parametrize("mode", [0o644, 0o620])
def test_a_state_file_others_could_write_or_read_is_not_trusted(
    tmp_path: Path, unrelated_process: subprocess.Popen[bytes], mode: int
) -> None:
    from redshift_ephemeral._processes import start_time

    # Even naming a live process exactly, a loose file is not believed.
    plant_state(
        tmp_path,
        {"pid": unrelated_process.pid, "process_start": start_time(unrelated_process.pid)},
        mode,
    )
    env = stack_env(tmp_path)
    assert run_cli(["local", "status"], env).returncode == 2
    assert "no local stack was running" in run_cli(["local", "down"], env).stdout
    time.sleep(0.2)
    assert unrelated_process.poll() is None
