"""Rows per date of the embedded warehouse's tables, kept on disk between processes.

Why: counting rows per date walks every index entry of every table (`bench/bench_status.py`
prints a start with this cache and one that counts everything again), and `nba-tui status
--json` from cron or a freshly started dashboard would pay it on every start even when nothing
was written since the last one. `PRAGMA data_version` only works within one connection, so
across processes the cache is keyed on what any commit must change: the dataset file's and its
`-wal` file's identity, size and mtime.

Why that is enough under concurrent writers (WAL): every commit writes at least its commit frame
to the `-wal` file (after a checkpoint the writer restarts at the file's start, so the size may
stay the same, but the mtime moves), and a writer in rollback mode writes the database file
itself. A file's mtime can only repeat within the filesystem's timestamp granularity, so, like
git's "racy clean" rule, an entry is written only when both files were last modified more than
`RACY_S` before the poll began, and only when their facts did not move while the poll read
them: a commit after that instant is stamped later and so never matches. Entries are a cache:
read back only when every fact matches, when the file is ours (owner, not group/world
writable), small enough, and well formed; anything else is a miss, and the count runs.

One file per dataset (`sqlite-<dataset>.json` in the state directory's `cache/`), written
through `fsutil.write_atomic` (0600, whole or not at all); writing is best effort.
"""

from __future__ import annotations

import array
import base64
import datetime as dt
import hashlib
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nba_tui.fsutil import private_dirs, read_private_json, write_atomic
from nba_tui.warehouse.base import Deferred, TableSpec

VERSION = 5
RACY_S = 2.0
"""Files modified this recently (seconds before the poll began) are not cached: a later write
could carry the same coarse timestamp."""
MAX_BYTES = 64 * 1024 * 1024
"""A cache file bigger than this is ignored (a dataset of 1,000 tables x 10,000 dates is ~40 MB)."""

Facts = tuple[tuple[int, ...], tuple[int, ...] | None]
"""(dataset file, its -wal file or None): dev, inode, size, mtime_ns. Not ctime: SQLite running
as root fchowns the -wal file each time it opens it, which moves its ctime without any write."""
PerDate = dict[dt.date, int]
Entry = tuple[PerDate, PerDate | None]
"""A table's rows per date, and its flagged rows per date (None without a degraded column)."""
Loaded = tuple[Deferred, Deferred | None]
"""An entry as read back: each built on first use."""


def spec_key(spec: TableSpec, start: dt.date, end: dt.date) -> str:
    """Everything the counted numbers depend on besides the data itself."""
    return json.dumps(
        [spec.ref.table, spec.date_column, spec.degraded_column, start.isoformat(), end.isoformat()]
    )


def _stat(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def file_facts(db: Path) -> Facts | None:
    """The facts of a dataset file and its WAL now (None: the dataset file is absent)."""
    main = _stat(db)
    if main is None:
        return None
    wal = _stat(db.with_name(db.name + "-wal"))
    # An empty WAL holds no commit: the same facts as none (a reader opening the file creates
    # one, so "absent" and "empty" alternate without any write).
    return main, wal if wal is not None and wal[2] > 0 else None


def racy(facts: Facts, began_ns: int) -> bool:
    """True when a file was modified within `RACY_S` of `began_ns` (or after it)."""
    limit = began_ns - int(RACY_S * 1e9)
    return any(f is not None and f[3] >= limit for f in facts)


def _pack(values: Iterable[int]) -> str:
    """Integers as base64 of 64-bit little-endian words: parsing it back is ~20x cheaper than
    JSON numbers (100 tables x 900 dates must load in a few ms)."""
    arr = array.array("q", values)
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode("ascii")


def _unpack(text: object) -> list[int]:
    """The integers of `_pack`; ValueError (binascii.Error is one) when malformed."""
    return _ints(_raw(text))


def _raw(text: object) -> bytes:
    """The bytes of `_pack`'s text, checked: whole 64-bit words of valid base64."""
    if not isinstance(text, str):
        raise ValueError("not packed integers")
    raw = base64.b64decode(text, validate=True)
    if len(raw) % 8:
        raise ValueError("not whole 64-bit words")
    return raw


def _ints(raw: bytes) -> list[int]:
    arr = array.array("q")
    arr.frombytes(raw)
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
        arr.byteswap()
    return arr.tolist()


def _encode(entry: Entry) -> dict:
    """An entry's JSON form, with "h": the digest of its packed lists (`Counts.digests`)."""
    rows, flagged = entry
    out = {"d": _pack(d.toordinal() for d in rows), "n": _pack(rows.values())}
    if flagged is not None:
        out["gd"] = _pack(d.toordinal() for d in flagged)
        out["gn"] = _pack(flagged.values())
    h = hashlib.blake2b(digest_size=16)
    for part in ("d", "n", "gd", "gn"):
        h.update(f"{part}:{out.get(part, '-')};".encode("ascii"))
    out["h"] = h.hexdigest()
    return out


def _dated(
    packed: object, counts: object, dates: dict[int, dt.date], lists: dict[str, list[dt.date]]
) -> Deferred:
    """`{date: n}` from the packed ordinals and counts, built on first use: everything that can
    be malformed is checked now (the dates, valid base64 of as many counts), so building it
    cannot fail. Each date object is taken from (and added to) the shared `dates`; `lists`
    (packed text -> its dates) spares unpacking the same dates of another table again (most
    tables of a dataset hold the same dates)."""
    if not isinstance(packed, str):
        raise ValueError("not packed integers")
    keys = lists.get(packed)
    if keys is None:
        keys = lists[packed] = _days(_unpack(packed), dates)
    raw = _raw(counts)
    if len(raw) != 8 * len(keys):
        raise ValueError("as many counts as dates")
    return Deferred(lambda: dict(zip(keys, _ints(raw), strict=True)))


def _days(ords: list[int], dates: dict[int, dt.date]) -> list[dt.date]:
    try:
        keys = list(map(dates.__getitem__, ords))
    except KeyError:  # first sight of some dates: build them once (ValueError if out of range)
        for o in ords:
            if o not in dates:
                dates[o] = dt.date.fromordinal(o)
        keys = list(map(dates.__getitem__, ords))
    return keys


def _decode(
    raw: object, dates: dict[int, dt.date], lists: dict[str, list[dt.date]]
) -> tuple[Loaded, str]:
    """An entry from its JSON form, and its digest; ValueError/TypeError/OverflowError when
    malformed. `dates` (ordinal -> date) is shared and filled in, so each date is built once
    per process (`lists`: see `_dated`)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("h"), str):
        raise ValueError("entry")
    rows = _dated(raw.get("d"), raw.get("n"), dates, lists)
    flagged = None
    if "gd" in raw:
        flagged = _dated(raw["gd"], raw.get("gn"), dates, lists)
    return (rows, flagged), raw["h"]


@dataclass
class DiskCounts:
    """The on-disk cache of one warehouse root: `load` and `store` per dataset."""

    directory: Path
    root: Path

    def _file(self, dataset: str) -> Path:
        return self.directory / f"sqlite-{dataset}.json"

    def load(
        self, dataset: str, db: Path, facts: Facts, keys: dict[str, str], dates: dict[int, dt.date]
    ) -> dict[str, tuple[Loaded, str]] | None:
        """Entries and their digests by table name (`keys`: name -> spec_key) when the file was
        written for exactly these facts and holds every key; None otherwise (the caller counts)."""
        data = read_private_json(self._file(dataset), MAX_BYTES)
        if (
            data is None
            or data.get("v") != VERSION
            or data.get("path") != str(db)
            or data.get("facts") != json.loads(json.dumps(facts))
        ):
            return None
        counts = data.get("counts")
        if not isinstance(counts, dict) or not all(k in counts for k in keys.values()):
            return None
        try:
            lists: dict[str, list[dt.date]] = {}
            return {name: _decode(counts[key], dates, lists) for name, key in keys.items()}
        except (ValueError, TypeError, OverflowError):
            return None

    def store(
        self, dataset: str, db: Path, facts: Facts, entries: dict[str, Entry]
    ) -> dict[str, str] | None:
        """Write the entries (spec_key -> entry) of a dataset read under `facts`; their digests
        by spec_key, or None when it could not be written (a read-only state directory, a full
        disk: the next run counts)."""
        encoded = {key: _encode(e) for key, e in entries.items()}
        data = {"v": VERSION, "path": str(db), "facts": facts, "counts": encoded}
        try:
            private_dirs(self.directory)
            write_atomic(self._file(dataset), json.dumps(data, separators=(",", ":")).encode())
        except OSError:
            return None
        return {key: e["h"] for key, e in encoded.items()}
