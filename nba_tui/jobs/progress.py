"""Progress from a job's log: the table's progress regex over lines read by `logtail.LogReader`.

The reading (byte offsets, bounded reads, capped long lines, restart on a replaced or truncated
file) is `nba_tui.logtail.LogReader` in catch-up mode (`skip_ahead=False`: every line counts);
this module keeps only what the lines mean: the current date, done/total, failed dates, the rate.
Lines are matched as bytes and only what matched is decoded: catching up on 100 MB of noise is a
regex scan per line, not a decode per line.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nba_tui.jobs.model import JobRecord, JobView, Progress
from nba_tui.logtail import MAX_LINE, LogReader

if TYPE_CHECKING:
    from nba_tui.config import Pipeline

DEFAULT_PROGRESS = r"Processing (?P<date>\d{4}-\d{2}-\d{2})"
"""The progress regex of a job whose table is no longer in the pipeline (or has no backfill)."""

MAX_READ_PER_CALL = 2 * 1024 * 1024
"""Catch up on a huge log over several polls instead of blocking one for seconds."""
_COUNT = re.compile(rb"\((\d+)\s*/\s*(\d+)\)")
_FAILED = re.compile(
    rb"(?i)\b(?:failed|failure|error)\b.*?(\d{4}-\d{2}-\d{2})|(\d{4}-\d{2}-\d{2}).*?\bfailed\b"
)
MAX_FAILED = 200


class _Decoding:
    """Fallback for a non-ASCII progress regex: decode the line, match, re-encode the groups."""

    def __init__(self, rx: re.Pattern) -> None:
        self.rx = rx

    def search(self, raw: bytes) -> _DecodedMatch | None:
        m = self.rx.search(raw.decode("utf-8", "replace"))
        return _DecodedMatch(m) if m else None


class _DecodedMatch:
    def __init__(self, m: re.Match) -> None:
        self.m = m

    def group(self, name: str) -> bytes:
        return (self.m.group(name) or "").encode()

    def groupdict(self) -> dict[str, bytes | None]:
        return {k: v.encode() if v else None for k, v in self.m.groupdict().items()}

    def end(self) -> int:
        return len(self.m.string[: self.m.end()].encode())


class LogProgress:
    """Incremental parser of one log file with one table's progress regex."""

    def __init__(self, path: str | Path, pattern: str) -> None:
        self.path = Path(path)
        self.rx = re.compile(pattern)
        try:  # the same regex over bytes (an ASCII pattern); else decode each line
            self._brx: re.Pattern | _Decoding = re.compile(pattern.encode())
        except (re.error, UnicodeEncodeError):
            self._brx = _Decoding(self.rx)
        self.reader = LogReader(
            self.path, max_read=MAX_READ_PER_CALL, max_line=MAX_LINE, skip_ahead=False
        )
        self._inode: int | None = None
        self._reset()

    def _reset(self) -> None:
        self.matches = 0
        self.current_date: str | None = None
        self.done: int | None = None
        self.total: int | None = None
        self._last = b""
        self.failed: list[str] = []

    def update(self) -> None:
        """Parse what was appended since the last call (at most MAX_READ_PER_CALL bytes)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return
        if self._inode != st.st_ino or st.st_size < self.reader.offset:  # replaced or truncated
            if self._inode is not None:
                self.reader.reset()
            self._reset()
            self._inode = st.st_ino
        for raw in self.reader.read():
            self._line(raw)

    def _line(self, raw: bytes) -> None:
        # Work on bytes and decode only what matched: catching up on 100 MB of noise is then
        # a regex scan per line, not a decode per line.
        if not raw.strip():
            return
        self._last = raw
        m = self._brx.search(raw)
        if m:
            self.matches += 1
            self.current_date = m.group("date").decode("ascii", "replace")
            groups = m.groupdict()
            c = _COUNT.search(raw, m.end())
            if groups.get("done") and groups.get("total"):
                self.done, self.total = int(groups["done"]), int(groups["total"])
            elif c:
                self.done, self.total = int(c.group(1)), int(c.group(2))
            return
        f = _FAILED.search(raw)
        if f and not raw.startswith(b"[nba-tui"):
            date = (f.group(1) or f.group(2)).decode("ascii")
            if date not in self.failed:
                self.failed.append(date)
                del self.failed[:-MAX_FAILED]

    @property
    def last_line(self) -> str:
        return self._last.decode("utf-8", "replace").rstrip("\r")

    def progress(self, rec: JobRecord, now: float | None = None) -> Progress:
        """Progress for `rec` (its dates give a total when the log does not say `(i/N)`)."""
        now = now or time.time()
        done = self.done if self.done is not None else self.matches
        total = self.total if self.total is not None else (len(rec.dates) if rec.dates else None)
        rate = eta = None
        if rec.started_at:
            end = rec.ended_at or now
            paused = rec.paused_total + ((end - rec.paused_at) if rec.paused_at else 0.0)
            minutes = max(end - rec.started_at - paused, 0.0) / 60
            # the rate of this run: matches seen in this log (a resumed run starts from its
            # checkpoint, so `done` may start high while this run processed few dates)
            if minutes > 0.03 and self.matches:
                rate = self.matches / minutes
        if rate and total is not None and rec.ended_at is None:
            eta = max(total - done, 0) / rate * 60
        return Progress(
            current_date=self.current_date,
            done=done,
            total=total,
            dates_per_min=rate,
            eta_s=eta,
            last_line=self.last_line[:MAX_LINE],
            failed_dates=list(self.failed),
        )


class Trackers:
    """One `LogProgress` per job, kept across polls (shared by the threads of one supervisor)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._by_job: dict[str, LogProgress] = {}
        self._lock = threading.Lock()

    def view(self, rec: JobRecord) -> JobView:
        """`rec` with the progress its log shows so far (read incrementally)."""
        if not rec.log:
            return JobView(rec, Progress())
        with self._lock:
            tr = self._by_job.get(rec.id)
            if tr is None:
                tr = self._by_job[rec.id] = LogProgress(rec.log, self.pattern(rec.table))
            tr.update()
            return JobView(rec, tr.progress(rec))

    def pattern(self, table: str) -> str:
        try:
            t = self.pipeline.table(table)
        except KeyError:
            return DEFAULT_PROGRESS
        return t.backfill.progress if t.backfill else DEFAULT_PROGRESS
