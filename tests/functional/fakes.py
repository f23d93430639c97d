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
