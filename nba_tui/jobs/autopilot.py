"""The pipelined plan runner (a `run` plan): schedule by the table graph, date by date.

`runner.py` hands a `run` plan here. Each tick reads the plan's jobs (the store is the truth),
then takes one coverage poll (`monitor.snapshot_once`: an ended shard's rows are in it) and:

1. accounts for shards that ended since the last tick (`Plan.shards`, job_done / job_failed):
   a failed shard's dates still missing get a retry after `retry_backoff` x 2^(n-1), up to
   `jobs.retries` retries; a date missing after every attempt is quarantined (date_quarantined);
2. emits coverage_dropped (a table lost present dates since the last poll), phase_ready (every
   table of a requested phase meets its threshold) and warehouse_stale (no poll for
   `alerts.stale_after`);
3. unless the plan is paused, packs the missing-and-ready dates no shard covers
   (`schedule.demands`) into shards for the free `max_parallel` slots (`schedule.allocate`) and
   starts them: downstream tables start on the dates already ready (the wavefront);
4. ends the plan when nothing runs and nothing can start: the dates downstream of a quarantined
   date are skipped (`Plan.skipped_dates`), coverage_after recorded, and the end said truthfully
   (jobs/plan_end.py): done, short, stopped or failed, per table what is missing and why;
   plan_done, plan_short or plan_failed.

Every event goes to events.jsonl and to the alert hook (`alerts.Deliverer`: a worker thread,
once per id, in order, never fatal).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import time
from collections.abc import Callable

from nba_tui import readiness
from nba_tui.coverage import DateState, Snapshot
from nba_tui.fsutil import dir_identity, say
from nba_tui.jobs import alerts, beat, decide, forecast, plan_end, schedule, watchdog
from nba_tui.jobs.decide import member
from nba_tui.jobs.events import Event, new_event
from nba_tui.jobs.facts import record_dates, run_seconds, span
from nba_tui.jobs.model import Damaged, JobState, JobView, Plan, PlanState
from nba_tui.jobs.procs import wait_until
from nba_tui.jobs.store import LockTimeout, StateError, flock
from nba_tui.jobs.supervisor import JobError, Supervisor
from nba_tui.jobs.words import state_text, state_word
from nba_tui.logtail import error_line
from nba_tui.monitor import snapshot_once
from nba_tui.warehouse import WarehouseError

HAS_ROWS = (DateState.PRESENT, DateState.THIN)
ORPHAN = "never started: no shim took it (its runner died or failed to start it; dates re-shard)"
RELEASED = "never started: not all its dates can be ready in this plan (the rest run as shards)"


class PlanGone(Exception):
    """The plan file is unreadable and the runner holds no copy of it: the runner stops."""


class Autopilot:
    """One plan's runner state between ticks (what is not worth a plan write)."""

    def __init__(self, sup: Supervisor, plan_id: str, pulse: beat.Beat | None = None) -> None:
        self.sup, self.plan_id = sup, plan_id
        self.pulse = pulse or beat.Beat(sup.store.locks_dir, plan_id)
        """The runner's heartbeat, kept beating through a remote pause (`hold`)."""
        self.pipeline = sup.pipeline
        self.present: dict[str, set[dt.date]] | None = None
        self.last_poll = time.time()
        """The last good poll (the runner's start before the first)."""
        self.stale = alerts.StaleEpisode(self.pipeline.alerts.stale_after)
        self.copy: Plan | None = None
        """The last plan read or written whole: a damaged plan file is rewritten from it."""
        self.alerts = alerts.Deliverer(self.pipeline, plan_id)
        """Hooks run by a worker thread (a slow hook never delays a shard)."""
        self.foreseen = 0.0
        self.guessed: set[str] = set()
        """Tables whose rate the last forecast guessed (no shard of theirs had reported)."""
        self.heard: set[str] = set()
        """Of those, the tables whose first shard reported (each re-forecasts once)."""
        self.end_sent: tuple[str, str] | None = None
        """The plan end's event this runner sent (a plan write that fails after it never
        sends it twice)."""
        self.home = dir_identity(sup.store.root)
        """The state directory's identity at start: removed or replaced, the plan is gone."""

    # -- events -----------------------------------------------------------------------------------
    def emit(
        self, kind: str, table: str | None = None, dates: list | None = None, detail: str = ""
    ) -> None:
        ev = new_event(kind, plan=self.plan_id, table=table, dates=dates or [], detail=detail)
        say(f"event {kind} {table or ''} {detail}".rstrip())
        why = alerts.publish(self.pipeline, ev, self.alert)
        if why:
            say(why)

    def alert(self, ev: Event) -> None:
        """Queue the event for its hook; the plan's final event (plan_* but plan_late) is awaited,
        so it is delivered before the plan reads ended (each hook is bounded by alerts.timeout)."""
        self.alerts.put(ev)
        if ev.kind.startswith("plan_") and ev.kind != "plan_late":
            waited = (self.alerts.queue.qsize() + 1) * self.pipeline.alerts.timeout + 5.0
            if not self.alerts.drain(waited):
                say(f"alerts still queued after {waited:.0f}s")

    def update(self, fn: Callable[[Plan], None]) -> Plan:
        plan = self.sup.store.update_plan(self.plan_id, fn)
        if plan is None:  # damaged or gone: rewritten from our copy, then the change applied
            self.repair(self.sup.store.read_plan(self.plan_id))
            plan = self.sup.store.update_plan(self.plan_id, fn)
            if plan is None:
                raise PlanGone(f"plan {self.plan_id}: its file cannot be rewritten")
        self.copy = plan
        return plan

    def load(self) -> Plan:
        found = self.sup.store.read_plan(self.plan_id)
        if isinstance(found, Plan):
            self.copy = found
            return found
        return self.repair(found)

    def repair(self, found: Plan | Damaged | None) -> Plan:
        """A damaged (emptied, mistyped) or vanished plan file is rewritten from the runner's
        copy; without a copy the runner stops (PlanGone, one line)."""
        why = found.reason if isinstance(found, Damaged) else "its file is gone"
        if self.copy is None:
            raise PlanGone(f"plan {self.plan_id}: {why}")
        self.check_home()
        with self.sup.store.record_lock("plan", self.plan_id):
            again = self.sup.store.read_plan(self.plan_id)
            if isinstance(again, Plan):  # someone (a watchdog) rewrote it meanwhile
                self.copy = again
                return again
            self.sup.store.save_plan(self.copy)
        say(f"plan {self.plan_id} file damaged ({why}): rewritten from the runner's copy")
        return self.copy

    def check_home(self) -> None:
        """PlanGone when the state directory was removed or replaced since the runner started."""
        if self.home is None or dir_identity(self.sup.store.root) != self.home:
            raise PlanGone(f"plan {self.plan_id}: state directory removed or replaced")

    # -- one tick ---------------------------------------------------------------------------------
    def tables(self, plan: Plan) -> list[str]:
        return decide.plan_tables(self.pipeline, plan)

    def poll(self) -> Snapshot | None:
        try:
            snap = snapshot_once(self.pipeline)
        except WarehouseError as e:
            stale = self.stale.failed(time.time(), self.last_poll)
            if stale is not None:
                self.emit("warehouse_stale", detail=f"no poll for {stale:.0f}s: {e}")
            say(f"warehouse: {e}")
            return None
        self.last_poll = time.time()
        self.stale.good()
        return snap

    def tick(self) -> int | None:
        """One tick; None: go on, else the runner's exit code."""
        plan = self.load()
        if plan.state is not PlanState.RUNNING:
            say(f"plan {self.plan_id} {plan.state}")
            return 0
        every = self.sup.jobs()
        views = self.orphans([v for v in every if v.record.plan == self.plan_id])
        self.adopt_members(plan, views)
        if plan.paused:
            self.hold(views)
        snap = self.poll()
        if snap is None:
            return None
        tables = self.tables(plan)
        self.watch_coverage(plan, snap, tables)
        plan = self.account(plan, views, snap)
        plan = self.phases_ready(plan, snap)
        active = [v for v in views if v.state.active]
        busy = sum(1 for v in every if v.state in (JobState.RUNNING, JobState.PAUSED))
        plan = self.foresee(plan, snap, every)
        started = 0 if plan.paused else self.start(plan, snap, views, busy)
        if active or started or plan.paused or decide.waiting_retry(plan, time.time()):
            return None
        return self.finish(plan, snap, tables)

    def foresee(self, plan: Plan, snap: Snapshot, every: list[JobView]) -> Plan:
        """Every forecast.EVERY seconds, and at once when a table whose rate the last forecast
        guessed has its first shard reporting: the plan's forecast into its file, and plan_late
        once when the forecast end passes the plan's deadline."""
        now = time.time()
        heard = {
            v.record.table
            for v in every
            if v.record.table in self.guessed and (v.state is JobState.DONE or v.progress.done)
        }
        if now - self.foreseen < forecast.EVERY and not heard - self.heard:
            return plan
        self.foreseen, self.heard = now, self.heard | heard
        f = forecast.for_plan(self.pipeline, plan, snap, every, now)
        self.guessed = set(f.guessed)
        apply, late = forecast.recorded(plan, f, now)
        if late:
            self.emit("plan_late", None, [], late)
        return self.update(apply)

    def adopt_members(self, plan: Plan, views: list[JobView]) -> None:
        """A runner killed between starting a shard and listing it leaves a job whose record
        names the plan but the plan does not list: list it (it is counted and never relaunched,
        since membership is read from the records; this keeps the plan's list whole)."""
        missing = [v.id for v in views if v.id not in plan.jobs]
        if missing:
            self.update(
                lambda p: setattr(p, "jobs", [*p.jobs, *(i for i in missing if i not in p.jobs)])
            )

    def hold(self, views: list[JobView]) -> None:
        """A paused plan runs nothing: a shard that began as the pause was asked (its start and
        the flag crossed) is paused here, on the next tick. A job someone resumed by hand after
        the pause (it has paused time) is left running: that was asked for."""
        for v in views:
            r = v.record
            if v.state is JobState.RUNNING and not r.paused_total and r.paused_at is None:
                with contextlib.suppress(JobError), self.pulse.keep():  # it may end meanwhile
                    self.sup.pause(v.id)
                    say(f"paused {v.id}: the plan is paused")

    def orphans(self, views: list[JobView]) -> list[JobView]:
        """Queued shards no shim ever took (a runner killed between queueing and starting one:
        this runner starts what it queues within its tick) end STOPPED, not as a hand stop.
        Reserved jobs (queued up front, no shard label) wait for `decide`."""
        out = []
        for v in views:
            if v.state is JobState.QUEUED and v.record.shim_pid is None and v.record.shard:
                with contextlib.suppress(JobError):
                    v = self.sup.stop_unstarted(v.id, ORPHAN)
            out.append(v)
        return out

    def watch_coverage(self, plan: Plan, snap: Snapshot, tables: list[str]) -> None:
        """coverage_before once; coverage_dropped when a table lost present dates."""
        now = {
            n: {d for d, s in cov.states.items() if s in HAS_ROWS} for n, cov in snap.tables.items()
        }
        if not plan.coverage_before:
            self.update(lambda p: setattr(p, "coverage_before", {n: len(now[n]) for n in tables}))
        if self.present is not None:
            for name, days in now.items():
                lost = sorted(self.present.get(name, set()) - days)
                if lost:
                    self.emit("coverage_dropped", name, lost, f"{len(lost)} present dates lost")
        self.present = now

    def account(self, plan: Plan, views: list[JobView], snap: Snapshot) -> Plan:
        """Record the shards that ended since the last tick; retries and quarantine."""
        ended = [v for v in views if not v.state.active and v.id not in plan.counted]
        if not ended:
            return plan
        now = time.time()
        retries, backoff = self.pipeline.jobs.retries, self.pipeline.jobs.retry_backoff
        quarantine: dict[str, list[str]] = {}
        unfilled: dict[str, list[str]] = {}
        stopped: list[str] = []
        for v in ended:
            r = v.record
            cov = snap.tables.get(r.table)
            asked = sorted(record_dates(r))
            left = [d for d in asked if cov is not None and cov.states.get(d) is DateState.MISSING]
            if r.state is JobState.DONE:
                # game dates: a range record's calendar days hold no-game days too
                games = len([d for d in asked if cov is None or d in cov.states])
                self.emit("job_done", r.table, [], f"job {r.id}: {games} dates")
                if left:
                    unfilled.setdefault(r.table, []).extend(d.isoformat() for d in left)
                continue
            if r.state is JobState.STOPPED:
                if r.message not in (ORPHAN, RELEASED):
                    stopped.append(r.table)
                continue
            self.emit(
                "job_failed",
                r.table,
                [d.isoformat() for d in left],
                f"job {r.id} {state_text(r)} (attempt {r.attempt})",
            )
            for d in left:
                n = plan.failures.get(r.table, {}).get(d.isoformat(), 0) + 1
                plan.failures.setdefault(r.table, {})[d.isoformat()] = n
                if n > retries:
                    quarantine.setdefault(r.table, []).append(d.isoformat())
                else:
                    wait = backoff * 2 ** (n - 1)
                    plan.retry_at.setdefault(r.table, {})[d.isoformat()] = now + wait
            if left and not quarantine.get(r.table):
                self.emit("shard_retried", r.table, left, f"job {r.id}: retry in {backoff:g}s+")
        for table, days in quarantine.items():
            self.emit("date_quarantined", table, days, f"failed {retries + 1} times")

        def apply(p: Plan) -> None:
            p.counted = [*p.counted, *(v.id for v in ended)]
            p.shards = [*p.shards, *(shard_entry(v) for v in ended)]
            p.failures, p.retry_at = plan.failures, plan.retry_at
            for table, days in quarantine.items():
                p.quarantined[table] = sorted({*p.quarantined.get(table, []), *days})
            p.stopped_tables = sorted({*p.stopped_tables, *stopped})
            for table, days in unfilled.items():
                p.unfilled[table] = sorted({*p.unfilled.get(table, []), *days})
            # failed for good: a table whose failed shard was retried to done is not failed
            p.failed_tables = sorted(t for t, days in p.quarantined.items() if days)

        return self.update(apply)

    def phases_ready(self, plan: Plan, snap: Snapshot) -> Plan:
        """phase_ready once per requested phase whose tables all meet their thresholds (a
        `run` plan's: a phase launch or a heal asks for dates, not phases)."""
        if plan.kind != "run":
            return plan
        ready = [
            ph
            for ph in plan.phases
            if ph not in plan.phases_ready
            and all(snap.tables[t.name].ok for t in self.pipeline.phase(ph).tables)
        ]
        for ph in ready:
            self.emit("phase_ready", None, [], f"{ph}: every table meets its threshold")
        if not ready:
            return plan
        return self.update(lambda p: setattr(p, "phases_ready", [*p.phases_ready, *ready]))

    def start(self, plan: Plan, snap: Snapshot, views: list[JobView], busy: int) -> int:
        """Start what `decide.decide` picks for the slots `busy` (running or paused jobs of the
        pipeline) leaves; reserved jobs it releases end STOPPED (never a hand stop). Returns how
        many it started, a start that failed on the state directory (read-only, full) counted:
        it is tried again next tick, so the plan does not end while something could start."""
        members = [member(v) for v in views]
        busy += sum(1 for v in views if v.state is JobState.QUEUED and v.record.shim_pid)
        slots = self.pipeline.jobs.max_parallel - busy
        choice = decide.decide(self.pipeline, snap, plan, members, slots, time.time())
        n = 0
        for jid in choice.release:
            with contextlib.suppress(JobError):
                self.sup.stop_unstarted(jid, RELEASED)
                n += 1
        for jid in choice.start:
            try:
                v = self.sup.start_queued(jid, wait=False)
            except (JobError, OSError) as e:
                say(f"cannot start {jid}: {e}")
                n += isinstance(e, OSError)
                continue
            self.emit("job_started", v.record.table, [], f"job {v.id} attempt {v.record.attempt}")
            n += 1
        for s in choice.shards:
            n += self.launch(plan, snap, s)
        return n

    def launch(self, plan: Plan, snap: Snapshot, s: schedule.Shard) -> int:
        tried = plan.failures.get(s.table, {})
        attempt = 1 + max((tried.get(d.isoformat(), 0) for d in s.dates), default=0)
        kw = {"start": s.start, "end": s.end} if s.contiguous else {"dates": s.dates}
        try:
            v = self.sup.queue(s.table, self.plan_id, shard=s.label, attempt=attempt, **kw)
            v = self.sup.start_queued(v.id, wait=False)
        except (JobError, OSError) as e:
            say(f"cannot start {s.table} {s.label}: {e}")
            return int(isinstance(e, OSError))  # the state directory's weather: tried again
        self.emit("job_started", s.table, [], f"job {v.id} {s.label} attempt {attempt}")
        self.update(lambda p: setattr(p, "jobs", [*p.jobs, v.id]))
        self.record_fallbacks(plan, snap, s)
        return 1

    def record_fallbacks(self, plan: Plan, snap: Snapshot, s: schedule.Shard) -> None:
        """The shard's dates that run on soft-input fallbacks, as events and on the plan: by
        necessity (a soft input lacks a date nothing can fill) and, with `skip_preflight`, by
        choice (the soft input could still be filled)."""
        kinds = [("necessity", "run on fallbacks by necessity: a soft input nothing can fill")]
        if plan.skip_preflight:
            kinds.append(("degraded", "run on soft-input fallbacks (--skip-preflight)"))
        for field_name, why in kinds:
            if field_name == "necessity":
                found = readiness.degraded_by_necessity(self.pipeline, snap, s.table, s.dates)
            else:
                mine = set(s.dates)
                found = [
                    d
                    for d in readiness.degraded_by_choice(self.pipeline, snap, s.table)
                    if d in mine
                ]
            if not found:
                continue
            days = [d.isoformat() for d in found]
            self.emit("degraded", s.table, days, why)

            def add(p: Plan, name: str = field_name, days: list[str] = days) -> None:
                got = getattr(p, name)
                got[s.table] = sorted({*got.get(s.table, []), *days})

            self.update(add)

    def finish(self, plan: Plan, snap: Snapshot, tables: list[str]) -> int:
        """Nothing runs and nothing can start: skipped dates, coverage_after, the plan's end
        (jobs/plan_end.py: done, short, stopped or failed, and why per table)."""
        skipped = plan_end.skipped_dates(self.pipeline, snap, tables, plan)
        for table, days in skipped.items():
            self.emit("date_skipped", table, days, "an input date it reads was quarantined")
        after = {n: sum(1 for s in snap.tables[n].states.values() if s in HAS_ROWS) for n in tables}
        errors = {t: line for t in plan.quarantined if (line := self.error_line(plan, t))}
        end = plan_end.conclude(self.pipeline, snap, plan, tables, errors)
        left = plan_end.final_left(self.pipeline, snap, plan)

        def apply(p: Plan) -> None:
            p.skipped_dates, p.coverage_after, p.short = skipped, after, end.short
            p.left = left
            p.stopped_tables = end.stopped
            p.finish(end.state, end.message, time.time())

        # delivered before the plan reads ended: whoever waits for the end sees the alert too
        if self.end_sent != (end.event, end.message):
            self.emit(end.event, None, [], end.message)
            self.end_sent = (end.event, end.message)
        self.update(apply)
        say(f"plan {self.plan_id} {end.state} {end.message}")
        return 0 if end.state is PlanState.DONE else 1

    def error_line(self, plan: Plan, table: str) -> str | None:
        """The error line of the table's last failed shard in this plan (its log's last
        `FAILED …` line, else its last line), for the plan's end."""
        for entry in reversed(plan.shards):
            if entry.get("table") != table or entry.get("state") in ("done", "stopped"):
                continue
            with contextlib.suppress(JobError):
                return error_line(self.sup.job(str(entry["job"])).record.log)
        return None


def shard_entry(v: JobView) -> dict:
    """One `Plan.shards` entry: an ended shard as the plan accounts for it."""
    r = v.record
    first, last, count = span(r)
    return {
        "job": r.id,
        "table": r.table,
        "first": first,
        "last": last,
        "dates": count,
        "attempt": r.attempt,
        "state": state_word(r),
        "exit_code": r.exit_code,
        "duration": run_seconds(r, r.ended_at) if r.ended_at is not None else None,
        "started_at": r.started_at,
        "ended_at": r.ended_at,
    }


def nap(sup: Supervisor, tick: float, step: float = 0.05) -> None:
    """Sleep up to `tick`, waking as soon as a record changes (a shard started or ended: two
    stat() calls per step), so the slot a shard frees is handed on within `step`."""
    version = sup.state_version()
    wait_until(lambda: sup.state_version() != version, tick, step)


def run(sup: Supervisor, plan_id: str, tick: float = 0.5) -> int:
    """The pipelined runner's loop; one runner per plan (an flock on `locks/runner-<plan>`, so
    an adopted runner never runs beside a live one). A tick that fails on what the runner can
    survive (a full or failing disk, a record it cannot write) is retried with a back-off up to
    5 s; a plan file it cannot read nor rewrite, or a state directory removed or replaced, ends
    it with one line (exit 2). Each tick it touches its heartbeat (jobs/beat.py) and starts the
    plan's watchdog again if it is gone (jobs/watchdog.py)."""
    keeper = watchdog.Keeper(sup, plan_id)
    pulse = beat.Beat(sup.store.locks_dir, plan_id)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a hung-up terminal never ends a plan
    try:
        with flock(sup.store.locks_dir / f"runner-{plan_id}.lock", timeout=0):
            say(f"runner {os.getpid()} for plan {plan_id}")
            pilot = Autopilot(sup, plan_id, pulse)  # (its alert worker: one runner's at a time)
            failures = 0
            while True:
                pulse.touch()
                try:
                    pilot.check_home()
                    keeper.ensure()
                    code = pilot.tick()
                    failures = 0
                except PlanGone as e:
                    say(str(e))
                    keeper.stop()
                    return 2
                except (OSError, JobError, StateError, LockTimeout) as e:
                    failures += 1
                    say(f"tick failed ({e}); retrying")
                    nap(sup, min(tick * 2**failures, 5.0))
                    continue
                if code is not None:
                    keeper.stop()
                    return code
                nap(sup, tick)
    except LockTimeout:
        say(f"plan {plan_id} already has a live runner")
        return 0
