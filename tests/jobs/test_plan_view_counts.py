"""The plan view's numbers (`plan_text.render_plan_view`) against a known plan state: each column
counts what its heading says, from the plan, its jobs and the last poll."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nba_tui import config
from nba_tui.coverage import Snapshot, snapshot
from nba_tui.jobs.model import JobRecord, JobState, JobView, Plan, Progress
from nba_tui.jobs.plan_text import render_plan_view
from nba_tui.warehouse.base import Counts

REPO = Path(__file__).resolve().parents[2]
NOW = 1_767_000_000.0
DATES = [dt.date(2025, 10, 21) + dt.timedelta(days=i) for i in range(60)]
FULL = ("nbac_schedule", "bdl_box_scores", "bettingpros_player_props", "player_game_summary")
FULL += ("team_offense_game_summary", "upcoming_player_game_context", "upcoming_team_game_context")
TDGS, PSZA, PCF, MLFS = (
    "team_defense_game_summary",
    "player_shot_zone_analysis",
    "player_composite_factors",
    "ml_feature_store",
)


def _snap() -> Snapshot:
    """Phase 2 and the other phase 3 tables complete; team_defense_game_summary lacks its last
    10 dates; ml_feature_store has rows on 5 dates, 3 of them flagged on fallbacks; the other
    phase 4/5 tables are empty."""
    pipe = config.load(REPO / "pipeline.yaml")
    rows = {t: dict.fromkeys(DATES, 10) for t in FULL}
    rows[TDGS] = dict.fromkeys(DATES[:-10], 10)
    rows[MLFS] = dict.fromkeys(DATES[-5:], 10)
    flagged = {MLFS: dict.fromkeys(DATES[-3:], 10)}
    return snapshot(pipe, Counts(expected=DATES, rows=rows, degraded=flagged))


def _job(jid: str, table: str, plan: str, days: list[dt.date]) -> JobView:
    rec = JobRecord(jid, table, ["prog"], "log", NOW - 60, "test", state=JobState.RUNNING)
    rec.plan, rec.dates = plan, [d.isoformat() for d in days]
    return JobView(rec, Progress())


def _rows(text: str) -> dict[str, list[str]]:
    return {
        (words := line.split())[0]: words[1:]
        for line in text.splitlines()
        if line.split() and line.split()[0] in (TDGS, PSZA, PCF, MLFS)
    }


def test_each_column_counts_what_it_says() -> None:
    pipe = config.load(REPO / "pipeline.yaml")
    snap = _snap()
    gap = DATES[-10:]
    plan = Plan("p0000aa", "run", ["phase3", "phase4"], "test", NOW - 600)
    # a forecast older than the poll: it still counts dates written since as left to run
    plan.planned = {TDGS: 12, PSZA: 60, PCF: 60, MLFS: 60}
    plan.left = dict(plan.planned)
    plan.quarantined = {TDGS: [gap[0].isoformat()]}
    plan.retry_at = {TDGS: {gap[1].isoformat(): NOW + 300}}
    plan.necessity = {PCF: [DATES[20].isoformat(), DATES[21].isoformat()]}
    views = [
        _job("aaaaaa", TDGS, plan.id, gap[2:6]),
        _job("bbbbbb", "player_daily_cache", "p0000bb", DATES[20:30]),  # another plan's
    ]
    text = render_plan_view(pipe, plan, views, snap, NOW)
    rows = _rows(text)
    # run, inputs, slot, retry, quar, degr: its input is complete, so no date waits for one;
    # of its 10 missing dates 4 run, 1 is quarantined, 1 waits for its retry, 4 for a slot
    assert rows[TDGS][1:] == ["1", "0", "4", "1", "1", "0"]
    missing = {t: len(snap.tables[t].missing) for t in (PSZA, PCF)}
    assert missing[PSZA] and missing[PCF]
    # player_game_summary is complete: every missing date is ready
    assert rows[PSZA][1:] == ["0", "0", str(missing[PSZA]), "0", "0", "0"]
    # its hard inputs (phase 4 tables) have no rows: every missing date waits for them;
    # 2 dates the plan ran on fallbacks by necessity
    assert rows[PCF][1:] == ["0", str(missing[PCF]), "0", "0", "0", "2"]
    # 3 dates whose rows the poll finds flagged, as `status` counts them
    assert rows[MLFS][-1] == "3"
    assert "1 active job outside this plan" in text
