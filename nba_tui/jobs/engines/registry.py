"""The table of engines: a name -> its driver class, and what each engine can do.

`DRIVERS` names the remote engines' driver classes (drivers.py says what a driver offers; each
declares its `capabilities`, capability.py); the local engine is `capability.LOCAL`. Whatever
differs between engines is asked here by capability, never by comparing names: a launch's dates
and {python} (`launch_argv`), whether a job is remote, its grid mark, its price. A new engine is
its driver module and one entry in `DRIVERS` (and its name in `config/sections.py`).

The driver modules are light; each imports its engine's client (Ray, the Google libraries) on
first use only, so a local-only pipeline never loads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from nba_tui import backfill_argv
from nba_tui.config import Pipeline, Table
from nba_tui.fmt import printable
from nba_tui.jobs.engines.capability import LOCAL, Capabilities
from nba_tui.jobs.engines.cloudrun_driver import CloudRunDriver
from nba_tui.jobs.engines.drivers import Driver, DriverClass, EngineError
from nba_tui.jobs.engines.ray_driver import RayDriver

DRIVERS: dict[str, DriverClass] = {d.name: d for d in (CloudRunDriver, RayDriver)}
"""Remote engine name -> its driver class (a test may add one for its own engine)."""


def capabilities(name: str) -> Capabilities:
    """What engine `name` can do; an engine no driver declares (a record written by a newer
    version) is remote, marked by its name's first three characters, without a price."""
    if name == LOCAL.name:
        return LOCAL
    cls = DRIVERS.get(name)
    return cls.capabilities if cls is not None else Capabilities(name, mark=printable(name)[:3])


def is_remote(name: str) -> bool:
    """Engine `name` runs its work elsewhere (the job's local program is the bridge)."""
    return capabilities(name).remote


def driver_for(pipeline: Pipeline, name: str) -> Driver:
    """The driver of engine `name` with the pipeline's settings (EngineError if unset)."""
    cls = DRIVERS.get(name)
    if cls is None:
        *rest, last = [LOCAL.name, *DRIVERS]
        raise EngineError(f"unknown engine {name!r}; use {', '.join(rest)} or {last}")
    return cls.from_pipeline(pipeline)


def engine_dates(
    pipeline: Pipeline,
    engine: str,
    start: dt.date | None,
    end: dt.date | None,
    dates: Sequence[dt.date] | None,
) -> tuple[dt.date | None, dt.date | None, Sequence[dt.date] | None]:
    """The dates a job of `engine` is launched with: an engine that takes a date list gets a
    range as its days (`Capabilities.date_list`), the others what was asked."""
    if not capabilities(engine).date_list or dates is not None:
        return start, end, dates
    first, last = start or pipeline.range.start, end or pipeline.range.end
    return None, None, [first + dt.timedelta(n) for n in range((last - first).days + 1)]


def engine_python(pipeline: Pipeline, engine: str) -> str | None:
    """{python} in a backfill command on `engine` (None: this interpreter)."""
    return capabilities(engine).python(pipeline)


def price_per_task_second(pipeline: Pipeline, engine: str) -> float | None:
    """USD per task-second on `engine` (None: its task time has no price)."""
    return capabilities(engine).price_per_task_second(pipeline)


def launch_argv(
    pipeline: Pipeline,
    table: Table,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    dates: Sequence[dt.date] | None = None,
    shard: str | None = None,
    engine: str | None = None,
) -> list[str]:
    """The argv a job of `table` is recorded and started with on `engine` (default: the
    table's; the supervisor and `run --dry-run --argv` alike): `backfill_argv.render_argv` after
    `engine_dates` and `engine_python`."""
    engine = engine or pipeline.engine_of(table.name)
    start, end, dates = engine_dates(pipeline, engine, start, end, dates)
    py = engine_python(pipeline, engine)
    return backfill_argv.render_argv(
        pipeline, table, start=start, end=end, dates=dates, python=py, shard=shard
    )
