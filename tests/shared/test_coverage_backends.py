"""The shared coverage suite: identical numbers from every backend for identical data.

Gaps (a run of two and a single date), a thin date, bootstrap windows at three season starts,
the range's first and last day (inclusive), rows outside the range, rows with a NULL date, rows on
non-game dates, a table that does not exist and a dataset that does not exist; degraded rows
(`box` flags rows by its `v` column, 0 .. n-1 on a date of n rows: n - 1 flagged rows).
"""

from __future__ import annotations

import datetime as dt

import pytest
from shared_backends import BACKENDS, Backend, make_backend, unique_suffix

from nba_tui import config, coverage
from nba_tui.monitor import Monitor
from nba_tui.warehouse import fetch, specs

D = dt.date
SEASON1 = [D(2024, 1, 1) + dt.timedelta(days=2 * i) for i in range(20)]  # Jan 1 .. Feb 8
SEASON2 = [D(2024, 6, 1) + dt.timedelta(days=i) for i in range(10)]  # Jun 1 .. Jun 10
SEASON3 = [D(2024, 12, 31)]  # the range's last day, alone: a third "season"
GAME_DATES = SEASON1 + SEASON2 + SEASON3
OUTSIDE = [D(2023, 12, 30), D(2023, 12, 31), D(2025, 1, 1), D(2025, 1, 2)]
BOX_MISSING = [SEASON1[5], SEASON1[6], SEASON2[3]]  # Jan 11 + Jan 13 (a run), Jun 4
BOX_THIN = SEASON1[10]  # Jan 21: 3 rows where the median is 20
ROLLING_BOOTSTRAP = [SEASON1[0], SEASON1[1], SEASON1[2], *SEASON2[:5], SEASON3[0]]
ROLLING_MISSING = SEASON2[7]  # Jun 8: outside the bootstrap window


def config_text(sfx: str) -> str:
    return f"""\
pipeline: shared
range: {{start: 2024-01-01, end: 2024-12-31}}
expected_dates: {{table: raw_{sfx}.schedule, column: game_date, season_gap_days: 30}}
phases:
  - name: p2
    tables:
      - {{name: schedule, table: raw_{sfx}.schedule, min_coverage: 1.0}}
      - {{name: box, table: raw_{sfx}.box, min_coverage: 0.9, degraded_column: v}}
  - name: p3
    tables:
      - {{name: summary, table: ana_{sfx}.summary, depends_on: [box], min_coverage: 0.95}}
      - {{name: ghost, table: gone_{sfx}.ghost, depends_on: [box]}}
  - name: p4
    tables:
      - name: rolling
        table: pre_{sfx}.rolling
        depends_on: [summary]
        min_coverage: 0.8
        bootstrap_days: 5
      - {{name: never_created, table: pre_{sfx}.never_created, depends_on: [summary]}}
"""


def world(sfx: str) -> dict[str, dict[dt.date | None, int]]:
    schedule: dict[dt.date | None, int] = {d: 5 for d in GAME_DATES + OUTSIDE}
    box: dict[dt.date | None, int] = {d: 20 for d in GAME_DATES if d not in BOX_MISSING}
    box[BOX_THIN] = 3
    box[D(2024, 1, 2)] = 2  # a non-game date: counted, but not expected
    box[None] = 4  # NULL dates never count
    summary: dict[dt.date | None, int] = {d: 7 for d in GAME_DATES + OUTSIDE}
    rolling: dict[dt.date | None, int] = {
        d: 4 for d in GAME_DATES if d not in ROLLING_BOOTSTRAP and d != ROLLING_MISSING
    }
    return {
        f"raw_{sfx}.schedule": schedule,
        f"raw_{sfx}.box": box,
        f"ana_{sfx}.summary": summary,
        f"pre_{sfx}.rolling": rolling,
    }


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request, tmp_path_factory):
    """(backend, pipeline): the world written once per backend."""
    sfx = unique_suffix()
    backend: Backend = make_backend(request.param, request, tmp_path_factory.mktemp("shared"))
    backend.load(world(sfx))
    pipeline = config.loads(config_text(sfx), tmp_path_factory.mktemp("cfg") / "pipeline.yaml")
    return backend, pipeline


def _snapshot(loaded, start=None, end=None) -> coverage.Snapshot:
    backend, pipeline = loaded
    wh = backend.warehouse(pipeline.datasets())
    mon = Monitor(pipeline, warehouse_factory=lambda _p: wh, start=start, end=end)
    try:
        result = mon.poll_once()
    finally:
        mon.close()
    assert result.error is None, result.error
    assert result.snapshot is not None
    return result.snapshot


def test_counts_are_exact(loaded) -> None:
    backend, pipeline = loaded
    wh = backend.warehouse(pipeline.datasets())
    try:
        counts = fetch(pipeline, wh)
    finally:
        wh.close()
    assert counts.expected == GAME_DATES
    assert counts.expected_rows == {d: 5 for d in GAME_DATES}  # games per date, for thin dates
    assert counts.queries == 1
    assert sorted(counts.missing_tables) == ["ghost", "never_created"]
    in_range = {
        name: {d: n for d, n in rows.items() if d is not None and d.year == 2024}
        for name, rows in ((ref.split(".")[1], rows) for ref, rows in world("x").items())
    }
    assert counts.rows == in_range


def test_gaps_and_thin_dates(loaded) -> None:
    snap = _snapshot(loaded)
    box = snap.tables["box"]
    assert (box.expected, box.present) == (31, 28)
    assert box.missing == BOX_MISSING
    assert [(r.start, r.end, r.count) for r in box.missing_runs] == [
        (D(2024, 1, 11), D(2024, 1, 13), 2),
        (D(2024, 6, 4), D(2024, 6, 4), 1),
    ]
    assert box.thin == [BOX_THIN]
    assert box.median_rows == 20.0
    assert box.ok  # 28/31 = 0.903 >= 0.9
    assert box.rows[D(2024, 1, 2)] == 2  # kept, though not a game date
    assert (box.first_date, box.last_date) == (D(2024, 1, 1), D(2024, 12, 31))


def test_bootstrap_windows(loaded) -> None:
    snap = _snapshot(loaded)
    assert snap.season_starts == [D(2024, 1, 1), D(2024, 6, 1), D(2024, 12, 31)]
    rolling = snap.tables["rolling"]
    assert sorted(rolling.bootstrap) == ROLLING_BOOTSTRAP
    assert rolling.missing == [ROLLING_MISSING]
    assert (rolling.expected, rolling.present) == (22, 21)
    assert rolling.ok


def test_range_edges_inclusive_and_outside_rows_ignored(loaded) -> None:
    snap = _snapshot(loaded)
    assert snap.expected_dates[0] == D(2024, 1, 1) and snap.expected_dates[-1] == D(2024, 12, 31)
    summary = snap.tables["summary"]
    assert (summary.expected, summary.present) == (31, 31)
    assert sum(summary.rows.values()) == 31 * 7  # the 4 dates outside the range are not read
    assert snap.tables["schedule"].share == 1.0


def test_narrowed_range(loaded) -> None:
    snap = _snapshot(loaded, start=D(2024, 1, 5), end=D(2024, 6, 4))
    assert len(snap.expected_dates) == 22
    box, rolling = snap.tables["box"], snap.tables["rolling"]
    assert (box.expected, box.present, len(box.missing)) == (22, 19, 3)
    assert (rolling.expected, rolling.present, len(rolling.bootstrap)) == (17, 17, 5)
    # Season starts come from the whole range, so Jan 5 is still inside season 1's window.
    assert D(2024, 1, 5) in rolling.bootstrap


def test_missing_table_and_dataset(loaded) -> None:
    snap = _snapshot(loaded)
    for name in ("ghost", "never_created"):
        cov = snap.tables[name]
        assert not cov.exists
        assert (cov.present, cov.share, cov.first_date) == (0, 0.0, None)


@pytest.mark.bigquery
def test_json_is_identical_across_backends(request, tmp_path) -> None:
    """The same world in every backend: snapshot JSON (minus timings) is identical."""
    docs = {}
    for kind in ("sqlite", "bigquery-query", "bigquery-partitions"):
        sfx = unique_suffix()
        backend = make_backend(kind, request, tmp_path / kind)
        backend.load(world(sfx))
        pipeline = config.loads(config_text(sfx), tmp_path / f"{kind}.yaml")
        docs[kind] = _stable_json(_snapshot((backend, pipeline)).to_json(pipeline))
    assert docs["bigquery-query"] == docs["sqlite"]
    assert docs["bigquery-partitions"] == docs["sqlite"]


def _stable_json(doc: dict) -> dict:
    doc = dict(doc)
    for k in ("taken_at", "elapsed_s", "bytes_processed", "queries"):
        doc.pop(k)
    # Table refs carry the per-run dataset suffix: compare by name only.
    for phase in doc["phases"]:
        for t in phase["tables"]:
            t.pop("table")
    return doc


def test_specs_cover_every_table(loaded) -> None:
    _, pipeline = loaded
    expected, tables = specs(pipeline)
    assert expected.name == "__expected__" and len(tables) == 6


def test_degraded_rows_in_the_same_round_trip(loaded) -> None:
    """Flagged rows per date come from the one coverage query (the partitions strategy scans
    the flagged table instead of reading metadata), on every backend alike."""
    backend, pipeline = loaded
    wh = backend.warehouse(pipeline.datasets())
    try:
        counts = fetch(pipeline, wh)
    finally:
        wh.close()
    assert counts.queries == 1
    box = {d: n for d, n in world("x")["raw_x.box"].items() if d is not None}
    assert counts.degraded == {"box": {d: n - 1 for d, n in box.items()}}
    snap = _snapshot(loaded)
    cov = snap.tables["box"]
    assert cov.degraded == [d for d in GAME_DATES if d not in BOX_MISSING]
    assert cov.degraded_share == 1.0
    assert snap.tables["summary"].degraded == [] and snap.tables["summary"].degraded_share == 0.0
    listed = {t["name"]: t for p in snap.to_json(pipeline)["phases"] for t in p["tables"]}
    assert listed["box"]["degraded_dates"][:2] == ["2024-01-01", "2024-01-03"]
    assert len(listed["box"]["degraded_dates"]) == 28 and listed["summary"]["degraded_dates"] == []
