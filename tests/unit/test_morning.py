"""The morning report from real records: a plan, its shard jobs (one failed with a hostile log),
events and a coverage snapshot of the sample warehouse, all written through the Store API."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from nba_tui import config as cfg
from nba_tui.jobs import events
from nba_tui.jobs.model import JobRecord, JobState, Plan, PlanState
from nba_tui.jobs.store import open_log
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.morning_report import MorningReport, build_report, render_report
from nba_tui.night import plans_before, still_wanted
from nba_tui.sample import build_warehouse

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("morning")
    shutil.copy(REPO / "pipeline.yaml", root / "pipeline.yaml")
    build_warehouse(cfg.load(root / "pipeline.yaml"))
    return root


def _night(root: Path) -> tuple[Supervisor, Plan, float]:
    """A finished overnight plan: two shards done, one failed twice on 2024-01-05."""
    pipeline = cfg.load(root / "pipeline.yaml")
    sup = Supervisor(pipeline)
    st = sup.store
    st.ensure()
    t0 = time.time() - 3600
    plan = Plan(st.new_plan_id(), "run", ["phase4", "phase5"], "me", t0)
    plan.state, plan.ended_at, plan.message = PlanState.FAILED, t0 + 1800, "1 date quarantined"
    plan.quarantined = {"player_daily_cache": ["2024-01-05"]}
    plan.skipped_dates = {"ml_feature_store": ["2024-01-05", "2024-01-06"]}
    # as the sample warehouse reads (docs/SAMPLE.md): phase 4 still empty, 839 tdgs dates
    plan.coverage_before = {"player_daily_cache": 0, "team_defense_game_summary": 800}
    plan.coverage_after = {"player_daily_cache": 0, "team_defense_game_summary": 839}
    log = open_log(pipeline.log_dir, "player_daily_cache")
    log.write_text("Processing 2024-01-05\n\x1b[2Jboom: KeyError 'opp'\nTraceback end\n")
    recs = [
        JobRecord(
            "aa0001",
            "team_defense_zone_analysis",
            ["x"],
            "",
            t0,
            "me",
            start="2021-11-02",
            end="2022-01-02",
            state=JobState.DONE,
            exit_code=0,
            started_at=t0,
            ended_at=t0 + 270,
            plan=plan.id,
        ),
        JobRecord(
            "aa0002",
            "player_daily_cache",
            ["x"],
            str(log),
            t0 + 300,
            "me",
            dates=["2024-01-05"],
            state=JobState.FAILED,
            exit_code=3,
            started_at=t0 + 300,
            ended_at=t0 + 310,
            plan=plan.id,
            attempt=3,
        ),
    ]
    for r in recs:
        st.save_job(r)
    plan.jobs = [r.id for r in recs]
    st.save_plan(plan)
    events.append(
        st.root,
        events.new_event(
            "date_quarantined", plan=plan.id, table="player_daily_cache", dates=["2024-01-05"]
        ),
    )
    events.append(st.root, events.new_event("plan_failed", plan=plan.id))
    return sup, plan, t0


def test_report_names_the_night(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(built, root)
    sup, plan, t0 = _night(root)
    snap = snapshot_once(sup.pipeline)
    rep = build_report(sup.pipeline, sup, snap, since=t0 - 60)
    assert [p["id"] for p in rep.plans] == [plan.id]
    assert [s.job for s in rep.shards] == ["aa0001", "aa0002"]
    assert rep.shards[0].duration == pytest.approx(270)
    lo, hi = dt.date(2021, 11, 2), dt.date(2022, 1, 2)
    games = [d for d in snap.expected_dates if lo <= d <= hi]
    assert 0 < len(games) < (hi - lo).days + 1  # a range counts its game dates, not its days
    assert (rep.shards[0].dates, rep.shards[1].dates) == (len(games), 1)
    by_table = {t.table: t for t in rep.tables}
    pdc, tdgs = by_table["player_daily_cache"], by_table["team_defense_game_summary"]
    assert pdc.before == 0 and pdc.after == snap.tables["player_daily_cache"].present
    assert tdgs.before == 800 and tdgs.after == snap.tables["team_defense_game_summary"].present
    assert tdgs.filled == tdgs.after - 800 and tdgs.outside == 0
    (fail,) = rep.failures
    assert (fail.job, fail.exit_code, fail.attempt, fail.span) == ("aa0002", 3, 3, "2024-01-05")
    assert fail.tail[-1] == "Traceback end" and "\x1b" not in "".join(fail.tail)
    assert rep.quarantined == {"player_daily_cache": ["2024-01-05"]}
    assert rep.events == {"date_quarantined": 1, "plan_failed": 1}
    assert rep.next_command == "nba-tui launch player_daily_cache --dates 2024-01-05"
    text = render_report(rep)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "\x1b" not in text
    for needle in (
        plan.id,
        "failed (exit 3), attempt 3",
        "| ?[2Jboom: KeyError 'opp'",
        "Quarantined",
        "player_daily_cache: 2024-01-05",
        "ml_feature_store: 2024-01-05, 2024-01-06",
        "Next: nba-tui launch player_daily_cache --dates 2024-01-05",
    ):
        assert needle in text, needle
    data = json.loads(json.dumps(rep.to_json()))
    assert data["failures"][0]["exit_code"] == 3
    assert data["shards"][0]["dates"] == len(games)
    assert {t["table"]: t["filled"] for t in data["tables"]}["player_daily_cache"] == pdc.filled


def test_an_empty_window_says_so_and_points_at_the_short_phases(
    built: Path, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    shutil.copytree(built, root)
    sup = Supervisor(cfg.load(root / "pipeline.yaml"))
    rep = build_report(sup.pipeline, sup, snapshot_once(sup.pipeline), since=time.time() - 60)
    assert isinstance(rep, MorningReport)
    assert (rep.plans, rep.shards, rep.failures) == ([], [], [])
    assert rep.next_command.startswith("nba-tui run phase3")  # the incident's state
    text = render_report(rep)
    assert "Plans: none in this window" in text and "Jobs: none in this window" in text


def test_a_lost_plan_is_adopted_by_running_it_again(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(built, root)
    sup, plan, t0 = _night(root)

    def running_without_runner(p: Plan) -> None:
        p.state, p.ended_at = PlanState.RUNNING, None
        p.runner_pid, p.runner_start_time = os.getpid(), 1.0  # a pid reused since: gone

    sup.store.update_plan(plan.id, running_without_runner)
    rep = build_report(sup.pipeline, sup, snapshot_once(sup.pipeline), since=t0 - 60)
    assert rep.plans[0]["state"] == "lost"
    assert rep.next_command == "nba-tui run phase4 phase5"
    assert "runner is gone" in rep.next_reason


def _plan(i: int, before: dict[str, int], after: dict[str, int]) -> Plan:
    plan = Plan(f"p00000{i}", "run", ["phase5"], "me", 1000.0 * i)
    plan.coverage_before, plan.coverage_after = before, after
    return plan


def test_before_is_the_coverage_when_the_nights_plans_started() -> None:
    t = "predictions"
    # two plans of one night: the first one's start
    assert plans_before([_plan(1, {t: 500}, {t: 700}), _plan(2, {t: 700}, {t: 880})]) == {t: 500}
    # a `demo reset` between them (565 -> 0): the later plan's start, not a drop by the night
    assert plans_before([_plan(1, {t: 565}, {t: 565}), _plan(2, {t: 0}, {t: 300})]) == {t: 0}
    # a first plan that never recorded its end: compared with its start
    assert plans_before([_plan(1, {t: 565}, {}), _plan(2, {t: 600}, {t: 847})]) == {t: 565}


def test_a_failure_shows_its_error_lines_not_only_the_tail(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(built, root)
    sup, plan, t0 = _night(root)
    why = "write rolled back: UNIQUE constraint failed: player_daily_cache.player_id, game_date"
    log = Path(sup.job("aa0002").record.log)
    with log.open("a") as f:
        f.write(f"FAILED 2024-01-05: {why}\n")
        f.write("Traceback (most recent call last):\n  File 'x.py'\nsqlite3.IntegrityError: boom\n")
        f.writelines(f"Processing 2024-02-{d:02d} ({d}/40)\n" for d in range(1, 29))
        f.write("Done: 27 processed, 0 skipped, 1 failed in 9.0 s\n")
    rep = build_report(sup.pipeline, sup, snapshot_once(sup.pipeline), since=t0 - 60)
    (fail,) = rep.failures
    assert fail.errors[:2] == [f"FAILED 2024-01-05: {why}", "sqlite3.IntegrityError: boom"]
    assert fail.tail[-1].startswith("Done: 27 processed")
    piped = render_report(rep, width=None)
    assert f"    ! FAILED 2024-01-05: {why}" in piped.splitlines()  # whole, on one line
    assert max(len(line) for line in piped.splitlines()) > 80
    narrow = render_report(rep, width=80).splitlines()
    assert max(len(line) for line in narrow) <= 80
    at = narrow.index("    ! FAILED 2024-01-05: write rolled back: UNIQUE constraint failed:")
    assert narrow[at + 1].strip() == "player_daily_cache.player_id, game_date"  # wrapped, kept


def test_next_restarts_a_failed_job_only_while_nothing_restarted_it(
    built: Path, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    shutil.copytree(built, root)
    sup = Supervisor(cfg.load(root / "pipeline.yaml"))
    sup.store.ensure()
    t0 = time.time() - 600
    table = "team_defense_game_summary"  # 78 dates missing in the sample
    failed = JobRecord(
        "bb0001", table, ["x"], "", t0, "me", dates=["2022-03-05"], state=JobState.FAILED,
        exit_code=1, started_at=t0, ended_at=t0 + 5,
    )  # fmt: skip
    sup.store.save_job(failed)
    snap = snapshot_once(sup.pipeline)
    rep = build_report(sup.pipeline, sup, snap, since=t0 - 60)
    assert rep.next_command == "nba-tui restart bb0001"
    again = JobRecord(
        "bb0002", table, ["x"], "", t0 + 10, "me", dates=["2022-03-05"], state=JobState.DONE,
        exit_code=0, started_at=t0 + 10, ended_at=t0 + 15, restarted_from="bb0001",
    )  # fmt: skip
    sup.store.save_job(again)
    rep = build_report(sup.pipeline, sup, snap, since=t0 - 60)
    assert rep.failures[0].restarted == "job bb0002: done"
    assert "restart" not in rep.next_command
    assert "    restarted as job bb0002: done" in render_report(rep).splitlines()


def _many_jobs(n: int) -> MorningReport:
    from nba_tui.morning_report import Failure, ShardLine

    shards = [
        ShardLine(
            f"j{i:05d}",
            "player_game_summary",
            "2024-01-01",
            "2024-01-09",
            9,
            1,
            "failed",
            1,
            5.0,
            "p1",
            "failed (exit 1)",
        )
        for i in range(n)
    ]
    failures = [
        Failure(f"j{i:05d}", "player_game_summary", "2024-01-01", 1, 1, []) for i in range(n)
    ]
    dates = [f"2024-01-{d:02d}" for d in range(1, 21)]
    return MorningReport(
        "p", 0.0, 1.0, shards=shards, failures=failures, quarantined={"player_game_summary": dates}
    )


def test_a_piped_report_lists_every_job_and_failure_and_a_terminal_says_how_to_see_all() -> None:
    rep = _many_jobs(40)
    piped = render_report(rep, width=None)
    assert all(f"  j{i:05d} " in piped for i in range(40))
    assert "earlier" not in piped and "more)" not in piped
    assert "2024-01-20" in piped
    term = render_report(rep, width=80).splitlines()
    assert "  (+10 earlier: nba-tui report | less)" in term
    assert "  (+32 earlier: nba-tui report | less)" in term
    assert "j00000" not in "\n".join(term) and "j00039" in "\n".join(term)


def test_in_m_at_80_columns_a_plan_span_and_an_event_count_are_never_split() -> None:
    plan = {
        "id": "p9bbc8d", "state": "done", "phases": ["phase3", "phase4", "phase5"],
        "created_at": 1_765_000_000.0, "ended_at": 1_765_000_328.0, "duration": 328.0,
        "message": None,
    }  # fmt: skip
    events = {"job_done": 189, "phase_ready": 3, "plan_done": 1, "job_failed": 2, "date_filled": 9}
    events |= {f"coverage_kind_{i}": i for i in range(4)}
    rep = MorningReport("p", 0.0, 1.0, plans=[plan], events=events)
    rows = render_report(rep, width=76).splitlines()  # `M`'s box at 80 columns
    at = next(i for i, row in enumerate(rows) if "p9bbc8d" in row)
    assert rows[at + 1].strip().endswith("5:28") and ".." in rows[at + 1], rows[at : at + 2]
    ev = rows[next(i for i, row in enumerate(rows) if row.startswith("Events: ")) :]
    text = " ".join(r.strip() for r in ev if r.strip())
    assert all(f"{k} {n}" in text for k, n in events.items()), ev
    assert all(len(r) <= 76 and not r.strip().isdigit() for r in ev), ev
    assert render_report(rep, width=None).count("p9bbc8d  done") == 1


def test_dates_lost_outside_the_nights_plans_are_not_the_nights_delta(
    built: Path, tmp_path: Path
) -> None:
    """A heal plan left predictions at 847; a `demo reset` since took them away. The report shows
    no BEFORE or FILLED for predictions (never -847 as if the night deleted them) and says the
    dates were lost outside the plans; a table the plans left as it is keeps its delta."""
    root = tmp_path / "p"
    shutil.copytree(built, root)
    sup, plan, t0 = _night(root)
    heal = Plan(sup.store.new_plan_id(), "heal", ["phase5"], "me", t0 + 2000)
    heal.state, heal.ended_at = PlanState.DONE, t0 + 2100
    heal.coverage_before, heal.coverage_after = {"predictions": 844}, {"predictions": 847}
    sup.store.save_plan(heal)
    snap = snapshot_once(sup.pipeline)
    now = snap.tables["predictions"].present
    assert now < 844  # the sample's incident state: the reset the heal plan did not see
    rep = build_report(sup.pipeline, sup, snap, since=t0 - 60)
    by_table = {t.table: t for t in rep.tables}
    pred = by_table["predictions"]
    assert (pred.before, pred.filled, pred.after, pred.outside) == (None, None, now, 847 - now)
    assert by_table["team_defense_game_summary"].before == 800  # as its plan left it: a delta
    text = render_report(rep, width=None)
    (row,) = [ln for ln in text.splitlines() if ln.startswith("  predictions ")]
    assert row.split()[1:4] == ["-", str(now), "-"], row
    assert f"lost after the night's plans, not by them: predictions -{847 - now}" in text
    data = json.loads(json.dumps(rep.to_json()))
    (js,) = [t for t in data["tables"] if t["table"] == "predictions"]
    assert js["filled"] is None and js["outside"] == 847 - now


def test_counts_say_one_job_and_one_range() -> None:
    from nba_tui.fmt import plural

    assert [plural(1, "job"), plural(2, "job"), plural(0, "range"), plural(1, "range")] == [
        "1 job", "2 jobs", "0 ranges", "1 range"
    ]  # fmt: skip


def _job(job: str, dates: list[str], t: float, state: JobState, **kw: object) -> JobRecord:
    table = "team_defense_game_summary"  # present before 2025-12-25 in the sample, some gaps
    rec = JobRecord(job, table, ["x"], "", t, "me", dates=dates, state=state, started_at=t)
    rec.ended_at = t + 5
    for k, v in kw.items():
        setattr(rec, k, v)
    return rec


def test_a_failure_whose_dates_a_later_job_re_ran_reads_recovered(
    built: Path, tmp_path: Path
) -> None:
    """A killed shard whose dates the next attempt re-ran (all present now) is listed apart as
    recovered, naming that job, and needs no restart; one with a date still missing is not."""
    root = tmp_path / "p"
    shutil.copytree(built, root)
    sup = Supervisor(cfg.load(root / "pipeline.yaml"))
    sup.store.ensure()
    snap = snapshot_once(sup.pipeline)
    cov = snap.tables["team_defense_game_summary"]
    have = [d.isoformat() for d, s in cov.states.items() if s.value == "present"][:3]
    gap = cov.missing[0].isoformat()
    t0 = time.time() - 600
    for rec in (
        _job("cc0001", have, t0, JobState.FAILED, signal=9, exit_code=-9),
        _job("cc0002", have[1:], t0 + 10, JobState.DONE, exit_code=0, attempt=2),
        _job("cc0003", [have[0], gap], t0 + 20, JobState.FAILED, exit_code=1),
        _job("cc0004", [gap], t0 + 30, JobState.DONE, exit_code=0, attempt=2),
    ):
        sup.store.save_job(rec)
    rep = build_report(sup.pipeline, sup, snap, since=t0 - 60)
    by_job = {f.job: f for f in rep.failures}
    assert by_job["cc0001"].recovered == "recovered: its dates re-run by cc0002 (done)"
    assert by_job["cc0003"].recovered is None  # its gap is still missing
    assert rep.next_command == "nba-tui restart cc0003"
    lines = render_report(rep, width=None).splitlines()
    assert "Failures (1):" in lines and "Recovered failures (1):" in lines
    at = lines.index("Recovered failures (1):")
    assert lines[at + 1].startswith("  cc0001 team_defense_game_summary ")
    assert "killed (SIGKILL), attempt 1" in lines[at + 1]
    assert lines[at + 2] == "    recovered: its dates re-run by cc0002 (done)"
    assert lines.index("Failures (1):") < at and "cc0003" in lines[lines.index("Failures (1):") + 1]


def test_a_lost_job_quotes_its_logs_last_word_and_whether_its_dates_are_present(
    built: Path, tmp_path: Path
) -> None:
    """A job whose shim was killed while its backfill ran to the end stays `lost` (no exit
    status) but quotes the log's summary line and says its dates are present now."""
    root = tmp_path / "p"
    shutil.copytree(built, root)
    sup = Supervisor(cfg.load(root / "pipeline.yaml"))
    sup.store.ensure()
    snap = snapshot_once(sup.pipeline)
    cov = snap.tables["team_defense_game_summary"]
    have = [d.isoformat() for d, s in cov.states.items() if s.value == "present"][:3]
    log = open_log(sup.pipeline.log_dir, "team_defense_game_summary")
    log.write_text(
        "".join(f"Processing {d}\n" for d in have) + "Done: 3 processed, 0 skipped, 0 failed\n"
    )
    t0 = time.time() - 600
    why = "the process is gone without an exit status"
    sup.store.save_job(_job("dd0001", have, t0, JobState.LOST, log=str(log), message=why))
    sup.store.save_job(
        _job("dd0002", [have[0], cov.missing[0].isoformat()], t0 + 9, JobState.LOST, message=why)
    )
    rep = build_report(sup.pipeline, sup, snap, since=t0 - 60)
    done, gap = rep.failures
    assert (done.state, done.recovered) == ("lost", None)
    assert done.log_says == "its log says: Done: 3 processed, 0 skipped, 0 failed"
    assert done.dates_now == "its 3 dates are all present now"
    assert (gap.log_says, gap.dates_now) == (None, "1 of its 2 dates missing now")
    # a restart would redo nothing for the first; the second still lacks a date
    table = "team_defense_game_summary"
    assert not still_wanted("dd0001", table, rep.failures, snap)
    assert still_wanted("dd0002", table, rep.failures, snap)
    assert rep.next_command == "nba-tui restart dd0002"
    lines = render_report(rep, width=80).splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.endswith(": lost, attempt 1"))
    assert lines[at].startswith("  dd0001 ")
    assert lines[at + 1 : at + 4] == [
        "    its log says: Done: 3 processed, 0 skipped, 0 failed",
        "    its 3 dates are all present now",
        f"    {why}",
    ]
    data = json.loads(json.dumps(rep.to_json()))
    assert data["failures"][0]["dates_now"] == "its 3 dates are all present now"
