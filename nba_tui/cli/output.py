"""The command's own output, made to fail like coreutils and to fit any terminal encoding.

* A write to stdout that fails (`nba-tui status > /dev/full`, a disk filling under a redirect)
  becomes `OutputError`; `main` prints `nba-tui: write error: No space left on device` and exits
  1, as `ls > /dev/full` does. A closed pipe (`| head`) stays a quiet exit 0.
* A terminal whose encoding lacks our glyphs (`PYTHONIOENCODING=ascii`, `LANG=C` on an old
  box) gets their ASCII look-alikes (`·` as `.`, `…` as `...`, a bar as `#`) and `?` for the
  rest: the output degrades, the command never crashes on it.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
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
    degrade(sys.stdout)
    degrade(sys.stderr)
    if sys.stdout is not None and not isinstance(sys.stdout, GuardedStream):
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
