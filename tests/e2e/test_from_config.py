"""After `eval "$(redshift-ephemeral local env)"`, the Python API and the command line build
the same source from the same variables: ``CredentialSource.from_config(db_user="alice")``
is ``redshift-ephemeral creds --db-user alice``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.e2e.conftest import run_cli

# Everything but what differs between two issues (the password and its times).
SAME = ("host", "port", "dbname", "user", "sslmode", "sslrootcert", "operation")


def python(env: dict[str, str], code: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_from_config_gives_what_creds_gives(env: dict[str, str]) -> None:
    cli = run_cli(["creds", "--db-user", "alice", "--format", "json"], env, logs=False)
    assert cli.returncode == 0, cli.stderr
    from_cli = json.loads(cli.stdout)
    from_python = python(
        env,
        "from redshift_ephemeral import CredentialSource\n"
        "print(CredentialSource.from_config(db_user='alice').get().json())",
    )
    assert {key: from_python[key] for key in SAME} == {key: from_cli[key] for key in SAME}
    # The stack's own CA, exported by `local env`: without it verify-full would fail.
    assert from_python["sslrootcert"] == env["REDSHIFT_EPHEMERAL_SSLROOTCERT"]


def test_from_config_connects_as_query_does(env: dict[str, str]) -> None:
    sql = "SELECT current_user AS who, COUNT(*) AS n FROM my_table"
    cli = run_cli(["query", "--db-user", "alice", "--format", "json", sql], env, logs=False)
    assert cli.returncode == 0, cli.stderr
    from_python = python(
        env,
        "import json\n"
        "from redshift_ephemeral import CredentialSource, run_query\n"
        "result = run_query(CredentialSource.from_config(db_user='alice'), " + repr(sql) + ")\n"
        "print(json.dumps([dict(zip(result.columns, row)) for row in result.rows]))",
    )
    assert from_python == json.loads(cli.stdout) == [{"who": "IAM:alice", "n": 42}]
