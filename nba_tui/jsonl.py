"""Append-only state files of one line per entry: the one appender and the one bounded reader.

Used for the action log (`<state_dir>/actions.jsonl`, jobs/action_log.py), plan events
(`events.jsonl`, jobs/events.py) and the ids of delivered alerts (`alerts-delivered`,
jobs/alerts.py).

Appending: the file is opened by `fsutil.open_regular` (`O_NOFOLLOW`: a planted link is refused,
a FIFO never waited on, someone else's file refused), created 0600 in a private directory, and
written under an exclusive flock on the file itself, whole, so lines of concurrent writers
(dashboards, plan runners, `watch`) never interleave. Reading takes the complete lines within a
bounded window at the end (`logtail.last_lines`): a year-old log never loads whole.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nba_tui.fsutil import open_regular, private_dirs
from nba_tui.logtail import decode, last_lines


def append_line(path: Path, line: str, unless: Callable[[], bool] | None = None) -> bool:
    """Append `line` and a newline to `path`; True when written. `unless`, called under the
    lock, can refuse the line (True: it is there already). OSError (a full disk, `UnsafeFile`)
    raises."""
    private_dirs(path.parent)
    fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # dropped when fd is closed
        if unless is not None and unless():
            return False
        view = memoryview((line.replace("\n", " ") + "\n").encode("utf-8"))
        while view:
            view = view[os.write(fd, view) :]
        return True
    finally:
        os.close(fd)


def append(path: Path, entry: dict[str, Any]) -> None:
    """Append `entry` as one JSON line (values JSON lacks are written as str)."""
    append_line(path, json.dumps(entry, ensure_ascii=False, default=str))


def read(
    path: Path, max_bytes: int, limit: int | None = None, *, strict: bool = False
) -> list[dict[str, Any]]:
    """The JSON objects of the complete lines within the last `max_bytes` of `path` (of its last
    `limit` lines when given), oldest first; a line that is not one (cut, not UTF-8) is skipped.
    A file that is not a regular file of ours reads as empty, or with `strict` raises
    `fsutil.UnsafeFile` naming it."""
    lines = last_lines(path, max_bytes, strict=strict)
    out = []
    for raw in lines if limit is None else lines[-(limit + 1) :]:
        if not raw.strip():
            continue
        try:
            item = json.loads(decode(raw))
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out if limit is None else out[-limit:]
