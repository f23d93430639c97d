"""The Ray engine: backfills run as Ray Jobs through Ray's official `JobSubmissionClient`.

One remote run is one Ray job whose submission id is derived from the job label
(`nba-tui-<job>`), so a retry of the same submission after a crash finds the run instead of
starting a second one. Ray runs the entrypoint through `/bin/sh -c`; ours is `exec` and the
quoted argv, so the shell becomes the backfill and a stop reaches it (`entrypoint`). The job's
labels are its metadata (`find` filters on them). Ray keeps a job's whole log; `logs` hands out
only what is new, as complete lines, with a character-count cursor. Every client error becomes a
one-line `EngineError` that says what to do.

`ray` is imported on first use only: a pipeline that never uses the Ray engine does not pay for it.
"""

from __future__ import annotations

import re
import shlex
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from nba_tui.config import Pipeline, RaySettings
from nba_tui.fmt import one_line
from nba_tui.jobs.engines.capability import Capabilities
from nba_tui.jobs.engines.drivers import LABEL_JOB, EngineError, RemoteRun, RemoteState

if TYPE_CHECKING:
    from ray.job_submission import JobDetails, JobSubmissionClient

SUBMISSION_PREFIX = "nba-tui-"
CALL_TIMEOUT = 120.0
"""Seconds one Jobs API call may take (Ray's client sets no timeout: a black-holed address
would hang the bridge forever)."""
WHY_MAX = 240

_STATES = {
    "PENDING": RemoteState.PENDING,
    "RUNNING": RemoteState.RUNNING,
    "SUCCEEDED": RemoteState.SUCCEEDED,
    "FAILED": RemoteState.FAILED,
    "STOPPED": RemoteState.CANCELLED,
}
_ERRNO = re.compile(r"\[Errno -?\d+\][^'\"()\]\n]*")
_LOG_TAIL = re.compile(r",? *last available logs.*$")
_CLIENT_ERRORS = (OSError, RuntimeError, ValueError, TypeError)
"""What Ray's client raises: requests' errors and ConnectionError are OSErrors, a refused
request is a RuntimeError, a bad answer or argument a ValueError/TypeError."""

T = TypeVar("T")


class _NotFound(Exception):
    """The Jobs API answered 404 for a job id."""


def entrypoint(argv: list[str]) -> str:
    """The shell line Ray runs for `argv`: `exec` and the quoted argv, so the shell Ray starts
    becomes the program. Ray stops a job by signalling the shell and the children it finds at
    that instant, waits for those, then reports STOPPED; a shell that forks the program instead
    can do so just after that look, and the program then outlives a run Ray calls ended."""
    return "exec " + shlex.join(argv)


def submission_id_for(job_label: str) -> str:
    """The Ray submission id of a job's run (one per job label, so per submission attempt)."""
    return SUBMISSION_PREFIX + job_label


class RayDriver:
    """A Ray cluster's Jobs API (the dashboard address, `jobs.ray.address`)."""

    name = "ray"
    capabilities = Capabilities(name, mark="ray")
    """A range or a list of dates, this machine's {python} path, task time without a price."""

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> RayDriver:
        """The driver with the pipeline's `jobs.ray` (EngineError when it is not set)."""
        if pipeline.jobs.ray is None:
            raise EngineError("jobs.ray is not set in the pipeline file; add jobs.ray.address")
        return cls(pipeline.jobs.ray)

    def __init__(self, settings: RaySettings) -> None:
        self.settings = settings
        self.address = settings.address
        self._client: JobSubmissionClient | None = None
        self._lock = threading.Lock()

    # -- the Driver protocol -------------------------------------------------------------------

    def check(self) -> None:
        with self._lock:
            fresh = self._client is None
        client = self._connect()
        if not fresh:
            self._call("check", client.get_version)

    def submit(self, argv: list[str], env: dict[str, str], labels: dict[str, str]) -> str:
        if not argv:
            raise EngineError("nothing to submit to Ray: the backfill command is empty")
        job = labels.get(LABEL_JOB)
        if not job:
            raise EngineError(f"cannot submit to Ray without the {LABEL_JOB} label; this is a bug")
        sid = submission_id_for(job)
        client = self._connect()
        if self._info_or_none(client, sid) is not None:
            return sid
        try:
            self._call(
                "submit",
                lambda: client.submit_job(
                    entrypoint=entrypoint(argv),
                    submission_id=sid,
                    metadata=dict(labels),
                    runtime_env={"env_vars": dict(env)},
                    entrypoint_num_cpus=self.settings.num_cpus,
                ),
            )
        except EngineError as exc:
            if "already exists" in str(exc):  # a concurrent retry submitted it first
                return sid
            raise
        return sid

    def get(self, run_id: str) -> RemoteRun:
        client = self._connect()
        info = self._info_or_none(client, run_id)
        if info is None:
            raise self._unknown(run_id)
        return _remote_run(info)

    def logs(self, run_id: str, cursor: str | None) -> tuple[list[str], str | None]:
        start = _parse_cursor(cursor)
        client = self._connect()
        text = self._logs(client, run_id)
        new = text[start:]
        if new and not new.endswith("\n"):
            # A partial last line waits for its end, unless the run has ended (then the log is
            # final: read it once more, after the state, so nothing written before the end is lost).
            info = self._info_or_none(client, run_id)
            if info is not None and _state(info).ended:
                text = self._logs(client, run_id)
                new = text[start:]
                lines = new.splitlines()
                return lines, str(start + len(new))
        complete = new[: new.rfind("\n") + 1]
        return complete.splitlines(), str(start + len(complete))

    def cancel(self, run_id: str) -> None:
        client = self._connect()
        try:
            self._call("cancel", lambda: client.stop_job(run_id))
        except _NotFound:
            raise self._unknown(run_id) from None

    def find(self, labels: dict[str, str]) -> list[RemoteRun]:
        client = self._connect()
        jobs = self._call("list", client.list_jobs)
        out = []
        for info in jobs:
            meta = info.metadata or {}
            if info.submission_id and all(meta.get(k) == v for k, v in labels.items()):
                out.append(_remote_run(info))
        return out

    # -- the client ----------------------------------------------------------------------------

    def _connect(self) -> JobSubmissionClient:
        """The client, created once (its constructor checks the address answers)."""
        with self._lock:
            if self._client is None:
                cls = _client_class()
                try:
                    self._client = _timed(lambda: cls(self.address), self.address)
                except _CLIENT_ERRORS as exc:
                    raise self._unreachable(exc) from None
            return self._client

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return _timed(fn, self.address)
        except OSError as exc:
            raise self._unreachable(exc) from None
        except (RuntimeError, ValueError, TypeError) as exc:
            if "status code 404" in str(exc):
                raise _NotFound(str(exc)) from None
            raise EngineError(
                f"Ray {what} failed at {self.address}: {_why(exc)}; "
                "see the job in the Ray dashboard"
            ) from None

    def _info_or_none(self, client: JobSubmissionClient, run_id: str) -> JobDetails | None:
        try:
            return self._call("get", lambda: client.get_job_info(run_id))
        except _NotFound:
            return None

    def _logs(self, client: JobSubmissionClient, run_id: str) -> str:
        try:
            return self._call("logs", lambda: client.get_job_logs(run_id)) or ""
        except _NotFound:
            raise self._unknown(run_id) from None

    def _unreachable(self, exc: BaseException) -> EngineError:
        return EngineError(
            f"cannot reach the Ray cluster at {self.address}: {_why(exc)}; "
            "start it (ray start --head) or fix jobs.ray.address"
        )

    def _unknown(self, run_id: str) -> EngineError:
        return EngineError(
            f"no Ray job {run_id!r} on {self.address}; it was deleted or the cluster was restarted"
        )


def _client_class() -> type[JobSubmissionClient]:
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:
        raise EngineError(
            f"the Ray client cannot be imported ({_why(exc)}); pip install 'ray[default]'"
        ) from None

    return JobSubmissionClient


def _timed(fn: Callable[[], T], address: str, timeout: float = CALL_TIMEOUT) -> T:
    """`fn()` in a daemon thread, given up after `timeout` seconds: Ray's client sets no timeout
    on its requests, and a cluster that never answers must not hang the bridge (whose stop
    must still cancel). A call given up on is left to finish or die with the process."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, daemon=True, name="ray-call").start()
    if not done.wait(timeout):
        raise EngineError(f"the Ray cluster at {address} did not answer within {timeout:.0f} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _state(info: JobDetails) -> RemoteState:
    status = str(getattr(info.status, "value", info.status))
    try:
        return _STATES[status]
    except KeyError:
        raise EngineError(
            f"Ray reported an unknown job status {status!r}; upgrade nba-tui"
        ) from None


def _remote_run(info: JobDetails) -> RemoteRun:
    seconds = 0.0
    if info.start_time is not None and info.end_time is not None:
        seconds = max(0.0, (info.end_time - info.start_time) / 1000.0)  # Ray gives milliseconds
    return RemoteRun(
        id=info.submission_id or "",
        state=_state(info),
        labels={str(k): str(v) for k, v in (info.metadata or {}).items()},
        task_seconds=seconds,
        tasks=1,
        message=_message(info.message),
    )


def _message(message: str | None) -> str | None:
    """Ray's message without the log tail it appends to a failure (up to 20,000 characters)."""
    if not message or not message.strip():
        return None
    return _LOG_TAIL.sub("", one_line(message, first=True)).strip() or None


def _parse_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        value = int(cursor)
    except ValueError:
        value = -1
    if value < 0:
        raise EngineError(f"bad Ray log cursor {cursor!r}; clear the job's remote cursor")
    return value


def _why(exc: BaseException) -> str:
    """One short line on why a call failed: the OS error under requests' wrapping, else the
    last line of a server traceback, else the first line of the message."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for err in chain:
        match = _ERRNO.search(str(err))
        if match:
            return match.group(0).strip().rstrip(".")
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().strip(".")]
    if "Traceback" in text and lines:
        why = lines[-1]
    elif lines:
        why = lines[0]
    else:
        why = type(exc).__name__
    why = " ".join(why.split())
    return why if len(why) <= WHY_MAX else why[: WHY_MAX - 1] + "…"
