"""Facts of the night the morning report reads from records (plans, jobs): per table, the
coverage when the night's plans started and what it lost outside them (`table_lines`), and what
became of a job that ended badly: restarted (`restarts`), its dates re-run by later jobs
(`recovered_by`), its dates present or missing now (`dates_now`). Plain Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nba_tui.coverage_states import DateState
from nba_tui.jobs.facts import record_dates
from nba_tui.jobs.words import state_text, state_word

if TYPE_CHECKING:
    from nba_tui.config import Pipeline
    from nba_tui.coverage import Snapshot
    from nba_tui.jobs.model import JobRecord, JobView, Plan


@dataclass
class TableLine:
    table: str
    expected: int
    before: int | None
    """Present dates when the night's plans started: the coverage the table's first plan in
    the window recorded at its start, or a later plan's when the table had lost dates between
    the two (a `demo reset`, a deleted partition): never a count from before such a drop."""
    after: int
    """Present dates now (or at the last plan's end when nothing ran since)."""
    degraded: int
    """Dates whose rows are flagged degraded (the table's `degraded_column`)."""
    degraded_share: float
    outside: int = 0
    """Dates lost after the night's last plan of the table left it (a `demo reset`): not the
    night's doing, so `before` is None."""

    @property
    def filled(self) -> int | None:
        return None if self.before is None else self.after - self.before


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


def dates_now(rec: JobRecord, snap: Snapshot) -> tuple[int, int] | None:
    """How many expected dates the job asks for (bootstrap dates left out) and how many of
    them the warehouse is missing now; None when the snapshot has no coverage of its table."""
    cov = snap.tables.get(rec.table)
    if cov is None:
        return None
    states = [cov.states.get(d) for d in record_dates(rec)]
    states = [s for s in states if s is not None and s is not DateState.BOOTSTRAP]
    return len(states), sum(1 for s in states if s is DateState.MISSING)


def recovered_by(failed: JobRecord, views: list[JobView], snap: Snapshot) -> list[str]:
    """The jobs that recovered a job that ended badly: later jobs of its table (created after
    it ended) that ended done and asked for some of its dates, when none of its dates is
    missing now; empty when it did not recover."""
    now = dates_now(failed, snap)
    if now is None or now[1]:
        return []
    mine = record_dates(failed)
    since = failed.ended_at if failed.ended_at is not None else failed.created_at
    return [
        v.id
        for v in views
        if v.record.table == failed.table
        and v.id != failed.id
        and v.record.created_at >= since
        and state_word(v.record) == "done"
        and mine & record_dates(v.record)
    ]


def still_wanted(job: str, table: str, failures: Sequence[Any], snap: Snapshot) -> bool:
    """A job that ended badly still wants a restart: it was neither restarted nor recovered
    since (`failures`: the report's, with their `restarted`, `recovered` and `missing_now`),
    and its table has missing dates, some of them its own (a failure whose dates were filled
    another way needs none)."""
    if any(f.job == job and (f.restarted or f.recovered or f.missing_now == 0) for f in failures):
        return False
    cov = snap.tables.get(table)
    return cov is None or bool(cov.missing)


def table_lines(
    pipeline: Pipeline, snap: Snapshot, plans: list[Plan], views: list[JobView]
) -> list[TableLine]:
    """Tables a plan or a job of the window touched, in dependency order, with before/after."""
    touched = {v.record.table for v in views}
    before = plans_before(plans)
    left = plans_left(plans)
    for p in plans:
        touched |= set(p.coverage_before) | set(p.coverage_after)
    out = []
    for name in pipeline.topological_order():
        cov = snap.tables.get(name)
        if name not in touched or cov is None:
            continue
        lost = max(0, left.get(name, 0) - cov.present)
        out.append(
            TableLine(
                name,
                cov.expected,
                None if lost else before.get(name),
                cov.present,
                len(cov.degraded),
                cov.degraded_share,
                lost,
            )
        )
    return out
