"""The command's own output, made to fail like coreutils and to fit any terminal encoding.

* A write to stdout that fails (`nba-tui status > /dev/full`, a disk filling under a redirect)
  becomes `OutputError`; `main` prints `nba-tui: write error: No space left on device` and exits
  1, as `ls > /dev/full` does. A closed pipe (`| head`) stays a quiet exit 0. A stdout closed
  before the start (`nba-tui status >&-`) fails on its first write with `Bad file descriptor`.
* A terminal whose encoding lacks our glyphs (`PYTHONIOENCODING=ascii`, `LANG=C` on an old
  box) gets their ASCII look-alikes (`·` as `.`, `…` as `...`, a bar as `#`) and `?` for the
  rest: the output degrades, the command never crashes on it.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import io
import os
import sys
from typing import Any, TextIO

ERRORS = "nba_tui_ascii"
"""The codec error handler of `degrade`: look-alikes, else `?`."""
LOOKALIKE = {
    "·": ".",
    "…": "...",
    "—": "-",
    "–": "-",
    "─": "-",
    "━": "-",
    "│": "|",
    "┃": "|",
    "█": "#",
    "▓": "#",
    "▒": ":",
    "░": ".",
    "▏": "|",
    "▌": "#",
    "▐": "#",
    "✓": "v",
    "✔": "v",
    "✗": "x",
    "✘": "x",
    "→": "->",
    "←": "<-",
    "⚠": "!",
    "●": "*",
    "○": "o",
    "≥": ">=",
    "≤": "<=",
    "×": "x",
    "⏸": "||",
    "▶": ">",
}


class OutputError(Exception):
    """A write to stdout failed; `errno` and `strerror` of the OSError underneath."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(cause.strerror or str(cause))
        self.errno = cause.errno
        self.strerror = cause.strerror or str(cause)


def _lookalike(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeEncodeError):
        raise err
    bad = err.object[err.start : err.end]
    return "".join(LOOKALIKE.get(c, "?") for c in bad), err.end


codecs.register_error(ERRORS, _lookalike)


class GuardedStream:
    """stdout with its write and flush errors raised as `OutputError` (everything else passes
    through, so Rich sees the real stream's encoding and isatty)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as e:
            raise OutputError(e) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as e:
            raise OutputError(e) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class ClosedStream:
    """stdout when its descriptor was closed before the start (`nba-tui status >&-`), where
    Python sets `sys.stdout` to None and drops every print: the first write fails with EBADF."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, text: str) -> int:
        if text:
            raise OutputError(OSError(errno.EBADF, os.strerror(errno.EBADF)))
        return 0

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("stdout is closed")


def plug(fd: int) -> None:
    """A closed standard descriptor gets /dev/null opened read-only: no file this process
    opens lands on it (a child would write into it), and a write to it still fails."""
    try:
        os.fstat(fd)
        return
    except OSError:
        pass
    with contextlib.suppress(OSError):
        got = os.open(os.devnull, os.O_RDONLY)
        if got != fd:
            os.dup2(got, fd)
            os.close(got)


def degrade(stream: Any) -> None:
    """A stream whose encoding cannot write every character writes look-alikes instead."""
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
    if encoding in ("utf-8", "utf8", "utf-16", "utf-32") or not hasattr(stream, "reconfigure"):
        return
    with contextlib.suppress(ValueError, OSError, LookupError):
        stream.reconfigure(errors=ERRORS)


def guard() -> None:
    """Degrade glyphs on stdout and stderr for the terminal's encoding; stdout's errors become
    `OutputError` (for headless commands; the dashboard owns the terminal itself)."""
    if sys.stdout is None:
        plug(1)
        sys.stdout = ClosedStream()  # type: ignore[assignment]
    if sys.stderr is None:
        plug(2)
    degrade(sys.stdout)
    degrade(sys.stderr)
    if not isinstance(sys.stdout, (GuardedStream, ClosedStream)):
        sys.stdout = GuardedStream(sys.stdout)  # type: ignore[assignment]


def finish() -> None:
    """Flush stdout now, so a failing write is reported by `main`, not at interpreter exit."""
    if sys.stdout is not None:
        sys.stdout.flush()


def silence() -> None:
    """After a failed write: stdout goes to /dev/null, so the exit flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.__stdout__.fileno())
        os.close(fd)


def closed_pipe(e: OutputError) -> bool:
    """`nba-tui status | head`: the reader left; not an error."""
    return e.errno == errno.EPIPE
