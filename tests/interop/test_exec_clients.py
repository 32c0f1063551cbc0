"""libpq tools through ``redshift-ephemeral exec``: psql (the system's) and pgcli (its own
venv), unmodified, reading only the PG* variables and the private passfile ``exec`` gives
them. The target comes from the stack's environment (``REDSHIFT_EPHEMERAL_CLUSTER_ID``,
``REDSHIFT_EPHEMERAL_SSLROOTCERT``): the command lines are what a user types."""

from __future__ import annotations

from pathlib import Path

from redshift_ephemeral.local import seed

from .conftest import Client, assert_succeeded

COUNT = "SELECT COUNT(*) FROM my_table"


def no_passfile_left(client: Client) -> None:
    """``exec`` removes its passfile when the command exits."""
    left = [path for path in Path(client.home / "tmp").rglob("*") if path.is_file()]
    assert left == []


def test_psql_through_exec(client: Client) -> None:
    result = client.run(["redshift-ephemeral", "exec", "--", "psql", "-tAc", COUNT], venv="pgcli")
    assert_succeeded(result)
    assert result.stdout.strip() == str(seed.TABLE_ROWS)
    no_passfile_left(client)


def test_psql_connects_over_tls_as_the_iam_login(client: Client) -> None:
    result = client.run(["redshift-ephemeral", "exec", "--", "psql", "-c", "\\conninfo"])
    assert_succeeded(result)
    assert f'as user "IAM:{seed.READER_USER}"' in result.stdout
    assert "SSL connection (protocol: TLSv1." in result.stdout  # what libpq negotiated


def test_pgcli_through_exec(client: Client) -> None:
    result = client.run(
        ["redshift-ephemeral", "exec", "--", "pgcli", "--less-chatty", "-t", "-c", COUNT],
        venv="pgcli",
    )
    assert_succeeded(result)
    assert str(seed.TABLE_ROWS) in result.stdout.split()
    no_passfile_left(client)


def test_pgcli_reads_sql_from_stdin_through_exec(client: Client) -> None:
    """pgcli without -c, driven as a user pipes a script into it."""
    result = client.run(
        ["redshift-ephemeral", "exec", "--", "pgcli", "--less-chatty"],
        venv="pgcli",
        stdin=f"{COUNT};\n",
    )
    assert_succeeded(result)
    assert str(seed.TABLE_ROWS) in result.stdout.split()
