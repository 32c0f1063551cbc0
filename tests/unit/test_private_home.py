"""The suite itself is hermetic: every test runs with a private HOME, XDG directories and
TMPDIR, which its subprocesses inherit, so nothing lands in the real user's files."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import tempfile
from pathlib import Path

from redshift_ephemeral.tls import amazon_trust_bundle
from tests.conftest import PRIVATE_DIRECTORIES

REAL_HOME = Path(pwd.getpwuid(os.getuid()).pw_dir)


def test_every_user_directory_is_private_to_the_test(tmp_path: Path) -> None:
    directories = {variable: Path(os.environ[variable]) for variable in PRIVATE_DIRECTORIES}
    assert len(set(directories.values())) == len(directories)
    for directory in directories.values():
        assert directory.is_dir()
        assert not directory.is_relative_to(REAL_HOME)
    assert Path.home() == directories["HOME"]
    assert Path(tempfile.gettempdir()) == directories["TMPDIR"]


def test_the_trust_bundle_lands_in_the_private_cache() -> None:
    bundle = Path(amazon_trust_bundle())
    assert bundle.is_relative_to(os.environ["XDG_CACHE_HOME"])


def test_subprocesses_see_the_same_private_directories() -> None:
    script = (
        "import json, os, pathlib, sys, tempfile; json.dump({**{v: os.environ.get(v) for v in "
        "sys.argv[1:]}, 'home': str(pathlib.Path.home()), 'tmp': tempfile.gettempdir()}, "
        "sys.stdout)"
    )
    seen = json.loads(
        subprocess.run(
            [sys.executable, "-c", script, *PRIVATE_DIRECTORIES],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    for variable in PRIVATE_DIRECTORIES:
        assert seen[variable] == os.environ[variable]
    assert (seen["home"], seen["tmp"]) == (os.environ["HOME"], os.environ["TMPDIR"])


def test_each_test_has_its_own_home_first() -> None:
    # The paired test below sees none of this test's files.
    (Path.home() / "left-by-the-first-test").touch()


def test_each_test_has_its_own_home_second() -> None:
    assert not (Path.home() / "left-by-the-first-test").exists()
