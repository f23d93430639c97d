"""The dashboard on BigQuery (the real client, the emulator behind the fault proxy).

A blackholed endpoint must show as stale data with its age and the error within the configured
deadline, while keys keep working; the start-up dry run's cost appears as a toast.
"""

from __future__ import annotations

import pytest
from faultproxy import Rule
from test_bq_faults import TIMEOUT
from test_bq_faults import pipeline as pipeline  # noqa: F401 - the fixture, reused
from toasts import record_toasts
from waiting import wait_for_ui

from nba_tui.tui.app import NbaTuiApp

pytestmark = pytest.mark.bigquery


def header(app: NbaTuiApp) -> str:
    return str(app.query_one("#header").render())


async def test_blackholed_bigquery_shows_stale_and_the_ui_stays_responsive(
    pipeline,
    fault_proxy,  # noqa: F811
) -> None:
    app = NbaTuiApp(pipeline, supervisor=None)
    toasts = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_ui(pilot, lambda: app.snapshot is not None, "first good poll")
        assert "updated" in header(app) and "MB/poll" in header(app)
        await wait_for_ui(
            pilot,
            lambda: any("per poll" in t.message for t in toasts),
            "the cost toast",
        )
        fault_proxy.add(Rule("blackhole", method=None, path=".*"))
        await wait_for_ui(pilot, lambda: "STALE" in header(app), "STALE in the header")
        # the poll ended at its own deadline, its request still unanswered
        assert f"did not answer within {TIMEOUT:.0f}s" in header(app) and fault_proxy.held()
        assert app.snapshot is not None and "summary" in app.snapshot.tables  # last data kept
        # The event loop is free: the help screen opens and closes while BigQuery hangs.
        await pilot.press("question_mark")
        await wait_for_ui(pilot, lambda: len(app.screen_stack) > 1, "help screen")
        await pilot.press("escape")
        await wait_for_ui(pilot, lambda: len(app.screen_stack) == 1, "help closed")
        fault_proxy.clear()
        await wait_for_ui(pilot, lambda: "STALE" not in header(app), "recovery", timeout=30)
