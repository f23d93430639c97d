"""Where a job's processes run: the `Engine` protocol (base.py) and its implementations.

`local.py` (a detached shim per job on this machine) is the default. A new engine (Cloud Run,
Ray, ...) is one module here implementing `base.Engine`, passed as `Supervisor(..., engine=...)`;
the supervisor's callers (CLI, dashboard, plan runner) do not change.
"""
