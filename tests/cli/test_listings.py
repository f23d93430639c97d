"""`jobs`, `history`, `plans`, `cancel` and the CLI's output rules (issues 8 #7 and 9 #5, #6, #15).

The listings print what other processes recorded, so the records are written here through the
real store (`nba_tui.jobs.store.Store`, `action_log.record`) and read back by the real CLI.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nba_tui import config as cfg
from nba_tui.cli.common import no_stale_claim, use_color
from nba_tui.cli.listings import render_history, render_jobs, render_plan, select
from nba_tui.jobs import action_log
from nba_tui.jobs.model import JobRecord, JobState, JobView, Plan, PlanState, Progress
from nba_tui.jobs.store import Store

PIPELINE = """\
pipeline: listings
range: {start: 2024-01-01, end: 2024-03-31}
expected_dates: {table: raw.schedule}
warehouse: {sqlite: {path: wh, sample: false}}
jobs: {state_dir: state, log_dir: logs}
phases:
  - name: p2
    tables:
      - {name: schedule, table: raw.schedule}
      - {name: alpha, table: raw.alpha, backfill: {command: ["{python}", "-c", "pass"]}}
      - {name: beta, table: raw.beta, backfill: {command: ["{python}", "-c", "pass"]}}
"""


def record(ident: str, table: str, state: JobState, created: float, **kw: object) -> JobRecord:
    return JobRecord(
        ident, table, ["prog", table], f"/logs/{ident}.log", created, "me", state=state, **kw
    )


def view(rec: JobRecord) -> JobView:
    return JobView(rec, Progress())


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    (tmp_path / "pipeline.yaml").write_text(PIPELINE)
    return tmp_path


def nba(proj: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nba_tui", *argv, "--config", str(proj / "pipeline.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=proj,
        env=env,
        check=False,
    )


def store(proj: Path) -> Store:
    return Store(cfg.load(proj / "pipeline.yaml").state_dir)


# -- jobs: the active and the latest per table, active first --------------------------------------


def test_select_puts_running_paused_queued_first_then_latest_per_table() -> None:
    now = 1_700_000_000.0
    views = [  # newest first, as the supervisor lists them
        view(record("q1", "gamma", JobState.QUEUED, now - 1)),
        view(record("d3", "alpha", JobState.DONE, now - 2)),
        view(record("p1", "beta", JobState.PAUSED, now - 3)),
        view(record("f1", "beta", JobState.FAILED, now - 4)),
        view(record("r1", "delta", JobState.RUNNING, now - 5)),
        view(record("d2", "alpha", JobState.DONE, now - 6)),
        view(record("d1", "epsilon", JobState.STOPPED, now - 7)),
    ]
    assert [v.id for v in select(views)] == ["r1", "p1", "q1", "d3", "d1"]
    text = render_jobs(select(views), now, hidden=2)
    assert text.splitlines()[-1] == "(2 older jobs: nba-tui jobs --all)"
    assert [line.split()[0] for line in text.splitlines()[1:-1]] == ["r1", "p1", "q1", "d3", "d1"]


def test_a_paused_job_shows_no_eta_and_names_are_escaped() -> None:
    rec = record("abc123", "t\x1b[2J", JobState.PAUSED, 1.0, started_at=1.0)
    text = render_jobs([JobView(rec, Progress(eta_s=600.0, current_date="2024-01-02"))], 61.0)
    row = text.splitlines()[1]
    assert "\x1b" not in text and "t\\x1b[2J" in row
    assert row.split()[-1] == "-" and "2024-01-02" in row


def test_jobs_lists_latest_per_table_all_with_all_and_damaged_records(proj: Path) -> None:
    st = store(proj)
    now = time.time()
    for i, (ident, table) in enumerate(
        [("aaa001", "alpha"), ("aaa002", "alpha"), ("aaa003", "alpha"), ("bbb001", "beta")]
    ):
        st.save_job(record(ident, table, JobState.DONE, now - 100 + i, exit_code=0))
    bad = st.job_path("dead01")
    bad.write_text('{"id": "dead01", "table": "alpha", "created_at": "yesterday"')  # truncated
    bad.chmod(0o600)

    out = nba(proj, "jobs")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:3]] == ["bbb001", "aaa003"]
    assert "(2 older jobs: nba-tui jobs --all)" in lines
    damaged = next(line for line in lines if line.startswith("dead01"))
    assert "damaged" in damaged and str(bad) in damaged

    every = json.loads(nba(proj, "jobs", "--all", "--json").stdout)
    ids = [j["id"] for j in every if j["state"] != "damaged"]
    assert ids == ["bbb001", "aaa003", "aaa002", "aaa001"]
    assert [j["path"] for j in every if j["state"] == "damaged"] == [str(bad)]


# -- history: recorded text is shown escaped, never obeyed ---------------------------------------


def test_history_prints_a_recorded_escape_visibly(proj: Path) -> None:
    st = store(proj)
    st.ensure()
    action_log.record(st, user="mallory", action="launch", table="alpha", argv=["prog", "\x1b[2J"])
    out = nba(proj, "history")
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout
    assert "\\x1b[2J" in out.stdout and "mallory" in out.stdout
    assert render_history([{"user": "\x00x", "action": 5, "argv": ["a\nb"]}]).count("\n") == 1


# -- plans: readable text, and cancel ------------------------------------------------------------


def test_plans_are_words_not_python_lists() -> None:
    plan = Plan("p1a2b3", "run", ["phase4", "phase5"], "me", 1.0, state=PlanState.FAILED)
    plan.failed_stages, plan.message = ["phase5"], "failed: ['phase5']"
    plan.skipped = [{"table": "x", "reason": "no backfill command"}]
    text = render_plan(plan)
    assert "[" not in text and "'" not in text, text
    assert "failed in phase5" in text and "skipped x: no backfill command" in text
    assert text.startswith("p1a2b3  run   failed    phase4 > phase5  jobs: -")


def test_cancel_a_plan_then_refuse_a_second_cancel(proj: Path) -> None:
    st = store(proj)
    plan = Plan(st.new_plan_id(), "run", ["p2"], "me", time.time())
    st.save_plan(plan)
    queued = record("qqq001", "alpha", JobState.QUEUED, time.time(), plan=plan.id)
    st.save_job(queued)

    out = nba(proj, "cancel", plan.id)
    assert out.returncode == 0, out.stderr
    assert f"plan {plan.id} is cancelled" in out.stdout
    assert st.load_plan(plan.id).state is PlanState.CANCELLED
    assert st.load_job("qqq001").state is JobState.STOPPED  # it never starts
    again = nba(proj, "cancel", plan.id)
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert "nothing left to cancel" in again.stderr
    listed = nba(proj, "plans")
    assert f"{plan.id}  run   cancelled" in listed.stdout


# -- output rules --------------------------------------------------------------------------------


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("value", "colour"), [(None, True), ("", True), ("1", False), ("0", False), ("yes", False)]
)
def test_only_a_non_empty_no_color_turns_colour_off(
    monkeypatch: pytest.MonkeyPatch, value: str | None, colour: bool
) -> None:
    """no-color.org: 'when present and not an empty string'."""
    monkeypatch.setenv("TERM", "xterm")
    if value is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", value)
    assert use_color(Tty()) is colour
    assert use_color(io.StringIO()) is False  # never when piped


def test_a_one_shot_command_never_claims_to_show_the_last_good_data() -> None:
    from nba_tui.warehouse.bq_errors import STALE_HINT

    for message in (
        f"query timed out after 30 s ({STALE_HINT})",
        "warehouse busy (showing the last good data; it is retried when that request ends)",
        "poll failed (showing the last good data with its age)",
    ):
        line = no_stale_claim(message)
        assert "last good data" not in line and "()" not in line, line
    assert no_stale_claim(f"timeout ({STALE_HINT})").startswith("timeout (check the network")


def test_start_up_loads_no_heavy_dependency() -> None:
    """Registration is static; Rich, psutil, asyncio, the sample generator and BigQuery are
    imported by the commands that use them."""
    code = (
        "import sys\n"
        "from nba_tui.cli import build_parser\n"
        "build_parser().parse_args(['jobs'])\n"
        "heavy = ('rich', 'psutil', 'asyncio', 'textual', 'google', 'nba_tui.jobs.supervisor',\n"
        "         'nba_tui.sample', 'nba_tui.monitor')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=True,
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_a_state_directory_others_may_write_is_one_line_and_exit_2(proj: Path) -> None:
    """StateError (a record planted by another user could be run) is bad input, not a crash."""
    st = store(proj)
    st.ensure()
    st.root.chmod(0o777)
    for argv in (["jobs"], ["launch", "alpha"], ["history"], ["cancel", "p000000"]):
        out = nba(proj, *argv)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, (argv, out.stderr)
        assert "writable by group or others" in out.stderr and "Traceback" not in out.stderr
    logs = proj / "logs"
    assert not logs.exists() or not any(logs.iterdir()), "a job was started"


def test_plans_name_failed_stopped_quarantined_and_skipped_in_words() -> None:
    plan = Plan("p0c0ffe", "run", ["phase4"], "me", 1.0, state=PlanState.STOPPED)
    plan.failed_tables, plan.stopped_tables = ["player_daily_cache"], ["ml_feature_store"]
    plan.quarantined = {"player_daily_cache": ["2024-01-05"]}
    plan.skipped_dates = {"ml_feature_store": [f"2024-01-0{i}" for i in range(1, 7)]}
    plan.degraded = {"player_composite_factors": ["2024-02-01"]}
    text = render_plan(plan)
    assert "[" not in text and "'" not in text, text
    assert text.startswith("p0c0ffe  run   stopped   phase4")
    assert "failed: player_daily_cache" in text
    assert "stopped by hand: ml_feature_store" in text
    assert "quarantined player_daily_cache: 2024-01-05" in text
    assert (
        "skipped ml_feature_store: 2024-01-01, 2024-01-02, 2024-01-03, 2024-01-04 (+2 more)" in text
    )
    assert "on fallbacks player_composite_factors: 2024-02-01" in text
    assert max(len(line) for line in text.splitlines()) <= 100
    plan.state, plan.paused = PlanState.RUNNING, True
    assert render_plan(plan).startswith("p0c0ffe  run   paused ")


def test_plan_ids_and_job_ids_never_meet() -> None:
    from nba_tui.cli.jobs import is_plan_ref

    pipeline = cfg.load(Path(__file__).resolve().parents[2] / "pipeline.yaml")
    assert is_plan_ref(pipeline, "p1a2b3c")
    assert not is_plan_ref(pipeline, "1a2b3c")  # a job id: hex digits only
    assert not is_plan_ref(pipeline, "player_game_summary")  # a table, though it starts with p
    assert not is_plan_ref(pipeline, "p1a2b3")  # too short for a plan id


def test_pause_resume_stop_an_unknown_plan_is_bad_input(proj: Path) -> None:
    out = nba(proj, "pause", "p0a0b0c")
    assert out.returncode == 2 and "no plan" in out.stderr and "nba-tui plans" in out.stderr


def test_a_plan_with_many_shard_jobs_stays_one_short_line() -> None:
    plan = Plan("p0c0ffe", "run", ["phase3"], "me", 1.0, state=PlanState.DONE)
    plan.jobs = [f"{i:06x}" for i in range(24)]
    assert render_plan(plan) == (
        "p0c0ffe  run   done      phase3  jobs: 000000 000001 000002 000003 … (24)"
    )


def test_history_is_one_line_per_plan_action_with_its_shards_folded(proj: Path) -> None:
    st = store(proj)
    st.ensure()
    action_log.record(st, user="me", action="launch", job="aaa001", table="alpha", argv=["a"])
    action_log.record(st, user="me", action="plan", plan="p00001", phases=["p2"], argv=["r"])
    for i in range(40):
        job = f"s{i:05d}"
        action_log.record(st, user="me", action="launch", job=job, table="beta", plan="p00001")
    action_log.record(st, user="me", action="stop", job="s00003", table="beta", plan="p00001")
    action_log.record(st, user="me", action="plan-cancel", plan="p00001")
    out = nba(proj, "history")
    assert out.returncode == 0, out.stderr
    heads = [ln for ln in out.stdout.splitlines() if not ln.startswith("    ")]
    assert [ln.split()[2] for ln in heads] == ["launch", "plan", "plan-cancel"]
    assert "jobs: 40 launch, 1 stop (history --all lists them)" in heads[1]
    assert "s00007" not in out.stdout
    every = nba(proj, "history", "--all")
    assert len([ln for ln in every.stdout.splitlines() if "s000" in ln]) == 41
    data = json.loads(nba(proj, "history", "--json").stdout)
    assert [e["action"] for e in data] == ["launch", "plan", "plan-cancel"]
    assert data[1]["folded"] == {"launch": 40, "stop": 1}


def test_history_folds_the_shards_of_a_plan_whose_plan_line_is_out_of_the_window() -> None:
    shards = [
        {"time": "t1", "user": "me", "action": "launch", "job": "s1", "plan": "p1"},
        {"time": "t2", "user": "me", "action": "launch", "job": "x9"},
        {"time": "t3", "user": "me", "action": "launch", "job": "s2", "plan": "p1"},
    ]
    folded = action_log.fold_plans(shards)
    assert [(e["action"], e.get("job")) for e in folded] == [("plan-jobs", None), ("launch", "x9")]
    assert folded[0]["folded"] == {"launch": 2} and folded[0]["time"] == "t1"
    assert "folded" not in shards[0]  # the input is left alone


def test_a_plans_failed_line_is_printed_once() -> None:
    """The runner's message restates the failed and stopped tables: `plans` says them once."""
    plan = Plan("p0c0ffe", "launch", ["phase3"], "me", 1.0, state=PlanState.FAILED)
    plan.failed_tables, plan.stopped_tables = ["team_defense_game_summary"], ["ml_feature_store"]
    plan.message = "failed: team_defense_game_summary; stopped: ml_feature_store; disk was full"
    text = render_plan(plan)
    assert text.count("team_defense_game_summary") == 1, text
    assert text.count("ml_feature_store") == 1, text
    assert text.splitlines()[1:] == [
        "    failed: team_defense_game_summary",
        "    stopped by hand: ml_feature_store",
        "    disk was full",
    ]
