"""Makespan: today's strict cascade vs the autopilot, from the incident's state to Phase 5 done.

    python bench/bench_makespan.py [--quick] [--max-parallel 8] [--pace S] [--start D --end D]

Each mode runs in its own temporary copy of the repository's pipeline.yaml (its own warehouse,
state and log directories: never the user's), after `nba-tui demo reset` (the incident's state),
with a fixed sample pace (NBA_TUI_SAMPLE_PACE) and no dashboard. The clock runs from
`Supervisor.run_phases(["phase3", "phase4", "phase5"])` to the plan's end:

* strict: `strict_cascade=True, shards=1` (today: each table of a `parallel: false` phase waits
  for the whole previous table, one job per table);
* autopilot: the pipelined plan at the same `max_parallel`.

`--quick` narrows the range and the pace so both runs finish in a few minutes. The last line is
`ratio=<autopilot/strict>`.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nba_tui import config
from nba_tui.jobs.model import Plan, PlanState
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.monitor import snapshot_once

ROOT = Path(__file__).resolve().parents[1]
PHASES = ["phase3", "phase4", "phase5"]
QUICK = {"start": "2024-01-02", "end": "2024-03-03", "pace": 0.3}
FULL = {"start": None, "end": None, "pace": 0.3}


def prepare(work: Path, start: str | None, end: str | None, max_parallel: int) -> Path:
    """A copy of pipeline.yaml in `work` (relative dirs: its own warehouse, state and logs)."""
    text = (ROOT / "pipeline.yaml").read_text()
    if start and end:
        text = re.sub(r"(?m)^range: .*$", f"range: {{start: {start}, end: {end}}}", text)
    text = re.sub(r"max_parallel: \d+", f"max_parallel: {max_parallel}", text, count=1)
    cfg = work / "pipeline.yaml"
    cfg.write_text(text)
    reset = [sys.executable, "-m", "nba_tui", "demo", "reset", "--config", str(cfg), "--force"]
    subprocess.run(reset, check=True, cwd=work, stdout=subprocess.DEVNULL)  # noqa: S603
    return cfg


def run(cfg: Path, strict: bool) -> tuple[float, Plan]:
    """Wall time of one plan from launch to its end."""
    pipe = config.load(cfg)
    sup = Supervisor(pipe)
    t0 = time.monotonic()
    plan = sup.run_phases(PHASES, strict_cascade=strict, shards=1 if strict else None)
    while sup.plan(plan.id).state in (PlanState.RUNNING, PlanState.LOST):
        time.sleep(0.2)
    took = time.monotonic() - t0
    return took, sup.plan(plan.id)


def timeline(cfg: Path, plan: Plan) -> list[str]:
    """Per table: its jobs, first start and last end (seconds from the plan's creation)."""
    sup = Supervisor(config.load(cfg))
    recs = [sup.job(j).record for j in plan.jobs]
    out = []
    for table in dict.fromkeys(r.table for r in recs):
        mine = [r for r in recs if r.table == table and r.started_at and r.ended_at]
        if mine:
            first = min(r.started_at for r in mine) - plan.created_at
            last = max(r.ended_at for r in mine) - plan.created_at
            out.append(f"    {table:28} {len(mine):3} jobs  {first:6.1f} s .. {last:6.1f} s")
    return out


def describe(name: str, cfg: Path, took: float, plan: Plan) -> str:
    pipe = config.load(cfg)
    snap = snapshot_once(pipe)
    p5 = [snap.tables[t.name] for t in pipe.phase("phase5").tables]
    met = all(c.ok for c in p5)
    return (
        f"{name:9} {took:8.1f} s  plan {plan.state}  jobs {len(plan.jobs):4}  "
        f"phase5 {'meets its thresholds' if met else 'SHORT'} "
        f"({', '.join(f'{c.name} {c.present}/{c.expected}' for c in p5)})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a short range and pace (< 5 min)")
    ap.add_argument("--max-parallel", type=int, default=8)
    ap.add_argument("--pace", type=float, help="seconds per date (default 0.3, the sample's own)")
    ap.add_argument("--start")
    ap.add_argument("--end")
    ap.add_argument("--only", choices=["strict", "autopilot"], help="run one mode (tuning)")
    args = ap.parse_args(argv)
    base = QUICK if args.quick else FULL
    start, end = args.start or base["start"], args.end or base["end"]
    pace = args.pace if args.pace is not None else base["pace"]
    os.environ["NBA_TUI_SAMPLE_PACE"] = str(pace)
    print(
        f"range {start or 'pipeline'}..{end or 'pipeline'}, pace {pace} s/date, "
        f"max_parallel {args.max_parallel}, {os.cpu_count()} CPUs",
        flush=True,
    )
    times = {}
    with tempfile.TemporaryDirectory(prefix="bench_makespan_") as tmp:
        for name, strict in (("strict", True), ("autopilot", False)):
            if args.only and name != args.only:
                times[name] = float("nan")
                continue
            work = Path(tmp) / name
            work.mkdir()
            cfg = prepare(work, start, end, args.max_parallel)
            took, plan = run(cfg, strict)
            times[name] = took
            print(describe(name, cfg, took, plan), flush=True)
            print("\n".join(timeline(cfg, plan)), flush=True)
    ratio = times["autopilot"] / times["strict"]
    print(f"strict={times['strict']:.1f}s autopilot={times['autopilot']:.1f}s")
    print(f"ratio={ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
