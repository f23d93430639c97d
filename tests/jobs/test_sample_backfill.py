"""The real sample backfill under the supervisor: progress, pause, stop, checkpoint resume."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
import sys
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


def _db(pipe: config.Pipeline) -> Path:
    return pipe.resolve(pipe.warehouse.sqlite.path) / "nba_analytics.db"  # type: ignore[union-attr]


def _committed(pipe: config.Pipeline, table: str, dates: list[str]) -> int:
    conn = sqlite3.connect(_db(pipe))
    try:
        marks = ",".join("?" * len(dates))
        (n,) = conn.execute(
            f"SELECT COUNT(DISTINCT game_date) FROM {table} WHERE game_date IN ({marks})", dates
        ).fetchone()
    finally:
        conn.close()
    return n


def test_jobs_json_done_counts_committed_dates_not_the_one_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`jobs --json` while the sample backfill works on its 2nd of 3 dates (printed, not written
    yet: the pace runs before the write) says 1 done, as many as the warehouse holds."""
    from nba_tui.sample import ensure_warehouse

    shutil.copy(ROOT / "pipeline.yaml", tmp_path / "pipeline.yaml")
    pipe = config.load(tmp_path / "pipeline.yaml")
    ensure_warehouse(pipe)
    table = "team_defense_game_summary"
    db = sqlite3.connect(_db(pipe))
    with db:
        days = [r[0] for r in db.execute(
            f"SELECT DISTINCT game_date FROM {table} WHERE game_date > '2023-01-10' "
            "ORDER BY game_date LIMIT 3"
        )]  # fmt: skip
        db.executemany(f"DELETE FROM {table} WHERE game_date = ?", [(d,) for d in days])
    db.close()
    monkeypatch.setenv(sample.PACE_ENV, "3")
    sup = Supervisor(pipe)
    v = sup.launch(table, dates=[dt.date.fromisoformat(d) for d in days])
    second = f"Processing {days[1]} (2/3)"
    wait_for(lambda: sup.tail(v.id)[-1:] == [second], 30, "the second date in progress")
    sup.pause(v.id)
    assert sup.tail(v.id)[-1] == second  # stopped while the date is in progress
    out = subprocess.run(
        [sys.executable, "-m", "nba_tui", "jobs", "--json", "--config", str(pipe.source)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    (job,) = [j for j in json.loads(out.stdout) if j["id"] == v.id]
    assert job["progress"]["current_date"] == days[1]
    assert job["progress"]["done"] == _committed(pipe, table, days) == 1
    assert job["progress"]["total"] == 3
    sup.stop(v.id, grace=5)
