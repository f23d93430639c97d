"""Checkpoint files: which dates of a request are done, so a re-run resumes where it stopped.

One JSON file per table holds several requests, keyed by a hash of the table and the requested
date set: re-running the same command resumes it, a different date set starts from scratch and
leaves the other request's progress alone. Writes go through `nba_tui.fsutil.write_json_atomic`
(temp file, fsync, `os.replace`; 0600 inside 0700 directories): a crash never leaves half a
checkpoint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from nba_tui.fsutil import LineLog, open_regular, private_dirs, write_json_atomic

MAX_REQUESTS = 20  # older requests are dropped so the file stays small
MAX_BYTES = 4 * 1024 * 1024
"""A checkpoint is a few KB; reading stops here (a longer file is not JSON we wrote)."""


def request_key(table: str, dates: Iterable[str]) -> str:
    text = table + "\n" + ",".join(sorted(set(dates)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Checkpoint:
    """Completed dates of one request; `mark()` persists after every date."""

    def __init__(
        self, path: Path | None, table: str, dates: list[str], resume: bool = True
    ) -> None:
        self.path = path
        self.table = table
        self.key = request_key(table, dates)
        self.requested = len(set(dates))
        self.first = min(dates) if dates else None
        self.last = max(dates) if dates else None
        self.warning: str | None = None
        self.write_error: str | None = None
        """The first failed checkpoint write (the backfill goes on without checkpoints)."""
        self._data: dict = {"version": 1, "table": table, "requests": {}}
        if path is not None and path.exists():
            try:
                with os.fdopen(open_regular(path), encoding="utf-8") as f:  # never a FIFO
                    data = json.loads(f.read(MAX_BYTES))
                if isinstance(data, dict) and isinstance(data.get("requests"), dict):
                    self._data = data
                else:
                    raise ValueError("unexpected layout")
            except (OSError, ValueError) as e:
                self.warning = f"ignoring unreadable checkpoint {path}: {e}"
        entry = self._data["requests"].get(self.key)
        wanted = set(dates)
        if not resume or not isinstance(entry, dict):
            self.done: set[str] = set()
        else:
            self.done = {d for d in entry.get("completed", []) if d in wanted}

    def mark(self, day: str) -> None:
        self.done.add(day)
        if self.path is None:
            return
        requests: dict = self._data["requests"]
        requests.pop(self.key, None)
        requests[self.key] = {
            "first": self.first,
            "last": self.last,
            "requested": self.requested,
            "completed": sorted(self.done),
            "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        while len(requests) > MAX_REQUESTS:
            requests.pop(next(iter(requests)))
        self._data["table"] = self.table
        try:
            private_dirs(self.path.parent)
            write_json_atomic(self.path, self._data, sort_keys=True)
        except OSError as e:
            # A full or read-only disk must not stop the backfill: the date is in the warehouse;
            # only a resume after a crash would redo it. Said once, in the job's log.
            if self.write_error is None:
                self.write_error = f"cannot write checkpoint {self.path}: {e.strerror or e}"
                LineLog(1).write(f"warning: {self.write_error} (going on without it)")
