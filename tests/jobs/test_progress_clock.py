"""The clock of a job's progress: a lost job's elapsed time and ETA stop growing, a paused job has
no ETA; one look at a big log is bounded and current."""

from __future__ import annotations

import os
import time
from pathlib import Path

from nba_tui.jobs.model import JobRecord, JobState
from nba_tui.jobs.progress import LogProgress
from nba_tui.jobs.supervisor import Supervisor

RX = r"Processing (?P<date>\d{4}-\d{2}-\d{2})"


def test_a_lost_job_stops_its_clock_at_its_last_output(make_pipeline) -> None:
    sup = Supervisor(make_pipeline())
    now = time.time()
    log = sup.pipeline.log_dir / "alpha_20240101_000000.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("Processing 2024-01-02 (2/10)\n")
    os.utime(log, (now - 50, now - 50))
    rec = JobRecord(
        "", "alpha", ["x"], str(log), now - 100, "u", state=JobState.RUNNING,
        pid=2**22 - 3, start_time=1.0, started_at=now - 100,
    )  # fmt: skip
    rec = sup.store.insert_job(rec)
    first = sup.job(rec.id)
    assert first.state is JobState.LOST
    assert abs(first.record.ended_at - (now - 50)) < 1  # the log's last write, not "now"
    assert first.progress.eta_s is None
    again = Supervisor(sup.pipeline).job(rec.id)  # a second read, later: the same end
    assert again.record.ended_at == first.record.ended_at
    assert again.progress.dates_per_min == first.progress.dates_per_min


def test_a_paused_job_has_no_eta_and_a_still_rate(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("Processing 2024-01-01 (1/10)\nProcessing 2024-01-02 (2/10)\n")
    lp = LogProgress(log, RX)
    lp.update()
    now = time.time()
    running = JobRecord("j", "t", [], str(log), now - 120, "u", state=JobState.RUNNING,
                        started_at=now - 120)  # fmt: skip
    p = lp.progress(running, now)
    assert p.eta_s is not None and p.dates_per_min is not None
    paused = JobRecord("j", "t", [], str(log), now - 120, "u", state=JobState.PAUSED,
                       started_at=now - 120, paused_at=now - 60)  # fmt: skip
    p1, p2 = lp.progress(paused, now), lp.progress(paused, now + 600)
    assert p1.eta_s is None and p1.dates_per_min == p2.dates_per_min  # the rate is frozen


def test_one_look_at_a_huge_log_is_current_and_bounded(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    with open(log, "wb") as f:
        f.write(b"Processing 2024-01-01 (1/10)\n")
        block = b"noise " * 170 + b"\n"
        for _ in range(100_000):  # ~100 MB
            f.write(block)
        f.write(b"Processing 2024-01-10 (10/10)\n")
    t0 = time.process_time()
    lp = LogProgress(log, RX)
    lp.update()
    spent = time.process_time() - t0
    assert (lp.current_date, lp.done, lp.total) == ("2024-01-10", 10, 10)
    assert spent < 0.5  # read from the end, not parsed from the start
