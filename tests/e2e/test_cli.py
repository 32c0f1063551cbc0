"""The installed console script, run as a subprocess against the local stack."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
import trustme

from redshift_ephemeral.local import LocalStack
from tests.e2e.conftest import CLI, denied, run_cli
from tests.unit.test_exec import REPORTING_CHILD, sigint_is_ignored


def cli(env: dict[str, str], *args: str, logs: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli(list(args), env, logs=logs)


def test_creds_table_hides_the_password(env: dict[str, str], redshift_local: LocalStack) -> None:
    result = cli(env, "creds", "--db-user", "alice")
    assert result.returncode == 0, result.stderr
    assert "IAM:alice" in result.stdout
    for password in redshift_local.issued_passwords():
        assert password not in result.stdout + result.stderr
    assert "(hidden" in result.stdout


def test_creds_json_logs_in(env: dict[str, str]) -> None:
    result = cli(env, "creds", "--db-user", "alice", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["user"] == "IAM:alice"
    assert document["sslmode"] == "verify-full"
    assert document["operation"] == "redshift:GetClusterCredentials"
    keys = ("host", "port", "dbname", "user", "password", "sslmode", "sslrootcert")
    with psycopg.connect(**{key: document[key] for key in keys}) as connection:
        assert connection.execute("SELECT COUNT(*) FROM my_table").fetchone() == (42,)


def test_creds_env_dsn_url_pgpass(env: dict[str, str]) -> None:
    exported = cli(env, "creds", "--db-user", "alice", "--format", "env").stdout
    assert "export PGUSER=IAM:alice" in exported
    assert "export PGPASSWORD=" in exported
    dsn = cli(env, "creds", "--db-user", "alice", "--format", "dsn").stdout.strip()
    with psycopg.connect(dsn) as connection:
        assert connection.execute("SELECT current_user").fetchone() == ("IAM:alice",)
    url = urlsplit(cli(env, "creds", "--db-user", "alice", "--format", "url").stdout.strip())
    assert url.scheme == "postgresql+psycopg2"
    assert unquote(url.username or "") == "IAM:alice"
    pgpass = cli(env, "creds", "--db-user", "alice", "--format", "pgpass").stdout.strip()
    assert pgpass.split(":")[:3] == ["localhost", str(url.port), "dev"]
    assert pgpass.split(":", 3)[3].startswith("IAM\\:alice:")


def test_serverless_and_identity_modes(env: dict[str, str]) -> None:
    serverless = json.loads(
        cli(env, "creds", "--workgroup", "demo-workgroup", "--format", "json").stdout
    )
    assert serverless["operation"] == "redshift-serverless:GetCredentials"
    with_iam = json.loads(cli(env, "creds", "--format", "json").stdout)
    assert with_iam["operation"] == "redshift:GetClusterCredentialsWithIAM"
    assert with_iam["user"] == "IAM:alice"


def test_named_targets_and_precedence(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "redshift-ephemeral" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        '[targets.reports]\ncluster_id = "demo-cluster"\ndb_user = "bob"\n'
        'db_group = ["analysts"]\nduration = 1200\n'
    )

    def user(*args: str, **extra_env: str) -> str:
        result = cli(env | extra_env, "creds", "reports", "--format", "json", *args)
        assert result.returncode == 0, result.stderr
        return str(json.loads(result.stdout)["user"])

    assert user() == "IAM:bob"  # config
    assert user(REDSHIFT_EPHEMERAL_DB_USER="alice") == "IAM:alice"  # environment > config
    assert user("--db-user", "carol", REDSHIFT_EPHEMERAL_DB_USER="alice") == "IAM:carol"
    help_text = cli(env, "creds", "--help").stdout
    assert "flags > environment > config" in help_text


def test_exec_with_psql_keeps_connecting_after_the_first_password_expired(
    env: dict[str, str],
    redshift_local: LocalStack,
) -> None:
    redshift_local.set_knobs(time_scale=1 / 600)  # 900 s → 1.5 s
    script = (
        'psql -tAc "SELECT current_user" && sleep 2.5 && psql -tAc "SELECT COUNT(*) FROM my_table"'
    )
    result = cli(env, "exec", "--db-user", "alice", "--", "bash", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["IAM:alice", "42"]
    # The second psql logged in with a password issued after the first one expired.
    assert redshift_local.calls()["redshift:GetClusterCredentials"] >= 2


def test_exec_gives_libpq_variables_and_removes_the_passfile(env: dict[str, str]) -> None:
    script = (
        'echo "$PGPASSFILE"; stat -c %a "$PGPASSFILE" "$(dirname "$PGPASSFILE")"; '
        'echo "${PGPASSWORD:-no password variable}"; echo "$PGUSER $PGSSLMODE"; exit 7'
    )
    result = cli(
        env | {"PGPASSWORD": "stale"}, "exec", "--db-user", "alice", "--", "bash", "-c", script
    )
    assert result.returncode == 7  # the child's own exit code
    passfile, file_mode, dir_mode, password_var, libpq = result.stdout.splitlines()
    assert (file_mode, dir_mode) == ("600", "700")
    assert password_var == "no password variable"
    assert libpq == "IAM:alice verify-full"
    assert not Path(passfile).exists()
    assert Path(passfile).parent.name == "passfiles"  # the per-user directory stays


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_exec_forwards_signals_and_removes_the_passfile(
    env: dict[str, str], signum: signal.Signals
) -> None:
    process = subprocess.Popen(
        [
            CLI,
            "exec",
            "--db-user",
            "alice",
            "--",
            "bash",
            "-c",
            'echo "$PGPASSFILE"; exec sleep 60',
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        passfile = Path(process.stdout.readline().strip())
        assert passfile.exists()
        process.send_signal(signum)
        assert process.wait(timeout=30) == 128 + signum
        assert not passfile.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_exec_forwards_sigint_it_inherited_as_ignored(env: dict[str, str]) -> None:
    """A CI runner starting jobs with SIGINT ignored (``&`` in a script, nohup): the child
    still gets SIGINT with its default action, and it reaches the child."""
    process = subprocess.Popen(
        [CLI, "exec", "--db-user", "alice", "--", *REPORTING_CHILD],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_ignore_sigint,  # noqa: PLW1509 - the test's own child, no threads involved
    )
    try:
        assert process.stdout is not None
        assert not sigint_is_ignored(process.stdout.readline()), "the child ignores SIGINT"
        passfile = Path(process.stdout.readline().strip())
        assert passfile.exists()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 128 + signal.SIGINT
        assert not passfile.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    "case",
    [
        ("no-such-command-xyz", 127, "command not found"),
        ("/no/such/file", 127, "no such file"),
        ("/tmp", 126, "is a directory"),
        ("NOT_EXECUTABLE", 126, "not executable"),
    ],
)
def test_exec_of_a_command_that_cannot_run_exits_as_a_shell_does(
    env: dict[str, str], redshift_local: LocalStack, tmp_path: Path, case: tuple[str, int, str]
) -> None:
    command, code, message = case
    if command == "NOT_EXECUTABLE":
        command = str(tmp_path / "script.sh")
        Path(command).write_text("#!/bin/sh\n")
        Path(command).chmod(0o644)
    before = redshift_local.calls().get("redshift:GetClusterCredentials", 0)
    result = cli(env, "exec", "--db-user", "alice", "--", command)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert redshift_local.calls().get("redshift:GetClusterCredentials", 0) == before


def test_exec_inside_exec_is_refused(env: dict[str, str]) -> None:
    result = cli(
        env, "exec", "--db-user", "alice", "--", CLI, "exec", "--db-user", "alice", "--", "true"
    )
    assert result.returncode == 2
    assert "Already inside" in result.stderr


def test_psql_command(env: dict[str, str]) -> None:
    result = cli(env, "psql", "--db-user", "alice", "--", "-tAc", "SELECT current_user")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "IAM:alice"


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_query_formats(env: dict[str, str], driver: str) -> None:
    sql = "SELECT id, name FROM my_table ORDER BY id LIMIT 2"
    table = cli(env, "query", "--db-user", "alice", "--driver", driver, sql)
    assert table.returncode == 0, table.stderr
    assert "row 1" in table.stdout
    assert "(2 rows)" in table.stdout
    csv_out = cli(env, "query", "--db-user", "alice", "--driver", driver, "--format", "csv", sql)
    assert csv_out.stdout.splitlines() == ["id,name", "1,row 1", "2,row 2"]
    json_out = cli(env, "query", "--db-user", "alice", "--driver", driver, "--format", "json", sql)
    assert json.loads(json_out.stdout) == [{"id": 1, "name": "row 1"}, {"id": 2, "name": "row 2"}]


def test_query_with_redshift_connector_discovers_the_endpoint(env: dict[str, str]) -> None:
    result = cli(
        env,
        "query",
        "--db-user",
        "alice",
        "--driver",
        "redshift_connector",
        "SELECT COUNT(*) AS n FROM my_table",
        "--format",
        "csv",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "42"]


def test_doctor_all_ok(env: dict[str, str]) -> None:
    result = cli(env, "doctor", "--db-user", "alice")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    names = [
        "AWS identity",
        "endpoint",
        "permission",
        "shared cache",
        "DNS",
        "TCP",
        "TLS",
        "login",
        "clock",
    ]
    assert [line.split()[0] for line in lines] == ["ok"] * len(names)
    for name, line in zip(names, lines, strict=True):
        assert name in line


def failing_check(stdout: str) -> str:
    failing = [line for line in stdout.splitlines() if line.startswith("FAIL")]
    assert failing, stdout
    return failing[0]


def test_doctor_names_the_denied_permission(
    env: dict[str, str], redshift_local: LocalStack
) -> None:
    with denied(redshift_local, "redshift:GetClusterCredentials"):
        result = cli(env, "doctor", "--db-user", "alice")
    assert result.returncode == 3
    line = failing_check(result.stdout)
    assert "permission" in line
    assert "redshift:GetClusterCredentials" in line
    assert "redshift-ephemeral policy" in result.stdout


def test_doctor_names_tls_for_a_foreign_ca(env: dict[str, str], tmp_path: Path) -> None:
    foreign = tmp_path / "foreign-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(foreign))
    result = cli(env, "doctor", "--db-user", "alice", "--sslrootcert", str(foreign))
    assert result.returncode == 4
    assert "TLS" in failing_check(result.stdout)


def test_doctor_names_tcp_for_a_stopped_server(env: dict[str, str], closed_port: int) -> None:
    result = cli(
        env, "doctor", "--db-user", "alice", "--host", "localhost", "--port", str(closed_port)
    )
    assert result.returncode == 4
    assert "TCP" in failing_check(result.stdout)


@pytest.mark.parametrize(
    ("args", "action", "resources"),
    [
        (
            ["--db-user", "alice", "--db-group", "analysts"],
            "redshift:GetClusterCredentials",
            [
                "dbuser:demo-cluster/alice",
                "dbname:demo-cluster/dev",
                "dbgroup:demo-cluster/analysts",
            ],
        ),
        ([], "redshift:GetClusterCredentialsWithIAM", ["dbname:demo-cluster/dev"]),
        (["--workgroup", "demo-workgroup"], "redshift-serverless:GetCredentials", [":workgroup/"]),
    ],
)
def test_policy_is_valid_json_with_the_right_actions_and_arns(
    env: dict[str, str],
    args: list[str],
    action: str,
    resources: list[str],
) -> None:
    result = cli(env, "policy", *args)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["Version"] == "2012-10-17"
    issue = document["Statement"][0]
    assert issue["Action"] == action
    arns = " ".join(issue["Resource"])
    assert "arn:aws:redshift" in arns
    assert "123456789012" in arns
    for resource in resources:
        assert resource in arns
    discovery = {
        statement["Action"]
        for statement in document["Statement"]
        if statement["Sid"].startswith("Discover")
    }
    expected = (
        "redshift-serverless:GetWorkgroup" if "--workgroup" in args else "redshift:DescribeClusters"
    )
    assert discovery == {expected}


def test_exit_codes_and_tracebacks(env: dict[str, str], redshift_local: LocalStack) -> None:
    assert cli(env, "creds", "--nonsense", logs=False).returncode == 2
    assert cli(env, "creds", "--db-user", "alice", "--duration", "60", logs=False).returncode == 2
    with denied(redshift_local, "redshift:GetClusterCredentials"):
        refused = cli(env, "creds", "--db-user", "alice", logs=False)
        debug = cli(env, "--debug", "creds", "--db-user", "alice")
    assert refused.returncode == 3
    assert "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) <= 2
    assert debug.returncode == 3
    assert "Traceback" in debug.stderr
    unreachable = cli(
        env,
        "query",
        "--db-user",
        "alice",
        "--host",
        "localhost",
        "--port",
        "9",
        "SELECT 1",
        logs=False,
    )
    assert unreachable.returncode == 4
    assert "Could not reach localhost:9" in unreachable.stderr


def test_help_and_creds_import_only_what_they_use() -> None:
    probe = (
        "import sys\n"
        "from redshift_ephemeral.cli.main import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = [m for m in ('boto3', 'botocore', 'psycopg', 'psycopg2', 'sqlalchemy', "
        "'moto', 'redshift_connector') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_completion_script_is_valid_bash(env: dict[str, str], tmp_path: Path) -> None:
    script = cli(env, "completion", "bash").stdout
    assert "complete -F _redshift_ephemeral redshift-ephemeral" in script
    assert "--db-user" in script
    path = tmp_path / "completion.bash"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0
