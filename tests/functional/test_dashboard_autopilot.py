"""The dashboard's side of the autopilot: plan keys, event alerts (toast + bell), the
morning report screen and degraded dates in the grid and the gap map."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from fakes import (
    PLAN_ID,
    PLAN_TABLE,
    FakeMonitor,
    PlanSupervisor,
    clock,
    degraded_snapshot,
    fixed_snapshot,
)
from ui_helpers import key_bindings, screen_text, wait_for, why_not

from nba_tui import config, readiness
from nba_tui.jobs import events
from nba_tui.jobs.model import PlanState
from nba_tui.tui import keys
from nba_tui.tui.app import NbaTuiApp
from nba_tui.tui.cells import job_word
from nba_tui.tui.joblists import shard_positions
from nba_tui.tui.messages import EventsRead
from nba_tui.tui.screens.modals import ConfirmScreen, MorningScreen
from nba_tui.tui.widgets.gapmap import GapMap
from nba_tui.tui.widgets.grid import CoverageGrid

REPO = Path(__file__).resolve().parents[2]
DEGRADED_TABLE = "player_composite_factors"


class BellCounter(NbaTuiApp):
    """The dashboard, counting its terminal bells (the bell itself is terminal output), keeping
    its toasts (run_test does not draw them), and counting its reads of the events file: the
    proof that a step had its chance to act before a test asserts it did not."""

    CSS_PATH = str(REPO / "nba_tui" / "tui" / "app.tcss")  # relative paths follow the module
    bells = 0
    events_reads = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.toasted: list[str] = []

    def bell(self) -> None:
        self.bells += 1

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:
        self.toasted.append(f"{title}: {message}")
        super().notify(message, title=title, **kwargs)

    def on_events_read(self, msg: EventsRead) -> None:
        """Runs just before the dashboard's own handler of the same message (Textual calls
        each class's handler along the MRO, without a turn of the event loop between them)."""
        self.events_reads += 1


def plan_app(
    tmp_path: Path, snap_fn=fixed_snapshot, stale_after: float | None = None
) -> tuple[BellCounter, PlanSupervisor]:
    pipe = config.load(REPO / "pipeline.yaml")
    if stale_after is not None:
        alerts = pipe.alerts.model_copy(update={"stale_after": stale_after})
        pipe = pipe.model_copy(update={"alerts": alerts})
    sup = PlanSupervisor(tmp_path / "logs", tmp_path / "state")
    app = BellCounter(pipe, monitor=FakeMonitor(snap_fn(pipe)), supervisor=sup, clock=clock)
    return app, sup


def cell(app: NbaTuiApp, col: str, row: str = PLAN_TABLE) -> str:
    value = app.query_one(CoverageGrid).cell_value(row, col)
    return value[0] if value else ""


def toasts(app: BellCounter) -> str:
    """Every toast so far (title and text; run_test does not draw toasts on screen)."""
    return "\n".join(app.toasted)


async def on_table(pilot, app: NbaTuiApp, table: str = PLAN_TABLE) -> None:
    await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "first data")
    app.query_one(CoverageGrid).select_key(table, reveal=True)
    await wait_for(pilot, lambda: app.selected_table() == table, f"cursor on {table}")


# -- plan keys ---------------------------------------------------------------------------------


def test_shard_positions_and_job_word(tmp_path: Path) -> None:
    sup = PlanSupervisor(tmp_path / "logs", tmp_path / "state")
    pos = shard_positions(sup.jobs())
    assert pos == {"job-shard2": (2, 3), "job-shard1": (1, 3), "job-shard3": (3, 3)}
    assert job_word("running", (2, 3)) == "run 2/3"
    # while its plan runs a shard's total is not known (more shards start as slots free)
    live = shard_positions(sup.jobs(), {PLAN_ID: sup.the_plan})
    assert live["job-shard2"] == (2, 0) and job_word("running", live["job-shard2"]) == "run #2"
    sup.the_plan.state = PlanState.DONE
    assert shard_positions(sup.jobs(), {PLAN_ID: sup.the_plan})["job-shard2"] == (2, 3)
    assert job_word("failed", (12, 16)) == "fail 12/16"
    assert job_word("running", None) == "running"


async def test_row_shows_plan_shard_and_plan_keys_pause_resume(tmp_path: Path) -> None:
    app, sup = plan_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_table(pilot, app)
        await wait_for(pilot, lambda: cell(app, "job") == "run #2", "shard #2 in the job cell")
        app.action_view_log()  # the log pane's title names the plan and the shard
        await wait_for(
            pilot,
            lambda: f"job job-shard2 · plan {PLAN_ID} shard #2" in screen_text(app),
            "the log title with plan and shard",
        )
        app.action_view_gaps()
        assert app.check_action("pause_plan", ())
        assert not app.check_action("resume_plan", ())
        await wait_for(pilot, lambda: "P pause plan" in screen_text(app), "P in the footer")
        await pilot.press("P")
        await wait_for(pilot, lambda: ("pause_plan", PLAN_ID) in sup.calls, "pause_plan call")
        await wait_for(pilot, lambda: app.check_action("resume_plan", ()), "U applies")
        assert not app.check_action("pause_plan", ())
        assert why_not(app, "pause_plan") == f"plan {PLAN_ID} is paused"
        await pilot.press("U")
        await wait_for(pilot, lambda: ("resume_plan", PLAN_ID) in sup.calls, "resume_plan call")


async def test_stop_plan_confirms_with_the_number_of_jobs(tmp_path: Path) -> None:
    app, sup = plan_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_table(pilot, app)
        await wait_for(pilot, lambda: app.check_action("stop_plan", ()), "S applies")
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        text = screen_text(app)
        assert "It stops 2 active jobs" in text  # the running shard and the queued one
        assert "Stop the plan and its 2 jobs?" in text
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "declined")
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: sup.calls, "the confirmed call")
        assert sup.calls == [("cancel_plan", PLAN_ID)]  # the declined stop called nothing


async def test_plan_keys_outside_a_plan_say_why_in_the_palette(tmp_path: Path) -> None:
    app, sup = plan_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_table(pilot, app, "upcoming_player_game_context")  # a paused job, no plan
        assert not app.check_action("pause_plan", ())
        assert why_not(app, "stop_plan") == "this table's job is not part of a plan"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "stop plan (S) — this table's job is not part of a plan" in titles
        assert "cancel plan (X) — this table's job is not part of a plan" in titles
        assert any(t.startswith("report (M)") and "—" not in t for t in titles)
        help_keys = [k for k, _ in keys.help_lines(key_bindings(app))]
        assert {"P", "U", "S", "X", "M"} <= set(help_keys)


# -- alerts ------------------------------------------------------------------------------------


async def test_each_new_event_is_toasted_once_with_the_bell(tmp_path: Path) -> None:
    app, sup = plan_app(tmp_path)
    state = tmp_path / "state"
    old = events.Event("job_failed", clock() - 60, PLAN_ID, PLAN_TABLE, ["2024-02-03"], "old")
    events.append(state, old)  # before the dashboard opened: not alerted
    async with app.run_test(size=(80, 24)) as pilot:
        await on_table(pilot, app)
        await wait_for(pilot, lambda: app.events_reads, "the events file read")
        assert app.bells == 0 and app.alerts.shown == 0
        failed = events.new_event(
            "job_failed", plan=PLAN_ID, table=PLAN_TABLE, dates=["2024-02-05"], detail="rc=1"
        )
        events.append(state, failed)
        await wait_for(pilot, lambda: app.bells == 1, "one bell for job_failed")
        assert f"job failed: {PLAN_TABLE} · 2024-02-05 · rc=1 · plan {PLAN_ID}" in toasts(app)
        assert "old" not in toasts(app)
        events.append(state, events.new_event("job_started", plan=PLAN_ID, table=PLAN_TABLE))
        events.append(state, events.new_event("plan_done", plan=PLAN_ID))
        await wait_for(pilot, lambda: app.bells == 2, "one bell for plan_done")
        reads = app.events_reads  # one more read of all of them: nothing is toasted twice
        events.append(state, events.new_event("job_started", plan=PLAN_ID, table=PLAN_TABLE))
        await wait_for(pilot, lambda: app.events_reads > reads, "the events file read again")
        assert app.bells == 2 and app.alerts.shown == 2  # job_started never


async def test_stale_warehouse_alerts_once_per_episode(tmp_path: Path) -> None:
    app, sup = plan_app(tmp_path, stale_after=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_table(pilot, app)
        app.monitor.fail = "database is locked"
        app.action_refresh()
        await wait_for(pilot, lambda: app.bells == 1, "a stale alert after stale_after")
        assert "warehouse stale: no fresh coverage for <1m: database is locked" in toasts(app)
        for _ in range(2):  # two more failed polls in the same episode
            done = app.polls_done
            app.action_refresh()
            await wait_for(pilot, lambda: app.polls_done > done, "one more failed poll")  # noqa: B023
        assert app.bells == 1  # once per episode
        app.monitor.fail = None
        app.action_refresh()
        await wait_for(pilot, lambda: app.alerts.stale_since is None, "fresh again")
        app.monitor.fail = "database is locked"
        app.action_refresh()
        await wait_for(pilot, lambda: app.bells == 2, "a new episode alerts again")


# -- the morning report ------------------------------------------------------------------------


async def test_morning_report_opens_and_scrolls_to_its_last_line(tmp_path: Path) -> None:
    app, _sup = plan_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "data")
        assert app.check_action("morning", ())
        await pilot.press("M")
        await wait_for(pilot, lambda: isinstance(app.screen, MorningScreen), "report screen")
        screen = app.screen
        assert isinstance(screen, MorningScreen)
        await wait_for(pilot, lambda: "Morning report" in screen_text(app), "the report's top")
        text = screen_text(app)
        assert f"{PLAN_TABLE}: 2024-02-05" not in text  # quarantined: further down
        assert screen.body.max_scroll_y > 0  # longer than 24 rows: it must scroll
        assert "Next: " not in text
        await pilot.press("end")
        await wait_for(pilot, lambda: "Next: " in screen_text(app), "the last lines")
        assert "! Error: boom" in screen_text(app) or "Events:" in screen_text(app)
        assert screen.body.scroll_y == screen.body.max_scroll_y
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, MorningScreen), "closed")


async def test_morning_report_rows_fit_at_80x24(tmp_path: Path) -> None:
    """The report is rendered for the box's width: each job row is one screen row, its
    state and its time on it (the 80-column text wrapped every row in the 76-column box)."""
    app, sup = plan_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "data")
        await pilot.press("M")
        await wait_for(pilot, lambda: isinstance(app.screen, MorningScreen), "report screen")
        await wait_for(pilot, lambda: "Jobs and shards" in screen_text(app), "the job rows")
        seen: list[str] = []
        for _ in range(4):
            seen += screen_text(app).splitlines()
            await pilot.press("pagedown")
            await pilot.pause()
    row = re.compile(r"│(\S+) .* (done|failed|paused|queued|running) +(-|\S+)│$")
    ids = {m.group(1) for line in seen if (m := row.match(line))}
    assert ids >= {v.id for v in sup.jobs()}, seen


async def test_morning_report_without_a_supervisor_says_why(tmp_path: Path) -> None:
    pipe = config.load(REPO / "pipeline.yaml")
    app = NbaTuiApp(pipe, monitor=FakeMonitor(fixed_snapshot(pipe)), supervisor=None, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, "first poll")
        assert not app.check_action("morning", ())
        assert why_not(app, "morning") == "jobs unavailable"


# -- degraded dates ----------------------------------------------------------------------------


async def test_degraded_marker_in_grid_and_gap_map(tmp_path: Path) -> None:
    app, _sup = plan_app(tmp_path, degraded_snapshot)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_table(pilot, app, DEGRADED_TABLE)
        cov = app.snapshot.tables[DEGRADED_TABLE]
        assert cov.degraded
        assert cell(app, "pct", DEGRADED_TABLE).endswith("▓")
        assert not cell(app, "pct", "nbac_schedule").endswith("▓")
        text = await wait_for(
            pilot, lambda: "▓ degraded" in screen_text(app) and screen_text(app), "legend"
        )
        # the fake's betting lines lack some flagged dates: those are degraded by necessity (▚)
        need, chose = readiness.degraded_split(app.pipeline, app.snapshot, DEGRADED_TABLE)
        assert need and chose
        # (the title's end is cut at 80 columns)
        assert f"{len(cov.degraded)} degraded (14.3%; {len(need)} by necess" in text
        assert "▓ degraded" in text and "▚ necessity" in text
        strips = [line for line in text.splitlines() if line.startswith(("21-22", "22-23"))]
        assert strips and all("▚" in line for line in strips)
        assert any("▓" in line for line in text.splitlines() if line.startswith("23-24"))
        assert app.query_one(GapMap).has_focus is False


def test_event_text_is_short_and_printable() -> None:
    from nba_tui.tui.alerting import event_text

    ev = events.Event("date_quarantined", time.time(), "p1", "t\x1b[31m", ["a", "b", "c", "d"])
    assert event_text(ev) == "t?[31m · a, b, c (+1 more) · plan p1"


async def test_dashboard_readopts_a_plan_whose_runner_died(tmp_path: Path) -> None:
    """At start the dashboard asks the supervisor to adopt plans whose runner is gone (once)."""
    app, sup = plan_app(tmp_path)
    adopted: list[str] = []

    def adopt_plans() -> list:
        adopted.append(PLAN_ID)
        return [sup.the_plan]

    sup.adopt_plans = adopt_plans  # the fake gains the real API's method
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: adopted == [PLAN_ID], "adopt_plans called once")
        await wait_for(
            pilot, lambda: f"plan {PLAN_ID}: its runner had died" in toasts(app), "the toast"
        )
    assert adopted == [PLAN_ID]


async def test_dashboard_follows_remote_jobs_again_at_start_and_survives_an_engine_error(
    tmp_path: Path,
) -> None:
    """At start the dashboard asks the supervisor to follow remote runs whose bridge died; each
    line is a toast. An engine that cannot answer is a warning toast, and the plan adoption
    before it still happened."""
    app, sup = plan_app(tmp_path)
    line = "following ray run nba-tui-abc123-1 of job abc123 again"
    sup.adopt_remote = lambda: [line]  # the fake gains the real API's method
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: line in toasts(app), "the remote toast")
    app, sup = plan_app(tmp_path)
    adopted: list[str] = []
    sup.adopt_plans = lambda: adopted.append(PLAN_ID) or []

    def down() -> list:
        raise RuntimeError("cannot reach the Ray cluster at http://x:1: refused")

    sup.adopt_remote = down
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot,
            lambda: "cannot follow remote jobs again: cannot reach the Ray" in toasts(app),
            "the warning",
        )
    assert adopted == [PLAN_ID]
