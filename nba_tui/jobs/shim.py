"""The detached parent of one backfill job: `python -m nba_tui.jobs.shim STATE_DIR JOB_ID`.

Started by the local engine (jobs/engines/local.py, which draws the process layout):

* The shim is started with `start_new_session=True`, stdin /dev/null and stdout/stderr on the log
  *file*, so nothing ties it to the dashboard's terminal: a hangup or `kill -9` of the dashboard
  does not reach it, and nobody has to drain a pipe.
* The program gets its own process group (not the shim's), so `killpg(pgid, SIGSTOP/SIGTERM)`
  reaches the program and its children but never the shim: the shim stays able to `wait()` and to
  record `{exit_code, signal, ended_at}` even while the job is being stopped.
* Everything the job ever forks stays in the shim's *session* unless it calls setsid() itself
  (a daemon would): a grandchild that calls setpgid() escapes `killpg` but not the session scan
  (jobs/procs.py), which pause and stop also do.
* The program's group is never orphaned while the shim lives (its parent is in another group of
  the same session), so the kernel does not SIGHUP a paused job.

The shim holds the table's run lock (store.py) for the job's life, so a damaged record never
allows a second launch, and a failed state write (full or read-only disk) never costs the job: the
program goes on, and the exit is recorded with the space the shim set aside at start (RESERVE).
Its own log lines go through `fsutil.say`: on a full log disk they are dropped (one marker line
says so when space returns), so the shim never dies before, or while, its program runs.

The shim imports only the standard library, psutil and `jobs.store` (fast to start).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nba_tui.fsutil import say
from nba_tui.jobs import repair
from nba_tui.jobs.engines.capability import LOCAL
from nba_tui.jobs.guard import PlanGuard
from nba_tui.jobs.model import JobRecord, JobState, record_exit, run_key
from nba_tui.jobs.procs import create_time
from nba_tui.jobs.store import LOCK_FLAGS, LockTimeout, Store

RESERVE = 64 * 1024
"""Bytes the shim sets aside in jobs/ at start and frees to record the exit on a full disk."""
FINISH_TRIES = 30
"""Attempts (one a second) to record the exit while the state directory cannot be written."""


_log = functools.partial(say, stamp=True)
"""The shim's lines in the job's log (its stdout), stamped among the program's."""


def _reserve(store: Store, job_id: str) -> Path | None:
    """A file of RESERVE bytes next to the records, freed when a write meets a full disk."""
    path = store.jobs_dir / f".{job_id}.reserve"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | LOCK_FLAGS, 0o600)
        try:
            os.write(fd, b"\0" * RESERVE)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return path


def _try(what: str, fn: Callable[[], object]) -> str | None:
    """Run a state write; a failure is logged and returned, never fatal to the job."""
    try:
        fn()
    except (OSError, LockTimeout) as e:
        why = f"cannot {what}: {getattr(e, 'strerror', None) or e}"
        _log(why)
        return why
    return None


def run(state_dir: Path, job_id: str, config: str | None = None) -> int:
    """`config`: the pipeline file of the plan the job is a shard of (its guard, jobs/guard.py),
    or of the plan a restarted job may mend (its `plan_done` alert)."""
    store = Store(state_dir)
    rec = store.load_job(job_id)
    if rec is None:
        _log(f"job {job_id}: no readable record in {state_dir}")
        return 2
    if not rec.state.active:
        _log(f"job {job_id} is {rec.state}: not started")
        return 0
    if rec.stop_requested:
        _log(f"job {job_id}: stopped before it started")
        _try("record the stop", lambda: store.finish_job(job_id, None, "stopped before it started"))
        return 0
    me = os.getpid()
    facts = {"job": rec.id, "table": rec.table, "shim_pid": me, "shim_start_time": create_time(me)}
    facts["sid"] = os.getsid(0)
    key = run_key(rec)
    lock = store.hold_run_lock(key, facts)
    if lock is None:
        held = store.run_lock(key)[1] or {}
        why = f"{rec.table} already has a live job {held.get('job', '?')} (run lock held)"
        _log(why)
        _try("record the refusal", lambda: store.finish_job(job_id, None, why))
        return 1
    reserve = _reserve(store, job_id)
    guard = None
    if rec.plan and config:
        guard = PlanGuard(store, rec.plan, config, (rec.id, rec.log or os.devnull), _log)
    try:
        return _supervise(store, rec, lock, facts, (reserve, guard), config)
    finally:
        if reserve is not None:
            with contextlib.suppress(OSError):
                reserve.unlink()


Aids = tuple[Path | None, PlanGuard | None]
"""The shim's reserve file and, for a plan's shard, its plan guard."""


def _supervise(
    store: Store, rec: JobRecord, lock: int, facts: dict, aids: Aids, config: str | None
) -> int:
    """Start the program, record its identity, wait for it, record its exit (whatever the disk);
    meanwhile its plan's guard (if a plan's shard) looks after the plan's runner; a restarted
    job that ends well mends the plan it restarts a job of (jobs/repair.py)."""
    job_id, (reserve, guard) = rec.id, aids
    child: subprocess.Popen | None = None

    def forward_term(signum: int, frame: object) -> None:
        # Someone signalled the shim itself (e.g. `kill SHIM`): pass it on to the job, keep waiting
        # so the exit status is still recorded.
        if child is not None:
            for sig in (signal.SIGTERM, signal.SIGCONT):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, sig)

    signal.signal(signal.SIGTERM, forward_term)
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTTOU, signal.SIGTTIN, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)

    _log(f"job {rec.id} ({rec.table}) by {rec.user}: {shlex.join(rec.argv)}")
    try:
        child = _start_program(rec, store.root)
    except OSError as e:
        os.close(lock)
        _log(f"cannot start {rec.argv[0]!r}: {e.strerror or e}")
        _finish(store, rec, 127, f"cannot start: {e.strerror or e}", reserve, None)
        return 127
    facts.update(pid=child.pid, start_time=create_time(child.pid))
    with contextlib.suppress(OSError):  # the lock's facts now name the program too
        os.ftruncate(lock, 0)
        os.pwrite(lock, json.dumps(facts).encode(), 0)
    started_rec = _started(child.pid, facts)
    started_rec(rec)  # the in-memory copy: written back at the end if the record is lost
    fresh: list[JobRecord | None] = [None]
    problem = _try(
        "record the start", lambda: fresh.__setitem__(0, store.update_job(job_id, started_rec))
    )
    if fresh[0] is not None:
        rec = fresh[0]
    if rec.stop_requested:  # a stop arrived before we could record the pid
        forward_term(signal.SIGTERM, None)
    if guard is not None:
        guard.start()
    rc = child.wait()
    with contextlib.suppress(OSError):  # facts left in a run lock mean "the shim was killed"
        os.ftruncate(lock, 0)
    os.close(lock)  # the table is free before its record says so: a relaunch then sees "ended"
    how = f"signal {-rc}" if rc < 0 else f"code {rc}"
    _log(f"job {job_id} exited with {how}")
    _finish(store, rec, rc, None, reserve, problem)
    if guard is not None:
        guard.stop()
    if rc == 0 and rec.restarted_from:  # a plan's failed job, restarted to done: tell the plan
        _try("update the plan it restarts", lambda: _mend_plan(store, job_id, config))
    return 0


def _started(pid: int, facts: dict) -> Callable[[JobRecord], None]:
    """The record's update once the program runs: its identity and the shim's."""

    def started_rec(r: JobRecord) -> None:
        r.pid, r.pgid, r.start_time = pid, pid, facts["start_time"]
        r.shim_pid, r.shim_start_time, r.sid = (
            facts["shim_pid"],
            facts["shim_start_time"],
            facts["sid"],
        )
        r.started_at = r.started_at or time.time()
        if r.state is JobState.QUEUED:
            r.state = JobState.RUNNING

    return started_rec


def _mend_plan(store: Store, job_id: str, config: str | None) -> None:
    """`repair.after_exit`, said in the log; a plan that cannot be mended is a log line. The
    pipeline file `config` gives the mended plan a fresh poll and its end's event (`plan_done`,
    `plan_short`) to the alert hook."""
    ended = store.load_job(job_id)
    first = repair.origin(store, ended) if ended is not None else None
    if first is None or first.plan is None:
        return  # not a plan's job restarted: nothing to mend
    pipeline = None
    if config is not None:
        from nba_tui import config as cfg

        try:
            pipeline = cfg.load(Path(config))
        except cfg.ConfigError as e:
            _log(f"job {job_id}: {e}: the plan it restarts is mended without a poll or alert")
    try:
        mended = repair.after_exit(store, ended, pipeline)
    except (ValueError, TypeError) as e:  # a damaged plan: listed as such by `plans`
        _log(f"job {job_id}: cannot update the plan it restarts: {e}")
        return
    if mended is None:
        return
    plan, event = mended
    _log(f"plan {plan.id} is now {plan.state}: {plan.message}")
    if event is not None and pipeline is not None and (problem := repair.alert(pipeline, event)):
        _log(problem)


def program_argv(rec: JobRecord, state_dir: Path) -> list[str]:
    """What the shim runs: the backfill itself, or for a remote engine the bridge that submits
    it there and follows it (jobs/engines/bridge.py)."""
    if rec.engine == LOCAL.name:
        return rec.argv
    return [sys.executable, "-m", "nba_tui.jobs.engines.bridge", str(state_dir), rec.id]


def _start_program(rec: JobRecord, state_dir: Path) -> subprocess.Popen:
    """The program in its own process group, stdin /dev/null, output on the shim's (the log)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # progress lines reach the log as they happen
    return subprocess.Popen(  # noqa: S603 - an argument list rendered from pipeline.yaml, no shell
        program_argv(rec, state_dir),
        cwd=rec.cwd or None,
        stdin=subprocess.DEVNULL,
        process_group=0,
        close_fds=True,
        env=env,
        # restore default dispositions in the program (we ignore HUP/INT/PIPE ourselves)
        restore_signals=True,
        preexec_fn=_default_signals,
    )


def _finish(
    store: Store,
    rec: JobRecord,
    rc: int | None,
    message: str | None,
    reserve: Path | None,
    problem: str | None,
) -> None:
    """Record the exit. On a full disk, free the reserve; retry for a while; a damaged or
    missing record is rewritten from the shim's own copy (so the job never reads as lost)."""
    now = time.time()
    note = message or (f"state writes failed while it ran ({problem})" if problem else None)

    def write() -> None:
        if store.update_job(rec.id, lambda r: record_exit(r, rc, note, now)) is None:
            record_exit(rec, rc, note or "its record was unreadable; rewritten by its shim", now)
            store.save_job(rec)

    for attempt in range(FINISH_TRIES):
        if _try("record the exit", write) is None:
            return
        if reserve is not None:
            with contextlib.suppress(OSError):
                reserve.unlink()
            reserve = None
            continue
        if attempt + 1 < FINISH_TRIES:
            time.sleep(1.0)
    _log(f"job {rec.id}: gave up recording its exit ({rc})")


def _default_signals() -> None:
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(sig, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print("usage: python -m nba_tui.jobs.shim STATE_DIR JOB_ID [CONFIG]", file=sys.stderr)
        return 2
    return run(Path(args[0]), args[1], args[2] if len(args) == 3 else None)


if __name__ == "__main__":
    raise SystemExit(main())
