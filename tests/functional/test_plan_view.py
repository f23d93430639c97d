"""The plan view (n) and the forecast end in the header, at 80x24 (Textual run_test/Pilot)."""

from __future__ import annotations

import datetime as dt
import time

from fakes import FIXED_T, PLAN_ID, PLAN_TABLE
from test_dashboard_autopilot import plan_app
from ui_helpers import screen_text, wait_for

from nba_tui.jobs.facts import record_dates
from nba_tui.jobs.forecast import Forecast
from nba_tui.tui.screens.modals import PlanScreen


def _forecast(sup) -> float:  # noqa: ANN001 - the fakes' PlanSupervisor
    end = FIXED_T + 5400
    p = sup.the_plan
    p.planned = {PLAN_TABLE: 120, "team_defense_zone_analysis": 80}
    p.left = {PLAN_TABLE: 45, "team_defense_zone_analysis": 80}
    p.forecast_end, p.forecast_first, p.forecast_at = end, end, FIXED_T
    p.forecast_note = Forecast(FIXED_T, 5400.0, {}, ["a", "b"]).note()
    return end


async def test_plan_view_opens_with_per_table_rows_and_the_forecast(tmp_path) -> None:  # noqa: ANN001
    app, sup = plan_app(tmp_path)
    end = _forecast(sup)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "data")
        ends = time.strftime("%H:%M", time.localtime(end))
        await wait_for(pilot, lambda: f"ends {ends}" in screen_text(app), "the header's end")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan view")
        await wait_for(pilot, lambda: f"plan {PLAN_ID}" in screen_text(app), "its title line")
        text = screen_text(app)
        assert "75/200 dates (37%)" in text and f"ends {ends} (in 1h29m)" in text
        row = next(line for line in text.splitlines() if PLAN_TABLE in line)
        # 75 of its 120 dates done, its 2 shards (running, queued); its missing dates in the
        # poll that neither shard covers wait for a slot (the fake snapshot has them all
        # ready) but its 1 quarantined date
        busy = {d for v in sup.views if v.state.active for d in record_dates(v.record)}
        quarantined = {dt.date.fromisoformat(d) for d in sup.the_plan.quarantined[PLAN_TABLE]}
        slot = len(set(app.snapshot.tables[PLAN_TABLE].missing) - busy - quarantined)
        assert slot
        assert row.strip("│ ").split() == [PLAN_TABLE, "75/120", "2", "0", str(slot), "0", "1", "0"]
        assert "no history for 2 tables" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PlanScreen), "closed")


async def test_an_open_plan_view_follows_the_job_refreshes(tmp_path) -> None:  # noqa: ANN001
    """The plan view is rendered again after each job refresh: its counts move while it is open
    (and its "in Xm" with the clock)."""
    app, sup = plan_app(tmp_path)
    _forecast(sup)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "data")
        await pilot.press("n")
        await wait_for(pilot, lambda: "75/200 dates (37%)" in screen_text(app), "the plan view")
        sup.the_plan.left = {PLAN_TABLE: 5, "team_defense_zone_analysis": 80}
        await wait_for(pilot, lambda: "115/200 dates (57%)" in screen_text(app), "the new count")
        assert isinstance(app.screen, PlanScreen)
        row = next(line for line in screen_text(app).splitlines() if PLAN_TABLE in line)
        assert "115/120" in row


async def test_the_no_history_line_fits_80_columns(tmp_path) -> None:  # noqa: ANN001
    """The forecast's note for the longest table name is one whole line of the view at 80x24."""
    app, sup = plan_app(tmp_path)
    _forecast(sup)
    longest = max((t.name for t in app.pipeline.tables()), key=len)
    note = Forecast(FIXED_T, 5400.0, {}, [longest]).note()
    sup.the_plan.forecast_note = note
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "data")
        await pilot.press("n")
        await wait_for(pilot, lambda: f"plan {PLAN_ID}" in screen_text(app), "the plan view")
        assert any(f"({note})" in line for line in screen_text(app).splitlines())


async def test_n_shows_the_running_plan_over_the_selected_jobs_ended_one(tmp_path) -> None:  # noqa: ANN001
    """With the cursor on a table whose latest job belongs to an ended plan, `n` shows the plan
    that runs (its shards counted under run), not the ended one."""
    from fakes import _view

    from nba_tui.jobs.model import JobState, Plan, PlanState
    from nba_tui.tui.widgets.grid import CoverageGrid

    app, sup = plan_app(tmp_path)
    _forecast(sup)
    old = Plan("p0ld000", "run", ["phase4"], "test", FIXED_T - 90_000)
    old.state, old.planned, old.left = PlanState.STOPPED, {"ml_feature_store": 10}, {}
    table = "ml_feature_store"
    ended = _view(table, JobState.DONE, sup.log, plan=old.id, shard="2024-01-01_2024-01-10")
    sup.views.append(ended)
    sup.plans = lambda: [old, sup.the_plan]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "data")
        app.query_one(CoverageGrid).select_key(table)
        await wait_for(pilot, lambda: app.selected == table, "the table selected")
        assert app.control.job_of(app.selection).record.plan == old.id
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen), "the plan view")
        await wait_for(pilot, lambda: f"plan {PLAN_ID}" in screen_text(app), "its title line")
        row = next(line for line in screen_text(app).splitlines() if PLAN_TABLE in line)
        assert row.strip("│ ").split()[2] == "2"  # its running and queued shards
        assert old.id not in screen_text(app)
