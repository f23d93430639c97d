"""A chaos night: `run phase3 phase4 phase5` on a narrowed copy of the sample while a seeded loop
hits it with faults (a plain module shared by tests/chaos and bench/bench_chaos.py).

Faults, in a seeded order, a few seconds apart: kill -9 of the plan runner, of a job's shim and of
a backfill; SIGSTOP of a backfill (SIGCONT 3 s later); the log directory (a tmpfs) filled for 20 s;
the plan file emptied; the plan paused (resumed 3 s later); a dashboard started in tmux and killed
with -9. Meanwhile a monitor looks at the plan every 0.25 s (how long it is without a live runner)
and at the jobs every second (two live jobs of one table over a shared date = a double launch).

Then it counts, from the warehouse files (SQL): every date the night could fill is present, no
key appears twice; no process of the night is left; the morning report names each failed job.
`Night.result().line()` is the one summary line the bench prints last.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from waiting import wait_for

from nba_tui import config, readiness
from nba_tui.config import Pipeline
from nba_tui.jobs import procs
from nba_tui.jobs.model import Plan, PlanState
from nba_tui.jobs.plan_end import missing_in_plan
from nba_tui.jobs.store import Store
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once
from nba_tui.sample import ensure_warehouse
from nba_tui.sample.tables import BY_NAME
from nba_tui.warehouse.sqlite import dataset_file

ROOT = Path(__file__).resolve().parents[2]
PHASES = ("phase3", "phase4", "phase5")
FAULTS = (
    "runner",
    "shim",
    "backfill",
    "backfill",
    "stop_cont",
    "stop_cont",
    "full_log",
    "empty_plan",
    "pause",
    "runner",
    "dashboard",
    "dashboard",
)
"""One night's faults (shuffled by the seed)."""
FULL_FOR = 20.0
"""Seconds the log disk stays full."""


def write_pipeline(proj: Path, start: str, end: str) -> Pipeline:
    """The shipped pipeline narrowed to `start..end`, 3 slots, generous quick retries."""
    text = (ROOT / "pipeline.yaml").read_text()
    text = re.sub(r"(?m)^range: .*$", f"range: {{start: {start}, end: {end}}}", text)
    text = re.sub(
        r"(?ms)^jobs: \{.*?\}",
        "jobs: {max_parallel: 3, log_dir: logs, state_dir: .nba_tui, stop_grace: 2s, "
        "retries: 4, retry_backoff: 0.5s}",
        text,
    )
    proj.mkdir(parents=True, exist_ok=True)
    (proj / "pipeline.yaml").write_text(text)
    return config.load(proj / "pipeline.yaml")


@dataclass
class Result:
    faults: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    double_launches: list[str] = field(default_factory=list)
    lost_runner_s: float = 0.0
    leftovers: list[str] = field(default_factory=list)
    failed_jobs: list[str] = field(default_factory=list)
    unreported: list[str] = field(default_factory=list)
    plan_state: str = ""
    short_unexplained: dict[str, int] = field(default_factory=dict)
    """Per table of a `short` plan: its missing plan dates that something could still fill (a
    short night is true only when every missing date is one nothing fills)."""
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"chaos: faults={len(self.faults)} missing={sum(map(len, self.missing.values()))} "
            f"duplicates={sum(self.duplicates.values())} "
            f"double_launches={len(self.double_launches)} "
            f"lost_runner_s={self.lost_runner_s:.1f} leftovers={len(self.leftovers)}"
        )


Span = tuple[set[str] | None, str, str]
"""A job's dates: the list (if any), and its first and last date."""


def span(dates: list[str] | None, start: str | None, end: str | None) -> Span:
    if dates:
        return set(dates), min(dates), max(dates)
    return None, start or "", end or "9999"


def overlap(a: Span, b: Span) -> bool:
    """Do two jobs' dates share one (a list against a list or a range, or two ranges)?"""
    if a[0] is not None and b[0] is not None:
        return bool(a[0] & b[0])
    if a[0] is not None or b[0] is not None:
        listed, rng = (a, b) if a[0] is not None else (b, a)
        return any(rng[1] <= d <= rng[2] for d in listed[0] or ())
    return a[1] <= b[2] and b[1] <= a[2]


def dates_and_duplicates(
    con: sqlite3.Connection, table: str, key: tuple[str, ...], lo: str, hi: str
) -> tuple[set[str], int]:
    """The table's dates in `lo..hi`, and how many keys appear more than once (SQL)."""
    quoted = '"' + table.replace('"', '""') + '"'
    cols = ", ".join('"' + c.replace('"', '""') + '"' for c in key)
    q = f"SELECT DISTINCT game_date FROM {quoted} WHERE game_date BETWEEN ? AND ?"  # noqa: S608
    have = {d for (d,) in con.execute(q, (lo, hi))}
    dup = f"SELECT COUNT(*) FROM (SELECT 1 FROM {quoted} GROUP BY {cols} HAVING COUNT(*) > 1)"  # noqa: S608
    return have, con.execute(dup).fetchone()[0]


class Night:
    """One seeded chaos night in `proj` (a fresh directory)."""

    def __init__(  # noqa: PLR0913 - the night's parameters
        self, proj: Path, seed: int, pace: float, start: str, end: str, rounds: int = 1
    ) -> None:
        self.proj = proj
        self.rounds = rounds
        self.rng = random.Random(seed)
        self.pace = pace
        self.pipe = write_pipeline(proj, start, end)
        self.store = Store(self.pipe.state_dir)
        self.result = Result()
        self.plan_id = ""
        self.t0 = 0.0
        self.done = threading.Event()
        self.pending: list[tuple[float, str, Callable[[], None]]] = []
        self.tmux = f"chaos-{os.getpid()}-{seed}"
        self.tmpfs = False
        self.targets: dict[str, list[dt.date]] = {}
        self.runner_killed_at: float | None = None

    # -- set-up ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """The warehouse, the log tmpfs (or why not), and what the night must fill."""
        ensure_warehouse(self.pipe)
        logs = self.proj / "logs"
        logs.mkdir(mode=0o700, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(logs)],
            capture_output=True,
            text=True,
            check=False,
        )
        self.tmpfs = done.returncode == 0
        if not self.tmpfs:
            why = done.stderr.strip() or f"mount exited {done.returncode}"
            self.result.skipped.append(f"full_log: cannot mount a tmpfs ({why})")
        snap = snapshot_once(self.pipe)
        for phase in PHASES:
            for t in self.pipe.phase(phase).tables:
                if t.backfill is not None:
                    self.targets[t.name] = readiness.fillable_missing(self.pipe, snap, t.name)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        env["NBA_TUI_SAMPLE_PACE"] = str(self.pace)
        return env

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "nba_tui", *args, "--config", str(self.pipe.source)],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env(),
            cwd=self.proj,
            check=False,
        )

    # -- the night ---------------------------------------------------------------------------
    def run(self, deadline: float) -> Result:
        """Start the night, hit it, wait for its end (at most `deadline` s), count."""
        started = self.cli("run", *PHASES, "--json")
        if started.returncode != 0:
            raise RuntimeError(f"run refused: {started.stderr.strip()}")
        self.plan_id = json.loads(started.stdout)["id"]
        self.t0 = time.monotonic()
        watcher = threading.Thread(target=self.watch, args=(deadline,), daemon=True)
        watcher.start()
        try:
            self.hit(deadline)
            self.settle()
            watcher.join(deadline + 30)
        finally:
            self.done.set()
            self.cleanup()
        self.result.seconds = time.monotonic() - self.t0
        self.count()
        return self.result

    def hit(self, deadline: float) -> None:
        faults = list(FAULTS) * self.rounds
        self.rng.shuffle(faults)
        with contextlib.suppress(AssertionError):  # a night with no job yet is counted below
            wait_for(lambda: self.running_views(), 60, "a running job")
        for name in faults:
            gap = self.rng.uniform(2.0, 5.0)
            if self.ended() or self.elapsed() > deadline or self.pause_run(gap):
                self.result.skipped.append(f"{name}: the night ended first")
                continue
            try:
                why = getattr(self, f"fault_{name}")()
            except (OSError, psutil.Error, subprocess.SubprocessError) as e:
                why = f"could not: {e}"  # e.g. the job ended between the pick and the kill
            what = f"+{self.elapsed():5.1f}s {name}"
            if why:
                self.result.skipped.append(f"{what}: {why}")
            else:
                self.result.faults.append(what)

    def pause_run(self, seconds: float) -> bool:
        """Run due deferred actions for `seconds`; True when the night ended meanwhile."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self.run_due()
            if self.ended():
                return True
            time.sleep(0.1)
        return False

    def run_due(self, everything: bool = False) -> None:
        now = time.monotonic()
        for item in sorted(self.pending):
            if everything or item[0] <= now:
                self.pending.remove(item)
                with contextlib.suppress(OSError, psutil.Error):
                    item[2]()

    def later(self, seconds: float, what: str, fn: Callable[[], None]) -> None:
        self.pending.append((time.monotonic() + seconds, what, fn))

    def settle(self) -> None:
        """Deferred actions (SIGCONT, resume, free the disk) on time, then the night's end."""
        while self.pending:
            self.run_due()
            time.sleep(0.1)
        self.done.wait()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    # -- what the night looks like -----------------------------------------------------------
    def plan(self) -> Plan | None:
        found = self.store.read_plan(self.plan_id)
        return found if isinstance(found, Plan) else None

    def ended(self) -> bool:
        return self.done.is_set()

    def running_views(self) -> list:
        sup = Supervisor(self.pipe)
        return [v for v in sup.jobs() if v.state.active and v.record.pid is not None]

    def unexplained(self, plan: Plan) -> dict[str, int]:
        """A short plan's missing dates per table that are not dates nothing can fill."""
        snap = snapshot_once(self.pipe)
        out = {}
        for table in plan.short:
            never = readiness.unfillable(self.pipe, snap, table)
            left = [d for d in missing_in_plan(snap, plan, table) if d not in never]
            if left:
                out[table] = len(left)
        return out

    def watch(self, deadline: float) -> None:
        """The plan's runner every 0.1 s until the plan ends (live jobs: `watch_jobs`). A gap
        runs from the runner's death (its kill, when we killed it) to a live runner's sight."""
        jobs = threading.Thread(target=self.watch_jobs, daemon=True)
        jobs.start()
        last: Plan | None = None
        gap_since: float | None = None
        while time.monotonic() - self.t0 < deadline:
            plan = self.plan() or last
            last = plan
            now = time.monotonic()
            if plan is not None and plan.state not in (PlanState.RUNNING, PlanState.LOST):
                break
            alive = plan is not None and procs.same_process(plan.runner_pid, plan.runner_start_time)
            if alive:
                gap_since = None
            else:
                gap_since = min(gap_since or now, self.runner_killed_at or now)
                self.result.lost_runner_s = max(self.result.lost_runner_s, now - gap_since)
            self.runner_killed_at = None if alive else self.runner_killed_at
            time.sleep(0.1)
        self.result.plan_state = str(last.state) if last else "?"
        if last is not None and last.state is PlanState.SHORT:
            self.result.short_unexplained = self.unexplained(last)
        self.done.set()
        jobs.join(30)

    def watch_jobs(self) -> None:
        """Live jobs every 0.5 s: two of one table sharing a date is a double launch."""
        while not self.done.is_set():
            with contextlib.suppress(Exception):  # a record mid-replace: the next look
                self.check_overlaps()
            self.done.wait(0.5)

    def check_overlaps(self) -> None:
        live: dict[str, list[tuple[str, Span]]] = {}
        for v in self.running_views():
            r = v.record
            mine = span(r.dates, r.start, r.end)
            for other, theirs in live.get(r.table, []):
                if overlap(mine, theirs):
                    self.result.double_launches.append(
                        f"+{self.elapsed():.1f}s {r.table}: jobs {other} and {r.id} both live"
                    )
            live.setdefault(r.table, []).append((r.id, mine))

    # -- the faults (None when done, else why not) ---------------------------------------------
    def _pick(self, attr: str) -> tuple[object, int] | None:
        views = [v for v in self.running_views() if getattr(v.record, attr)]
        if not views:
            return None
        v = self.rng.choice(views)
        return v, getattr(v.record, attr)

    def fault_runner(self) -> str | None:
        plan = self.plan()
        if plan is None or not procs.same_process(plan.runner_pid, plan.runner_start_time):
            return "no live runner"
        self.runner_killed_at = time.monotonic()
        os.kill(plan.runner_pid, signal.SIGKILL)
        return None

    def fault_shim(self) -> str | None:
        picked = self._pick("shim_pid")
        if picked is None:
            return "no running job"
        os.kill(picked[1], signal.SIGKILL)
        return None

    def fault_backfill(self) -> str | None:
        picked = self._pick("pid")
        if picked is None:
            return "no running job"
        os.kill(picked[1], signal.SIGKILL)
        return None

    def fault_stop_cont(self) -> str | None:
        picked = self._pick("pid")
        if picked is None:
            return "no running job"
        pid = picked[1]
        os.kill(pid, signal.SIGSTOP)
        self.later(3.0, "SIGCONT", lambda: os.kill(pid, signal.SIGCONT))
        return None

    def fault_full_log(self) -> str | None:
        if not self.tmpfs:
            return "no tmpfs"
        filler = self.proj / "logs" / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for block in (1 << 20, 4096, 1):
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * block)
        finally:
            os.close(fd)
        self.later(FULL_FOR, "free the log disk", filler.unlink)
        return None

    def fault_empty_plan(self) -> str | None:
        path = self.store.plan_path(self.plan_id)
        with open(path, "r+b") as f:
            f.truncate(0)
        return None

    def fault_pause(self) -> str | None:
        done = self.cli("pause", self.plan_id)
        if done.returncode != 0:
            return f"pause refused: {done.stderr.strip()}"
        self.later(3.0, "resume", lambda: self.resume())
        return None

    def resume(self) -> None:
        for _ in range(20):  # a refused resume (a record mid-write) is tried again
            if self.cli("resume", self.plan_id).returncode == 0:
                return
            time.sleep(0.5)

    def fault_dashboard(self) -> str | None:
        tmux = shutil.which("tmux")
        if tmux is None:
            return "no tmux"
        argv = [sys.executable, "-m", "nba_tui", "--config", str(self.pipe.source)]
        shown = subprocess.run(
            [tmux, "-L", self.tmux, "new-session", "-d", "-P", "-F", "#{pane_pid}"]
            + ["-x", "80", "-y", "24", *argv],
            env={**self.env(), "TERM": "xterm-256color"},
            cwd=self.proj,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        pid = int(shown.stdout.strip())
        self.later(4.0, "kill -9 the dashboard", lambda: self.kill_dashboard(pid))
        return None

    def kill_dashboard(self, pid: int) -> None:
        try:
            p = psutil.Process(pid)
            if p.cmdline()[-4:] == ["-m", "nba_tui", "--config", str(self.pipe.source)]:
                p.kill()
                return
        except psutil.Error:
            pass
        self.result.skipped.append(f"+{self.elapsed():5.1f}s dashboard {pid}: gone before its kill")

    # -- the end -----------------------------------------------------------------------------
    def night_processes(self) -> list[psutil.Process]:
        """Every process whose command line names this night's directory."""
        mark = str(self.proj)
        out = []
        for p in psutil.process_iter(["pid", "cmdline"]):
            with contextlib.suppress(psutil.Error):
                if p.pid != os.getpid() and any(mark in a for a in p.info["cmdline"] or ()):
                    out.append(p)
        return out

    def cleanup(self) -> None:
        self.run_due(everything=True)  # nothing left stopped, paused, or full
        if self.plan() is not None and self.plan().paused:
            self.resume()
        if shutil.which("tmux"):
            subprocess.run(
                ["tmux", "-L", self.tmux, "kill-server"], capture_output=True, check=False
            )
        if not self.ended():  # the deadline passed: stop the night
            self.cli("cancel", self.plan_id)
        with contextlib.suppress(AssertionError):  # what is left is recorded as leftovers
            wait_for(lambda: not self.night_processes(), 30, "the night's processes to end")
        left = self.night_processes()
        self.result.leftovers = [f"{p.pid} {' '.join(p.cmdline())[:120]}" for p in left]
        for p in left:  # ours: the night's processes, ended so the next test starts clean
            with contextlib.suppress(psutil.Error):
                p.kill()
        if self.tmpfs:
            subprocess.run(["umount", "-l", str(self.proj / "logs")], check=False)

    def count(self) -> None:
        """Missing dates and duplicate keys from the warehouse files; the report's failures."""
        lo, hi = self.pipe.range.start.isoformat(), self.pipe.range.end.isoformat()
        for name, wanted in self.targets.items():
            tdef = BY_NAME[name]
            db = dataset_file(self.pipe.sqlite_dir, tdef.ref.dataset)
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                have, dups = dates_and_duplicates(con, tdef.ref.table, tdef.key, lo, hi)
            finally:
                con.close()
            lacking = [d.isoformat() for d in wanted if d.isoformat() not in have]
            if lacking:
                self.result.missing[name] = lacking
            if dups:
                self.result.duplicates[name] = dups
        self.check_report()

    def check_report(self) -> None:
        sup = Supervisor(self.pipe)
        failed = [
            v.id
            for v in sup.jobs()
            if v.record.plan == self.plan_id and str(v.state) in ("failed", "lost")
        ]
        self.result.failed_jobs = sorted(set(failed))
        report = self.cli("report", "--since", "2h")
        text = report.stdout
        self.result.unreported = [j for j in self.result.failed_jobs if j not in text]
