"""Every code example in README.md and docs/ runs in CI against the local stack, so none can
rot: an example that raises or exits non-zero fails here, naming its file and line."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from redshift_ephemeral.local import LocalStack
from tests.docs.examples import (
    ROOT,
    Example,
    ExampleFailed,
    all_examples,
    chain,
    clean_environment,
    config_for,
    iter_runnable,
    parse_examples,
    private_environment,
    run_ipython,
    run_pytest,
    run_python,
    run_shell,
)

pytestmark = pytest.mark.e2e

EXAMPLES = all_examples()
RUNNABLE = list(iter_runnable(EXAMPLES))
# Examples that cannot run here, each with its reason on the page. Keep this set tiny.
MOST_NOT_RUNNABLE = 4
TO_RUN = [example for example in RUNNABLE if example.skip_reason is None]


def prepare(
    example: Example, stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The reader's shell after `eval "$(redshift-ephemeral local env)"`, in a private home,
    with the page's config file; applied to this process too, for Python examples."""
    environment = private_environment(clean_environment(stack.environment()), tmp_path / "home")
    config = config_for(example.path, EXAMPLES)
    if config:
        config_file = Path(environment["XDG_CONFIG_HOME"]) / "redshift-ephemeral" / "config.toml"
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(config, encoding="utf-8")
    for name in [name for name in os.environ if name not in environment]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return environment


def run(
    example: Example, stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if example.kind == "toml":
        tomllib.loads(example.code)
        return
    environment = prepare(example, stack, tmp_path, monkeypatch)
    if example.kind == "python":
        run_python(chain(example, EXAMPLES))
    elif example.kind == "pytest":
        run_pytest(example, environment, tmp_path / "work")
    elif example.kind == "ipython":
        run_ipython(example, environment, tmp_path / "work")
    else:
        run_shell(example, environment, tmp_path / "work")


@pytest.mark.parametrize("example", TO_RUN, ids=[example.name for example in TO_RUN])
def test_example_runs(
    example: Example,
    redshift_local: LocalStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run(example, redshift_local, tmp_path, monkeypatch)


def test_examples_are_found_on_every_page() -> None:
    pages = {example.path for example in RUNNABLE if example.kind in ("python", "shell")}
    assert ROOT / "README.md" in pages
    assert len(pages) >= 6, sorted(str(page) for page in pages)
    assert sum(example.kind == "python" for example in RUNNABLE) >= 10
    assert sum(example.kind == "shell" for example in RUNNABLE) >= 10


def test_the_not_runnable_set_stays_tiny_and_says_why() -> None:
    skipped = [example for example in RUNNABLE if example.skip_reason]
    assert len(skipped) <= MOST_NOT_RUNNABLE, [example.name for example in skipped]
    assert all(len(example.skip_reason or "") > 20 for example in skipped)
    # README's two set-up commands: CI runs the second itself, and the first's steps.
    readme = [example for example in RUNNABLE if example.path == ROOT / "README.md"]
    assert [example.skip_reason is not None for example in readme[:3]] == [True, True, False]


# -- the runner catches a broken example (mutants of real pages) ---------------------------


def mutant(path: str, original: str, replacement: str, kind: str) -> Example:
    """The first example of ``kind`` on the page that contains ``original``, with it replaced:
    what the page would say after the code changed under it."""
    for example in parse_examples(ROOT / path):
        if example.kind == kind and example.skip_reason is None and original in example.code:
            return Example(
                example.path,
                example.line,
                example.language,
                example.code.replace(original, replacement, 1),
            )
    raise AssertionError(f"no {kind} example of {path} contains {original!r}")


@pytest.mark.parametrize(
    ("path", "original", "replacement", "kind"),
    [
        ("README.md", ".libpq_params()", ".libpq_keywords()", "python"),  # renamed API
        ("README.md", 'db_user="alice"', 'db_user="carol"', "python"),  # no such database user
        ("docs/cli.md", "--db-user alice", "--db-usr alice", "shell"),  # renamed flag
        ("docs/cli.md", "--format csv", "--format xml", "shell"),  # dropped choice
        ("docs/notebooks.md", "FROM my_table", "FROM no_table", "ipython"),  # a %sql error
        ("docs/notebooks.md", "plugin=redshift_ephemeral", "plugin=redshift_ephemera", "ipython"),
    ],
)
def test_a_broken_example_fails_the_run(
    path: str,
    original: str,
    replacement: str,
    kind: str,
    redshift_local: LocalStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = mutant(path, original, replacement, kind)
    with pytest.raises(ExampleFailed, match=broken.name):
        run(broken, redshift_local, tmp_path, monkeypatch)


def test_a_broken_pytest_example_fails_the_run(tmp_path: Path) -> None:
    broken = Example(ROOT / "README.md", 1, "python", "def test_fails():\n    assert 41 == 42\n")
    with pytest.raises(ExampleFailed, match="pytest exited 1"):
        run_pytest(broken, clean_environment({}), tmp_path)


def test_a_skip_without_a_reason_is_refused() -> None:
    page = "<!-- example: skip -->\n```sh\nfalse\n```\n"
    with pytest.raises(ValueError, match="needs a reason"):
        parse_examples(ROOT / "page.md", page)


def test_python_tracebacks_name_the_markdown_line(tmp_path: Path) -> None:
    page = "# A page\n\n```python\nx = 1\nraise RuntimeError('drifted')\n```\n"
    (example,) = parse_examples(tmp_path / "page.md", page)
    with pytest.raises(ExampleFailed) as failure:
        run_python([example])
    traceback = failure.value.__cause__.__traceback__  # type: ignore[union-attr]
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    assert traceback is not None
    assert traceback.tb_lineno == 5


def test_examples_run_by_an_interop_test_are_read_by_that_test() -> None:
    by_interop = [example for example in EXAMPLES if example.run_by is not None]
    assert by_interop  # docs/airflow.md's
    for example in by_interop:
        test_file = ROOT / str(example.run_by)
        assert test_file.is_file(), example.name
        assert f'examples_run_by("{example.run_by}")' in test_file.read_text(), example.name
