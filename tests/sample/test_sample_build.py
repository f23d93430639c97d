"""The initial warehouse reproduces the incident's pre-flight numbers, measured by the real
coverage code over the real SQLite files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sample_helpers import Project

from nba_tui import config as cfg
from nba_tui.coverage import Snapshot, snapshot
from nba_tui.sample import build_warehouse, ensure_warehouse
from nba_tui.sample.build import BuildStats
from nba_tui.sample.tables import BACKFILLABLE, BY_NAME, RAW
from nba_tui.warehouse import fetch
from nba_tui.warehouse.sqlite import SqliteWarehouse

PHASE3_TARGETS = {
    "player_game_summary": 100.0,
    "team_offense_game_summary": 100.0,
    "team_defense_game_summary": 91.5,
    "upcoming_player_game_context": 52.6,
    "upcoming_team_game_context": 58.5,
}


def _snapshot(project: Project) -> Snapshot:
    p = project.pipeline
    wh = SqliteWarehouse(p.sqlite_dir, p.datasets())
    try:
        return snapshot(p, fetch(p, wh))
    finally:
        wh.close()


def test_initial_coverage_matches_the_seed(project: Project) -> None:
    snap = _snapshot(project)
    assert 880 <= len(snap.expected_dates) <= 930
    for name, target in PHASE3_TARGETS.items():
        assert snap.tables[name].share * 100 == pytest.approx(target, abs=1.0), name
    for phase in ("phase4", "phase5"):
        for tc in snap.phase_tables(project.pipeline, phase):
            assert tc.exists and tc.present == 0, tc.name
    props = snap.tables["bettingpros_player_props"].share
    assert 0.65 <= props <= 0.70
    # betting lines bound the upcoming tables: >= 60 % reachable, 100 % not
    assert props >= 0.60 and props < 1.0


def test_gaps_look_like_real_life(project: Project) -> None:
    snap = _snapshot(project)
    tdgs = snap.tables["team_defense_game_summary"]
    assert tdgs.last_date is not None and tdgs.last_date.isoformat() == "2025-12-25"
    late = [d for d in tdgs.missing if d.isoformat() > "2025-12-25"]
    assert 5 <= len(late) <= 10
    assert len(tdgs.missing_runs) >= 10  # scattered dates and short runs, not one block
    upgc = snap.tables["upcoming_player_game_context"]
    first_season = [d for d in snap.expected_dates if d.isoformat() < "2022-07-01"]
    assert set(first_season) <= set(upgc.missing)


def test_build_stats(built: tuple[Path, BuildStats]) -> None:
    """What the build reports is what it wrote (its wall time is bench/bench_build.py's job)."""
    root, stats = built
    assert stats.path == cfg.load(root / "pipeline.yaml").sqlite_dir
    assert stats.seconds > 0
    assert stats.rows["bdl_box_scores"] == stats.rows["player_game_summary"] > 100_000
    assert stats.dates["nbac_schedule"] == stats.expected_dates
    project = Project(root, cfg.load(root / "pipeline.yaml"))
    (n,) = project.query("SELECT COUNT(*) FROM nba_raw.bdl_box_scores")[0]
    assert n == stats.rows["bdl_box_scores"]


def test_every_table_has_a_game_date_index(project: Project) -> None:
    for t in BY_NAME.values():
        ref = t.ref
        idx = project.query(f'PRAGMA "{ref.dataset}".index_list("{ref.table}")')
        names = [row[1] for row in idx]
        assert f"ix_{ref.table}_game_date" in names, t.name


def test_file_modes(project: Project) -> None:
    wh = project.warehouse
    assert stat.S_IMODE(wh.stat().st_mode) == 0o700
    for f in wh.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_ensure_warehouse_builds_once(project: Project) -> None:
    assert ensure_warehouse(project.pipeline) is False
    with pytest.raises(FileExistsError):
        build_warehouse(project.pipeline)


def test_ensure_warehouse_builds_when_absent(
    tmp_path: Path, built: tuple[Path, BuildStats]
) -> None:
    (tmp_path / "pipeline.yaml").write_text(
        (Path(__file__).resolve().parents[2] / "pipeline.yaml").read_text()
    )
    pipeline = cfg.load(tmp_path / "pipeline.yaml")
    assert ensure_warehouse(pipeline) is True
    assert ensure_warehouse(pipeline) is False
    assert not list(tmp_path.glob(".nba_tui/.warehouse.*"))  # no temp dirs left behind
    # deterministic: an independent build holds the same data
    fresh = Project(tmp_path, pipeline)
    first = Project(built[0], cfg.load(built[0] / "pipeline.yaml"))
    for sql in (
        "SELECT COUNT(*), SUM(points), SUM(minutes), MAX(player_name) FROM nba_raw.bdl_box_scores",
        "SELECT COUNT(*), SUM(points_line), MIN(game_date) FROM nba_raw.bettingpros_player_props",
        "SELECT COUNT(*), SUM(usage_rate) FROM nba_analytics.player_game_summary",
        "SELECT group_concat(game_date) FROM nba_analytics.team_defense_game_summary",
    ):
        assert fresh.query(sql) == first.query(sql), sql


def test_tables_agree_with_pipeline_yaml(project: Project) -> None:
    p = project.pipeline
    names = {t.name for t in p.tables()}
    assert names == set(BY_NAME)
    for t in p.tables():
        mine = BY_NAME[t.name]
        assert t.table == mine.table
        assert set(t.depends_on) == set(mine.depends_on), t.name
        assert set(t.soft_depends_on) == set(mine.soft_depends_on), t.name
        assert (t.bootstrap_days > 0) == mine.bootstrap, t.name
        assert (t.backfill is not None) == (t.name in BACKFILLABLE), t.name
    assert set(RAW) == {t.name for t in p.phase("phase2").tables}
