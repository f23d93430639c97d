"""Deterministic stand-ins for the snapshot tests: a fixed coverage snapshot, fixed jobs, a clock.

The data is synthetic (not the sample warehouse) so the SVG snapshots change only when the
dashboard's rendering does, not when the sample generator is tuned.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot, snapshot
from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress
from nba_tui.monitor import PollResult
from nba_tui.warehouse.base import Counts

FIXED_T = 1_767_000_000.0
"""taken_at of the fixed snapshot; the fake clock reads 3 s later."""


def clock() -> float:
    return FIXED_T + 3


def expected_dates() -> list[dt.date]:
    out: list[dt.date] = []
    for year in (2021, 2022, 2023, 2024):
        d, end = dt.date(year, 10, 19), dt.date(year + 1, 6, 10)
        while d <= end:
            if d.toordinal() % 5:
                out.append(d)
            d += dt.timedelta(days=1)
    d = dt.date(2025, 10, 21)
    while d <= dt.date(2026, 1, 2):
        if d.toordinal() % 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def _rows(name: str, i: int, d: dt.date) -> int:
    base = 10 + (i * 7) % 6
    if name in (
        "nbac_schedule",
        "bdl_box_scores",
        "player_game_summary",
        "team_offense_game_summary",
    ):
        return base
    if name in ("bettingpros_player_props", "upcoming_player_game_context"):
        return base if d >= dt.date(2023, 1, 1) else 0
    if name == "upcoming_team_game_context":
        return base if d >= dt.date(2022, 11, 1) and i % 13 else 0
    if name == "team_defense_game_summary":
        if i % 11 == 3 or dt.date(2024, 2, 1) <= d <= dt.date(2024, 2, 20):
            return 0
        return 2 if i % 37 == 0 else base
    if name == "team_defense_zone_analysis":
        return base if i < 300 else 0
    return 0


def fixed_snapshot(pipeline: Pipeline) -> Snapshot:
    dates = expected_dates()
    rows = {
        t.name: {d: n for i, d in enumerate(dates) if (n := _rows(t.name, i, d))}
        for t in pipeline.tables()
    }
    snap = snapshot(pipeline, Counts(expected=dates, rows=rows, elapsed=0.004))
    snap.taken_at = FIXED_T
    return snap


class FakeMonitor:
    """Answers every poll with the same snapshot (or, once `fail` is set, with an error)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.fail: str | None = None
        self.polls = 0

    async def poll(self) -> PollResult:
        self.polls += 1
        if self.fail:
            return PollResult(self.snap, fresh=False, error=self.fail, next_in=3600)
        return PollResult(self.snap, fresh=True, next_in=3600)

    def close(self) -> None:
        pass


def _view(table: str, state: JobState, log: Path, **kw: object) -> JobView:
    progress = kw.pop("progress", Progress())
    rec = JobRecord(
        id=f"job-{table[:6]}",
        table=table,
        argv=["python", "-m", "nba_tui.sample.backfill", table],
        log=str(log),
        created_at=FIXED_T - 900,
        user="test",
        state=state,
        **kw,  # type: ignore[arg-type]
    )
    return JobView(rec, progress)  # type: ignore[arg-type]


class FakeSupervisor:
    """Fixed jobs: one running, one paused, one failed, one done. Every action is refused."""

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = log_dir / "team_defense_game_summary_20260101_000000.log"
        self.log.write_text(
            "".join(
                f"Processing 2024-02-{d:02d} ({d}/78)\nSuccess 2024-02-{d:02d}: 14 rows\n"
                for d in range(1, 13)
            )
        )
        other = log_dir / "other.log"
        other.write_text("")
        self.views = [
            _view(
                "team_defense_game_summary",
                JobState.RUNNING,
                self.log,
                pid=424242,
                started_at=FIXED_T - 754,
                progress=Progress(
                    current_date="2024-02-12", done=12, total=78, dates_per_min=12.5, eta_s=317
                ),
            ),
            _view(
                "upcoming_player_game_context",
                JobState.PAUSED,
                other,
                pid=424250,
                started_at=FIXED_T - 3900,
                progress=Progress(
                    current_date="2022-03-01", done=100, total=435, dates_per_min=8.0
                ),
            ),
            _view(
                "upcoming_team_game_context",
                JobState.FAILED,
                other,
                pid=424260,
                exit_code=1,
                started_at=FIXED_T - 7200,
                ended_at=FIXED_T - 7000,
                progress=Progress(current_date="2022-11-04"),
            ),
            _view(
                "team_defense_zone_analysis",
                JobState.DONE,
                other,
                pid=424270,
                exit_code=0,
                started_at=FIXED_T - 86400,
                ended_at=FIXED_T - 80000,
            ),
        ]

    def jobs(self) -> list[JobView]:
        return list(self.views)

    def history(self, limit: int = 200) -> list[dict]:
        return []

    def state_version(self) -> object:
        """Changes with the jobs listed (tests edit `views` to play another client)."""
        return tuple((v.record.id, v.record.state) for v in self.views)

    def adopt_plans(self) -> list:
        """No plan lost its runner (the dashboard asks once at start)."""
        return []

    def adopt_remote(self) -> list:
        """No remote job lost its bridge (the dashboard asks once at start)."""
        return []

    def __getattr__(self, name: str):  # launch, pause, ...: refused like a real JobError
        def refuse(*args: object, **kwargs: object) -> None:
            raise RuntimeError(f"{name}: refused by the test supervisor")

        return refuse


def fake_app(tmp_path: Path, read_only: bool = False, **kw: object):  # -> NbaTuiApp
    """The dashboard over the sample pipeline's config with fixed coverage, fixed jobs, fixed
    clock (snapshot and memory tests)."""
    from nba_tui import config
    from nba_tui.tui.app import NbaTuiApp

    pipe = config.load(Path(__file__).resolve().parents[2] / "pipeline.yaml")
    return NbaTuiApp(
        pipe,
        read_only=read_only,
        monitor=FakeMonitor(fixed_snapshot(pipe)),
        supervisor=FakeSupervisor(tmp_path / "logs"),
        clock=clock,
        **kw,  # type: ignore[arg-type]
    )


PLAN_ID = "p1a2b3c"
PLAN_TABLE = "team_defense_game_summary"


class PlanSupervisor(FakeSupervisor):
    """`FakeSupervisor` whose running job is shard 2 of 3 of a running plan, with the plan
    calls recorded (not refused) and a real events file in `state_dir` (`events.append`)."""

    def __init__(self, log_dir: Path, state_dir: Path) -> None:
        from types import SimpleNamespace

        from nba_tui.jobs.model import Plan

        super().__init__(log_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        self.store = SimpleNamespace(root=state_dir)
        self.calls: list[tuple[str, str]] = []
        self.the_plan = Plan(PLAN_ID, "run", ["phase3", "phase4"], "test", FIXED_T - 3000)
        self.the_plan.quarantined = {PLAN_TABLE: ["2024-02-05"]}
        self.the_plan.skipped_dates = {"team_defense_zone_analysis": ["2024-02-05"]}
        self.the_plan.coverage_before = {PLAN_TABLE: 700, "team_defense_zone_analysis": 280}
        running = self.views[0]
        running.record.plan, running.record.shard = PLAN_ID, "2024-02-01_2024-02-20"
        running.record.id = "job-shard2"  # `_view`'s id would be shared with another table
        for jid, state, shard, created in (
            ("job-shard1", JobState.DONE, "2021-10-19_2022-06-10", FIXED_T - 2000),
            ("job-shard3", JobState.QUEUED, "2024-03-01_2024-06-10", FIXED_T - 1000),
        ):
            view = _view(PLAN_TABLE, state, self.log, plan=PLAN_ID, shard=shard)
            view.record.id, view.record.created_at = jid, created
            self.views.append(view)

    def plan(self, plan_id: str):  # -> Plan
        if plan_id != PLAN_ID:
            raise RuntimeError(f"no plan {plan_id!r}")
        return self.the_plan

    def plans(self) -> list:
        return [self.the_plan]

    def tail(self, job_id: str, max_bytes: int = 64_000) -> list[str]:
        return [f"Processing 2022-11-0{d} ({d}/9)" for d in range(1, 5)] + ["Error: boom"]

    def _act(self, name: str, plan_id: str):  # -> Plan
        self.calls.append((name, plan_id))
        return self.the_plan

    def pause_plan(self, plan_id: str):  # -> Plan
        self.the_plan.paused = True
        return self._act("pause_plan", plan_id)

    def resume_plan(self, plan_id: str):  # -> Plan
        self.the_plan.paused = False
        return self._act("resume_plan", plan_id)

    def stop_plan(self, plan_id: str):  # -> Plan
        return self._act("stop_plan", plan_id)

    def cancel_plan(self, plan_id: str):  # -> Plan
        return self._act("cancel_plan", plan_id)

    def damaged_plans(self) -> list:
        return []

    def events(self, since: float | None = None, limit: int = 1000) -> list:
        from nba_tui.jobs.events import read_events

        return read_events(self.store, since, limit)

    def state_version(self) -> object:
        return (super().state_version(), self.the_plan.paused, len(self.calls))


def degraded_snapshot(pipeline: Pipeline, table: str = "player_composite_factors") -> Snapshot:
    """The fixed snapshot, plus rows for `table` on its first 600 dates of which every 7th
    carries flagged (synthetic-fallback) rows: a table with degraded dates."""
    dates = expected_dates()
    rows = {
        t.name: {d: n for i, d in enumerate(dates) if (n := _rows(t.name, i, d))}
        for t in pipeline.tables()
    }
    rows[table] = {d: 12 for d in dates[:600]}
    flagged = {d: 3 for i, d in enumerate(dates[:600]) if i % 7 == 0}
    snap = snapshot(
        pipeline, Counts(expected=dates, rows=rows, elapsed=0.004, degraded={table: flagged})
    )
    snap.taken_at = FIXED_T
    return snap


def plan_fake_app(tmp_path: Path):  # -> NbaTuiApp
    """`fake_app` with a plan's shards (`PlanSupervisor`) and degraded dates
    (`degraded_snapshot`): the autopilot's snapshot."""
    from nba_tui import config
    from nba_tui.tui.app import NbaTuiApp

    pipe = config.load(Path(__file__).resolve().parents[2] / "pipeline.yaml")
    return NbaTuiApp(
        pipe,
        monitor=FakeMonitor(degraded_snapshot(pipe)),
        supervisor=PlanSupervisor(tmp_path / "logs", tmp_path / "state"),
        clock=clock,
    )
