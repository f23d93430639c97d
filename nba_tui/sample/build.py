"""Build the embedded NBA warehouse in the state the incident found it in.

Phase 2 is complete (betting lines only where they ever existed); player_game_summary and
team_offense_game_summary are complete; team_defense_game_summary misses the dates since
2025-12-25 plus scattered ones (91.5 %); the two upcoming-context tables sit at 52.6 % and 58.5 %;
phases 4 and 5 are empty. The phase 3 rows come from the same `engine.derive()` the backfill
programs use. The build writes into a sibling temporary directory and renames it into place, so a
reader never sees half a warehouse.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import sqlite3
import time
from dataclasses import astuple, dataclass, field
from pathlib import Path

from nba_tui.config import Pipeline
from nba_tui.sample import engine, generate, schedule
from nba_tui.sample.context import Context
from nba_tui.sample.tables import BY_NAME, DATASETS, TABLES
from nba_tui.warehouse.sqlite import connect, dataset_file

SEED = schedule.SEED
# Shares of the expected dates present in the initial state (the seed's pre-flight numbers).
TEAM_DEFENSE_SHARE = 0.915
UPCOMING_PLAYER_SHARE = 0.526
UPCOMING_TEAM_SHARE = 0.585
TEAM_DEFENSE_LAST = dt.date(2025, 12, 25)  # "last update 2025-12-25"
UPCOMING_TEAM_LAST = dt.date(2025, 12, 26)


@dataclass
class BuildStats:
    path: Path
    expected_dates: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    dates: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _drop_runs(rng: random.Random, pool: list[dt.date], keep: int) -> set[dt.date]:
    """Remove scattered dates and short runs from `pool` until `keep` remain (realistic gaps)."""
    have = set(pool)
    while len(have) > keep:
        i = rng.randrange(len(pool))
        for d in pool[i : i + rng.choice((1, 1, 1, 2, 2, 3, 4))]:
            if len(have) > keep:
                have.discard(d)
    return have


def initial_dates(dates: list[dt.date], props: set[dt.date]) -> dict[str, set[dt.date]]:
    """Which dates each phase 3 table holds in the initial state (deterministic)."""
    rng = random.Random(SEED + 3)
    n = len(dates)
    full = set(dates)
    tdgs = _drop_runs(
        rng, [d for d in dates if d <= TEAM_DEFENSE_LAST], round(TEAM_DEFENSE_SHARE * n)
    )
    with_lines = sorted(props)
    upgc = _drop_runs(rng, with_lines, round(UPCOMING_PLAYER_SHARE * n))
    utgc = _drop_runs(
        rng, [d for d in with_lines if d <= UPCOMING_TEAM_LAST], round(UPCOMING_TEAM_SHARE * n)
    )
    return {
        "player_game_summary": full,
        "team_offense_game_summary": full,
        "team_defense_game_summary": tdgs,
        "upcoming_player_game_context": upgc,
        "upcoming_team_game_context": utgc,
    }


def _fill(root: Path, datasets: list[str], stats: BuildStats) -> None:
    conn = connect(root, datasets)
    try:
        for tdef in TABLES:  # change triggers after the bulk load: it runs 20 % faster
            engine.ensure_table(conn, tdef, counters=False)
        games = schedule.build_schedule(SEED)
        dates = schedule.game_dates(games)
        teams = generate.rosters(SEED + 1)
        rng = random.Random(SEED + 2)
        props_on = generate.props_dates(dates, SEED + 4)
        sched, box = BY_NAME["nbac_schedule"], BY_NAME["bdl_box_scores"]
        props = BY_NAME["bettingpros_player_props"]
        conn.execute("BEGIN")
        conn.executemany(
            sched.insert_sql(),
            [(g.game_date.isoformat(), *astuple(g)[1:]) for g in games],
        )
        box_rows: list[tuple] = []
        prop_rows: list[tuple] = []
        for g in games:
            rows = list(generate.box_rows(g, teams, rng))
            box_rows += rows
            if g.game_date in props_on:
                prop_rows += generate.prop_rows(g, rows, teams, rng)
        conn.executemany(box.insert_sql(), box_rows)
        conn.executemany(props.insert_sql(), prop_rows)
        conn.execute("COMMIT")
        ctx = Context.load(conn)
        for name, present in initial_dates(dates, props_on).items():
            tdef = BY_NAME[name]
            conn.execute("BEGIN")
            for d in sorted(present):
                rows = engine.derive(ctx, tdef, d.isoformat())
                conn.executemany(tdef.insert_sql(), rows)
            conn.execute("COMMIT")
        stats.expected_dates = len(dates)
        for tdef in TABLES:
            engine.ensure_table(conn, tdef)
            src = tdef.ref.sqlite_sql()
            n, days = conn.execute(
                f"SELECT COUNT(*), COUNT(DISTINCT game_date) FROM {src}"  # noqa: S608
            ).fetchone()
            stats.rows[tdef.name], stats.dates[tdef.name] = n, days
        for ds in datasets:
            conn.execute(f'PRAGMA "{ds}".wal_checkpoint(TRUNCATE)')
    finally:
        conn.close()


def build_warehouse(pipeline: Pipeline, *, force: bool = False) -> BuildStats:
    """Create the warehouse at `pipeline.sqlite_dir`; with `force`, replace an existing one.

    Raises FileExistsError when it exists and `force` is false.
    """
    target = pipeline.sqlite_dir
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists (use force=True or `nba-tui demo reset`)")
    t0 = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_name(f".{target.name}.building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    datasets = sorted(set(pipeline.datasets()) | set(DATASETS))
    stats = BuildStats(path=target)
    try:
        _fill(tmp, datasets, stats)
        os.chmod(tmp, 0o700)
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if target.exists():
            if not force:  # another process finished first: keep its copy
                raise FileExistsError(f"{target} appeared while building")
            os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stats.seconds = time.perf_counter() - t0
    return stats


def warehouse_exists(pipeline: Pipeline) -> bool:
    ref = pipeline.expected_dates.ref
    return dataset_file(pipeline.sqlite_dir, ref.dataset).exists()


def ensure_warehouse(pipeline: Pipeline) -> bool:
    """Build the warehouse unless it is there already (or the backend is not sqlite).

    An explicit request: the CLI and the dashboard call it on first run only for a pipeline with
    `warehouse.sqlite.sample: true` (see `nba_tui.cli.common.ensure_embedded`). Returns True if
    it built one. Two processes racing on first run both build; the second rename fails
    harmlessly and its copy is discarded.
    """
    if pipeline.warehouse.backend != "sqlite" or warehouse_exists(pipeline):
        return False
    try:
        build_warehouse(pipeline, force=pipeline.sqlite_dir.exists())
    except OSError:
        if warehouse_exists(pipeline):
            return False
        raise
    return True


def remove_checkpoints(pipeline: Pipeline) -> int:
    """Delete checkpoint files: after a reset their dates no longer hold what they claim. Those
    under the state directory, and those each table's `backfill.checkpoint` names (its shards'
    own files too), wherever the pipeline puts them."""
    from nba_tui.backfill_argv import checkpoint_path

    found = set((pipeline.state_dir / "checkpoints").glob("*.json"))
    for table in pipeline.tables():
        base = checkpoint_path(pipeline, table, "\0")
        if base is None:
            continue
        path = Path(base)
        found.update(path.parent.glob(path.name.replace("\0", "*")))
        found.update(path.parent.glob(path.name.replace(".\0", "").replace("\0", "")))
    removed = 0
    for f in sorted(found):
        if f.is_file() and not f.is_symlink():
            f.unlink(missing_ok=True)
            removed += 1
    return removed


def table_stats(root: Path) -> dict[str, dict[str, object]]:
    """Rows and dates per sample table (read-only; tables that are absent say so)."""
    conn = connect(root, DATASETS, create=False, readonly=True)
    out: dict[str, dict[str, object]] = {}
    try:
        for t in TABLES:
            out[t.name] = {"table": t.table, "exists": False}
            if not dataset_file(root, t.ref.dataset).exists():
                continue
            try:
                # A quoted identifier from the sample's own table list; no value is pasted.
                cols = "COUNT(*), COUNT(DISTINCT game_date), MIN(game_date), MAX(game_date)"
                sql = f"SELECT {cols} FROM {t.ref.sqlite_sql()}"  # noqa: S608
                n, days, first, last = conn.execute(sql).fetchone()
            except sqlite3.OperationalError:  # a missing table is information, not an error
                continue
            out[t.name].update(exists=True, rows=n, dates=days, first=first, last=last)
    finally:
        conn.close()
    return out
