"""Property-based: every invalid flag, environment or config value exits 2 with a one-line
error, never a traceback, never an AWS call."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redshift_ephemeral import ConfigurationError
from redshift_ephemeral.cli.main import main
from redshift_ephemeral.targets import (
    validate_cluster_identifier,
    validate_db_group,
    validate_db_name,
    validate_db_user,
    validate_workgroup_name,
)
from redshift_ephemeral.tls import ALLOWED_MODES


def rejected_by(validator: Callable[[str], str]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            validator(value)
        except ConfigurationError:
            return True
        return False

    return check


# Values argv and environ can carry: no NUL, no surrogates.
printable = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=80
)
bad_cluster = printable.filter(rejected_by(validate_cluster_identifier)).filter(
    lambda v: not v.startswith("-") and v != ""
)
bad_workgroup = printable.filter(rejected_by(validate_workgroup_name)).filter(
    lambda v: not v.startswith("-") and v != ""
)
bad_user = printable.filter(rejected_by(validate_db_user)).filter(
    lambda v: not v.startswith("-") and v != ""
)
bad_database = printable.filter(rejected_by(validate_db_name)).filter(
    lambda v: not v.startswith("-") and v != ""
)
bad_group = printable.filter(rejected_by(validate_db_group)).filter(
    lambda v: not v.startswith("-") and "," not in v and v.strip() != ""
)
bad_duration = st.one_of(st.integers(max_value=899), st.integers(min_value=3601)).map(str)
bad_sslmode = printable.filter(
    lambda v: v not in ALLOWED_MODES and not v.startswith("-") and v != ""
)
bad_port = st.one_of(st.integers(max_value=0), st.integers(min_value=65536)).map(str)

INVALID_FLAGS = st.one_of(
    bad_cluster.map(lambda v: ["--cluster-id", v, "--db-user", "alice"]),
    bad_workgroup.map(lambda v: ["--workgroup", v]),
    bad_user.map(lambda v: ["--cluster-id", "demo", "--db-user", v]),
    bad_database.map(lambda v: ["--cluster-id", "demo", "--db-user", "alice", "--database", v]),
    bad_group.map(lambda v: ["--cluster-id", "demo", "--db-user", "alice", "--db-group", v]),
    bad_duration.map(lambda v: ["--cluster-id", "demo", "--db-user", "alice", f"--duration={v}"]),
    bad_sslmode.map(lambda v: ["--cluster-id", "demo", "--db-user", "alice", "--sslmode", v]),
    bad_port.map(
        lambda v: ["--cluster-id", "demo", "--db-user", "alice", "--host", "h", f"--port={v}"]
    ),
    printable.filter(lambda v: not v.lstrip("-+").isdigit()).map(
        lambda v: ["--cluster-id", "demo", "--db-user", "alice", f"--duration={v}"]
    ),
)
INVALID_ENVIRONMENT = st.one_of(
    bad_cluster.map(
        lambda v: {"REDSHIFT_EPHEMERAL_CLUSTER_ID": v, "REDSHIFT_EPHEMERAL_DB_USER": "alice"}
    ),
    bad_user.map(
        lambda v: {"REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo", "REDSHIFT_EPHEMERAL_DB_USER": v}
    ),
    bad_duration.map(
        lambda v: {
            "REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo",
            "REDSHIFT_EPHEMERAL_DB_USER": "alice",
            "REDSHIFT_EPHEMERAL_DURATION": v,
        }
    ),
    printable.filter(
        lambda v: v.strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off", "")
    ).map(
        lambda v: {
            "REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo",
            "REDSHIFT_EPHEMERAL_DB_USER": "a",
            "REDSHIFT_EPHEMERAL_AUTO_CREATE": v,
        }
    ),
    bad_sslmode.map(
        lambda v: {"REDSHIFT_EPHEMERAL_WORKGROUP": "demo-wg", "REDSHIFT_EPHEMERAL_SSLMODE": v}
    ),
)
TOML_VALUES = st.one_of(
    bad_cluster.map(lambda v: ("cluster_id", v)),
    bad_user.map(lambda v: ("db_user", v)),
    st.one_of(st.integers(max_value=899), st.integers(min_value=3601)).map(
        lambda v: ("duration", v)
    ),
    st.sampled_from(
        [
            ("duration", "'900'"),
            ("db_group", "[1, 2]"),
            ("port", "true"),
            ("cluster-id", "42"),
            ("nonsense_key", "'x'"),
        ]
    ),
)


def run_cli(argv: list[str], environ: dict[str, str]) -> tuple[int, str]:
    stderr = io.StringIO()
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("REDSHIFT_EPHEMERAL_", "AWS_"))
    }
    # No AWS call can happen: a fake endpoint nobody listens on would fail with exit 3.
    clean |= {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        **environ,
    }
    with (
        mock.patch.dict(os.environ, clean, clear=True),
        contextlib.redirect_stderr(stderr),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse exits on usage errors
            code = int(exit_.code or 0)
    return code, stderr.getvalue()


def assert_plain_usage_error(code: int, stderr: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, stderr


@settings(max_examples=150, deadline=None)
@given(INVALID_FLAGS)
def test_invalid_flags_exit_2_with_one_plain_line(argv: list[str]) -> None:
    assert_plain_usage_error(*run_cli(["creds", *argv], {}))


@settings(max_examples=100, deadline=None)
@given(INVALID_ENVIRONMENT)
def test_invalid_environment_values_exit_2(environ: dict[str, str]) -> None:
    assert_plain_usage_error(*run_cli(["creds"], environ))


@settings(max_examples=60, deadline=None)
@given(TOML_VALUES)
def test_invalid_config_values_exit_2(entry: tuple[str, object]) -> None:
    key, value = entry
    rendered = (
        value
        if isinstance(value, int) or str(value)[:1] in "'[t4"
        else ('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"')
    )
    with tempfile.TemporaryDirectory() as config_home:
        path = Path(config_home) / "redshift-ephemeral" / "config.toml"
        path.parent.mkdir()
        extra = "" if key in ("cluster_id", "cluster-id") else 'cluster_id = "demo"\n'
        user = "" if key == "db_user" else 'db_user = "alice"\n'
        path.write_text(f"[targets.t]\n{extra}{user}{key} = {rendered}\n", encoding="utf-8")
        code, stderr = run_cli(["creds", "t"], {"XDG_CONFIG_HOME": config_home})
    assert_plain_usage_error(code, stderr)


def test_unknown_named_target_exits_2(tmp_path: Path) -> None:
    code, stderr = run_cli(["creds", "nowhere"], {"XDG_CONFIG_HOME": str(tmp_path)})
    assert_plain_usage_error(code, stderr)
    assert "nowhere" in stderr


@pytest.mark.parametrize(
    "argv",
    [["creds", "--format", "xml"], ["nosuchcommand"], ["exec", "--db-user", "alice"], ["query"]],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert_plain_usage_error(*run_cli(argv, {"REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo"}))


def test_a_role_uses_the_aws_clis_sts_cache() -> None:
    import argparse

    from redshift_ephemeral.cli.options import add_target_arguments, resolve

    parser = argparse.ArgumentParser()
    add_target_arguments(parser)
    args = parser.parse_args(
        ["--cluster-id", "demo", "--role-arn", "arn:aws:iam::123456789012:role/reader"]
    )
    resolved = resolve(args, {})
    assert resolved["role_arn"] == "arn:aws:iam::123456789012:role/reader"
    assert resolved["sts_cache_dir"] == str(Path.home() / ".aws" / "cli" / "cache")
    assert "sts_cache_dir" not in resolve(parser.parse_args(["--cluster-id", "demo"]), {})
