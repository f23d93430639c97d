"""The dashboard's side of job control: which keys apply, and the calls behind them.

Every `Supervisor` call here runs in the app's thread worker (`run_job_call`): the supervisor is
synchronous and `stop` blocks for the grace period. Results and `JobError`s come back as
`ActionDone` messages and are shown as toasts. The supervisor's types are read duck-typed
(`view.record.state.value`), so the grid works with any object of that shape (tests use fakes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual.message import Message

from nba_tui import preflight
from nba_tui.config import Pipeline
from nba_tui.coverage import Rate, TableCoverage
from nba_tui.tui.cells import JobCells
from nba_tui.tui.screens.modals import ConfirmScreen

if TYPE_CHECKING:
    from nba_tui.tui.app import NbaTuiApp

ACTIVE = ("queued", "running", "paused")
RESTARTABLE = ("failed", "stopped", "lost")


def make_supervisor(pipeline: Pipeline) -> tuple[Any, str | None]:
    """The real supervisor, or (None, why): the grid then works without jobs (e.g. a colleague
    in --read-only who cannot write the state directory)."""
    try:
        from nba_tui.jobs.supervisor import Supervisor

        return Supervisor(pipeline), None
    except Exception as e:  # noqa: BLE001 - coverage must still show
        return None, f"jobs unavailable: {one_line(e)}"


def one_line(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    text = str(error).strip().splitlines()
    return text[0] if text and text[0] else type(error).__name__


class JobsRefreshed(Message):
    """A job refresh finished (views None: the supervisor failed, see error)."""

    def __init__(
        self, views: list[Any] | None, error: str | None, job_id: str | None, lines: list[str]
    ) -> None:
        super().__init__()
        self.views, self.error, self.job_id, self.lines = views, error, job_id, lines


class LogTail(Message):
    """The last lines of a newly selected job's log."""

    def __init__(self, job_id: str, lines: list[str]) -> None:
        super().__init__()
        self.job_id, self.lines = job_id, lines


class ActionDone(Message):
    """A supervisor call finished: a toast (error or confirmation)."""

    def __init__(
        self,
        title: str,
        text: str = "",
        error: str | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.title, self.text, self.error, self.then = title, text, error, then


def state_of(view: Any) -> str | None:
    if view is None:
        return None
    state = view.record.state
    return getattr(state, "value", state)


def is_active(view: Any) -> bool:
    return state_of(view) in ACTIVE


def job_id(view: Any) -> str | None:
    return None if view is None else view.record.id


def latest_per_table(views: Iterable[Any]) -> dict[str, Any]:
    """Per table: its active job if any, else its most recent one."""
    out: dict[str, Any] = {}
    for v in views:
        cur = out.get(v.record.table)
        if cur is None:
            out[v.record.table] = v
            continue
        rank = (is_active(v), v.record.created_at or 0)
        if rank > (is_active(cur), cur.record.created_at or 0):
            out[v.record.table] = v
    return out


def job_cells(view: Any, rate: Rate | None, cov: TableCoverage | None) -> JobCells | None:
    """What the grid shows of a job; rate and ETA fall back to the coverage polls' rate."""
    if view is None:
        return None
    rec, prog = view.record, view.progress
    per_min = prog.dates_per_min
    eta = prog.eta_s
    if per_min is None and rate is not None:
        per_min = rate.per_minute()
    if eta is None and rate is not None and cov is not None and prog.total is None:
        eta = rate.eta_seconds(cov.expected - cov.present)
    if eta is None and per_min and prog.total is not None:
        eta = max(0, prog.total - prog.done) / per_min * 60
    return JobCells(
        state=state_of(view) or "?",
        pid=rec.pid,
        started_at=rec.started_at,
        ended_at=rec.ended_at,
        current_date=prog.current_date,
        dates_per_min=per_min,
        eta_s=eta,
        exit_code=rec.exit_code,
    )


def applies(app: NbaTuiApp, action: str) -> bool:
    """Does `action` make sense for the selected row right now?"""
    table = app.selected_table()
    view = app.jobs.get(table) if table else None
    state = state_of(view)
    if action in ("launch", "launch_missing"):
        if table is None or is_active(view) or app.pipeline.table(table).backfill is None:
            return False
        if action == "launch_missing":
            cov = app.snapshot.tables.get(table) if app.snapshot else None
            return cov is not None and cov.present < cov.expected
        return True
    if action == "launch_phase":
        phase = app.selected_phase()
        return (
            phase is not None
            and app.snapshot is not None
            and any(t.backfill is not None for t in app.pipeline.phase(phase).tables)
        )
    if action == "pause":
        return state == "running"
    if action == "resume":
        return state == "paused"
    if action == "stop":
        return state in ACTIVE
    if action == "restart":
        return state in RESTARTABLE
    return False


def _describe(result: Any) -> str:
    if hasattr(result, "jobs") and hasattr(result, "phases"):  # a phase plan
        n = len(result.jobs)
        return (
            f"plan {result.id}: {n} job{'s' if n != 1 else ''} queued ({', '.join(result.phases)})"
        )
    views = result if isinstance(result, list) else [result]
    ids = [
        f"{v.record.table} ({v.record.id})" for v in views if v is not None and hasattr(v, "record")
    ]
    return ", ".join(ids) if ids else "done"


def launch(app: NbaTuiApp) -> None:
    table = app.selected_table()
    if table is None:
        return
    sup = app.supervisor
    app.run_job_call(f"launch {table}", lambda: sup.launch(table), lambda r: _describe(r))


def launch_missing(app: NbaTuiApp) -> None:
    table, snap = app.selected_table(), app.snapshot
    if table is None or snap is None:
        return
    n = len(snap.tables[table].missing)
    sup = app.supervisor
    app.run_job_call(
        f"launch {table} ({n} missing dates)",
        lambda: sup.launch_missing(table, snap),
        lambda r: _describe(r),
    )


def launch_phase(app: NbaTuiApp) -> None:
    """Launch a phase's tables (missing dates only, max_parallel at a time); if its preflight
    fails, ask first and say what would be degraded (the seed's --skip-preflight trade-off)."""
    phase, snap = app.selected_phase(), app.snapshot
    if phase is None or snap is None:
        return
    sup = app.supervisor
    report = preflight.check(app.pipeline, snap, phase)

    def go(skip: bool) -> None:
        app.run_job_call(
            f"launch {phase}",
            lambda: sup.launch_phase(phase, snap, missing=True, skip_preflight=skip),
            lambda r: _describe(r),
        )

    if report.ready:
        go(False)
        return
    lines = [f"Preflight for {phase} fails: {len(report.failing)} input(s) short."]
    lines += ["If launched anyway:"] + [f"  - {d}" for d in report.degradation()]
    app.push_screen(
        ConfirmScreen(f"launch {phase}?", lines, "Launch anyway (--skip-preflight)?"),
        lambda yes: go(True) if yes else None,
    )


def signal_job(app: NbaTuiApp, verb: str) -> None:
    """pause / resume / restart the selected table's job."""
    table = app.selected_table()
    view = app.jobs.get(table) if table else None
    if view is None:
        return
    jid = view.record.id
    call = getattr(app.supervisor, verb)
    app.run_job_call(f"{verb} {table}", lambda: call(jid), lambda r: f"{verb}: {table} ({jid})")


def stop(app: NbaTuiApp) -> None:
    table = app.selected_table()
    view = app.jobs.get(table) if table else None
    if view is None:
        return
    jid = view.record.id
    grace = app.pipeline.jobs.stop_grace
    sup = app.supervisor

    def go(yes: bool | None) -> None:
        if yes:
            app.run_job_call(f"stop {table}", lambda: sup.stop(jid), lambda r: f"stopped {jid}")

    app.push_screen(
        ConfirmScreen(
            f"stop {table}?",
            [
                f"Job {jid} (pid {view.record.pid}) gets SIGTERM, then SIGKILL after {grace:.0f}s.",
                "Its checkpoint is kept: `c` resumes it later where it left off.",
            ],
            "Stop it?",
        ),
        go,
    )
