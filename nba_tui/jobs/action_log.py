"""The action log: who did what to which job, with the exact argument list.

Why: an overnight backfill is shared work. The next engineer (or the same one after an SSH drop)
must see who launched, paused or stopped what, and be able to copy the command and re-run it by
hand. One JSON object per line in `<state_dir>/actions.jsonl` (0600), appended and read through
`jsonl` (under a lock, so lines from concurrent dashboards never interleave; reading the last
`limit` lines from the end of the file, so a year-old log does not slow the dashboard).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nba_tui import jsonl
from nba_tui.jobs.store import Store

ACTIONS = ("launch", "pause", "resume", "stop", "restart", "plan", "plan-cancel")


def record(
    store: Store,
    *,
    user: str,
    action: str,
    job: str | None = None,
    table: str | None = None,
    argv: list[str] | None = None,
    **extra: Any,
) -> dict:
    """Append one entry; returns it. `extra` carries dates/start/end/plan/phase/result."""
    entry: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "ts": round(time.time(), 3),
        "user": user,
        "action": action,
        "job": job,
        "table": table,
    }
    entry.update({k: v for k, v in extra.items() if v is not None})
    entry["argv"] = argv
    jsonl.append(store.actions_path, entry)
    return entry


def read(path: Path, limit: int = 200, max_bytes: int = 4_000_000) -> list[dict]:
    """The last `limit` entries, oldest first, read from at most `max_bytes` at the end.

    A line that is not a JSON object (cut, or not UTF-8) is skipped; a log that is not a regular
    file of ours raises `fsutil.UnsafeFile` naming it."""
    return jsonl.read(path, max_bytes, limit, strict=True)


def fold_plans(entries: list[dict]) -> list[dict]:
    """The entries with each plan's job actions (its shards' launches, stops, ...) folded into
    one line of that plan: they are counted in its first plan action's `folded` ({action:
    count}); a plan with no plan action among `entries` gets one `plan-jobs` entry where its
    first job action was. Entries outside plans are kept; the input is not modified."""
    own = {e.get("plan") for e in entries if _plan_of(e) and not e.get("job")}
    holder: dict[str, dict] = {}
    counts: dict[str, dict[str, int]] = {}
    out: list[dict] = []
    for e in entries:
        plan = _plan_of(e)
        if plan is None:
            out.append(e)
        elif not e.get("job"):  # a plan action: one line each
            out.append(dict(e))
            holder.setdefault(plan, out[-1])
        else:
            if plan not in own and plan not in holder:
                head = {k: e[k] for k in ("time", "ts", "user") if k in e}
                out.append({**head, "action": "plan-jobs", "plan": plan})
                holder[plan] = out[-1]
            action = str(e.get("action", "?"))
            tally = counts.setdefault(plan, {})
            tally[action] = tally.get(action, 0) + 1
    for plan, tally in counts.items():
        holder[plan]["folded"] = tally
    return out


def _plan_of(entry: dict) -> str | None:
    plan = entry.get("plan")
    return plan if isinstance(plan, str) and plan else None


HISTORY_LINES = 200
"""Lines of history `nba-tui history` and the dashboard's `h` show (the newest)."""


def history_lines(read: Callable[[int], list[dict]], lines: int = HISTORY_LINES) -> list[dict]:
    """The newest `lines` lines of the action log with each plan's job actions folded
    (`fold_plans`), oldest first: `nba-tui history` and the dashboard's `h` both show these.
    `read(n)` returns the newest n raw entries; more are read until every plan shown has its
    own line and all its job actions counted (a night of hundreds of shard launches)."""
    n = lines
    while True:
        raw = read(n)
        shown = fold_plans(raw)[-lines:]
        whole = all(e.get("action") != "plan-jobs" for e in shown)
        if whole or len(raw) < n or n >= MAX_HISTORY_READ:
            return shown
        n *= 4


MAX_HISTORY_READ = 100_000
"""At most this many raw entries are read for `history_lines`."""
