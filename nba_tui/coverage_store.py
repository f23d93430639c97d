"""Computed coverage kept on disk between processes, keyed on everything it depends on.

Why: at 1,000 tables x 1,800 dates a new `nba-tui status --json` spent most of its time on
coverage maths that an unchanged warehouse makes identical to the previous run's. A table's
coverage depends only on its rows and flagged rows per date (`Counts.digests`: equal exactly when
they are), the schedule (`Counts.expected_digest`), the table's own settings and phase, the range
and the season gap, besides the code that computes it (`_maths`). The key is a digest of all of
them, so a stored coverage is read back only where computing it again would give the same one.

One file (`coverage.json` in the state directory's `cache/`) holding each table's `to_json()`
as JSON text (with its digest, and beside it the few figures a coverage needs before its
per-date fields: `status --json` writes the text out as it is, `jsontext`), written whole
through `fsutil.write_atomic` (0600) and read only when it is ours, private and well formed;
writing is best effort, and anything wrong is a miss (the maths run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import time
from collections.abc import Iterable
from pathlib import Path

from nba_tui import __version__
from nba_tui.config import Table
from nba_tui.fsutil import private_dirs, read_private_json, write_atomic

VERSION = 2
MAX_BYTES = 256 * 1024 * 1024
"""A bigger file is ignored (1,000 tables x 1,800 dates with many holes: ~10 MB)."""
SAVE_EVERY_S = 60.0
"""A long-running reader (the dashboard) rewrites the file at most this often."""


@functools.cache
def _maths() -> str:
    """A digest of the code that computes coverage: another version of it never reads back what
    this one stored."""
    h = hashlib.blake2b(__version__.encode(), digest_size=16)
    for name in ("coverage.py", "coverage_states.py", "coverage_table.py"):
        with contextlib.suppress(OSError):  # not installed as files: the version alone
            h.update(Path(__file__).with_name(name).read_bytes())
    return h.hexdigest()


def table_key(
    table: Table,
    phase: str,
    gap_days: int,
    start: dt.date | None,
    end: dt.date | None,
    schedule: str,
    rows: str,
) -> str:
    """The key of a table's coverage: `schedule` and `rows` are the counts' digests."""
    raw = json.dumps(
        [
            VERSION,
            _maths(),
            table.name,
            table.table,
            phase,
            table.min_coverage,
            table.thin_ratio,
            table.bootstrap_days,
            gap_days,
            start.isoformat() if start else None,
            end.isoformat() if end else None,
            schedule,
            rows,
        ]
    )
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class CoverageStore:
    """The coverage file of one state directory: `get` and `put` by key, `save` to write."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / "coverage.json"
        self._entries: dict[str, dict] | None = None
        self._dirty = False
        self._saved_at: float | None = None

    def _load(self) -> dict[str, dict]:
        if self._entries is None:
            data = read_private_json(self.path, MAX_BYTES)
            tables = data.get("tables") if data and data.get("v") == VERSION else None
            self._entries = tables if isinstance(tables, dict) else {}
        return self._entries

    def get(self, key: str) -> tuple[dict, str] | None:
        """The figures and the `to_json()` text of a table's coverage stored under `key`, if
        well formed (the text unchanged since it was put: its digest matches)."""
        entry = self._load().get(key)
        if not isinstance(entry, dict):
            return None
        figures, text = entry.get("f"), entry.get("j")
        if not isinstance(figures, dict) or not isinstance(text, str):
            return None
        if not isinstance(figures.get("expected"), int) or not isinstance(
            figures.get("present"), int
        ):
            return None
        if entry.get("h") != _digest(text):
            return None
        return figures, text

    def put(self, key: str, figures: dict, text: str) -> None:
        """Keep a table's figures (plain JSON values) and its `to_json()` as JSON text."""
        self._load()[key] = {"f": figures, "j": text, "h": _digest(text)}
        self._dirty = True

    def save(self, keys: Iterable[str]) -> bool:
        """Write the entries of `keys` (the last snapshot's tables: others are dropped) when some
        were put since the last write, at most every `SAVE_EVERY_S`; True when written."""
        now = time.monotonic()
        if not self._dirty or (self._saved_at is not None and now - self._saved_at < SAVE_EVERY_S):
            return False
        entries = self._load()
        kept = {k: entries[k] for k in keys if k in entries}
        try:
            private_dirs(self.path.parent)
            data = json.dumps({"v": VERSION, "tables": kept}, separators=(",", ":"))
            write_atomic(self.path, data.encode())
        except OSError:
            return False
        self._entries, self._dirty, self._saved_at = kept, False, now
        return True
