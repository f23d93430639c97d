"""The runner's heartbeat through a bounded wait: `Beat.keep` beats from a thread while the
runner waits on a remote pause, so its watchdog does not take the wait for a hang."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from waiting import wait_for

from nba_tui.jobs import beat


def _age(locks: Path) -> float:
    pulse = beat.read(locks, "p1")
    assert pulse is not None and pulse.pid == os.getpid()
    return pulse.age


def test_keep_beats_while_the_runner_waits_and_stops_after(tmp_path: Path) -> None:
    b = beat.Beat(tmp_path, "p1")
    b.touch()
    old = time.time() - 3 * beat.STALE_AFTER
    os.utime(b.path, (old, old))  # the loop has not beaten for a long while
    assert _age(tmp_path) > beat.STALE_AFTER
    with b.keep(every=0.01):
        wait_for(lambda: _age(tmp_path) < beat.STALE_AFTER, timeout=30)
        assert any(t.name == "beat" for t in threading.enumerate())
    assert not any(t.name == "beat" for t in threading.enumerate())
    os.utime(b.path, (old, old))  # outside `keep` nothing beats but the loop
    assert _age(tmp_path) > beat.STALE_AFTER
