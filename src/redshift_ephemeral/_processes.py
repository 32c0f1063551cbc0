"""Which process is it: a PID names a process only while it lives (the kernel hands the
number to the next one), so files that name their owner process - passfiles, the local
stack's state - record its start time too."""

from __future__ import annotations

from pathlib import Path

_START_TIME_FIELD = 22  # of /proc/<pid>/stat, in clock ticks since boot
_FIRST_FIELD_AFTER_NAME = 3


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot); None without ``/proc`` (not Linux) or
    without such a process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    index = _START_TIME_FIELD - _FIRST_FIELD_AFTER_NAME
    try:
        return int(fields[index])
    except (IndexError, ValueError):
        return None
