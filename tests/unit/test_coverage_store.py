"""Coverage read back from the state directory (`coverage_store`) when the counts it was computed
from are provably the same: every figure equal to computing it again, never after a write."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest

from nba_tui import config, coverage, jsontext
from nba_tui.coverage import Snapshot
from nba_tui.monitor import Monitor
from nba_tui.warehouse import fetch
from nba_tui.warehouse.base import Deferred, LazyRows
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect

D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(10)]
YAML = f"""pipeline: store
range: {{start: {D[0]}, end: {D[-1]}}}
expected_dates: {{table: raw.schedule}}
warehouse: {{sqlite: {{path: wh, sample: false}}}}
phases:
  - name: raw
    tables:
      - {{name: box, table: raw.box, min_coverage: 0.9}}
  - name: analytics
    tables:
      - name: summary
        table: analytics.summary
        min_coverage: 0.5
        bootstrap_days: 2
        degraded_column: flagged
"""


def _age(root: Path, seconds: float = 30.0) -> None:
    """Files last written well before the next poll (a store is refused for fresh files)."""
    past = time.time() - seconds
    for f in root.iterdir():
        os.utime(f, (past, past))


@pytest.fixture
def pipe(tmp_path: Path) -> config.Pipeline:
    (tmp_path / "pipeline.yaml").write_text(YAML)
    p = config.load(tmp_path / "pipeline.yaml")
    conn = connect(p.sqlite_dir, p.datasets())
    conn.execute("CREATE TABLE raw.schedule (game_date TEXT)")
    conn.execute("CREATE TABLE raw.box (game_date TEXT)")
    conn.execute("CREATE TABLE analytics.summary (game_date TEXT, flagged INTEGER)")
    conn.executemany("INSERT INTO raw.schedule VALUES (?)", [(d.isoformat(),) for d in D])
    box = [d for i, d in enumerate(D) if i not in (3, 4, 7)] * 4 + [D[5]] * 10
    conn.executemany("INSERT INTO raw.box VALUES (?)", [(d.isoformat(),) for d in box])
    summary = [(d.isoformat(), i % 3 == 0) for i, d in enumerate(D) if i not in (1, 6, 8)]
    conn.executemany("INSERT INTO analytics.summary VALUES (?, ?)", summary * 2)
    conn.close()
    _age(p.sqlite_dir)
    return p


def _poll(pipe: config.Pipeline) -> tuple[Snapshot, Monitor]:
    """One poll by a new monitor, as a new `status --json` process makes it."""
    mon = Monitor(pipe, stored_coverage=True)
    try:
        result = mon.poll_once()
    finally:
        mon.close()
    assert result.snapshot is not None, result.error
    return result.snapshot, mon


def _reference(pipe: config.Pipeline) -> Snapshot:
    """The coverage computed from counts taken now, with no cache of any kind."""
    wh = SqliteWarehouse(pipe.sqlite_dir, pipe.datasets())
    try:
        return coverage.snapshot(pipe, fetch(pipe, wh))
    finally:
        wh.close()


def _tables(snap: Snapshot, pipe: config.Pipeline) -> list[dict]:
    return [t for p in snap.to_json(pipe)["phases"] for t in p["tables"]]


def _same(a: coverage.TableCoverage, b: coverage.TableCoverage) -> None:
    assert a.to_json() == b.to_json()
    assert a.states == b.states and a.rows == b.rows and a.degraded_rows == b.degraded_rows
    assert a.missing_runs == b.missing_runs and a.missing == b.missing
    assert a.thin == b.thin and a.bootstrap == b.bootstrap and a.degraded == b.degraded
    assert (a.share, a.ok, a.first_date, a.last_date) == (b.share, b.ok, b.first_date, b.last_date)


def test_an_unchanged_warehouse_reads_coverage_back_equal_to_computing_it(
    pipe: config.Pipeline,
) -> None:
    first, mon = _poll(pipe)
    assert mon.coverage.computed == 2
    stored = pipe.state_dir / "cache" / "coverage.json"
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    again, mon = _poll(pipe)
    assert again.queries == 0 and mon.coverage.computed == 0  # no count, no maths
    ref = _reference(pipe)
    assert _tables(again, pipe) == _tables(ref, pipe) == _tables(first, pipe)
    summary = again.tables["summary"]
    assert summary.bootstrap and summary.degraded and summary.missing_runs  # all exercised
    for name in ("box", "summary"):
        _same(again.tables[name], ref.tables[name])
    assert mon.coverage.computed == 2  # the per-date fields were computed on first use


def test_a_write_is_counted_and_its_coverage_computed_again(pipe: config.Pipeline) -> None:
    _poll(pipe)
    conn = connect(pipe.sqlite_dir, ["analytics"])
    conn.execute("INSERT INTO analytics.summary VALUES (?, 0)", (D[6].isoformat(),))
    conn.close()
    snap, mon = _poll(pipe)
    assert snap.queries == 1
    assert mon.coverage.computed == 1  # summary only: box's counts and schedule did not move
    ref = _reference(pipe)
    assert _tables(snap, pipe) == _tables(ref, pipe)
    assert snap.tables["summary"].present == _poll(pipe)[0].tables["summary"].present
    assert D[6] not in snap.tables["summary"].missing


def test_status_json_writes_the_stored_text_as_computing_it_would(pipe: config.Pipeline) -> None:
    _poll(pipe)
    again, mon = _poll(pipe)
    assert mon.coverage.computed == 0
    ref = _reference(pipe)
    for snap in (again, ref):
        snap.taken_at, snap.elapsed, snap.queries = ref.taken_at, ref.elapsed, ref.queries
    spliced = jsontext.dumps(again.to_json(pipe, raw=True))
    assert spliced == json.dumps(ref.to_json(pipe))


@pytest.mark.parametrize("damage", ["foreign", "malformed", "garbage", "text"])
def test_a_damaged_or_foreign_coverage_file_is_a_miss(pipe: config.Pipeline, damage: str) -> None:
    _poll(pipe)
    stored = pipe.state_dir / "cache" / "coverage.json"
    if damage == "foreign":
        stored.chmod(0o666)  # anyone could have written it
    elif damage == "malformed":
        stored.write_text(stored.read_text().replace('"first_date":"', '"first_date":"x'))
    elif damage == "text":  # the JSON text written out as is: a changed one must not be
        stored.write_text(stored.read_text().replace('\\"present\\": ', '\\"present\\": 1'))
    else:
        stored.write_text("{not json")
    snap, mon = _poll(pipe)
    assert mon.coverage.computed == 2
    assert _tables(snap, pipe) == _tables(_reference(pipe), pipe)


def test_counts_digests_are_equal_exactly_when_the_counts_are(pipe: config.Pipeline) -> None:
    cache = pipe.state_dir / "cache"

    def digests() -> tuple[dict[str, str], str | None]:
        wh = SqliteWarehouse(pipe.sqlite_dir, pipe.datasets(), cache_dir=cache)
        try:
            c = fetch(pipe, wh)
        finally:
            wh.close()
        return c.digests, c.expected_digest

    first, schedule = digests()
    assert set(first) == {"box", "summary"} and schedule is not None
    assert len({*first.values(), schedule}) == 3
    assert digests() == (first, schedule)  # from disk: the same
    conn = connect(pipe.sqlite_dir, ["raw"])
    conn.execute("INSERT INTO raw.box VALUES (?)", (D[0].isoformat(),))
    conn.close()
    _age(pipe.sqlite_dir)
    changed, same_schedule = digests()
    assert changed["box"] != first["box"] and changed["summary"] == first["summary"]
    assert same_schedule == schedule


def test_counts_read_from_disk_are_built_only_when_read(pipe: config.Pipeline) -> None:
    """`status --json` answers from stored coverage: the per-date dicts of the counts cache are
    built on first read only, then the same dict for every holder."""
    _poll(pipe)
    wh = SqliteWarehouse(pipe.sqlite_dir, pipe.datasets(), cache_dir=pipe.state_dir / "cache")
    try:
        counts = fetch(pipe, wh)
    finally:
        wh.close()
    assert counts.queries == 0
    assert isinstance(counts.rows, LazyRows)
    held = counts.rows.entry("box", {})
    assert isinstance(held, Deferred) and held._value is None
    expected = _reference(pipe).tables["box"].rows
    assert counts.rows["box"] == expected and counts.rows["box"] is held.get()
    assert counts.rows.entry("box", {}) is held
