"""`nba-tui watch` on the real sample warehouse: a baseline, rows deleted behind its back are a
regression (exit 1), nothing new is exit 0, `--heal` launches a gap-only backfill once and never
twice for the same gap, and SIGTERM ends a looping watch cleanly."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from cli_helpers import run_cli, sample_built_fixture, sample_fixture  # noqa: F401 (fixtures)
from waiting import wait_for

from nba_tui import config as cfg
from nba_tui.jobs.supervisor import Supervisor

TABLE = "player_game_summary"


def _db(proj: Path) -> sqlite3.Connection:
    return sqlite3.connect(proj / ".nba_tui" / "warehouse" / "nba_analytics.db")


def _present_dates(proj: Path, n: int) -> list[str]:
    """n consecutive present dates of the table from the middle of a season (not bootstrap)."""
    conn = _db(proj)
    try:
        rows = conn.execute(
            f"SELECT DISTINCT game_date FROM {TABLE} WHERE game_date BETWEEN ? AND ? "
            "ORDER BY game_date LIMIT ?",
            ("2023-01-10", "2023-02-10", n),
        ).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


def _delete(proj: Path, dates: list[str], db: str = "nba_analytics", table: str = TABLE) -> None:
    conn = sqlite3.connect(proj / ".nba_tui" / "warehouse" / f"{db}.db")
    try:
        with conn:
            conn.executemany(f"DELETE FROM {table} WHERE game_date = ?", [(d,) for d in dates])
    finally:
        conn.close()


def _count(proj: Path, dates: list[str]) -> int:
    conn = _db(proj)
    try:
        marks = ",".join("?" * len(dates))
        (n,) = conn.execute(
            f"SELECT COUNT(DISTINCT game_date) FROM {TABLE} WHERE game_date IN ({marks})", dates
        ).fetchone()
    finally:
        conn.close()
    return n


def _hook(proj: Path) -> Path:
    """alerts.on_event: a program appending what it reads on stdin to hook.out."""
    out = proj / "hook.out"
    code = f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read())"
    cfg_path = proj / "pipeline.yaml"
    text = cfg_path.read_text()
    assert "  on_event: null" in text
    hook = json.dumps([sys.executable, "-c", code])
    cfg_path.write_text(text.replace("  on_event: null", f"  on_event: {hook}"))
    return out


def test_deleted_rows_are_a_regression_once(sample: Path) -> None:
    hook = _hook(sample)
    first = run_cli(sample, "watch", "--once")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("baseline: 15 tables")
    dates = _present_dates(sample, 3)
    _delete(sample, dates)
    found = run_cli(sample, "watch", "--once")
    assert found.returncode == 1, found.stderr
    lines = found.stdout.splitlines()
    assert len(lines) == 1
    assert f"regression {TABLE} 3 dates {dates[0]}..{dates[-1]}" in lines[0]
    again = run_cli(sample, "watch", "--once")
    assert (again.returncode, again.stdout) == (0, "")
    (event,) = [
        json.loads(line) for line in (sample / ".nba_tui" / "events.jsonl").read_text().splitlines()
    ]
    assert (event["kind"], event["table"], event["dates"]) == ("coverage_dropped", TABLE, dates)
    (delivered,) = [json.loads(line) for line in hook.read_text().splitlines()]
    assert delivered["id"] == event["id"]  # the hook got it, once
    state = json.loads((sample / ".nba_tui" / "watch.json").read_text())
    assert dates[0] not in state["present"][TABLE]
    assert state["open"] == {TABLE: dates}  # found, not healed (no --heal)


def _wait_ended(sup: Supervisor, job_id: str, timeout: float = 60) -> str:
    ended = wait_for(
        lambda: not (v := sup.job(job_id)).state.active and v, timeout, f"job {job_id} to end"
    )
    return str(ended.state)


def test_heal_launches_a_gap_only_backfill_once(sample: Path) -> None:
    assert run_cli(sample, "watch", "--once", "--heal").returncode == 0
    dates = _present_dates(sample, 2)
    _delete(sample, dates)
    healed = run_cli(sample, "watch", "--once", "--heal")
    assert healed.returncode == 1, healed.stderr
    lines = healed.stdout.splitlines()
    assert [ln.split()[1] for ln in lines] == ["regression", "launched"]
    assert f"launched {TABLE} backfill for 2 dates {dates[0]}..{dates[1]} job " in lines[1]
    assert "healed" not in healed.stdout  # launched, not filled yet
    job = lines[1].split()[-1]
    sup = Supervisor(cfg.load(sample / "pipeline.yaml"))
    assert sup.job(job).record.dates == dates  # gap only: exactly the deleted dates
    assert _wait_ended(sup, job) == "done"
    assert _count(sample, dates) == 2  # filled
    jobs_before = len(sup.jobs())
    done = run_cli(sample, "watch", "--once", "--heal")
    assert done.returncode == 1, done.stderr
    (line,) = done.stdout.splitlines()
    assert f"healed {TABLE} 2 dates {dates[0]}..{dates[1]} (filled by job {job})" in line
    quiet = run_cli(sample, "watch", "--once", "--heal")
    assert (quiet.returncode, quiet.stdout) == (0, "")
    # the same gap again: reported, never launched a second time
    _delete(sample, dates)
    again = run_cli(sample, "watch", "--once", "--heal")
    assert again.returncode == 1
    assert f"not_healed {TABLE} 2 dates" in again.stdout and "never twice" in again.stdout
    assert len(sup.jobs()) == jobs_before


def test_too_big_a_gap_is_reported_not_launched(sample: Path) -> None:
    assert run_cli(sample, "watch", "--once").returncode == 0
    dates = _present_dates(sample, 4)
    _delete(sample, dates)
    out = run_cli(sample, "watch", "--once", "--heal", "--max-heal-dates", "3")
    assert out.returncode == 1
    assert f"too_big {TABLE} 4 dates" in out.stdout
    assert f"nba-tui launch {TABLE} --missing" in out.stdout
    assert Supervisor(cfg.load(sample / "pipeline.yaml")).jobs() == []


def test_a_gap_whose_input_nobody_fills_is_said_once_and_kept_open(sample: Path) -> None:
    assert run_cli(sample, "watch", "--once", "--heal").returncode == 0
    dates = _present_dates(sample, 2)
    _delete(sample, dates)
    _delete(sample, dates, "nba_raw", "bdl_box_scores")  # a raw input: no backfill heals it
    out = run_cli(sample, "watch", "--once", "--heal")
    assert out.returncode == 1
    kinds = sorted(line.split()[1:3] for line in out.stdout.splitlines())
    assert kinds == [["blocked", TABLE], ["regression", "bdl_box_scores"], ["regression", TABLE]]
    assert (
        "cannot be filled: no rows in bdl_box_scores there, which nothing backfills" in out.stdout
    )
    again = run_cli(sample, "watch", "--once", "--heal")
    assert (again.returncode, again.stdout) == (0, "")
    state = json.loads((sample / ".nba_tui" / "watch.json").read_text())
    assert state["open"][TABLE] == dates  # launched once the scrapers reload bdl_box_scores
    assert Supervisor(cfg.load(sample / "pipeline.yaml")).jobs() == []


def test_bad_input_and_sigterm(sample: Path) -> None:
    bad = run_cli(sample, "watch", "--interval", "0s")
    assert bad.returncode == 2 and "not a duration" in bad.stderr
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nba_tui",
            "watch",
            "--interval",
            "1h",
            "--config",
            str(sample / "pipeline.yaml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=sample,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the first cycle is done once its line is out
    assert line.startswith("baseline:")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
