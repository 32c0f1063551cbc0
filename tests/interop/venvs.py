"""One virtual environment per third-party client, built once and cached between runs.

The clients pin versions that conflict with each other (and with this project's own test
environment), so each gets its own venv from ``requirements/<name>.txt``. A venv lives at
``$XDG_CACHE_HOME/redshift-ephemeral/interop/<name>-<key>``, where the key hashes the
requirements file and the interpreter: change a pin (or Python) and a new venv is built, the
old one removed. A client that works through this project (jupysql through its SQLAlchemy
plugin) names it in its requirements as ``-e ${REDSHIFT_EPHEMERAL_SOURCE}[extras]`` (pip
expands the variable): it is installed editable from this checkout, so the venv follows the
source, and its key also hashes the checkout's path and ``pyproject.toml``. A venv is used
only once its build finished (a ``.complete`` marker written
last); a lock file serialises builders, so two test runs never build the same venv at once.

Build them ahead of a test run (CI does, to time it apart from the tests)::

    python -m tests.interop.venvs            # every client
    python -m tests.interop.venvs dbt pgcli  # some
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REQUIREMENTS = Path(__file__).parent / "requirements"
SOURCE = Path(__file__).resolve().parents[2]
SOURCE_VARIABLE = "REDSHIFT_EPHEMERAL_SOURCE"
CLIENTS = tuple(sorted(path.stem for path in REQUIREMENTS.glob("*.txt")))
COMPLETE_MARKER = ".complete"
PIP_TIMEOUT_SECONDS = 900.0
LOCK_TIMEOUT_SECONDS = 1200.0


CACHE_ROOT_VARIABLE = "REDSHIFT_EPHEMERAL_INTEROP_CACHE"


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/redshift-ephemeral/interop`` (``~/.cache`` when unset), unless
    ``REDSHIFT_EPHEMERAL_INTEROP_CACHE`` names it: inside a test run, where every test has a
    private ``XDG_CACHE_HOME``, ``tests/conftest.py`` sets it to the cache of the user who
    started the run, so the venvs built before it (by ``.ci/run``) are found."""
    if explicit := os.environ.get(CACHE_ROOT_VARIABLE):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "redshift-ephemeral" / "interop"


def cache_key(name: str) -> str:
    """Changes whenever the pinned requirements or the interpreter change."""
    digest = hashlib.sha256()
    requirements = (REQUIREMENTS / f"{name}.txt").read_bytes()
    digest.update(requirements)
    if f"${{{SOURCE_VARIABLE}}}".encode() in requirements:
        digest.update(str(SOURCE).encode())
        digest.update((SOURCE / "pyproject.toml").read_bytes())
    digest.update(f"{platform.python_implementation()} {platform.python_version()}".encode())
    digest.update(sys.base_prefix.encode())
    return digest.hexdigest()[:16]


def venv_path(name: str) -> Path:
    return cache_root() / f"{name}-{cache_key(name)}"


def executable(name: str, program: str) -> Path:
    """A console script (``aws``, ``dbt``, ``pgcli``, ``python``) of a client's venv."""
    return venv_path(name) / "bin" / program


def is_built(name: str) -> bool:
    return (venv_path(name) / COMPLETE_MARKER).is_file()


@contextmanager
def _locked(name: str) -> Iterator[None]:
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with (root / f"{name}.lock").open("w") as lock:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"another build of the {name} venv holds {lock.name}"
                    ) from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure(name: str) -> Path:
    """The client's venv, built first if missing or stale. Returns its directory."""
    if name not in CLIENTS:
        raise ValueError(f"no requirements/{name}.txt; clients: {', '.join(CLIENTS)}")
    target = venv_path(name)
    if is_built(name):
        return target
    with _locked(name):
        if is_built(name):  # built by whoever held the lock before us
            return target
        shutil.rmtree(target, ignore_errors=True)  # a build that died half-way
        _build(name, target)
        for stale in cache_root().glob(f"{name}-*"):
            if stale != target and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
    return target


def _build(name: str, target: Path) -> None:
    # Venvs are not relocatable (scripts name their interpreter by path): build in place and
    # mark complete last.
    python = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run(
        [str(python if python.exists() else sys.executable), "-m", "venv", str(target)],
        check=True,
        timeout=120,
    )
    pip = [str(target / "bin" / "python"), "-m", "pip", "--no-input", "--quiet"]
    subprocess.run(
        [*pip, "install", "--requirement", str(REQUIREMENTS / f"{name}.txt")],
        check=True,
        timeout=PIP_TIMEOUT_SECONDS,
        env={**os.environ, SOURCE_VARIABLE: str(SOURCE)},
    )
    frozen = subprocess.run(
        [*pip, "freeze"], check=True, timeout=120, capture_output=True, text=True
    ).stdout
    (target / "requirements.lock").write_text(frozen)
    (target / COMPLETE_MARKER).write_text(f"built in the {name} cache slot\n")


CHECKOUT = Path(__file__).resolve().parents[2]
CHECKOUT_FILES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in")


def install_checkout(name: str, target: Path) -> Path:
    """This checkout's package, installed as its wheel would be (entry points included) into
    ``target`` for a client's venv to find on ``PYTHONPATH`` - the cached venv itself stays
    as its requirements built it. Built from a copy of the sources, so no build debris of
    an earlier run is packaged; the client venv's own setuptools builds it, offline."""
    source = target.parent / f"{target.name}-source"
    for file_name in CHECKOUT_FILES:
        (source / file_name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CHECKOUT / file_name, source / file_name)
    shutil.copytree(
        CHECKOUT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    pip = [str(ensure(name) / "bin" / "python"), "-m", "pip", "--no-input", "--quiet"]
    install = ["install", "--no-deps", "--no-build-isolation", "--target", str(target)]
    subprocess.run(
        [*pip, *install, str(source)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    shutil.rmtree(source)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the interop suite's client venvs.")
    parser.add_argument("clients", nargs="*", metavar="CLIENT", help=", ".join(CLIENTS))
    names = parser.parse_args(argv).clients or list(CLIENTS)
    unknown = sorted(set(names) - set(CLIENTS))
    if unknown:
        parser.error(f"unknown client(s) {', '.join(unknown)}; clients: {', '.join(CLIENTS)}")
    started = time.monotonic()
    for name in names:
        cached = is_built(name)
        begun = time.monotonic()
        path = ensure(name)
        state = "cached" if cached else f"built in {time.monotonic() - begun:.0f} s"
        print(f"{name:20} {state:18} {path}", flush=True)
    print(f"{'all':20} {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
