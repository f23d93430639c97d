"""Chaos soaks: seeded chaos nights (tests/chaos/chaos_night.py) on a longer range, one after another.

    .venv/bin/python bench/bench_chaos.py [--seeds N] [--pace S] [--start D] [--end D]

Each night runs `run phase3 phase4 phase5` on a fresh copy of the sample while the seeded loop
kills the runner, shims and backfills (-9), SIGSTOPs backfills, fills the log tmpfs for 20 s
(needs root to mount it; skipped with the reason otherwise), empties the plan file, pauses and
resumes the plan and kills dashboards. Per night it prints the faults and one `chaos:` line; the
last line sums every night:

    chaos: faults=N missing=M duplicates=D double_launches=L lost_runner_s=S leftovers=K

(`lost_runner_s` is the longest time any plan was without a live runner.) The exit status is 0
when every night lost nothing, doubled nothing, left nothing and kept a runner within 30 s.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "chaos"))
sys.path.insert(0, str(REPO / "tests"))  # waiting.wait_for, which chaos_night uses

from chaos_night import Night, Result  # noqa: E402
from harness import Figure  # noqa: E402

RUNNER_LIMIT_S = 30.0


def night(seed: int, pace: float, start: str, end: str, deadline: float, rounds: int) -> Result:
    work = Path(tempfile.mkdtemp(prefix=f"nba-tui-chaos-{seed}-"))
    try:
        n = Night(work / "night", seed, pace, start, end, rounds)
        n.prepare()
        r = n.run(deadline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"-- seed {seed}: plan {r.plan_state} in {r.seconds:.0f} s; failed jobs {r.failed_jobs}")
    for line in (*r.faults, *r.skipped):
        print(f"   {line}")
    for what in ("missing", "duplicates", "double_launches", "leftovers", "unreported"):
        if getattr(r, what):
            print(f"   {what}: {getattr(r, what)}")
    print(f"   {r.line()}", flush=True)
    return r


def total(results: list[Result]) -> Result:
    out = Result()
    for r in results:
        out.faults += r.faults
        out.skipped += r.skipped
        for name, dates in r.missing.items():
            out.missing.setdefault(name, []).extend(dates)
        for name, n in r.duplicates.items():
            out.duplicates[name] = out.duplicates.get(name, 0) + n
        out.double_launches += r.double_launches
        out.leftovers += r.leftovers
        out.unreported += r.unreported
        out.lost_runner_s = max(out.lost_runner_s, r.lost_runner_s)
    return out


def clean(r: Result) -> bool:
    return not (r.missing or r.duplicates or r.double_launches or r.leftovers or r.unreported) and (
        r.lost_runner_s <= RUNNER_LIMIT_S and r.plan_state == "done"
    )


def run(work: Path, seeds: int = 2, pace: float = 0.3) -> list[Figure]:
    """For bench/run_all.py (full run only): the soak's figures."""
    del work
    t0 = time.monotonic()
    results = [night(s, pace, "2022-12-20", "2023-03-31", 900.0, 3) for s in range(1, seeds + 1)]
    t = total(results)
    print(t.line())
    lost = sum(map(len, t.missing.values()))
    return [
        Figure("chaos: dates lost", lost, "", "0", lost == 0),
        Figure("chaos: duplicate keys", sum(t.duplicates.values()), "", "0", not t.duplicates),
        Figure("chaos: double launches", len(t.double_launches), "", "0", not t.double_launches),
        Figure("chaos: processes left", len(t.leftovers), "", "0", not t.leftovers),
        Figure(
            "chaos: longest time without a runner",
            t.lost_runner_s,
            "s",
            "<= 30 s",
            t.lost_runner_s <= RUNNER_LIMIT_S,
        ),
        Figure(
            "chaos: faults survived", len(t.faults), "", "", None, f"{time.monotonic() - t0:.0f} s"
        ),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="nights, seeds 1..N (default 3)")
    ap.add_argument("--pace", type=float, default=0.3, help="seconds per date (default 0.3)")
    ap.add_argument("--start", default="2022-12-20")
    ap.add_argument("--end", default="2023-03-31")
    ap.add_argument("--deadline", type=float, default=900.0, help="seconds a night may take")
    ap.add_argument("--rounds", type=int, default=3, help="times each fault is dealt (default 3)")
    args = ap.parse_args()
    results = [
        night(s, args.pace, args.start, args.end, args.deadline, args.rounds)
        for s in range(1, args.seeds + 1)
    ]
    t = total(results)
    print(t.line())
    return 0 if all(map(clean, results)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
