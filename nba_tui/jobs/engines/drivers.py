"""What a remote engine (Cloud Run Jobs, Ray Jobs) must offer: submit, look, read logs, cancel.

A remote job still has a local side (jobs/engines/remote.py): the local shim runs a *bridge*
(jobs/engines/bridge.py) as the job's program. The bridge submits the backfill through a driver,
copies the remote logs into the job's log file (so progress, tail and the log pane work as for a
local job), follows the remote state, and on SIGTERM cancels the remote work and waits until the
engine says it ended. Drivers are thin wrappers over each engine's official client; they import
that client lazily (only a pipeline that uses the engine pays for it). A driver class also
declares what differs about its engine (`capabilities`, capability.py) and builds itself from the
pipeline's settings (`from_pipeline`); `registry.DRIVERS` names them.

Every remote run carries labels naming the pipeline, the table and the job (`labels`), so the
supervisor can list the engine's work and adopt or cancel what no live bridge follows.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Protocol

from nba_tui.config import Pipeline
from nba_tui.jobs.engines.capability import Capabilities

LABEL_PIPELINE = "nba-tui-pipeline"
LABEL_TABLE = "nba-tui-table"
LABEL_JOB = "nba-tui-job"
LABEL_PLAN = "nba-tui-plan"


class EngineError(Exception):
    """A remote engine refused or cannot be reached: one line that says what to do."""


class RemoteState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    """Cancelled (by us or by someone else): never reported as success."""

    @property
    def ended(self) -> bool:
        return self in (RemoteState.SUCCEEDED, RemoteState.FAILED, RemoteState.CANCELLED)


@dataclasses.dataclass
class RemoteRun:
    """One unit of remote work as its engine reports it."""

    id: str
    """Ray: the submission id; Cloud Run: the execution's full resource name."""
    state: RemoteState
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    task_seconds: float = 0.0
    """Seconds of task time used so far (Cloud Run bills per task-second)."""
    tasks: int = 1
    message: str | None = None


class Driver(Protocol):
    """One remote engine, driven through its official client."""

    name: str

    def check(self) -> None:
        """Raise EngineError (one line, with the fix) when the engine cannot take work:
        no credentials, unknown job, unreachable address."""
        ...

    def submit(self, argv: list[str], env: dict[str, str], labels: dict[str, str]) -> str:
        """Start `argv` remotely (with `env` added to its environment); the run's id.
        `labels[LABEL_JOB]` is unique per submission attempt (a retry of the same submission
        must not start a second run)."""
        ...

    def get(self, run_id: str) -> RemoteRun:
        """The run's state now."""
        ...

    def logs(self, run_id: str, cursor: str | None) -> tuple[list[str], str | None]:
        """Log lines written since `cursor` (None: from the start) and the next cursor."""
        ...

    def cancel(self, run_id: str) -> None:
        """Ask the engine to stop the run (idempotent; returns before it has ended)."""
        ...

    def find(self, labels: dict[str, str]) -> list[RemoteRun]:
        """The engine's runs carrying all of `labels` (for adoption and orphan checks)."""
        ...


class DriverClass(Protocol):
    """A driver's class, as `registry.DRIVERS` holds it."""

    name: str
    capabilities: Capabilities
    """What differs about the engine: its grid mark, dates, {python}, price (capability.py)."""

    def from_pipeline(self, pipeline: Pipeline) -> Driver:
        """The driver with the pipeline's settings for it (EngineError when they are unset)."""
        ...


def labels_for(pipeline: Pipeline, table: str, job_id: str, plan: str | None) -> dict[str, str]:
    """The labels of a job's remote work (values safe for Cloud Run labels and Ray metadata)."""
    out = {
        LABEL_PIPELINE: label_value(pipeline.pipeline),
        LABEL_TABLE: label_value(table),
        LABEL_JOB: label_value(job_id),
    }
    if plan:
        out[LABEL_PLAN] = label_value(plan)
    return out


def label_value(text: str) -> str:
    """Lowercase letters, digits, `_` and `-`, at most 63 characters (Cloud Run's label rule)."""
    out = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "-" for c in text.lower())
    return out[:63]
