"""The command line as README writes it: options and positionals in any order within a
command, ``--debug`` before or after the command, and everything after ``--`` left to the
child of ``exec`` and ``psql``."""

from __future__ import annotations

import pytest

from redshift_ephemeral.cli.main import parse_arguments, split_passthrough


@pytest.mark.parametrize(
    "argv",
    [
        ["query", "t", "--format", "csv", "select 1"],  # README's order
        ["query", "--format", "csv", "t", "select 1"],
        ["query", "t", "select 1", "--format", "csv"],
        ["query", "--format=csv", "t", "--driver", "psycopg", "select 1"],
    ],
)
def test_query_takes_options_between_and_after_its_positionals(argv: list[str]) -> None:
    args = parse_arguments(argv)
    assert (args.target, args.sql, args.format) == ("t", "select 1", "csv")


def test_query_without_a_target_takes_the_one_positional_as_sql() -> None:
    args = parse_arguments(["query", "--cluster-id", "demo", "select 1"])
    assert (args.target, args.sql, args.cluster_id) == (None, "select 1", "demo")


def test_target_options_may_follow_the_named_target() -> None:
    args = parse_arguments(["creds", "t", "--db-user", "alice", "--format", "json"])
    assert (args.target, args.db_user, args.format) == ("t", "alice", "json")


@pytest.mark.parametrize(
    ("argv", "debug"),
    [(["--debug", "creds", "t"], True), (["creds", "t", "--debug"], True), (["creds"], False)],
)
def test_debug_goes_before_or_after_the_command(argv: list[str], debug: bool) -> None:
    assert parse_arguments(argv).debug is debug


def test_exec_leaves_everything_after_the_double_dash_to_the_child() -> None:
    own, child = split_passthrough(
        ["exec", "t", "--db-user", "alice", "--", "psql", "--format", "x", "t"]
    )
    args = parse_arguments(own)
    assert (args.target, args.db_user) == ("t", "alice")
    assert child == ["psql", "--format", "x", "t"]


@pytest.mark.parametrize(
    "argv",
    [["query", "t", "a", "b"], ["query"], ["creds", "--format", "xml"], ["--bogus", "creds"]],
)
def test_wrong_usage_still_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_arguments(argv)
    assert exit_.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
