"""The plan runner's and watchdog's own log lines: their stdout, a file (spawn_detached).

`say` writes each line whole with one write(2) and never raises: a full or failing log disk
drops lines instead of killing the process that supervises the night, and the first line that
gets through again is preceded by one marker saying how many were dropped.
"""

from __future__ import annotations

import os


class _Log:
    def __init__(self) -> None:
        self.dropped = 0
        self.why = ""

    def write(self, line: str, fd: int = 1) -> None:
        try:
            if self.dropped:
                marker = f"[{self.dropped} log line(s) dropped: {self.why}]\n"
                os.write(fd, marker.encode())
                self.dropped = 0
            data = (line.replace("\n", " ") + "\n").encode("utf-8", "replace")
            if os.write(fd, data) < len(data):
                raise OSError(0, "short write")
        except OSError as e:
            self.dropped += 1
            self.why = e.strerror or str(e)


_LOG = _Log()


def say(msg: str) -> None:
    """One line to this process's log (its stdout); never raises."""
    _LOG.write(msg)
