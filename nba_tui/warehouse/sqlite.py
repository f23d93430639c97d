"""The embedded warehouse: one SQLite file per dataset, ATTACHed under the dataset's name.

`nba_analytics.player_game_summary` therefore reads the same here as in BigQuery, and writers of
different datasets never contend for one file lock. Every file runs in WAL mode with a busy timeout,
so several backfill processes can write while the dashboard reads.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from nba_tui.warehouse import sqlite_changes
from nba_tui.warehouse.base import (
    Counts,
    Deferred,
    LazyRows,
    PerDate,
    TableSpec,
    WarehouseError,
    resolved,
)
from nba_tui.warehouse.sqlite_cache import DiskCounts, Facts, file_facts, racy, spec_key
from nba_tui.warehouse.sqlite_conn import (
    attached,
    connect,
    dataset_file,
    existing_tables,
    stat_key,
)
from nba_tui.warehouse.sqlite_count import SEP, count_dates, count_part, halves, run_count

__all__ = ["SqliteWarehouse", "attached", "connect", "dataset_file", "existing_tables"]

MAX_DAYS = 100_000
"""Parsed date values kept between polls (a pipeline's range holds a few thousand dates)."""
PERSIST_EVERY_S = 60.0
"""A long-running reader (the dashboard) rewrites a dataset's disk cache at most this often."""


def _plain_dates(values: list[object]) -> bool:
    """Every value a `YYYY-MM-DD` text: one value per day, so a date's count is its value's
    (a timestamp column holds many values a day: its table is counted whole)."""
    return all(isinstance(v, str) and len(v) == 10 for v in values)


class SqliteWarehouse:
    """Read side of the embedded warehouse used by coverage polls.

    Polls are cheap when nothing changed: each dataset file's `PRAGMA data_version` tells whether
    another connection committed since the last poll, and only tables of changed datasets are
    counted again. A dataset file replaced on disk (`nba-tui demo reset`) is noticed by its inode
    and the connection reopened, so a long-running dashboard never keeps reading a deleted file.

    With `cache_dir`, the counts also survive the process (`sqlite_cache`): a new process (`status
    --json`, a dashboard's first poll) reads a dataset's counts from disk instead of counting when
    its files provably did not change since they were stored.
    """

    name = "sqlite"

    def __init__(
        self,
        root: str | Path,
        datasets: Iterable[str],
        busy_timeout_ms: int = 10_000,
        cache_dir: Path | None = None,
    ):
        self.root = Path(root)
        self.datasets = sorted(set(datasets))
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._inodes: dict[str, int] = {}
        self._versions: dict[str, int] = {}
        self._changes: dict[str, sqlite_changes.DatasetChanges] = {}
        """Per dataset: its change counters at the last poll (`sqlite_changes`)."""
        self._cache: dict[str, PerDate | Deferred] = {}
        self._flagged: dict[str, PerDate | Deferred] = {}
        """Rows (flagged rows) per date by table; `Deferred` when read from the disk cache and
        not needed since (built on first use, `LazyRows`)."""
        self._cache_key: tuple | None = None
        self._disk = DiskCounts(cache_dir, self.root) if cache_dir is not None else None
        self._disk_hits: set[str] = set()
        self._digests: dict[str, str] = {}
        """Table name -> digest of its cached counts as stored on disk (`Counts.digests`)."""
        self._persisted: dict[str, tuple[Facts, float]] = {}
        self._dates: dict[int, dt.date] = {}
        """Day ordinal -> date, shared by every entry read from disk (one object per date)."""
        self._keys_of: dict[str, list[dt.date]] = {}
        """Packed dates text -> its dates, within one poll's `_fill`s."""
        self._days: dict[object, dt.date] = {}
        """Date value as SQLite returns it -> date (emptied past `MAX_DAYS` entries)."""
        self._recount = False
        """Set by `recount_next()`: the next poll counts every table (no change detection)."""
        self._written: dict[str, list[object]] = {}
        """`dataset.table` -> the date values written since the last poll (`_moved`)."""
        self.partial: dict[str, int] = {}
        """The last poll's tables counted on their written dates only -> how many dates."""

    def recount_next(self) -> None:
        """Count every table at the next poll, whatever `data_version`, the change counters and
        the disk cache say (the dashboard's `R`, `status --recount`); once, until a poll ends."""
        self._recount = True

    def change_token(self) -> tuple[tuple[int, int, int] | None, ...]:
        """What any commit to a dataset changes, read with a few stat() calls and no SQLite: the
        inode, size and modification time of each dataset file and of its write-ahead log. A
        hint to poll sooner (`Monitor.written`): what a poll counts still rests on
        `data_version` and the change counters."""
        files = [dataset_file(self.root, d) for d in self.datasets]
        return tuple(stat_key(f) for f in files) + tuple(
            stat_key(f.with_name(f.name + "-wal")) for f in files
        )

    def _files(self) -> dict[str, int]:
        found = {}
        for d in self.datasets:
            try:
                found[d] = dataset_file(self.root, d).stat().st_ino
            except FileNotFoundError:
                continue
        return found

    def _connection(self) -> sqlite3.Connection:
        files = self._files()
        if self._conn is None or files != self._inodes:
            self.close()
            self._conn = connect(
                self.root,
                self.datasets,
                busy_timeout_ms=self.busy_timeout_ms,
                create=False,
                readonly=True,
            )
            self._inodes = files
        return self._conn

    def _changed(self, conn: sqlite3.Connection) -> set[str]:
        """Datasets with commits by other connections since the last poll."""
        changed = set()
        for ds in attached(conn):
            (version,) = conn.execute(f'PRAGMA "{ds}".data_version').fetchone()
            if self._versions.get(ds) != version:
                changed.add(ds)
            self._versions[ds] = version
        return changed

    def _moved(
        self, conn: sqlite3.Connection, changed: set[str], specs: Sequence[TableSpec]
    ) -> set[str]:
        """`dataset.table` of the specs that may have changed: in a changed dataset, those whose
        change counter moved (or every one, without counters or after a schema change). Read
        before counting, so a write after this read is seen by the next poll. The dates written
        since, where the triggers note them, go to `_written` (`dataset.table` -> date values)."""
        out: set[str] = set()
        self._written = {}
        for ds in changed:
            columns = {s.ref.table: s.date_column for s in specs if s.ref.dataset == ds}
            if not columns:
                continue
            now = sqlite_changes.read(conn, ds, columns)
            before = self._changes.get(ds)
            names = sqlite_changes.moved(before, now, set(columns))
            out |= {f"{ds}.{t}" for t in names}
            for t, values in sqlite_changes.changed_dates(conn, ds, before, now, names).items():
                self._written[f"{ds}.{t}"] = values
            self._changes[ds] = now
        return out

    def _count_written(
        self,
        conn: sqlite3.Connection,
        counted: list[tuple[int, TableSpec]],
        start: dt.date,
        end: dt.date,
    ) -> list[tuple[int, TableSpec]]:
        """Count again only the dates written since the last poll of the tables whose triggers
        noted them (`_written`) and whose counts this process holds; the other tables of
        `counted` are returned, to be counted whole. A table's entries become new dicts (the
        coverage maths see an unchanged table as the same object)."""
        rest: list[tuple[int, TableSpec]] = []
        self.partial = {}
        for i, spec in counted:
            values = self._written.get(str(spec.ref))
            if values is None or spec.name not in self._cache or not _plain_dates(values):
                rest.append((i, spec))
                continue
            days = set(self._parse(values))
            rows = count_dates(conn, spec, values, start, end)
            fresh = dict(zip(self._parse([r[0] for r in rows]), rows, strict=True))
            for entries, k in ((self._cache, 1), (self._flagged, 2)):
                if k == 2 and not spec.degraded_column:
                    continue
                kept = {
                    d: n for d, n in resolved(entries.get(spec.name, {})).items() if d not in days
                }
                kept.update((d, r[k]) for d, r in fresh.items())
                entries[spec.name] = kept
            self._digests.pop(spec.name, None)
            self.partial[spec.name] = len(values)
        return rest

    def counts(
        self,
        expected: TableSpec,
        tables: Sequence[TableSpec],
        start: dt.date,
        end: dt.date,
    ) -> Counts:
        t0 = time.perf_counter()
        specs = [expected, *tables]
        key = (start, end, tuple(specs))
        try:
            conn = self._connection()
            began = time.time_ns()
            before = self._facts() if self._disk is not None else {}
            changed = self._changed(conn)
            if key != self._cache_key:
                self._cache, self._flagged, self._cache_key = {}, {}, key
                self._persisted, self._digests = {}, {}
            present = existing_tables(conn)
            if str(expected.ref) not in present:
                raise WarehouseError(
                    f"schedule table {expected.ref} not found in {self.root}",
                    hint="run `nba-tui demo reset` or fix expected_dates.table",
                )
            missing = [s.name for s in tables if str(s.ref) not in present]
            moved = self._moved(conn, changed, specs)
            stale = {
                s.name: s
                for s in specs
                if s.name not in missing
                and (self._recount or str(s.ref) in moved or s.name not in self._cache)
            }
            if self._recount:
                from_disk: set[str] = set()
                self._disk_hits = set()
            else:
                from_disk = self._from_disk(stale, before, start, end)
            counted = [
                (i, s)
                for i, s in enumerate(specs)
                if s.name in stale and s.ref.dataset not in from_disk
            ]
            whole = counted if self._recount else self._count_written(conn, counted, start, end)
            rows = self._count(conn, whole, start, end)
        except sqlite3.Error as e:
            self._cache_key = None  # next poll starts from scratch
            raise WarehouseError(f"embedded warehouse {self.root}: {e}") from e
        if len(self._days) > MAX_DAYS:  # a date column holding timestamps: many distinct values
            self._days.clear()
        self._keys_of = {}
        for t, d, n, g in rows:
            self._fill(conn, specs[t], t, d, n, g, start, end)
        self._keys_of = {}
        if self._disk is not None:
            self._persist(specs, missing, before, began, start, end)
        result = self._result(expected, tables, missing)
        result.queries = 1 if counted else 0
        self._recount = False
        result.elapsed = time.perf_counter() - t0
        return result

    def _facts(self) -> dict[str, Facts]:
        """Each present dataset file's facts now (see `sqlite_cache`)."""
        out = {}
        for ds in self.datasets:
            facts = file_facts(dataset_file(self.root, ds))
            if facts is not None:
                out[ds] = facts
        return out

    def _from_disk(
        self, stale: dict[str, TableSpec], before: dict[str, Facts], start: dt.date, end: dt.date
    ) -> set[str]:
        """Datasets whose stale tables were all filled from the disk cache (only tables this
        process has never counted are looked up: later changes are seen by `data_version`)."""
        if self._disk is None:
            return set()
        # A dataset this process counted before changed since (data_version): count it again.
        known = {s.ref.dataset for s in stale.values() if s.name in self._cache}
        by_ds: dict[str, dict[str, str]] = {}
        for s in stale.values():
            by_ds.setdefault(s.ref.dataset, {})[s.name] = spec_key(s, start, end)
        hits = set()
        for ds, keys in by_ds.items():
            if ds in known or ds not in before:
                continue
            db = dataset_file(self.root, ds).resolve()
            entries = self._disk.load(ds, db, before[ds], keys, self._dates)
            if entries is None:
                continue
            for name, ((rows, flagged), digest) in entries.items():
                self._cache[name] = rows
                self._digests[name] = digest
                if flagged is not None:
                    self._flagged[name] = flagged
            hits.add(ds)
            self._persisted[ds] = (before[ds], time.monotonic())
        self._disk_hits = hits
        return hits

    def _persist(
        self,
        specs: list[TableSpec],
        missing: list[str],
        before: dict[str, Facts],
        began: int,
        start: dt.date,
        end: dt.date,
    ) -> None:
        """Store each dataset whose files did not move while this poll read it and were last
        modified well before it began (`sqlite_cache.racy`), at most every `PERSIST_EVERY_S`."""
        assert self._disk is not None
        after = self._facts()
        now = time.monotonic()
        for ds in {s.ref.dataset for s in specs}:
            facts = before.get(ds)
            if facts is None or after.get(ds) != facts:
                if ds in self._disk_hits:
                    # A commit may predate data_version and the change counters: recount.
                    self._versions.pop(ds, None)
                    self._changes.pop(ds, None)
                continue
            last = self._persisted.get(ds)
            if racy(facts, began) or (last is not None and last[0] == facts):
                continue
            if last is not None and now - last[1] < PERSIST_EVERY_S:
                continue
            keys = {s.name: spec_key(s, start, end) for s in specs if s.ref.dataset == ds}
            entries = {
                keys[s.name]: (
                    resolved(self._cache[s.name]),
                    resolved(self._flagged.get(s.name, {})) if s.degraded_column else None,
                )
                for s in specs
                if s.ref.dataset == ds and s.name not in missing
            }
            db = dataset_file(self.root, ds).resolve()
            digests = self._disk.store(ds, db, facts, entries)
            if digests is not None:
                self._persisted[ds] = (facts, now)
                for name, k in keys.items():
                    if k in digests:
                        self._digests[name] = digests[k]

    def _count(
        self,
        conn: sqlite3.Connection,
        counted: list[tuple[int, TableSpec]],
        start: dt.date,
        end: dt.date,
    ) -> list[tuple]:
        """Count the given tables (index in `specs`, spec): one row per table of SEP-joined dates,
        counts and flagged counts (`packed_part`); their cache entries are reset to be filled
        from it (`_fill`). Many tables over several datasets: half of the datasets are counted
        on a second connection in a thread meanwhile (`halves`)."""
        for _, spec in counted:
            self._digests.pop(spec.name, None)
            self._cache[spec.name] = {}
            if spec.degraded_column:
                self._flagged[spec.name] = {}
        first, second = halves(counted)
        if not second:
            return run_count(conn, first, start, end)
        out: list[list[tuple]] = []
        failed: list[BaseException] = []

        def other() -> None:
            try:
                aside = connect(
                    self.root,
                    self.datasets,
                    busy_timeout_ms=self.busy_timeout_ms,
                    create=False,
                    readonly=True,
                )
                try:
                    out.append(run_count(aside, second, start, end))
                finally:
                    aside.close()
            except BaseException as e:  # noqa: BLE001 - raised again by the caller below
                failed.append(e)

        worker = threading.Thread(target=other, name="nba-count", daemon=True)
        worker.start()
        try:
            rows = run_count(conn, first, start, end)
        finally:
            worker.join()
        if failed:
            raise failed[0]
        return rows + out[0]

    def _fill(
        self,
        conn: sqlite3.Connection,
        spec: TableSpec,
        t: int,
        d: str | None,
        n: str | None,
        g: str | None,
        start: dt.date,
        end: dt.date,
    ) -> None:
        """A table's cache entries from its packed row (`packed_part`). A date value holding SEP
        itself (the lists no longer align) is counted again row by row."""
        if d is None or n is None:  # no row in range
            return
        # Most tables hold the same dates: their packed text is split and parsed once per poll.
        keys: list[dt.date] | None = self._keys_of.get(d)
        dates: list = keys if keys is not None else d.split(SEP)
        counts: list[int] = json.loads(n)
        flags: list[int] | None = json.loads(g) if g is not None else None
        if len(dates) != len(counts) or (flags is not None and len(flags) != len(counts)):
            params = (t, start.isoformat(), end.isoformat())
            raw = conn.execute(count_part(spec), params).fetchall()
            dates, keys = [r[1] for r in raw], None
            counts = [r[2] for r in raw]
            flags = None if g is None else [r[3] for r in raw]
            d = ""  # these dates are not the packed text's: never remembered under it
        if keys is None:
            keys = self._parse(dates)
            if d:
                self._keys_of[d] = keys
        # Assigned in row order, so two values of one day (timestamps) keep the last, as before.
        resolved(self._cache[spec.name]).update(zip(keys, counts, strict=True))
        if flags is not None:
            resolved(self._flagged[spec.name]).update(zip(keys, flags, strict=True))

    def _parse(self, dates: list) -> list[dt.date]:
        """The date of each value as SQLite returned it; each text is parsed once per process."""
        days = self._days
        try:
            return list(map(days.__getitem__, dates))
        except KeyError:
            for v in dates:
                if v not in days:
                    days[v] = dt.date.fromisoformat(str(v)[:10])
            return list(map(days.__getitem__, dates))

    def _result(
        self, expected: TableSpec, tables: Sequence[TableSpec], missing: list[str]
    ) -> Counts:
        """The cached dicts themselves, not copies: an unchanged table is the same object as in
        the previous poll (coverage skips it at once); a recount always builds a new dict."""
        expected_rows = resolved(self._cache[expected.name])
        return Counts(
            expected=sorted(expected_rows),
            expected_rows=expected_rows,
            rows=LazyRows({s.name: self._cache[s.name] for s in tables if s.name not in missing}),
            degraded=LazyRows(
                {
                    s.name: self._flagged[s.name]
                    for s in tables
                    if s.degraded_column and s.name not in missing and s.name in self._flagged
                }
            ),
            missing_tables=missing,
            bytes_processed=None,
            digests={
                s.name: self._digests[s.name]
                for s in tables
                if s.name not in missing and s.name in self._digests
            },
            expected_digest=self._digests.get(expected.name),
        )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._versions.clear()
        self._changes.clear()
        self._cache_key = None
