"""The seam between the supervisor and whatever runs a job's processes.

The supervisor owns the records, the locks, the action log and the rules (one active job per
table, stop = TERM, grace, KILL, restart from checkpoint); an engine only starts a job's program,
tells what became of it and delivers signals. Both sides talk through the job's record in the
store: the engine writes what identifies the job's processes (and, when the program ends, its
exit via `Store.finish_job`), the supervisor reconciles the record with `status`/`alive` on every
read. Keep it as small as the supervisor's needs: every method here is called by it.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable

from nba_tui.jobs.model import JobRecord
from nba_tui.jobs.procs import ProcStat
from nba_tui.jobs.store import Store


class ProgramStatus(enum.Enum):
    """What an engine sees of a started job's program (`rec.pid` is set)."""

    RUNNING = "running"
    PAUSED = "paused"
    GONE = "gone"
    """Ended (its exit is recorded by whoever waited for it) or vanished."""
    REUSED = "reused"
    """The recorded pid now belongs to another process: never signal it."""


@runtime_checkable
class Engine(Protocol):
    """Launches and signals the processes of one job (see the module docstring)."""

    name: str

    def start(self, rec: JobRecord, store: Store) -> None:
        """Start `rec.argv` in `rec.cwd`, output appended to `rec.log`, detached from the caller.

        Records what identifies the job in `store` (now or from the started process), and records
        the exit when the program ends. Returns once the start is under way."""
        ...

    def alive(self, rec: JobRecord) -> bool:
        """Is what will record this job's exit still running (the local shim)? While it is, a
        record without a pid is starting and a gone program's status is about to be written."""
        ...

    def status(self, rec: JobRecord) -> ProgramStatus:
        """The program's state now (only asked for a record with a pid)."""
        ...

    def signal(self, rec: JobRecord, sig: int) -> bool:
        """Deliver `sig` to every process of the job; False when the program is gone."""
        ...

    def members(self, rec: JobRecord) -> list[ProcStat]:
        """The job's live processes (for "all paused" and "nothing left" waits)."""
        ...
