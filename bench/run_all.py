"""Every benchmark in one command: each figure printed next to its target (✔/✘), all written as JSON.

    .venv/bin/python bench/run_all.py [--quick] [--json PATH]

Full run (~20-30 min): watching cost (terminal bytes/s, CPU of the dashboard's own process) at
80x24 and 120x40, idle and with 3 jobs, locally and over a loopback SSH session (a private sshd);
first paint and first frame at 15 and 100 tables; key -> SIGSTOP p50/p99 over 50 presses under a
10-job log flood; RSS over 300 help-modal cycles and while jobs write 1 GB of logs; CPU while a log
grows by 100 MB; `status --json` at 20 and 100 tables; poll latency and bytes billed vs 1/5/15/50/
100 tables on SQLite and the BigQuery emulator; the idle-night BigQuery figure; write→screen
p50/p99 over a backfill (bench_lag.py); `status --json`, the first poll and idle CPU at 1,000
tables; the engines
(bench_engines.py, ~2 min: one Phase 4 table from empty on local, Ray with 8 shards on a loopback
head, Cloud Run with 8 tasks on the contract server; wall times and ratios); the chaos soak
(bench_chaos.py, ~10 min: two seeded chaos nights over 70 game dates; dates lost, duplicate
keys, double launches, processes left, the longest time without a plan runner); the forecast's
error at 10/25/50 % of a demo night (bench_forecast.py, ~2-3 min).

`--quick` (< 5 min): the local subset (no SSH, no emulator, no 1 GB of logs) with shorter windows;
it ends with exactly one line `quick: N of M targets met`.

Needs the README's test setup (scripts/test.sh: `.venv` with the test extra; tmux, script and
openssh-server). What is missing is skipped with the reason printed, never a crash. Everything it
starts (tmux servers on private sockets, sshd, the emulator, jobs) is stopped at the end and its
temporary directory removed. The exit status is 0 when every target was met.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bench_lag
import bench_load
import bench_poll
import bench_status
import bench_tui
from harness import REPO, Figure, missing, print_figures, tools_missing, write_json


@dataclass
class Step:
    name: str
    run: Callable[[Path], list[Figure]]
    terminal: bool = True
    """Needs tmux and script (skipped with the reason when missing)."""


def steps(quick: bool) -> list[Step]:
    """What runs, and how long: the quick subset is local only, with shorter windows
    and the 80x24 terminal only (the sizes without a target are left to the full run)."""
    window = 10.0 if quick else 30.0
    sizes = ["80x24"] if quick else ["80x24", "120x40"]
    out = [
        Step("watching, local", lambda w: bench_tui.run(w, window, sizes, False, False)),
        Step("first frame, 100 tables", lambda w: bench_tui.first_frame_100(w, window)),
        Step(
            "status --json", lambda w: bench_status.run(w, [20, 100], runs=3 if quick else 5), False
        ),
        Step("key -> SIGSTOP", lambda w: bench_load.key_latency(w, 50)),
        Step("RSS, modal cycles", lambda w: bench_load.rss_modal(w, 300)),
        Step("CPU, log grows", lambda w: bench_load.cpu_log_growth(w, 100, 10 if quick else 20)),
        Step("polls", lambda w: bench_poll.run(w, list(bench_poll.COUNTS), not quick), False),
        Step("write→screen", lambda w: bench_lag.run(w, 2.0, 300 if quick else 600), False),
    ]
    if not quick:
        ssh = Step("watching, ssh", lambda w: bench_tui.watch_ssh(_template(w), w, sizes, window))
        out.insert(2, ssh)
        out.insert(-1, Step("RSS, 1 GB of logs", lambda w: bench_load.rss_logs(w, 1.0)))
        out.append(Step("engines", lambda w: __import__("bench_engines").run(w), False))
        out.insert(
            3,
            Step("status, 1,000 tables", lambda w: bench_status.run(w, [1000], 1800, 5, 3), False),
        )
        out.append(Step("chaos soak", lambda w: __import__("bench_chaos").run(w), False))
        out.append(Step("forecast", _forecast, False))
    return out


def _forecast(work: Path) -> list[Figure]:
    """bench_forecast.py's night (~2-3 min): forecast error at 10/25/50 % of the makespan."""
    import bench_forecast

    sub = work / "forecast"
    sub.mkdir(exist_ok=True)
    return bench_forecast.run(sub, *bench_forecast.RANGE, 3)


def _template(work: Path) -> Path:
    """The sample pipeline built by the local watching step (or now, if it did not run)."""
    cfg = work / "template" / "pipeline.yaml"
    return cfg if cfg.exists() else bench_tui.sample_template(cfg.parent)


def run_step(step: Step, work: Path) -> list[Figure]:
    """One benchmark; a failure is one ✘ figure with its reason, and the run goes on."""
    t0 = time.monotonic()
    print(f"\n== {step.name}", flush=True)
    why = tools_missing() if step.terminal else None
    try:
        figs = [missing(step.name, f"skipped: {why}", "(skipped)")] if why else step.run(work)
    except Exception as e:  # noqa: BLE001 - report and go on with the other benchmarks
        traceback.print_exc()
        fig = missing(f"{step.name}: failed", f"error: {str(e).splitlines()[0][:70]}", "runs")
        fig.ok = False
        figs = [fig]
    for f in figs:
        f.group = step.name
    print_figures(figs)
    print(f"({step.name}: {time.monotonic() - t0:.0f} s)", flush=True)
    return figs


def meta(quick: bool, seconds: float) -> dict:
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "quick": quick,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "seconds": round(seconds, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the local subset, under 5 minutes")
    ap.add_argument("--json", type=Path, help="where to write the figures (default: a temp file)")
    args = ap.parse_args()
    out = args.json or Path(tempfile.gettempdir()) / f"nba-tui-bench-{os.getpid()}.json"
    work = Path(tempfile.mkdtemp(prefix="nba-tui-bench-all-"))
    t0 = time.monotonic()
    figs: list[Figure] = []
    try:
        for step in steps(args.quick):
            figs += run_step(step, work)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    write_json(figs, out, meta(args.quick, time.monotonic() - t0))
    print("\n== every figure")
    print_figures(figs)
    print(f"\nJSON: {out}  ({time.monotonic() - t0:.0f} s)")
    line, all_met = summary(figs, args.quick)
    print(line)
    return 0 if all_met else 1


def summary(figs: list[Figure], quick: bool) -> tuple[str, bool]:
    """The closing line (`quick: N of M targets met`) and whether every target was met. A figure
    with a target that was not measured (skipped, failed, not exposed) counts as not met."""
    targets = [f for f in figs if f.target]
    met = sum(1 for f in targets if f.ok)
    line = f"{'quick' if quick else 'all'}: {met} of {len(targets)} targets met"
    return line, met == len(targets)


if __name__ == "__main__":
    raise SystemExit(main())
