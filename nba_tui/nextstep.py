"""The report's Next when no plan runs and nothing failed: never a command that does nothing.

`short_next(pipeline, snapshot)` looks at every table, with or without a backfill:

* some table has missing dates that something can still fill (readiness.fillable_missing), and a
  `run` of every phase holding such a table, in dependency order, would start something now (its
  first tick, the one scheduler's decision: jobs/decide.py) -> that `nba-tui run …`, whether or
  not the tables meet their thresholds;
* it would start nothing, but would with `--skip-preflight` -> the decision, put plainly:
  "accept N dates on fallbacks: `nba-tui run phase4 --skip-preflight`";
* a table without a backfill is short, or holds a short table's dates -> the load that is
  missing (`nba-tui gaps TABLE` lists its dates), named as such;
* None when every table meets its threshold and a `run` of every phase would start nothing
  (then, and only then, Next is `nba-tui status`).
"""

from __future__ import annotations

from nba_tui import readiness
from nba_tui.config import Pipeline, Table
from nba_tui.coverage import Snapshot
from nba_tui.jobs import decide
from nba_tui.jobs.plans import phase_tables

STATUS = ("nba-tui status", "every table meets its threshold; no run would fill a missing date")


def short_next(pipeline: Pipeline, snap: Snapshot) -> tuple[str, str] | None:
    """(command, why) while some table has dates a run would fill or is below its threshold;
    None when neither."""
    fill = fillable(pipeline, snap)
    short = [t for t in pipeline.tables() if t.name in snap.tables and not snap.tables[t.name].ok]
    below = {p.name for p in pipeline.phases if any(t.backfill and t in short for t in p.tables)}
    phases = [p.name for p in pipeline.phases if p.name in {*below, *fill}]
    run = f"nba-tui run {' '.join(phases)}"
    if phases and decide.first_tick(pipeline, snap, phases):
        tables = phase_tables(pipeline, *phases)
        n = sum(len(readiness.fillable_missing(pipeline, snap, t)) for t in tables)
        return run, f"{n:,} fillable date{'s' if n != 1 else ''} missing"
    if phases and decide.first_tick(pipeline, snap, phases, skip_preflight=True):
        tables = phase_tables(pipeline, *phases)
        n = sum(len(readiness.degraded_by_choice(pipeline, snap, t)) for t in tables)
        return f"{run} --skip-preflight", (
            f"accept {n} date{'s' if n != 1 else ''} on fallbacks: their soft inputs have no "
            f"rows and nothing fills them; `{run} --skip-preflight` runs them on fallbacks"
        )
    if not short:
        return None
    raw = [t for t in short if t.backfill is None] or [_root(pipeline, snap, t) for t in short]
    load = raw[0]
    cov = snap.tables[load.name]
    then = f"; then `{run}`" if phases else ""
    return f"nba-tui gaps {load.name}", (
        f"{load.name} ({load.table}) has no backfill here and lacks {len(cov.missing)} dates: "
        f"load them{then}"
    )


def fillable(pipeline: Pipeline, snap: Snapshot) -> list[str]:
    """The phases, in pipeline order, with a table that has missing dates something can still
    fill (now, or once its inputs are)."""

    def fills(t: Table) -> bool:
        known = t.backfill is not None and t.name in snap.tables
        return known and bool(readiness.fillable_missing(pipeline, snap, t.name))

    return [p.name for p in pipeline.phases if any(fills(t) for t in p.tables)]


def _root(pipeline: Pipeline, snap: Snapshot, table: Table) -> Table:
    """The input without a backfill whose missing dates hold `table` (followed through the
    inputs that hold it), else `table` itself."""
    seen: set[str] = set()
    t = table
    while t.backfill is not None and t.name not in seen:
        seen.add(t.name)
        missing = snap.tables[t.name].missing
        lacks = readiness.blocked_by(pipeline, snap, t.name, missing[0]) if missing else []
        if not lacks:
            break
        t = pipeline.table(lacks[0][0])
    return t
