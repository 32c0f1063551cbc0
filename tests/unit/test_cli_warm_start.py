"""A ``creds`` served from the shared store loads no botocore: what makes a warm command fast
(docs/design.md, "Numbers it must reach": warm ``creds`` ÷ AWS CLI ≤ 0.15, measured by
bench/cli_vs_awscli.py). Checked in a fresh interpreter through ``sys.modules``, with AWS
pointed at a port nobody listens on, so any AWS call would fail the command too."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

from redshift_ephemeral import CredentialSource, FileStore
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.secret import Secret
from redshift_ephemeral.targets import Operation

# Runs the command line as the console script does, then names what it loaded of AWS's SDK.
WRAPPER = """
import sys
from redshift_ephemeral.cli.main import main
code = main(sys.argv[1:])
loaded = sorted({name.partition(".")[0] for name in sys.modules} & {"botocore", "boto3"})
print("LOADED:" + ",".join(loaded), file=sys.stderr)
sys.exit(code)
"""
ARGV = ["creds", "--cluster-id", "demo", "--db-user", "alice"]  # format table: no password
HOST = "demo.abc123.us-east-1.redshift.amazonaws.com"


def environment(tmp_path: Path) -> dict[str, str]:
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "REDSHIFT_EPHEMERAL_"))
    }
    return clean | {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nobody listens: a call fails fast
        "REDSHIFT_EPHEMERAL_MAX_ATTEMPTS": "1",
    }


def seed_store(environ: dict[str, str]) -> None:
    """The entry a previous ``creds`` would have left, under the key this ``creds`` uses
    (the key names the AWS variables of the process: those of the command's)."""
    with mock.patch.dict(os.environ, environ, clear=True):
        source = CredentialSource.from_config(
            defaults={"shared_cache": True}, cluster_id="demo", db_user="alice"
        )
    key = source.key.shared
    assert key is not None
    now = datetime.now(UTC)
    credential = Credential(
        host=HOST,
        port=5439,
        database="dev",
        user="IAM:alice",
        password=Secret("warm-start-test-password"),
        issued_at=now,
        expires_at=now + timedelta(minutes=15),
        operation=Operation.GET_CLUSTER_CREDENTIALS,
    )
    store = FileStore(environ=environ)
    store.save(key, "alice@demo", credential, store.now())


def run_creds(environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, *ARGV],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_warm_creds_imports_no_botocore(tmp_path: Path) -> None:
    environ = environment(tmp_path)
    seed_store(environ)
    result = run_creds(environ)
    assert result.returncode == 0, result.stderr
    assert HOST in result.stdout  # served from the store: AWS was never asked
    assert "LOADED:\n" in result.stderr, result.stderr


def test_a_cold_creds_does_load_botocore_so_the_check_can_see_it(tmp_path: Path) -> None:
    result = run_creds(environment(tmp_path))
    assert result.returncode == 3, result.stderr  # AWS unreachable: the store was empty
    assert "LOADED:botocore\n" in result.stderr, result.stderr


# The console script (``run``) without coverage in the child, so its fast exit is what runs.
CONSOLE_SCRIPT = """
import sys
from redshift_ephemeral.cli.main import run
sys.argv = ["redshift-ephemeral", *sys.argv[1:]]
run()
"""


def run_console_script(environ: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    # Neither coverage (which needs a normal exit) nor PYTHONUNBUFFERED (which would hide a
    # missing flush): output to a pipe is block-buffered, as in a user's `| jq`.
    no_coverage = {
        name: value
        for name, value in environ.items()
        if "COVERAGE" not in name and name != "PYTHONUNBUFFERED"
    }
    return subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, *argv],
        env=no_coverage,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_fast_exit_flushes_all_output_and_keeps_the_exit_code(tmp_path: Path) -> None:
    """``creds`` ends with ``os._exit`` (no interpreter teardown): what it printed is all
    there, and its exit code is the command's, for success and for failure alike."""
    environ = environment(tmp_path)
    seed_store(environ)
    warm = run_console_script(environ, *ARGV, "--format", "json")
    assert warm.returncode == 0, warm.stderr
    assert HOST in warm.stdout
    assert warm.stdout.rstrip().endswith("}")  # the whole JSON document, not a prefix
    cold = run_console_script(environment(tmp_path / "other"), *ARGV)
    assert cold.returncode == 3
    assert "redshift-ephemeral:" in cold.stderr  # the error line was flushed too
