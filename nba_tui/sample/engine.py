"""Per-date processing shared by the warehouse build and the backfill program.

`derive()` computes a date's rows; `write_date()` replaces the date's rows in one transaction.
The build and the backfill both go through `derive()`, so a backfill of a date that the build
already filled writes exactly the same rows (a test holds us to it).
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nba_tui.sample import phase3, phase4
from nba_tui.sample.context import Context
from nba_tui.sample.tables import BOOTSTRAP_DAYS, BY_NAME, TableDef

Deriver = Callable[[Context, str], list[tuple]]

DERIVERS: dict[str, Deriver] = {
    "player_game_summary": phase3.player_game_summary,
    "team_offense_game_summary": phase3.team_offense_game_summary,
    "team_defense_game_summary": phase3.team_defense_game_summary,
    "upcoming_player_game_context": phase3.upcoming_player_game_context,
    "upcoming_team_game_context": phase3.upcoming_team_game_context,
    "team_defense_zone_analysis": phase4.team_defense_zone_analysis,
    "player_shot_zone_analysis": phase4.player_shot_zone_analysis,
    "player_daily_cache": phase4.player_daily_cache,
    "player_composite_factors": phase4.player_composite_factors,
    "ml_feature_store": phase4.ml_feature_store,
    "predictions": phase4.predictions,
    "prediction_accuracy": phase4.prediction_accuracy,
}


class Outcome(enum.StrEnum):
    PROCESSED = "processed"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str


def precheck(ctx: Context, tdef: TableDef, day: str) -> Verdict | None:
    """Why the date cannot be processed (skip or fail), or None when its inputs are there."""
    if day not in ctx.season_of:
        return Verdict(Outcome.SKIPPED, "not a game date")
    if tdef.bootstrap and day in ctx.bootstrap:
        return Verdict(
            Outcome.SKIPPED, f"bootstrap window (first {BOOTSTRAP_DAYS} days of the season)"
        )
    for dep in tdef.depends_on:
        if ctx.has_rows(dep, day):
            continue
        if dep in tdef.skip_without:
            return Verdict(Outcome.SKIPPED, "no betting lines")
        return Verdict(Outcome.FAILED, f"no rows in {BY_NAME[dep].table} for this date")
    return None


def derive(ctx: Context, tdef: TableDef, day: str) -> list[tuple]:
    return DERIVERS[tdef.name](ctx, day)


def ensure_table(conn: sqlite3.Connection, tdef: TableDef, counters: bool = True) -> None:
    """The table, its indexes and (with `counters`) its change triggers, if missing."""
    for stmt in tdef.ddl(counters):
        conn.execute(stmt)


def write_date(conn: sqlite3.Connection, tdef: TableDef, day: str, rows: Sequence[tuple]) -> None:
    """Replace the date's rows atomically: a crash leaves the previous rows, never half a date.

    A deferred BEGIN whose first statement is the DELETE takes the write lock on the target
    dataset file only (waiting out the busy timeout), so backfills of other datasets never block.
    """
    src = tdef.ref.sqlite_sql()
    conn.execute("BEGIN")
    try:
        conn.execute(f"DELETE FROM {src} WHERE game_date = ?", (day,))  # noqa: S608
        if rows:
            conn.executemany(tdef.insert_sql(), rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
