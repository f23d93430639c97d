"""The one bounded reader of growing log files, for job progress and for the dashboard's log pane.

Why offsets and not text (toolong's habit): a backfill log can reach hundreds of MB and a buggy
program can write a 1 MB line, while a dashboard follows it for hours. A `LogReader` remembers
only a byte offset, the file's inode and a capped partial line; each `read()` takes at most
`max_read` new bytes and returns the complete lines in them as bytes, each cut to `max_line`.
When the file grew by more than `max_read` since the last read, `skip_ahead=True` jumps to the
last `max_read` bytes (a viewer wants the newest lines) while `skip_ahead=False` catches up over
several calls (a parser that must see every line). A replaced or truncated file starts over.

`tail()` reads the last lines of a file from a window at its end, never the whole file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from nba_tui.fsutil import UnsafeFile, open_regular

CHUNK = 64 * 1024
MAX_LINE = 4096
"""Longer lines are cut to this many bytes."""


class LogReader:
    """Incremental, bounded reader of one growing file; yields complete raw lines."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_read: int = 2 * 1024 * 1024,
        max_line: int = MAX_LINE,
        skip_ahead: bool = False,
    ) -> None:
        self.path = Path(path)
        self.max_read = max_read
        self.max_line = max_line
        self.skip_ahead = skip_ahead
        self.offset = 0
        self.skipped = False
        """True when the last read jumped over bytes it never returned."""
        self._inode: int | None = None
        self._partial = b""
        self._partial_cut = False
        self._drop_first = False

    def reset(self) -> None:
        self.offset, self._partial, self._partial_cut, self._drop_first = 0, b"", False, False

    def seek_tail(self, nbytes: int) -> None:
        """Start at most `nbytes` before the current end (the first, cut line is dropped)."""
        self._restart(lambda size: max(0, size - nbytes), drop_cut_line=True)

    def seek_line(self, offset: int) -> None:
        """Go on from `offset`, the start of a line (the caller found it): nothing is dropped."""
        self._restart(lambda size: min(max(0, offset), size), drop_cut_line=False)

    def _restart(self, where: Callable[[int], int], *, drop_cut_line: bool) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            return
        self.reset()
        self._inode = st.st_ino
        self.offset = where(st.st_size)
        self._drop_first = drop_cut_line and self.offset > 0

    @property
    def partial(self) -> bytes:
        """The unfinished last line read so far (capped at `max_line`)."""
        return self._partial

    def read(self) -> list[bytes]:
        """Complete lines appended since the last call (at most `max_read` bytes are read)."""
        self.skipped = False
        try:  # a FIFO or link planted as a log reads as nothing, never blocks
            f = os.fdopen(open_regular(self.path), "rb")
        except OSError:
            return []
        with f:
            st = os.fstat(f.fileno())
            if self._inode != st.st_ino or st.st_size < self.offset:  # replaced or truncated
                if self._inode is not None:
                    self.reset()
                self._inode = st.st_ino
            if self.skip_ahead and st.st_size - self.offset > self.max_read:
                self.offset = st.st_size - self.max_read
                self._partial, self._partial_cut = b"", False
                self._drop_first = self.skipped = True
            f.seek(self.offset)
            lines: list[bytes] = []
            budget = self.max_read
            while budget > 0:
                chunk = f.read(min(CHUNK, budget))
                if not chunk:
                    break
                budget -= len(chunk)
                self.offset += len(chunk)
                self._feed(chunk, lines)
        return lines

    def _feed(self, chunk: bytes, out: list[bytes]) -> None:
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                self._append_partial(chunk[start:])
                return
            self._append_partial(chunk[start:nl])
            if self._drop_first:
                self._drop_first = False
            else:
                out.append(self._partial.rstrip(b"\r"))
            self._partial, self._partial_cut = b"", False
            start = nl + 1

    def _append_partial(self, piece: bytes) -> None:
        if self._partial_cut:
            return
        room = self.max_line - len(self._partial)
        if len(piece) > room:
            piece, self._partial_cut = piece[:room], True
        self._partial += piece


def lines_backwards(f: BinaryIO, size: int, budget: int, block: int = CHUNK) -> Iterator[bytes]:
    """The complete lines of the open file `f` from its end backwards, reading at most about
    `budget` bytes in `block`-sized reads; the unfinished last line (no newline yet) is skipped.

    Why: the current state of a job is its *last* progress line; finding it costs a few reads
    at the end of the file, not a scan of everything written before it."""
    pos, carry, in_tail = size, b"", True
    while pos > 0 and size - pos < budget:
        n = min(block, pos)
        pos -= n
        f.seek(pos)
        chunk = f.read(n) + carry
        parts = chunk.split(b"\n")
        if in_tail:
            if len(parts) == 1:
                carry = chunk  # still inside the unfinished last line
                continue
            parts.pop()
            in_tail = False
        carry = parts.pop(0) if pos > 0 else b""
        yield from reversed(parts)


def decode(raw: bytes, max_chars: int | None = None) -> str:
    """A raw log line as text for a terminal: UTF-8 with replacement, control characters as '?'."""
    from nba_tui.fmt import printable

    text = raw.decode("utf-8", "replace").rstrip("\r")
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars] + f" …(+{len(text) - max_chars} chars)"
    return printable(text)


def last_lines(path: str | Path, max_bytes: int, *, strict: bool = False) -> list[bytes]:
    """The complete raw lines within the last `max_bytes` of `path` ([] when unreadable).

    The first piece is dropped when the window starts inside a line; never reads the whole file.
    Opened by `fsutil.open_regular` (no link followed, a FIFO never waited on): with `strict`,
    such a file raises `fsutil.UnsafeFile` (a state file the caller must name), else it reads
    as empty."""
    try:
        f = os.fdopen(open_regular(path), "rb")
    except UnsafeFile:
        if strict:
            raise
        return []
    except OSError:
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
    return parts


def tail(
    path: str | Path,
    max_bytes: int = 64_000,
    max_lines: int | None = None,
    max_line: int = MAX_LINE,
) -> list[str]:
    """The last lines of `path` from at most `max_bytes` at its end, decoded and cut."""
    lines = []
    for p in last_lines(path, max_bytes):
        text = p[:max_line].decode("utf-8", "replace").rstrip("\r")
        if len(p) > max_line:
            text += f" … [{len(p) - max_line} more bytes]"
        lines.append(text)
    return lines[-max_lines:] if max_lines is not None else lines


ERROR_LINE = re.compile(
    r"\bFAILED\b|\bERROR\b|^(?:[A-Za-z_][\w.]*)?(?:Error|Exception|Interrupt|Exit)\b(?::|$)"
)
"""A line that says what went wrong: a `FAILED <date>: why` line, an `ERROR` log line, or an
exception's last line (`KeyError: 'opp'`, `sqlite3.OperationalError: database is locked`)."""
TRACEBACK_HEAD = "Traceback (most recent call last)"


def error_lines(lines: list[str], limit: int = 4) -> tuple[list[str], int]:
    """The lines of `lines` that say what went wrong (ERROR_LINE; a traceback's head line is
    left out, its exception's last line is the news), each once, in order: at most `limit` of
    them (the first ones, where the trouble started) and how many more there were."""
    found: list[str] = []
    for line in lines:
        text = line.strip()
        if text and TRACEBACK_HEAD not in text and ERROR_LINE.search(text) and text not in found:
            found.append(text)
    return found[:limit], max(0, len(found) - limit)


def error_line(log: str | Path) -> str | None:
    """A failed job's error for one line of a summary: the first of its log's last lines that
    says what went wrong (`error_lines`), else its last non-empty line."""
    return summary_line([decode(raw, 200) for raw in last_lines(log, 16_000)])


def summary_line(lines: list[str]) -> str | None:
    """A job's outcome in one line: the first of `lines` that says what went wrong
    (`error_lines`), else the last non-empty one (a program's `Done: …` summary)."""
    found, _ = error_lines(lines, limit=1)
    if found:
        return found[0]
    return next((ln.strip() for ln in reversed(lines) if ln.strip()), None)
