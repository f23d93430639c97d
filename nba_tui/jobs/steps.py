"""The steps every job action shares, as functions over the parts they need (no object of their
own): the table named (a one-line refusal otherwise), its lock, the action written to the action
log before it happens, a failed state write refusing the action whole, the argv rendered from the
current config, and signals to a job's processes through an engine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nba_tui import backfill_argv
from nba_tui.config import Pipeline, Table
from nba_tui.jobs import action_log, checks, procs
from nba_tui.jobs.engines import registry
from nba_tui.jobs.engines.base import Engine
from nba_tui.jobs.engines.capability import LOCAL
from nba_tui.jobs.errors import JobError, refusal
from nba_tui.jobs.model import JobRecord, JobState
from nba_tui.jobs.store import LockTimeout, Store


def table_of(pipeline: Pipeline, name: str) -> Table:
    """The pipeline's table `name`, or a JobError listing the tables."""
    checks.ref(name, "table")
    try:
        return pipeline.table(name)
    except KeyError:
        known = ", ".join(t.name for t in pipeline.tables())
        raise JobError(f"unknown table {name!r} (tables: {known})") from None


@contextlib.contextmanager
def table_lock(store: Store, table: str) -> Iterator[None]:
    """The table's launch lock; a JobError (one line) when another launcher held it for 30 s."""
    try:
        with store.table_lock(table):
            yield
    except LockTimeout as e:
        raise JobError(str(e)) from None


@contextlib.contextmanager
def writing(store: Store, what: str, undo: JobRecord | None = None) -> Iterator[None]:
    """A failed state write (full or read-only disk) refuses the action in one line; with
    `undo`, the record just created is removed (nothing half-launched stays behind)."""
    try:
        yield
    except OSError as e:
        if undo is not None:
            with contextlib.suppress(OSError):
                store.job_path(undo.id).unlink()
            if undo.log:
                with contextlib.suppress(OSError):
                    Path(undo.log).unlink()
        where = "writing " if e.filename else f"writing {store.root}: "
        raise refusal(f"cannot {what}: {where}", e) from None


def log_action(store: Store, user: str, rec: JobRecord, action: str, **extra: Any) -> None:
    """Append the action to the action log (with the exact argv) before doing it."""
    names = ("start", "end", "dates", "plan", "restarted_from", "log", "pid")
    facts = {k: getattr(rec, k) for k in names}
    action_log.record(
        store,
        user=user,
        action=action,
        job=rec.id,
        table=rec.table,
        argv=rec.argv,
        **facts,
        **extra,
    )


def job_argv(
    pipeline: Pipeline,
    t: Table,
    start: dt.date | None,
    end: dt.date | None,
    days: Sequence[dt.date] | None,
    shard: str | None = None,
    engine: str = LOCAL.name,
) -> list[str]:
    """The table's backfill argv for these dates on `engine`, rendered from the current config
    as `run --dry-run --argv` shows it (`registry.launch_argv`); dates outside the pipeline's
    range refused."""
    checks.dates(pipeline, start, end, days)
    try:
        return registry.launch_argv(
            pipeline, t, start=start, end=end, dates=days, shard=shard, engine=engine
        )
    except backfill_argv.NoBackfill as e:
        raise JobError(str(e)) from None


def signal_job(engine: Engine, rec: JobRecord, sig: int) -> None:
    """Signal the job's processes; never a pid whose create_time differs."""
    if not engine.signal(rec, sig):
        raise JobError(f"job {rec.id}: process {rec.pid} is gone")


def terminate(engine: Engine, rec: JobRecord, grace: float) -> bool:
    """TERM + CONT, then KILL after `grace` if anything is left; True if KILL was needed."""
    engine.signal(rec, signal.SIGTERM)
    engine.signal(rec, signal.SIGCONT)
    if procs.wait_until(lambda: not engine.members(rec), grace, 0.01):
        return False
    engine.signal(rec, signal.SIGKILL)
    procs.wait_until(lambda: not engine.members(rec), 5.0, 0.01)
    return True


def set_stopped(store: Store, job_id: str, message: str) -> None:
    """Record an active job STOPPED with `message` (and ask a shim starting it to TERM it)."""

    def apply(r: JobRecord) -> None:
        r.stop_requested = True  # a shim starting it right now TERMs it at once
        if r.state.active:
            r.state, r.ended_at, r.message = JobState.STOPPED, time.time(), message

    store.update_job(job_id, apply)
