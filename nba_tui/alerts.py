"""Alert delivery: each event to the `alerts.on_event` hook, once, as one JSON line on stdin.

The hook is an argument list (config refuses a shell string) run without a shell, with the
event on stdin and `alerts.timeout`; what it prints is discarded. Each event id is delivered at
most once: the ids are recorded in `<state_dir>/alerts-delivered` (0600, one id per line) under a
lock before the hook runs, so two runners (a plan's and an adopted one) never both deliver it. A
hook that fails, hangs or is missing is logged as an `alert_failed` event (never delivered
itself) and never stops the caller.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
from pathlib import Path

from nba_tui.config import Pipeline
from nba_tui.fsutil import open_regular, private_dirs
from nba_tui.jobs import events
from nba_tui.jobs.events import ALERT_KINDS, Event
from nba_tui.logtail import last_lines

DELIVERED = "alerts-delivered"
KEEP_BYTES = 200_000
"""Only the end of the delivered-ids record is read: ids are time-ordered, old ones never recur."""


def _claim(state_dir: Path, event_id: str) -> bool:
    """Record `event_id` as delivered unless it already is (under an flock). True: ours to send."""
    private_dirs(state_dir)
    path = state_dir / DELIVERED
    fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)  # never a FIFO or a link
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        seen = {raw.decode("ascii", "replace") for raw in last_lines(path, KEEP_BYTES)}
        if event_id in seen:
            return False
        os.write(fd, (event_id + "\n").encode())
        return True
    finally:
        os.close(fd)


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
        proc = subprocess.run(  # noqa: S603 - an argument list from the config, no shell
            [str(a) for a in argv],
            input=data,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=pipeline.alerts.timeout,
            cwd=pipeline.base_dir,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _failed(state, event, f"hook timed out after {pipeline.alerts.timeout:g}s")
        return
    except OSError as e:
        _failed(state, event, f"hook {argv[0]}: {e.strerror or e}")
        return
    if proc.returncode != 0:
        _failed(state, event, f"hook exited {proc.returncode}")


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
