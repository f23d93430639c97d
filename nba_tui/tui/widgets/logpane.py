"""Log pane: the selected table's latest job log, followed with bounded reads (toolong's habit).

`LogFollower` keeps a byte offset, never the text: each read takes at most `chunk` bytes from the
offset (skipping ahead when the file grew by more, so a job writing 100 MB of logs cannot stall the
dashboard), splits complete lines, cuts absurdly long ones, and keeps at most `max_line` bytes of
an unfinished line. The widget is a `Log` with `max_lines`, so memory stays bounded whatever the
log's size. Reads happen in a thread worker of the app; this module does the file work only.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual.widgets import Log

MAX_LINES = 400
"""Lines kept in the pane (a `Log` defaults to unbounded: never rely on that)."""


class LogFollower:
    """Incremental, bounded reader of one growing file."""

    def __init__(self, path: str | Path, *, chunk: int = 64 * 1024, max_line: int = 400) -> None:
        self.path = Path(path)
        self.chunk = chunk
        self.max_line = max_line
        self.offset = 0
        self._partial = b""
        self._inode: int | None = None

    def start_tail(self, tail_bytes: int = 16 * 1024) -> list[str]:
        """The last lines of the file (at most `tail_bytes`), and follow from its end."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        start = max(0, size - tail_bytes)
        self.offset, self._partial = start, b""
        lines = self.read()
        if start > 0 and lines:
            lines = lines[1:]  # the first line was cut by the tail window
        return lines

    def read(self) -> list[str]:
        """New complete lines since the last read (bounded by `chunk` bytes)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return []
        if self._inode is not None and st.st_ino != self._inode or st.st_size < self.offset:
            self.offset, self._partial = 0, b""  # rotated or truncated: start over
        self._inode = st.st_ino
        skipped = False
        if st.st_size - self.offset > self.chunk:
            self.offset, self._partial, skipped = st.st_size - self.chunk, b"", True
        if st.st_size == self.offset:
            return []
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read(self.chunk)
        except OSError:
            return []
        self.offset += len(data)
        data = self._partial + data
        parts = data.split(b"\n")
        self._partial = parts.pop()[-self.max_line :]
        if skipped and parts:
            parts[0] = b"[...skipped...] " + parts[0]
        return [self._line(p) for p in parts]

    def _line(self, raw: bytes) -> str:
        text = raw.decode("utf-8", "replace").rstrip("\r").replace("\t", "    ")
        if len(text) > self.max_line:
            text = text[: self.max_line] + f" …(+{len(text) - self.max_line} chars)"
        return "".join(ch if ch.isprintable() else "?" for ch in text)


class LogPane(Log):
    """A bounded `Log` that knows which job it shows."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, highlight=False, auto_scroll=True, id=id)
        self.job_id: str | None = None
        self.follower: LogFollower | None = None

    def follow(self, job_id: str | None, path: str | Path | None, header: str) -> None:
        """Switch to another job's log (or to none). The app then feeds it via `add_lines`."""
        self.job_id = job_id
        self.follower = LogFollower(path) if path else None
        self.border_title = header
        self.clear()

    def add_lines(self, job_id: str | None, lines: list[str]) -> None:
        if job_id != self.job_id or not lines:
            return  # a read for a job that is no longer selected
        self.write_lines(lines[-MAX_LINES:])
