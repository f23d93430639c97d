"""The words a job's state is shown with: the one place `jobs`, the morning report, plan events
(alerts) and the dashboard take them from, so one job never reads "failed" in one and "lost" in
another.

- `state_word`: one word — queued, running, paused, done, failed, killed, stopped, lost,
  cancelled. A job killed by a signal nobody asked for (`kill -9`, the OOM killer) is `killed`,
  not `failed`; a remote run its engine cancelled never reads as done.
- `state_text`: the word and what it says, for an ended job: 'failed (exit 1)',
  'killed (SIGKILL)'; a stopped job's TERM is the stop itself, so 'stopped' stands alone.
"""

from __future__ import annotations

import signal

from nba_tui.jobs.model import JobRecord, JobState

LOCAL = "local"


def is_remote(rec: JobRecord) -> bool:
    """Runs on a remote engine (Cloud Run, Ray), not as a local process."""
    return rec.engine != LOCAL


def signal_name(number: int) -> str:
    """'SIGKILL' for 9; 'signal 64' for a number without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def killed_by(rec: JobRecord) -> int | None:
    """The signal that ended a failed job (a negative exit code is one too), else None."""
    if rec.state is not JobState.FAILED:
        return None
    if rec.signal is not None:
        return rec.signal
    if rec.exit_code is not None and rec.exit_code < 0:
        return -rec.exit_code
    return None


def state_word(rec: JobRecord) -> str:
    """The one word for the job's state (see the module docstring)."""
    if is_remote(rec) and not rec.state.active:
        if rec.remote_state == "cancelled" and rec.state in (JobState.DONE, JobState.FAILED):
            return "cancelled"
        if rec.remote_state == "failed" and rec.state is JobState.DONE:
            return "failed"
    if killed_by(rec) is not None:
        return "killed"
    return rec.state.value


def state_text(rec: JobRecord, where: str = "") -> str:
    """The word, with the exit code or the signal of a job that ended badly:
    'failed (exit 1)', 'killed (SIGKILL)'; every other state is its word alone. `where` (' on
    ray') follows the word: 'killed on ray (SIGKILL)'."""
    word = state_word(rec)
    sig = killed_by(rec)
    if word == "killed" and sig is not None:
        return f"killed{where} ({signal_name(sig)})"
    if word == "failed" and rec.exit_code not in (None, 0):
        return f"failed{where} (exit {rec.exit_code})"
    return f"{word}{where}"
