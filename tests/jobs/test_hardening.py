"""Hostile state on the jobs side: damaged records, the run lock, ownership, planted records, bounds.

Real processes and real files throughout (we run as root in CI, so ownership is tested with
chown to `nobody`); see test_diskfull.py for a full disk."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from jobs_helpers import wait_for

from nba_tui.fsutil import private_dirs
from nba_tui.jobs.model import JobRecord, JobState
from nba_tui.jobs.procs import session_members
from nba_tui.jobs.store import ensure_dir
from nba_tui.jobs.supervisor import Damaged, JobError, StateError, Supervisor

NOBODY = 65534


def put(sup: Supervisor, rec: JobRecord) -> JobRecord:
    return sup.store.insert_job(rec)


def ended(table: str, **kw: object) -> JobRecord:
    base: dict = {"state": JobState.DONE, "started_at": 1.0, "ended_at": 2.0, "exit_code": 0}
    base.update({"argv": ["true"], "log": ""}, **kw)
    return JobRecord(id="", table=table, created_at=1.0, user="u", **base)


def test_truncated_record_of_a_running_job_blocks_a_second_launch(make_pipeline) -> None:
    sup = Supervisor(make_pipeline({"alpha": ["--delay", "0.3"]}))
    v = sup.launch("alpha")
    path = sup.store.job_path(v.id)
    path.write_bytes(path.read_bytes()[:40])  # truncated while the job runs
    bad = sup.damaged()
    assert [d.id for d in bad] == [v.id] and "not JSON" in bad[0].reason
    assert isinstance(bad[0], Damaged) and bad[0].path == str(path)
    assert sup.jobs() == []  # the listing does not crash
    with pytest.raises(JobError, match="live job"):
        sup.launch("alpha")
    assert [p.name for p in sup.store.jobs_dir.glob("*.json")] == [path.name]  # no second job
    with pytest.raises(JobError, match=r"damaged \(not JSON.*nba-tui stop"):
        sup.pause(v.id)
    with pytest.raises(JobError, match="live job"):
        sup.resolve("alpha")
    out = sup.stop(v.id, grace=1)  # from the run lock's facts; the shim rewrites the record
    assert not out.state.active and out.record.signal == 15
    assert session_members(out.record.sid) == []
    assert sup.damaged() == []
    assert sup.launch("alpha").state in (JobState.RUNNING, JobState.DONE)


def test_deleted_record_of_a_running_job_still_blocks(make_pipeline) -> None:
    sup = Supervisor(make_pipeline({"alpha": ["--delay", "0.3"]}))
    v = sup.launch("alpha")
    sup.store.job_path(v.id).unlink()
    with pytest.raises(JobError, match=f"live job {v.id}"):
        sup.launch("alpha")
    wait_for(lambda: sup.store.read_job(v.id) is not None, 15, "the shim rewrote its record")
    rec = sup.job(v.id).record  # from the shim's own copy, with the exit
    assert rec.state is JobState.DONE and "rewritten by its shim" in (rec.message or "")


def test_a_bad_field_never_hides_the_other_jobs(make_pipeline) -> None:
    sup = Supervisor(make_pipeline())
    good = put(sup, ended("beta"))
    bad = put(sup, ended("alpha"))
    data = json.loads(sup.store.job_path(bad.id).read_text())
    data["created_at"] = "yesterday"
    sup.store.job_path(bad.id).write_text(json.dumps(data))
    (sup.store.jobs_dir / "x.json").mkdir()
    big = sup.store.jobs_dir / "abc123.json"
    big.write_bytes(b"{" + b" " * 2_000_000 + b"}")
    os.mkfifo(sup.store.jobs_dir / "fifo01.json", 0o600)
    assert [v.id for v in sup.jobs()] == [good.id]
    reasons = {d.id: d.reason for d in sup.damaged()}
    assert reasons[bad.id] == "field 'created_at' has a str value"
    assert reasons["x"] == "not a regular file" and reasons["fifo01"] == "not a regular file"
    assert reasons["abc123"].startswith("too large")
    with pytest.raises(JobError, match="damaged"):
        sup.restart(bad.id)


def test_foreign_or_open_state_dir_is_refused(make_pipeline) -> None:
    pipe = make_pipeline()
    Supervisor(pipe).store.ensure()
    os.chown(pipe.state_dir, NOBODY, NOBODY)
    with pytest.raises(StateError, match="owned by uid 65534"):
        Supervisor(pipe)
    os.chown(pipe.state_dir, os.geteuid(), os.getegid())
    os.chmod(pipe.state_dir / "jobs", 0o777)
    with pytest.raises(StateError, match="writable by group or others"):
        Supervisor(pipe)
    os.chmod(pipe.state_dir / "jobs", 0o700)
    assert Supervisor(pipe).jobs() == []


def test_planted_record_never_runs_its_argv_nor_shows_other_files(
    make_pipeline, tmp_path: Path
) -> None:
    sup = Supervisor(make_pipeline({"alpha": ["--n", "2", "--delay", "0"]}))
    canary = tmp_path / "canary"
    secret = tmp_path / "secret.log"
    secret.write_text("TOPSECRET line\n")
    planted = ended(
        "alpha",
        state=JobState.FAILED,
        exit_code=1,
        argv=[sys.executable, "-c", f"open({str(canary)!r}, 'w')"],
        log=str(secret),
        start="2024-01-01",
        end="2024-01-02",
    )
    rec = put(sup, planted)
    view = sup.job(rec.id)
    assert view.record.log == str(sup.pipeline.log_dir / "secret.log")  # never the record's path
    assert "TOPSECRET" not in view.progress.last_line
    assert all("TOPSECRET" not in line for line in sup.tail(rec.id))
    new = sup.restart(rec.id)
    assert new.record.argv[1].endswith("fakejob.py") and new.record.argv != planted.argv
    wait_for(lambda: not sup.job(new.id).state.active, 15, "restart ended")
    assert not canary.exists()
    foreign = put(sup, ended("beta"))
    os.chown(sup.store.job_path(foreign.id), NOBODY, NOBODY)
    assert foreign.id in {d.id for d in sup.damaged()}
    with pytest.raises(JobError, match="owned by uid 65534"):
        sup.restart(foreign.id)


def test_existing_directories_keep_their_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    ensure_dir(shared)
    private_dirs(shared, tighten=True)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    made = ensure_dir(shared / "new" / "deeper")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    assert stat.S_IMODE((shared / "new").stat().st_mode) == 0o700


@pytest.mark.parametrize("grace", [float("nan"), float("inf"), -1.0, 1e308, "soon"])
def test_stop_grace_is_bounded(make_pipeline, grace: object) -> None:
    sup = Supervisor(make_pipeline())
    with pytest.raises(JobError, match="grace must"):
        sup.stop("abcdef", grace=grace)  # type: ignore[arg-type]


def test_ids_dates_and_ranges_are_bounded(make_pipeline) -> None:
    import datetime as dt

    sup = Supervisor(make_pipeline())
    for call in (sup.stop, sup.pause, sup.job, sup.resolve, sup.restart, sup.plan):
        with pytest.raises(JobError, match="invalid"):
            call("x" * 5000)
        with pytest.raises(JobError, match="invalid"):
            call("../etc/passwd")
    with pytest.raises(JobError, match="no dates given"):
        sup.launch("alpha", dates=[])
    with pytest.raises(JobError, match=r"outside the pipeline's range 2024-01-01\.\.2024-01-10"):
        sup.launch("alpha", dates=[dt.date(2023, 5, 1)])
    with pytest.raises(JobError, match="outside the pipeline's range"):
        sup.launch("alpha", start=dt.date(2024, 1, 5), end=dt.date(2025, 1, 1))
    with pytest.raises(JobError, match="after end"):
        sup.launch("alpha", start=dt.date(2024, 1, 5), end=dt.date(2024, 1, 2))
    assert sup.jobs() == [] and sup.history() == []  # nothing was launched or logged


def test_state_version_and_archive(make_pipeline) -> None:
    sup = Supervisor(make_pipeline({"alpha": ["--n", "1", "--delay", "0"]}))
    v0 = sup.state_version()
    v = sup.launch("alpha")
    assert sup.state_version() != v0
    wait_for(lambda: sup.job(v.id).state is JobState.DONE, 15, "done")
    v1 = sup.state_version()
    assert sup.state_version() == v1  # reading changes nothing
    assert sup.archive_ended() == 1
    assert sup.jobs() == [] and (sup.store.archive_dir / f"{v.id}.json").exists()
    assert sup.state_version() != v1


def test_an_impossible_state_dir_is_one_line(make_pipeline, tmp_path: Path) -> None:
    pipe = make_pipeline()
    yaml = pipe.source.read_text().replace("state_dir: state", "state_dir: /proc/x")
    pipe.source.write_text(yaml)
    from nba_tui import config

    sup = Supervisor(config.load(pipe.source))
    with pytest.raises(StateError, match="cannot create the state directory /proc/x"):
        sup.launch("alpha")


def test_a_killed_shim_and_a_deleted_record_still_block(make_pipeline) -> None:
    import signal

    sup = Supervisor(make_pipeline({"alpha": ["--delay", "0.3"]}))
    v = sup.launch("alpha")
    os.kill(v.record.shim_pid, signal.SIGKILL)
    wait_for(lambda: not sup.store.run_lock("alpha")[0], what="the run lock died with the shim")
    sup.store.job_path(v.id).unlink()
    try:
        with pytest.raises(JobError, match=f"processes of job {v.id} still run"):
            sup.launch("alpha")  # the session scan over the lock's facts finds the program
    finally:
        os.killpg(v.record.pgid, signal.SIGKILL)
    wait_for(lambda: not session_members(v.record.sid), what="the program is gone")
    assert sup.launch("alpha").record.table == "alpha"
