"""Progress from a job's log: the table's progress regex over the end of the log.

Why from the end: the state of a job is its *last* progress line. A new process (`nba-tui jobs`)
finds it by reading the log backwards from its end in 64 KB blocks (`logtail.lines_backwards`,
at most `TAIL_SCAN` bytes), and a long-lived dashboard reads only what was appended since its
last look with `logtail.LogReader` (catch-up mode, at most `JUMP` bytes); when more than `JUMP`
bytes were appended (a chatty job, a 100 MB burst), it looks at the end again instead of catching
up line by line. So each look costs a bounded amount of CPU whatever the log's size.

Lines are matched as bytes and only what matched is decoded. `(i/N)` after the date (or named
groups `done`/`total`) says the job is working on its i-th date of N: `Progress.done` is the dates
before it (i − 1; all i once the job ended with exit 0), so it never counts a date not yet
written, and the ETA covers the date in progress. The rate is the dates this run finished (from
the first progress line's count to the last one's, or the lines counted) per minute of unpaused
running.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from nba_tui.fsutil import open_regular
from nba_tui.jobs.facts import run_seconds
from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress
from nba_tui.logtail import MAX_LINE, LogReader, lines_backwards

if TYPE_CHECKING:
    from nba_tui.config import Pipeline

DEFAULT_PROGRESS = r"Processing (?P<date>\d{4}-\d{2}-\d{2})"
"""The progress regex of a job whose table is no longer in the pipeline (or has no backfill)."""

JUMP = 256 * 1024
"""More new bytes than this since the last look: find the progress at the end instead."""
MAX_READ_PER_CALL = JUMP
"""(Old name.) The most a look reads forward."""
TAIL_SCAN = 4 * 1024 * 1024
"""The most a look reads backwards from the end to find the last progress line."""
HEAD_SCAN = 256 * 1024
"""The most read at the start of a big log to find this run's first progress line (the rate)."""
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
    """Progress of one log file with one table's progress regex, kept across looks."""

    def __init__(self, path: str | Path, pattern: str) -> None:
        self.path = Path(path)
        self.rx = re.compile(pattern)
        try:  # the same regex over bytes (an ASCII pattern); else decode each line
            self._brx: re.Pattern | _Decoding = re.compile(pattern.encode())
        except (re.error, UnicodeEncodeError):
            self._brx = _Decoding(self.rx)
        self.reader = LogReader(self.path, max_read=JUMP, max_line=MAX_LINE, skip_ahead=False)
        self._inode: int | None = None
        self._reset()

    def _reset(self) -> None:
        self.matches = 0
        """Progress lines seen (a look from the end counts the one it found)."""
        self.exact = True
        """`matches` counts every progress line of the log (nothing was jumped over)."""
        self.current_date: str | None = None
        self.done: int | None = None
        self.total: int | None = None
        self.first_done: int | None = None
        """The count of this log's first progress line (a resumed run starts past 1)."""
        self._last = b""
        self.failed: list[str] = []

    def update(self) -> None:
        """Take in what was appended since the last look (bounded; see the module docstring)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return
        if self._inode != st.st_ino or st.st_size < self.reader.offset:  # replaced or truncated
            if self._inode is not None:
                self.reader.reset()
            self._reset()
            self._inode = st.st_ino
        if st.st_size - self.reader.offset > JUMP:
            self._look_at_end(st.st_size)
            return
        for raw in self.reader.read():
            self._line(raw)

    def _look_at_end(self, size: int) -> None:
        """The last progress line (and last line) from the end; go on from the end."""
        try:  # never a FIFO or a link (fsutil.open_regular)
            f = os.fdopen(open_regular(self.path), "rb")
        except OSError:
            return
        with f:
            if self.reader.offset == 0 and self.matches == 0:
                self._first_count(f)
            self.exact = False
            last, found, failed = b"", None, []
            for raw in lines_backwards(f, size, TAIL_SCAN):
                raw = raw[:MAX_LINE].rstrip(b"\r")
                if not raw.strip():
                    continue
                last = last or raw
                found = self._brx.search(raw)
                if found:
                    self._match(raw, found)
                    break
                failed.append(raw)
            f.seek(max(0, size - MAX_LINE))
            tail = f.read(MAX_LINE)
        self._last = last or self._last
        for raw in reversed(failed):
            self._failure(raw)
        nl = tail.rfind(b"\n")
        if nl >= 0:
            self.reader.seek_line(size - len(tail) + nl + 1)
        else:  # the unfinished last line is long: skip it
            self.reader.seek_tail(0)

    def _first_count(self, f: BinaryIO) -> None:
        """This run's first progress count, from the start of the log (bounded)."""
        f.seek(0)
        head = f.read(HEAD_SCAN)
        for raw in head.split(b"\n")[:-1]:
            m = self._brx.search(raw[:MAX_LINE])
            if m:
                self.first_done = self._count(raw[:MAX_LINE], m)[0]
                return

    def _count(self, raw: bytes, m: re.Match | _DecodedMatch) -> tuple[int | None, int | None]:
        groups = m.groupdict()
        if groups.get("done") and groups.get("total"):
            return int(groups["done"]), int(groups["total"])  # type: ignore[arg-type]
        c = _COUNT.search(raw, m.end())
        return (int(c.group(1)), int(c.group(2))) if c else (None, None)

    def _match(self, raw: bytes, m: re.Match | _DecodedMatch) -> None:
        self.matches += 1
        self.current_date = m.group("date").decode("ascii", "replace")
        done, total = self._count(raw, m)
        if done is not None:
            self.done, self.total = done, total
            if self.first_done is None and self.exact:
                self.first_done = done

    def _line(self, raw: bytes) -> None:
        if not raw.strip():
            return
        self._last = raw
        m = self._brx.search(raw)
        if m:
            self._match(raw, m)
            return
        self._failure(raw)

    def _failure(self, raw: bytes) -> None:
        f = _FAILED.search(raw)
        if f and not raw.startswith(b"[nba-tui"):
            date = (f.group(1) or f.group(2)).decode("ascii")
            if date not in self.failed:
                self.failed.append(date)
                del self.failed[:-MAX_FAILED]

    @property
    def last_line(self) -> str:
        return self._last.decode("utf-8", "replace").rstrip("\r")

    def processed(self) -> int | None:
        """Dates this run processed so far (None when a jump hid how many)."""
        if self.done is not None and self.first_done is not None:
            return max(self.done - self.first_done + 1, 0)
        return self.matches if self.exact else None

    def progress(self, rec: JobRecord, now: float | None = None) -> Progress:
        """Progress for `rec` (its dates give a total when the log does not say `(i/N)`).

        The rate is per minute of its run time (`facts.run_seconds`: the clock stops while it is
        paused and when it ended, `ended_at`, also set for a lost job) and the ETA is only
        given for a running job (a paused one has none)."""
        now = now or time.time()
        started = self.done if self.done is not None else self.matches
        # the date of the last progress line is in progress until the job ends well
        open_date = 0 if rec.state is JobState.DONE or not started else 1
        done = started - open_date
        total = self.total if self.total is not None else (len(rec.dates) if rec.dates else None)
        rate = eta = None
        ran = self.processed()
        ran = max(ran - open_date, 0) if ran is not None else None
        minutes = (run_seconds(rec, now) or 0.0) / 60  # the clock stops while paused
        if minutes > 0.03 and ran:
            rate = ran / minutes
        if rate and total is not None and rec.ended_at is None and rec.state is JobState.RUNNING:
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
        """`rec` with the progress its log shows so far (bounded work per look)."""
        if not rec.log:
            return JobView(rec, Progress())
        with self._lock:
            tr = self._by_job.get(rec.id)
            if tr is None or tr.path != Path(rec.log):
                tr = self._by_job[rec.id] = LogProgress(rec.log, self.pattern(rec.table))
            tr.update()
            return JobView(rec, tr.progress(rec))

    def pattern(self, table: str) -> str:
        try:
            t = self.pipeline.table(table)
        except KeyError:
            return DEFAULT_PROGRESS
        return t.backfill.progress if t.backfill else DEFAULT_PROGRESS
