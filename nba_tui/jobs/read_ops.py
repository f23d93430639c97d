"""The supervisor's lookups for the CLI: a job by id or table, its log, the action log.

A mixin of `Supervisor` (like plan_ops.py); reading only, nothing here writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nba_tui.jobs import actions, checks, runlock
from nba_tui.jobs.errors import JobError
from nba_tui.jobs.model import Damaged, JobRecord, JobView
from nba_tui.logtail import tail

if TYPE_CHECKING:
    from nba_tui.config import Pipeline
    from nba_tui.jobs.store import Store


class ReadOps:
    """Lookups (mixed into `Supervisor`)."""

    pipeline: Pipeline
    store: Store

    if TYPE_CHECKING:  # defined by Supervisor

        def jobs(self) -> list[JobView]: ...
        def _read(self, rec: JobRecord) -> JobView: ...

    def resolve(self, ref: str) -> JobView:
        """A job by id, or by table name: its active job, else its latest (for the CLI)."""
        checks.ref(ref, "job or table")
        rec = self.store.read_job(ref)
        if isinstance(rec, Damaged):
            raise JobError(runlock.damaged_message(self.store, rec))
        if rec is not None:
            return self._read(rec)
        try:
            name = self.pipeline.table(ref).name
        except KeyError:
            raise JobError(f"no job or table {ref!r} (see `nba-tui jobs`)") from None
        views = [v for v in self.jobs() if v.record.table == name]
        live = runlock.live_unrecorded(self.store, name)
        if live is not None and not any(v.state.active for v in views):
            raise JobError(live)
        if not views:
            raise JobError(f"table {name!r} has no jobs yet")
        return next((v for v in views if v.state.active), views[0])

    def log_path(self, job_id: str) -> Path:
        log = self.job(job_id).record.log
        if not log:
            raise JobError(f"job {job_id} has no log in {self.pipeline.log_dir}")
        return Path(log)

    def tail(self, job_id: str, max_bytes: int = 64_000) -> list[str]:
        rec = self.store.load_job(job_id)
        log = checks.log_file(self.pipeline.log_dir, rec) if rec is not None else ""
        return tail(log, max_bytes) if log else []

    def history(self, limit: int = 200) -> list[dict]:
        """The action log, oldest first (jobs' and plans' actions alike)."""
        return actions.read(self.store.actions_path, limit)
