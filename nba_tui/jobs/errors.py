"""The supervisor's refusals (one line each; the CLI maps them to exit codes).

`StateError` (an untrusted state directory) lives in store.py, where it is raised; all three are
re-exported by supervisor.py, where callers import them from."""

from __future__ import annotations

from nba_tui.fsutil import UnsafeFile, os_text


class JobError(Exception):
    """An action that cannot be done (already active, not running, unknown job). One line."""


class PreflightFailed(JobError):
    """launch_phase refused: the phase's inputs are short. `.lines` says what would degrade."""

    def __init__(self, message: str, lines: list[str]) -> None:
        super().__init__(message)
        self.lines = lines


class NothingToRun(JobError):
    """run_phases found nothing to start: no plan is created, the CLI says why and exits 0."""


class EngineRefused(JobError):
    """A remote engine cannot take work (no credentials, unknown job, quota, unreachable): a
    setting or the environment to fix, so the CLI exits 2 with the one line."""


class BadState(JobError):
    """A state file refused (a FIFO, a link, someone else's): damaged state, so the CLI exits 2
    with the one line, as for a state directory that is not ours alone."""


def refusal(text: str, e: OSError) -> JobError:
    """`text: <the OSError in words>` (no colon after a `text` ending in a space) to raise:
    `BadState` for a refused state file, else `JobError` (a full or read-only disk)."""
    kind = BadState if isinstance(e, UnsafeFile) else JobError
    return kind(f"{text}{'' if text.endswith(' ') else ': '}{os_text(e)}")
