"""Remote jobs (Cloud Run, Ray) in the dashboard: an engine mark in the grid, a paused remote job
as "stopped on <engine>, N dates left", its cost in the log title, a cancelled run never shown
as done, and `p` / `r` as stop-and-keep / relaunch with the confirmation saying so.

The jobs are fixed records (the `FakeSupervisor` pattern) carrying the remote fields the bridge
and the supervisor write; pause and resume are recorded and change the records as the real
supervisor would (pausing, then PAUSED with `remote_left`; resume runs again)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fakes import FakeMonitor, FakeSupervisor, clock, fixed_snapshot
from ui_helpers import record_toasts, screen_text, wait_for, why_not

from nba_tui import config
from nba_tui.config import CloudRunSettings, Pipeline
from nba_tui.jobs.facts import cost_text
from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress
from nba_tui.jobs.words import remote_state_text
from nba_tui.tui.app import NbaTuiApp
from nba_tui.tui.cells import job_cells, remote_word
from nba_tui.tui.control import JobControl, Selection
from nba_tui.tui.joblists import missing_of
from nba_tui.tui.screens.modals import ConfirmScreen
from nba_tui.tui.titles import log_title
from nba_tui.tui.widgets.grid import CoverageGrid

REPO = Path(__file__).resolve().parents[2]
RAY = "team_defense_game_summary"
"""Running on ray (short of its threshold in the fixed snapshot)."""
CLOUD = "upcoming_player_game_context"
"""Paused on cloudrun: stopped there, 3 dates left, 5,000 task-seconds used."""
CANCELLED_FAILED = "upcoming_team_game_context"
CANCELLED_DONE = "team_defense_zone_analysis"
LEFT = ["2022-03-01", "2022-03-02", "2022-03-04"]
PRICE = 0.000024


def pipeline_with_price() -> Pipeline:
    pipe = config.load(REPO / "pipeline.yaml")
    cloudrun = CloudRunSettings(
        project="nba-props-test", region="us-west2", job="backfill", price_per_task_second=PRICE
    )
    jobs = pipe.jobs.model_copy(update={"cloudrun": cloudrun})
    return pipe.model_copy(update={"jobs": jobs})


class RemoteSupervisor(FakeSupervisor):
    """The fake supervisor's four jobs, made remote; pause/resume recorded and applied."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(log_dir)
        self.calls: list[tuple[str, str]] = []
        edits = {
            RAY: {"engine": "ray", "remote_id": "raysubmit_1", "remote_state": "running"},
            CLOUD: {
                "engine": "cloudrun",
                "remote_id": "projects/p/locations/r/jobs/j/executions/e1",
                "remote_state": "cancelled",
                "pause_requested": True,
                "remote_left": list(LEFT),
                "task_seconds": 5000.0,
                "pid": None,
            },
            CANCELLED_FAILED: {"engine": "ray", "remote_state": "cancelled", "exit_code": 3},
            CANCELLED_DONE: {"engine": "cloudrun", "remote_state": "cancelled", "exit_code": 0},
        }
        for v in self.views:
            for name, value in edits[v.record.table].items():
                setattr(v.record, name, value)

    def jobs(self) -> list[JobView]:
        """Copies, as the real supervisor reads fresh records each time."""
        return [JobView(dataclasses.replace(v.record), v.progress) for v in self.views]

    def _find(self, job_id: str) -> JobView:
        return next(v for v in self.views if v.id == job_id)

    def pause(self, job_id: str) -> JobView:
        self.calls.append(("pause", job_id))
        v = self._find(job_id)
        v.record.pause_requested = True  # the bridge cancels the run, then records PAUSED
        return JobView(dataclasses.replace(v.record), v.progress)

    def resume(self, job_id: str) -> JobView:
        self.calls.append(("resume", job_id))
        v = self._find(job_id)
        v.record.state, v.record.pause_requested, v.record.remote_left = (
            JobState.RUNNING,
            False,
            None,
        )
        v.record.remote_state = "pending"
        return JobView(dataclasses.replace(v.record), v.progress)

    def finish_pause(self, job_id: str, left: list[str]) -> None:
        """What the bridge records once the engine says the run ended: PAUSED, dates kept."""
        rec = self._find(job_id).record
        rec.state, rec.remote_state, rec.remote_left, rec.pid = (
            JobState.PAUSED,
            "cancelled",
            left,
            None,
        )

    def state_version(self) -> object:
        return tuple(repr(v.record) for v in self.views)


def remote_app(tmp_path: Path) -> tuple[NbaTuiApp, RemoteSupervisor]:
    pipe = pipeline_with_price()
    sup = RemoteSupervisor(tmp_path / "logs")
    app = NbaTuiApp(pipe, monitor=FakeMonitor(fixed_snapshot(pipe)), supervisor=sup, clock=clock)
    return app, sup


def cell(app: NbaTuiApp, row: str, col: str = "job") -> str:
    value = app.query_one(CoverageGrid).cell_value(row, col)
    return value[0] if value else ""


async def on_table(pilot, app: NbaTuiApp, table: str) -> None:
    await wait_for(pilot, lambda: app.snapshot is not None and app.job_refreshes, "first data")
    app.query_one(CoverageGrid).select_key(table, reveal=True)
    await wait_for(pilot, lambda: app.selected_table() == table, f"cursor on {table}")


# -- the words (pure) ---------------------------------------------------------------------------


def rec(state: JobState, **kw: object) -> JobRecord:
    return JobRecord("abc123", RAY, ["prog"], "/l/x.log", 1.0, "me", state=state, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("record", "full", "short"),
    [
        (rec(JobState.RUNNING, engine="ray", remote_id="r1"), "running on ray", "run@ray"),
        (rec(JobState.RUNNING, engine="ray"), "submitting to ray", "run@ray"),
        (
            rec(JobState.RUNNING, engine="ray", remote_id="r1", pause_requested=True),
            "pausing (stopping on ray)",
            "run@ray",
        ),
        (
            rec(JobState.PAUSED, engine="cloudrun", pause_requested=True, remote_left=LEFT),
            "paused (stopped on cloudrun, 3 dates left)",
            "pau@cr",
        ),
        (
            rec(JobState.PAUSED, engine="cloudrun", pause_requested=True, remote_left=["x"]),
            "paused (stopped on cloudrun, 1 date left)",
            "pau@cr",
        ),
        (rec(JobState.DONE, engine="ray", remote_state="succeeded"), "done on ray", "ok@ray"),
        (rec(JobState.DONE, engine="ray", remote_state="cancelled"), "cancelled on ray", "cxl@ray"),
        (
            rec(JobState.FAILED, engine="cloudrun", remote_state="cancelled", exit_code=3),
            "cancelled on cloudrun",
            "cxl@cr",
        ),  # fmt: skip
        (
            rec(JobState.DONE, engine="cloudrun", remote_state="failed"),
            "failed on cloudrun",
            "err@cr",
        ),  # fmt: skip
        (rec(JobState.FAILED, engine="ray", exit_code=1), "failed on ray (exit 1)", "err@ray"),
    ],
)
def test_remote_state_words_and_grid_mark(record: JobRecord, full: str, short: str) -> None:
    assert remote_state_text(record) == full
    assert remote_word(record, None) == short
    assert len(short) <= 7  # the job column's room (8 with its gap) at 80 columns


def test_shard_mark_fits_and_local_cells_are_unchanged() -> None:
    running = rec(JobState.RUNNING, engine="cloudrun", remote_id="e")
    assert remote_word(running, (2, 4)) == "run2/4@"
    assert remote_word(dataclasses.replace(running, engine="ray"), (12, 16)) == "run12/16"
    local = JobView(rec(JobState.PAUSED, pid=42, started_at=0.0), Progress(current_date="d"))
    cells = job_cells(local, 60.0)
    assert cells["job"] == ("paused", "bold yellow") and cells["pid"][0] == "42"
    assert cells["current"][0] == "d"


def test_cost_is_task_seconds_times_the_price() -> None:
    pipe = pipeline_with_price()
    cloud = rec(JobState.DONE, engine="cloudrun", task_seconds=5000.0)
    assert cost_text(cloud, pipe) == "$0.12 (5,000 task-s)"
    assert cost_text(dataclasses.replace(cloud, task_seconds=10.0), pipe) == "<$0.01 (10 task-s)"
    assert cost_text(dataclasses.replace(cloud, engine="ray"), pipe) == "5,000 task-s"
    assert cost_text(dataclasses.replace(cloud, engine="local"), pipe) is None
    assert cost_text(dataclasses.replace(cloud, task_seconds=None), pipe) is None


def test_log_title_puts_the_remote_state_first_and_fits() -> None:
    pipe = pipeline_with_price()
    paused = rec(JobState.PAUSED, engine="cloudrun", remote_left=LEFT, task_seconds=5000.0)
    view = JobView(dataclasses.replace(paused, table=CLOUD), Progress())
    narrow = log_title(CLOUD, None, view, 80, None, pipe).plain
    assert narrow == f"log {CLOUD} · paused (stopped on cloudrun, 3 dates left)"
    wide = log_title(CLOUD, None, view, 160, None, pipe).plain
    assert wide == (
        f"log {CLOUD} · paused (stopped on cloudrun, 3 dates left) · $0.12 (5,000 task-s)"
        " · job abc123 · x.log"
    )
    local = JobView(rec(JobState.RUNNING), Progress())
    assert log_title(RAY, None, local, 160, None, pipe).plain == f"log {RAY} · job abc123 · x.log"


def test_pause_of_a_remote_job_counts_the_missing_dates_it_keeps(tmp_path: Path) -> None:
    pipe = pipeline_with_price()
    snap = fixed_snapshot(pipe)
    ctl = JobControl(pipe, RemoteSupervisor(tmp_path / "logs"))
    ctl.snapshot = snap
    missing = [d.isoformat() for d in snap.tables[RAY].missing]
    job = rec(JobState.RUNNING, engine="ray", remote_id="r1", dates=[*missing[:5], "2021-10-19"])
    ctl.jobs = {RAY: JobView(job, Progress())}
    call = ctl.call("pause", Selection.of(pipe, RAY))
    assert call is not None and call.confirm is not None
    assert "pause stops the job on ray and keeps its 5 missing dates;" in call.confirm.lines
    ranged = dataclasses.replace(job, dates=None, start=missing[0], end=missing[2])
    ctl.jobs = {RAY: JobView(ranged, Progress())}
    assert missing_of(ctl.snapshot, ctl.jobs[RAY]) == 3


# -- on screen ----------------------------------------------------------------------------------


async def test_grid_marks_remote_jobs_and_never_shows_a_cancelled_run_as_done(
    tmp_path: Path,
) -> None:
    app, _ = remote_app(tmp_path)
    async with app.run_test(size=(80, 60)) as pilot:  # 80 wide, tall enough for every row
        await on_table(pilot, app, RAY)
        await wait_for(pilot, lambda: cell(app, RAY) == "run@ray", "ray mark on the running job")
        assert cell(app, CLOUD) == "pau@cr"
        assert cell(app, CLOUD, "current") == "3 left"
        assert cell(app, CANCELLED_FAILED) == "cxl@ray"
        assert cell(app, CANCELLED_DONE) == "cxl@cr"  # recorded DONE: the engine said cancelled
        text = await wait_for(
            pilot, lambda: "run@ray" in (t := screen_text(app)) and t, "the grid on screen"
        )
        for mark in ("run@ray", "pau@cr", "3 left", "cxl@ray", "cxl@cr"):
            assert mark in text, mark
        assert "done" not in text and "ok@" not in text
        assert max(len(line) for line in text.splitlines()) <= 80


async def test_paused_remote_job_detail_says_stopped_and_what_it_cost(tmp_path: Path) -> None:
    app, _ = remote_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_table(pilot, app, CLOUD)
        want = (
            f"log {CLOUD} · paused (stopped on cloudrun, 3 dates left) · $0.12 (5,000 task-s)"
            " · job job-upcomi"
        )
        await wait_for(pilot, lambda: want in screen_text(app), "the detail line")
        assert app.check_action("resume", ()) and not app.check_action("pause", ())


async def test_p_stops_a_remote_job_keeping_its_dates_and_r_relaunches(tmp_path: Path) -> None:
    app, sup = remote_app(tmp_path)
    toasts = record_toasts(app)
    snap = fixed_snapshot(app.pipeline)
    n = len(snap.tables[RAY].missing)  # the running job has no range: the table's whole range
    async with app.run_test(size=(80, 24)) as pilot:
        await on_table(pilot, app, RAY)
        await wait_for(pilot, lambda: app.check_action("pause", ()), "p applies")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        text = screen_text(app)
        assert f"pause stops the job on ray and keeps its {n} missing dates" in text
        assert sup.calls == []  # nothing before the yes
        await pilot.press("y")
        await wait_for(pilot, lambda: sup.calls == [("pause", "job-team_d")], "pause call")
        await wait_for(
            pilot, lambda: "pausing (stopping on ray)" in toasts.text(), "toast: pausing on ray"
        )
        await wait_for(pilot, lambda: not app.check_action("pause", ()), "p no longer applies")
        assert why_not(app, "pause") == "its job is already pausing (stopping on ray)"

        sup.finish_pause("job-team_d", LEFT[:2])  # another client: the bridge recorded PAUSED
        await wait_for(pilot, lambda: cell(app, RAY) == "pau@ray", "pau@ray in the grid")
        assert cell(app, RAY, "current") == "2 left"
        await wait_for(pilot, lambda: app.check_action("resume", ()), "r applies")
        app.action_view_log()  # 80x24: the log pane (and its title) instead of the gap map
        await wait_for(
            pilot,
            lambda: f"log {RAY} · paused (stopped on ray, 2 dates left)" in screen_text(app),
            "the detail line follows the record without a new job id",
        )
        await pilot.press("r")
        await wait_for(pilot, lambda: ("resume", "job-team_d") in sup.calls, "resume call")
        await wait_for(pilot, lambda: "resume: " in toasts.text(), "resume toast")
        assert f"resume: {RAY} (job-team_d) pending on ray" in toasts.text()
        await wait_for(pilot, lambda: cell(app, RAY) == "run@ray", "running again on ray")
