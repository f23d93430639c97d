"""The sample backfill program, run as a real subprocess against a real warehouse copy."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sample_helpers import Project, RunBackfill, clean_env, wait_for_lines

from nba_tui.coverage import Snapshot, snapshot
from nba_tui.sample import backfill, engine
from nba_tui.sample.context import Context
from nba_tui.sample.tables import BY_NAME
from nba_tui.warehouse import fetch
from nba_tui.warehouse.sqlite import SqliteWarehouse


def coverage(project: Project) -> Snapshot:
    p = project.pipeline
    wh = SqliteWarehouse(p.sqlite_dir, p.datasets())
    try:
        return snapshot(p, fetch(p, wh))
    finally:
        wh.close()


def rows_of(project: Project, table: str, day: str) -> list[tuple]:
    src = BY_NAME[table].ref.sqlite_sql()
    return project.query(f"SELECT * FROM {src} WHERE game_date = ? ORDER BY 1, 2, 3", (day,))


def lines(out: str, prefix: str) -> list[str]:
    return [ln.split()[1].rstrip(":") for ln in out.splitlines() if ln.startswith(prefix)]


def test_team_defense_gap_fill_reaches_100(project: Project, run_backfill: RunBackfill) -> None:
    missing = [d.isoformat() for d in coverage(project).tables["team_defense_game_summary"].missing]
    assert len(missing) > 50
    r = run_backfill("team_defense_game_summary", "--dates", ",".join(missing), "--pace", "0")
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout, "Processing") == missing
    assert r.stdout.splitlines()[0].startswith(
        f"Backfill team_defense_game_summary: {len(missing)} dates"
    )
    assert r.stdout.splitlines()[-1].startswith(f"Done: {len(missing)} processed, 0 skipped")
    tc = coverage(project).tables["team_defense_game_summary"]
    assert tc.share == 1.0 and not tc.missing


def test_backfill_writes_what_the_build_wrote(project: Project, run_backfill: RunBackfill) -> None:
    """Rows present in the initial state come from the same derivation as a backfill."""
    snap = coverage(project)
    for table in (
        "player_game_summary",
        "team_offense_game_summary",
        "team_defense_game_summary",
        "upcoming_player_game_context",
        "upcoming_team_game_context",
    ):
        have = sorted(snap.tables[table].rows)
        days = [have[0].isoformat(), have[len(have) // 2].isoformat(), have[-1].isoformat()]
        before = {d: rows_of(project, table, d) for d in days}
        assert all(before.values())
        r = run_backfill(table, "--dates", ",".join(days), "--pace", "0", "--no-resume")
        assert r.returncode == 0, r.stdout + r.stderr
        assert len(lines(r.stdout, "Success")) == 3
        for d in days:
            assert rows_of(project, table, d) == before[d], (table, d)


def test_idempotent_rerun(project: Project, run_backfill: RunBackfill) -> None:
    args = ("--start-date", "2023-11-01", "--end-date", "2023-11-20", "--pace", "0")
    r1 = run_backfill("player_shot_zone_analysis", *args)
    assert r1.returncode == 0
    n = len(lines(r1.stdout, "Success"))
    first = project.query(
        "SELECT * FROM nba_precompute.player_shot_zone_analysis ORDER BY game_date, player_id"
    )
    r = run_backfill("player_shot_zone_analysis", *args, "--no-resume")
    assert r.returncode == 0 and f"Done: {n} processed, 6 skipped" in r.stdout
    again = project.query(
        "SELECT * FROM nba_precompute.player_shot_zone_analysis ORDER BY game_date, player_id"
    )
    assert again == first and len(first) > 1000


def test_checkpoint_resume(project: Project, run_backfill: RunBackfill) -> None:
    args = ("--start-date", "2024-01-01", "--end-date", "2024-01-15", "--pace", "0")
    r1 = run_backfill("team_offense_game_summary", *args)
    n = len(lines(r1.stdout, "Processing"))
    assert r1.returncode == 0 and n > 10
    cp = project.checkpoint("team_offense_game_summary")
    data = json.loads(cp.read_text())
    (entry,) = data["requests"].values()
    assert len(entry["completed"]) == n
    assert oct(cp.stat().st_mode & 0o777) == "0o600"
    assert oct(cp.parent.stat().st_mode & 0o777) == "0o700"
    r2 = run_backfill("team_offense_game_summary", *args)
    assert r2.returncode == 0
    assert f"Resuming from checkpoint: {n} of {n} dates already done" in r2.stdout
    assert not lines(r2.stdout, "Processing")
    r3 = run_backfill("team_offense_game_summary", *args, "--no-resume")
    assert len(lines(r3.stdout, "Processing")) == n


def test_kill_9_then_resume(project: Project) -> None:
    table = "player_daily_cache"
    argv = project.argv(table, "--start-date", "2024-11-15", "--end-date", "2024-12-31")
    argv += ["--pace", "0.05"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=clean_env())
    try:
        seen = wait_for_lines(proc, "Success", 6)
    finally:
        proc.kill()  # SIGKILL: no handler runs
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = json.loads(project.checkpoint(table).read_text())
    (entry,) = done["requests"].values()
    completed = set(entry["completed"])
    assert set(lines("\n".join(seen), "Success")) <= completed
    r = subprocess.run(argv[:-2] + ["--pace", "0"], capture_output=True, text=True, env=clean_env())
    assert r.returncode == 0, r.stdout
    assert f"Resuming from checkpoint: {len(completed)} of" in r.stdout
    redone = set(lines(r.stdout, "Processing"))
    assert not redone & completed
    expected = [d.isoformat() for d in coverage(project).expected_dates]
    wanted = {d for d in expected if "2024-11-15" <= d <= "2024-12-31"}
    assert redone | completed == wanted
    dup = project.query(
        "SELECT game_date, player_id, COUNT(*) FROM nba_precompute.player_daily_cache "
        "GROUP BY 1, 2 HAVING COUNT(*) > 1"
    )
    assert dup == []
    per_date = project.query(
        "SELECT COUNT(*) FROM nba_precompute.player_daily_cache AS c "
        "JOIN nba_analytics.player_game_summary AS g "
        "ON g.game_date = c.game_date AND g.player_id = c.player_id"
    )
    total = project.query("SELECT COUNT(*) FROM nba_precompute.player_daily_cache")
    assert per_date == total


def test_sigterm_abandons_the_current_date(project: Project) -> None:
    table = "team_offense_game_summary"
    argv = project.argv(table, "--start-date", "2024-02-01", "--end-date", "2024-03-31")
    proc = subprocess.Popen(
        argv + ["--pace", "5"], stdout=subprocess.PIPE, text=True, env=clean_env()
    )
    try:
        wait_for_lines(proc, "Processing", 1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 143
    assert "Interrupted during 2024-02-01: not written" in out
    assert "Stopped by SIGTERM" in out
    assert not project.checkpoint(table).exists()


def test_synthetic_fallback_exactly_where_context_is_missing(
    project: Project, run_backfill: RunBackfill
) -> None:
    start, end = "2023-11-08", "2024-01-10"
    rng = ("--start-date", start, "--end-date", end, "--pace", "0")
    # the spec table plus its cascade inputs; team_defense first so nothing fails
    gaps = [
        d.isoformat()
        for d in coverage(project).tables["team_defense_game_summary"].missing
        if start <= d.isoformat() <= end
    ]
    if gaps:
        assert (
            run_backfill(
                "team_defense_game_summary", "--dates", ",".join(gaps), "--pace", "0"
            ).returncode
            == 0
        )
    for table in ("team_defense_zone_analysis", "player_shot_zone_analysis"):
        assert run_backfill(table, *rng).returncode == 0
    r = run_backfill("player_composite_factors", *rng)
    assert r.returncode == 0, r.stdout
    snap = coverage(project)
    in_range = [d for d in snap.expected_dates if start <= d.isoformat() <= end]
    upgc = snap.tables["upcoming_player_game_context"].rows
    utgc = snap.tables["upcoming_team_game_context"].rows
    no_context = {d.isoformat() for d in in_range if not upgc.get(d) or not utgc.get(d)}
    assert no_context and len(no_context) < len(in_range)  # both kinds of dates are covered
    flags = project.query(
        "SELECT game_date, MIN(synthetic), MAX(synthetic) "
        "FROM nba_precompute.player_composite_factors GROUP BY game_date"
    )
    assert len(flags) == len(in_range)
    props = snap.tables["bettingpros_player_props"].rows
    for day, lo, hi in flags:
        # 2: no betting lines at all (by necessity); 1: lines exist, context not built (choice)
        want = 0 if day not in no_context else 1 if props.get(dt.date.fromisoformat(day)) else 2
        assert lo == hi == want, day
    assert {lo for _, lo, _ in flags} == {0, 1, 2}  # the range holds all three kinds


def test_hard_dependency_missing_fails_the_date(
    project: Project, run_backfill: RunBackfill
) -> None:
    tdgs = coverage(project).tables["team_defense_game_summary"]
    gap = next(d for d in tdgs.missing if d.isoformat() > "2022-01-01").isoformat()
    r = run_backfill("team_defense_zone_analysis", "--dates", f"2022-01-05,{gap}", "--pace", "0")
    assert r.returncode == 1
    assert f"FAILED {gap}: no rows in nba_analytics.team_defense_game_summary" in r.stdout
    assert "Done: 1 processed, 0 skipped, 1 failed" in r.stdout
    done = json.loads(project.checkpoint("team_defense_zone_analysis").read_text())
    (entry,) = done["requests"].values()
    assert entry["completed"] == ["2022-01-05"]  # the failed date is retried on re-run


def test_skips_are_not_failures(project: Project, run_backfill: RunBackfill) -> None:
    r = run_backfill("upcoming_player_game_context", "--start-date", "2022-01-01",
                     "--end-date", "2022-01-10", "--pace", "0")  # fmt: skip
    assert r.returncode == 0
    assert "Skipped 2022-01-01: no betting lines" in r.stdout
    assert "Done: 0 processed, 10 skipped, 0 failed" in r.stdout
    r = run_backfill("player_shot_zone_analysis", "--start-date", "2023-10-24",
                     "--end-date", "2023-11-10", "--pace", "0")  # fmt: skip
    assert r.returncode == 0
    assert "Skipped 2023-10-24: bootstrap window" in r.stdout
    assert "Processing 2023-11-07" in r.stdout and "Processing 2023-11-06" not in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["no_such_table", "--start-date", "2024-01-01", "--end-date", "2024-01-02"],
            "unknown table",
        ),
        (
            ["player_game_summary", "--start-date", "2024-13-01", "--end-date", "2024-01-02"],
            "not a date",
        ),
        (
            ["player_game_summary", "--start-date", "2024-02-01", "--end-date", "2024-01-02"],
            "before",
        ),
        (["player_game_summary", "--dates", "2024-01-01,nope"], "not a date"),
        (["player_game_summary"], "--start-date"),
        (["player_game_summary", "--dates", "2024-01-01", "--pace", "-1"], "must be >= 0"),
        (["nbac_schedule", "--dates", "2024-01-01"], "unknown table"),
    ],
)
def test_bad_input_exits_2(project: Project, args: list[str], message: str) -> None:
    argv = project.argv(args[0], *args[1:])
    r = subprocess.run(argv, capture_output=True, text=True, env=clean_env())
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr
    assert r.stdout == ""


def test_missing_warehouse_exits_2(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "nba_tui.sample.backfill", "player_game_summary"]
    argv += ["--warehouse", str(tmp_path / "nope"), "--dates", "2024-01-01"]
    r = subprocess.run(argv, capture_output=True, text=True, env=clean_env())
    assert r.returncode == 2 and "not found" in r.stderr
    assert not (tmp_path / "nope").exists()


def test_pace_env_and_flag(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--pace`, else NBA_TUI_SAMPLE_PACE, else the table's own pace; the flag reaches the loop:
    with the variable at 600 s a date, `--pace 0` writes both dates well inside the run's
    timeout (that the pace is waited is test_sigterm_abandons_the_current_date's subject)."""
    table = "team_offense_game_summary"
    monkeypatch.delenv(backfill.PACE_ENV, raising=False)
    given = [table, "--warehouse", str(project.warehouse)]
    args = backfill.build_parser().parse_args(given)
    assert backfill._pace(args, BY_NAME[table]) == BY_NAME[table].pace
    monkeypatch.setenv(backfill.PACE_ENV, "600")
    for flag, pace in (([], 600.0), (["--pace", "0"], 0.0)):
        args = backfill.build_parser().parse_args([*given, *flag])
        assert backfill._pace(args, BY_NAME[table]) == pace
    argv = project.argv(table, "--dates", "2024-01-02,2024-01-03", "--no-resume", "--pace", "0")
    env = clean_env() | {backfill.PACE_ENV: "600"}
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout, "Success") == ["2024-01-02", "2024-01-03"]


def test_writer_and_reader_work_concurrently(project: Project) -> None:
    """WAL: coverage polls keep answering while a backfill commits date after date."""
    argv = project.argv("player_shot_zone_analysis", "--start-date", "2024-11-10",
                        "--end-date", "2025-01-31", "--pace", "0.01")  # fmt: skip
    p = project.pipeline
    wh = SqliteWarehouse(p.sqlite_dir, p.datasets(), busy_timeout_ms=2000)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=clean_env())
    polls: list[int] = []
    try:
        wait_for_lines(proc, "Success", 1)
        while proc.poll() is None:
            counts = fetch(p, wh)
            polls.append(len(counts.rows["player_shot_zone_analysis"]))
        out = proc.stdout.read() if proc.stdout else ""
    finally:
        proc.kill()
        proc.wait()
    final = len(fetch(p, wh).rows["player_shot_zone_analysis"])
    wh.close()
    assert proc.returncode == 0, out
    assert len(polls) >= 3
    assert polls == sorted(polls) and polls[0] >= 1
    assert final > polls[0]


def test_a_failed_write_leaves_the_previous_rows(project: Project) -> None:
    """One transaction per date: an error halfway through the inserts changes nothing."""

    tdef = BY_NAME["team_offense_game_summary"]
    before = rows_of(project, tdef.name, "2024-01-03")
    conn = project.connect()
    try:
        ctx = Context.load(conn)
        rows = engine.derive(ctx, tdef, "2024-01-03")
        assert sorted(rows) == sorted(before)
        with pytest.raises(sqlite3.IntegrityError):
            engine.write_date(conn, tdef, "2024-01-03", [*rows, rows[0]])  # duplicate key
        assert not conn.in_transaction
    finally:
        conn.close()
    assert rows_of(project, tdef.name, "2024-01-03") == before


def test_fail_dates_test_knob(project: Project, run_backfill: RunBackfill) -> None:
    """TEST-ONLY --fail-dates: the named date of the named table fails, the others are written."""
    table = "team_defense_game_summary"
    missing = [d.isoformat() for d in coverage(project).tables[table].missing][:3]
    bad = missing[1]
    other = f"player_game_summary:{missing[0]}"  # another table's entry: ignored here
    r = run_backfill(table, "--dates", ",".join(missing), "--pace", "0",
                     "--fail-dates", f"{table}:{bad},{other}")  # fmt: skip
    assert r.returncode == 1
    assert lines(r.stdout, "FAILED") == [bad]
    assert f"FAILED {bad}: test-only failure (--fail-dates)" in r.stdout
    left = {d.isoformat() for d in coverage(project).tables[table].missing}
    assert bad in left and missing[0] not in left and missing[2] not in left
    r = run_backfill(table, "--dates", bad, "--pace", "0", "--fail-dates", "not-a-date")
    assert r.returncode == 2 and "--fail-dates" in r.stderr
