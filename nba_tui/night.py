"""Facts of the night the morning report reads from records (plans, jobs): the coverage when
the night's plans started, and what became of a failed job that was restarted. Plain Python."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nba_tui.jobs.words import state_text

if TYPE_CHECKING:
    from nba_tui.coverage import Snapshot
    from nba_tui.jobs.model import JobView
    from nba_tui.jobs.plans import Plan


def plans_before(plans: list[Plan]) -> dict[str, int]:
    """Per table, the present dates at the start of the night: the coverage its first plan
    recorded at its start; a later plan's start instead when the table had fewer dates then
    than an earlier plan left (or started with): the dates were lost between the two plans,
    so counting from before would report the drop as the night's doing. `plans` oldest first."""
    before: dict[str, int] = {}
    last: dict[str, int] = {}
    for p in plans:
        for t, n in p.coverage_before.items():
            if t not in before or n < last[t]:
                before[t] = n
            last[t] = n
        for t, n in p.coverage_after.items():
            last[t] = n
    return before


def plans_left(plans: list[Plan]) -> dict[str, int]:
    """Per table, the present dates the last of `plans` that recorded the table left: its
    coverage at that plan's end, else at its start. `plans` oldest first."""
    left: dict[str, int] = {}
    for p in plans:
        left.update(p.coverage_before)
        left.update(p.coverage_after)
    return left


def restarts(views: list[JobView]) -> dict[str, str]:
    """Per restarted job id, its last restart (through restarts of restarts) and how it stands:
    'job 3f2a1c: done'."""
    by_origin = {v.record.restarted_from: v for v in views if v.record.restarted_from}
    out = {}
    for origin, last in by_origin.items():
        seen = 0
        while last.id in by_origin and seen < len(views):
            last, seen = by_origin[last.id], seen + 1
        out[origin] = f"job {last.id}: {state_text(last.record)}"
    return out


def still_wanted(job: str, table: str, failures: Sequence[Any], snap: Snapshot) -> bool:
    """A job that ended badly still wants a restart: it was not restarted since (`failures`:
    the report's, with their `restarted`), and its table has missing dates (a failure whose
    dates were filled another way needs none)."""
    if any(f.job == job and f.restarted for f in failures):
        return False
    cov = snap.tables.get(table)
    return cov is None or bool(cov.missing)
