"""The real sample backfill under the supervisor: progress, pause, stop, checkpoint resume."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from jobs_helpers import wait_for

from nba_tui import config
from nba_tui.jobs.model import JobState
from nba_tui.jobs.procs import proc_stat
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.sample import backfill as sample

ROOT = Path(__file__).resolve().parents[2]


def test_real_sample_backfill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nba_tui.sample import ensure_warehouse

    shutil.copy(ROOT / "pipeline.yaml", tmp_path / "pipeline.yaml")
    pipe = config.load(tmp_path / "pipeline.yaml")
    ensure_warehouse(pipe)
    monkeypatch.setenv(sample.PACE_ENV, "0.1")
    sup = Supervisor(pipe)
    table = "team_defense_game_summary"
    start = pipe.range.start
    v = sup.launch(table, start=start, end=start + dt.timedelta(days=20))
    wait_for(lambda: sup.job(v.id).progress.done >= 2, 20, "two dates processed")
    sup.pause(v.id)
    assert proc_stat(v.record.pid).state == "T"
    sup.resume(v.id)
    p = sup.job(v.id).progress
    assert p.current_date and p.total and p.total > 2
    assert sup.stop(v.id, grace=5).state is JobState.STOPPED
    r = sup.restart(v.id)
    wait_for(lambda: not sup.job(r.id).state.active, 60, "restart finished")
    done = sup.job(r.id)
    assert done.state is JobState.DONE, sup.tail(r.id)[-5:]
    assert done.progress.done == done.progress.total
