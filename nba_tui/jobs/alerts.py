"""Alert delivery: each event to the `alerts.on_event` hook, once, as one JSON line on stdin.

The hook is an argument list (config refuses a shell string) run without a shell, with the
event on stdin, in **its own session and process group**: at `alerts.timeout` (> 0) the whole
group is killed (SIGKILL), and whatever of the group is still alive when the hook exits is killed
too, so a hook never leaves an orphan behind (a `sleep` it spawned, a backgrounded `curl`). What
it prints is discarded.

Each event id is delivered at most once: the ids are recorded in `<state_dir>/alerts-delivered`
(0600, one id per line) under a lock before the hook runs, so two runners (a plan's and an
adopted one) never both deliver it. A hook that fails, hangs or is missing is logged as an
`alert_failed` event (never delivered itself) and never stops the caller.

The plan runner does not wait for hooks: `Deliverer` is a queue drained by one worker thread, so
a slow hook never delays a shard. It starts with the plan's alerting events a dead runner left
undelivered (read from events.jsonl, in order), so events reach the hook once each and in order
across runner restarts.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nba_tui import jsonl
from nba_tui.config import Pipeline
from nba_tui.jobs import events
from nba_tui.jobs.events import ALERT_KINDS, Event
from nba_tui.logtail import last_lines

DELIVERED = "alerts-delivered"
KEEP_BYTES = 200_000
"""Only the end of the delivered-ids record is read: ids are time-ordered, old ones never recur."""
REAP_STEP = 0.02
"""Seconds between two looks at a running hook (for its timeout)."""


def _delivered(path: Path) -> set[str]:
    return {raw.decode("ascii", "replace") for raw in last_lines(path, KEEP_BYTES)}


def _claim(state_dir: Path, event_id: str) -> bool:
    """Record `event_id` as delivered unless it already is (under an flock). True: ours to send."""
    path = state_dir / DELIVERED
    return jsonl.append_line(path, event_id, unless=lambda: event_id in _delivered(path))


def deliver(pipeline: Pipeline, event: Event) -> None:
    """Run the hook for an alerting event (at most once per id); never raises."""
    argv = pipeline.alerts.on_event
    if not argv or event.kind not in ALERT_KINDS:
        return
    state = Path(pipeline.state_dir)
    try:
        if not _claim(state, event.id):
            return
    except OSError as e:
        _failed(state, event, f"cannot record the delivery: {e.strerror or e}")
        return
    data = (json.dumps(event.to_json(), ensure_ascii=False) + "\n").encode()
    try:
        code = run_hook([str(a) for a in argv], data, pipeline.alerts.timeout, pipeline.base_dir)
    except OSError as e:
        _failed(state, event, f"hook {argv[0]}: {e.strerror or e}")
        return
    if code is None:
        _failed(state, event, f"hook timed out after {pipeline.alerts.timeout:g}s")
    elif code != 0:
        _failed(state, event, f"hook exited {code}")


def run_hook(argv: list[str], data: bytes, timeout: float, cwd: Path) -> int | None:
    """Run the hook in its own session with `data` on stdin; its exit code, or None when it
    was killed at `timeout`. Its process group is killed once it ended or timed out."""
    proc = subprocess.Popen(  # noqa: S603 - an argument list from the config, no shell
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        with contextlib.suppress(OSError):  # a hook that does not read its stdin
            assert proc.stdin is not None
            proc.stdin.write(data)
        with contextlib.suppress(OSError):
            proc.stdin.close()
        deadline = time.monotonic() + timeout
        # wait without reaping (WNOWAIT): while the leader is a zombie its group id cannot be
        # reused, so killing the group below never reaches a stranger
        while not _exited(proc.pid):
            if time.monotonic() >= deadline:
                _kill_group(proc.pid)
                proc.wait()
                return None
            time.sleep(REAP_STEP)
        _kill_group(proc.pid)  # what it left running (a backgrounded child)
        return proc.wait()
    finally:
        if proc.returncode is None:  # an unexpected error: never leave it behind
            _kill_group(proc.pid)
            proc.wait()


def _exited(pid: int) -> bool:
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _failed(state: Path, event: Event, why: str) -> None:
    with contextlib.suppress(OSError):
        events.append(
            state,
            events.new_event(
                "alert_failed",
                plan=event.plan,
                table=event.table,
                detail=f"{event.kind} {event.id}: {why}",
            ),
        )


def publish(
    pipeline: Pipeline, event: Event, send: Callable[[Event], None] | None = None
) -> str | None:
    """The one step after something happened: `event` appended to events.jsonl (the report, the
    dashboard's toasts), then handed to its hook by `send` (a `Deliverer`'s `put`; by default
    `deliver`, here and now), also when it could not be recorded. None, or the line saying why
    it was not recorded (the caller writes it to its own log)."""
    why = None
    try:
        events.append(Path(pipeline.state_dir), event)
    except OSError as e:
        why = f"cannot record event {event.kind}: {e.strerror or e}"
    if send is None:
        deliver(pipeline, event)
    else:
        send(event)
    return why


class StaleEpisode:
    """The warehouse_stale rule: a warehouse that cannot be polled is stale from the last good
    poll (when the caller knows it, else from the first failed one) until the next good poll,
    and alerts once per such episode, when it has lasted `alerts.stale_after` seconds."""

    def __init__(self, after: float) -> None:
        self.after = after
        self.since: float | None = None
        """When the current episode began; None while polls succeed."""
        self.told = False

    def good(self) -> None:
        """A good poll: the episode, if any, is over."""
        self.since, self.told = None, False

    def failed(self, now: float, last_good: float | None = None) -> float | None:
        """A failed poll at `now`: how long the episode has lasted, once, when that reaches
        `after`; else None."""
        if self.since is None:
            self.since = now if last_good is None else last_good
        if self.told or now - self.since < self.after:
            return None
        self.told = True
        return now - self.since


class Deliverer:
    """Alerts off the runner's scheduling path: `put` queues an event, one worker thread runs
    the hooks in order. Created with a plan id, it first queues that plan's alerting events
    already in events.jsonl that were never delivered (a previous runner died first)."""

    def __init__(self, pipeline: Pipeline, plan_id: str | None = None) -> None:
        self.pipeline = pipeline
        self.queue: queue.Queue[Event] = queue.Queue()
        if pipeline.alerts.on_event and plan_id is not None:
            for ev in self.backlog(plan_id):
                self.queue.put(ev)
        self.thread = threading.Thread(target=self._work, name="alerts", daemon=True)
        self.thread.start()

    def backlog(self, plan_id: str) -> list[Event]:
        state = Path(self.pipeline.state_dir)
        try:
            done = _delivered(state / DELIVERED)
            found = events.read(state, limit=100_000)
        except OSError:
            return []
        return [
            e for e in found if e.plan == plan_id and e.kind in ALERT_KINDS and e.id not in done
        ]

    def put(self, event: Event) -> None:
        if self.pipeline.alerts.on_event and event.kind in ALERT_KINDS:
            self.queue.put(event)

    def drain(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until every queued event was delivered; True if so."""
        deadline = time.monotonic() + timeout
        with self.queue.all_tasks_done:
            while self.queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.queue.all_tasks_done.wait(left)
        return True

    def _work(self) -> None:
        while True:
            ev = self.queue.get()
            try:
                deliver(self.pipeline, ev)
            except Exception:  # noqa: BLE001, S110 - an alert never stops the plan (deliver logs)
                pass
            finally:
                self.queue.task_done()
