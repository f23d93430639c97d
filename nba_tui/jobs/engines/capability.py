"""What differs between engines, as each engine declares it (`Capabilities`).

Every engine-specific difference the rest of the code cares about is a field here, declared by
the engine's driver (`RayDriver.capabilities`, `CloudRunDriver.capabilities`) or, for the local
engine, by `LOCAL`; `registry.py` looks them up by the engine's name. Callers (the argv builder,
the grid, the cost, the supervisor) ask a capability, never an engine's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the shim reads LOCAL without loading the config's models
    from nba_tui.config import Pipeline


def no_python(pipeline: Pipeline) -> str | None:
    """{python} is this interpreter (`sys.executable`, filled in by `backfill_argv.render_argv`)."""
    return None


def unpriced(pipeline: Pipeline) -> float | None:
    """No price per task-second: the engine's task time is shown without a cost."""
    return None


@dataclass(frozen=True)
class Capabilities:
    """One engine's differences from the others."""

    name: str
    """The engine's name in pipeline.yaml (`jobs.engine`, `backfill.engine`) and in records."""
    remote: bool = True
    """Its work runs elsewhere: the job's local program is the bridge (jobs/engines/bridge.py),
    pause stops the run and keeps the dates left (jobs/remote_runs.py), runs are adopted."""
    mark: str = ""
    """The engine in a job's grid cell, after an @ ('run@cr'); '' for the local engine."""
    date_list: bool = False
    """It runs a list of dates, never a range: a range is launched as its days (Cloud Run
    tasks each take a slice of the list, nba_tui/task.py)."""
    python: Callable[[Pipeline], str | None] = no_python
    """The {python} a backfill command runs with there (None: this interpreter)."""
    price_per_task_second: Callable[[Pipeline], float | None] = unpriced
    """USD per task-second of its runs (None: task time is shown without a cost)."""


LOCAL = Capabilities(name="local", remote=False)
"""The local engine (jobs/engines/local.py): a detached shim per job on this machine."""
