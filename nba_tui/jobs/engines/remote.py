"""Remote engines (Cloud Run Jobs, Ray) behind the same seam as the local one.

A remote job keeps a local side, so everything the supervisor relies on stays true::

    dashboard / CLI / plan runner
      └─ shim      python -m nba_tui.jobs.shim          holds the table's run lock, records the exit
           └─ bridge  python -m nba_tui.jobs.engines.bridge   submits, copies the logs, follows it
                 ~~~> the engine's run (Ray job / Cloud Run execution), labelled with the job

Stop is the local stop (TERM to the bridge): the bridge cancels the remote run and waits until the
engine says it ended before it exits, so a stopped job never leaves remote work behind. The run
lock is the shim's, whatever the engine: one live job per table across engines. Pause cannot be
a SIGSTOP (no engine pauses a remote task): the supervisor stops the run and keeps the dates the
warehouse still lacks (jobs/remote_runs.py).
"""

from __future__ import annotations

from nba_tui.config import Pipeline
from nba_tui.jobs.engines.local import LocalEngine
from nba_tui.jobs.model import JobRecord
from nba_tui.jobs.store import Store

CONFIG_ENV = "NBA_TUI_BRIDGE_CONFIG"
"""The pipeline file the bridge reads its engine settings from (set for the shim by `start`)."""


class RemoteEngine(LocalEngine):
    """A job whose program is the bridge to engine `name`; processes, signals and identity are
    the local shim's and bridge's (the LocalEngine's), the work itself runs remotely."""

    def __init__(self, name: str, pipeline: Pipeline) -> None:
        self.name = name
        self.pipeline = pipeline
        self.config = pipeline.source.resolve()

    def start(self, rec: JobRecord, store: Store) -> None:
        self.spawn_shim(rec, store, {CONFIG_ENV: str(self.pipeline.source.resolve())})


def submission_name(rec: JobRecord) -> str:
    """The name of one submission of a job (`<id>-<launches>`): a resumed job is a new one."""
    return f"{rec.id}-{rec.launches}"
