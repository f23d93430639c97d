"""Engines: a Phase 4 table filled from empty on local (1 slot), Ray (8 shards), Cloud Run (8 tasks).

    python bench/bench_engines.py [--dates N] [--pace S] [--json [PATH]]

In a temporary directory: the shipped sample pipeline narrowed to RANGE, its warehouse built
and brought up to date for TABLE's inputs (the Phase 3 tables and the rest of Phase 4 filled at
pace 0, not timed), then TABLE's rows deleted for N dates (the last N whose betting lines exist,
so no date takes the degraded path). Each engine gets its own copy of that warehouse and config
and backfills those N dates from empty, one run each, through nba_tui's `Supervisor` (the real
path: shims, bridges, drivers, real processes):

1. local:    `jobs.max_parallel: 1`, one job (`Supervisor.launch` of the N dates);
2. ray:      a real loopback Ray head started here (8 CPUs, each job reserves 1), and a run plan
             of Phase 4 with `shards=8` (`Supervisor.run_phases`): its runner cuts the N dates into
             8 disjoint shards, each a Ray job submitted by its bridge;
3. cloudrun: the loopback Cloud Run contract server (tests/engines/cloudrun_contract.py: the real
             google-cloud-run / Cloud Logging clients, each task a real local process), one job of
             `jobs.cloudrun.tasks: 8` (each task takes its slice of the dates).

The clock runs from the launch call until every job (the plan) has ended (the Ray head's start
is not timed). Printed for each: wall time, its overhead (wall time minus the paced work at full
width, N/width x pace: process starts, submissions, polling), dates filled, rows written and
duplicate keys (must be 0); then local/ray and local/cloudrun, and last the line
`ratio ray=X.XX cloudrun=Y.YY` (> 1: faster than local).

NBA_TUI_SAMPLE_PACE (`--pace`, default 1.0 s per date) is simulated per-date work (a wait, not
CPU): it makes the per-date work weigh more than process starts and engine overheads, so the
ratio says something about the engines' parallelism even on a 2-core box, where CPU-bound dates
could not run 8 at a time. Without it the ratios only measure Python start-up and polling. On 2
cores the Ray overhead is large (~15-20 s: eight bridges each importing Ray's job client, eight
Ray job supervisors and drivers starting at once), so its ratio grows with --dates x --pace.
Defaults (48 dates, 1.0 s) run in about two minutes.

Everything it starts (the Ray head, the contract server and its tasks, the jobs' shims, bridges
and plan runner) is stopped at the end, on Ctrl-C and on SIGTERM too; the temporary directory is
removed. Needs the test extra (ray[default], google-cloud-run, google-cloud-logging).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from harness import REPO, Figure, figure, kill_sessions, write_json

sys.path.insert(0, str(REPO / "tests" / "engines"))
sys.path.insert(0, str(REPO / "tests"))  # waiting.wait_for, which the engine helpers use

import ray_helpers  # noqa: E402
from cloudrun_contract import ContractServer  # noqa: E402
from engine_helpers import duplicate_keys  # noqa: E402

from nba_tui import backfill_argv, config  # noqa: E402
from nba_tui.config import Pipeline  # noqa: E402
from nba_tui.jobs.errors import JobError  # noqa: E402
from nba_tui.jobs.model import (
    JobState,  # noqa: E402
    PlanState,  # noqa: E402
)
from nba_tui.jobs.schedule import MIN_SHARD_DATES  # noqa: E402
from nba_tui.jobs.supervisor import Supervisor  # noqa: E402
from nba_tui.monitor import snapshot_once  # noqa: E402
from nba_tui.sample import ensure_warehouse, remove_checkpoints  # noqa: E402
from nba_tui.sample.backfill import PACE_ENV  # noqa: E402
from nba_tui.sample.tables import BY_NAME  # noqa: E402
from nba_tui.warehouse.sqlite import connect  # noqa: E402

TABLE = "player_composite_factors"
PHASE = "phase4"
RANGE = ("2023-12-18", "2024-03-20")
"""86 game dates, 73 of them past Phase 4's bootstrap: a short build and fill."""
INPUTS = [
    "team_defense_game_summary",
    "upcoming_player_game_context",
    "upcoming_team_game_context",
    "team_defense_zone_analysis",
    "player_shot_zone_analysis",
    "player_daily_cache",
    TABLE,
    "ml_feature_store",
]
"""Filled (pace 0, untimed) before TABLE is emptied: its inputs, and every other Phase 4 table,
so the Ray plan of Phase 4 has TABLE alone to run."""
SOFT = ["upcoming_player_game_context", "upcoming_team_game_context"]
"""TABLE's soft inputs: the sample has no betting lines on a few dates (they stay missing)."""
SHARDS = TASKS = 8
RUN_TIMEOUT = 600.0
HEAD_CPUS = 8


@dataclass
class Result:
    engine: str
    seconds: float
    filled: int
    rows: int
    duplicates: int
    jobs: int
    width: int
    """How many dates run at once at most: slots, shards or tasks."""
    note: str = ""

    def overhead(self, n: int, pace: float) -> float:
        """Wall time beyond the paced work at full width: process starts, submissions, polls."""
        return self.seconds - -(-n // self.width) * pace


# -- the pipeline and its warehouse ----------------------------------------------------------------
def write_config(root: Path, jobs: dict[str, Any]) -> Pipeline:
    """The shipped pipeline.yaml narrowed to RANGE with `jobs`, named after `root` (the engines'
    labels then tell this run's jobs from anyone else's)."""
    root.mkdir(parents=True, exist_ok=True)
    text = (REPO / "pipeline.yaml").read_text()
    text = re.sub(r"(?m)^pipeline: .*$", f"pipeline: nba bench {root.name}", text)
    text = re.sub(r"(?m)^range: .*$", f"range: {{start: {RANGE[0]}, end: {RANGE[1]}}}", text)
    base = {"log_dir": "logs", "state_dir": ".nba_tui", "stop_grace": "2s", "retries": 0}
    text = re.sub(r"(?ms)^jobs: \{.*?\}", "jobs: " + json.dumps({**base, **jobs}), text)
    (root / "pipeline.yaml").write_text(text)
    return config.load(root / "pipeline.yaml")


def missing(pipe: Pipeline, table: str) -> list[dt.date]:
    return list(snapshot_once(pipe).tables[table].missing)


def prepare(root: Path, n: int) -> tuple[Pipeline, list[dt.date], int]:
    """The template: TABLE's inputs complete, TABLE lacking its last `n` expected dates.
    Returns the pipeline, those dates and the rows deleted."""
    pipe = write_config(root, {"max_parallel": 1})
    ensure_warehouse(pipe)
    env = {**os.environ, PACE_ENV: "0"}
    for name in INPUTS:
        days = missing(pipe, name)
        if not days:
            continue
        argv = backfill_argv.render_argv(pipe, pipe.table(name), dates=days, python=sys.executable)
        done = subprocess.run(argv, env=env, cwd=root, capture_output=True, text=True)  # noqa: S603
        if done.returncode != 0:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise RuntimeError(f"filling {name} exited {done.returncode}: {tail}")
    remove_checkpoints(pipe)
    # TABLE's present dates whose soft inputs are present too (no date takes the degraded path)
    lacking = set(missing(pipe, TABLE)) | {d for s in SOFT for d in missing(pipe, s)}
    have = sorted(set(snapshot_once(pipe).expected_dates) - lacking)
    if len(have) < n:
        raise SystemExit(f"--dates {n}: {TABLE} has only {len(have)} dates in {RANGE}; ask fewer")
    days = have[-n:]
    deleted = delete_rows(pipe, days)
    if sorted(missing(pipe, TABLE)) != days:
        raise RuntimeError(f"{TABLE} should lack exactly the {n} deleted dates")
    return pipe, days, deleted


def _sql(pipe: Pipeline, fn: Callable[[sqlite3.Connection, str], int]) -> int:
    t = BY_NAME[TABLE]
    con = connect(pipe.sqlite_dir, [t.ref.dataset])
    try:
        return fn(con, t.ref.sqlite_sql())
    finally:
        con.close()


def delete_rows(pipe: Pipeline, days: list[dt.date]) -> int:
    marks = ", ".join("?" for _ in days)

    def run(con: sqlite3.Connection, src: str) -> int:
        with con:
            cur = con.execute(
                f"DELETE FROM {src} WHERE game_date IN ({marks})",  # noqa: S608 - constants
                [d.isoformat() for d in days],
            )
            con.execute(f'PRAGMA "{BY_NAME[TABLE].ref.dataset}".wal_checkpoint(TRUNCATE)')
        return int(cur.rowcount)

    return _sql(pipe, run)


def count_rows(pipe: Pipeline, days: list[dt.date]) -> int:
    marks = ", ".join("?" for _ in days)

    def run(con: sqlite3.Connection, src: str) -> int:
        sql = f"SELECT COUNT(*) FROM {src} WHERE game_date IN ({marks})"  # noqa: S608
        return int(con.execute(sql, [d.isoformat() for d in days]).fetchone()[0])

    return _sql(pipe, run)


def copy_warehouse(template: Pipeline, root: Path, jobs: dict[str, Any]) -> Pipeline:
    pipe = write_config(root, jobs)
    shutil.copytree(template.sqlite_dir, pipe.sqlite_dir)
    return pipe


# -- what it started, stopped whatever happens -----------------------------------------------------
class Started:
    """The supervisors, the Ray head and the contract server of this run, for the cleanup."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.sups: list[Supervisor] = []
        self.head: tuple[int, Path] | None = None
        self.server: ContractServer | None = None

    def stop(self) -> list[str]:
        """Stop every job and plan, the head and the server; what could not be stopped."""
        left: list[str] = []
        for sup in self.sups:
            with contextlib.suppress(Exception):
                for p in sup.plans():
                    if p.state in (PlanState.RUNNING, PlanState.LOST):
                        with contextlib.suppress(JobError):
                            sup.cancel_plan(p.id)
                for v in sup.jobs():
                    if v.state.active:
                        with contextlib.suppress(JobError):
                            sup.stop(v.id, grace=2)
        kill_sessions(self.work)  # whatever a failed stop left (our sessions, our cwd only)
        if self.server is not None:
            left += [f"contract server task {pid}" for pid in self.server.close()]
            self.server = None
        if self.head is not None:
            session, temp_dir = self.head
            left += [f"ray process {pid}" for pid in ray_helpers.stop_head(session, temp_dir)]
            shutil.rmtree(temp_dir, ignore_errors=True)
            self.head = None
        return left


def start_head(started: Started) -> tuple[str, float]:
    temp_dir = Path(tempfile.mkdtemp(prefix="nbaray", dir="/tmp"))  # short: unix socket paths
    errors = []
    for _ in range(ray_helpers.START_ATTEMPTS):
        try:
            address, session, seconds = ray_helpers.start_head(temp_dir, HEAD_CPUS)
        except RuntimeError as e:
            errors.append(str(e))
            continue
        except BaseException:  # Ctrl-C mid-start: no session yet, its processes name temp_dir
            ray_helpers.stop_head(-1, temp_dir)
            shutil.rmtree(temp_dir, ignore_errors=True)
            raise
        started.head = (session, temp_dir)
        return address, seconds
    shutil.rmtree(temp_dir, ignore_errors=True)
    raise RuntimeError(f"cannot start a Ray head: {'; '.join(errors)}")


# -- one run per engine ----------------------------------------------------------------------------
def wait(cond: Callable[[], bool], what: str) -> None:
    """Poll the job records (a real external state: other processes write them), bounded."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {RUN_TIMEOUT:.0f} s waiting for {what}")
        time.sleep(0.05)


def measure(
    engine: str, pipe: Pipeline, days: list[dt.date], took: float, sup: Supervisor, width: int
) -> Result:
    views = sup.jobs()
    bad = [
        f"{v.record.table} {v.id} {v.state}: {v.record.message or ''}".strip()
        for v in views
        if v.state is not JobState.DONE or v.record.table != TABLE
    ]
    left = set(missing(pipe, TABLE)) & set(days)
    return Result(
        engine,
        took,
        len(days) - len(left),
        count_rows(pipe, days),
        duplicate_keys(pipe, TABLE),
        len(views),
        width,
        "; ".join(bad)[:200],
    )


def run_single(
    engine: str, pipe: Pipeline, days: list[dt.date], started: Started, width: int
) -> Result:
    """One job of the N dates (local: one slot; cloudrun: one execution of TASKS tasks)."""
    sup = Supervisor(pipe)
    started.sups.append(sup)
    t0 = time.monotonic()
    job = sup.launch(TABLE, dates=days).id
    wait(lambda: not sup.job(job).state.active, f"the {engine} job")
    return measure(engine, pipe, days, time.monotonic() - t0, sup, width)


def run_plan(pipe: Pipeline, days: list[dt.date], started: Started) -> Result:
    """A Phase 4 run plan with SHARDS shards per table: TABLE is its only short table."""
    sup = Supervisor(pipe)
    started.sups.append(sup)
    t0 = time.monotonic()
    plan = sup.run_phases([PHASE], shards=SHARDS)
    wait(lambda: sup.plan(plan.id).state not in (PlanState.RUNNING, PlanState.LOST), "the plan")
    res = measure("ray", pipe, days, time.monotonic() - t0, sup, SHARDS)
    res.width = max(1, min(SHARDS, res.jobs))  # fewer dates than 8 shards' worth: fewer shards
    end = sup.plan(plan.id)
    if end.state is not PlanState.DONE:
        res.note = f"plan {end.state}: {end.message or ''} {res.note}".strip()
    return res


def run_all(work: Path, n: int, pace: float, started: Started) -> tuple[list[Result], int]:
    """The three runs; (their results, rows the N dates held before they were emptied)."""
    t0 = time.monotonic()
    template, days, expected_rows = prepare(work / "template", n)
    say(
        f"prepared {TABLE}: {n} dates {days[0]}..{days[-1]} emptied ({expected_rows} rows) "
        f"in {time.monotonic() - t0:.0f} s"
    )
    os.environ[PACE_ENV] = str(pace)  # inherited by shims, bridges (to Ray / Cloud Run), runners
    results: list[Result] = []

    def show(r: Result) -> None:
        say(line(r, n, pace, expected_rows))

    local = copy_warehouse(template, work / "local", {"engine": "local", "max_parallel": 1})
    results.append(run_single("local", local, days, started, 1))
    show(results[-1])

    address, seconds = start_head(started)
    say(f"ray head at {address} ({HEAD_CPUS} CPUs) started in {seconds:.1f} s (not timed)")
    ray = {"engine": "ray", "ray": {"address": address, "num_cpus": 1}, "max_parallel": SHARDS}
    results.append(run_plan(copy_warehouse(template, work / "ray", ray), days, started))
    show(results[-1])
    started.stop()  # the head's processes are gone before Cloud Run's tasks start

    server = started.server = ContractServer().start()
    settings = {
        "project": server.project,
        "region": server.region,
        "job": server.job,
        "endpoint": server.endpoint,
        "python": sys.executable,
        "tasks": TASKS,
        "max_requests_per_minute": 6000,
    }
    cloudrun = {"engine": "cloudrun", "max_parallel": 1, "cloudrun": settings}
    pipe = copy_warehouse(template, work / "cloudrun", cloudrun)
    results.append(run_single("cloudrun", pipe, days, started, TASKS))
    show(results[-1])
    return results, expected_rows


# -- output ----------------------------------------------------------------------------------------
def say(msg: str) -> None:
    print(msg, flush=True)


def line(r: Result, n: int, pace: float, expected_rows: int) -> str:
    rows = f"{r.rows}" + ("" if r.rows == expected_rows else f" (want {expected_rows})")
    out = (
        f"{r.engine:9} {r.seconds:6.1f} s (overhead {r.overhead(n, pace):5.1f} s)  "
        f"dates filled {r.filled:3}  rows {rows:>5}  duplicate keys {r.duplicates}  jobs {r.jobs}"
    )
    return out + (f"  !! {r.note}" if r.note else "")


def figures(results: list[Result], n: int, pace: float, expected_rows: int) -> list[Figure]:
    by = {r.engine: r for r in results}
    out = []
    for r in results:
        e = r.engine
        out += [
            figure(f"{e}: wall time", r.seconds, "s"),
            figure(f"{e}: overhead", r.overhead(n, pace), "s"),
            figure(f"{e}: dates filled", r.filled, "", f"= {n}", lambda v: v == n),
            figure(f"{e}: rows", r.rows, "", f"= {expected_rows}", lambda v: v == expected_rows),
            figure(f"{e}: duplicate keys", r.duplicates, "", "= 0", lambda v: v == 0),
        ]
    for e in ("ray", "cloudrun"):
        out.append(figure(f"local/{e}", by["local"].seconds / by[e].seconds, "x"))
    return out


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds through the cleanup like Ctrl-C


def measure_all(work: Path, n: int, pace: float) -> tuple[list[Result], int]:
    """The three runs in `work` (removed after), everything they started stopped, whatever
    happens; (the results, rows the N dates held before they were emptied)."""
    work.mkdir(parents=True, exist_ok=True)
    started = Started(work)
    try:
        return run_all(work, n, pace, started)
    finally:
        left = started.stop()
        shutil.rmtree(work, ignore_errors=True)
        if left:
            say(f"still running after cleanup: {', '.join(left)}")


def run(work: Path, dates: int = 48, pace: float = 1.0) -> list[Figure]:
    """The figures, for run_all.py."""
    results, expected_rows = measure_all(work / "engines", dates, pace)
    return figures(results, dates, pace, expected_rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--dates",
        type=int,
        default=48,
        help=f"dates of the table to fill (48; 8 shards need {SHARDS * MIN_SHARD_DATES}+)",
    )
    ap.add_argument("--pace", type=float, default=1.0, help="seconds of work per date (1.0)")
    ap.add_argument(
        "--json",
        nargs="?",
        const="",
        metavar="PATH",
        help="also write the figures as JSON (PATH omitted: a temp file)",
    )
    args = ap.parse_args(argv)
    if args.dates < SHARDS:
        ap.error(f"--dates {args.dates}: at least {SHARDS} (one per shard)")
    if args.pace < 0:
        ap.error("--pace must be >= 0")
    signal.signal(signal.SIGTERM, _terminate)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    say(f"{TABLE}, {args.dates} dates, pace {args.pace} s/date, {os.cpu_count()} CPUs, load {load}")
    t0 = time.monotonic()
    try:
        results, expected_rows = measure_all(
            Path(tempfile.mkdtemp(prefix="bench_engines_")), args.dates, args.pace
        )
    except KeyboardInterrupt:
        say("interrupted: everything the bench started is stopped")
        return 130
    figs = figures(results, args.dates, args.pace, expected_rows)
    by = {r.engine: r for r in results}
    ray, cloudrun = (by["local"].seconds / by[e].seconds for e in ("ray", "cloudrun"))
    say(f"local/ray {ray:.2f}x  local/cloudrun {cloudrun:.2f}x  ({time.monotonic() - t0:.0f} s)")
    if args.json is not None:
        out = Path(args.json or Path(tempfile.gettempdir()) / f"nba-tui-engines-{os.getpid()}.json")
        meta = {
            "dates": args.dates,
            "pace": args.pace,
            "cpus": os.cpu_count(),
            "loadavg": os.getloadavg(),
        }
        write_json(figs, out, meta)
        say(f"JSON: {out}")
    say(f"ratio ray={ray:.2f} cloudrun={cloudrun:.2f}")
    return 0 if all(f.ok is not False for f in figs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
