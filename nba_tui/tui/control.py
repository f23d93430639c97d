"""Job control for the dashboard: which job actions apply to the selected row, and what they call.

Plain Python (no Textual), so the rules are testable without a terminal. The app holds one
`JobControl`, keeps it told of the latest snapshot and jobs, asks it whether a key applies
(`check_action`) and for the `JobCall` behind a key. A `JobCall` is blocking work on the
`Supervisor`'s public API (`stop` waits for the grace period): the app runs it in a thread worker
and shows its result or its error as a toast; a call that needs a yes first carries a `Confirm`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nba_tui import preflight, readiness
from nba_tui.config import Pipeline
from nba_tui.coverage import Snapshot
from nba_tui.fmt import printable
from nba_tui.jobs.events import FILE_NAME as EVENTS_FILE
from nba_tui.jobs.events import Event
from nba_tui.jobs.model import JobState, JobView, Plan, PlanState
from nba_tui.jobs.plans import no_fillable_reason
from nba_tui.jobs.supervisor import Supervisor
from nba_tui.jobs.words import dates_left, is_remote, remote_state_text
from nba_tui.tui.cells import PHASE_PREFIX
from nba_tui.tui.joblists import (
    active_per_plan,
    describe,
    latest_per_table,
    missing_of,
    one_line,
    shard_positions,
)

PLAN_ACTIONS = ("pause_plan", "resume_plan", "stop_plan", "cancel_plan")
"""Actions on the plan the selected table's job belongs to (all of its jobs at once)."""
JOB_ACTIONS = (
    *("launch", "launch_missing", "launch_phase", "pause", "resume", "stop", "restart"),
    *PLAN_ACTIONS,
)
"""Actions that change jobs: none of them applies in read-only mode or without a supervisor."""
RESTARTABLE = (JobState.FAILED, JobState.STOPPED, JobState.LOST)
"""States `restart` accepts (the program resumes from its checkpoint)."""


@dataclass
class Fetched:
    """One job refresh's facts (read in a thread worker, applied on the event loop)."""

    jobs: dict[str, JobView]
    """Latest job per table (its active one if any)."""
    shards: dict[str, tuple[int, int]]
    """Job id -> (i, n) for plan shards (`shard_positions`; n 0 while the plan runs)."""
    plans: dict[str, Plan]
    """The plans of the shown jobs (reconciled), by id."""
    active: dict[str, int]
    """Plan id -> active jobs (`active_per_plan`)."""


@dataclass(frozen=True)
class Selection:
    """The selected grid row: a table (and its phase) or a phase header row (phase only)."""

    table: str | None = None
    phase: str | None = None

    @classmethod
    def of(cls, pipeline: Pipeline, key: str | None) -> Selection:
        if key is None:
            return cls()
        if key.startswith(PHASE_PREFIX):
            return cls(None, key[len(PHASE_PREFIX) :])
        return cls(key, pipeline.phase_of(key).name)


@dataclass(frozen=True)
class Confirm:
    """A question to answer with y before a call runs (stop; launching past a failing preflight)."""

    title: str
    lines: list[str]
    question: str


@dataclass(frozen=True)
class JobCall:
    """One blocking supervisor call behind a key: run it off the event loop, show `describe`."""

    title: str
    run: Callable[[], Any]
    done: Callable[[Any], str] = describe
    """The toast text of its result."""
    confirm: Confirm | None = None


class JobsAPI(Protocol):
    """The part of the `Supervisor`'s public API the dashboard calls (tests pass fakes of it)."""

    def jobs(self) -> list[JobView]: ...
    def history(self, limit: int = 200) -> list[dict]: ...
    def launch(self, table: str) -> JobView: ...
    def launch_missing(self, table: str, snapshot: Snapshot) -> JobView: ...
    def launch_phase(
        self, phase: str, snapshot: Snapshot, *, missing: bool = True, skip_preflight: bool = False
    ) -> Plan: ...
    def pause(self, job_id: str) -> JobView: ...
    def resume(self, job_id: str) -> JobView: ...
    def stop(self, job_id: str) -> JobView: ...
    def restart(self, job_id: str) -> JobView: ...
    def plan(self, plan_id: str) -> Plan: ...
    def pause_plan(self, plan_id: str) -> Plan: ...
    def resume_plan(self, plan_id: str) -> Plan: ...
    def stop_plan(self, plan_id: str) -> Plan: ...
    def cancel_plan(self, plan_id: str) -> Plan: ...
    def events(self, since: float | None = None, limit: int = 1000) -> list[Any]: ...
    def state_version(self) -> object:
        """Changes whenever any client changed a job record or the action log (cheap: stats)."""
        ...


def connect(pipeline: Pipeline) -> tuple[JobsAPI | None, str | None]:
    """The real supervisor, or (None, why): the grid then works without jobs (e.g. a colleague
    in --read-only who cannot write the state directory)."""
    try:
        return Supervisor(pipeline), None
    except Exception as e:  # noqa: BLE001 - coverage must still show
        return None, f"jobs unavailable: {one_line(e)}"


class JobControl:
    """What the job keys mean for the selected row, given the latest snapshot and jobs."""

    def __init__(
        self, pipeline: Pipeline, supervisor: JobsAPI | None, *, read_only: bool = False
    ) -> None:
        self.pipeline = pipeline
        self.supervisor = supervisor
        """The `Supervisor`, or None when it could not start (coverage still shows)."""
        self.read_only = read_only
        self.snapshot: Snapshot | None = None
        self.jobs: dict[str, JobView] = {}
        """Latest job per table (its active one if any), from the last `fetch_jobs`."""
        self.shards: dict[str, tuple[int, int]] = {}
        self.plans: dict[str, Plan] = {}
        self.plan_active: dict[str, int] = {}
        """From the last `fetch` (see `Fetched`)."""

    @property
    def can_act(self) -> bool:
        return not self.read_only and self.supervisor is not None

    def job_of(self, sel: Selection) -> JobView | None:
        return self.jobs.get(sel.table) if sel.table else None

    def running(self) -> int:
        """How many tables have an active (queued, running or paused) job."""
        return sum(1 for v in self.jobs.values() if v.state.active)

    # -- what applies ----------------------------------------------------------------------------

    def applies(self, action: str, sel: Selection) -> bool:
        """Does job action `action` make sense for the selected row right now?"""
        if action not in JOB_ACTIONS or not self.can_act:
            return False
        view = self.job_of(sel)
        state = view.state if view is not None else None
        if action in PLAN_ACTIONS:
            return self._plan_applies(action, self.plan_of(sel))
        if action in ("launch", "launch_missing"):
            return self._can_launch(sel.table, view, missing=action == "launch_missing")
        if action == "launch_phase":
            return (
                sel.phase is not None
                and self.snapshot is not None
                and any(t.backfill is not None for t in self.pipeline.phase(sel.phase).tables)
            )
        if action == "pause":  # a remote job being paused (stopped on its engine) already is
            return state is JobState.RUNNING and not (view and view.record.pause_requested)
        if action == "resume":
            return state is JobState.PAUSED
        if action == "stop":
            return state is not None and state.active
        return state in RESTARTABLE  # restart

    def plan_of(self, sel: Selection) -> Plan | None:
        """The plan the selected table's job belongs to (None: no job, or not in a plan)."""
        view = self.job_of(sel)
        plan_id = view.record.plan if view is not None else None
        return self.plans.get(plan_id) if plan_id else None

    @staticmethod
    def _plan_applies(action: str, plan: Plan | None) -> bool:
        if plan is None or plan.state not in (PlanState.RUNNING, PlanState.LOST):
            return False
        if action == "pause_plan":
            return not plan.paused
        if action == "resume_plan":
            return plan.paused
        return True  # stop_plan, cancel_plan

    def _why_not_plan(self, action: str, sel: Selection) -> str:
        view, plan = self.job_of(sel), self.plan_of(sel)
        if view is None or not view.record.plan:
            return "this table's job is not part of a plan"
        if plan is None:
            return f"plan {view.record.plan} not read yet"
        if plan.state not in (PlanState.RUNNING, PlanState.LOST):
            return f"plan {plan.id} already ended ({plan.state.value})"
        return f"plan {plan.id} is {'paused' if plan.paused else 'not paused'}"

    def _can_launch(self, table: str | None, view: JobView | None, *, missing: bool) -> bool:
        if table is None or (view is not None and view.state.active):
            return False
        if self.pipeline.table(table).backfill is None or not missing:
            return self.pipeline.table(table).backfill is not None
        snap = self.snapshot  # fillable dates only (readiness: the one rule)
        return snap is not None and bool(readiness.fillable_missing(self.pipeline, snap, table))

    def says_why(self, action: str, sel: Selection) -> bool:
        """`m` on a table whose missing dates nothing can fill: the key says why (`why_not`)."""
        cov = self.snapshot.tables.get(sel.table or "") if self.snapshot is not None else None
        launchable = self.can_act and self._can_launch(sel.table, self.job_of(sel), missing=False)
        return action == "launch_missing" and launchable and bool(cov and cov.missing)

    def actions(self, sel: Selection) -> list[str]:
        """Every job action that applies to `sel`, in key order."""
        return [a for a in JOB_ACTIONS if self.applies(a, sel)]

    def preflight_report(self, sel: Selection) -> preflight.PreflightReport | None:
        """The report of the selected row's phase: may its tables start? (the same check `L`
        makes before launching that phase)."""
        if self.snapshot is None or sel.phase is None:
            return None
        return preflight.check(self.pipeline, self.snapshot, sel.phase)

    def why_not(self, action: str, sel: Selection) -> str | None:
        """Why job action `action` does not apply to `sel` (None when it does): the command
        palette lists every action, the ones that do not apply with this reason."""
        if self.applies(action, sel):
            return None
        if self.read_only:
            return "read-only dashboard"
        if self.supervisor is None:
            return "jobs unavailable"
        if action == "launch_phase":
            return "no coverage yet" if self.snapshot is None else "select a phase or a table"
        if sel.table is None:
            return "select a table"
        if action in PLAN_ACTIONS:
            return self._why_not_plan(action, sel)
        return self._why_not_job(action, sel.table, self.job_of(sel))

    def _why_not_job(self, action: str, table: str, view: JobView | None) -> str:
        state = view.state.value if view is not None else None
        if action in ("launch", "launch_missing"):
            if view is not None and view.state.active:
                return f"{table} already has a {state} job"
            if self.pipeline.table(table).backfill is None:
                return f"{table} has no backfill command"
            snap = self.snapshot
            return no_fillable_reason(self.pipeline, snap, table) if snap else "no coverage yet"
        wanted = {"pause": "running", "resume": "paused", "stop": "active"}.get(
            action, "failed, stopped or lost"
        )
        if action == "pause" and view is not None and view.record.pause_requested:
            return f"its job is already {remote_state_text(view.record)}"
        have = f"its job is {state}" if state else "no job"
        return f"no {wanted} job on this table ({have})"

    # -- what it calls -----------------------------------------------------------------------------

    def call(self, action: str, sel: Selection) -> JobCall | None:
        """The supervisor call behind `action` on `sel`, or None when it does not apply."""
        if not self.applies(action, sel):
            return None
        sup, table, snap = self.supervisor, sel.table, self.snapshot
        assert sup is not None
        if action == "launch" and table:
            return JobCall(f"launch {table}", lambda: sup.launch(table), confirm=self._redo(table))
        if action == "launch_missing" and table and snap is not None:
            note = readiness.missing_note(self.pipeline, snap, table)
            return JobCall(f"launch {table} ({note})", lambda: sup.launch_missing(table, snap))
        if action == "launch_phase":
            return self._launch_phase(sel)
        if action in PLAN_ACTIONS:
            return self._plan_call(action, sel)
        view = self.job_of(sel)
        assert view is not None
        if action == "stop":
            return self._stop(view)
        if is_remote(view.record) and action in ("pause", "resume"):
            return self._remote_pause(action, view)
        jid = view.id
        verb: Callable[[str], Any] = {
            "pause": sup.pause,
            "resume": sup.resume,
            "restart": sup.restart,
        }[action]
        return JobCall(
            f"{action} {table}", lambda: verb(jid), lambda _r: f"{action}: {table} ({jid})"
        )

    def _redo(self, table: str) -> Confirm | None:
        """A full-range launch of a table that already has dates re-runs them: ask first."""
        cov = self.snapshot.tables.get(table) if self.snapshot is not None else None
        if cov is None or cov.present == 0:
            return None
        lines = [
            f"This re-runs all {cov.expected} dates of {table}:",
            f"{cov.present} of them are already present and would be redone.",
            readiness.what_m_launches(self.pipeline, self.snapshot, table),
        ]
        return Confirm(f"launch {table}?", lines, f"Redo {cov.present} present dates?")

    def _launch_phase(self, sel: Selection) -> JobCall | None:
        """A phase's tables, missing dates only, max_parallel at a time; if its preflight fails,
        the call asks first and says what would be degraded (the --skip-preflight trade-off)."""
        sup, phase, snap = self.supervisor, sel.phase, self.snapshot
        assert sup is not None and phase is not None and snap is not None
        report = preflight.check(self.pipeline, snap, phase)
        skip = not report.ready

        def run() -> Any:
            return sup.launch_phase(phase, snap, missing=True, skip_preflight=skip)

        title = f"launch {phase}{readiness.phase_note(self.pipeline, snap, phase)}"
        if report.ready:
            return JobCall(title, run)
        lines = [f"Preflight for {phase} fails: {len(report.failing)} input(s) short."]
        lines += ["If launched anyway:"] + [f"  - {d}" for d in report.degradation()]
        ask = Confirm(f"launch {phase}?", lines, "Launch anyway (--skip-preflight)?")
        return JobCall(title, run, confirm=ask)

    def _remote_pause(self, action: str, view: JobView) -> JobCall:
        """No engine can pause a remote task: `p` stops the job on its engine and keeps the
        dates still missing (asked first, saying so); `r` relaunches them there."""
        sup, rec = self.supervisor, view.record
        assert sup is not None
        jid, table, eng = rec.id, rec.table, printable(rec.engine)

        def done(result: Any) -> str:
            after = result.record if isinstance(result, JobView) else rec
            return f"{action}: {table} ({after.id}) {remote_state_text(after)}"

        if action == "resume":
            n = len(rec.remote_left or [])
            return JobCall(
                f"resume {table} on {eng} ({dates_left(n)})", lambda: sup.resume(jid), done
            )
        n = missing_of(self.snapshot, view)
        kept = (
            f"its {n} missing date{'s' if n != 1 else ''}" if n is not None else "its missing dates"
        )
        ask = Confirm(
            f"pause {table} on {eng}?",
            [
                "No engine can pause a remote task, so:",
                f"pause stops the job on {eng} and keeps {kept};",
                f"dates already written stay, and r relaunches the rest on {eng}.",
            ],
            f"Stop it on {eng} and keep {kept}?",
        )
        return JobCall(f"pause {table} on {eng}", lambda: sup.pause(jid), done, ask)

    def _stop(self, view: JobView) -> JobCall:
        sup, rec = self.supervisor, view.record
        assert sup is not None
        if is_remote(rec):
            return self._remote_stop(view)
        grace = self.pipeline.jobs.stop_grace
        ask = Confirm(
            f"stop {rec.table}?",
            [
                f"Job {rec.id} (pid {rec.pid}) gets SIGTERM, then SIGKILL after {grace:.0f}s.",
                "Its checkpoint is kept: press c later to resume it where it left off.",
            ],
            "Stop it?",
        )
        return JobCall(
            f"stop {rec.table}", lambda: sup.stop(rec.id), lambda _r: f"stopped {rec.id}", ask
        )

    def _remote_stop(self, view: JobView) -> JobCall:
        """Stop a remote job: its run is cancelled on its engine (a paused one has none left)."""
        sup, rec = self.supervisor, view.record
        assert sup is not None
        eng = printable(rec.engine)
        if rec.state is JobState.PAUSED:
            lines = [
                f"Job {rec.id} is {remote_state_text(rec)}.",
                "Stop ends it: r can no longer relaunch its dates (m launches what is missing).",
            ]
        else:
            lines = [
                f"Job {rec.id}'s run on {eng} is cancelled; the job ends stopped.",
                "Dates already written stay: m later launches the ones still missing.",
            ]
        ask = Confirm(f"stop {rec.table} on {eng}?", lines, "Stop it?")
        return JobCall(
            f"stop {rec.table}", lambda: sup.stop(rec.id), lambda _r: f"stopped {rec.id}", ask
        )

    def _plan_call(self, action: str, sel: Selection) -> JobCall:
        """pause / resume / stop / cancel the selected job's plan; stop and cancel ask first,
        saying how many jobs they stop."""
        sup, plan = self.supervisor, self.plan_of(sel)
        assert sup is not None and plan is not None
        pid, verb = plan.id, action.removesuffix("_plan")
        fn: Callable[[str], Any] = getattr(sup, action)
        past = {"pause": "paused", "resume": "resumed", "stop": "stopped", "cancel": "cancelled"}

        def done(_r: Any) -> str:
            return f"plan {pid} {past[verb]}"

        ask = None
        if verb in ("stop", "cancel"):
            n = self.plan_active.get(pid, 0)
            grace = self.pipeline.jobs.stop_grace
            ask = Confirm(
                f"{verb} plan {pid}?",
                [
                    f"Plan {pid} ({', '.join(plan.phases)}) ends cancelled: nothing of it starts.",
                    f"It stops {n} active job{'s' if n != 1 else ''} (SIGTERM, then SIGKILL "
                    f"after {grace:.0f}s); queued shards never start.",
                    "Checkpoints are kept: a new `nba-tui run` picks up the missing dates.",
                ],
                f"{verb.capitalize()} the plan and its {n} job{'s' if n != 1 else ''}?",
            )
        return JobCall(f"{verb} plan {pid}", lambda: fn(pid), done, ask)

    # -- reading (blocking: from a thread worker) ------------------------------------------------

    def fetch(self) -> Fetched:
        """Jobs, shard positions and the shown jobs' plans (blocking: reconciles with /proc)."""
        if self.supervisor is None:
            return Fetched({}, {}, {}, {})
        views = list(self.supervisor.jobs())
        latest = latest_per_table(views)
        plans: dict[str, Plan] = {}
        reader = getattr(self.supervisor, "plan", None)
        for plan_id in {v.record.plan for v in latest.values() if v.record.plan}:
            try:
                plans[plan_id] = reader(plan_id)  # type: ignore[misc]
            except Exception:  # noqa: BLE001 - a plan that cannot be read has no plan keys
                continue
        return Fetched(latest, shard_positions(views, plans), plans, active_per_plan(views))

    def fetch_jobs(self) -> dict[str, JobView]:
        """The latest job per table, from the supervisor (blocking: reconciles with /proc)."""
        if self.supervisor is None:
            return {}
        return latest_per_table(self.supervisor.jobs())

    def adopt_plans(self) -> list[str]:
        """Start a runner for each running plan whose runner died (kill -9, reboot), so its live
        jobs are adopted rather than relaunched (blocking). Nothing in read-only."""
        fn = getattr(self.supervisor, "adopt_plans", None)
        if self.read_only or fn is None:
            return []
        return [p.id for p in fn()]

    def adopt_remote(self) -> list[str]:
        """Remote jobs whose bridge died followed again, orphan runs cancelled (blocking)."""
        fn = getattr(self.supervisor, "adopt_remote", None)
        return [] if self.read_only or fn is None else list(fn())

    def state_version(self) -> object:
        """The supervisor's state version (blocking but cheap), or None without one."""
        fn = getattr(self.supervisor, "state_version", None)
        return fn() if fn is not None else None

    def events_signature(self) -> object:
        """(inode, size, mtime) of the state directory's events file (blocking: one stat());
        None without a supervisor or events file. Changes whenever an event is appended."""
        store = getattr(self.supervisor, "store", None)
        root = getattr(store, "root", None)
        if root is None:
            return None
        try:
            st = (Path(root) / EVENTS_FILE).stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def versions(self) -> tuple[object, object]:
        """The state version and the events file's signature, in one thread hop per tick."""
        return self.state_version(), self.events_signature()

    def events(self, since: float) -> list[Event]:
        """Events at or after `since`, oldest first (blocking: a bounded read)."""
        fn = getattr(self.supervisor, "events", None)
        return list(fn(since=since)) if fn is not None else []

    def history(self, limit: int = 100) -> list[dict]:
        """The action log (blocking), oldest first."""
        return [] if self.supervisor is None else list(self.supervisor.history(limit))
