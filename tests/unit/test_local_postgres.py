"""Where the local stack finds PostgreSQL's server binaries, and what it says when it cannot:
decided before anything is spawned, so no server is needed to test it."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from redshift_ephemeral.errors import ConfigurationError
from redshift_ephemeral.local import postgres
from redshift_ephemeral.local.stack import LocalStack


def server_binaries(directory: Path) -> Path:
    directory.mkdir(parents=True)
    for name in ("initdb", "postgres"):
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(0o755)
    return directory


@pytest.fixture
def debian_versions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What ``/usr/lib/postgresql/*/bin`` holds, as the module sees it (the test's list)."""
    found: list[str] = []
    monkeypatch.setattr(postgres, "glob", types.SimpleNamespace(glob=lambda _: list(found)))
    return found


def test_missing_postgres_binaries_give_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, debian_versions: list[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no initdb, no pg_config
    with pytest.raises(ConfigurationError) as caught:
        LocalStack().start()
    message = str(caught.value)
    assert "apt-get install -y postgresql" in message
    assert "brew install postgresql" in message


def test_binaries_on_path_come_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, debian_versions: list[str]
) -> None:
    on_path = server_binaries(tmp_path / "path")
    debian_versions.append(str(server_binaries(tmp_path / "16" / "bin")))
    monkeypatch.setenv("PATH", str(on_path))
    assert postgres.find_bindir() == on_path


def test_the_newest_debian_version_is_chosen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, debian_versions: list[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    newest = server_binaries(tmp_path / "16" / "bin")
    debian_versions += [str(server_binaries(tmp_path / "9" / "bin")), str(newest)]
    partial = server_binaries(tmp_path / "17" / "bin")
    (partial / "postgres").unlink()  # a partial install: no server
    debian_versions.insert(0, str(partial))
    assert postgres.find_bindir() == newest
