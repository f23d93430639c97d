"""The CLI's renderings on their own: the `jobs` table's STATE column and the one preflight
rendering in its two forms (the CLI's full text, the dashboard modal's compact one)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nba_tui import config as cfg
from nba_tui import preflight
from nba_tui.cli.jobs import render_jobs
from nba_tui.jobs.model import JobRecord, JobState, JobView, Progress
from nba_tui.monitor import snapshot_once
from nba_tui.preflight import PreflightReport
from nba_tui.sample import build_warehouse

REPO = Path(__file__).resolve().parents[2]


def _view(
    state: JobState, exit_code: int | None, table: str = "team_defense_game_summary"
) -> JobView:
    rec = JobRecord(
        "abc123", table, ["x"], "", 0.0, "u", state=state, pid=4194304,
        started_at=0.0, ended_at=7530.0, exit_code=exit_code,
    )  # fmt: skip
    return JobView(rec, Progress("2024-01-01", 5, 10, 1234.5, 99999.0))


@pytest.mark.parametrize(
    ("state", "code", "shown"),
    [
        (JobState.STOPPED, 143, "stopped"),  # the stop's own TERM is not news
        (JobState.STOPPED, -15, "stopped"),
        (JobState.FAILED, 1, "failed 1"),  # short: the full text leaves the names no room
        (JobState.FAILED, 137, "failed 137"),
        (JobState.FAILED, -9, "killed -9"),
        (JobState.DONE, 0, "done"),
        (JobState.LOST, None, "lost"),
    ],
)
def test_jobs_state_column(state: JobState, code: int | None, shown: str) -> None:
    lines = render_jobs([_view(state, code)], now=7530.0).splitlines()
    row = lines[1]
    assert all(len(line) <= 80 for line in lines), lines
    assert row[6:].split("  ")[0].strip().startswith("team_defense_game_su")
    state_at = lines[0].index("STATE")
    assert row[state_at : state_at + len(shown) + 1] == shown + " "
    assert "2h05m" in row  # elapsed 7530 s, with fmt.clock


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PreflightReport]:
    root = tmp_path_factory.mktemp("render")
    shutil.copy(REPO / "pipeline.yaml", root / "pipeline.yaml")
    pipeline = cfg.load(root / "pipeline.yaml")
    build_warehouse(pipeline)
    snap = snapshot_once(pipeline)
    return {ph: preflight.check(pipeline, snap, ph) for ph in ("phase3", "phase4")}


def test_full_preflight_names_the_exact_fill_command(reports: dict[str, PreflightReport]) -> None:
    report = reports["phase4"]
    text = preflight.render(report, config="other.yaml")
    plain = text.plain
    assert plain.startswith("Preflight phase4 over 2021-10-19..2026-01-02: ✘ NOT READY (3 of 5")
    # 80 columns, unless one word (a long temporary path) is longer than the room left
    wide = [ln for ln in plain.splitlines() if len(ln) > 80 and max(map(len, ln.split())) < 40]
    assert not wide
    joined = plain.replace(" \\\n" + " " * 15, " ")  # the continuation lines, pasted back
    fill = "fill:    nba-tui launch team_defense_game_summary --missing --config other.yaml"
    assert fill in joined
    short = next(c for c in report.checks if c.coverage.name == "team_defense_game_summary")
    assert short.fill_command is not None
    assert preflight.format_command(short.fill_command) in joined  # the real argv, pasteable
    assert {str(s.style) for s in text.spans} >= {"red", "green"}
    assert "If run anyway (--skip-preflight):" in plain


def test_compact_preflight_fits_the_modal(reports: dict[str, PreflightReport]) -> None:
    report = reports["phase4"]
    text = preflight.render(report, compact=True)
    plain = text.plain
    assert plain.startswith("phase4 over 2021-10-19..2026-01-02: ✘ NOT READY (3 of 5")
    assert all(len(line) <= 78 for line in plain.splitlines() if not line.startswith("  - "))
    assert "fill: m on it, or nba-tui launch team_defense_game_summary --missing" in plain
    assert "/" not in plain.replace("2021-10-19..", "")  # no paths: reads the same on any machine
    assert "bold red" in {str(s.style) for s in text.spans}


def test_ready_report_has_no_fix_or_degradation(reports: dict[str, PreflightReport]) -> None:
    for compact in (False, True):
        plain = preflight.render(reports["phase3"], compact=compact).plain
        assert "✔ READY" in plain
        assert "✘" not in plain and "fill" not in plain and "If run anyway" not in plain


@pytest.mark.parametrize(
    ("code", "full"), [(1, "failed (exit 1)"), (-9, "killed (SIGKILL)"), (0, "done")]
)
@pytest.mark.parametrize("width", [None, 120])
def test_jobs_cuts_nothing_when_piped_or_wide_enough(
    code: int, full: str, width: int | None
) -> None:
    """Piped (width None) or on a terminal wide enough: whole table names, full state texts."""
    state = JobState.DONE if code == 0 else JobState.FAILED
    long_name = "player_composite_factors_with_a_very_long_name"
    lines = render_jobs([_view(state, code, long_name)], now=7530.0, width=width).splitlines()
    row = lines[1].split()
    assert row[1] == long_name and " ".join(row[2 : 2 + len(full.split())]) == full
    if width is not None:
        assert all(len(line) <= width for line in lines), lines


def test_a_plan_command_names_the_jobs_it_acted_on_in_one_short_line() -> None:
    from nba_tui.cli.jobs import _ids

    assert _ids([]) == "no jobs"
    assert _ids(["j1"]) == "1 job j1"
    many = [f"j{i}" for i in range(1, 10)]
    assert _ids(many) == "9 jobs j1 j2 j3 j4 +5"


def test_plans_and_history_fit_80_columns_but_keep_commands_whole() -> None:
    from nba_tui.cli.listings import render_history, render_plan, render_plans
    from nba_tui.jobs.model import Plan

    plan = Plan("p1a2b3c", "run", ["phase3", "phase4", "phase5"], "me", 0.0)
    plan.failed_tables = ["upcoming_player_game_context", "upcoming_team_game_context", "x" * 30]
    plan.quarantined = {"player_composite_factors": [f"2022-01-0{d}" for d in range(1, 10)]}
    plan.jobs = ["a1b2c3"] * 40
    text = render_plan(plan, 80)
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "upcoming_team_game_context" in text.replace("\n", " ")
    argv = ["python", "-m", "nba_tui.sample.backfill", "y" * 90]
    entry = {"time": "2026-12-07 23:00", "user": "me", "action": "launch", "table": "t" * 70}
    lines = render_history([{**entry, "argv": argv}], 80).splitlines()
    assert all(len(line) <= 80 for line in lines[:-1]) and len(lines) > 2, lines
    assert lines[-1].strip().endswith("y" * 90)  # the argv to copy: one line, whole
    assert render_plan(plan).count("\n") < text.count("\n")  # piped: nothing wrapped
    plan.failed_tables, plan.jobs, plan.message = [], ["a1b2c3"], "cancelled"
    plan.quarantined = {}
    listed = render_plans([plan], [], ["disk full: state /s has 0 KB free"], 80).splitlines()
    assert listed[1:] == ["    cancelled", "disk full: state /s has 0 KB free"]  # lines kept apart
