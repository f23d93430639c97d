"""The one soft-input rule end to end on the sample (real programs, real warehouse files):
`launch --missing` offers only fillable dates, `run` says before it starts how many dates will
run on fallbacks, and the demo night from the incident's state ends with Phase 4 and 5 at their
thresholds, the degraded-by-necessity dates counted exactly (against SQL on the sqlite files)."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from autopilot_helpers import sample_pipeline
from jobs_helpers import wait_for

from nba_tui import readiness
from nba_tui.cli import main
from nba_tui.config import Pipeline
from nba_tui.jobs.model import PlanState
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.sample import backfill as sample
from nba_tui.sample import ensure_warehouse

START, END = "2022-12-20", "2023-03-05"
"""Across the first betting lines (2023-01-12): dates with and without them."""
PCF = "player_composite_factors"


def sql(pipe: Pipeline, dataset: str, query: str) -> list[tuple]:
    con = sqlite3.connect(f"file:{pipe.sqlite_dir / (dataset + '.db')}?mode=ro", uri=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def lines_dates(pipe: Pipeline) -> set[dt.date]:
    q = "SELECT DISTINCT game_date FROM bettingpros_player_props"
    return {dt.date.fromisoformat(d) for (d,) in sql(pipe, "nba_raw", q)}


def cli(capsys: pytest.CaptureFixture, pipe: Pipeline, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--config", str(pipe.source)])
    out, err = capsys.readouterr()
    return code, out, err


def on_terminal(fn: Callable[[], int]) -> tuple[int, str]:
    """fn's exit code and what it printed, with stdout on a pseudo-terminal."""
    master, slave = pty.openpty()
    got: list[bytes] = []

    def drain() -> None:  # the terminal's buffer is small: read while fn writes
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not chunk:
                return
            got.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    saved = sys.stdout
    with open(slave, "w") as tty:
        sys.stdout = tty
        try:
            code = fn()
        finally:
            sys.stdout = saved
    reader.join()
    os.close(master)
    return code, b"".join(got).decode().replace("\r\n", "\n")


@pytest.fixture
def pipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    monkeypatch.setenv(sample.PACE_ENV, "0")
    p = sample_pipeline(tmp_path, start=START, end=END, hook=False)
    ensure_warehouse(p)
    return p


def test_launch_missing_offers_only_fillable_dates(pipe: Pipeline, capsys) -> None:  # noqa: ANN001
    table = "upcoming_team_game_context"
    missing = snapshot_once(pipe).tables[table].missing
    lines = lines_dates(pipe)
    fillable = [d for d in missing if d in lines]
    never = [d for d in missing if d not in lines]
    assert fillable and never, "the range holds both kinds of missing dates"
    # the dry run names the dates nothing fills and the ones that will run on fallbacks
    fallback = [d for d in snapshot_once(pipe).tables[PCF].missing if d not in lines]
    code, out, _ = cli(capsys, pipe, "run", "phase3", "phase4", "--dry-run")
    assert code == 0 and all(len(line) <= 80 for line in out.splitlines() if PCF + ": " not in line)
    assert f"  {table}: {len(never)} unfillable: no bettingpros_player_props\n" in out
    assert f"{PCF}: {len(fallback)} will run on fallbacks (degraded by necessity):" in out
    code, out, _ = cli(capsys, pipe, "launch", table, "--missing", "--json")
    job = json.loads(out)
    assert code == 0 and job["dates"] == [d.isoformat() for d in fillable]
    assert job["missing"] == {
        "fillable": len(fillable),
        "fallback_by_necessity": 0,
        "unfillable": len(never),
        "unfillable_why": "no rows in bettingpros_player_props there, which nothing backfills",
    }
    sup = Supervisor(pipe)
    wait_for(lambda: not sup.active(table), 60, "the launch ended")
    # the fillable dates are filled now; the rest are refused, with the reason
    code, _, err = cli(capsys, pipe, "launch", table, "--missing")
    assert code == 1
    assert f"none of its {len(never)} missing dates can be filled: no rows in " in err


def test_run_fallback_lines_wrap_on_a_terminal_and_stay_whole_when_piped(
    pipe: Pipeline,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = ["run", "phase3", "phase4", "--dry-run"]
    code, piped, _ = cli(capsys, pipe, *argv)
    [whole] = [line for line in piped.splitlines() if line.startswith(f"{PCF}: ")]
    assert code == 0 and len(whole) > 80 and whole.endswith(")")  # one line, never cut
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("NO_COLOR", "1")
    code, shown = on_terminal(lambda: main([*argv, "--config", str(pipe.source)]))
    rows = shown.splitlines()
    first = next(i for i, row in enumerate(rows) if row.startswith(f"{PCF}: "))
    wrapped = [rows[first]]
    for row in rows[first + 1 :]:
        if not row.startswith("  "):
            break
        wrapped.append(row)
    assert code == 0 and len(wrapped) > 1
    assert all(len(row) <= 60 for row in wrapped)
    assert " ".join(row.strip() for row in wrapped) == whole


def test_the_demo_night_meets_every_threshold_and_counts_necessity_exactly(
    pipe: Pipeline,
    capsys,  # noqa: ANN001
) -> None:
    snap = snapshot_once(pipe)
    lines = lines_dates(pipe)
    pcf_missing = snap.tables[PCF].missing
    expect_fallback = [d for d in pcf_missing if d not in lines]
    assert expect_fallback and len(expect_fallback) < len(pcf_missing)
    code, out, _ = cli(capsys, pipe, "run", "phase3", "phase4", "phase5", "--json")
    plan = json.loads(out)
    assert code == 0 and plan["fallbacks_by_necessity"] == {PCF: len(expect_fallback)}
    sup = Supervisor(pipe)
    wait_for(
        lambda: sup.plan(plan["id"]).state not in (PlanState.RUNNING, PlanState.LOST),
        900,
        "the night ended",
    )
    done = sup.plan(plan["id"])
    after = snapshot_once(pipe)
    for phase in ("phase4", "phase5"):
        for t in after.phase_tables(pipe, phase):
            assert t.ok, f"{t.name}: {t.present}/{t.expected}"
    assert cli(capsys, pipe, "preflight", "phase5")[0] == 0
    assert done.state is PlanState.DONE, done.message
    # degraded by necessity: the plan's record, the warehouse's flags (SQL) and the rule agree
    iso = [d.isoformat() for d in expect_fallback]
    assert done.necessity == {PCF: iso}
    flagged = "SELECT DISTINCT game_date FROM {} WHERE synthetic = {} ORDER BY 1"
    assert [d for (d,) in sql(pipe, "nba_precompute", flagged.format(PCF, 2))] == iso
    assert sql(pipe, "nba_precompute", flagged.format(PCF, 1)) == []  # nothing by choice
    mlfs = [d for (d,) in sql(pipe, "nba_predictions", flagged.format("ml_feature_store_v2", 2))]
    assert mlfs == iso
    for table in (PCF, "ml_feature_store"):
        need, chose = readiness.degraded_split(pipe, after, table)
        assert ([d.isoformat() for d in need], chose) == (iso, [])
    status = json.loads(cli(capsys, pipe, "status", "--json")[1])
    by_name = {t["name"]: t for p in status["phases"] for t in p["tables"]}
    assert by_name[PCF]["degraded_by_necessity"] == len(iso)
    assert by_name[PCF]["degraded_by_choice"] == 0
    # the same counts in words: status, the report and plans
    text = cli(capsys, pipe, "status")[1]
    n = len(iso)
    assert f"{PCF} {n} ({n} by necessity)" in " ".join(text.split())
    report = cli(capsys, pipe, "report")[1]
    assert "Run on fallbacks by necessity (a soft input nothing can fill):" in report
    assert f"  {PCF}: {n} dates ({n} by necessity)" in report
    assert "Next: nba-tui status" in report
    assert f"on fallbacks by necessity {PCF}: {n} dates" in cli(capsys, pipe, "plans")[1]
