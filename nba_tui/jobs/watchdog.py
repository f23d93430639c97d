"""A plan's watchdog: `python -m nba_tui.jobs.watchdog CONFIG PLAN_ID` (docs/JOBS.md).

The plan runner is supervised the way systemd's `Restart=on-failure` supervises a service: one
small watchdog process per plan, in its own session, holding `locks/watchdog-<plan>.lock`. Every
`WATCH_EVERY` seconds it reads the plan; while the plan is running and its runner is gone (a
crash, kill -9, the OOM killer) it starts a new runner (`Supervisor.restart_runner`: back-off and
limit, `Plan.restarts`, a `runner_restarted` event), which adopts the plan's jobs. The runner in
turn starts the watchdog again whenever the watchdog is gone (`Keeper`, each tick): killing one
of the two never leaves the plan unsupervised. It exits when the plan ends.

A plan file found damaged or gone while no runner keeps its own copy is rewritten from the
watchdog's last good read of it. A state directory removed, or replaced by another one at the same
path, ends the watchdog: it never writes nor runs anything for a plan that no longer exists.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nba_tui import config
from nba_tui.fsutil import dir_identity, lock_held, say
from nba_tui.jobs import beat, procs
from nba_tui.jobs.engines.local import spawn_detached
from nba_tui.jobs.errors import JobError
from nba_tui.jobs.events import new_event
from nba_tui.jobs.model import Damaged, Plan, PlanState
from nba_tui.jobs.plans import restart_wait, watchdog_argv
from nba_tui.jobs.store import LockTimeout, StateError, flock, open_log
from nba_tui.jobs.supervisor import Supervisor

WATCH_EVERY = 1.0
"""Seconds between two looks at the plan (a lost runner is restarted within this + back-off)."""


def lock_path(sup: Supervisor, plan_id: str) -> Path:
    return sup.store.locks_dir / f"watchdog-{plan_id}.lock"


class Keeper:
    """The runner's side of the pair: start the plan's watchdog when none holds its lock."""

    def __init__(self, sup: Supervisor, plan_id: str) -> None:
        self.sup, self.plan_id = sup, plan_id
        self.proc: subprocess.Popen | None = None

    def ensure(self) -> None:
        """Cheap when it lives (a poll or one flock try); never raises."""
        if self.proc is not None and self.proc.poll() is None:
            return  # ours, alive (maybe still starting: not holding its lock yet)
        if lock_held(lock_path(self.sup, self.plan_id)):
            return
        pipeline = self.sup.pipeline
        try:
            log = open_log(pipeline.log_dir, f"plan_{self.plan_id}_watchdog")
        except OSError:
            log = Path(os.devnull)  # a full log disk never stops the supervision
        try:
            argv = watchdog_argv(pipeline, self.plan_id)
            self.proc = spawn_detached(argv, log, pipeline.base_dir)
        except OSError as e:
            say(f"cannot start the watchdog: {e.strerror or e}")
            return
        say(f"watchdog pid {self.proc.pid} started")

    def stop(self) -> None:
        """The plan ended: the watchdog this runner started exits now, not at its next look."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.terminate()


def watch(sup: Supervisor, plan_id: str, every: float = WATCH_EVERY, by: str = "watchdog") -> int:
    """The watchdog's life: one per plan (its lock), until the plan ends."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if dir_identity(sup.store.root) is None:
        say(f"plan {plan_id}: state directory {sup.store.root} is gone; watchdog exits")
        return 2
    try:
        sup.store.ensure()
        with flock(lock_path(sup, plan_id), timeout=5.0):
            say(f"watchdog {os.getpid()} for plan {plan_id}")
            with contextlib.suppress(OSError):
                sup.store.update_plan(plan_id, lambda p: setattr(p, "watchdog_pid", os.getpid()))
            return Watchdog(sup, plan_id, by).loop(every)
    except LockTimeout:
        say(f"plan {plan_id} already has a watchdog")
        return 0


class Watchdog:
    def __init__(self, sup: Supervisor, plan_id: str, by: str = "watchdog") -> None:
        self.sup, self.plan_id = sup, plan_id
        self.home = dir_identity(sup.store.root)
        """The state directory's identity when the watchdog started (fsutil.dir_identity)."""
        self.copy: Plan | None = None
        self.gave_up = False
        self.by = by
        """Who the next restart is recorded as made by (a shim that started this watchdog)."""

    def moved(self) -> bool:
        """The state directory was removed or replaced since the watchdog started."""
        if dir_identity(self.sup.store.root) == self.home:
            return False
        say(f"plan {self.plan_id}: state directory {self.sup.store.root} removed or replaced; "
            "watchdog exits")  # fmt: skip
        return True

    def loop(self, every: float) -> int:
        while True:
            try:
                code = self.look()
            except (OSError, JobError, StateError) as e:
                say(f"watchdog: {e}")
                code = None
            if code is not None:
                return code
            time.sleep(every)

    def look(self) -> int | None:
        """One look; None: go on, else the exit code."""
        if self.moved():
            return 2
        found = self.sup.store.read_plan(self.plan_id)
        if not isinstance(found, Plan):
            return self.damaged(found)
        self.copy = found
        if found.state is not PlanState.RUNNING:
            say(f"plan {self.plan_id} {found.state}: watchdog exits")
            return 0
        if procs.same_process(found.runner_pid, found.runner_start_time):
            pulse = beat.read(self.sup.store.locks_dir, self.plan_id)
            why = beat.hung(pulse, found.runner_pid, found.runner_start_time)
            if why is None:
                return None  # its runner lives (the usual look: one stat of /proc)
            self.replace_hung(found, why)
        new = self.sup.restart_runner(self.plan_id, self.by)
        if new is not None:
            self.by = "watchdog"
            say(f"runner restarted: pid {new.runner_pid} (restart {len(new.restarts)})")
            self.gave_up = False
        elif restart_wait(found, time.time()) is None and not self.gave_up:
            self.gave_up = True
            why = f"{len(found.restarts)} runner restarts; waiting for the limit's window"
            say(why)
            self.sup.store.append_event(new_event("runner_gave_up", plan=self.plan_id, detail=why))
        return None

    def replace_hung(self, plan: Plan, why: str) -> None:
        """Kill a runner that does not respond (stopped, no heartbeat): SIGKILL, only while the
        pid is still that runner (create time), then wait until it is gone (a crash, for
        `restart_runner`)."""
        pid, started = plan.runner_pid, plan.runner_start_time
        if not pid or not procs.kill_same(pid, started, signal.SIGKILL):
            return
        say(f"runner pid {pid} not responding ({why}): killed, to be replaced")
        procs.wait_until(lambda: not procs.same_process(pid, started), 10.0, 0.05)

    def damaged(self, found: Damaged | None) -> int | None:
        why = found.reason if isinstance(found, Damaged) else "its file is gone"
        if self.copy is None:
            say(f"plan {self.plan_id}: {why}; nothing to watch")
            return 2
        if procs.same_process(self.copy.runner_pid, self.copy.runner_start_time):
            return None  # its runner keeps its own copy and rewrites the file
        if self.moved():
            return 2
        with self.sup.store.record_lock("plan", self.plan_id):
            if not isinstance(self.sup.store.read_plan(self.plan_id), Plan):
                self.sup.store.save_plan(self.copy)
                say(f"plan {self.plan_id} file damaged ({why}): rewritten from the watchdog's copy")
        return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print("usage: python -m nba_tui.jobs.watchdog CONFIG PLAN_ID [BY]", file=sys.stderr)
        return 2
    try:
        sup = Supervisor(config.load(args[0]))
    except (config.ConfigError, StateError) as e:
        say(f"watchdog: {e}")
        return 2
    return watch(sup, args[1], by=args[2] if len(args) == 3 else "watchdog")


if __name__ == "__main__":
    raise SystemExit(main())
