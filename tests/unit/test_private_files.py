"""Files read back are trusted only when they are ours and private: a directory or file
planted by another user, a symlink, or one open to others is never used."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import certifi
import pytest

from redshift_ephemeral import tls
from redshift_ephemeral._private_files import (
    UnsafePathError,
    private_directory,
    read_private,
    write_private,
)
from redshift_ephemeral.errors import ConfigurationError

OTHER_UID = 65534  # nobody


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("planting a file owned by another user needs root")  # pragma: no cover


def test_write_private_makes_a_0700_directory_and_a_0600_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "file"
    write_private(path, "content")
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    assert read_private(path) == b"content"
    assert [p.name for p in path.parent.iterdir()] == ["file"]  # no temporary left behind


def test_our_own_directory_with_a_loose_mode_is_tightened(tmp_path: Path) -> None:
    directory = tmp_path / "loose"
    directory.mkdir(mode=0o755)
    directory.chmod(0o777)
    private_directory(directory)
    assert mode(directory) == 0o700


def test_a_symlinked_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        private_directory(link)


def test_a_directory_owned_by_another_user_is_refused(tmp_path: Path, as_root: None) -> None:
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o700)
    os.chown(planted, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafePathError, match="belongs to uid"):
        private_directory(planted)


@pytest.mark.parametrize("problem", ["symlink", "group-readable", "foreign-owner", "fifo"])
def test_an_untrustworthy_file_reads_back_as_absent(tmp_path: Path, problem: str) -> None:
    directory = private_directory(tmp_path / "store")
    path = directory / "entry"
    if problem == "symlink":
        target = tmp_path / "elsewhere"
        target.write_text("planted")
        path.symlink_to(target)
    elif problem == "fifo":
        os.mkfifo(path, 0o600)
    else:
        path.write_text("planted")
        path.chmod(0o640 if problem == "group-readable" else 0o600)
        if problem == "foreign-owner":
            if os.geteuid() != 0:
                pytest.skip("needs root")  # pragma: no cover
            os.chown(path, OTHER_UID, OTHER_UID)
    assert read_private(path) is None
    write_private(path, "ours")  # and it is replaced, never followed
    assert read_private(path) == b"ours"
    if problem == "symlink":
        assert (tmp_path / "elsewhere").read_text() == "planted"


def test_a_file_in_a_directory_open_to_others_reads_back_as_absent(tmp_path: Path) -> None:
    directory = tmp_path / "open"
    write_private(directory / "entry", "x")
    directory.chmod(0o777)
    assert read_private(directory / "entry") is None


# -- the trust bundle ----------------------------------------------------------------------


@pytest.fixture
def bundle_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No writable cache or runtime directory: the bundle falls back to $TMPDIR."""
    unwritable = tmp_path / "unwritable-cache"
    unwritable.write_text("a file where a directory should be")
    temporary = tmp_path / "shared-tmp"
    temporary.mkdir()
    temporary.chmod(0o1777)  # like /tmp
    monkeypatch.setenv("XDG_CACHE_HOME", str(unwritable))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(temporary))
    return temporary


def expected_bundle() -> bytes:
    return tls.amazon_roots_pem(Path(certifi.where()).read_text()).encode()


def test_the_bundle_holds_exactly_the_amazon_roots_and_is_private(bundle_home: Path) -> None:
    path = Path(tls.amazon_trust_bundle())
    assert path.parent == bundle_home / f"redshift-ephemeral-{os.getuid()}"
    assert path.read_bytes() == expected_bundle()
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_a_planted_bundle_in_our_directory_is_rewritten(bundle_home: Path) -> None:
    path = Path(tls.amazon_trust_bundle())
    path.write_text("-----BEGIN CERTIFICATE-----\nattacker's CA\n-----END CERTIFICATE-----\n")
    assert Path(tls.amazon_trust_bundle()) == path
    assert path.read_bytes() == expected_bundle()


def test_a_directory_planted_by_another_user_in_shared_tmp_is_never_trusted(
    bundle_home: Path, tmp_path: Path, as_root: None
) -> None:
    planted = bundle_home / f"redshift-ephemeral-{os.getuid()}"
    planted.mkdir(mode=0o755)
    name = f"amazon-roots-certifi-{certifi.__version__}.pem"
    (planted / name).write_text("attacker's CA")
    os.chown(planted / name, OTHER_UID, OTHER_UID)
    os.chown(planted, OTHER_UID, OTHER_UID)
    with pytest.raises(ConfigurationError, match="belongs to uid"):
        tls.amazon_trust_bundle()
    assert (planted / name).read_text() == "attacker's CA"  # not touched either


def test_a_planted_symlink_to_another_bundle_is_replaced(bundle_home: Path, tmp_path: Path) -> None:
    directory = private_directory(bundle_home / f"redshift-ephemeral-{os.getuid()}")
    name = f"amazon-roots-certifi-{certifi.__version__}.pem"
    foreign = tmp_path / "foreign.pem"
    foreign.write_text("attacker's CA")
    (directory / name).symlink_to(foreign)
    path = Path(tls.amazon_trust_bundle())
    assert not path.is_symlink()
    assert path.read_bytes() == expected_bundle()
    assert foreign.read_text() == "attacker's CA"


def test_a_failed_write_leaves_neither_the_file_nor_its_temporary(tmp_path: Path) -> None:
    directory = private_directory(tmp_path / "private")
    taken = directory / "name"
    (taken / "inside").mkdir(parents=True)  # a directory where the file should go
    with pytest.raises(OSError, match="directory"):
        write_private(taken, "content")
    assert sorted(path.name for path in directory.iterdir()) == ["name"]
    assert taken.is_dir()


def test_a_missing_optional_dependency_names_the_extra_to_install() -> None:
    from redshift_ephemeral._extras import require_installed

    with pytest.raises(ConfigurationError) as caught:
        require_installed("psycopg", "json", "no_such_module_here")
    assert str(caught.value) == (
        "no_such_module_here is not installed; it comes with the 'psycopg' extra: "
        "pip install 'redshift-ephemeral[psycopg]'"
    )
