"""The one-line texts of the dashboard: the header and the log pane's title.

Pure functions of the state (no widgets), so the header can be compared with what is shown and
rewritten only when its text changed. The header shows the wall-clock time of the last good poll
("updated 12:04:31"), not a counting age: its text changes only when a poll lands, so an idle
dashboard writes nothing between polls.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from rich.text import Text

from nba_tui import fmt
from nba_tui.config import Pipeline
from nba_tui.jobs.facts import cost_text
from nba_tui.jobs.model import JobView, Plan
from nba_tui.jobs.words import is_remote, remote_state_text
from nba_tui.monitor import PollResult
from nba_tui.tui.cells import shard_text


def wall_clock(epoch: float | None) -> str:
    """'12:04:31' in local time; '-' for never."""
    return time.strftime("%H:%M:%S", time.localtime(epoch)) if epoch is not None else "-"


def plan_end(plans: Iterable[Plan]) -> float | None:
    """The latest forecast end of the running plans, paused ones left out (None without one)."""
    ends = [
        p.forecast_end for p in plans if p.state == "running" and not p.paused and p.forecast_end
    ]
    return max(ends) if ends else None


def header_text(
    pipeline: Pipeline,
    *,
    read_only: bool,
    running: int,
    poll: PollResult | None,
    jobs_error: str | None,
    ends: float | None = None,
) -> Text:
    """`pipeline · backend · N jobs · ends 05:12 · updated 12:04:31`, or STALE with the
    warehouse's error (the full error also goes to a toast: at 80 columns the header cuts it).
    `ends`: the forecast end of the running plans (`plan_end`)."""
    text = Text(fmt.printable(pipeline.pipeline), style="bold")
    text.append(f" · {pipeline.warehouse.backend}")
    if read_only:
        text.append(" · READ-ONLY", "bold")
    if running:
        text.append(f" · {running} job{'s' if running > 1 else ''}")
    if ends is not None:
        text.append(f" · ends {time.strftime('%H:%M', time.localtime(ends))}", "bold")
    snap = poll.snapshot if poll is not None else None
    taken = snap.taken_at if snap is not None else None
    if poll is None:
        text.append(" · connecting…", "dim")
    elif poll.error:
        text.append(" · STALE", "bold red")
        text.append(f" (data of {wall_clock(taken)}): " if taken else ": ", "bold red")
        text.append(fmt.printable(poll.error), "red")
    else:
        text.append(f" · updated {wall_clock(taken)}", "dim")
        if snap is not None and snap.bytes_processed is not None:
            text.append(f" · {snap.bytes_processed / 1e6:.1f} MB/poll", "dim")
    if jobs_error:
        text.append(f" · jobs: {fmt.printable(jobs_error)}", "red")
    return text


def log_title(
    table: str | None,
    phase: str | None,
    view: JobView | None,
    width: int,
    shard: tuple[int, int] | None = None,
    pipeline: Pipeline | None = None,
) -> Text:
    """Which job's log the pane shows (or why it shows none), fitted to `width` columns by
    dropping whole parts (never a dangling separator); a plan's job names its plan and shard.
    A remote job's title is its detail line: its state in words and what it cost (Cloud Run's
    price from `pipeline`) come right after the table, before the job id, plan and log name."""
    if view is None:
        if table:
            return Text(f"log: {table} has no job yet", style="dim")
        if phase:
            return Text(f"log: phase {phase} row · select a table for its job's log", style="dim")
        return Text("log", style="dim")
    rec = view.record
    parts = [f"log {rec.table}", f"job {rec.id}", Path(rec.log).name]
    if rec.plan:
        where = f" shard {shard_text(shard)}" if shard else ""
        parts.insert(2, f"plan {rec.plan}{where}")
    if is_remote(rec):  # its state in words first: at 80 columns the rest is dropped
        cost = cost_text(rec, pipeline)
        parts[1:1] = [remote_state_text(rec), *([cost] if cost else [])]
    while len(parts) > 1 and len(" · ".join(parts)) > width:
        parts.pop()
    return Text(fmt.printable(" · ".join(parts)), style="dim")
