"""A loopback stand-in for Google's Cloud Run Admin API (v2) and Cloud Logging API (v2) servers.

It replaces Google's *servers* only: the code under test uses the real official clients
(`google.cloud.run_v2` with the REST transport, `google.cloud.logging.Client` over JSON/HTTP),
pointed here with `api_endpoint` and anonymous credentials. It follows the documented REST shapes
those clients send and parse (camelCase JSON of the v2 protos, Google's error JSON):

- GET  /v2/projects/*/locations/*/jobs/*                       (jobs.get)
  https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/get
- POST /v2/projects/*/locations/*/jobs/*:run                   (jobs.run: a long-running
  Operation whose metadata is the new Execution, `done: false`)
  https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/run
- GET  /v2/projects/*/locations/*/jobs/*/executions            (executions.list)
- GET  /v2/projects/*/locations/*/jobs/*/executions/*          (executions.get)
- POST /v2/projects/*/locations/*/jobs/*/executions/*:cancel   (executions.cancel: an Operation)
  https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs.executions
- GET  /v2/projects/*/locations/*/jobs/*/executions/*/tasks    (tasks.list)
  https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs.executions.tasks
- POST /v2/entries:list                                        (Cloud Logging entries.list)
  https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list
- errors: {"error": {"code", "message", "status"}}
  https://cloud.google.com/apis/design/errors#http_mapping

A run starts `taskCount` REAL local processes, `[sys.executable, *args]` (the override's args;
the job's image command stands for `python`), with CLOUD_RUN_TASK_INDEX, CLOUD_RUN_TASK_COUNT,
CLOUD_RUN_EXECUTION, CLOUD_RUN_JOB and the override's env. Each stdout/stderr line becomes a log
entry (textPayload, timestamp, random insertId, resource.type "cloud_run_job", labels
"run.googleapis.com/execution_name" and "run.googleapis.com/task_index"). Cancel sends SIGTERM
to each task's process group, SIGKILL after `grace` seconds, and marks unfinished tasks
cancelled. The execution's counts (running/succeeded/failed/cancelled) and its `Completed`
condition (CONDITION_PENDING / SUCCEEDED / FAILED with executionReason CANCELLING / CANCELLED /
NON_ZERO_EXIT_CODE) are derived from the tasks, like the service's.

What differs from the real service (on purpose or out of reach):
- Labels: RunJobRequest has no labels field; the real service gives an execution the labels of
  the job's execution template (`Job.template.labels`) plus its own `run.googleapis.com/*` ones.
  Per-run labels can only travel inside the overrides; this server copies the JSON object in
  the override's env var NBA_TUI_LABELS into the execution's labels, which the real service
  does NOT do (the driver also matches that env var in `Execution.template`, where the real
  service records the overridden container spec).
- No retries of failed tasks (maxRetries is taken as 0), no task timeout, no parallelism limit,
  no IAM, no long-running operation polling (operations are never completed here), logs are
  visible at once (the real Cloud Logging shows entries after an ingestion delay of seconds,
  sometimes out of order), and the Logging filter language is limited to conjunctions (`AND`)
  of comparisons on resource.type, resource.labels.*, labels."...", logName, timestamp, insertId.
- Cancelling an execution that already completed answers 400 FAILED_PRECONDITION.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

import pytest

PROJECT = "contract-project"
REGION = "us-west2"
JOB = "nba-tui-backfill"
LABELS_ENV = "NBA_TUI_LABELS"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ts(t: dt.datetime | None) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_ts(text: str) -> dt.datetime:
    text = text.strip()
    m = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if not m:
        raise ValueError(f"bad timestamp {text!r}")
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    return dt.datetime.fromisoformat(f"{m.group(1)}.{frac}{zone}")


class ApiError(Exception):
    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


@dataclasses.dataclass
class Task:
    index: int
    name: str
    proc: subprocess.Popen[bytes] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    exit_code: int | None = None
    cancelled: bool = False
    readers: list[threading.Thread] = dataclasses.field(default_factory=list)

    @property
    def state(self) -> str:
        if self.cancelled:
            return "cancelled"
        if self.exit_code is None:
            return "running" if self.start else "pending"
        return "succeeded" if self.exit_code == 0 else "failed"


@dataclasses.dataclass
class Execution:
    name: str
    short: str
    job: str
    uid: str
    labels: dict[str, str]
    args: list[str]
    env: dict[str, str]
    task_count: int
    created: dt.datetime
    tasks: list[Task]
    cancelling: bool = False
    completed: dt.datetime | None = None


class ContractServer:
    """The server's state and the task processes it runs."""

    def __init__(self, *, grace: float = 3.0) -> None:
        self.project, self.region, self.job = PROJECT, REGION, JOB
        self.job_name = f"projects/{PROJECT}/locations/{REGION}/jobs/{JOB}"
        self.grace = grace
        self.quota_exhausted = False
        """Switch: answer :run with 429 RESOURCE_EXHAUSTED (quota)."""
        self.requests: list[tuple[str, str]] = []
        """(method, path) of every request, in order."""
        self.jobs: dict[str, dict[str, Any]] = {
            self.job_name: {
                "name": self.job_name,
                "uid": str(uuid.uuid4()),
                "labels": {},
                "createTime": _ts(_now()),
                "template": {
                    "taskCount": 1,
                    "parallelism": 0,
                    "labels": {},
                    "template": {
                        "containers": [{"image": "local/python", "command": ["python"]}],
                        "maxRetries": 0,
                    },
                },
            }
        }
        self.executions: dict[str, Execution] = {}
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # lifecycle -------------------------------------------------------------------------

    def start(self) -> ContractServer:
        self._thread.start()
        return self

    def close(self) -> list[int]:
        """Stop serving, kill every task process; the pids still alive afterwards (none)."""
        self._httpd.shutdown()
        self._httpd.server_close()
        procs = [t.proc for e in self.executions.values() for t in e.tasks if t.proc]
        for p in procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)
        return [p.pid for p in procs if p.poll() is None or _group_alive(p.pid)]

    def alive_pids(self) -> list[int]:
        """Task processes (or members of their groups) still running."""
        return [
            t.proc.pid
            for e in self.executions.values()
            for t in e.tasks
            if t.proc and (t.proc.poll() is None or _group_alive(t.proc.pid))
        ]

    # API ---------------------------------------------------------------------------------

    def get_job(self, name: str) -> dict[str, Any]:
        job = self.jobs.get(name)
        if job is None:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Resource '{name.rsplit('/', 1)[-1]}' of kind "
                f"'JOB' in region '{name.split('/')[3]}' in project "
                f"'{name.split('/')[1]}' does not exist.",
            )
        return job

    def run_job(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        job = self.get_job(name)
        if self.quota_exhausted:
            raise ApiError(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Job run requests' and limit 'Job run requests "
                f"per minute per region' of service 'run.googleapis.com' for consumer "
                f"'project_number:{self.project}'.",
            )
        overrides = body.get("overrides") or {}
        containers = overrides.get("containerOverrides") or [{}]
        c = containers[0]
        args = list(c.get("args") or [])
        env = {e["name"]: e.get("value", "") for e in c.get("env") or []}
        count = int(overrides.get("taskCount") or job["template"]["taskCount"])
        short = f"{name.rsplit('/', 1)[-1]}-{secrets.token_hex(3)[:5]}"
        labels = dict(job["template"].get("labels") or {})
        if LABELS_ENV in env:  # NOT what the real service does (see the module docstring)
            labels.update(json.loads(env[LABELS_ENV]))
        labels["run.googleapis.com/jobUid"] = job["uid"]
        ex = Execution(
            name=f"{name}/executions/{short}",
            short=short,
            job=name.rsplit("/", 1)[-1],
            uid=str(uuid.uuid4()),
            labels=labels,
            args=args,
            env=env,
            task_count=count,
            created=_now(),
            tasks=[],
        )
        ex.tasks = [Task(index=i, name=f"{ex.name}/tasks/{short}-task{i}") for i in range(count)]
        with self._lock:
            self.executions[ex.name] = ex
        for task in ex.tasks:
            self._start_task(ex, task)
        return self._operation(ex)

    def list_executions(self, parent: str) -> dict[str, Any]:
        self.get_job(parent)
        items = [e for e in self.executions.values() if e.name.startswith(parent + "/")]
        items.sort(key=lambda e: e.created, reverse=True)
        return {"executions": [self._execution_json(e) for e in items]}

    def get_execution(self, name: str) -> dict[str, Any]:
        return self._execution_json(self._execution(name))

    def cancel_execution(self, name: str) -> dict[str, Any]:
        ex = self._execution(name)
        with self._lock:
            if ex.completed is not None:
                raise ApiError(
                    400, "FAILED_PRECONDITION", f"Execution {ex.short} has already completed."
                )
            ex.cancelling = True
            pending = [t for t in ex.tasks if t.exit_code is None]
            for t in pending:
                t.cancelled = True
        for t in pending:
            if t.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(t.proc.pid, signal.SIGTERM)
                threading.Thread(target=self._reap, args=(ex, t), daemon=True).start()
        self._maybe_complete(ex)
        return self._operation(ex)

    def list_tasks(self, parent: str) -> dict[str, Any]:
        ex = self._execution(parent)
        return {"tasks": [self._task_json(ex, t) for t in ex.tasks]}

    def list_entries(self, body: dict[str, Any]) -> dict[str, Any]:
        terms = _parse_filter(body.get("filter") or "")
        desc = (body.get("orderBy") or "timestamp asc").strip().lower() == "timestamp desc"
        with self._lock:
            found = [e for e in self.entries if all(_match(e, t) for t in terms)]
        found.sort(key=lambda e: (_parse_ts(e["timestamp"]), e["insertId"]), reverse=desc)
        size = min(int(body.get("pageSize") or 1000), 1000)
        start = int(body.get("pageToken") or 0)
        page = found[start : start + size]
        out: dict[str, Any] = {"entries": page}
        if start + size < len(found):
            out["nextPageToken"] = str(start + size)
        return out

    # tasks -------------------------------------------------------------------------------

    def _start_task(self, ex: Execution, task: Task) -> None:
        env = dict(os.environ)
        env.update(ex.env)
        env.update(
            CLOUD_RUN_TASK_INDEX=str(task.index),
            CLOUD_RUN_TASK_COUNT=str(ex.task_count),
            CLOUD_RUN_TASK_ATTEMPT="0",
            CLOUD_RUN_EXECUTION=ex.short,
            CLOUD_RUN_JOB=ex.job,
        )
        task.start = _now()
        task.proc = subprocess.Popen(
            [sys.executable, *ex.args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert task.proc.stdout is not None and task.proc.stderr is not None
        for stream, log in ((task.proc.stdout, "stdout"), (task.proc.stderr, "stderr")):
            t = threading.Thread(target=self._read, args=(ex, task, stream, log), daemon=True)
            t.start()
            task.readers.append(t)
        threading.Thread(target=self._wait, args=(ex, task), daemon=True).start()

    def _read(self, ex: Execution, task: Task, stream: IO[bytes], log: str) -> None:
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            now = _now()
            entry = {
                "logName": f"projects/{self.project}/logs/run.googleapis.com%2F{log}",
                "resource": {
                    "type": "cloud_run_job",
                    "labels": {
                        "project_id": self.project,
                        "location": self.region,
                        "job_name": ex.job,
                    },
                },
                "textPayload": text,
                "timestamp": _ts(now),
                "receiveTimestamp": _ts(now),
                "insertId": secrets.token_hex(8),
                "severity": "ERROR" if log == "stderr" else "INFO",
                "labels": {
                    "run.googleapis.com/execution_name": ex.short,
                    "run.googleapis.com/task_index": str(task.index),
                    "run.googleapis.com/task_attempt": "0",
                    "instanceId": f"local-{task.proc.pid if task.proc else 0}",
                },
            }
            with self._lock:
                self.entries.append(entry)
        stream.close()

    def _wait(self, ex: Execution, task: Task) -> None:
        assert task.proc is not None
        code = task.proc.wait()
        for r in task.readers:
            r.join(timeout=10)
        with self._lock:
            task.exit_code = code
            task.end = _now()
        self._maybe_complete(ex)

    def _reap(self, ex: Execution, task: Task) -> None:
        assert task.proc is not None
        try:
            task.proc.wait(timeout=self.grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(task.proc.pid, signal.SIGKILL)

    def _maybe_complete(self, ex: Execution) -> None:
        with self._lock:
            if ex.completed is None and all(
                t.end is not None or (t.cancelled and (t.proc is None or t.proc.poll() is not None))
                for t in ex.tasks
            ):
                if all(t.end is not None for t in ex.tasks):
                    ex.completed = max(t.end for t in ex.tasks if t.end)
                else:
                    ex.completed = _now()

    # JSON --------------------------------------------------------------------------------

    def _execution(self, name: str) -> Execution:
        ex = self.executions.get(name)
        if ex is None:
            raise ApiError(404, "NOT_FOUND", f"Execution '{name.rsplit('/', 1)[-1]}' not found.")
        return ex

    def _operation(self, ex: Execution) -> dict[str, Any]:
        meta = {"@type": "type.googleapis.com/google.cloud.run.v2.Execution"}
        meta.update(self._execution_json(ex))
        return {
            "name": f"projects/{self.project}/locations/{self.region}/operations/{uuid.uuid4()}",
            "metadata": meta,
            "done": False,
        }

    def _execution_json(self, ex: Execution) -> dict[str, Any]:
        with self._lock:
            states = [t.state for t in ex.tasks]
            completed = ex.completed
            cancelling = ex.cancelling
        counts = {s: states.count(s) for s in ("running", "succeeded", "failed", "cancelled")}
        started = [t.start for t in ex.tasks if t.start]
        if completed is None:
            completed_cond: dict[str, Any] = {
                "type": "Completed",
                "state": "CONDITION_PENDING",
            }
            if cancelling:
                completed_cond["executionReason"] = "CANCELLING"
                completed_cond["message"] = "The execution is being cancelled."
        elif cancelling:
            completed_cond = {
                "type": "Completed",
                "state": "CONDITION_FAILED",
                "executionReason": "CANCELLED",
                "message": "The execution was cancelled.",
            }
        elif counts["failed"]:
            completed_cond = {
                "type": "Completed",
                "state": "CONDITION_FAILED",
                "executionReason": "NON_ZERO_EXIT_CODE",
                "message": f"Task {ex.short}-task0 failed with a non-zero exit code.",
            }
        else:
            completed_cond = {
                "type": "Completed",
                "state": "CONDITION_SUCCEEDED",
                "message": "Execution completed successfully.",
            }
        if completed is not None:
            completed_cond["lastTransitionTime"] = _ts(completed)
        containers = [
            {
                "image": "local/python",
                "command": ["python"],
                "args": ex.args,
                "env": [{"name": k, "value": v} for k, v in ex.env.items()],
            }
        ]
        out: dict[str, Any] = {
            "name": ex.name,
            "uid": ex.uid,
            "generation": "1",
            "labels": ex.labels,
            "createTime": _ts(ex.created),
            "startTime": _ts(min(started)) if started else None,
            "completionTime": _ts(completed),
            "updateTime": _ts(_now()),
            "job": ex.job,
            "parallelism": ex.task_count,
            "taskCount": ex.task_count,
            "template": {"containers": containers, "maxRetries": 0},
            "conditions": [
                {"type": "ResourcesAvailable", "state": "CONDITION_SUCCEEDED"},
                {
                    "type": "Started",
                    "state": "CONDITION_SUCCEEDED" if started else "CONDITION_PENDING",
                },
                completed_cond,
            ],
            "observedGeneration": "1",
            "runningCount": counts["running"],
            "succeededCount": counts["succeeded"],
            "failedCount": counts["failed"],
            "cancelledCount": counts["cancelled"],
            "logUri": f"https://console.cloud.google.com/logs/viewer?project={self.project}",
            "etag": f'"{secrets.token_hex(4)}"',
        }
        return {k: v for k, v in out.items() if v is not None}

    def _task_json(self, ex: Execution, t: Task) -> dict[str, Any]:
        with self._lock:
            state, start, end, code = t.state, t.start, t.end, t.exit_code
        cond = {
            "running": ("CONDITION_PENDING", None),
            "pending": ("CONDITION_PENDING", None),
            "succeeded": ("CONDITION_SUCCEEDED", None),
            "failed": ("CONDITION_FAILED", "NON_ZERO_EXIT_CODE"),
            "cancelled": ("CONDITION_FAILED", "CANCELLED"),
        }[state]
        completed: dict[str, Any] = {"type": "Completed", "state": cond[0]}
        if cond[1]:
            completed["executionReason"] = cond[1]
        out: dict[str, Any] = {
            "name": t.name,
            "job": ex.job,
            "execution": ex.short,
            "index": t.index,
            "retried": 0,
            "createTime": _ts(ex.created),
            "startTime": _ts(start),
            "completionTime": _ts(end),
            "conditions": [completed],
        }
        if code is not None:
            out["lastAttemptResult"] = {"exitCode": code}
        return {k: v for k, v in out.items() if v is not None}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Logging filters ---------------------------------------------------------------------------

_TERM = re.compile(
    r'\s*(?P<field>[A-Za-z_.]+(?:\."[^"]+")?|[A-Za-z_.]+)\s*(?P<op>>=|<=|!=|=|>|<)\s*'
    r'(?:"(?P<q>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s")]+))\s*'
)


def _parse_filter(text: str) -> list[tuple[str, str, str]]:
    terms = []
    for part in re.split(r"\s+AND\s+", text.strip()) if text.strip() else []:
        m = _TERM.fullmatch(part)
        if not m:
            raise ApiError(400, "INVALID_ARGUMENT", f"Unparseable filter: {part!r}")
        value = m.group("q") if m.group("q") is not None else m.group("bare")
        terms.append((m.group("field"), m.group("op"), value.replace('\\"', '"')))
    return terms


def _field(entry: dict[str, Any], field: str) -> str | None:
    m = re.fullmatch(r'labels\."([^"]+)"', field) or re.fullmatch(r"labels\.(\w+)", field)
    if m:
        return entry.get("labels", {}).get(m.group(1))
    m = re.fullmatch(r"resource\.labels\.(\w+)", field)
    if m:
        return entry["resource"]["labels"].get(m.group(1))
    return {
        "resource.type": entry["resource"]["type"],
        "logName": entry["logName"],
        "timestamp": entry["timestamp"],
        "insertId": entry["insertId"],
        "textPayload": entry.get("textPayload"),
    }.get(field)


def _match(entry: dict[str, Any], term: tuple[str, str, str]) -> bool:
    field, op, value = term
    have = _field(entry, field)
    if have is None:
        return op == "!="
    a: Any = have
    b: Any = value
    if field == "timestamp":
        a, b = _parse_ts(have), _parse_ts(value)
    return {
        "=": a == b,
        "!=": a != b,
        ">": a > b,
        ">=": a >= b,
        "<": a < b,
        "<=": a <= b,
    }[op]


# HTTP --------------------------------------------------------------------------------------

_STATES = {
    "CONDITION_PENDING": 1,
    "CONDITION_RECONCILING": 2,
    "CONDITION_FAILED": 3,
    "CONDITION_SUCCEEDED": 4,
}
_REASONS = {"NON_ZERO_EXIT_CODE": 2, "CANCELLED": 3, "CANCELLING": 4}


def _int_enums(value: Any) -> Any:
    """`$alt=json;enum-encoding=int` (what the REST clients ask for): enums as numbers."""
    if isinstance(value, list):
        return [_int_enums(v) for v in value]
    if isinstance(value, dict):
        out = {k: _int_enums(v) for k, v in value.items()}
        if isinstance(out.get("state"), str) and out["state"] in _STATES:
            out["state"] = _STATES[out["state"]]
        if isinstance(out.get("executionReason"), str):
            out["executionReason"] = _REASONS[out["executionReason"]]
        return out
    return value


_BASE = r"/v2/(projects/[^/]+/locations/[^/]+/jobs/[^/:]+)"


def _handler(server: ContractServer) -> type[BaseHTTPRequestHandler]:
    routes: list[tuple[str, re.Pattern[str], Any]] = [
        (
            "GET",
            re.compile(_BASE + r"/executions/([^/:]+)/tasks"),
            lambda m, b: server.list_tasks(f"{m[1]}/executions/{m[2]}"),
        ),
        (
            "GET",
            re.compile(_BASE + r"/executions/([^/:]+)"),
            lambda m, b: server.get_execution(f"{m[1]}/executions/{m[2]}"),
        ),
        (
            "POST",
            re.compile(_BASE + r"/executions/([^/:]+):cancel"),
            lambda m, b: server.cancel_execution(f"{m[1]}/executions/{m[2]}"),
        ),
        ("GET", re.compile(_BASE + r"/executions"), lambda m, b: server.list_executions(m[1])),
        ("POST", re.compile(_BASE + r":run"), lambda m, b: server.run_job(m[1], b)),
        ("GET", re.compile(_BASE), lambda m, b: server.get_job(m[1])),
        ("POST", re.compile(r"/v2/entries:list"), lambda m, b: server.list_entries(b)),
    ]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _serve(self, method: str) -> None:
            path, _, query = self.path.partition("?")
            int_enums = "enum-encoding%3Dint" in query or "enum-encoding=int" in query
            server.requests.append((method, path))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw.strip() else {}
                for verb, pattern, fn in routes:
                    m = pattern.fullmatch(path)
                    if verb == method and m:
                        out = fn(m, body)
                        self._send(200, _int_enums(out) if int_enums else out)
                        return
                raise ApiError(404, "NOT_FOUND", f"No route for {method} {path}")
            except ApiError as e:
                self._send(
                    e.code, {"error": {"code": e.code, "message": e.message, "status": e.status}}
                )
            except (ValueError, KeyError) as e:
                self._send(
                    400, {"error": {"code": 400, "message": str(e), "status": "INVALID_ARGUMENT"}}
                )

        def _send(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

    return Handler


@pytest.fixture
def cloudrun_server() -> Iterator[ContractServer]:
    """A started contract server; on teardown every task process is killed (and checked gone)."""
    server = ContractServer().start()
    try:
        yield server
    finally:
        left = server.close()
        assert not left, f"task processes left running: {left}"
