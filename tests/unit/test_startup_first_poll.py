"""Start-up: the cold count returns one row per table, and the dashboard's first poll
starts before Textual is imported (`Monitor.prefetch`), its result taken by the first `poll()`."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path

import pytest

from nba_tui import config, coverage
from nba_tui.identifiers import TableRef
from nba_tui.monitor import Monitor
from nba_tui.warehouse.base import TableSpec
from nba_tui.warehouse.sqlite import SqliteWarehouse, connect
from nba_tui.warehouse.sqlite_count import SPLIT_MIN_TABLES, count_part, halves

D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(4)]
SCHEDULE = TableSpec("__expected__", TableRef("raw", "schedule"), "game_date")
ODD = TableSpec("odd", TableRef("raw", "odd"), "game_date", "flag")
EMPTY = TableSpec("empty", TableRef("raw", "empty"), "game_date")
OUT = TableSpec("out", TableRef("raw", "out"), "game_date")
TIDY = TableSpec("tidy", TableRef("raw", "tidy"), "game_date", "flag")

ODD_ROWS = [
    ("2024-01-01", 1),
    ("2024-01-01", 0),
    ("2024-01-02 10:00", 1),  # two values of one day: the later row's count is kept
    ("2024-01-02 12:00", None),
    ("2024-01-02 12:00", 2),
    ("2024-01-03\x1fx", 1),  # holds the packing separator: that table is counted row by row
    ("2024-01-04", "no"),
]


def _build(root: Path) -> None:
    conn = connect(root, ["raw"])
    conn.execute("CREATE TABLE raw.schedule (game_date TEXT)")
    conn.executemany("INSERT INTO raw.schedule VALUES (?)", [(d.isoformat(),) for d in D])
    conn.execute("CREATE TABLE raw.odd (game_date TEXT, flag)")
    conn.executemany("INSERT INTO raw.odd VALUES (?, ?)", ODD_ROWS)
    conn.execute("CREATE TABLE raw.tidy (game_date TEXT, flag)")
    conn.executemany("INSERT INTO raw.tidy VALUES (?, ?)", [r for r in ODD_ROWS if "x" not in r[0]])
    conn.execute("CREATE TABLE raw.empty (game_date TEXT)")
    conn.execute("CREATE TABLE raw.out (game_date TEXT)")
    conn.execute("INSERT INTO raw.out VALUES ('2023-12-31')")  # rows, none in range
    conn.close()


def _row_by_row(root: Path, spec: TableSpec, datasets: tuple = ("raw",)) -> tuple[dict, dict]:
    """What the per-row query (the count before packing) gives for `spec`."""
    conn = connect(root, datasets, create=False, readonly=True)
    rows = conn.execute(count_part(spec), (0, D[0].isoformat(), D[-1].isoformat())).fetchall()
    conn.close()
    counts: dict[dt.date, int] = {}
    flagged: dict[dt.date, int] = {}
    for _, d, n, g in rows:
        day = dt.date.fromisoformat(str(d)[:10])
        counts[day] = int(n)
        if g is not None:
            flagged[day] = int(g)
    return counts, flagged


def test_packed_count_equals_the_row_by_row_count(tmp_path: Path) -> None:
    root = tmp_path / "wh"
    _build(root)
    wh = SqliteWarehouse(root, ["raw"])
    try:
        c = wh.counts(SCHEDULE, [ODD, TIDY, EMPTY, OUT], D[0], D[-1])
    finally:
        wh.close()
    rows, flagged = _row_by_row(root, ODD)
    assert c.queries == 1 and c.expected == D
    assert c.rows["odd"] == rows == {D[0]: 2, D[1]: 2, D[2]: 1, D[3]: 1}
    assert c.degraded["odd"] == flagged == {D[0]: 1, D[1]: 1, D[2]: 1, D[3]: 0}
    rows, flagged = _row_by_row(root, TIDY)
    assert c.rows["tidy"] == rows == {D[0]: 2, D[1]: 2, D[3]: 1}
    assert c.degraded["tidy"] == flagged == {D[0]: 1, D[1]: 1, D[3]: 0}
    assert c.rows["empty"] == {} and c.rows["out"] == {}
    assert c.missing_tables == []


CONFIG = """
pipeline: startup
range: {start: 2024-01-01, end: 2024-01-04}
expected_dates: {table: raw.schedule}
warehouse: {sqlite: {path: wh, sample: false}}
phases:
  - name: p
    tables:
      - {name: odd, table: raw.odd}
      - {name: empty, table: raw.empty}
"""


@pytest.fixture()
def pipe(tmp_path: Path) -> config.Pipeline:
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    _build(tmp_path / "wh")
    return config.load(tmp_path / "pipeline.yaml")


class Gate:
    """A warehouse factory whose first `counts` waits for `release`: the prefetched poll is
    then certainly still running when the caller asks for a poll."""

    def __init__(self, pipe: config.Pipeline) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.calls = 0
        self.pipe = pipe

    def __call__(self, pipe: config.Pipeline) -> SqliteWarehouse:
        wh = SqliteWarehouse(pipe.sqlite_dir, pipe.datasets())
        counts = wh.counts

        def gated(*args: object) -> object:
            self.calls += 1
            self.entered.set()
            assert self.release.wait(10), "the test never released the poll"
            return counts(*args)

        wh.counts = gated  # type: ignore[method-assign]
        return wh


def test_poll_takes_the_prefetched_poll(pipe: config.Pipeline) -> None:
    gate = Gate(pipe)
    mon = Monitor(pipe, gate)
    try:
        mon.prefetch()
        assert gate.entered.wait(10)  # counting before anyone asked for a poll
        mon.prefetch()  # a second call starts nothing
        gate.release.set()
        result = asyncio.run(mon.poll())
        assert result.fresh and result.error is None
        assert gate.calls == 1  # the prefetched poll, not a second one
        assert isinstance(result.snapshot, coverage.Snapshot)
        assert result.snapshot.tables["odd"].present == 4
        again = asyncio.run(mon.poll())
        assert again.fresh and gate.calls == 2  # later polls query the warehouse
    finally:
        mon.close()


def test_poll_once_takes_the_prefetched_poll_within_its_deadline(pipe: config.Pipeline) -> None:
    gate = Gate(pipe)
    mon = Monitor(pipe, gate, timeout=0.2)
    try:
        mon.prefetch()
        assert gate.entered.wait(10)
        slow = mon.poll_once()  # never released: the deadline counted from prefetch() ends it
        assert not slow.fresh and "did not answer within 0.2s" in (slow.error or "")
        assert gate.calls == 1
    finally:
        gate.release.set()
        mon.close()


def test_no_prefetch_through_a_throttle(pipe: config.Pipeline) -> None:
    gate = Gate(pipe)
    gate.release.set()
    mon = Monitor(pipe, gate, max_queries_per_minute=10)
    try:
        mon.prefetch()
        assert mon.throttler is not None and gate.calls == 0
        assert asyncio.run(mon.poll()).fresh and gate.calls == 1
    finally:
        mon.close()


def test_a_large_count_is_split_by_dataset_and_gives_the_same_counts(tmp_path: Path) -> None:
    """>= SPLIT_MIN_TABLES tables over two datasets: two statements on two connections at once,
    each dataset whole on one side; the counts are those of the one-statement count."""
    root = tmp_path / "wh"
    conn = connect(root, ["raw", "a", "b"])
    conn.execute("CREATE TABLE raw.schedule (game_date TEXT)")
    conn.executemany("INSERT INTO raw.schedule VALUES (?)", [(d.isoformat(),) for d in D])
    specs = []
    for i in range(2 * SPLIT_MIN_TABLES):
        ds = "ab"[i % 2]
        conn.execute(f"CREATE TABLE {ds}.t{i} (game_date TEXT, flag)")
        rows = [(d.isoformat(), j % 2) for k, d in enumerate(D) if (k + i) % 3 for j in range(i)]
        conn.executemany(f"INSERT INTO {ds}.t{i} VALUES (?, ?)", rows)
        specs.append(TableSpec(f"t{i}", TableRef(ds, f"t{i}"), "game_date", "flag"))
    conn.close()
    first, second = halves(list(enumerate([SCHEDULE, *specs])))
    sides = [{s.ref.dataset for _, s in half} for half in (first, second)]
    assert second and not sides[0] & sides[1]  # whole datasets on each side
    assert abs(len(first) - len(second)) <= 1
    wh = SqliteWarehouse(root, ["raw", "a", "b"])
    try:
        c = wh.counts(SCHEDULE, specs, D[0], D[-1])
    finally:
        wh.close()
    assert c.queries == 1 and c.expected == D
    for spec in specs:
        rows, flagged = _row_by_row(root, spec, ("raw", "a", "b"))
        assert c.rows[spec.name] == rows and c.degraded[spec.name] == flagged
    assert c.rows["t5"] == {D[0]: 5, D[2]: 5, D[3]: 5}  # (k + 5) % 3 == 0 for k = 1


def test_a_small_count_or_one_dataset_is_not_split() -> None:
    few = [(i, TableSpec(f"t{i}", TableRef("ab"[i % 2], f"t{i}"), "d")) for i in range(4)]
    assert halves(few) == (few, [])
    one = [(i, TableSpec(f"t{i}", TableRef("a", f"t{i}"), "d")) for i in range(40)]
    assert halves(one) == (one, [])
