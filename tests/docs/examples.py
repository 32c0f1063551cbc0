"""Find the code examples in README.md and docs/, and run them as a reader would.

A fenced block is an example by its language:

* ``python`` - run in a fresh namespace with the local stack's environment (as after
  ``eval "$(redshift-ephemeral local env)"``); a block that defines ``test_*`` functions is a
  pytest module and runs under pytest, with the package's plugin, in a process of its own;
* ``ipython`` - notebook cells (``%sql`` magics and all): run by the real ``ipython`` on the
  block as a script, in a process of its own with the same environment; an error in any cell
  fails it;
* ``sh`` / ``bash`` / ``shell`` - run by ``bash -e -o pipefail`` with the same environment, a
  private ``HOME`` and ``XDG_*`` directories, and the venv's ``redshift-ephemeral`` on ``PATH``;
* ``toml`` - must parse; ``[targets.*]`` tables become the config file of that page's shell
  examples.

An HTML comment on the line before the fence (invisible on GitHub and on the site) changes that:

* ``<!-- example: skip REASON -->`` - not run; the reason is required (and the set is kept tiny);
* ``<!-- example: continues -->`` - a Python block that runs after the page's previous Python
  block, in its namespace (as a reader runs a page top to bottom);
* ``<!-- example: interop TEST_FILE -->`` - needs a third-party tool (Airflow): run there, by
  the interop test named, which reads it from the page (``examples_run_by``).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON_LANGUAGES = frozenset({"python", "py"})
IPYTHON_LANGUAGES = frozenset({"ipython"})
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell"})
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<language>[\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<directive>\w+)(?P<argument>.*?)\s*-->\s*$")
SHELL_TIMEOUT_SECONDS = 180.0


class ExampleFailed(AssertionError):
    """An example raised, or exited non-zero: the docs say something the code does not do."""


@dataclass(frozen=True)
class Example:
    path: Path
    line: int  # 1-based line of the first line of code (the one after the fence)
    language: str
    code: str
    skip_reason: str | None = None
    continues: bool = False
    run_by: str | None = None  # the interop test that runs it

    @property
    def name(self) -> str:
        return f"{self.relative_path}:{self.line}"

    @property
    def relative_path(self) -> str:
        try:
            return str(self.path.relative_to(ROOT))
        except ValueError:
            return str(self.path)

    @property
    def kind(self) -> str:
        if self.language in PYTHON_LANGUAGES:
            return "pytest" if defines_tests(self.code) else "python"
        if self.language in SHELL_LANGUAGES:
            return "shell"
        if self.language in IPYTHON_LANGUAGES:
            return "ipython"
        return self.language


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def parse_examples(path: Path, text: str | None = None) -> list[Example]:
    """Every fenced block with a language, in order, with the marker that precedes it."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    examples: list[Example] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            body.append(lines[end][indent:] if lines[end][:indent].isspace() else lines[end])
            end += 1
        if end == len(lines):
            raise ValueError(f"{path}:{index + 1}: the code block is never closed")
        marker = _marker_before(lines, index)
        directive = marker[0] if marker else None
        reason = marker[1] if marker and directive == "skip" else None
        if directive == "skip" and not reason:
            raise ValueError(f"{path}:{index}: `example: skip` needs a reason")
        if directive == "interop" and not (marker and marker[1]):
            raise ValueError(f"{path}:{index}: `example: interop` needs the test file")
        if directive not in (None, "skip", "continues", "interop"):
            raise ValueError(f"{path}:{index}: unknown example directive {directive!r}")
        if opening["language"]:
            examples.append(
                Example(
                    path=path,
                    line=index + 2,
                    language=opening["language"].lower(),
                    code="\n".join(body) + "\n",
                    skip_reason=reason,
                    continues=directive == "continues",
                    run_by=marker[1] if marker and directive == "interop" else None,
                )
            )
        index = end + 1
    return examples


def _marker_before(lines: list[str], fence_index: int) -> tuple[str, str] | None:
    previous = fence_index - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    match = MARKER.match(lines[previous]) if previous >= 0 else None
    return (match["directive"], match["argument"].strip()) if match else None


def defines_tests(code: str) -> bool:
    tree = ast.parse(code)
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        for node in tree.body
    )


def all_examples() -> list[Example]:
    return [example for path in markdown_files() for example in parse_examples(path)]


def chain(example: Example, examples: list[Example]) -> list[Example]:
    """The Python blocks ``example`` continues from, oldest first, then itself."""
    if not example.continues:
        return [example]
    earlier = [
        other
        for other in examples
        if other.path == example.path
        and other.kind == "python"
        and other.line < example.line
        and other.skip_reason is None
    ]
    if not earlier:
        raise ValueError(f"{example.name}: `example: continues` with no Python block before it")
    return [*chain(earlier[-1], examples), example]


def config_for(path: Path, examples: list[Example]) -> str:
    """The page's ``[targets.*]`` tables, for its shell examples' config file."""
    tables = [
        example.code
        for example in examples
        if example.path == path
        and example.language == "toml"
        and "targets" in tomllib.loads(example.code)
    ]
    return "\n".join(tables)


# -- running -------------------------------------------------------------------------------


def compiled(example: Example) -> Any:
    """The block compiled so that tracebacks name the Markdown file and its line numbers."""
    padded = "\n" * (example.line - 1) + example.code
    return compile(padded, example.relative_path, "exec")


def run_python(examples: list[Example]) -> None:
    """Run the blocks in order in one fresh namespace, in this process (the caller has set
    the environment). Any exception is the example's failure, with its Markdown line."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for example in examples:
        try:
            exec(compiled(example), namespace)  # noqa: S102 - running the docs is the point
        except BaseException as error:
            raise ExampleFailed(f"{example.name}: {type(error).__name__}: {error}") from error


def private_environment(base: Mapping[str, str], home: Path) -> dict[str, str]:
    """``base`` (the stack's variables over a clean environment) with a private home and
    per-user directories, and this venv's scripts first on PATH. ``TMPDIR`` stays: a stack
    started by an example keeps PostgreSQL's directory there, which the server's own user
    (when tests run as root) must be able to reach."""
    directories = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_RUNTIME_DIR": home / "run",
    }
    for directory in directories.values():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    scripts = str(Path(sys.executable).parent)
    return {
        **base,
        **{name: str(directory) for name, directory in directories.items()},
        "PATH": scripts + os.pathsep + base.get("PATH", os.defpath),
    }


def run_pytest(example: Example, environment: Mapping[str, str], workdir: Path) -> None:
    """A block of ``test_*`` functions, as a user's own test module, under pytest with the
    package's plugin (its fixtures start their own stack)."""
    stem = re.sub(r"\W", "_", example.relative_path)
    module = workdir / f"test_{stem}_{example.line}.py"
    module.write_text("\n" * (example.line - 1) + example.code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        cwd=workdir,
        env=dict(environment),
        capture_output=True,
        text=True,
        timeout=SHELL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise ExampleFailed(f"{example.name}: pytest exited {result.returncode}\n{result.stdout}")


def run_ipython(example: Example, environment: Mapping[str, str], workdir: Path) -> str:
    """Notebook cells, run by IPython itself (``ipython script.ipy`` exits non-zero when a
    cell raises, jupysql's query errors included)."""
    stem = re.sub(r"\W", "_", example.relative_path)
    script = workdir / f"{stem}_{example.line}.ipy"
    script.write_text(example.code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor", str(script)],
        cwd=workdir,
        env=dict(environment),
        capture_output=True,
        text=True,
        timeout=SHELL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise ExampleFailed(
            f"{example.name}: ipython exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
        )
    return result.stdout


def run_shell(example: Example, environment: Mapping[str, str], workdir: Path) -> str:
    """The block under ``bash -e -o pipefail``; any failing command fails it. A stack the
    block left running (it failed between ``local up`` and ``local down``) is stopped."""
    bash = shutil.which("bash") or "/bin/bash"
    try:
        result = subprocess.run(
            [bash, "-e", "-o", "pipefail", "-c", example.code],
            cwd=workdir,
            env=dict(environment),
            capture_output=True,
            text=True,
            timeout=SHELL_TIMEOUT_SECONDS,
            check=False,
        )
    finally:
        subprocess.run(
            ["redshift-ephemeral", "local", "down"],
            env=dict(environment),
            capture_output=True,
            timeout=60,
            check=False,
        )
    if result.returncode != 0:
        raise ExampleFailed(
            f"{example.name}: exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
        )
    return result.stdout


def clean_environment(stack_environment: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without AWS, libpq or our own settings, plus the stack's:
    what `eval "$(redshift-ephemeral local env)"` gives a fresh shell."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "REDSHIFT_EPHEMERAL_", "PG"))
    }
    return clean | dict(stack_environment)


def iter_runnable(examples: list[Example]) -> Iterator[Example]:
    for example in examples:
        if (
            example.kind in ("python", "pytest", "shell", "ipython", "toml")
            and example.run_by is None
        ):
            yield example


def examples_run_by(test_file: str) -> list[Example]:
    """The examples an interop test runs (``<!-- example: interop TEST_FILE -->``)."""
    return [example for example in all_examples() if example.run_by == test_file]
