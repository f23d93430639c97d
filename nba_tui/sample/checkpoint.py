"""Checkpoint files: which dates of a request are done, so a re-run resumes where it stopped.

One JSON file per table holds several requests, keyed by a hash of the table and the requested
date set: re-running the same command resumes it, a different date set starts from scratch and
leaves the other request's progress alone. Writes are atomic (temp file + `os.replace`), the file
is 0600 inside 0700 directories: a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

MAX_REQUESTS = 20  # older requests are dropped so the file stays small


def request_key(table: str, dates: Iterable[str]) -> str:
    text = table + "\n" + ",".join(sorted(set(dates)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_private_dirs(path: Path) -> None:
    """Create missing directories one by one with mode 0700 (mkdir(parents=True) would not)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)


def atomic_write_json(path: Path, data: object) -> None:
    make_private_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
        self._data: dict = {"version": 1, "table": table, "requests": {}}
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text())
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
        atomic_write_json(self.path, self._data)
