"""The plan runner's and watchdog's own log lines: their stdout, a file (spawn_detached).

`say` writes each line whole through `fsutil.LineLog` and never raises: a full or failing log
disk drops lines instead of killing the process that supervises the night, and the first line
that gets through again is preceded by one marker saying how many were dropped.
"""

from __future__ import annotations

from nba_tui.fsutil import LineLog

_LOG = LineLog(1)


def say(msg: str) -> None:
    """One line to this process's log (its stdout); never raises."""
    _LOG.write(msg.replace("\n", " "))
