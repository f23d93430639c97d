"""`m` on a table whose missing dates nothing can fill says why, and `l`'s question says what
`m` would launch by the same count (Textual run_test/Pilot)."""

from __future__ import annotations

from test_dashboard_autopilot import plan_app, toasts
from ui_helpers import screen_text, wait_for

from nba_tui import readiness
from nba_tui.tui.screens.modals import ConfirmScreen
from nba_tui.tui.widgets.grid import CoverageGrid

UPCOMING = "upcoming_player_game_context"


async def test_m_says_why_when_nothing_can_be_filled(tmp_path) -> None:  # noqa: ANN001
    app, sup = plan_app(tmp_path)
    sup.views = [v for v in sup.views if v.record.table != UPCOMING]  # no job on the table
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "data")
        o = readiness.outlook(app.pipeline, app.snapshot, UPCOMING)
        assert o.never and not o.fill  # the fake has no betting lines before 2023
        app.query_one(CoverageGrid).select_key(UPCOMING)
        await wait_for(pilot, lambda: app.selected == UPCOMING, "the table selected")
        await pilot.press("m")
        why = f"none of its {len(o.never)} missing dates can be filled"
        await wait_for(pilot, lambda: why in toasts(app), "the reason as a toast")
        assert "no rows in bettingpros_player_props there" in toasts(app)
        assert not any(c[0].startswith("launch") for c in getattr(sup, "calls", []))
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "l's question")
        text = " ".join(screen_text(app).split())
        assert f"m launches nothing: {why}" in text
        assert "m launches only" not in text
