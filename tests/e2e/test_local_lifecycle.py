"""The local stack starts, runs side by side, and leaves nothing behind however it ends."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redshift_ephemeral import ConfigurationError
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


def test_missing_postgres_binaries_give_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shutil.which", lambda _: None)
    monkeypatch.setattr("glob.glob", lambda _: [])
    with pytest.raises(ConfigurationError) as caught:
        LocalStack().start()
    message = str(caught.value)
    assert "apt-get install -y postgresql" in message
    assert "brew install postgresql" in message


def test_local_up_env_status_down(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    for name in [n for n in env if n.startswith(("AWS_", "REDSHIFT_EPHEMERAL_"))]:
        if name != "AWS_CA_BUNDLE":
            env.pop(name)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), env)

    up = cli("local", "up")
    assert up.returncode == 0, up.stderr
    try:
        state = next(tmp_path.glob("redshift-ephemeral-*/local-stack.json"))
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
        ):
            assert name in variables
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
        status = cli("local", "status")
        assert status.returncode == 0
        assert "redshift:GetClusterCredentials=1" in status.stdout
    finally:
        down = cli("local", "down")
    assert down.returncode == 0
    assert "stopped" in down.stdout
    assert not state.exists()
    assert cli("local", "status").returncode == 2
