"""Log pane: the selected table's latest job log, followed with bounded reads (toolong's habit).

The file work is `nba_tui.logtail.LogReader` with `skip_ahead=True`: offsets, never the text, at
most `READ_BYTES` per read, newest lines first when a job wrote more than that between two reads.
`LogSource` wraps one reader for the app's thread workers; `LogPane` is a `Log` with `max_lines`,
so memory stays bounded whatever the log's size.

Textual's `Log.write_lines` (8.2) has a bug once `max_lines` is reached: it asks to repaint the
rows *below* the last one (indices taken before the oldest lines were dropped) and the scroll
offset does not change, so nothing on screen is repainted and the pane looks frozen at its
`max_lines`-th line. `LogPane.add_lines` repaints the pane itself when lines were dropped. It also
scrolls to the end once more after the layout (and after each resize): the end of the log, a job's
"exited with code N", is always in view.

While the pane is not displayed (80x24 shows the gap map in its place), lines wait in a bounded
buffer: writing them would grow the `Log`'s virtual size, and every such change reflows the
whole screen (a layout pass per job refresh, for a pane nobody sees). `flush()` writes them when
the pane is shown.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from textual.widgets import Log

from nba_tui.logtail import LogReader, decode

if TYPE_CHECKING:
    from nba_tui.jobs.model import JobView

MAX_LINES = 400
"""Lines kept in the pane (a `Log` defaults to unbounded: never rely on that)."""
TAIL_BYTES = 16 * 1024
"""A newly selected job's log starts with the lines in its last TAIL_BYTES."""
READ_BYTES = 64 * 1024
"""At most this much is read per refresh; a job that wrote more is skipped ahead."""
MAX_CHARS = 400
"""Longer lines are cut (with a note of how much) so one huge line cannot fill the pane."""
SKIPPED = "[… skipped ahead: the log grew faster than it is shown …]"


def log_of(view: JobView | None) -> tuple[str, str] | None:
    """What the pane follows for a table's job: its id and log. A plan's shard is recorded
    queued with no log and gets one when it starts, under the same id."""
    return (view.id, view.record.log) if view is not None else None


class LogSource:
    """One job's log as read by the app's thread workers (one read at a time)."""

    def __init__(self, job_id: str, path: str | Path) -> None:
        self.job_id = job_id
        self._reader = LogReader(path, max_read=READ_BYTES, skip_ahead=True)
        self._lock = threading.Lock()
        self._started = False

    def read(self) -> list[str]:
        """New lines since the last read; the first read returns the log's tail."""
        with self._lock:
            if not self._started:
                self._reader.seek_tail(TAIL_BYTES)
                self._started = True
            raw = self._reader.read()
            lines = [decode(line, MAX_CHARS) for line in raw]
            return [SKIPPED, *lines] if self._reader.skipped else lines


class LogPane(Log):
    """A bounded `Log` that knows which job it shows."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, highlight=False, auto_scroll=True, id=id)
        self.source: LogSource | None = None
        self._pending: deque[str] = deque(maxlen=MAX_LINES)

    @property
    def job_id(self) -> str | None:
        return self.source.job_id if self.source is not None else None

    @property
    def waiting(self) -> int:
        """Lines received while the pane was not displayed, written once it shows (`flush`)."""
        return len(self._pending)

    def follow(self, job_id: str | None, path: str | Path | None) -> LogSource | None:
        """Switch to another job's log (or to none); the app then reads `source` in a worker
        and feeds the lines back through `add_lines`."""
        self.source = LogSource(job_id, path) if job_id and path else None
        self._pending.clear()
        self.clear()
        return self.source

    def add_lines(self, job_id: str | None, lines: list[str]) -> None:
        """Append lines read for `job_id` (dropped if another job was selected meanwhile)."""
        if job_id != self.job_id or not lines:
            return
        if not self.display:
            self._pending.extend(lines)
            return
        self._write(lines[-MAX_LINES:])

    def flush(self) -> None:
        """Write the lines that came while the pane was not displayed (call once shown)."""
        if self._pending and self.display:
            lines = list(self._pending)
            self._pending.clear()
            self._write(lines)

    def show_end(self) -> None:
        """Write what waited and scroll to the last line (after the pane was shown or resized:
        a resize keeps the scroll offset, which would leave the end of the log below view)."""
        self.flush()
        self._to_end()

    def on_resize(self) -> None:
        self.call_after_refresh(self._to_end)

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        """A long line brought the horizontal scrollbar: it takes the last row of the pane."""
        if shown:
            self.call_after_refresh(self._to_end)

    def _to_end(self) -> None:
        if self.display:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _write(self, lines: list[str]) -> None:
        full = len(self.lines) + len(lines) > MAX_LINES
        self.write_lines(lines)
        if full:
            self.refresh()  # see the module docstring: Log repaints nothing once it drops lines
