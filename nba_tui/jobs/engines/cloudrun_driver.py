"""Cloud Run Jobs: each remote backfill is one *execution* of an existing Cloud Run job.

The job (`jobs.cloudrun.job` in `project`/`region`) must already exist, with an image whose
command is `python` and which has nba_tui and the backfill programs installed (see
`nba_tui.task`). `submit` runs that job with per-execution overrides (RunJobRequest.overrides):

- container args `-m nba_tui.task --slot N -- PYTHON ARG...`: the rendered backfill argv with
  its first item (the local Python, meaningless in the image) replaced by
  `jobs.cloudrun.python`; `N` is the index of the argument that holds the job's dates (the one
  equal to env NBA_TUI_DATES, which the bridge passes); each task keeps its slice of those dates.
  A range backfill (no dates argument) runs as one task, without `--slot`;
- `task_count` = min(`jobs.cloudrun.tasks`, number of dates);
- the bridge's env, plus NBA_TUI_LABELS: the run's labels as JSON.

Labels: RunJobRequest cannot carry labels (only name, validate_only, etag and overrides), and the
real service labels an execution with the job's execution-template labels (`Job.template.labels`)
plus its own `run.googleapis.com/*` labels; so the per-run labels travel in NBA_TUI_LABELS, and
`find`/`get` read them from the execution's labels and from that env var in `Execution.template`
(where the service records the container spec the execution runs). The contract server in
tests/engines copies NBA_TUI_LABELS into the execution's labels; the real service does not.

Logs come from Cloud Logging (entries.list over JSON/HTTP): resource.type "cloud_run_job", the
job's name, and the label run.googleapis.com/execution_name. The cursor re-reads a window of
LOG_LAG seconds before the newest entry seen and skips the insertIds it already returned, so
entries that Logging ingests a little late and out of order are not lost (later than LOG_LAG
they are).

Every Admin API call goes through `TokenBucket.per_minute(max_requests_per_minute)` (one per
driver, i.e. per bridge process), Logging reads through a second one of the same rate
(entries.list's default quota is 60 reads a minute per project). Credentials: Application
Default Credentials, or anonymous ones when `jobs.cloudrun.endpoint` points at a stand-in server.
The Google clients are imported on first use.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from nba_tui.config import CloudRunSettings, Pipeline
from nba_tui.fmt import one_line
from nba_tui.jobs.engines.capability import Capabilities
from nba_tui.jobs.engines.drivers import LABEL_JOB, EngineError, RemoteRun, RemoteState
from nba_tui.ratelimit import TokenBucket

if TYPE_CHECKING:
    from google.cloud import run_v2

LABELS_ENV = "NBA_TUI_LABELS"
DATES_ENV = "NBA_TUI_DATES"
LOG_LAG = 30.0
"""Seconds of Logging's ingestion delay the log cursor re-reads (and de-duplicates)."""
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
NO_CREDENTIALS = (
    "no Google credentials: run `gcloud auth application-default login` "
    "or set GOOGLE_APPLICATION_CREDENTIALS"
)
T = TypeVar("T")


def image_python(pipeline: Pipeline) -> str | None:
    """{python} in a backfill command on Cloud Run: the image's (`jobs.cloudrun.python`)."""
    settings = pipeline.jobs.cloudrun
    return settings.python if settings is not None else None


def price_per_task_second(pipeline: Pipeline) -> float:
    """USD per task-second: the pipeline's `jobs.cloudrun`, else the setting's default."""
    settings = pipeline.jobs.cloudrun
    if settings is not None:
        return settings.price_per_task_second
    return float(CloudRunSettings.model_fields["price_per_task_second"].default)


class CloudRunDriver:
    """The Driver of Cloud Run Jobs (google-cloud-run's run_v2 over REST, google-cloud-logging)."""

    name = "cloudrun"
    capabilities = Capabilities(
        name,
        mark="cr",
        date_list=True,  # each task takes its slice of the job's dates (nba_tui/task.py)
        python=image_python,
        price_per_task_second=price_per_task_second,
    )

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> CloudRunDriver:
        """The driver with the pipeline's `jobs.cloudrun` (EngineError when it is not set)."""
        if pipeline.jobs.cloudrun is None:
            raise EngineError("jobs.cloudrun is not set in the pipeline file; add it")
        return cls(pipeline.jobs.cloudrun)

    def __init__(self, settings: CloudRunSettings) -> None:
        self.settings = settings
        self.job_name = (
            f"projects/{settings.project}/locations/{settings.region}/jobs/{settings.job}"
        )
        self._admin_throttle = TokenBucket.per_minute(settings.max_requests_per_minute)
        self._log_throttle = TokenBucket.per_minute(settings.max_requests_per_minute)
        self._clients: tuple[Any, Any, Any] | None = None
        self._logging: Any = None
        self._ended: dict[str, RemoteRun] = {}
        """Runs seen ended (their state and task time no longer change)."""

    # clients ---------------------------------------------------------------------------

    def _credentials(self) -> Any:
        if self.settings.endpoint:
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            creds, _ = google.auth.default(scopes=SCOPES)
        except DefaultCredentialsError:
            raise EngineError(NO_CREDENTIALS) from None
        return creds

    def _admin(self) -> tuple[Any, Any, Any]:
        if self._clients is None:
            from google.cloud import run_v2

            kw: dict[str, Any] = {"credentials": self._credentials(), "transport": "rest"}
            if self.settings.endpoint:
                kw["client_options"] = {"api_endpoint": self.settings.endpoint}
            self._clients = (
                run_v2.JobsClient(**kw),
                run_v2.ExecutionsClient(**kw),
                run_v2.TasksClient(**kw),
            )
        return self._clients

    def _log_client(self) -> Any:
        if self._logging is None:
            from google.cloud import logging as cloud_logging

            endpoint = self.settings.logging_endpoint or self.settings.endpoint
            self._logging = cloud_logging.Client(
                project=self.settings.project,
                credentials=self._credentials(),
                _use_grpc=False,
                client_options={"api_endpoint": endpoint} if endpoint else None,
            )
        return self._logging

    def _call(
        self,
        what: str,
        fn: Callable[[], T],
        throttle: TokenBucket | None = None,
        passthrough: tuple[type[Exception], ...] = (),
    ) -> T:
        """One API call through the throttle; Google's errors become one-line EngineErrors
        (NotFound and the `passthrough` ones are left to the caller)."""
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as aexc

        where = self.settings.endpoint or "run.googleapis.com"
        try:
            return (throttle or self._admin_throttle)(fn)
        except (gexc.NotFound, *passthrough):
            raise
        except gexc.TooManyRequests as e:  # RESOURCE_EXHAUSTED
            raise EngineError(
                f"Cloud Run quota exhausted ({what}: {one_line(e.message)}): lower "
                "jobs.max_parallel or jobs.cloudrun.tasks, or ask for more quota"
            ) from None
        except gexc.PermissionDenied:
            raise EngineError(
                f"Cloud Run refused {what} in {self.settings.project}: permission denied; grant "
                "the account roles/run.developer and roles/logging.viewer on the project"
            ) from None
        except gexc.Unauthenticated:
            raise EngineError(
                "Google rejected the credentials: run `gcloud auth application-default login`"
            ) from None
        except (aexc.RefreshError, aexc.DefaultCredentialsError) as e:
            raise EngineError(f"{NO_CREDENTIALS} ({one_line(e)})") from None
        except (
            gexc.ServiceUnavailable,
            gexc.DeadlineExceeded,
            gexc.RetryError,
            aexc.TransportError,
        ) as e:
            raise Unreachable(
                f"cannot reach Cloud Run at {where} ({what}): {one_line(e)[:200]}; check the "
                "network or jobs.cloudrun.endpoint"
            ) from None
        except gexc.GoogleAPICallError as e:
            raise EngineError(
                f"Cloud Run {what} failed: {e.code} {one_line(e.message)[:300]}"
            ) from None
        except OSError as e:  # requests' ConnectionError is an OSError
            raise Unreachable(
                f"cannot reach Cloud Run at {where} ({what}): {type(e).__name__}; check the "
                "network or jobs.cloudrun.endpoint"
            ) from None

    # Driver ------------------------------------------------------------------------------

    def check(self) -> None:
        from google.api_core import exceptions as gexc

        jobs, _, _ = self._admin()
        try:
            self._call("jobs.get", lambda: jobs.get_job(name=self.job_name))
        except gexc.NotFound:
            s = self.settings
            raise EngineError(
                f"Cloud Run job {s.job} not found in {s.project}/{s.region}; create it "
                "(gcloud run jobs create ...) or fix jobs.cloudrun.job"
            ) from None

    def submit(self, argv: list[str], env: dict[str, str], labels: dict[str, str]) -> str:
        from google.api_core import exceptions as gexc
        from google.cloud import run_v2

        if not argv:
            raise EngineError("empty backfill command: set the table's backfill.command")
        args, task_count = self.task_args(argv, env)
        override_env = {**env, LABELS_ENV: json.dumps(labels, sort_keys=True)}
        Overrides = run_v2.RunJobRequest.Overrides
        request = run_v2.RunJobRequest(
            name=self.job_name,
            overrides=Overrides(
                container_overrides=[
                    Overrides.ContainerOverride(
                        args=args,
                        env=[run_v2.EnvVar(name=k, value=v) for k, v in override_env.items()],
                    )
                ],
                task_count=task_count,
            ),
        )
        jobs, _, _ = self._admin()
        try:
            op = self._call("jobs.run", lambda: jobs.run_job(request=request))
        except gexc.NotFound:
            self.check()
            raise
        except Unreachable:
            # An unanswered run may still have started: never start a second one for it.
            if LABEL_JOB in labels:
                with contextlib.suppress(EngineError):
                    found = self.find({LABEL_JOB: labels[LABEL_JOB]})
                    if found:
                        return found[0].id
            raise
        meta = op.metadata
        if meta is None or not meta.name:
            raise EngineError(
                "Cloud Run accepted the run but named no execution; look in the console"
            )
        return str(meta.name)

    def task_args(self, argv: list[str], env: dict[str, str]) -> tuple[list[str], int]:
        """The container args and the task count of a backfill argv (see the module doc)."""
        program = [self.settings.python, *argv[1:]]
        dates = env.get(DATES_ENV)
        if dates and dates in argv[1:]:
            slot = argv.index(dates, 1)
            count = min(self.settings.tasks, len([d for d in dates.split(",") if d.strip()]))
            return ["-m", "nba_tui.task", "--slot", str(slot), "--", *program], max(1, count)
        return ["-m", "nba_tui.task", "--", *program], 1

    def get(self, run_id: str) -> RemoteRun:
        from google.api_core import exceptions as gexc

        if run_id in self._ended:
            return self._ended[run_id]
        _, executions, tasks = self._admin()
        try:
            ex = self._call("executions.get", lambda: executions.get_execution(name=run_id))
            listed = self._call("tasks.list", lambda: list(tasks.list_tasks(parent=run_id)))
        except gexc.NotFound:
            raise EngineError(
                f"Cloud Run execution {run_id.rsplit('/', 1)[-1]} not found (deleted?); "
                "look in the console"
            ) from None
        run = _remote_run(ex)
        now = dt.datetime.now(dt.UTC)
        run.task_seconds = sum(
            max(0.0, ((t.completion_time or now) - t.start_time).total_seconds())
            for t in listed
            if t.start_time
        )
        if run.state.ended:
            self._ended[run_id] = run
        return run

    def logs(self, run_id: str, cursor: str | None) -> tuple[list[str], str | None]:
        from google.cloud import logging as cloud_logging

        seen: set[str] = set()
        newest: dt.datetime | None = None
        if cursor:
            try:
                state = json.loads(cursor)
                newest = dt.datetime.fromisoformat(state["t"])
                seen = set(state["seen"])
            except (ValueError, KeyError, TypeError):
                raise EngineError(f"bad Cloud Run log cursor {cursor[:40]!r}") from None
        since = (newest or dt.datetime.now(dt.UTC) - dt.timedelta(days=30)) - dt.timedelta(
            seconds=LOG_LAG if newest else 0
        )
        execution = run_id.rsplit("/", 1)[-1]
        filter_ = (
            f'resource.type="cloud_run_job" AND resource.labels.job_name="{self.settings.job}"'
            f' AND labels."run.googleapis.com/execution_name"="{execution}"'
            f' AND timestamp>="{_rfc3339(since)}"'
        )
        client = self._log_client()

        def read() -> list[Any]:
            return list(
                client.list_entries(
                    resource_names=[f"projects/{self.settings.project}"],
                    filter_=filter_,
                    order_by=cloud_logging.ASCENDING,
                    page_size=1000,
                    max_results=5000,
                )
            )

        entries = self._call("entries.list", read, self._log_throttle)
        lines = []
        for e in entries:
            if e.insert_id in seen:
                continue
            seen.add(e.insert_id)
            if e.timestamp is not None and (newest is None or e.timestamp > newest):
                newest = e.timestamp
            payload = e.payload
            if isinstance(payload, str):
                lines.append(payload)
            elif payload is not None:
                lines.append(json.dumps(payload, default=str, sort_keys=True))
        if newest is None:
            return lines, cursor
        floor = newest - dt.timedelta(seconds=LOG_LAG)
        keep = sorted(
            e.insert_id
            for e in entries
            if e.insert_id in seen and e.timestamp is not None and e.timestamp >= floor
        )
        return lines, json.dumps({"t": newest.isoformat(), "seen": keep})

    def cancel(self, run_id: str) -> None:
        from google.api_core import exceptions as gexc

        _, executions, _ = self._admin()
        try:
            self._call(
                "executions.cancel",
                lambda: executions.cancel_execution(name=run_id),
                passthrough=(gexc.BadRequest,),  # FAILED_PRECONDITION: 400
            )
        except gexc.BadRequest:
            if not self.get(run_id).state.ended:
                raise EngineError(
                    f"Cloud Run would not cancel {run_id.rsplit('/', 1)[-1]}; cancel it in the "
                    "console"
                ) from None
        except gexc.NotFound:
            raise EngineError(
                f"Cloud Run execution {run_id.rsplit('/', 1)[-1]} not found (deleted?)"
            ) from None

    def find(self, labels: dict[str, str]) -> list[RemoteRun]:
        """Executions of the job carrying all of `labels` (task_seconds left 0: call get)."""
        from google.api_core import exceptions as gexc

        _, executions, _ = self._admin()
        try:
            listed = self._call(
                "executions.list",
                lambda: list(executions.list_executions(parent=self.job_name)),
            )
        except gexc.NotFound:
            self.check()
            raise
        out = []
        for ex in listed:
            run = _remote_run(ex)
            if all(run.labels.get(k) == v for k, v in labels.items()):
                out.append(run)
        return out


def _remote_run(ex: run_v2.Execution) -> RemoteRun:
    labels = dict(ex.labels)
    for container in ex.template.containers if ex.template else []:
        for var in container.env:
            if var.name == LABELS_ENV:
                try:
                    extra = json.loads(var.value)
                except ValueError:
                    continue
                if isinstance(extra, dict):
                    labels.update({str(k): str(v) for k, v in extra.items()})
    state, message = _state(ex)
    return RemoteRun(
        id=ex.name, state=state, labels=labels, tasks=max(1, ex.task_count), message=message
    )


def _state(ex: run_v2.Execution) -> tuple[RemoteState, str | None]:
    """The execution's state from its `Completed` condition and counts; a cancelled execution
    is CANCELLED whatever the condition's state says (never success)."""
    from google.cloud.run_v2 import Condition

    completed = next((c for c in ex.conditions if c.type_ == "Completed"), None)
    reason = completed.execution_reason if completed else Condition.ExecutionReason(0)
    cond = completed.state if completed else Condition.State.STATE_UNSPECIFIED
    terminal = (Condition.State.CONDITION_SUCCEEDED, Condition.State.CONDITION_FAILED)
    ended = ex.completion_time is not None or cond in terminal
    message = one_line(completed.message) if completed and completed.message else None
    if ended:
        if reason == Condition.ExecutionReason.CANCELLED or ex.cancelled_count > 0:
            return RemoteState.CANCELLED, message or "cancelled"
        ok = (
            cond in (Condition.State.CONDITION_SUCCEEDED, Condition.State.STATE_UNSPECIFIED)
            and ex.failed_count == 0
            and ex.succeeded_count >= ex.task_count
        )
        return (RemoteState.SUCCEEDED, None) if ok else (RemoteState.FAILED, message)
    if ex.running_count or ex.start_time is not None or ex.succeeded_count or ex.failed_count:
        return RemoteState.RUNNING, message
    return RemoteState.PENDING, message


def _rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Unreachable(EngineError):
    """The API did not answer (the request may or may not have been carried out)."""
