"""The core's loggers (``_logs.Logger``): ``logging.getLogger(name)`` to anyone who configured
logging, and no import of ``logging`` for a record that could go nowhere."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from redshift_ephemeral._logs import Logger


@pytest.mark.parametrize(
    ("log", "level"),
    [("debug", logging.DEBUG), ("info", logging.INFO), ("warning", logging.WARNING)],
)
def test_records_reach_the_named_logger_from_the_callers_line(
    caplog: pytest.LogCaptureFixture, log: str, level: int
) -> None:
    with caplog.at_level(logging.DEBUG, logger="redshift_ephemeral.test"):
        getattr(Logger("redshift_ephemeral.test"), log)("credential for %s", "alice@demo")
    [record] = caplog.records
    assert (record.name, record.levelno) == ("redshift_ephemeral.test", level)
    assert record.getMessage() == "credential for alice@demo"
    assert record.filename == "test_logs.py"  # the caller, not _logs.py
    assert record.funcName == "test_records_reach_the_named_logger_from_the_callers_line"


def test_a_level_the_logger_is_not_enabled_for_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="redshift_ephemeral.test"):
        Logger("redshift_ephemeral.test").info("not shown")
    assert caplog.records == []


SCRIPT = """
import sys
from redshift_ephemeral._logs import Logger
logger = Logger("redshift_ephemeral.cache")
logger.debug("a debug line %s", 1)
logger.info("an info line")
print("after debug and info:", "logging" in sys.modules)
logger.warning("a warning for %s", "alice@demo")
print("after warning:", "logging" in sys.modules)
"""


def test_without_logging_loaded_debug_is_dropped_and_a_warning_still_shows() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines() == ["after debug and info: False", "after warning: True"]
    # As an unconfigured logging.getLogger(...).warning shows it: logging.lastResort.
    assert result.stderr == "a warning for alice@demo\n"
