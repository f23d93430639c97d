"""The one-line texts of the dashboard: the header and the log pane's title.

Pure functions of the state (no widgets), so the header can be compared with what is shown and
rewritten only when its text changed: ages are coarse (`fmt.age`), nothing ticks every second.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from nba_tui import fmt
from nba_tui.config import Pipeline
from nba_tui.jobs.model import JobView
from nba_tui.monitor import PollResult


def header_text(
    pipeline: Pipeline,
    *,
    read_only: bool,
    running: int,
    poll: PollResult | None,
    jobs_error: str | None,
    now: float,
) -> Text:
    """`pipeline · backend · N jobs · updated 3s ago`, or STALE with the warehouse's error."""
    text = Text(pipeline.pipeline, style="bold")
    text.append(f" · {pipeline.warehouse.backend}")
    if read_only:
        text.append(" · READ-ONLY", "bold")
    if running:
        text.append(f" · {running} job{'s' if running > 1 else ''}")
    snap = poll.snapshot if poll is not None else None
    age = now - snap.taken_at if snap is not None else None
    if poll is None:
        text.append(" · connecting…", "dim")
    elif poll.error:
        text.append(f" · STALE {fmt.age(age)}: ", "bold red")
        text.append(poll.error, "red")
    else:
        text.append(f" · updated {fmt.age(age)} ago", "dim")
        if snap is not None and snap.bytes_processed is not None:
            text.append(f" · {snap.bytes_processed / 1e6:.1f} MB/poll", "dim")
    if jobs_error:
        text.append(f" · jobs: {jobs_error}", "red")
    return text


def log_title(table: str | None, view: JobView | None) -> Text:
    """Which job's log the pane shows (or why it shows none)."""
    if view is None:
        return Text(f"log: no job for {table}" if table else "log", style="dim")
    rec = view.record
    return Text(f"log {rec.table} · job {rec.id} · {Path(rec.log).name}", style="dim")
