"""Check the built wheel and sdist hold what users and packagers need, and nothing else:
every tracked source file, the typing marker, the licence; no caches, no build debris.

    python .ci/check_dist.py DIST_DIR
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

JUNK = ("__pycache__", ".pyc", ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache")


def tracked(*paths: str) -> set[str]:
    output = subprocess.run(
        ["git", "ls-files", *paths], capture_output=True, text=True, check=True
    ).stdout
    return set(output.split())


def main(dist: Path) -> int:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    problems: list[str] = []

    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    wanted = {path.removeprefix("src/") for path in tracked("src")}
    problems += [f"wheel lacks {path}" for path in sorted(wanted - in_wheel)]
    problems += [f"wheel holds {p}" for p in sorted(in_wheel) if p.startswith("tests/")]
    if not any(p.endswith(".dist-info/licenses/LICENSE") for p in in_wheel):
        problems.append("wheel lacks the LICENSE")

    with tarfile.open(sdist) as archive:
        root = PurePosixPath(archive.getnames()[0]).parts[0]
        in_sdist = {str(PurePosixPath(*PurePosixPath(n).parts[1:])) for n in archive.getnames()}
    wanted = tracked("src", "tests", "bench", ".ci") | {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "PKG-INFO",
    }
    problems += [f"sdist {root} lacks {path}" for path in sorted(wanted - in_sdist)]

    for name in sorted(in_wheel | in_sdist):
        if any(junk in name for junk in JUNK):
            problems.append(f"junk in a distribution: {name}")

    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{wheel.name}: {len(in_wheel)} files; {sdist.name}: {len(in_sdist)} files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
