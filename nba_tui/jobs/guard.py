"""A plan shard's shim looks after its plan (docs/JOBS.md, "Supervision").

The runner and the watchdog restart each other; killed at the same moment (an OOM sweep, a
`kill -9` of a list of pids, a cgroup kill) they leave nobody to do it. A shim of one of the
plan's shards lives on, so while it waits for its program it looks every `EVERY` seconds (and
once more when the program ends): a held watchdog lock, or a runner whose heartbeat is fresh,
means the plan is supervised (an flock try, a small read and a /proc look: no plan parse). Only
when neither is there does it read the plan and, if the plan still runs, start the plan's
watchdog, recorded as started by this shim; the watchdog lock keeps that to one watchdog, the
adoption lock of `restart_runner` to one new runner. Never raises into the shim.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nba_tui.fsutil import lock_held
from nba_tui.jobs import beat
from nba_tui.jobs.engines.local import spawn_detached
from nba_tui.jobs.model import Plan, PlanState
from nba_tui.jobs.store import Store, open_log

EVERY = 5.0
"""Seconds between two looks while the shard's program runs."""
RESPAWN_AFTER = 30.0
"""Seconds before a shim starts another watchdog (one that cannot start, a broken config,
is not retried every look)."""


class PlanGuard:
    def __init__(
        self,
        store: Store,
        plan_id: str,
        config: str,
        job: tuple[str, str],
        say: Callable[[str], None],
    ) -> None:
        """`job`: the shard's id and log path (the watchdog's log goes beside it)."""
        self.store, self.plan_id, self.config, self.say = store, plan_id, config, say
        self.job_id, self.log = job
        self.proc: subprocess.Popen | None = None
        self.done = threading.Event()
        self.thread: threading.Thread | None = None
        self.quiet_until = 0.0

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, daemon=True, name="plan-guard")
        self.thread.start()

    def stop(self) -> None:
        """The program ended: stop looking, then one last look."""
        self.done.set()
        if self.thread is not None:
            self.thread.join(timeout=5.0)
        self.look()

    def _loop(self) -> None:
        while not self.done.wait(EVERY):
            self.look()

    def look(self) -> None:
        with contextlib.suppress(Exception):  # the shim's job comes first: never fails it
            if self.supervised():
                return
            if time.monotonic() < self.quiet_until:
                return  # the watchdog this shim started is taking over (or could not)
            plan = self.store.read_plan(self.plan_id)
            if isinstance(plan, Plan) and plan.state is PlanState.RUNNING:
                self.start_watchdog()

    def supervised(self) -> bool:
        locks = self.store.locks_dir
        if lock_held(locks / f"watchdog-{self.plan_id}.lock"):
            return True
        return beat.responding(locks, self.plan_id)

    def start_watchdog(self) -> None:
        try:
            log = open_log(Path(self.log).parent, f"plan_{self.plan_id}_watchdog")
        except OSError:
            log = Path(os.devnull)
        by = f"shim of {self.job_id}"
        argv = [sys.executable, "-m", "nba_tui.jobs.watchdog", self.config, self.plan_id, by]
        self.quiet_until = time.monotonic() + RESPAWN_AFTER
        self.proc = spawn_detached(argv, log, Path(self.config).parent)
        self.say(f"plan {self.plan_id} unsupervised: watchdog {self.proc.pid} started")
