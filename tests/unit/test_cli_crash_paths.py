"""Input that used to crash the CLI (exit 1 with an "unexpected" error, or a traceback) or
reached AWS anyway: each is now exit 2 with one or two plain lines, before anything starts
and before any AWS call."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from redshift_ephemeral.aws.issuers import AwsIssuer
from redshift_ephemeral.cli.main import main


def run_cli(argv: list[str], environ: dict[str, str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REDSHIFT_", "AWS_"))}
    with (
        mock.patch.object(AwsIssuer, "issue", side_effect=AssertionError("AWS was called")),
        mock.patch.dict(os.environ, clean | environ, clear=True),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, stdout.getvalue(), stderr.getvalue()


def assert_usage_error(code: int, stderr: str, *fragments: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert 1 <= len(stderr.strip().splitlines()) <= 2, stderr
    for fragment in fragments:
        assert fragment in stderr


# -- config.toml ----------------------------------------------------------------------------


def write_config(home: Path, content: bytes) -> Path:
    path = home / "redshift-ephemeral" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\xff\xfe[targets.t]", "not UTF-8"),
        (b"[targets.t]\ncluster_id = 'demo'\nx = " + b"[" * 5000 + b"]" * 5000, "too deeply"),
        (b'[targets.t]\ncluster_id = "demo"\nprofile = "a\\u0000b"\n', "control character"),
        (b'[targets.t]\ncluster_id = "demo"\nhost = "/tmp"\n', "Unix-socket"),
        (b'[targets.t]\ncluster_id = "demo"\nsslrootcert = "a\\nb"\n', "control character"),
        (b'[targets.t]\ncluster_id = "demo"\nport = 1.5\n', "whole number"),
        (b"[targets]\nt = 1\n", "not defined"),
        (b"targets = 'x'\n", "not defined"),
        (b'[targets."a\\nb"]\ncluster_id = "demo"\n', "not defined"),
        (b'[targets.t]\ncluster_id = "demo"\n\0', "not valid TOML"),
    ],
)
def test_a_hostile_config_file_is_a_usage_error(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    write_config(tmp_path, content)
    code, _, stderr = run_cli(["creds", "t"], {"XDG_CONFIG_HOME": str(tmp_path)})
    assert_usage_error(code, stderr, fragment)


def test_a_config_path_that_is_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "redshift-ephemeral" / "config.toml").mkdir(parents=True)
    code, _, stderr = run_cli(["creds", "t"], {"XDG_CONFIG_HOME": str(tmp_path)})
    assert_usage_error(code, stderr, "not a regular file")


def test_a_config_path_that_is_a_fifo_does_not_hang(tmp_path: Path) -> None:
    path = tmp_path / "redshift-ephemeral" / "config.toml"
    path.parent.mkdir()
    os.mkfifo(path)
    code, _, stderr = run_cli(["creds", "t"], {"XDG_CONFIG_HOME": str(tmp_path)})
    assert_usage_error(code, stderr, "not a regular file")


def test_an_unreadable_config_file_is_a_usage_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, b"[targets.t]\n")
    with mock.patch.object(
        Path, "read_bytes", side_effect=PermissionError(13, "Permission denied")
    ):
        code, _, stderr = run_cli(["creds", "t"], {"XDG_CONFIG_HOME": str(tmp_path)})
    assert_usage_error(code, stderr, f"Cannot read {path}: Permission denied")


# -- --endpoint-url ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["notaurl", "http://", "ftp://example.com", "http://h:99999"])
def test_an_endpoint_url_that_is_no_url_is_a_usage_error(url: str) -> None:
    code, _, stderr = run_cli(["creds", "--cluster-id", "demo", "--endpoint-url", url], {})
    assert_usage_error(code, stderr, "Invalid endpoint URL")


# -- local up / status / down -------------------------------------------------------------------


@pytest.fixture
def nothing_starts() -> Iterator[None]:
    with mock.patch(
        "redshift_ephemeral.local.background.start_background",
        side_effect=AssertionError("the stack was started"),
    ):
        yield


@pytest.mark.parametrize("scale", ["0", "-1", "2", "nan", "inf", "fast", "1/0", "3/2", "1/x"])
def test_local_up_checks_the_time_scale_before_starting_anything(
    scale: str, nothing_starts: None, tmp_path: Path
) -> None:
    code, _, stderr = run_cli(
        ["local", "up", "--time-scale", scale], {"XDG_RUNTIME_DIR": str(tmp_path)}
    )
    assert_usage_error(code, stderr, "--time-scale")


def test_local_up_takes_the_time_scale_as_a_fraction_as_its_help_shows() -> None:
    from redshift_ephemeral.cli.local import time_scale

    assert time_scale("1/300") == pytest.approx(1 / 300)
    assert time_scale("0.5") == 0.5


@pytest.mark.parametrize("ttl", ["0", "-5", "nan", "inf"])
def test_local_up_checks_the_ttl_before_starting_anything(
    ttl: str, nothing_starts: None, tmp_path: Path
) -> None:
    code, _, stderr = run_cli(["local", "up", "--ttl", ttl], {"XDG_RUNTIME_DIR": str(tmp_path)})
    assert_usage_error(code, stderr, "--ttl")


def write_state(runtime: Path, content: str) -> Path:
    path = runtime / f"redshift-ephemeral-{os.getuid()}" / "local-stack.json"
    path.parent.mkdir(mode=0o700)
    path.write_text(content)
    return path


CORRUPT_STATES = ["{not json", "[]", '{"no": "pid"}', '{"pid": "x"}', ""]


@pytest.mark.parametrize("state", CORRUPT_STATES)
@pytest.mark.parametrize("action", ["status", "env"])
def test_a_corrupt_state_file_means_no_stack_is_running(
    tmp_path: Path, state: str, action: str, nothing_starts: None
) -> None:
    write_state(tmp_path, state)
    code, _, stderr = run_cli(["local", action], {"XDG_RUNTIME_DIR": str(tmp_path)})
    assert_usage_error(code, stderr, "No local stack is running", "local up")


@pytest.mark.parametrize("state", CORRUPT_STATES)
def test_local_up_replaces_a_corrupt_state_file(tmp_path: Path, state: str) -> None:
    path = write_state(tmp_path, state)
    started = {"pid": 4242, "endpoint_url": "http://127.0.0.1:1", "redshift_host": "localhost"}
    with (
        mock.patch("redshift_ephemeral.local.background._spawn", return_value=started) as spawn,
        mock.patch("redshift_ephemeral.local.stack.check_prerequisites"),
    ):
        _code, _stdout, _ = run_cli(["local", "up"], {"XDG_RUNTIME_DIR": str(tmp_path)})
    assert spawn.call_count == 1  # started anew: the corrupt file was not taken for a stack
    assert not path.exists() or path.read_text() != state


@pytest.mark.parametrize("state", CORRUPT_STATES)
def test_local_down_clears_a_corrupt_state_file(tmp_path: Path, state: str) -> None:
    path = write_state(tmp_path, state)
    code, stdout, stderr = run_cli(["local", "down"], {"XDG_RUNTIME_DIR": str(tmp_path)})
    assert (code, stderr) == (0, "")
    assert "no local stack was running" in stdout
    assert not path.exists()


@pytest.mark.parametrize("pid", [0, -1, 1])
def test_a_state_file_naming_no_process_of_ours_signals_nothing(tmp_path: Path, pid: int) -> None:
    write_state(tmp_path, json.dumps({"pid": pid}))
    with mock.patch("os.kill", side_effect=AssertionError("signalled")):
        code, stdout, _ = run_cli(["local", "down"], {"XDG_RUNTIME_DIR": str(tmp_path)})
    assert (code, stdout.strip()) == (0, "no local stack was running")


def test_a_stale_state_file_whose_stack_does_not_answer_is_a_usage_error(tmp_path: Path) -> None:
    # The recorded PID is alive (it is this process) but it is no stack: it does not answer.
    state = {"pid": os.getpid(), "endpoint_url": "http://127.0.0.1:9", "control_token": "t"}
    write_state(tmp_path, json.dumps(state))
    code, _, stderr = run_cli(["local", "status"], {"XDG_RUNTIME_DIR": str(tmp_path)})
    assert_usage_error(code, stderr, "No local stack is running")
