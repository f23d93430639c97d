"""Progress from a job's log, read incrementally with bounded memory.

Why offsets and not text: a backfill log can reach hundreds of MB and a buggy program can write a
1 MB line; the dashboard polls every second or two for hours. So a `LogProgress` remembers only
the byte offset it has read up to, a capped partial-line buffer and a few counters; each call
reads only the new bytes, in 64 KB chunks, and a line longer than `MAX_LINE` is cut (the head
is what a progress regex matches). `tail()` seeks near the end and never reads the whole file.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from nba_tui.jobs.model import JobRecord, Progress

CHUNK = 64 * 1024
MAX_LINE = 4096
"""Longer lines are cut to this many bytes (for matching and for display)."""
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
            self._brx: re.Pattern = re.compile(pattern.encode())
        except (re.error, UnicodeEncodeError):
            self._brx = _Decoding(self.rx)
        self._inode: int | None = None
        self._reset()

    def _reset(self) -> None:
        self.offset = 0
        self._partial = b""
        self._partial_cut = False
        self.matches = 0
        self.current_date: str | None = None
        self.done: int | None = None
        self.total: int | None = None
        self._last = b""
        self.failed: list[str] = []

    def update(self) -> None:
        """Read what was appended since the last call (at most MAX_READ_PER_CALL bytes)."""
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed below
        except (FileNotFoundError, PermissionError):
            return
        with f:
            st = os.fstat(f.fileno())
            if self._inode != st.st_ino or st.st_size < self.offset:  # replaced or truncated
                self._reset()
                self._inode = st.st_ino
            f.seek(self.offset)
            budget = MAX_READ_PER_CALL
            while budget > 0:
                chunk = f.read(min(CHUNK, budget))
                if not chunk:
                    break
                budget -= len(chunk)
                self.offset += len(chunk)
                self._feed(chunk)

    def _feed(self, chunk: bytes) -> None:
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                self._append_partial(chunk[start:])
                return
            self._append_partial(chunk[start:nl])
            self._line(self._partial)
            self._partial, self._partial_cut = b"", False
            start = nl + 1

    def _append_partial(self, piece: bytes) -> None:
        if self._partial_cut:
            return
        room = MAX_LINE - len(self._partial)
        if len(piece) > room:
            piece, self._partial_cut = piece[:room], True
        self._partial += piece

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


def tail(path: str | Path, max_bytes: int = 64_000, max_lines: int | None = None) -> list[str]:
    """The last lines of `path` from at most `max_bytes` at its end (lines cut at MAX_LINE)."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except (FileNotFoundError, PermissionError):
        return []
    with f:
        size = os.fstat(f.fileno()).st_size
        start = max(0, size - max_bytes)
        f.seek(start)
        data = f.read(max_bytes)
    parts = data.split(b"\n")
    if start > 0 and len(parts) > 1:
        parts = parts[1:]  # the first piece is the end of a line that started earlier
    if parts and parts[-1] == b"":
        parts.pop()
    lines = []
    for p in parts:
        text = p[:MAX_LINE].decode("utf-8", "replace").rstrip("\r")
        if len(p) > MAX_LINE:
            text += f" … [{len(p) - MAX_LINE} more bytes]"
        lines.append(text)
    if max_lines is not None:
        lines = lines[-max_lines:]
    return lines
