"""The leak scan itself (tests/leak_scan.py): it finds a password wherever it is recorded,
fails the session when it does, and catches errors as pytest.raises does."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.leak_scan import LeakRecord, raises

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]


def test_a_recorded_password_is_found_with_where_and_what_came_before() -> None:
    record = LeakRecord()
    record.issued(["pw-1", "pw-2"])
    record.output("stdout of creds", "nothing here")
    record.output("stderr of creds", "DEBUG fetched pw-2 for alice")
    assert record.leaks() == [("stderr of creds", "DEBUG fetched ")]
    failed, lines = record.verdict()
    assert failed
    assert "1 outputs hold one" in lines[0]


def test_an_error_is_scanned_with_its_chain() -> None:
    record = LeakRecord()
    record.issued(["pw-1"])
    try:
        try:
            raise OSError("driver said pw-1")
        except OSError as cause:
            raise ValueError("ours") from cause
    except ValueError as error:
        record.error("caught", error)
    assert [where for where, _ in record.leaks()] == ["caught"]


def test_a_scan_with_passwords_but_no_output_fails_and_one_without_passwords_is_silent() -> None:
    record = LeakRecord()
    assert record.verdict() == (False, [])
    record.issued(["pw-1"])
    failed, lines = record.verdict()
    assert failed
    assert "prove nothing" in lines[0]
    record.output("stderr", "clean")
    assert record.verdict() == (False, ["1 outputs searched for 1 issued passwords: none found"])


def test_raises_records_what_it_caught_and_still_fails_when_nothing_is_raised() -> None:
    from tests.leak_scan import RECORD

    before = len(RECORD.outputs)
    with raises(KeyError, match="needle") as caught:
        raise KeyError("needle in the text")
    assert caught.type is KeyError
    assert "needle in the text" in RECORD.outputs[-1][1]
    assert len(RECORD.outputs) == before + 1
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"), raises(KeyError):
        pass


def test_a_leak_fails_the_whole_session_whatever_the_test_order(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest(
        "from tests.conftest import pytest_sessionfinish, pytest_terminal_summary  # noqa: F401"
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            from tests.leak_scan import RECORD

            def test_a_password_is_issued():
                RECORD.issued(["pw-secret-1"])

            def test_a_log_line_holds_it():
                RECORD.output("log record", "DEBUG issued pw-secret-1")

            def test_something_after_it():
                pass
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*leak scan*", "*1 outputs hold one*", "*log record*"])
