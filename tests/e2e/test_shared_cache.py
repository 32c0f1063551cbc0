"""The shared credential cache across real processes: the installed command line and library
programs, against the local stack, counting the AWS calls the emulator received."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redshift_ephemeral.local import LocalStack
from tests.e2e.conftest import CLI, run_cli
from tests.leak_scan import RECORD

CREDENTIAL_CALL = "redshift:GetClusterCredentials"
DISCOVERY_CALL = "redshift:DescribeClusters"


def cache_directory(env: dict[str, str]) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "redshift-ephemeral" / "credentials"


def test_eight_cold_processes_make_one_credential_call(
    env: dict[str, str], redshift_local: LocalStack
) -> None:
    # Delay every AWS call, so all eight are started and waiting while the first one fetches.
    redshift_local.set_knobs(latency_seconds=0.5)
    processes = [
        subprocess.Popen(
            [CLI, "creds", "--db-user", "alice", "--format", "json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
        RECORD.output("stderr of a cold creds", stderr)
    passwords = {json.loads(stdout)["password"] for stdout, _ in outputs}
    assert len(passwords) == 1
    calls = redshift_local.calls()
    assert calls.get(CREDENTIAL_CALL) == 1, calls
    assert calls.get(DISCOVERY_CALL, 0) <= 1, calls


def test_a_warm_command_asks_aws_nothing(env: dict[str, str], redshift_local: LocalStack) -> None:
    first = run_cli(["creds", "--db-user", "alice", "--format", "json"], env)
    assert first.returncode == 0, first.stderr
    after_first = redshift_local.calls()
    query = run_cli(["query", "--db-user", "alice", "SELECT 1 AS one", "--format", "csv"], env)
    assert query.returncode == 0, query.stderr
    assert query.stdout.splitlines() == ["one", "1"]
    again = run_cli(["creds", "--db-user", "alice", "--format", "json"], env)
    assert json.loads(again.stdout)["password"] == json.loads(first.stdout)["password"]
    assert redshift_local.calls() == after_first
    assert "taken from the shared store" not in first.stderr


@pytest.mark.parametrize(
    ("flag", "variable"),
    [("--no-shared-cache", None), (None, "0"), (None, "false")],
    ids=["flag", "variable-0", "variable-false"],
)
def test_the_shared_cache_can_be_turned_off(
    env: dict[str, str], redshift_local: LocalStack, flag: str | None, variable: str | None
) -> None:
    if variable is not None:
        env = env | {"REDSHIFT_EPHEMERAL_SHARED_CACHE": variable}
    args = ["creds", "--db-user", "alice", *([flag] if flag else [])]
    for _ in range(2):
        assert run_cli(args, env).returncode == 0
    assert redshift_local.calls().get(CREDENTIAL_CALL) == 2
    assert not cache_directory(env).exists()


def test_the_config_file_can_turn_the_shared_cache_off(
    env: dict[str, str], redshift_local: LocalStack, tmp_path: Path
) -> None:
    config = Path(env["XDG_CONFIG_HOME"]) / "redshift-ephemeral" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[targets.t]\ncluster_id = "demo-cluster"\nshared_cache = false\n')
    for _ in range(2):
        result = run_cli(["creds", "t", "--db-user", "alice"], env)
        assert result.returncode == 0, result.stderr
    assert redshift_local.calls().get(CREDENTIAL_CALL) == 2
    # ... and a flag still wins over the file
    for _ in range(2):
        assert run_cli(["creds", "t", "--db-user", "alice", "--shared-cache"], env).returncode == 0
    assert redshift_local.calls().get(CREDENTIAL_CALL) == 3


def test_cache_list_shows_target_user_and_expiry_and_clear_empties_it(
    env: dict[str, str], redshift_local: LocalStack
) -> None:
    assert run_cli(["creds", "--db-user", "alice"], env).returncode == 0
    assert run_cli(["creds", "--db-user", "bob"], env).returncode == 0
    listing = run_cli(["cache", "list"], env)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0] == f"{cache_directory(env)}:"
    assert any("alice@demo-cluster" in line and "IAM:alice" in line for line in lines)
    assert any("bob@demo-cluster" in line and "IAM:bob" in line for line in lines)
    for password in redshift_local.issued_passwords():
        assert password not in listing.stdout
    as_json = [
        json.loads(line) for line in run_cli(["cache", "list", "--json"], env).stdout.splitlines()
    ]
    assert {entry["user"] for entry in as_json} == {"IAM:alice", "IAM:bob"}
    assert all(set(entry) == {"target", "user", "expires_at", "operation"} for entry in as_json)
    cleared = run_cli(["cache", "clear"], env)
    assert cleared.stdout.startswith("removed 2 cached credential(s)")
    assert run_cli(["cache", "list"], env).stdout.startswith("no cached credentials")
    assert run_cli(["creds", "--db-user", "alice"], env).returncode == 0
    assert redshift_local.calls().get(CREDENTIAL_CALL) == 3


def test_the_files_hold_no_aws_secret_and_are_private(
    env: dict[str, str], redshift_local: LocalStack
) -> None:
    assert run_cli(["creds", "--db-user", "alice"], env).returncode == 0
    secrets = [
        env[name] for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN") if env.get(name)
    ]
    assert secrets, "the stack's environment names an AWS secret key"
    root = cache_directory(env).parent
    files = [path for path in root.rglob("*") if path.is_file()]
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        content = path.read_text(encoding="utf-8", errors="replace")
        for secret in secrets:
            assert secret not in content, path
    for directory in (root, root / "credentials", root / "endpoints"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


WORKER = """
import sys, time
from redshift_ephemeral import CredentialSource, connect
source = CredentialSource.from_config(db_user="alice", shared_cache=True)
deadline = time.monotonic() + float(sys.argv[1])
queries = 0
while time.monotonic() < deadline and queries < 2000:
    with connect(source) as connection:
        connection.cursor().execute("SELECT 1")
    queries += 1
    time.sleep(0.05)
print(queries)
"""


def test_library_processes_share_one_password_per_lifetime(
    env: dict[str, str], redshift_local: LocalStack
) -> None:
    """Three programs opting in with ``shared_cache=True`` connect for three time-scaled
    lifetimes (3 s each): one credential call per lifetime for all of them together (plus
    one: a refresh lands a little before each expiry), where caches of their own would make
    three times as many."""
    redshift_local.set_knobs(time_scale=1 / 300)
    lifetimes, lifetime = 3, 3.0
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(lifetimes * lifetime)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    started = time.monotonic()
    results = [worker.communicate(timeout=120) for worker in workers]
    for worker, (stdout, stderr) in zip(workers, results, strict=True):
        RECORD.output("stderr of a shared-cache worker", stderr)
        assert worker.returncode == 0, stderr
        assert int(stdout) > 20
    assert time.monotonic() - started < 60
    calls = redshift_local.calls().get(CREDENTIAL_CALL, 0)
    assert 1 <= calls <= lifetimes + 2, calls
    assert os.listdir(cache_directory(env))
