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

The shim imports only the standard library, psutil and `jobs.store` (fast to start).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from nba_tui.jobs.model import JobRecord, JobState
from nba_tui.jobs.procs import create_time
from nba_tui.jobs.store import Store


def _log(msg: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    sys.stdout.write(f"[nba-tui {stamp}] {msg}\n")
    sys.stdout.flush()


def run(state_dir: Path, job_id: str) -> int:
    store = Store(state_dir)
    rec = store.load_job(job_id)
    if rec is None:
        _log(f"job {job_id}: no record in {state_dir}")
        return 2
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
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # progress lines reach the log as they happen
    try:
        child = subprocess.Popen(  # noqa: S603 - an argument list from pipeline.yaml, no shell
            rec.argv,
            cwd=rec.cwd or None,
            stdin=subprocess.DEVNULL,
            process_group=0,
            close_fds=True,
            env=env,
            # restore default dispositions in the program (we ignore HUP/INT/PIPE ourselves)
            restore_signals=True,
            preexec_fn=_default_signals,
        )
    except OSError as e:
        _log(f"cannot start {rec.argv[0]!r}: {e.strerror or e}")
        store.finish_job(job_id, 127, f"cannot start: {e.strerror or e}")
        return 127
    started = create_time(child.pid)
    me = os.getpid()
    me_started = create_time(me)

    def started_rec(r: JobRecord) -> None:
        r.pid, r.pgid, r.start_time = child.pid, child.pid, started
        r.shim_pid, r.shim_start_time, r.sid = me, me_started, os.getsid(0)
        r.started_at = time.time()
        if r.state is JobState.QUEUED:
            r.state = JobState.RUNNING

    rec = store.update_job(job_id, started_rec) or rec
    if rec.stop_requested:  # a stop arrived before we could record the pid
        forward_term(signal.SIGTERM, None)
    rc = child.wait()
    how = f"signal {-rc}" if rc < 0 else f"code {rc}"
    _log(f"job {job_id} exited with {how}")
    store.finish_job(job_id, rc)
    return 0


def _default_signals() -> None:
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(sig, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m nba_tui.jobs.shim STATE_DIR JOB_ID", file=sys.stderr)
        return 2
    return run(Path(args[0]), args[1])


if __name__ == "__main__":
    raise SystemExit(main())
