"""Passfiles live in one private per-user directory, named by their owner process (id and
start time), so one left by a process killed with SIGKILL is removed by the next run - and a
live process's file never is, even when its id was used before."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from redshift_ephemeral.cache import CredentialCache
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.db.passfile import (
    RefreshingPassfile,
    passfile_directory,
    process_start_time,
)
from redshift_ephemeral.secret import Secret
from redshift_ephemeral.source import CredentialSource
from redshift_ephemeral.targets import CredentialRequest, Operation, Target
from tests.conftest import FakeClock

PASSWORD = "passfile-test-password"


def issue(_: CredentialRequest) -> Credential:
    now = datetime.now(UTC)
    return Credential(
        host="demo.example.com",
        port=5439,
        database="dev",
        user="IAM:alice",
        password=Secret(PASSWORD),
        issued_at=now,
        expires_at=now + timedelta(minutes=15),
        operation=Operation.GET_CLUSTER_CREDENTIALS,
    )


def source() -> CredentialSource:
    request = CredentialRequest(Target.cluster("demo"), db_user="alice")
    return CredentialSource(request, cache=CredentialCache(), issuer=issue)


def ended_process_id() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_passfile_is_named_by_its_owners_id_and_start_time(tmp_path: Path) -> None:
    with RefreshingPassfile(source(), directory=tmp_path) as passfile:
        assert passfile.path is not None
        pid, start, _ = passfile.path.name.split("-")
        assert (int(pid), start) == (os.getpid(), process_start_time(os.getpid()))
        assert stat.S_IMODE(passfile.path.stat().st_mode) == 0o600
        assert passfile.path.read_text().rstrip("\n").endswith(PASSWORD)
    assert not passfile.path.exists()


def test_the_passfile_of_a_sigkilled_process_is_removed_by_the_next_one(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_passfile import source
        from redshift_ephemeral.db.passfile import RefreshingPassfile
        passfile = RefreshingPassfile(source(), directory=Path({str(tmp_path)!r})).open()
        print(passfile.path, flush=True)
        time.sleep(60)
        """
    )
    killed = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert killed.stdout is not None
    left_behind = Path(killed.stdout.readline().strip())
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert left_behind.exists()

    with RefreshingPassfile(source(), directory=tmp_path) as passfile:
        assert not left_behind.exists()
        assert [entry.name for entry in tmp_path.iterdir()] == [passfile.path.name]  # type: ignore[union-attr]


def test_only_files_whose_owner_is_gone_are_removed(tmp_path: Path) -> None:
    me = os.getpid()
    mine = tmp_path / f"{me}-{process_start_time(me)}-0a0b0c0d.pgpass"
    reused_id = tmp_path / f"{me}-1-0a0b0c0d.pgpass"  # same id, another start: not us
    ended = tmp_path / f"{ended_process_id()}-x-0a0b0c0d.pgpass"
    half_written = tmp_path / f".{ended.name}.123.abcd.tmp"
    unrelated = tmp_path / "notes.txt"
    for path in (mine, reused_id, ended, half_written, unrelated):
        path.write_text("x")

    with RefreshingPassfile(source(), directory=tmp_path):
        remaining = {entry.name for entry in tmp_path.iterdir()}
    assert mine.name in remaining
    assert unrelated.name in remaining
    assert not {reused_id.name, ended.name, half_written.name} & remaining


def test_passfiles_go_under_xdg_runtime_dir_when_it_is_set(tmp_path: Path) -> None:
    directory = passfile_directory({"XDG_RUNTIME_DIR": str(tmp_path)})
    assert directory == tmp_path / "redshift-ephemeral" / "passfiles"
    for path in (directory, directory.parent):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_without_xdg_runtime_dir_passfiles_go_to_a_private_temp_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    directory = passfile_directory({})
    assert directory == tmp_path / f"redshift-ephemeral-{os.getuid()}" / "passfiles"
    assert stat.S_IMODE(directory.parent.stat().st_mode) == 0o700


def test_without_a_start_time_the_owner_is_judged_by_its_id_alone(tmp_path: Path) -> None:
    ended = tmp_path / f"{ended_process_id()}-x-0a1b2c3d.pgpass"
    ours = tmp_path / f"{os.getpid()}-x-0a1b2c3d.pgpass"
    for path in (ended, ours):
        path.write_text("stale")
    with RefreshingPassfile(source(), directory=tmp_path):
        assert not ended.exists()
        assert ours.exists()


def test_a_failed_refresh_keeps_the_file_until_one_succeeds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    fourth_call, finish = threading.Event(), threading.Event()
    calls = 0

    def issuer(request: CredentialRequest) -> Credential:
        nonlocal calls
        calls += 1
        clock.advance(3600)  # what this call returns has expired by the next one
        if calls == 2:
            raise ConnectionError("AWS is down")
        if calls == 4:  # the third password has been written before this call
            fourth_call.set()
            finish.wait(timeout=10)
        credential = issue(request)
        return dataclasses.replace(credential, password=Secret(f"password-{calls}"))

    request = CredentialRequest(Target.cluster("demo"), db_user="alice")
    flaky = CredentialSource(request, cache=CredentialCache(clock=clock), issuer=issuer)
    passfile = RefreshingPassfile(flaky, directory=tmp_path, check_every=0.001)
    with caplog.at_level(logging.WARNING, logger="redshift_ephemeral.db.passfile"):
        passfile.open()
        try:
            assert fourth_call.wait(timeout=10)
            assert passfile.path is not None
            assert passfile.path.read_text().rstrip().endswith(":password-3")
        finally:
            finish.set()
            passfile.close()
    assert any("AWS is down" in record.getMessage() for record in caplog.records)
