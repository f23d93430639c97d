"""One set of formatters for what the CLI and the dashboard print: shares, durations, ages.

Kept in one module so `status`, `jobs`, the grid and the preflight report never disagree on how
a number reads. Plain Python: no Rich, no Textual.
"""

from __future__ import annotations

import math
import textwrap


def pct(share: float) -> str:
    """A share as a percentage that never rounds up to a false 100.0 %."""
    if not math.isfinite(share):
        return "-"
    value = share * 100
    if value < 100 and round(value, 1) >= 100:
        return "99.9%"
    return f"{value:.1f}%"


def duration(seconds: float | None) -> str:
    """Coarse duration for live screens: '<1m', '12m', '3h05', '2d04' (changes once a minute)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "-"
    minutes = int(seconds // 60)
    if minutes < 1:
        return "<1m"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}"


def clock(seconds: float | None) -> str:
    """Exact duration for one-shot listings: '4:07', '2h05m' (the CLI's `jobs` ELAPSED/ETA)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "-"
    s = int(seconds)
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def age(seconds: float | None) -> str:
    """How old something is: '42s', '12m', '1.5h'; 'never' when it never happened."""
    if seconds is None or not math.isfinite(seconds):
        return "never"
    seconds = max(seconds, 0.0)
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def printable(text: str, *, escape: bool = False) -> str:
    """`text` with control characters (terminal escapes, NUL, ...) made harmless; tabs as spaces.

    Use it on anything recorded or user-supplied before it reaches a terminal. By default a
    control character becomes '?' (log lines: readable, never obeyed); with `escape=True` it is
    written out as `\\x1b` or `\\u2028`, so a listing shows exactly what was recorded (history)."""
    text = text.replace("\t", "    ")
    if not escape:
        return "".join(ch if ch.isprintable() else "?" for ch in text)
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def cut(text: str, room: int) -> str:
    """`text` in at most `room` columns, '…' where it was cut."""
    return text if len(text) <= room else text[: room - 1] + "…"


def one_line(text: object, limit: int | None = None, *, first: bool = False) -> str:
    """`text` (a message, an exception) on one line: every run of whitespace, newlines
    included, as one space, control characters as '?' (`printable`); with `first` only its
    first line (a server or a traceback appends more below); cut to `limit` columns with '…'.
    An exception without text reads as its type's name, None as 'unknown error'."""
    if text is None:
        return "unknown error"
    raw = str(text).strip()
    if first:
        raw = raw.splitlines()[0] if raw else raw
    out = printable(" ".join(raw.split()))
    if not out and isinstance(text, BaseException):
        out = type(text).__name__
    return cut(out, limit) if limit is not None else out


def fit(line: str, width: int | None, keep: tuple[str, ...] = ()) -> list[str]:
    """`line` within `width` columns, wrapped under its own indent (continued 2 further in);
    a line starting with one of `keep` (a command to copy) stays whole, and so does every line
    when `width` is None (piped output)."""
    if width is None or len(line) <= width or line.startswith(keep):
        return [line]
    indent = line[: len(line) - len(line.lstrip(" "))]
    if width < len(indent) + 20:
        return [cut(line, width)]
    return textwrap.wrap(
        line[len(indent) :],
        width,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
    )


def packed(head: str, items: list[str], width: int | None) -> list[str]:
    """`head` and the comma-separated `items`, each kept whole on a line within `width`."""
    lines, line = [], head
    for i, item in enumerate(items):
        text = item + ("," if i < len(items) - 1 else "")
        if width is not None and line.strip() and len(line) + len(text) > width:
            lines.append(line.rstrip())
            line = "  "
        line += text + " "
    return [*lines, line.rstrip()]


def plural(n: int, word: str) -> str:
    """'1 job', '2 jobs', '0 ranges' (a count and its word, 's' added unless one)."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
