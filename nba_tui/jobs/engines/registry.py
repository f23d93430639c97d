"""Engine name -> its driver (drivers.py says what a driver offers). Each driver module is
imported only when its engine is used, so a local-only pipeline never loads Ray or the Google
clients."""

from __future__ import annotations

from nba_tui.config import CloudRunSettings, Pipeline, RaySettings
from nba_tui.jobs.engines.drivers import Driver, EngineError


def driver_for(pipeline: Pipeline, name: str) -> Driver:
    """The driver of engine `name` with the pipeline's settings (EngineError if unset)."""
    if name == "ray":
        ray = pipeline.jobs.ray
        if ray is None:
            raise EngineError("jobs.ray is not set in the pipeline file; add jobs.ray.address")
        return ray_driver(ray)
    if name == "cloudrun":
        cr = pipeline.jobs.cloudrun
        if cr is None:
            raise EngineError("jobs.cloudrun is not set in the pipeline file; add it")
        return cloudrun_driver(cr)
    raise EngineError(f"unknown engine {name!r}; use local, cloudrun or ray")


def ray_driver(settings: RaySettings) -> Driver:
    from nba_tui.jobs.engines.ray_driver import RayDriver

    return RayDriver(settings)


def cloudrun_driver(settings: CloudRunSettings) -> Driver:
    from nba_tui.jobs.engines.cloudrun_driver import CloudRunDriver

    return CloudRunDriver(settings)
