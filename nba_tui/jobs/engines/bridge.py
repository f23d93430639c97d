"""The local side of a remote job: `python -m nba_tui.jobs.engines.bridge STATE_DIR JOB_ID`.

Run by the job's shim as its program (jobs/engines/remote.py draws the layout). It

1. submits the job's backfill to its engine once, labelled with the pipeline, table and job: its
   argv rendered afresh from the pipeline file and the record's table, dates and shard, never
   read back from the record (or, when the record already names a run, or the engine lists one
   with the job's labels, attaches to it: a bridge restarted after a crash never submits twice);
2. copies the run's log lines to its stdout, which is the job's log (progress, tail and the log
   pane read it as for a local job), and records the run's state and task-seconds;
3. exits 0 when the run succeeded, 1 when it failed, 3 when someone cancelled it elsewhere (a
   cancelled run is never reported as success), 2 when the engine refused the job;
4. on SIGTERM (stop, or "pause" of a remote job) cancels the run and waits until the engine says
   it ended before exiting (bounded by CANCEL_WAIT), so nothing is left running remotely.

Transient engine errors are retried for up to OUTAGE seconds (the run goes on remotely meanwhile).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import signal
import sys
import time
from pathlib import Path

from nba_tui import backfill_argv, config, fsutil
from nba_tui.config import Pipeline
from nba_tui.jobs.engines.drivers import (
    LABEL_JOB,
    Driver,
    EngineError,
    RemoteRun,
    RemoteState,
    labels_for,
)
from nba_tui.jobs.engines.registry import driver_for, engine_python
from nba_tui.jobs.engines.remote import CONFIG_ENV, submission_name
from nba_tui.jobs.model import JobRecord
from nba_tui.jobs.store import Store
from nba_tui.stopsignal import StopSignal

POLL = 1.0
"""Seconds between looks at the run (logs and state)."""
CANCEL_WAIT = 120.0
"""Seconds a stop waits for the engine to confirm the run ended."""
OUTAGE = 300.0
"""Seconds of consecutive engine errors before the bridge gives up following the run."""
PASS_ENV_PREFIX = "NBA_TUI_"
"""Variables of ours passed to the remote program (e.g. NBA_TUI_SAMPLE_PACE)."""
DATES_ENV = "NBA_TUI_DATES"
"""The job's dates (comma-separated), for engines that slice them per task (Cloud Run)."""

EXIT_FAILED, EXIT_REFUSED, EXIT_CANCELLED = 1, 2, 3
say = functools.partial(fsutil.say, stamp=True)
"""The bridge's own lines in the job's log, stamped among the run's."""


def render_argv(pipeline: Pipeline, rec: JobRecord) -> list[str]:
    """The backfill to submit, rendered from the pipeline file and the record's table, dates and
    shard (never the argv stored in the record); KeyError/ValueError when the record does not
    fit the file (an unknown table, dates that are not ISO dates, a table without a backfill)."""
    table = pipeline.table(rec.table)
    days = [dt.date.fromisoformat(d) for d in rec.dates] if rec.dates is not None else None
    start = dt.date.fromisoformat(rec.start) if rec.start else None
    end = dt.date.fromisoformat(rec.end) if rec.end else None
    python = engine_python(pipeline, rec.engine)
    return backfill_argv.render_argv(
        pipeline, table, start=start, end=end, dates=days, shard=rec.shard, python=python
    )


def remote_env(rec: JobRecord) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(PASS_ENV_PREFIX) and k != CONFIG_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    if rec.dates:
        env[DATES_ENV] = ",".join(rec.dates)
    return env


class Bridge:
    """Follows one job's run; `stop` (set by SIGTERM) turns the loop into cancel-and-verify."""

    def __init__(
        self, store: Store, rec: JobRecord, driver: Driver, labels: dict[str, str], argv: list[str]
    ) -> None:
        self.store, self.rec, self.driver, self.labels = store, rec, driver, labels
        self.argv = argv
        self.stop = StopSignal()
        self.cursor: str | None = None
        self.seen: tuple[str, float] | None = None

    def run_id(self) -> str:
        """The run to follow: the recorded one, one the engine lists with our labels, or a new
        submission (recorded at once, so a restarted bridge attaches instead)."""
        if self.rec.remote_id:
            say(f"attaching to {self.driver.name} run {self.rec.remote_id}")
            return self.rec.remote_id
        found = self.driver.find({LABEL_JOB: self.labels[LABEL_JOB]})
        if found:
            say(f"attaching to {self.driver.name} run {found[0].id} (found by its labels)")
            run_id = found[0].id
        else:
            run_id = self.driver.submit(self.argv, remote_env(self.rec), self.labels)
            say(f"submitted to {self.driver.name} as {run_id}")
        self.store.update_job(self.rec.id, lambda r: setattr(r, "remote_id", run_id))
        return run_id

    def follow(self, run_id: str) -> int:
        """Copy logs and record the state until the run ends (or a stop cancels it)."""
        failing_since: float | None = None
        while True:
            if self.stop.is_set():
                return self.cancel(run_id)
            try:
                run = self.look(run_id)
            except EngineError as e:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > OUTAGE:
                    say(f"gave up following {run_id}: {e}")
                    return EXIT_FAILED
                say(f"{self.driver.name}: {e} (retrying)")
                self.stop.wait(min(30.0, 2 * POLL))
                continue
            failing_since = None
            if run.state.ended:
                self.look(run_id)  # the last lines
                return self.ended(run)
            self.stop.wait(POLL)

    def look(self, run_id: str) -> RemoteRun:
        lines, self.cursor = self.driver.logs(run_id, self.cursor)
        for line in lines:
            sys.stdout.write(line if line.endswith("\n") else line + "\n")
        sys.stdout.flush()
        run = self.driver.get(run_id)
        now = (run.state.value, round(run.task_seconds, 1))
        if now != self.seen:  # a state write only when something changed
            self.seen = now

            def note(r: JobRecord) -> None:
                r.remote_state, r.task_seconds = run.state.value, run.task_seconds

            with contextlib.suppress(OSError):
                self.store.update_job(self.rec.id, note)
        return run

    def ended(self, run: RemoteRun) -> int:
        if run.state is RemoteState.SUCCEEDED:
            say(f"{self.driver.name} run {run.id} succeeded")
            return 0
        why = f"{self.driver.name} run {run.id} {run.state.value}"
        if run.message:
            why += f": {run.message}"
        say(why)
        with contextlib.suppress(OSError):
            self.store.update_job(self.rec.id, lambda r: setattr(r, "message", why))
        return EXIT_CANCELLED if run.state is RemoteState.CANCELLED else EXIT_FAILED

    def cancel(self, run_id: str) -> int:
        """Cancel the run and wait (bounded) until the engine says it ended; then die of the
        TERM we got, so the shim records the stop."""
        say(f"cancelling {self.driver.name} run {run_id}")
        deadline = time.monotonic() + CANCEL_WAIT
        ended = False
        while time.monotonic() < deadline:
            try:
                self.driver.cancel(run_id)
                ended = self.look(run_id).state.ended
            except EngineError as e:
                say(f"{self.driver.name}: {e} (retrying the cancel)")
            if ended:
                break
            time.sleep(POLL)
        say(f"{run_id} ended" if ended else f"{run_id}: no confirmation it ended after cancel")
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return EXIT_FAILED  # not reached


def run(state_dir: Path, job_id: str) -> int:
    store = Store(state_dir)
    rec = store.load_job(job_id)
    if rec is None:
        say(f"job {job_id}: no readable record in {state_dir}")
        return EXIT_REFUSED
    try:
        pipeline = config.load(Path(os.environ[CONFIG_ENV]))
        driver = driver_for(pipeline, rec.engine)
    except (KeyError, config.ConfigError, EngineError) as e:
        say(f"job {job_id}: cannot reach its engine {rec.engine}: {e}")
        return EXIT_REFUSED
    labels = labels_for(pipeline, rec.table, submission_name(rec), rec.plan)
    try:
        argv = render_argv(pipeline, rec)
    except (KeyError, ValueError) as e:
        say(f"job {job_id}: cannot render its backfill from {pipeline.source}: {e}")
        return EXIT_REFUSED
    bridge = Bridge(store, rec, driver, labels, argv)
    bridge.stop.install(signal.SIGTERM)
    try:
        run_id = bridge.run_id()
    except EngineError as e:
        why = str(e)
        say(f"{rec.engine} refused job {rec.id}: {why}")
        with contextlib.suppress(OSError):
            store.update_job(rec.id, lambda r: setattr(r, "message", why))
        return EXIT_REFUSED
    return bridge.follow(run_id)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m nba_tui.jobs.engines.bridge STATE_DIR JOB_ID", file=sys.stderr)
        return EXIT_REFUSED
    return run(Path(args[0]), args[1])


if __name__ == "__main__":
    raise SystemExit(main())
