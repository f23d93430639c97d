"""The detached plan runner: `python -m nba_tui.jobs.runner CONFIG PLAN_ID`.

Started by `Supervisor.launch_phase` / `run_phases` / `heal_plan` like a job's shim, in its own
session, so a plan goes on when the dashboard that launched it is killed. Every plan, whatever
launched it, is advanced by the one scheduler: jobs/autopilot.py, whose per-tick decision is
jobs/decide.py (readiness per date, slots, shards, retries' back-off, reserved jobs). It uses only
the Supervisor's public API and the store.
"""

from __future__ import annotations

import sys

from nba_tui import config
from nba_tui.config import Pipeline
from nba_tui.fsutil import say
from nba_tui.jobs import autopilot
from nba_tui.jobs.model import Damaged, Plan
from nba_tui.jobs.store import StateError, Store
from nba_tui.jobs.supervisor import Supervisor


def run_plan(pipeline: Pipeline, plan_id: str) -> int:
    """Advance the plan until it ends (jobs/autopilot.py); the runner's exit code."""
    first = Store(pipeline.state_dir).read_plan(plan_id)
    if not isinstance(first, Plan):
        why = f"damaged ({first.reason})" if isinstance(first, Damaged) else "not found"
        say(f"plan {plan_id}: {why}; the runner stops")
        return 2
    return autopilot.run(Supervisor(pipeline, user=first.user), plan_id)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m nba_tui.jobs.runner CONFIG PLAN_ID", file=sys.stderr)
        return 2
    try:
        pipeline = config.load(args[0])
    except config.ConfigError as e:  # edited during the night: one line, the watchdog retries
        say(f"runner: {e}")
        return 2
    try:
        return run_plan(pipeline, args[1])
    except StateError as e:  # the state directory is no longer ours alone
        say(f"runner: {e}")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
