"""The words a job's state is shown with: the one place `jobs`, the morning report, plan events
(alerts) and the dashboard take them from, so one job never reads "failed" in one and "lost" in
another.

- `state_word`: one word — queued, running, paused, done, failed, killed, stopped, lost,
  cancelled. A job killed by a signal nobody asked for (`kill -9`, the OOM killer) is `killed`,
  not `failed`; a remote run its engine cancelled never reads as done.
- `state_text`: the word and what it says, for an ended job: 'failed (exit 1)',
  'killed (SIGKILL)'; a stopped job's TERM is the stop itself, so 'stopped' stands alone.
- `remote_state_text`: a remote job's state with its engine ('paused (stopped on cloudrun, 3
  dates left)'); `job_state_text`: whichever of the two fits the job (the CLI, titles, toasts).
- What became of a job that ended badly, for the morning report: `recovered_text` (later jobs
  re-ran its dates and none is missing now), `dates_now_text` (are its dates present now) and
  `log_says` (its log's error or summary line).
"""

from __future__ import annotations

import signal

from nba_tui.fmt import printable
from nba_tui.jobs.engines import registry
from nba_tui.jobs.model import JobRecord, JobState


def is_remote(rec: JobRecord) -> bool:
    """Runs on a remote engine (Cloud Run, Ray), not as a local process."""
    return registry.is_remote(rec.engine)


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


def recovered_text(jobs: list[str]) -> str:
    """'recovered: its dates re-run by a73a80 (done)', for a failure whose dates later jobs
    that ended done re-ran, none of them missing now."""
    return f"recovered: its dates re-run by {', '.join(jobs)} (done)"


def dates_now_text(asked: int, missing: int) -> str:
    """'its 59 dates are all present now', '3 of its 59 dates are missing now'."""
    if not missing:
        return f"its {asked} date{'s are all' if asked != 1 else ' is'} present now"
    return f"{missing} of its {asked} date{'s' if asked != 1 else ''} missing now"


def log_says(line: str) -> str:
    """'its log says: Done: 59 processed, 0 skipped, 0 failed'."""
    return f"its log says: {line}"


def dates_left(n: int) -> str:
    """'3 dates left', '1 date left'."""
    return f"{n} date{'s' if n != 1 else ''} left"


def remote_state_text(rec: JobRecord) -> str:
    """A remote job's state in words, where the full text is shown (the log title, toasts,
    `nba-tui jobs`): 'running on ray', 'paused (stopped on cloudrun, 3 dates left)'.

    No engine can pause a remote task: a paused remote job was stopped there and keeps the
    dates the warehouse still lacked (`remote_left`), which `resume` relaunches."""
    eng = printable(rec.engine)
    if rec.state is JobState.PAUSED:
        if rec.remote_left is None:
            return f"paused (stopped on {eng})"
        return f"paused (stopped on {eng}, {dates_left(len(rec.remote_left))})"
    if rec.state is JobState.RUNNING:
        if rec.pause_requested:
            return f"pausing (stopping on {eng})"
        if rec.stop_requested:
            return f"stopping (cancelling on {eng})"
        if rec.remote_id is None:
            return f"submitting to {eng}"
        if rec.remote_state == "pending":
            return f"pending on {eng}"
        return f"running on {eng}"
    if rec.state is JobState.QUEUED:
        return f"queued for {eng}"
    return state_text(rec, f" on {eng}")


def job_state_text(rec: JobRecord) -> str:
    """The job's state in words wherever the full text is shown: `remote_state_text` for a
    remote job, else `state_text`."""
    return remote_state_text(rec) if is_remote(rec) else state_text(rec)
